#!/usr/bin/env python3
"""`pipeline serve` under real Kafka clients (issue 11's benchmark; not a test).

One run: N OrderCreated records (~130 B, the shared workload's shape) produced by confluent-kafka
(lz4, acks=all, linger 5 ms) into a fresh `pipeline serve`, then fetched by one consumer; then a
paced run at a fixed rate measuring produce → read-committed fetch latency. Reports client msg/s
and MB/s each way, the server's CPU seconds per million records each way (from
/proc/<pid>/stat), its peak RSS (VmHWM) and the latency percentiles.

usage: serve_benchmark.py [--binary .build/release/pipeline] [--records 1000000]
                          [--rate 50000] [--latency-seconds 10] [--json out.json]
"""
import argparse
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = pathlib.Path(__file__).resolve().parents[2]
TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def peak_rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def order(i):
    return ('{"event_type":"OrderCreated","order_id":"ORD-%07d","customer_id":"CUST-%05d",'
            '"amount":%d.%02d,"timestamp":"2025-06-11T12:00:00Z"}' % (i, i * 7919 % 10000, i % 1000, i % 100)).encode()


def start_server(binary, data_dir, port):
    process = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data_dir],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in process.stdout:
        if line.startswith("listening on"):
            break
    threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
    return process


def produce_all(bootstrap, topic, records):
    producer = Producer({"bootstrap.servers": bootstrap, "compression.type": "lz4", "acks": "all",
                         "linger.ms": 5, "enable.idempotence": True, "queue.buffering.max.messages": 500000})
    payload_bytes = 0
    for i in range(records):
        value = order(i)
        payload_bytes += len(value)
        while True:
            try:
                producer.produce(topic, value=value, key=b"CUST-%05d" % (i * 7919 % 10000))
                break
            except BufferError:
                producer.poll(0.01)
        if i % 5000 == 0:
            producer.poll(0)
    assert producer.flush(300) == 0
    return payload_bytes


def fetch_all(bootstrap, topic, partitions, records):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench", "enable.auto.commit": False,
                         "isolation.level": "read_committed", "fetch.max.bytes": 52428800})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    seen = 0
    payload_bytes = 0
    while seen < records:
        for message in consumer.consume(num_messages=10000, timeout=1.0):
            if message.error():
                continue
            seen += 1
            payload_bytes += len(message.value())
    consumer.close()
    return payload_bytes


def latency_consumer(bootstrap, topic, seconds, out_path):
    """In its own process (no GIL shared with the producer): receives for `seconds` and writes
    each record's produce→receive latency in nanoseconds (its key is the send time)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-latency", "enable.auto.commit": False,
                         "isolation.level": "read_committed", "fetch.wait.max.ms": 100})
    consumer.assign([TopicPartition(topic, 0, 0)])
    latencies = []
    deadline = time.monotonic() + seconds
    # poll, not consume(num_messages=...): consume waits until it has them all or its timeout
    # passes, so a record would sit in the client's queue for up to that timeout.
    while time.monotonic() < deadline:
        message = consumer.poll(0.1)
        if message is not None and not message.error():
            latencies.append(time.monotonic_ns() - int.from_bytes(message.key(), "big"))
    consumer.close()
    pathlib.Path(out_path).write_text(json.dumps(latencies))


def latency_run(bootstrap, topic, rate, seconds):
    """Produces at `rate` records/s (paced per millisecond), each keyed with its send time on
    the monotonic clock, while a read-committed consumer in another process measures when each
    arrives."""
    import multiprocessing
    out_path = tempfile.mktemp(prefix="sluice-latency-")
    receiver = multiprocessing.Process(target=latency_consumer, args=(bootstrap, topic, seconds + 6, out_path))
    receiver.start()
    time.sleep(2)  # the consumer is assigned and waiting at the end
    producer = Producer({"bootstrap.servers": bootstrap, "compression.type": "lz4", "acks": "all",
                         "linger.ms": 5, "enable.idempotence": True})
    # A long-lived producer is measured, not its start: librdkafka's idempotent producer waits
    # ~500 ms before its first InitProducerId, which would hold the first ~25,000 records.
    producer.produce(topic, value=b"warm-up", key=time.monotonic_ns().to_bytes(8, "big"), partition=0)
    producer.flush(30)
    total = rate * seconds
    per_tick = max(1, rate // 1000)
    start = time.monotonic()
    sent = 0
    while sent < total:
        target = start + sent / rate
        delay = target - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        for _ in range(min(per_tick, total - sent)):
            producer.produce(topic, value=order(sent), key=time.monotonic_ns().to_bytes(8, "big"), partition=0)
            sent += 1
        producer.poll(0)
    achieved = total / (time.monotonic() - start)
    producer.flush(60)
    receiver.join()
    latencies = sorted(json.loads(pathlib.Path(out_path).read_text()))
    os.unlink(out_path)

    def percentile(p):
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] / 1e6 if latencies else float("nan")
    return {"received": len(latencies), "p50_ms": percentile(0.50), "p99_ms": percentile(0.99), "max_ms": percentile(1.0),
            "achieved_rate": achieved}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=str(ROOT / ".build" / "release" / "pipeline"))
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--rate", type=int, default=50_000)
    parser.add_argument("--latency-seconds", type=int, default=10)
    parser.add_argument("--json")
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="sluice-serve-bench-")
    port = free_port()
    server = start_server(args.binary, data_dir, port)
    bootstrap = f"127.0.0.1:{port}"
    try:
        admin = AdminClient({"bootstrap.servers": bootstrap})
        for name, partitions in (("orders", args.partitions), ("latency", 1)):
            admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])[name].result(30)
        cpu0 = cpu_seconds(server.pid)
        t0 = time.monotonic()
        produced_bytes = produce_all(bootstrap, "orders", args.records)
        produce_seconds = time.monotonic() - t0
        cpu1 = cpu_seconds(server.pid)
        t1 = time.monotonic()
        fetched_bytes = fetch_all(bootstrap, "orders", args.partitions, args.records)
        fetch_seconds = time.monotonic() - t1
        cpu2 = cpu_seconds(server.pid)
        latency = latency_run(bootstrap, "latency", args.rate, args.latency_seconds)
        millions = args.records / 1e6
        result = {
            "records": args.records,
            "produce": {"msgs_per_s": args.records / produce_seconds, "mb_per_s": produced_bytes / produce_seconds / 1e6,
                        "server_cpu_s_per_million": (cpu1 - cpu0) / millions, "seconds": produce_seconds},
            "fetch": {"msgs_per_s": args.records / fetch_seconds, "mb_per_s": fetched_bytes / fetch_seconds / 1e6,
                      "server_cpu_s_per_million": (cpu2 - cpu1) / millions, "seconds": fetch_seconds},
            "server_peak_rss_mb": peak_rss_mb(server.pid),
            "latency_at_rate": dict(latency, rate=args.rate),
        }
    finally:
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(data_dir, ignore_errors=True)
    print(json.dumps(result, indent=2))
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
