/// Splits a byte stream into Kafka frames: feed it bytes as they arrive, take whole frames
/// (without their size prefix) as they complete.
///
/// ```
///  stream    size i32 | size bytes | size i32 | size bytes | …
/// ```
///
/// A size prefix that is negative or over `frameBytesMax` is an error as soon as its four
/// bytes arrive, before anything is buffered for it; after an error the splitter keeps
/// failing (the connection must close). Buffered bytes never exceed one frame plus one
/// `append`.
/// - Invariant: `readIndex <= buffer.count`.
/// Not thread-safe (a value owned by one connection).
package struct KafkaFrameSplitter: Sendable {
    /// Kafka's default `socket.request.max.bytes` is 100 MiB; so is `--max-request-bytes`'s.
    package static let defaultFrameBytesMax = 100 * 1024 * 1024

    /// The largest frame accepted, in bytes after the size prefix.
    package let frameBytesMax: Int
    private var buffer: [UInt8] = []
    private var readIndex = 0
    private var failure: KafkaProtocolError?
    /// The stream offset of `buffer[0]`, for error messages.
    private var bufferStreamOffset = 0

    /// A splitter that refuses frames over `frameBytesMax` bytes.
    ///
    /// - Precondition: `frameBytesMax >= 0`.
    package init(frameBytesMax: Int = KafkaFrameSplitter.defaultFrameBytesMax) {
        precondition(frameBytesMax >= 0)
        self.frameBytesMax = frameBytesMax
    }

    /// Bytes received and not yet returned in a frame.
    package var bufferedBytes: Int { buffer.count - readIndex }

    /// Adds bytes received from the stream.
    package mutating func append(_ bytes: some Sequence<UInt8>) {
        if readIndex > 0 && readIndex >= buffer.count / 2 {
            buffer.removeFirst(readIndex)
            bufferStreamOffset += readIndex
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next whole frame, or nil until more bytes arrive.
    ///
    /// Throws `negativeFrameSize` or `frameTooLarge` for a bad size prefix.
    package mutating func nextFrame() throws(KafkaProtocolError) -> [UInt8]? {
        if let failure { throw failure }
        guard bufferedBytes >= 4 else { return nil }
        var size: Int32 = 0
        for index in readIndex..<(readIndex + 4) { size = size << 8 | Int32(buffer[index]) }
        guard size >= 0 else {
            return try fail(KafkaProtocolError(.negativeFrameSize, "frame size \(size)", byteOffset: bufferStreamOffset + readIndex))
        }
        guard Int(size) <= frameBytesMax else {
            return try fail(KafkaProtocolError(
                .frameTooLarge, "frame of \(size) bytes, over the maximum of \(frameBytesMax)",
                byteOffset: bufferStreamOffset + readIndex))
        }
        guard bufferedBytes >= 4 + Int(size) else { return nil }
        let start = readIndex + 4
        readIndex = start + Int(size)
        return Array(buffer[start..<readIndex])
    }

    private mutating func fail(_ error: KafkaProtocolError) throws(KafkaProtocolError) -> [UInt8]? {
        failure = error
        throw error
    }
}
