/// Why a schema document was rejected, and where in it.
///
/// `path` names the place (`field 'amount'`, `/fields/2/type`), `reason` what is wrong there;
/// the description joins them: `field 'amount': unknown type 'dobule'`.
public struct AvroSchemaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Where in the document: a field path such as `field 'amount'` or a JSON pointer.
    public let path: String
    /// Why it is rejected, e.g. `unknown type 'dobule'`.
    public let reason: String

    /// Creates an error at `path` for `reason`.
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String {
        path.isEmpty ? reason : "\(path): \(reason)"
    }
}
