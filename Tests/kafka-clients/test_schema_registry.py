"""The schema registry of `pipeline serve --registry-listen` against Confluent's own Python client:
confluent-kafka's SchemaRegistryClient, AvroSerializer and AvroDeserializer, unchanged, and the
REST API's error bodies read over plain HTTP."""
import decimal
import json
import struct
import time
import urllib.error
import urllib.request
import uuid

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

from conftest import ROOT, TARGET, free_port, wait_for_port

pytestmark = pytest.mark.skipif(TARGET != "sluice", reason="the schema registry is Sluice's")

SCHEMAS = ROOT / "Pipelines" / "schemas"
V1 = (SCHEMAS / "order-created-v1.avsc").read_text()
V2 = (SCHEMAS / "order-created-v2.avsc").read_text()
INCOMPATIBLE = (SCHEMAS / "order-created-incompatible.avsc").read_text()
CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


@pytest.fixture
def registry(server_factory):
    """A server with its registry on a free port: (server, registry URL)."""
    port = free_port()
    server = server_factory(extra_args=["--registry-listen", f"127.0.0.1:{port}"])
    wait_for_port(port)
    deadline = time.monotonic() + 30  # the line follows the bind
    while f"registry listening on 127.0.0.1:{port}" not in server.lines:
        assert time.monotonic() < deadline, server.lines
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def http(url, method="GET", body=None, raw=None):
    """(status, content type, parsed JSON body) of one request, errors included."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": CONTENT_TYPE})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers["Content-Type"], json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], json.loads(error.read())


def same_schema(a, b):
    return json.loads(a) == json.loads(b)


def test_register_and_fetch_by_id_and_by_subject(registry):
    _, url = registry
    client = SchemaRegistryClient({"url": url})
    first = client.register_schema("orders-value", Schema(V1, "AVRO"))
    # Registering it again (a fresh client: no cache) answers the same id; another subject too.
    again = SchemaRegistryClient({"url": url}).register_schema("orders-value", Schema(V1, "AVRO"))
    other = client.register_schema("order-archive-value", Schema(V1, "AVRO"))
    assert first == again == other

    fetched = SchemaRegistryClient({"url": url}).get_schema(first)
    assert fetched.schema_type == "AVRO" and same_schema(fetched.schema_str, V1)
    latest = client.get_latest_version("orders-value")
    assert (latest.schema_id, latest.version, latest.subject) == (first, 1, "orders-value")
    assert same_schema(latest.schema.schema_str, V1)
    assert client.get_version("orders-value", 1).schema_id == first
    assert client.get_versions("orders-value") == [1]
    assert sorted(client.get_subjects()) == ["order-archive-value", "orders-value"]
    pairs = sorted((v.subject, v.version) for v in client.get_schema_versions(first))
    assert pairs == [("order-archive-value", 1), ("orders-value", 1)]
    found = SchemaRegistryClient({"url": url}).lookup_schema("orders-value", Schema(V1, "AVRO"))
    assert (found.schema_id, found.version) == (first, 1)


def test_compatibility_accepts_v2_and_refuses_an_incompatible_schema_with_409(registry):
    _, url = registry
    client = SchemaRegistryClient({"url": url})
    v1 = client.register_schema("orders-value", Schema(V1, "AVRO"))
    assert client.get_compatibility() == "BACKWARD"
    assert client.test_compatibility("orders-value", Schema(V2, "AVRO")) is True
    assert client.test_compatibility("orders-value", Schema(INCOMPATIBLE, "AVRO")) is False

    v2 = client.register_schema("orders-value", Schema(V2, "AVRO"))
    assert v2 != v1 and client.get_latest_version("orders-value").version == 2
    with pytest.raises(SchemaRegistryError) as refused:
        client.register_schema("orders-value", Schema(INCOMPATIBLE, "AVRO"))
    assert refused.value.http_status_code == 409 and refused.value.error_code == 409
    assert client.get_versions("orders-value") == [1, 2]

    status, content_type, body = http(f"{url}/compatibility/subjects/orders-value/versions/latest?verbose=true",
                                      "POST", {"schema": INCOMPATIBLE})
    assert status == 200 and content_type == CONTENT_TYPE
    assert body["is_compatible"] is False and body["messages"], body

    # NONE on the subject lets it through (a level of its own, then removed again).
    client.set_compatibility("orders-value", "NONE")
    assert client.get_compatibility("orders-value") == "NONE"
    assert client.register_schema("orders-value", Schema(INCOMPATIBLE, "AVRO")) > v2
    assert http(f"{url}/config/orders-value", "DELETE")[2] == {"compatibilityLevel": "NONE"}
    assert http(f"{url}/config/orders-value")[2]["error_code"] == 40408


def test_errors_are_confluents_json_bodies(registry):
    _, url = registry
    client = SchemaRegistryClient({"url": url})
    client.register_schema("orders-value", Schema(V1, "AVRO"))
    cases = [
        ("GET", "/subjects/nope/versions", None, 404, 40401),
        ("GET", "/subjects/orders-value/versions/9", None, 404, 40402),
        ("GET", "/subjects/orders-value/versions/zero", None, 422, 42202),
        ("GET", "/schemas/ids/999", None, 404, 40403),
        ("POST", "/subjects/orders-value", {"schema": V2}, 404, 40403),
        ("POST", "/subjects/orders-value/versions", {"schema": '{"type": "recrod"}'}, 422, 42201),
        ("POST", "/subjects/orders-value/versions", {"schema": V1, "schemaType": "PROTOBUF"}, 422, 42201),
        ("PUT", "/config", {"compatibility": "SIDEWAYS"}, 422, 42203),
        ("GET", "/associations/resources/orders", None, 404, 404),
        ("DELETE", "/schemas/ids/1", None, 405, 405),
    ]
    for method, path, body, status, code in cases:
        answer = http(url + path, method, body)
        assert answer[:2] == (status, CONTENT_TYPE), (method, path, answer)
        assert answer[2]["error_code"] == code and answer[2]["message"], (method, path, answer)
    assert http(url + "/subjects/orders-value/versions", "POST", raw=b"{not json")[0] == 400


def test_soft_then_permanent_deletes(registry):
    _, url = registry
    client = SchemaRegistryClient({"url": url})
    v1 = client.register_schema("orders-value", Schema(V1, "AVRO"))
    client.register_schema("orders-value", Schema(V2, "AVRO"))
    assert http(f"{url}/subjects/orders-value/versions/1?permanent=true", "DELETE")[2]["error_code"] == 40407
    assert client.delete_version("orders-value", 1) == 1
    assert client.get_versions("orders-value") == [2]
    assert http(f"{url}/subjects/orders-value/versions?deleted=true")[2] == [1, 2]
    assert client.get_schema(v1) is not None  # still found by id while only soft-deleted
    assert http(f"{url}/subjects/orders-value?permanent=true", "DELETE")[2]["error_code"] == 40405
    assert client.delete_subject("orders-value") == [2]
    assert client.get_subjects() == []
    assert sorted(client.delete_subject("orders-value", permanent=True)) == [1, 2]
    assert http(f"{url}/subjects/orders-value/versions?deleted=true")[2]["error_code"] == 40401
    # A hard-deleted schema registered again gets a new id: ids are never reused.
    assert client.register_schema("orders-value", Schema(V1, "AVRO")) > v1


def test_avro_serializer_orders_through_the_kafka_protocol_and_back(registry):
    server, url = registry
    client = SchemaRegistryClient({"url": url})
    topic = f"orders-avro-{uuid.uuid4().hex[:8]}"
    client.register_schema(f"{topic}-value", Schema(V1, "AVRO"))
    serializer = AvroSerializer(client, V2)  # auto-registers v2 under <topic>-value (BACKWARD: accepted)
    orders = [{"order_id": f"ORD-{n}", "customer_id": f"CUST-{n % 7}", "timestamp": "2025-06-11T12:00:00Z",
               "amount": decimal.Decimal(f"{n}.{n % 100:02d}")} for n in range(1, 201)]
    context = SerializationContext(topic, MessageField.VALUE)
    payloads = [serializer(order, context) for order in orders]
    v2 = client.get_latest_version(f"{topic}-value")
    assert v2.version == 2
    for payload in payloads:  # Confluent's wire format: magic 0, the schema id big-endian, the body
        assert payload[0] == 0 and struct.unpack(">I", payload[1:5])[0] == v2.schema_id

    producer = Producer({"bootstrap.servers": server.bootstrap, "enable.idempotence": True})
    for order, payload in zip(orders, payloads):
        producer.produce(topic, key=order["customer_id"].encode(), value=payload)
    assert producer.flush(60) == 0

    deserializer = AvroDeserializer(SchemaRegistryClient({"url": url}))
    consumer = Consumer({"bootstrap.servers": server.bootstrap, "group.id": f"reader-{topic}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    received = []
    try:
        while len(received) < len(orders):
            message = consumer.poll(30)
            assert message is not None, f"only {len(received)} of {len(orders)} orders arrived"
            assert message.error() is None, message.error()
            received.append(deserializer(message.value(), SerializationContext(topic, MessageField.VALUE)))
    finally:
        consumer.close()
    assert sorted(received, key=lambda o: o["order_id"]) == sorted(orders, key=lambda o: o["order_id"])
