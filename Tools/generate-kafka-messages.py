#!/usr/bin/env python3
"""Generates Sources/KafkaProtocol/Generated/MessageSchemas.swift from Apache Kafka's JSON
message definitions (clients/src/main/resources/common/message/*.json).

Usage:
    Tools/generate-kafka-messages.py KAFKA_GIT_DIR [OUTPUT]

KAFKA_GIT_DIR is a clone (or bare git directory) of apache/kafka; the definitions are read
from its HEAD with `git show`, and the commit is named in the output's header. Kafka's JSON
files are never copied into this repository: only the table derived from them is.

The table holds, per message, the api key, the valid and flexible versions, and every
field: its name, type, versions, nullable versions, tagged versions and tag, default, and
ignorable flag, with nested and common structs resolved. The codec in KafkaProtocol is
driven by that table; nothing is hand-written per message.
"""
import json
import re
import subprocess
import sys

# The APIs Sluice serves (issue 11), in api-key order in the output.
APIS = [
    "ApiVersions", "Metadata", "Produce", "Fetch", "ListOffsets", "FindCoordinator",
    "JoinGroup", "SyncGroup", "Heartbeat", "LeaveGroup", "OffsetCommit", "OffsetFetch",
    "DescribeGroups", "ListGroups", "DeleteGroups", "InitProducerId", "AddPartitionsToTxn",
    "AddOffsetsToTxn", "EndTxn", "TxnOffsetCommit", "CreateTopics", "DeleteTopics",
    "CreatePartitions", "DescribeConfigs", "DescribeCluster",
]
MESSAGE_DIR = "clients/src/main/resources/common/message"
SCALARS = {
    "int8": ".int8", "int16": ".int16", "int32": ".int32", "int64": ".int64",
    "uint16": ".uint16", "uint32": ".uint32", "float64": ".float64", "bool": ".bool",
    "uuid": ".uuid", "string": ".string", "bytes": ".bytes", "records": ".records",
}
KNOWN_FIELD_KEYS = {
    "name", "type", "versions", "about", "ignorable", "default", "entityType", "fields",
    "nullableVersions", "mapKey", "tag", "taggedVersions", "flexibleVersions", "zeroCopy",
}


def git(kafka, *args):
    return subprocess.run(["git", "-C", kafka, *args], check=True, capture_output=True, text=True).stdout


def load(kafka, name):
    text = git(kafka, "show", f"HEAD:{MESSAGE_DIR}/{name}.json")
    # Kafka's definitions carry whole-line `//` comments (Jackson's ALLOW_COMMENTS).
    lines = [line for line in text.split("\n") if not line.strip().startswith("//")]
    return json.loads("\n".join(lines))


def lower_camel(name):
    return name[0].lower() + name[1:]


def swift_string(value):
    return json.dumps(value, ensure_ascii=False)


def parse_versions(text):
    """Kafka's version syntax: "none", "N", "N+", "N-M". Returns (low, high or None)."""
    text = text.strip()
    if text == "none":
        return None
    if text.endswith("+"):
        return (int(text[:-1]), None)
    if "-" in text:
        low, high = text.split("-")
        return (int(low), int(high))
    return (int(text), int(text))


def check_versions(text, where):
    parse_versions(text)  # raises on a form this generator does not know
    return text


class Generator:
    def __init__(self, kafka):
        self.kafka = kafka
        self.out = []

    def default_literal(self, field, base, nullable_anywhere):
        raw = field.get("default")
        if raw is not None:
            raw = str(raw)
        if base in ("int8", "int16", "int32", "int64", "uint16", "uint32"):
            value = int(raw, 0) if raw not in (None, "") else 0
            return f"{SCALARS[base]}({value})"
        if base == "float64":
            return f".float64({float(raw) if raw else 0.0})"
        if base == "bool":
            if raw is None:
                return ".bool(false)"
            if raw.lower() not in ("true", "false"):
                raise ValueError(f"bool default {raw!r} in {field['name']}")
            return f".bool({raw.lower()})"
        if base == "uuid":
            if raw not in (None, "", "AAAAAAAAAAAAAAAAAAAAAA"):
                raise ValueError(f"uuid default {raw!r} in {field['name']}")
            return ".uuid(.zero)"
        if base == "string":
            if raw == "null":
                if not nullable_anywhere:
                    raise ValueError(f"null default on non-nullable {field['name']}")
                return ".string(nil)"
            return f".string({swift_string(raw or '')})"
        if base == "bytes":
            if raw == "null":
                return ".bytes(nil)"
            if raw not in (None, ""):
                raise ValueError(f"bytes default {raw!r} in {field['name']}")
            return ".bytes([])"
        if base == "records":
            if raw not in (None, "null"):
                raise ValueError(f"records default {raw!r} in {field['name']}")
            return ".records(nil)"
        raise ValueError(base)

    def field_type(self, field, structs, message):
        """Returns (swift type expression, base name, is struct or array of struct)."""
        kafka_type = field["type"]
        if kafka_type.startswith("[]"):
            element = kafka_type[2:]
            if element in SCALARS:
                return f".array(of: {SCALARS[element]})", "array", False
            return f".array(of: .structure({self.struct_name(element, field, structs, message)}))", "array", True
        if kafka_type in SCALARS:
            return SCALARS[kafka_type], kafka_type, False
        return f".structure({self.struct_name(kafka_type, field, structs, message)})", "struct", True

    def struct_name(self, type_name, field, structs, message):
        if "fields" in field:
            self.emit_struct(type_name, field["fields"], structs, message)
        elif type_name not in structs:
            raise ValueError(f"{message}: struct {type_name} used before its definition")
        return structs[type_name]

    def emit_struct(self, type_name, fields, structs, message):
        """Emits `let <var> = KafkaStructSchema(...)` for a struct and its nested structs first."""
        lines = []
        for field in fields:
            unknown = set(field) - KNOWN_FIELD_KEYS
            if unknown:
                raise ValueError(f"{message}.{field['name']}: unknown keys {sorted(unknown)}")
            type_expression, base, _ = self.field_type(field, structs, message)
            arguments = [swift_string(lower_camel(field["name"])), type_expression]
            arguments.append(f"versions: {swift_string(check_versions(field['versions'], field['name']))}")
            nullable = field.get("nullableVersions")
            if nullable:
                arguments.append(f"nullableVersions: {swift_string(check_versions(nullable, field['name']))}")
            if "tag" in field:
                arguments.append(f"tag: {int(field['tag'])}")
                arguments.append(f"taggedVersions: {swift_string(check_versions(field['taggedVersions'], field['name']))}")
            elif "taggedVersions" in field:
                raise ValueError(f"{message}.{field['name']}: taggedVersions without a tag")
            if field.get("flexibleVersions") is not None:
                arguments.append(f"flexibleVersions: {swift_string(check_versions(field['flexibleVersions'], field['name']))}")
            if base == "array":
                raw = field.get("default")
                if raw == "null":
                    arguments.append("default: .array(nil)")
                elif raw not in (None, ""):
                    raise ValueError(f"{message}.{field['name']}: array default {raw!r}")
            elif base == "struct":
                if "default" in field:
                    raise ValueError(f"{message}.{field['name']}: struct default")
            else:
                literal = self.default_literal(field, base, bool(nullable) and nullable != "none")
                arguments.append(f"default: {literal}")
            if field.get("ignorable"):
                arguments.append("ignorable: true")
            lines.append(f"        KafkaFieldSchema({', '.join(arguments)}),")
        variable = lower_camel(type_name) + "Struct"
        if type_name in structs:
            variable = lower_camel(type_name) + f"Struct{len(structs)}"
        structs[type_name] = variable
        self.out.append(f"    let {variable} = KafkaStructSchema(name: {swift_string(type_name)}, fields: [")
        self.out.extend(lines)
        self.out.append("    ])")
        return variable

    def emit_message(self, name):
        spec = load(self.kafka, name)
        for key in spec:
            if key not in {"apiKey", "type", "name", "validVersions", "flexibleVersions", "fields",
                           "listeners", "deprecatedVersions", "latestVersionUnstable", "commonStructs"}:
                raise ValueError(f"{name}: unknown top-level key {key}")
        structs = {}
        self.out.append(f"private func make{name}() -> KafkaMessageSchema {{")
        # Common structs first, so fields that name them without `fields` resolve.
        pending = {common["name"]: common for common in spec.get("commonStructs", [])}
        while pending:
            progressed = False
            for common_name, common in list(pending.items()):
                needed = [f["type"].lstrip("[]") for f in common["fields"] if "fields" not in f]
                if all(n in SCALARS or n in structs or n not in pending for n in needed):
                    self.emit_struct(common_name, common["fields"], structs, name)
                    del pending[common_name]
                    progressed = True
            if not progressed:
                raise ValueError(f"{name}: cyclic common structs")
        body = self.emit_struct(name, spec["fields"], structs, name)
        kind = {"request": ".request", "response": ".response", "header": ".header"}[spec["type"]]
        api_key = spec.get("apiKey")
        arguments = [
            f"name: {swift_string(name)}",
            f"apiKey: {api_key if api_key is not None else 'nil'}",
            f"kind: {kind}",
            f"validVersions: {swift_string(spec['validVersions'])}",
            f"flexibleVersions: {swift_string(spec['flexibleVersions'])}",
            f"latestVersionUnstable: {'true' if spec.get('latestVersionUnstable') else 'false'}",
            f"body: {body}",
        ]
        self.out.append(f"    return KafkaMessageSchema({', '.join(arguments)})")
        self.out.append("}")
        self.out.append("")
        return spec


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    kafka = sys.argv[1]
    output = sys.argv[2] if len(sys.argv) == 3 else "Sources/KafkaProtocol/Generated/MessageSchemas.swift"
    commit = git(kafka, "rev-parse", "HEAD").strip()
    generator = Generator(kafka)
    apis = []
    for api in APIS:
        request = generator.emit_message(api + "Request")
        response = generator.emit_message(api + "Response")
        if request["apiKey"] != response["apiKey"]:
            raise ValueError(f"{api}: request and response api keys differ")
        apis.append((request["apiKey"], api))
    generator.emit_message("RequestHeader")
    generator.emit_message("ResponseHeader")
    apis.sort()

    header = [
        f"// Generated by Tools/generate-kafka-messages.py from Apache Kafka commit {commit}",
        f"// ({MESSAGE_DIR}/*.json). Generated, do not edit: change the generator and rerun it.",
        "",
        "/// The Kafka APIs this codec knows, by api key (Kafka's `ApiKeys`).",
        "///",
        "/// - Invariant: the raw values are the wire api keys; never renumber.",
        "package enum KafkaAPI: Int16, Sendable, CaseIterable, CustomStringConvertible {",
    ]
    for key, api in apis:
        header.append(f"    case {lower_camel(api)} = {key}")
    header += [
        "",
        "    /// Kafka's name for the API (`ApiVersions`).",
        "    package var description: String {",
        "        switch self {",
    ]
    for key, api in apis:
        header.append(f"        case .{lower_camel(api)}: {swift_string(api)}")
    header += [
        "        }",
        "    }",
        "",
        "    /// The schema of this API's request.",
        "    package var requestSchema: KafkaMessageSchema {",
        "        switch self {",
    ]
    for key, api in apis:
        header.append(f"        case .{lower_camel(api)}: KafkaMessageSchema.{lower_camel(api)}Request")
    header += [
        "        }",
        "    }",
        "",
        "    /// The schema of this API's response.",
        "    package var responseSchema: KafkaMessageSchema {",
        "        switch self {",
    ]
    for key, api in apis:
        header.append(f"        case .{lower_camel(api)}: KafkaMessageSchema.{lower_camel(api)}Response")
    header += [
        "        }",
        "    }",
        "}",
        "",
        "extension KafkaMessageSchema {",
    ]
    for name in [a + suffix for a in APIS for suffix in ("Request", "Response")] + ["RequestHeader", "ResponseHeader"]:
        header.append(f"    /// Kafka's `{name}`.")
        header.append(f"    package static let {lower_camel(name)} = make{name}()")
    header += ["}", ""]
    with open(output, "w") as handle:
        handle.write("\n".join(header + generator.out))


if __name__ == "__main__":
    main()
