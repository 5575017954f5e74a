"""Issue 11: aborted data is invisible to read-committed consumers, ListOffsets agrees, zombies are fenced."""
import uuid

import pytest
from confluent_kafka import KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer
from kafka.structs import TopicPartition as KPTopicPartition


def create_topic(bootstrap, name, partitions=1):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    futures[name].result(30)


def transactional_producer(bootstrap, transactional_id):
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": transactional_id,
                         "transaction.timeout.ms": 60000})
    producer.init_transactions(30)
    return producer


def read_all(bootstrap, topic, isolation, timeout_ms=6000):
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, isolation_level=isolation,
                             auto_offset_reset="earliest", enable_auto_commit=False,
                             consumer_timeout_ms=timeout_ms)
    tp = KPTopicPartition(topic, 0)
    consumer.assign([tp])
    values = [m.value.decode() for m in consumer]
    position = consumer.position(tp)
    end = consumer.end_offsets([tp])[tp]
    consumer.close()
    return values, position, end


def test_read_committed_skips_aborted_records_and_list_offsets_agrees(server):
    topic = f"visibility-{uuid.uuid4().hex[:8]}"
    create_topic(server.bootstrap, topic)
    producer = transactional_producer(server.bootstrap, f"tx-{topic}")
    for label, count, commit in (("c1", 10, True), ("a", 10, False), ("c2", 5, True)):
        producer.begin_transaction()
        for i in range(count):
            producer.produce(topic, value=f"{label}-{i}".encode(), partition=0)
        producer.flush(30)
        if commit:
            producer.commit_transaction(30)
        else:
            producer.abort_transaction(30)

    committed, position, end = read_all(server.bootstrap, topic, "read_committed")
    assert committed == [f"c1-{i}" for i in range(10)] + [f"c2-{i}" for i in range(5)]
    assert end == position, "ListOffsets(read_committed) must equal where a read-committed reader ends"
    uncommitted, _, _ = read_all(server.bootstrap, topic, "read_uncommitted")
    assert len(uncommitted) == 25

    # An open transaction: read-committed ListOffsets answers the LSO (its first offset), and
    # a read-committed reader stops there; read-uncommitted sees the open records.
    producer.begin_transaction()
    for i in range(3):
        producer.produce(topic, value=f"open-{i}".encode(), partition=0)
    producer.flush(30)
    committed_open, position_open, end_open = read_all(server.bootstrap, topic, "read_committed", timeout_ms=3000)
    assert len(committed_open) == 15
    assert end_open == end, "the LSO stays at the open transaction's first offset"
    assert position_open == end_open
    uncommitted_open, _, end_uncommitted = read_all(server.bootstrap, topic, "read_uncommitted", timeout_ms=3000)
    assert len(uncommitted_open) == 28
    assert end_uncommitted == end + 3
    producer.abort_transaction(30)


def test_a_zombie_producer_is_fenced_and_never_commits(server):
    topic = f"zombie-{uuid.uuid4().hex[:8]}"
    create_topic(server.bootstrap, topic)
    transactional_id = f"tx-{topic}"
    zombie = transactional_producer(server.bootstrap, transactional_id)
    zombie.begin_transaction()
    zombie.produce(topic, value=b"zombie", partition=0)
    zombie.flush(30)

    successor = transactional_producer(server.bootstrap, transactional_id)  # bumps the epoch, aborts the zombie's
    successor.begin_transaction()
    successor.produce(topic, value=b"successor", partition=0)
    successor.flush(30)
    successor.commit_transaction(30)

    with pytest.raises(KafkaException) as raised:
        zombie.produce(topic, value=b"zombie-2", partition=0)
        zombie.flush(10)
        zombie.commit_transaction(10)
    error = raised.value.args[0]
    assert error.fatal() or "fenced" in str(error).lower(), str(error)

    committed, _, _ = read_all(server.bootstrap, topic, "read_committed")
    assert committed == ["successor"]
