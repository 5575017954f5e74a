#!/usr/bin/env python3
"""Cross-checks Sluice's Avro codec against the reference libraries.

Usage: crosscheck.py DIR

Reads DIR/corpus.json (written by AvroReferenceCrossCheckTests) and writes DIR/report.json:
for every schema, Sluice's Parsing Canonical Form and CRC-64-AVRO fingerprint against
fastavro's; for every value, fastavro's binary encoding of it against Sluice's bytes, and
fastavro's decoding of Sluice's bytes against Sluice's value; for every reader schema,
fastavro's writer->reader resolution of those bytes against Sluice's; for every schema pair,
Sluice's compatibility verdict against Apache avro's ReaderWriterCompatibilityChecker.

Values travel as Avro's JSON encoding; they are handed to fastavro with every union value in
its tuple notation, so it writes the branch Sluice chose, and compared as Python values. Logical types are stripped for the value checks (Sluice's
generic values are the physical ones; fastavro would convert them). Exit status 3 means a
reference library is missing; 0 means the report was written (mismatches are in it).
"""
import decimal
import io
import json
import struct
import sys

try:
    import fastavro
    from fastavro import parse_schema, schemaless_reader, schemaless_writer
    from fastavro.schema import fingerprint, to_parsing_canonical_form
    import avro.schema
    from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType
except ImportError as error:  # pragma: no cover - reported to the Swift test
    print(f"missing reference library: {error} (python3 -m pip install fastavro avro)", file=sys.stderr)
    sys.exit(3)


def strip_logical(schema):
    """The schema with every logicalType (and its decimal attributes) removed."""
    if isinstance(schema, list):
        return [strip_logical(branch) for branch in schema]
    if isinstance(schema, dict):
        out = {}
        for key, value in schema.items():
            if key in ("logicalType", "precision", "scale"):
                continue
            if key in ("type", "items", "values"):
                out[key] = strip_logical(value)
            elif key == "fields":
                out[key] = [dict(field, type=strip_logical(field["type"])) for field in value]
            else:
                out[key] = value
        return out
    return schema


PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


def branch_name(branch):
    """The name a union branch goes by in Avro's JSON encoding (and fastavro's tuple notation)."""
    if isinstance(branch, str):
        return branch
    if branch["type"] in ("record", "enum", "fixed", "error"):
        return branch["name"]
    return branch["type"]


def resolve(schema, named):
    while isinstance(schema, str) and schema not in PRIMITIVES:
        schema = named[schema]
    if isinstance(schema, dict) and schema["type"] in PRIMITIVES:
        return schema["type"]
    return schema


def from_avro_json(value, schema, named, tuples):
    """Avro's JSON encoding of a value (parsed) as the Python value fastavro writes or reads;
    with `tuples`, each union value in fastavro's tuple notation (branch name, value), so
    fastavro writes the branch Sluice chose instead of guessing one from the value."""
    schema = resolve(schema, named)
    if isinstance(schema, list):
        if value is None:
            return None
        [(name, inner)] = value.items()
        branch = next(branch for branch in schema if branch_name(branch) == name)
        converted = from_avro_json(inner, branch, named, tuples)
        return (name, converted) if tuples else converted
    if isinstance(schema, str):
        if schema == "bytes":
            return value.encode("iso-8859-1")
        if schema in ("float", "double"):
            return float(value)
        return value
    kind = schema["type"]
    if kind == "record":
        return {field["name"]: from_avro_json(value[field["name"]], field["type"], named, tuples) for field in schema["fields"]}
    if kind == "fixed":
        return value.encode("iso-8859-1")
    if kind == "array":
        return [from_avro_json(item, schema["items"], named, tuples) for item in value]
    if kind == "map":
        return {key: from_avro_json(item, schema["values"], named, tuples) for key, item in value.items()}
    return value  # enum symbol


def normalize(value, schema, named):
    """fastavro's decoded value made comparable: a float promoted from int or long rounded to
    32 bits, as the Avro specification's float is (fastavro keeps a 64-bit double), and a
    bytes default given as the JSON string it is written as (fastavro returns it unconverted)
    encoded as ISO-8859-1."""
    schema = resolve(schema, named)
    if isinstance(schema, list):
        if value is None:
            return None
        kinds = {resolve(branch, named) if not isinstance(resolve(branch, named), dict) else None for branch in schema}
        if isinstance(value, float) and "float" in kinds and "double" not in kinds:
            return struct.unpack("f", struct.pack("f", value))[0]
        if isinstance(value, str) and "bytes" in kinds and "string" not in kinds:
            return value.encode("iso-8859-1")
        for branch in schema:
            resolved = resolve(branch, named)
            if isinstance(resolved, dict) and isinstance(value, dict) and resolved["type"] == "record" and set(value) == {f["name"] for f in resolved["fields"]}:
                return normalize(value, resolved, named)
        return value
    if isinstance(schema, str):
        if schema == "float" and isinstance(value, (int, float)):
            return struct.unpack("f", struct.pack("f", float(value)))[0]
        if schema == "bytes" and isinstance(value, str):
            return value.encode("iso-8859-1")
        return value
    kind = schema["type"]
    if kind == "record":
        return {field["name"]: normalize(value[field["name"]], field["type"], named) for field in schema["fields"]}
    if kind == "fixed" and isinstance(value, str):
        return value.encode("iso-8859-1")
    if kind == "array":
        return [normalize(item, schema["items"], named) for item in value]
    if kind == "map":
        return {key: normalize(item, schema["values"], named) for key, item in value.items()}
    return value


def parsed(document):
    named = {}
    return parse_schema(strip_logical(document), named_schemas=named), named


def main(directory):
    with open(f"{directory}/corpus.json", encoding="utf-8") as file:
        corpus = json.load(file)
    mismatches = []
    counts = {"schemas": 0, "canonical": 0, "encode": 0, "decode": 0, "resolve": 0, "compat": 0, "compatTrue": 0, "compatFalse": 0}

    def mismatch(case, what, ours, theirs):
        mismatches.append(f"{case}: {what}: sluice {ours!r} != reference {theirs!r}")

    for case in corpus["cases"]:
        name = case["id"]
        try:
            document = json.loads(case["schema"])
            canonical = to_parsing_canonical_form(document)
            counts["schemas"] += 1
            if canonical != case["canonical"]:
                mismatch(name, "canonical form", case["canonical"], canonical)
            print_fp = fingerprint(canonical, "CRC-64-AVRO")
            if print_fp != case["fingerprint"]:
                mismatch(name, "fingerprint", case["fingerprint"], print_fp)
            counts["canonical"] += 1
            writer, writer_named = parsed(document)
            for index, value in enumerate(case["values"]):
                ours = bytes.fromhex(value["hex"])
                ours_json = json.loads(value["json"])
                out = io.BytesIO()
                schemaless_writer(out, writer, from_avro_json(ours_json, writer, writer_named, tuples=True))
                if out.getvalue() != ours:
                    mismatch(f"{name} value {index}", "bytes", value["hex"], out.getvalue().hex())
                counts["encode"] += 1
                decoded = schemaless_reader(io.BytesIO(ours), writer, None)
                expected = from_avro_json(ours_json, writer, writer_named, tuples=False)
                if normalize(decoded, writer, writer_named) != expected:
                    mismatch(f"{name} value {index}", "decoded", expected, decoded)
                counts["decode"] += 1
            for reader_case in case.get("readers", []):
                reader, reader_named = parsed(json.loads(reader_case["schema"]))
                for index, (value, resolved_json) in enumerate(zip(case["values"], reader_case["values"])):
                    label = f"{name} reader {reader_case['mutation']} value {index}"
                    expected = from_avro_json(json.loads(resolved_json), reader, reader_named, tuples=False)
                    try:
                        resolved = schemaless_reader(io.BytesIO(bytes.fromhex(value["hex"])), writer, reader)
                    except Exception as error:  # noqa: BLE001 - any failure is a disagreement
                        mismatch(label, "resolution", expected, f"fastavro raised {error!r}")
                        continue
                    if normalize(resolved, reader, reader_named) != expected:
                        mismatch(label, "resolved", expected, resolved)
                    counts["resolve"] += 1
        except Exception as error:  # noqa: BLE001
            mismatches.append(f"{name}: the reference libraries failed on the case: {error!r}")

    for index, pair in enumerate(corpus["compat"]):
        try:
            reader = avro.schema.parse(pair["reader"])
            writer = avro.schema.parse(pair["writer"])
            result = ReaderWriterCompatibilityChecker().get_compatibility(reader, writer)
            theirs = result.compatibility is SchemaCompatibilityType.compatible
            counts["compat"] += 1
            counts["compatTrue" if theirs else "compatFalse"] += 1
            if theirs != pair["compatible"]:
                kinds = sorted(kind.name.upper() for kind in result.incompatibilities)
                mismatch(f"compat pair {index} ({pair['mutation']})", "verdict", (pair["compatible"], pair["kinds"]), (theirs, kinds))
        except Exception as error:  # noqa: BLE001
            mismatches.append(f"compat pair {index}: avro failed on the pair: {error!r}")

    # The seed's v2 with fastavro's logical types on: Sluice's struct encoder's bytes decode to
    # the same decimal.Decimal, and fastavro's own bytes for each record go back to the Swift
    # test, which decodes them into the struct and compares them with its own.
    decimal_hex = []
    for entry in corpus.get("decimals", []):
        schema = parse_schema(json.loads(entry["schema"]))
        for record in entry["records"]:
            fields = json.loads(record["json"])
            expected = dict(fields, amount=decimal.Decimal(fields["amount"]))
            decoded = schemaless_reader(io.BytesIO(bytes.fromhex(record["hex"])), schema, None)
            if decoded != expected or decoded["amount"].as_tuple().exponent != expected["amount"].as_tuple().exponent:
                mismatch("decimal record", "decoded", expected, decoded)
            out = io.BytesIO()
            schemaless_writer(out, schema, expected)
            decimal_hex.append(out.getvalue().hex())
            counts["decimal"] = counts.get("decimal", 0) + 1

    with open(f"{directory}/report.json", "w", encoding="utf-8") as file:
        json.dump({"mismatches": mismatches, "counts": counts, "fastavro": fastavro.__version__, "decimalHex": decimal_hex}, file)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
