"""Avro in pipelines, on the way in and out, with Confluent's own Python clients: orders serialized
by confluent-kafka's AvroSerializer (v1 and its BACKWARD-compatible v2) are produced through the
Kafka protocol into a topic that requires their subject, summed by the shipped `avro-order-totals`
running inside `pipeline serve --registry-listen … --run avro-order-totals`, and its Avro output is
read back with AvroDeserializer; a value without the subject's schema id is refused by Produce
with INVALID_RECORD."""
import decimal
import subprocess
import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

from conftest import ROOT, TARGET, free_port, pipeline_binary, wait_for_port

pytestmark = pytest.mark.skipif(TARGET != "sluice", reason="runs a Sluice pipeline with Sluice's registry")

SCHEMAS = ROOT / "Pipelines" / "schemas"
V1 = (SCHEMAS / "order-created-v1.avsc").read_text()
V2 = (SCHEMAS / "order-created-v2.avsc").read_text()
INCOMPATIBLE = (SCHEMAS / "order-created-incompatible.avsc").read_text()
TOPIC, SUBJECT, OUTPUT = "orders-avro", "orders-avro-value", "customer-totals-avro"
ORDERS = 600


def start_server(server_factory):
    """The topic (2 partitions, requiring SUBJECT) made with the CLI, then the server with its
    registry and the pipeline: (server, registry URL)."""
    registry_port = free_port()
    server = server_factory(extra_args=["--registry-listen", f"127.0.0.1:{registry_port}", "--run", "avro-order-totals"],
                            start=False)
    subprocess.run([pipeline_binary(), "topics", "create", TOPIC, "--partitions", "2", "--value-subject", SUBJECT,
                    "--data-dir", server.data_dir], check=True, capture_output=True)
    server.start()
    wait_for_port(registry_port)
    deadline = time.monotonic() + 30
    while f"registry listening on 127.0.0.1:{registry_port}" not in server.lines:
        assert time.monotonic() < deadline, server.lines
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{registry_port}"


def read_totals(bootstrap, url, expected):
    """The last total per customer in OUTPUT (read-committed, AvroDeserializer), once they equal
    `expected` or the deadline passes."""
    deserializer = AvroDeserializer(SchemaRegistryClient({"url": url}))
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "verify-avro-totals", "auto.offset.reset": "earliest",
                         "isolation.level": "read_committed", "enable.auto.commit": False})
    consumer.subscribe([OUTPUT])
    totals, deadline = {}, time.monotonic() + 120
    try:
        while totals != expected and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            total = deserializer(message.value(), SerializationContext(OUTPUT, MessageField.VALUE))
            assert set(total) == {"customer_id", "orders", "total_cents"}, total
            assert message.key().decode() == total["customer_id"]
            totals[total["customer_id"]] = total
    finally:
        consumer.close()
    return totals


def test_avro_orders_through_the_kafka_protocol_and_the_avro_pipeline(server_factory):
    server, url = start_server(server_factory)
    client = SchemaRegistryClient({"url": url})
    v1_id = client.register_schema(SUBJECT, Schema(V1, "AVRO"))
    assert client.test_compatibility(SUBJECT, Schema(V2, "AVRO")) is True
    with pytest.raises(SchemaRegistryError) as refused:
        client.register_schema(SUBJECT, Schema(INCOMPATIBLE, "AVRO"))
    assert refused.value.http_status_code == 409

    # Old producers still write v1 (no amount: the pipeline reads 0.00); new ones v2, which the
    # serializer registers (BACKWARD: accepted).
    v1 = AvroSerializer(client, V1)
    v2 = AvroSerializer(client, V2)
    context = SerializationContext(TOPIC, MessageField.VALUE)
    orders, expected = [], {}
    for n in range(ORDERS):
        customer = f"CUST-{n % 13}"
        order = {"order_id": f"ORD-{n}", "customer_id": customer, "timestamp": "2025-06-11T12:00:00Z"}
        if n % 3 == 0:
            payload, cents = v1(order, context), 0
        else:
            amount = decimal.Decimal(f"{n}.{n % 100:02d}")
            payload, cents = v2(dict(order, amount=amount), context), int(amount * 100)
        orders.append((customer, payload))
        seen = expected.setdefault(customer, {"customer_id": customer, "orders": 0, "total_cents": 0})
        seen["orders"] += 1
        seen["total_cents"] += cents
    v2_id = client.get_latest_version(SUBJECT).schema_id
    assert v2_id != v1_id and {payload[1:5] for _, payload in orders} == {v1_id.to_bytes(4, "big"), v2_id.to_bytes(4, "big")}

    producer = Producer({"bootstrap.servers": server.bootstrap, "enable.idempotence": True, "linger.ms": 5})
    for customer, payload in orders:
        producer.produce(TOPIC, key=customer.encode(), value=payload)
    assert producer.flush(60) == 0

    # A value that is not the subject's: Produce refuses its batch with INVALID_RECORD.
    failures = []
    plain = Producer({"bootstrap.servers": server.bootstrap, "retries": 0})
    plain.produce(TOPIC, key=b"CUST-1", value=b'{"order_id":"ORD-X"}', on_delivery=lambda error, _: failures.append(error))
    plain.flush(30)
    assert len(failures) == 1 and failures[0] is not None, failures
    # librdkafka reports the code only ("Broker failed to validate record"); the message naming the
    # record is checked by the Swift tests (ValueSubjectProduceTests).
    assert failures[0].code() == KafkaError.INVALID_RECORD, failures[0]

    totals = read_totals(server.bootstrap, url, expected)
    assert totals == expected
    assert client.get_latest_version(f"{OUTPUT}-value").version == 1
    assert not any("avro-order-totals' stopped" in line for line in server.lines), server.lines


KILL_ORDERS = 3000
KILLS = 3


def read_updates(bootstrap, url):
    """Every committed update in OUTPUT (AvroDeserializer), partition by partition, in offset order."""
    deserializer = AvroDeserializer(SchemaRegistryClient({"url": url}))
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"verify-{time.monotonic_ns()}",
                         "auto.offset.reset": "earliest", "isolation.level": "read_committed",
                         "enable.auto.commit": False, "enable.partition.eof": True})
    consumer.subscribe([OUTPUT])
    updates, at_end, deadline = [], set(), time.monotonic() + 60
    try:
        while len(at_end) < 2 and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                if message.error().code() == KafkaError._PARTITION_EOF:
                    at_end.add(message.partition())
                continue
            at_end.discard(message.partition())
            updates.append(deserializer(message.value(), SerializationContext(OUTPUT, MessageField.VALUE)))
    finally:
        consumer.close()
    return updates


def test_avro_order_totals_is_exactly_once_through_server_kills(server_factory):
    """SIGKILLs of the server between stretches of Avro orders: after each restart the registry
    and the pipeline come back over the same data directory (the totals' schema keeps its id), and
    every customer's updates count exactly 1…n, the last one its exact total."""
    server, url = start_server(server_factory)
    registry_line = "registry listening on " + url.removeprefix("http://")
    client = SchemaRegistryClient({"url": url})
    client.register_schema(SUBJECT, Schema(V1, "AVRO"))
    serializer = AvroSerializer(client, V2)
    context = SerializationContext(TOPIC, MessageField.VALUE)
    producer = Producer({"bootstrap.servers": server.bootstrap, "enable.idempotence": True, "acks": "all",
                         "partitioner": "murmur2_random", "linger.ms": 5})
    expected = {}
    stretch = KILL_ORDERS // (KILLS + 1)
    for n in range(KILL_ORDERS):
        customer = f"CUST-{n % 41:03d}"
        cents = 100 + n * 37 % 90_000
        producer.produce(TOPIC, key=customer.encode(),
                         value=serializer({"order_id": f"ORD-{n}", "customer_id": customer, "timestamp": "2025-06-11T12:00:00Z",
                                           "amount": decimal.Decimal(cents) / 100}, context))
        producer.poll(0)
        orders, total = expected.get(customer, (0, 0))
        expected[customer] = (orders + 1, total + cents)
        if n % stretch == stretch - 1 and server.kills < KILLS:
            assert producer.flush(60) == 0
            time.sleep(0.3 + 0.2 * server.kills)  # the pipeline is processing the stretch
            server.kill()
            server.start()
            deadline = time.monotonic() + 30
            while sum(registry_line in line for line in server.lines) < server.kills + 1:
                assert time.monotonic() < deadline, server.lines[-20:]
                time.sleep(0.05)
    assert producer.flush(60) == 0

    deadline = time.monotonic() + 120
    while True:
        updates = read_updates(server.bootstrap, url)
        last = {u["customer_id"]: (u["orders"], u["total_cents"]) for u in updates}
        if last == expected or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert last == expected, f"{sum(c for c, _ in last.values())} of {KILL_ORDERS} orders counted"
    counts = {}
    for update in updates:
        counts.setdefault(update["customer_id"], []).append(update["orders"])
    for customer, seen in counts.items():
        assert seen == list(range(1, len(seen) + 1)), f"{customer}: updates {seen[:20]}… (a duplicate or a gap)"
    assert server.kills == KILLS
    assert client.get_versions(f"{OUTPUT}-value") == [1], "the totals' schema kept its one version across restarts"
