"""A transactional consume-transform-produce copier (Kafka's `transactions_test` shape).

Copies `input` to `output` partition by partition, each poll in one transaction that also commits
the consumer's offsets (`send_offsets_to_transaction` with the group metadata). It exits on the
first error (a killed server, a fenced epoch): the test restarts it, and the new instance's
`init_transactions` fences the old one and aborts whatever it left open.
"""
import sys

from confluent_kafka import Consumer, Producer

bootstrap, source, sink, group, transactional_id = sys.argv[1:6]

consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                     "isolation.level": "read_committed", "auto.offset.reset": "earliest",
                     "session.timeout.ms": 10000})
producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": transactional_id,
                     "transaction.timeout.ms": 20000, "linger.ms": 5})
consumer.subscribe([source])
producer.init_transactions(30)
while True:
    messages = consumer.consume(num_messages=1000, timeout=1.0)
    if not messages:
        continue
    producer.begin_transaction()
    for message in messages:
        if message.error():
            raise RuntimeError(str(message.error()))
        producer.produce(sink, key=message.key(), value=message.value(), partition=message.partition())
    producer.send_offsets_to_transaction(consumer.position(consumer.assignment()),
                                         consumer.consumer_group_metadata(), 30)
    producer.commit_transaction(30)
