"""Issue 11: the seed's producer and consumer, verbatim, against `pipeline serve` on localhost:9092."""
import json

from kafka import KafkaConsumer, KafkaProducer


def test_the_seed_snippets_work_unchanged(server_factory):
    server = server_factory(port=9092)

    # --- the producer snippet, verbatim ---
    producer = KafkaProducer(bootstrap_servers='localhost:9092',
                             value_serializer=lambda v: json.dumps(v).encode('utf-8'))
    event = {"event_type": "OrderCreated", "order_id": "ORD-1234", "customer_id": "CUST-4567",
             "timestamp": "2025-06-11T12:00:00Z"}
    producer.send("orders", value=event)
    # ---
    producer.flush(timeout=30)
    producer.close()

    received = []

    def handle_event(value):
        received.append(value)

    # --- the consumer snippet, verbatim (the loop ends once the event is handled) ---
    consumer = KafkaConsumer("orders", bootstrap_servers='localhost:9092', auto_offset_reset='earliest',
                             group_id='payment-service', value_deserializer=lambda m: json.loads(m.decode('utf-8')))
    for msg in consumer:
        handle_event(msg.value)
        break
    # ---
    consumer.commit()
    consumer.close()
    assert received == [event]

    # A restarted consumer of the group resumes after the committed offset: nothing again.
    again = KafkaConsumer("orders", bootstrap_servers='localhost:9092', auto_offset_reset='earliest',
                          group_id='payment-service', consumer_timeout_ms=8000,
                          value_deserializer=lambda m: json.loads(m.decode('utf-8')))
    assert [m.value for m in again] == []
    again.close()

    # And after a SIGKILL of the server the committed offset is still there.
    server.restart()
    after_crash = KafkaConsumer("orders", bootstrap_servers='localhost:9092', auto_offset_reset='earliest',
                                group_id='payment-service', consumer_timeout_ms=8000)
    assert list(after_crash) == []
    after_crash.close()
