/// The operating error of the Kafka codec: bytes that are not a valid message of the version
/// they claim, a frame the splitter refuses, or a value that cannot be encoded at a version.
///
/// Malformed input from the network always surfaces as this error, never as a crash, a hang
/// or an allocation sized by an unchecked length.
/// Thread-safe (a value).
package struct KafkaProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is; tests and callers switch on it.
    package enum Code: String, Sendable, Equatable {
        /// The bytes end before the value they should hold.
        case truncated
        /// A length or count is negative (other than a null's -1) or larger than what remains.
        case invalidLength
        /// A null where the field's version does not allow one (decode or encode).
        case nullNotAllowed
        /// A string that is not UTF-8.
        case invalidString
        /// An unsigned varint longer than 5 bytes or beyond 32 bits.
        case invalidVarint
        /// A tagged field whose value did not fill exactly its declared size.
        case taggedFieldSizeMismatch
        /// Bytes left over after the message.
        case trailingBytes
        /// The api key is not one this codec knows.
        case unknownAPI
        /// The version is outside the message's valid versions.
        case unsupportedVersion
        /// A non-default value in a field the version lacks, and the field is not ignorable.
        case fieldNotInVersion
        /// A frame's size prefix is negative.
        case negativeFrameSize
        /// A frame's size prefix is over the maximum request size.
        case frameTooLarge
    }

    /// What kind of failure this is.
    package var code: Code
    /// The message being decoded or encoded (`MetadataRequest`), when known.
    package var message: String?
    /// The message version, when known.
    package var version: Int16?
    /// The path of the field that failed, outermost first (`["topics[2]", "partitions[0]", "records"]`).
    package var fieldPath: [String]
    /// The byte offset in the input at which decoding failed (nil for encode errors).
    package var byteOffset: Int?
    /// A human-readable explanation with the numbers a reader needs.
    package var detail: String

    /// An error with a code and detail; the codec adds the message, version and path as the
    /// error travels out.
    package init(
        _ code: Code, _ detail: String, byteOffset: Int? = nil, message: String? = nil, version: Int16? = nil,
        fieldPath: [String] = []
    ) {
        self.code = code
        self.detail = detail
        self.byteOffset = byteOffset
        self.message = message
        self.version = version
        self.fieldPath = fieldPath
    }

    /// The same error, inside field `component` of the enclosing struct.
    func within(_ component: String) -> KafkaProtocolError {
        var error = self
        error.fieldPath.insert(component, at: 0)
        return error
    }

    /// The same error, naming the message and version (kept if already set).
    func naming(_ message: String, version: Int16) -> KafkaProtocolError {
        var error = self
        if error.message == nil {
            error.message = message
            error.version = version
        }
        return error
    }

    /// `"<code>: <message> v<version> <path> at byte <offset>: <detail>"`.
    package var description: String {
        var text = code.rawValue + ":"
        if let message { text += " \(message)" }
        if let version { text += " v\(version)" }
        if !fieldPath.isEmpty { text += " " + fieldPath.joined(separator: ".") }
        if let byteOffset { text += " at byte \(byteOffset)" }
        return text + ": " + detail
    }
}
