/// The compression codec of a record batch, as stored in bits 0-2 of its attributes.
///
/// All five of Kafka's codecs are recognised so that a batch can be described; only
/// `none`, `lz4` and `zstd` can be compressed or decompressed (others throw
/// `unsupportedCodec`).
package enum CompressionCodec: Int16, Sendable, CaseIterable, CustomStringConvertible {
    /// No compression: the records follow the header as they are.
    case none = 0
    /// gzip (recognised, not supported).
    case gzip = 1
    /// Snappy (recognised, not supported).
    case snappy = 2
    /// The LZ4 frame format (liblz4).
    case lz4 = 3
    /// The Zstandard frame format (libzstd).
    case zstd = 4

    /// The codecs this build can compress and decompress.
    package static let supported: [CompressionCodec] = [.none, .lz4, .zstd]

    /// The codec called `name` in configuration: `"none"`, `"lz4"` or `"zstd"`
    /// (case-insensitive). Nil for any other name, including the unsupported codecs.
    package init?(name: String) {
        switch name.lowercased() {
        case "none": self = .none
        case "lz4": self = .lz4
        case "zstd": self = .zstd
        default: return nil
        }
    }

    /// The configuration name: `"none"`, `"gzip"`, `"snappy"`, `"lz4"` or `"zstd"`.
    package var name: String {
        switch self {
        case .none: "none"
        case .gzip: "gzip"
        case .snappy: "snappy"
        case .lz4: "lz4"
        case .zstd: "zstd"
        }
    }

    /// Whether `Compression` can handle this codec.
    package var isSupported: Bool { self == .none || self == .lz4 || self == .zstd }

    /// The configuration name.
    package var description: String { name }
}
