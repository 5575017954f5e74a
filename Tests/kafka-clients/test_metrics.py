"""Issue 13 (Metrics): `--metrics HOST:PORT` on `serve` and `run` serves `GET /metrics`, parsed
here with prometheus_client's parser (the reference one) and checked with `promtool check
metrics`; the values are checked against what is known: records in and dead letters after 10,000
orders of which 100 are poison, the delivery histogram's count, the server's request, byte and
partition-offset families, and consumer lag equal to the
LSO minus the committed offset minus the transaction markers between them, with a transaction
open and after it commits; `pipeline lag` prints the same from the data directory."""
import json
import signal
import subprocess
import time
import urllib.request

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from conftest import TARGET, free_port, pipeline_binary

pytestmark = pytest.mark.skipif(TARGET != "sluice", reason="Sluice's own metrics")

PIPELINE_FAMILIES = [
    "sluice_records_in", "sluice_records_out", "sluice_dead_letters", "sluice_skipped", "sluice_commits", "sluice_fenced",
    "sluice_delivery_latency_seconds", "sluice_commit_latency_seconds", "sluice_consumer_lag_records",
]


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return response.read().decode()


def families(text):
    """name → family, as prometheus_client parses the text (counters lose their _total suffix)."""
    return {family.name: family for family in text_string_to_metric_families(text)}


def samples(parsed, family, sample_name, **labels):
    found = parsed.get(family)
    if found is None:
        return []
    return [s for s in found.samples if s.name == sample_name and all(s.labels.get(k) == v for k, v in labels.items())]


def total(parsed, family, sample_name, **labels):
    return sum(s.value for s in samples(parsed, family, sample_name, **labels))


def check_with_promtool(text):
    result = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def order(index, customer):
    return json.dumps({"event_type": "OrderCreated", "order_id": f"ORD-{index}", "customer_id": customer,
                       "amount": 1.25, "timestamp": "2025-06-11T12:00:00Z"}).encode()


def wait_for(condition, port, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        parsed = families(scrape(port))
        if condition(parsed) or time.monotonic() > deadline:
            return parsed
        time.sleep(0.2)


def test_serve_metrics_count_committed_records_and_dead_letters(server_factory):
    metrics_port = free_port()
    server = server_factory(extra_args=["--run", "order-totals", "--metrics", f"127.0.0.1:{metrics_port}",
                                        "--default-partitions", "2"])
    assert f"metrics listening on 127.0.0.1:{metrics_port}" in server.lines
    producer = Producer({"bootstrap.servers": server.bootstrap, "linger.ms": 5})
    poison = 0
    for index in range(10_000):
        customer = f"CUST-{index % 97}"
        if index % 100 == 7:
            producer.produce("orders", key=customer.encode(), value=b"not json")
            poison += 1
        else:
            producer.produce("orders", key=customer.encode(), value=order(index, customer))
        if index % 1000 == 0:
            producer.poll(0)
    assert producer.flush(30) == 0
    assert poison == 100

    def caught_up(parsed):
        lag = samples(parsed, "sluice_consumer_lag_records", "sluice_consumer_lag_records", group="order-totals")
        return (total(parsed, "sluice_records_in", "sluice_records_in_total") >= 10_000
                and lag and all(s.value == 0 for s in lag))

    parsed = wait_for(caught_up, metrics_port)
    text = scrape(metrics_port)
    check_with_promtool(text)
    parsed = families(text)
    for name in PIPELINE_FAMILIES:
        assert name in parsed, f"{name} missing from /metrics"
        assert parsed[name].documentation, f"{name} has no HELP"
    pipeline = {"pipeline": "order-totals"}
    assert total(parsed, "sluice_records_in", "sluice_records_in_total", **pipeline) == 10_000
    by_partition = samples(parsed, "sluice_records_in", "sluice_records_in_total", topic="orders")
    assert sorted(s.labels["partition"] for s in by_partition) == ["0", "1"]
    assert total(parsed, "sluice_dead_letters", "sluice_dead_letters_total", **pipeline) == 100
    assert {s.labels["stage"] for s in samples(parsed, "sluice_dead_letters", "sluice_dead_letters_total")} == {"decode"}
    assert total(parsed, "sluice_records_out", "sluice_records_out_total", topic="customer-totals") == 9_900
    assert total(parsed, "sluice_delivery_latency_seconds", "sluice_delivery_latency_seconds_count", **pipeline) == 10_000
    infinite = samples(parsed, "sluice_delivery_latency_seconds", "sluice_delivery_latency_seconds_bucket", le="+Inf", **pipeline)
    assert [s.value for s in infinite] == [10_000]
    commits = total(parsed, "sluice_commits", "sluice_commits_total", **pipeline)
    assert commits >= 1
    assert total(parsed, "sluice_commit_latency_seconds", "sluice_commit_latency_seconds_count", **pipeline) == commits
    assert total(parsed, "sluice_fenced", "sluice_fenced_total", **pipeline) == 0
    # The server's own families.
    assert total(parsed, "sluice_broker_requests", "sluice_broker_requests_total", api="Produce") >= 1
    assert total(parsed, "sluice_broker_request_latency_seconds", "sluice_broker_request_latency_seconds_count", api="Produce") \
        == total(parsed, "sluice_broker_requests", "sluice_broker_requests_total", api="Produce")
    assert total(parsed, "sluice_broker_bytes_in", "sluice_broker_bytes_in_total") > 10_000 * len(b"not json")
    assert total(parsed, "sluice_broker_bytes_out", "sluice_broker_bytes_out_total") > 0
    assert "sluice_broker_connections" in parsed
    ends = samples(parsed, "sluice_log_end_offset", "sluice_log_end_offset", topic="orders")
    assert sum(s.value for s in ends) == 10_000  # plain produce: one offset per record, no markers
    # State: the in-memory store holds one key per customer (poison records are dead-lettered at
    # decode and write none), split over the two partitions.
    keys = samples(parsed, "sluice_state_store_keys", "sluice_state_store_keys", store="customer-totals", **pipeline)
    assert sorted(s.labels["partition"] for s in keys) == ["0", "1"]
    assert sum(s.value for s in keys) == 97 and all(s.value > 0 for s in keys)
    restore = samples(parsed, "sluice_state_restore_seconds", "sluice_state_restore_seconds", store="customer-totals", **pipeline)
    assert len(restore) == 1 and restore[0].value >= 0
    for name in ["sluice_state_store_keys", "sluice_state_restore_seconds"]:
        assert parsed[name].documentation, f"{name} has no HELP"

    # GET /status: the same pipeline as JSON, and `pipeline status --url` prints it.
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/status", timeout=10) as response:
        assert response.status == 200 and response.headers["Content-Type"] == "application/json"
        document = json.loads(response.read())
    [status] = document["pipelines"]
    assert status["pipeline"] == "order-totals" and status["running"] is True
    assert status["guarantee"] == "exactly-once" and status["group"] == "order-totals"
    assert [w["transactional_id"] for w in status["workers"]] == ["order-totals-0", "order-totals-1"]
    assert status["lag"] == 0
    assert sorted((i["topic"], i["partition"]) for i in status["inputs"]) == [("orders", 0), ("orders", 1)]
    assert sum(i["committed_offset"] for i in status["inputs"]) == 10_000
    assert all(i["committed_offset"] == i["end_offset"] and i["lag"] == 0 for i in status["inputs"])
    assert status["dead_letters_total"] == 100
    assert [(d["stage"], d["count"]) for d in status["dead_letters"]] == [("decode", 100)]
    assert status["commits"] == commits
    assert status["last_commit_age_seconds"] is not None and status["last_commit"].endswith("Z")
    assert status["records_per_second"] >= 0
    assert set(status["state_restore_seconds"]) == {"customer-totals"}
    printed = subprocess.run([pipeline_binary(), "status", "--url", f"http://127.0.0.1:{metrics_port}"],
                             capture_output=True, text=True, timeout=60)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.startswith("order-totals: running, exactly-once, group order-totals, 2 workers"), printed.stdout
    assert "dead letters   100: " in printed.stdout and "lag            0" in printed.stdout, printed.stdout


def test_run_metrics_count_what_the_pipeline_committed(tmp_path):
    data = str(tmp_path / "data")
    binary = pipeline_binary()
    subprocess.run([binary, "topics", "create", "orders", "--partitions", "2", "--data-dir", data], check=True, capture_output=True)
    lines = "\n".join(order(i, f"CUST-{i % 13}").decode() for i in range(1_000)) + "\n"
    subprocess.run([binary, "produce", "orders", "--key-field", "customer_id", "--data-dir", data], input=lines, text=True,
                   check=True, capture_output=True)
    subprocess.run([binary, "produce", "orders", "--format", "raw", "--data-dir", data], input="bad\n" * 10, text=True,
                   check=True, capture_output=True)
    port = free_port()
    process = subprocess.Popen([binary, "run", "order-totals", "--metrics", f"127.0.0.1:{port}", "--data-dir", data],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout.readline().strip() == f"metrics listening on 127.0.0.1:{port}"
        parsed = wait_for(lambda p: total(p, "sluice_records_in", "sluice_records_in_total") >= 1_010, port, timeout=60)
        check_with_promtool(scrape(port))
        assert total(parsed, "sluice_records_in", "sluice_records_in_total") == 1_010
        assert total(parsed, "sluice_dead_letters", "sluice_dead_letters_total", stage="decode") == 10
        assert total(parsed, "sluice_delivery_latency_seconds", "sluice_delivery_latency_seconds_count") == 1_010
        assert samples(parsed, "sluice_consumer_lag_records", "sluice_consumer_lag_records", group="order-totals")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=10) as response:
            [status] = json.loads(response.read())["pipelines"]
        # Its records committed seconds ago at most: all of them are in the 10 s rate.
        assert status["records_per_second"] == 101.0, status
        assert status["dead_letters_total"] == 10 and status["lag"] == 0, status
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    assert process.returncode == 0


def lag_of(parsed, group, topic, partition):
    found = samples(parsed, "sluice_consumer_lag_records", "sluice_consumer_lag_records",
                    group=group, topic=topic, partition=str(partition))
    assert len(found) == 1, found
    return found[0].value


def test_lag_is_lso_minus_committed_without_markers(server_factory):
    metrics_port = free_port()
    server = server_factory(extra_args=["--metrics", f"127.0.0.1:{metrics_port}"])
    admin_producer = Producer({"bootstrap.servers": server.bootstrap})
    admin_producer.produce("events", value=b"create")  # auto-creates events (1 partition): offset 0
    assert admin_producer.flush(30) == 0
    producer = Producer({"bootstrap.servers": server.bootstrap, "transactional.id": "metrics-lag"})
    producer.init_transactions(30)
    for transaction in range(3):
        producer.begin_transaction()
        for index in range(10):
            producer.produce("events", value=f"t{transaction}-{index}".encode())
        producer.commit_transaction(30)
    # 0 plain, 1-10 data, 11 marker, 12-21, 22 marker, 23-32, 33 marker.
    group = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "billing", "enable.auto.commit": False})
    group.commit(offsets=[TopicPartition("events", 0, 5)], asynchronous=False)
    group.close()

    producer.begin_transaction()
    for index in range(7):
        producer.produce("events", value=f"open-{index}".encode())
    producer.flush(30)  # appended, not committed: the LSO stays at the open transaction's first offset

    committed_view = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "probe", "isolation.level": "read_committed"})
    uncommitted_view = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "probe", "isolation.level": "read_uncommitted"})
    lso = committed_view.get_watermark_offsets(TopicPartition("events", 0), timeout=10, cached=False)[1]
    high = uncommitted_view.get_watermark_offsets(TopicPartition("events", 0), timeout=10, cached=False)[1]
    assert (lso, high) == (34, 41)
    markers_between = 3  # at 11, 22 and 33
    text = scrape(metrics_port)
    check_with_promtool(text)
    parsed = families(text)
    assert lag_of(parsed, "billing", "events", 0) == lso - 5 - markers_between == 26
    assert [s.value for s in samples(parsed, "sluice_log_end_offset", "sluice_log_end_offset", topic="events")] == [high]
    assert [s.value for s in samples(parsed, "sluice_last_stable_offset", "sluice_last_stable_offset", topic="events")] == [lso]

    producer.commit_transaction(30)
    lso_after = committed_view.get_watermark_offsets(TopicPartition("events", 0), timeout=10, cached=False)[1]
    assert lso_after == 42  # 34-40 data, 41 its marker
    parsed = families(scrape(metrics_port))
    assert lag_of(parsed, "billing", "events", 0) == lso_after - 5 - (markers_between + 1) == 33
    committed_view.close()
    uncommitted_view.close()

    assert server.stop() == 0
    out = subprocess.run([pipeline_binary(), "lag", "billing", "--format", "json", "--data-dir", server.data_dir],
                         capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == [{"group": "billing", "topic": "events", "partition": 0, "committed_offset": 5,
                                "end_offset": 42, "lag": 33}]
    table = subprocess.run([pipeline_binary(), "lag", "--data-dir", server.data_dir],
                           capture_output=True, text=True, check=True).stdout.splitlines()
    assert table[0].split() == ["GROUP", "TOPIC", "PARTITION", "COMMITTED", "END", "LAG"]
    assert ["billing", "events", "0", "5", "42", "33"] in [line.split() for line in table[1:]]
