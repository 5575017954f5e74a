"""Issue 11: a transactional copier of 100,000 records while the server is SIGKILLed at random.

The read-committed output must hold every input record exactly once, and a concurrent
read-committed consumer must never see a record of an aborted transaction.
"""
import os
import random
import subprocess
import sys
import threading
import time
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

HERE = os.path.dirname(os.path.abspath(__file__))
RECORDS = int(os.environ.get("SLUICE_COPY_RECORDS", "100000"))
KILLS = int(os.environ.get("SLUICE_COPY_KILLS", "10"))
PARTITIONS = 4


def read_committed(bootstrap, topic, stop=None, seen=None, deadline=None):
    """Reads `topic` read-committed from the start; returns {(partition, offset): value}."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"verify-{uuid.uuid4().hex}",
                         "isolation.level": "read_committed", "enable.auto.commit": False,
                         "enable.partition.eof": True})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    records = {} if seen is None else seen
    at_end = set()
    while True:
        if stop is not None and stop.is_set():
            break
        if deadline is not None and time.monotonic() > deadline:
            break
        message = consumer.poll(0.5)
        if message is None:
            continue
        if message.error():
            if message.error().code() == -191:  # _PARTITION_EOF
                at_end.add(message.partition())
                if stop is None and len(at_end) == PARTITIONS:
                    break
            continue
        at_end.discard(message.partition())
        key = (message.partition(), message.offset())
        assert key not in records, f"offset {key} delivered twice"
        records[key] = message.value()
    consumer.close()
    return records


def test_transactional_copy_is_exactly_once_through_server_kills(server):
    run = uuid.uuid4().hex[:8]
    source, sink, group = f"copy-in-{run}", f"copy-out-{run}", f"copier-{run}"
    admin = AdminClient({"bootstrap.servers": server.bootstrap})
    for name in (source, sink):
        admin.create_topics([NewTopic(name, num_partitions=PARTITIONS, replication_factor=1)])[name].result(30)
    producer = Producer({"bootstrap.servers": server.bootstrap, "enable.idempotence": True,
                         "compression.type": "lz4", "linger.ms": 5})
    for i in range(RECORDS):
        producer.produce(source, key=str(i).encode(), value=str(i).encode(), partition=i % PARTITIONS)
        if i % 10000 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0

    stop = threading.Event()
    concurrent = {}
    watcher = threading.Thread(target=read_committed, args=(server.bootstrap, sink, stop, concurrent), daemon=True)
    watcher.start()

    copier = {"process": None, "starts": 0}

    def start_copier():
        copier["process"] = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "copier.py"), server.bootstrap, source, sink, group, f"tx-{run}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        copier["starts"] += 1

    def keep_copier_running():
        while not stop.is_set():
            if copier["process"] is None or copier["process"].poll() is not None:
                start_copier()
            time.sleep(0.2)

    keeper = threading.Thread(target=keep_copier_running, daemon=True)
    keeper.start()
    rng = random.Random(int(os.environ.get("SLUICE_COPY_SEED", "11")))
    try:
        while server.kills < KILLS:
            time.sleep(rng.uniform(0.5, 3.0))
            server.kill()
            if copier["process"] is not None and rng.random() < 0.5:
                copier["process"].kill()  # the copier dies with the server every other time or so
            server.start()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if len(read_committed(server.bootstrap, sink)) >= RECORDS:
                break
            time.sleep(2)
    finally:
        stop.set()
        keeper.join()
        if copier["process"] is not None and copier["process"].poll() is None:
            copier["process"].kill()
        watcher.join(timeout=30)

    final = read_committed(server.bootstrap, sink)
    values = sorted(int(v) for v in final.values())
    assert len(values) == RECORDS, f"{len(values)} records in the output, {RECORDS} copied"
    assert values == list(range(RECORDS)), "a record is missing or duplicated"
    leaked = {k: v for k, v in concurrent.items() if final.get(k) != v}
    assert not leaked, f"the concurrent read-committed consumer saw {len(leaked)} records not in the committed output"
    print(f"copy: {RECORDS} records, {server.kills} server SIGKILLs, {copier['starts']} copier starts, "
          f"{len(concurrent)} records seen by the concurrent read-committed consumer")
    assert server.kills >= KILLS and copier["starts"] >= 2
