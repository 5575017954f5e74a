#!/usr/bin/env bash
# Re-captures the golden vectors: for each client, a fresh noida-db (PyPI; a Kafka-compatible
# broker) on 127.0.0.2, the recording proxy on 127.0.0.1 in front of it, and the client's
# scenario (clients.py; kcat -L/-P/-C here). Frames land in ../Vectors/<client>/.
#   pip install kafka-python lz4 zstandard confluent-kafka aiokafka noida-db && apt-get install -y kcat
#   Tests/KafkaProtocolTests/Capture/capture.sh [client...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
port=19092
clients=("$@")
[ ${#clients[@]} -gt 0 ] || clients=(kafka-python confluent-kafka aiokafka kcat)
# The binary itself, not the PyPI wrapper script, so that `kill` reaches the broker.
noida="$(python3 -c 'from importlib.resources import files; print(files("noida_db").joinpath("noida-db"))')"
chmod +x "$noida"
for client in "${clients[@]}"; do
    out="$here/../Vectors/$client"
    data="$(mktemp -d)"
    rm -rf "$out" && mkdir -p "$out"
    "$noida" start --only kafka --host 127.0.0.2 --kafka-port "$port" --data-dir "$data" >"$data/noida.log" 2>&1 &
    broker=$!
    python3 "$here/record_proxy.py" "$port" "$out" &
    proxy=$!
    sleep 2
    kill -0 "$broker"  # the broker must be up (its port free before)
    if [ "$client" = kcat ]; then
        kcat -b 127.0.0.1:$port -L -c golden-kcat >/dev/null || true
        printf 'one\ntwo\nthree\n' | kcat -b 127.0.0.1:$port -P -t golden-kcat -z lz4 -X client.id=golden-kcat
        kcat -b 127.0.0.1:$port -C -t golden-kcat -o beginning -e -X client.id=golden-kcat
        kcat -b 127.0.0.1:$port -L -X client.id=golden-kcat >/dev/null
    else
        timeout 120 python3 "$here/clients.py" "$client" "127.0.0.1:$port"
    fi
    sleep 1
    kill "$proxy" "$broker" || true
    wait "$proxy" "$broker" 2>/dev/null || true
    rm -rf "$data"
    # Long-poll fetches repeat one shape hundreds of times; the first few are enough.
    ls "$out" | grep -- '-Fetch-' | grep -- '-request.bin' | sort | tail -n +9 | while read -r name; do
        rm -f "$out/$name" "$out/${name%-request.bin}-response.bin"
    done
    echo "$client: $(ls "$out" | grep -c request) requests"
done
