#!/usr/bin/env bash
# The cost of metrics and the audit trail (issue 13): `pipeline bench order-totals` with each of
# audit on/off × metrics on/off, interleaved, RUNS times each (default 3), at full speed
# (throughput) and at a fixed rate (p99 latency from each record's append). Prints the median of
# each configuration and its change against audit off, metrics off.
#
# Usage: bash Benchmarks/observability-cost.sh [BINARY] [RUNS] [RATE]
#   BINARY defaults to .build/release/pipeline (swift build -c release first).
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:-.build/release/pipeline}"
runs="${2:-3}"
rate="${3:-100000}"
out="$(mktemp -d /tmp/sluice-observability-cost.XXXXXX)"
configs=("off off" "on off" "off on" "on on")
for run in $(seq 1 "$runs"); do
  for config in "${configs[@]}"; do
    set -- $config
    "$binary" bench order-totals --audit "$1" --metrics "$2" --output "$out/full-$run-$1-$2.json" > /dev/null 2>&1
    "$binary" bench order-totals --audit "$1" --metrics "$2" --rate "$rate" --duration 10s \
      --output "$out/rate-$run-$1-$2.json" > /dev/null 2>&1
    echo "run $run: audit $1, metrics $2 done" >&2
  done
done
python3 - "$out" "$runs" <<'PY'
import json, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
def load(kind, run, audit, metrics):
    with open(f"{out}/{kind}-{run}-{audit}-{metrics}.json") as f:
        return json.load(f)
rows = []
for audit, metrics in [("off", "off"), ("on", "off"), ("off", "on"), ("on", "on")]:
    rates = [load("full", r, audit, metrics)["throughput"]["records_in_per_s"] for r in range(1, runs + 1)]
    p99s = [load("rate", r, audit, metrics)["latency_ms"]["p99"] for r in range(1, runs + 1)]
    rows.append((audit, metrics, statistics.median(rates), rates, statistics.median(p99s), p99s))
base_rate, base_p99 = rows[0][2], rows[0][4]
print("| audit | metrics | records/s, full speed (median; runs) | change | p99 ms at fixed rate (median; runs) | change |")
print("|---|---|---|---|---|---|")
for audit, metrics, rate, rates, p99, p99s in rows:
    print(f"| {audit} | {metrics} | {rate:,.0f} ({', '.join(f'{x:,.0f}' for x in rates)}) | {100 * (rate / base_rate - 1):+.1f}% "
          f"| {p99:.1f} ({', '.join(f'{x:.1f}' for x in p99s)}) | {p99 - base_p99:+.1f} ms |")
PY
echo "reports in $out" >&2
