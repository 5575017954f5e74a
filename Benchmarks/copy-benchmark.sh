#!/usr/bin/env bash
# Copy throughput, exactly-once vs at-least-once, at several commit intervals, on the release
# build. Usage: bash Benchmarks/copy-benchmark.sh [RECORDS] [PARTITIONS]
# Prints one line per run: guarantee, commit interval, records/s, commit latency p50/p99.
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-1000000}
partitions=${2:-8}
swift build -c release --product pipeline >/dev/null
pipeline=$(swift build -c release --show-bin-path)/pipeline
work=$(mktemp -d /tmp/sluice-copy-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
data="$work/data"

# ~120-byte OrderCreated events, keyed by customer.
python3 - "$records" > "$work/orders.jsonl" <<'PY'
import random, sys
random.seed(42)
for i in range(int(sys.argv[1])):
    cents = random.randrange(1, 200000)
    print('{"event_type":"OrderCreated","order_id":"ORD-%d","customer_id":"CUST-%d","amount":%d.%02d,"timestamp":"2025-06-11T12:%02d:00Z"}'
          % (i, random.randrange(10000), cents // 100, cents % 100, i % 60))
PY
"$pipeline" topics create orders --partitions "$partitions" --compression lz4 --data-dir "$data" >/dev/null
"$pipeline" produce orders --key-field customer_id --file "$work/orders.jsonl" --data-dir "$data" >/dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $records records of ~120 B over $partitions partitions (lz4)"
for guarantee in exactly-once at-least-once; do
  for interval in 10ms 100ms 1000ms; do
    target="out-${guarantee}-${interval}"
    output=$("$pipeline" copy orders "$target" --group "g-$target" --commit-interval "$interval" \
      --guarantee "$guarantee" --until-idle --data-dir "$data" 2>/dev/null)
    rate=$(echo "$output" | sed -n 's/.*s, \([0-9]*\) records\/s).*/\1/p')
    latency=$(echo "$output" | sed -n 's/commit latency: //p')
    printf '%-14s %-7s %10s records/s   commit latency %s\n' "$guarantee" "$interval" "$rate" "${latency:-n/a}"
    "$pipeline" topics delete "$target" --data-dir "$data" >/dev/null
  done
done
