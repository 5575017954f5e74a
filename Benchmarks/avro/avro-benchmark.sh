#!/usr/bin/env bash
# Avro codec benchmark: Sluice's AvroBinaryDecoder/AvroBinaryEncoder on the seed's OrderCreated
# v2 (release build, ordo-one/benchmark, one core) and fastavro's schemaless_reader/writer on the
# same 1,000 records, in the same run. Prints records/s per core for each; the Swift figures are
# the p50 of "Throughput (K)" (thousands of records/s), fastavro's the median of 3 runs.
#
# Usage: bash Benchmarks/avro/avro-benchmark.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 -c "import fastavro" 2>/dev/null || { echo "fastavro is missing (python3 -m pip install fastavro)" >&2; exit 1; }
swift package --disable-sandbox benchmark --target AvroBenchmarks --metric throughput --no-progress --format markdown \
  | tee /tmp/sluice-avro-benchmark.md
echo
echo "fastavro $(python3 -c 'import fastavro; print(fastavro.__version__)'), same records:"
python3 Benchmarks/avro/fastavro_benchmark.py --seconds 3 --runs 3
