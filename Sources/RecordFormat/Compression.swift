internal import CLZ4
internal import CZstd

/// Whole-buffer compression of a batch's records section with the batch's codec.
///
/// - LZ4: the LZ4 *frame* format (magic `04 22 4D 18`), 64 KB independent blocks, no
///   content checksum and no content size, which is what Kafka's Java client reads.
/// - Zstd: one Zstandard frame at level 3. Decompression streams, because frames written by
///   Kafka clients do not always carry their content size.
///
/// Decompression never produces more than `outputLimitBytes` (a decompression bomb throws
/// `tooLarge`), and corrupt input throws `decompressionFailed`, never crashes. The bound is on
/// the output; libzstd's own window buffer (at most 128 MiB, its default limit) is not counted.
/// Thread-safe (each call owns its compression context).
package enum Compression {
    /// The Zstandard level used by `compress`.
    package static let zstdLevel: Int32 = 3

    /// Bytes decoded per step when streaming; also the granularity of the output bound check.
    static let chunkBytes = 64 << 10

    /// Compresses `bytes` with `codec`; `.none` returns the input unchanged.
    /// - Throws: `unsupportedCodec` for gzip and snappy; `compressionFailed` if the library fails.
    package static func compress(_ bytes: [UInt8], codec: CompressionCodec) throws(RecordFormatError) -> [UInt8] {
        switch codec {
        case .none: return bytes
        case .gzip, .snappy: throw unsupported(codec)
        case .lz4: return try compressLZ4(bytes)
        case .zstd: return try compressZstd(bytes)
        }
    }

    /// Decompresses `bytes`, written with `codec`, into at most `outputLimitBytes` bytes.
    /// `.none` returns a copy of the input (still subject to the limit).
    /// - Throws: `tooLarge` past the limit, `decompressionFailed` for corrupt or incomplete
    ///   input, `unsupportedCodec` for gzip and snappy.
    package static func decompress(
        _ bytes: ArraySlice<UInt8>, codec: CompressionCodec, outputLimitBytes: Int
    ) throws(RecordFormatError) -> [UInt8] {
        switch codec {
        case .none:
            guard bytes.count <= outputLimitBytes else { throw tooLarge(outputLimitBytes) }
            return Array(bytes)
        case .gzip, .snappy: throw unsupported(codec)
        case .lz4: return try decompressLZ4(bytes, outputLimitBytes: outputLimitBytes)
        case .zstd: return try decompressZstd(bytes, outputLimitBytes: outputLimitBytes)
        }
    }

    // MARK: - LZ4 frame

    private static func lz4Preferences() -> LZ4F_preferences_t {
        var preferences = LZ4F_preferences_t()
        preferences.frameInfo.blockSizeID = LZ4F_max64KB
        preferences.frameInfo.blockMode = LZ4F_blockIndependent
        preferences.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum
        preferences.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum
        preferences.frameInfo.contentSize = 0
        preferences.compressionLevel = 0
        return preferences
    }

    private static func lz4ErrorName(_ code: Int) -> String {
        String(cString: LZ4F_getErrorName(code))
    }

    private static func compressLZ4(_ bytes: [UInt8]) throws(RecordFormatError) -> [UInt8] {
        var preferences = lz4Preferences()
        let bound = LZ4F_compressFrameBound(bytes.count, &preferences)
        var failure: RecordFormatError?
        let output = bytes.withUnsafeBytes { source in
            [UInt8](unsafeUninitializedCapacity: bound) { destination, count in
                let written = LZ4F_compressFrame(
                    destination.baseAddress, bound, source.baseAddress, source.count, &preferences)
                if LZ4F_isError(written) != 0 {
                    failure = RecordFormatError(.compressionFailed, "lz4: \(lz4ErrorName(written))")
                    count = 0
                } else {
                    count = written
                }
            }
        }
        if let failure { throw failure }
        return output
    }

    private static func decompressLZ4(
        _ bytes: ArraySlice<UInt8>, outputLimitBytes: Int
    ) throws(RecordFormatError) -> [UInt8] {
        var context: OpaquePointer?
        let created = LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(created) == 0, let context else {
            throw RecordFormatError(.decompressionFailed, "lz4: cannot create a decompression context")
        }
        defer { LZ4F_freeDecompressionContext(context) }

        var output = OutputBuffer(limitBytes: outputLimitBytes, expectedBytes: bytes.count * 4)
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkBytes, alignment: 16)
        defer { chunk.deallocate() }

        try bytes.withBytes { source throws(RecordFormatError) in
            var position = 0
            // Non-zero until a frame has been decoded completely; 0 at a frame boundary.
            var hint = 1
            repeat {
                var produced = chunk.count
                var consumed = source.count - position
                hint = LZ4F_decompress(
                    context, chunk.baseAddress, &produced, source.baseAddress.map { $0 + position }, &consumed, nil)
                if LZ4F_isError(hint) != 0 {
                    throw RecordFormatError(.decompressionFailed, "lz4: \(lz4ErrorName(hint))")
                }
                position += consumed
                try output.append(UnsafeRawBufferPointer(rebasing: chunk[..<produced]))
                if consumed == 0 && produced == 0 { break }
            } while position < source.count || hint != 0
            if hint != 0 {
                throw RecordFormatError(
                    .decompressionFailed, "lz4: the frame ends early after \(source.count) compressed bytes")
            }
        }
        return output.bytes
    }

    // MARK: - Zstandard frame

    private static func zstdErrorName(_ code: Int) -> String {
        String(cString: ZSTD_getErrorName(code))
    }

    private static func compressZstd(_ bytes: [UInt8]) throws(RecordFormatError) -> [UInt8] {
        let bound = ZSTD_compressBound(bytes.count)
        var failure: RecordFormatError?
        let output = bytes.withUnsafeBytes { source in
            [UInt8](unsafeUninitializedCapacity: bound) { destination, count in
                let written = ZSTD_compress(
                    destination.baseAddress, bound, source.baseAddress, source.count, zstdLevel)
                if ZSTD_isError(written) != 0 {
                    failure = RecordFormatError(.compressionFailed, "zstd: \(zstdErrorName(written))")
                    count = 0
                } else {
                    count = written
                }
            }
        }
        if let failure { throw failure }
        return output
    }

    private static func decompressZstd(
        _ bytes: ArraySlice<UInt8>, outputLimitBytes: Int
    ) throws(RecordFormatError) -> [UInt8] {
        guard let context = ZSTD_createDCtx() else {
            throw RecordFormatError(.decompressionFailed, "zstd: cannot create a decompression context")
        }
        defer { ZSTD_freeDCtx(context) }

        var output = OutputBuffer(limitBytes: outputLimitBytes, expectedBytes: bytes.count * 4)
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkBytes, alignment: 16)
        defer { chunk.deallocate() }

        try bytes.withBytes { source throws(RecordFormatError) in
            if let declared = declaredZstdSize(source) {
                guard declared <= outputLimitBytes else { throw tooLarge(outputLimitBytes, declared: declared) }
                output.reserve(exactly: declared)
            }
            var input = ZSTD_inBuffer(src: source.baseAddress, size: source.count, pos: 0)
            // Non-zero until a frame has been decoded completely; 0 at a frame boundary.
            var hint = 1
            repeat {
                var chunkOutput = ZSTD_outBuffer(dst: chunk.baseAddress, size: chunk.count, pos: 0)
                let consumedBefore = input.pos
                hint = ZSTD_decompressStream(context, &chunkOutput, &input)
                if ZSTD_isError(hint) != 0 {
                    throw RecordFormatError(.decompressionFailed, "zstd: \(zstdErrorName(hint))")
                }
                try output.append(UnsafeRawBufferPointer(rebasing: chunk[..<chunkOutput.pos]))
                if input.pos == consumedBefore && chunkOutput.pos == 0 { break }
            } while input.pos < input.size || hint != 0
            if hint != 0 {
                throw RecordFormatError(
                    .decompressionFailed, "zstd: the frame ends early after \(source.count) compressed bytes")
            }
        }
        return output.bytes
    }

    /// The decompressed size the first frame's header declares, when it declares one. A lower
    /// bound of the output when honest; used to reserve once and to reject bombs early.
    private static func declaredZstdSize(_ source: UnsafeRawBufferPointer) -> Int? {
        let size = ZSTD_getFrameContentSize(source.baseAddress, source.count)
        // ZSTD_CONTENTSIZE_UNKNOWN and ZSTD_CONTENTSIZE_ERROR are the two largest UInt64 values.
        guard size < UInt64.max - 1 else { return nil }
        return size > UInt64(Int.max) ? Int.max : Int(size)
    }

    // MARK: - Errors

    private static func unsupported(_ codec: CompressionCodec) -> RecordFormatError {
        RecordFormatError(.unsupportedCodec, "\(codec.name) is recognised but not supported; use lz4 or zstd")
    }

    fileprivate static func tooLarge(_ limitBytes: Int, declared: Int? = nil) -> RecordFormatError {
        if let declared {
            return RecordFormatError(
                .tooLarge, "decompressed size \(declared) bytes exceeds the limit of \(limitBytes) bytes")
        }
        return RecordFormatError(.tooLarge, "decompressed output exceeds the limit of \(limitBytes) bytes")
    }
}

/// A growing byte buffer that never reserves or holds more than `limitBytes`.
private struct OutputBuffer {
    private(set) var bytes: [UInt8] = []
    let limitBytes: Int

    init(limitBytes: Int, expectedBytes: Int) {
        self.limitBytes = max(0, limitBytes)
        bytes.reserveCapacity(min(self.limitBytes, max(expectedBytes, 4096)))
    }

    mutating func reserve(exactly count: Int) {
        bytes.reserveCapacity(min(limitBytes, count))
    }

    mutating func append(_ piece: UnsafeRawBufferPointer) throws(RecordFormatError) {
        guard !piece.isEmpty else { return }
        let needed = bytes.count + piece.count
        guard needed <= limitBytes else { throw Compression.tooLarge(limitBytes) }
        if needed > bytes.capacity {
            // Grow geometrically ourselves, so that Array's own doubling never overshoots the limit.
            bytes.reserveCapacity(min(limitBytes, max(needed, bytes.capacity * 2)))
        }
        bytes.append(contentsOf: piece)
    }
}
