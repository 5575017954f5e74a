#!/usr/bin/env bash
# order-totals end to end, exactly-once, on the release build: produce ORDERS OrderCreated events
# over CUSTOMERS customers into PARTITIONS lz4 partitions, then time `pipeline run order-totals
# --until-idle`. Prints records/s and peak memory. Usage:
#   bash Benchmarks/order-totals-benchmark.sh [ORDERS] [CUSTOMERS] [PARTITIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
orders=${1:-1000000}
customers=${2:-10000}
partitions=${3:-8}
swift build -c release --product pipeline >/dev/null
pipeline=$(swift build -c release --show-bin-path)/pipeline
work=$(mktemp -d /tmp/sluice-order-totals-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
data="$work/data"
python3 - "$orders" "$customers" > "$work/orders.jsonl" <<'PY'
import random, sys
random.seed(42)
orders, customers = int(sys.argv[1]), int(sys.argv[2])
for i in range(orders):
    cents = random.randrange(1, 200000)
    print('{"event_type":"OrderCreated","order_id":"ORD-%d","customer_id":"CUST-%d","amount":%d.%02d,"timestamp":"2025-06-11T12:%02d:00Z"}'
          % (i, random.randrange(customers), cents // 100, cents % 100, i % 60))
PY
"$pipeline" topics create orders --partitions "$partitions" --compression lz4 --data-dir "$data" >/dev/null
"$pipeline" produce orders --key-field customer_id --file "$work/orders.jsonl" --data-dir "$data" >/dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $orders orders, $customers customers, $partitions lz4 partitions"
if [ -x /usr/bin/time ]; then
  /usr/bin/time -f "peak memory: %M KiB" "$pipeline" run order-totals --until-idle --data-dir "$data" 2>&1 | grep -v "^order-totals: [0-9]* records,"
else
  "$pipeline" run order-totals --until-idle --data-dir "$data"
fi
