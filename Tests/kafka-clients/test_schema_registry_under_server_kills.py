"""Schema registrations while `pipeline serve --registry-listen` is SIGKILLed again and again: every
registration that was answered is there after the last restart with the same id and version, and
no id ever names two schemas (nor one schema two ids). SLUICE_REGISTRY_KILLS scales it."""
import json
import os
import random
import threading
import time
import urllib.error
import urllib.request

import pytest

from conftest import TARGET, free_port, wait_for_port

pytestmark = pytest.mark.skipif(TARGET != "sluice", reason="the schema registry is Sluice's")

KILLS = int(os.environ.get("SLUICE_REGISTRY_KILLS", "8"))
CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


def schema(n):
    """Schema n: record Event with a field extra<n> that has a default (each BACKWARD compatible with all)."""
    return json.dumps({"type": "record", "name": "Event", "fields": [
        {"name": "id", "type": "string"}, {"name": f"extra{n}", "type": "string", "default": ""}]})


def call(url, method="GET", body=None, timeout=10):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": CONTENT_TYPE})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def test_registrations_survive_sigkills_with_one_id_per_schema(server_factory):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = server_factory(extra_args=["--registry-listen", f"127.0.0.1:{port}"])
    wait_for_port(port)
    rng = random.Random(12)
    acknowledged = []  # (subject, schema number, id)
    killing_done = threading.Event()

    def killer():
        try:
            for _ in range(KILLS):
                time.sleep(rng.uniform(0.3, 1.2))
                server.restart()
        finally:
            killing_done.set()

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    n = 1
    refused = 0
    while not killing_done.is_set() or n <= 40:
        # Every fourth registration puts the previous schema under another subject (its id is shared).
        number = n - 1 if n % 4 == 0 else n
        subject = f"subject-{n % 3}"
        try:
            answer = call(f"{url}/subjects/{subject}/versions", "POST", {"schema": schema(number)})
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            refused += 1
            time.sleep(0.05)
            continue  # unanswered: it may or may not be registered; retried
        acknowledged.append((subject, number, answer["id"]))
        n += 1
    thread.join()
    assert server.kills == KILLS

    server.restart()
    wait_for_port(port)
    deadline = time.monotonic() + 30
    while True:
        try:
            subjects = call(f"{url}/subjects")
            break
        except (urllib.error.URLError, ConnectionError, OSError):
            assert time.monotonic() < deadline
            time.sleep(0.1)

    # Every answered registration is there, with its id.
    for subject, number, schema_id in acknowledged:
        found = call(f"{url}/subjects/{subject}", "POST", {"schema": schema(number)})
        assert found["id"] == schema_id, (subject, number, found)
        assert json.loads(call(f"{url}/schemas/ids/{schema_id}")["schema"]) == json.loads(schema(number))

    # No id names two schemas, no schema has two ids, over everything the registry holds.
    by_id, by_schema = {}, {}
    for subject in subjects:
        for version in call(f"{url}/subjects/{subject}/versions"):
            entry = call(f"{url}/subjects/{subject}/versions/{version}")
            assert by_id.setdefault(entry["id"], entry["schema"]) == entry["schema"], entry
            assert by_schema.setdefault(entry["schema"], entry["id"]) == entry["id"], entry
    answered = {number: schema_id for _, number, schema_id in acknowledged}
    assert len(set(answered.values())) == len(answered), "two schema numbers were answered one id"
    assert len(acknowledged) >= 40 and refused > 0, (len(acknowledged), refused)
