"""Issue 11: three consumers split six partitions; a SIGKILLed one's partitions move to the survivors."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaProducer

HERE = os.path.dirname(os.path.abspath(__file__))


class Member:
    def __init__(self, bootstrap, group, topic):
        self.process = subprocess.Popen([sys.executable, os.path.join(HERE, "group_member.py"), bootstrap, group, topic],
                                        stdout=subprocess.PIPE, text=True, start_new_session=True)
        self.assigned = None
        self.records = []
        self.lock = threading.Lock()
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        for line in self.process.stdout:
            event = json.loads(line)
            with self.lock:
                if "assigned" in event:
                    self.assigned = event["assigned"]
                else:
                    self.records.append(tuple(event["record"]))

    def kill(self):
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def wait_until(condition, timeout, what, describe=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} {describe()}")


def produce(bootstrap, topic, start, count):
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for i in range(start, start + count):
        producer.send(topic, value=f"v{i}".encode(), partition=i % 6)
    producer.flush(30)
    producer.close()


def test_three_members_split_six_partitions_and_survivors_take_over(server):
    topic = f"group-{uuid.uuid4().hex[:8]}"
    group = f"g-{topic}"
    admin = AdminClient({"bootstrap.servers": server.bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=6, replication_factor=1)])[topic].result(30)
    members = [Member(server.bootstrap, group, topic) for _ in range(3)]
    try:
        def split_evenly():
            assignments = [m.assigned for m in members]
            return all(a is not None and len(a) == 2 for a in assignments) and \
                sorted(p for a in assignments for p in a) == list(range(6))
        wait_until(split_evenly, 60, "three members with two partitions each")

        produce(server.bootstrap, topic, 0, 600)
        wait_until(lambda: sum(len(m.records) for m in members) >= 600, 60, "the first 600 records")
        victim, survivors = members[0], members[1:]
        orphaned = set(victim.assigned)
        victim.kill()

        def survivors_own_everything():
            owned = sorted(p for m in survivors for p in (m.assigned or []))
            return owned == list(range(6))
        wait_until(survivors_own_everything, 60, "the survivors to take the killed member's partitions",
                   lambda: f"assignments {[m.assigned for m in members]}")
        assert orphaned <= {p for m in survivors for p in m.assigned}

        produce(server.bootstrap, topic, 600, 600)
        expected = {f"v{i}" for i in range(1200)}

        def everything_consumed():
            seen = {r[2] for m in members for r in m.records}
            return expected <= seen
        wait_until(everything_consumed, 60, "every record consumed by the group")
        # Nothing lost; the survivors resumed the orphaned partitions from committed offsets, so
        # records re-read are only those the victim consumed but had not yet committed.
        after_kill = [r for m in survivors for r in m.records if r[0] in orphaned and int(r[2][1:]) >= 600]
        assert len(after_kill) == 200
    finally:
        for m in members:
            if m.process.poll() is None:
                m.kill()
