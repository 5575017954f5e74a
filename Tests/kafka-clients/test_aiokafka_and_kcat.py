"""Issue 11: aiokafka (produce, consume, group) and Debian's kcat (librdkafka 2.0.2: -L, -P, -C)."""
import asyncio
import subprocess
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer


def test_aiokafka_produces_and_consumes_in_a_group(server):
    topic = f"aio-{uuid.uuid4().hex[:8]}"

    async def scenario():
        producer = AIOKafkaProducer(bootstrap_servers=server.bootstrap, acks="all", compression_type="lz4")
        await producer.start()
        try:
            for i in range(50):
                await producer.send_and_wait(topic, f"m{i}".encode(), key=f"k{i % 5}".encode())
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=server.bootstrap, group_id=f"aio-{topic}",
                                    auto_offset_reset="earliest", enable_auto_commit=False)
        await consumer.start()
        received = []
        try:
            while len(received) < 50:
                batch = await asyncio.wait_for(consumer.getmany(timeout_ms=1000), 30)
                for messages in batch.values():
                    received.extend(m.value.decode() for m in messages)
            await consumer.commit()
        finally:
            await consumer.stop()
        again = AIOKafkaConsumer(topic, bootstrap_servers=server.bootstrap, group_id=f"aio-{topic}",
                                 auto_offset_reset="earliest", enable_auto_commit=False)
        await again.start()
        try:
            more = await again.getmany(timeout_ms=3000)
        finally:
            await again.stop()
        return received, sum(len(v) for v in more.values())

    received, redelivered = asyncio.run(scenario())
    assert sorted(received) == sorted(f"m{i}" for i in range(50))
    assert redelivered == 0


def kcat(*args, input_text=None):
    return subprocess.run(["kcat", *args], input=input_text, capture_output=True, text=True, timeout=60)


def test_kcat_lists_produces_and_consumes(server):
    topic = f"kcat-{uuid.uuid4().hex[:8]}"
    produced = kcat("-b", server.bootstrap, "-P", "-t", topic, "-K:", input_text="a:one\nb:two\nc:three\n")
    assert produced.returncode == 0, produced.stderr
    listed = kcat("-b", server.bootstrap, "-L", "-t", topic)
    assert listed.returncode == 0, listed.stderr
    assert f'topic "{topic}" with 1 partitions' in listed.stdout, listed.stdout
    consumed = kcat("-b", server.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-f", "%k=%s\n")
    assert consumed.returncode == 0, consumed.stderr
    assert consumed.stdout.splitlines() == ["a=one", "b=two", "c=three"]
