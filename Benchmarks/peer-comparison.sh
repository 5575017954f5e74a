#!/usr/bin/env bash
# Interleaves, for RUNS rounds on this machine: `pipeline bench order-totals`,
# `pipeline bench order-totals-codable` (exactly-once, 100 ms commits, 1,000,000 records,
# 8 partitions, 10,000 keys) and Bytewax 0.21.1 on the standard 1M-order workload of
# ../shared/peers (wall time of `python3 -m bytewax.run`, output checked by its verifier).
# Prints each run and the medians. Usage: bash Benchmarks/peer-comparison.sh [BINARY] [RUNS] [PEERS_DIR]
set -euo pipefail
binary=${1:-.build/release/pipeline}
runs=${2:-3}
peers=${3:-../shared/peers}
binary=$(realpath "$binary")
python3 -c "import bytewax" 2>/dev/null || pip install -q bytewax==0.21.1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$peers"/*.py "$work"/
(cd "$work" && mkdir -p data run && python3 gen_orders.py >/dev/null)
declare -a ot codable bw
for run in $(seq 1 "$runs"); do
  "$binary" bench order-totals --output "$work/ot.json" >/dev/null 2>&1
  ot+=("$(python3 -c "import json,sys;print(round(json.load(open(sys.argv[1]))['throughput']['records_in_per_s']))" "$work/ot.json")")
  "$binary" bench order-totals-codable --output "$work/codable.json" >/dev/null 2>&1
  codable+=("$(python3 -c "import json,sys;print(round(json.load(open(sys.argv[1]))['throughput']['records_in_per_s']))" "$work/codable.json")")
  (cd "$work" && rm -f run/bytewax_out.jsonl && touch run/bytewax_out.jsonl)
  start=$(date +%s.%N)
  (cd "$work" && python3 -m bytewax.run bytewax_count:flow >/dev/null 2>&1)
  end=$(date +%s.%N)
  (cd "$work" && python3 bytewax_count.py verify run/bytewax_out.jsonl >/dev/null)
  bw+=("$(python3 -c "print(round(1000000/($end-$start)))")")
  echo "run $run: order-totals ${ot[-1]} records/s, order-totals-codable ${codable[-1]}, bytewax ${bw[-1]}"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "medians of $runs: order-totals $(median "${ot[@]}"), order-totals-codable $(median "${codable[@]}"), bytewax $(median "${bw[@]}") records/s"
