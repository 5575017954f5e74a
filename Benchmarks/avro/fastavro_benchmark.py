#!/usr/bin/env python3
"""Times fastavro's schemaless_reader and schemaless_writer on the seed's OrderCreated v2,
the same 1,000 records Benchmarks/avro/AvroBenchmarks.swift uses, decoded into and encoded
from dicts (amount a decimal.Decimal through fastavro's logical types).

Usage: fastavro_benchmark.py [--seconds S] [--runs N]
Prints one JSON line: decode and encode records/s, each the median of N runs of S seconds.
"""
import argparse
import decimal
import io
import json
import statistics
import time

import fastavro

SCHEMA = {
    "type": "record",
    "name": "OrderCreated",
    "fields": [
        {"name": "order_id", "type": "string"},
        {"name": "customer_id", "type": "string"},
        {"name": "timestamp", "type": "string"},
        {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}, "default": "\u0000"},
    ],
}


def order(index):
    return {
        "order_id": f"o-{index:06d}",
        "customer_id": f"c-{index % 1000:04d}",
        "timestamp": f"2026-12-02T05:{index // 60 % 60:02d}:{index % 60:02d}Z",
        "amount": decimal.Decimal(index * 7919 % 10_000_000).scaleb(-2),
    }


def rate(body, count, seconds):
    """Records per second of `body` (which handles `count` records) over about `seconds`."""
    done = 0
    start = time.perf_counter()
    while True:
        body()
        done += count
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    schema = fastavro.parse_schema(SCHEMA)
    orders = [order(index) for index in range(1000)]
    encoded = []
    for record in orders:
        out = io.BytesIO()
        fastavro.schemaless_writer(out, schema, record)
        encoded.append(out.getvalue())

    def decode():
        for data in encoded:
            fastavro.schemaless_reader(io.BytesIO(data), schema, None)

    def encode():
        for record in orders:
            out = io.BytesIO()
            fastavro.schemaless_writer(out, schema, record)

    decodes = [rate(decode, len(encoded), arguments.seconds) for _ in range(arguments.runs)]
    encodes = [rate(encode, len(orders), arguments.seconds) for _ in range(arguments.runs)]
    print(json.dumps({
        "fastavro": fastavro.__version__,
        "decode_records_per_second": statistics.median(decodes),
        "encode_records_per_second": statistics.median(encodes),
        "bytes_per_record": sum(map(len, encoded)) / len(encoded),
        "first_record_hex": encoded[1].hex(),
    }))


if __name__ == "__main__":
    main()
