#!/usr/bin/env python3
"""The client scenarios whose frames become the codec's golden vectors.

    clients.py CLIENT BOOTSTRAP

CLIENT is kafka-python, confluent-kafka or aiokafka (kcat runs from capture.sh). Each
scenario: metadata (and a topic created through the admin API), a produce with lz4, a
consume in a group (join, sync, heartbeat, commit, fetch offsets), and for kafka-python and
confluent-kafka a transaction (init, add partitions, add offsets, txn offset commit, end).
"""
import asyncio
import sys
import time

TOPIC_PREFIX = "golden"


def kafka_python(bootstrap):
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition, OffsetAndMetadata
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="golden-kafka-python")
    admin.create_topics([NewTopic("golden-kp", num_partitions=2, replication_factor=1),
                         NewTopic("golden-kp-out", num_partitions=1, replication_factor=1)])
    admin.list_topics()
    admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap, compression_type="lz4", acks="all", client_id="golden-kafka-python")
    for index in range(5):
        producer.send("golden-kp", key=b"key-%d" % index, value=b'{"event_type":"OrderCreated","n":%d}' % index)
    producer.flush()
    producer.close()
    consumer = KafkaConsumer("golden-kp", bootstrap_servers=bootstrap, group_id="golden-kp-group",
                             auto_offset_reset="earliest", enable_auto_commit=False, client_id="golden-kafka-python",
                             consumer_timeout_ms=4000)
    received = 0
    for _ in consumer:
        received += 1
        if received == 5:
            break
    consumer.commit()
    consumer.committed(TopicPartition("golden-kp", 0))
    consumer.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap, transactional_id="golden-kp-txn", client_id="golden-kafka-python")
    producer.init_transactions()
    producer.begin_transaction()
    producer.send("golden-kp-out", value=b"transformed")
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id="golden-kp-txn-group", client_id="golden-kafka-python")
    producer.send_offsets_to_transaction({TopicPartition("golden-kp", 0): OffsetAndMetadata(1, "", -1)},
                                         "golden-kp-txn-group")
    producer.commit_transaction()
    producer.close()
    consumer.close()
    print("kafka-python: received", received)


def confluent_kafka(bootstrap):
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap, "client.id": "golden-confluent"})
    for future in admin.create_topics([NewTopic("golden-ck", 2, 1), NewTopic("golden-ck-out", 1, 1)]).values():
        future.result(10)
    admin.list_topics(timeout=10)
    producer = Producer({"bootstrap.servers": bootstrap, "compression.type": "lz4", "acks": "all",
                         "client.id": "golden-confluent", "linger.ms": 5})
    for index in range(5):
        producer.produce("golden-ck", key=b"key-%d" % index, value=b'{"event_type":"OrderCreated","n":%d}' % index)
    producer.flush(10)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "golden-ck-group", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False, "client.id": "golden-confluent"})
    consumer.subscribe(["golden-ck"])
    received = 0
    deadline = time.time() + 15
    while received < 5 and time.time() < deadline:
        message = consumer.poll(1.0)
        if message is not None and message.error() is None:
            received += 1
    consumer.commit(asynchronous=False)
    consumer.committed([TopicPartition("golden-ck", 0)], timeout=10)
    txn = Producer({"bootstrap.servers": bootstrap, "transactional.id": "golden-ck-txn", "client.id": "golden-confluent"})
    txn.init_transactions(10)
    txn.begin_transaction()
    txn.produce("golden-ck-out", value=b"transformed")
    txn.send_offsets_to_transaction([TopicPartition("golden-ck", 0, 1)], consumer.consumer_group_metadata(), 10)
    txn.commit_transaction(10)
    consumer.close()
    print("confluent-kafka: received", received)


def aiokafka(bootstrap):
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    async def run():
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="golden-aiokafka")
        await admin.start()
        await admin.create_topics([NewTopic("golden-ak", num_partitions=2, replication_factor=1)])
        await admin.list_topics()
        await admin.close()
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, compression_type="lz4", acks="all", client_id="golden-aiokafka")
        await producer.start()
        for index in range(5):
            await producer.send("golden-ak", key=b"key-%d" % index, value=b'{"event_type":"OrderCreated","n":%d}' % index)
        await producer.flush()
        await producer.stop()
        consumer = AIOKafkaConsumer("golden-ak", bootstrap_servers=bootstrap, group_id="golden-ak-group",
                                    auto_offset_reset="earliest", enable_auto_commit=False, client_id="golden-aiokafka")
        await consumer.start()
        received = 0
        try:
            while received < 5:
                batch = await asyncio.wait_for(consumer.getmany(timeout_ms=1000), 15)
                received += sum(len(messages) for messages in batch.values())
            await consumer.commit()
            from aiokafka import TopicPartition
            await consumer.committed(TopicPartition("golden-ak", 0))
        finally:
            await consumer.stop()
        print("aiokafka: received", received)

    asyncio.run(run())


if __name__ == "__main__":
    {"kafka-python": kafka_python, "confluent-kafka": confluent_kafka, "aiokafka": aiokafka}[sys.argv[1]](sys.argv[2])
