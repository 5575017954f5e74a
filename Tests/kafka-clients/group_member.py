"""One member of a consumer group, as a separate process (so a test can SIGKILL it).

Prints one JSON line per event: {"assigned": [...]} on every rebalance and
{"record": [partition, offset, value]} for each record, committing synchronously after each poll.
"""
import json
import sys

from kafka import ConsumerRebalanceListener, KafkaConsumer

bootstrap, group, topic = sys.argv[1:4]


def emit(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


class Listener(ConsumerRebalanceListener):
    def on_partitions_revoked(self, revoked):
        pass

    def on_partitions_assigned(self, assigned):
        emit({"assigned": sorted(tp.partition for tp in assigned)})


consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                         enable_auto_commit=False, session_timeout_ms=6000, heartbeat_interval_ms=1000,
                         max_poll_interval_ms=60000)
consumer.subscribe([topic], listener=Listener())
while True:
    polled = consumer.poll(timeout_ms=500)
    for tp, messages in polled.items():
        for message in messages:
            emit({"record": [tp.partition, message.offset, message.value.decode()]})
    if polled:
        consumer.commit()
