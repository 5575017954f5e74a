"""Issue 11: `pipeline serve --run order-totals`: orders from a Kafka client come out in
`customer-totals`, read by a Kafka client read-committed, with exact totals, through SIGKILLs.

A producer thread sends the orders at a steady pace, so the pipeline commits transaction after
transaction; at each kill point the test watches the output (while the orders keep coming) until
a partition's high watermark is past its last stable offset, a transaction written and not yet
decided, and kills the server then. Every kill must land there, so each interrupts the
pipeline's exactly-once commit rather than an idle server."""
import json
import os
import random
import subprocess
import threading
import time

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from conftest import TARGET, pipeline_binary

ORDERS = int(os.environ.get("SLUICE_SERVE_ORDERS", "20000"))
KILLS = int(os.environ.get("SLUICE_SERVE_KILLS", "4"))
ORDERS_PER_SECOND = 2000
PARTITIONS = 4


def read_totals(bootstrap):
    """Every update in customer-totals, read-committed, in offset order per partition."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "verify-totals",
                         "isolation.level": "read_committed", "enable.auto.commit": False,
                         "enable.partition.eof": True})
    consumer.assign([TopicPartition("customer-totals", p, 0) for p in range(PARTITIONS)])
    updates, at_end, deadline = [], set(), time.monotonic() + 60
    while len(at_end) < PARTITIONS and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is None:
            continue
        if message.error():
            if message.error().code() == -191:
                at_end.add(message.partition())
            continue
        at_end.discard(message.partition())
        updates.append(json.loads(message.value()))
    consumer.close()
    return updates


def output_has_open_transaction(uncommitted, committed):
    """Whether some customer-totals partition holds records of a transaction not yet decided."""
    for partition in range(PARTITIONS):
        tp = TopicPartition("customer-totals", partition)
        try:
            high = uncommitted.get_watermark_offsets(tp, timeout=2, cached=False)[1]
            stable = committed.get_watermark_offsets(tp, timeout=2, cached=False)[1]
        except KafkaException:
            return False
        if high > stable:
            return True
    return False


@pytest.mark.skipif(TARGET != "sluice", reason="runs a Sluice pipeline inside the server")
def test_order_totals_in_the_server_is_exactly_once_through_kills(server_factory):
    server = server_factory(extra_args=["--run", "order-totals"], start=False)
    created = subprocess.run([pipeline_binary(), "topics", "create", "orders", "--partitions", str(PARTITIONS),
                              "--data-dir", server.data_dir], capture_output=True, text=True)
    assert created.returncode == 0, created.stderr
    server.start()

    rng, kill_rng = random.Random(7), random.Random(8)
    expected = {}
    sent = [0]
    # murmur2 keeps a customer's orders in the partition Sluice's own producer would pick.
    producer = Producer({"bootstrap.servers": server.bootstrap, "enable.idempotence": True, "acks": "all",
                         "partitioner": "murmur2_random", "compression.type": "lz4", "linger.ms": 5})

    def produce_orders():
        started = time.monotonic()
        for i in range(ORDERS):
            customer = "CUST-%04d" % rng.randrange(300)
            cents = rng.randrange(100, 100_000)
            count, total = expected.get(customer, (0, 0))
            expected[customer] = (count + 1, total + cents)
            order = {"event_type": "OrderCreated", "order_id": "ORD-%07d" % i, "customer_id": customer,
                     "amount": float("%d.%02d" % (cents // 100, cents % 100)), "timestamp": "2025-06-11T12:00:00Z"}
            producer.produce("orders", key=customer.encode(), value=json.dumps(order).encode())
            producer.poll(0)
            sent[0] = i + 1
            ahead = started + sent[0] / ORDERS_PER_SECOND - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)

    producing = threading.Thread(target=produce_orders, name="orders")
    producing.start()
    watermarks = {level: Consumer({"bootstrap.servers": server.bootstrap, "group.id": f"watermarks-{level}",
                                   "isolation.level": level, "enable.auto.commit": False})
                  for level in ("read_uncommitted", "read_committed")}
    # One kill per stretch of the input, at a random point in its first half.
    stretch = ORDERS // (KILLS + 1)
    kill_at = [k * stretch + kill_rng.randrange(stretch // 2) for k in range(1, KILLS + 1)]
    mid_transaction_kills = 0
    for point in kill_at:
        while sent[0] < point and producing.is_alive():
            time.sleep(0.01)
        deadline, open_now = time.monotonic() + 20, False
        while not open_now and time.monotonic() < deadline and producing.is_alive():
            open_now = output_has_open_transaction(watermarks["read_uncommitted"], watermarks["read_committed"])
        server.kill()
        mid_transaction_kills += open_now
        time.sleep(kill_rng.uniform(0.1, 1.0))
        server.start()
    producing.join()
    assert producer.flush(120) == 0, "every order acknowledged"

    deadline = time.monotonic() + 180
    while True:
        updates = read_totals(server.bootstrap)
        last = {u["customer_id"]: (u["orders"], u["total_cents"]) for u in updates}
        if last == expected or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert last == expected, f"{sum(c for c, _ in last.values())} of {ORDERS} orders counted"
    per_customer = {}
    for update in updates:
        per_customer.setdefault(update["customer_id"], []).append(update["orders"])
    for customer, counts in per_customer.items():
        assert counts == list(range(1, len(counts) + 1)), f"{customer}: updates {counts[:20]}… (a duplicate or a gap)"
    for consumer in watermarks.values():
        consumer.close()
    print(f"order-totals in the server: {ORDERS} orders, {server.kills} SIGKILLs, {mid_transaction_kills} with a transaction open")
    assert server.kills == KILLS
    assert mid_transaction_kills == server.kills, \
        f"only {mid_transaction_kills} of {server.kills} kills found the pipeline's output with a transaction open"
