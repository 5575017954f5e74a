import Foundation

/// How values of one type become bytes and back, at a pipeline's edges (sources and sinks).
///
/// Payloads stay bytes until an operator needs a typed value; a serde is where that happens.
/// A decode failure is a bad record, never a crash: the runtime routes it by its failure policy.
///
/// Thread-safety: the closures must be pure (they run on every worker's thread); that is what
/// makes a serde shareable. The exception is a bound serde (``bound(to:)``, or bound per worker
/// by the runtime): it keeps one worker's caches, encoder and decoder, and stays on that thread.
public struct Serde<Value>: @unchecked Sendable {
    private let encoder: (Value) throws -> [UInt8]
    private let decoder: ([UInt8]) throws -> Value
    /// For a serde with per-worker state (``avro(_:subject:)``, ``avroBinary(_:)``): the serde
    /// bound to a worker (and its schemas, when it has them), made once per worker; nil for
    /// serdes without such state.
    private let binder: (((any AvroSchemaSource)?) -> Serde<Value>)?
    /// Whether the serde cannot work without an ``AvroSchemaSource``.
    public let needsSchemas: Bool

    /// A custom serde.
    public init(encode: @escaping (Value) throws -> [UInt8], decode: @escaping ([UInt8]) throws -> Value) {
        self.encoder = encode
        self.decoder = decode
        self.binder = nil
        self.needsSchemas = false
    }

    /// A serde whose closures apply until it is bound, and `bind` to bind it to one worker (and
    /// its schemas, nil when it has none). `needsSchemas`: without schemas it cannot work.
    init(encode: @escaping (Value) throws -> [UInt8], decode: @escaping ([UInt8]) throws -> Value,
         needsSchemas: Bool, bind: @escaping ((any AvroSchemaSource)?) -> Serde<Value>) {
        self.encoder = encode
        self.decoder = decode
        self.binder = bind
        self.needsSchemas = needsSchemas
    }

    public func encode(_ value: Value) throws -> [UInt8] { try encoder(value) }
    public func decode(_ bytes: [UInt8]) throws -> Value { try decoder(bytes) }

    /// This serde reading and writing schemas through `schemas`, with caches of its own: use the
    /// result on one thread (the runtime binds one per worker). A serde without per-worker state
    /// is returned as it is.
    public func bound(to schemas: any AvroSchemaSource) -> Serde<Value> { binder?(schemas) ?? self }

    /// This serde bound to `context`'s worker and its schemas (the serde itself when it keeps no
    /// per-worker state): the result is used on the worker's thread only.
    func bound(for context: any ProcessingContext) -> Serde<Value> {
        guard let binder else { return self }
        return binder(context.avroSchemas)
    }
}

extension Serde where Value: Codable {
    /// JSON through `Codable`, the convenient default. Bytes that are not valid JSON
    /// (``JSONValidation``: invalid UTF-8 included) fail to decode with a `DecodingError`.
    ///
    /// Values are decoded by ``JSONBytesDecoder`` (straight from the bytes, to what
    /// `JSONDecoder` decodes) and encoded by ``JSONBytesEncoder`` (to the bytes `JSONEncoder`
    /// writes with sorted keys and slashes left unescaped). Bound to a worker, the serde keeps
    /// one decoder and one encoder for it.
    public static func json(_ type: Value.Type) -> Serde<Value> {
        return Serde(
            encode: { value in try JSONBytesEncoder().encode(value) },
            decode: { bytes in try JSONBytesDecoder().decode(Value.self, from: bytes) },
            needsSchemas: false,
            bind: { _ in
                let encoder = JSONBytesEncoder()
                let decoder = JSONBytesDecoder()
                return Serde(encode: { value in try encoder.encode(value) }, decode: { bytes in try decoder.decode(Value.self, from: bytes) })
            })
    }
}

extension Serde where Value == [UInt8] {
    /// Raw bytes, unchanged.
    public static var bytes: Serde<[UInt8]> { Serde(encode: { $0 }, decode: { $0 }) }
}

extension Serde where Value == String {
    /// UTF-8 text; bytes that are not UTF-8 fail to decode.
    public static var string: Serde<String> {
        Serde(encode: { Array($0.utf8) }, decode: { bytes in
            guard let text = String(validating: bytes, as: UTF8.self) else { throw SerdeError.notUTF8(byteCount: bytes.count) }
            return text
        })
    }
}

/// Why a built-in serde could not decode bytes.
public enum SerdeError: Error, CustomStringConvertible, Sendable {
    case notUTF8(byteCount: Int)
    case missingValue
    case wrongLength(expected: Int, actual: Int)

    public var description: String {
        switch self {
        case .notUTF8(let count): return "\(count) bytes are not UTF-8 text"
        case .missingValue: return "the record has no value"
        case .wrongLength(let expected, let actual): return "expected \(expected) bytes, got \(actual)"
        }
    }
}
