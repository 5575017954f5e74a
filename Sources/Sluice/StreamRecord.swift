/// A typed record flowing between a pipeline's operators.
public struct StreamRecord<Key, Value> {
    public var key: Key
    public var value: Value
    /// Event time, milliseconds since the Unix epoch (the source record's timestamp unless an
    /// extractor chose another).
    public var timestamp: Int64
    public var headers: [(key: String, value: [UInt8]?)]

    public init(key: Key, value: Value, timestamp: Int64, headers: [(key: String, value: [UInt8]?)] = []) {
        self.key = key
        self.value = value
        self.timestamp = timestamp
        self.headers = headers
    }
}

/// A record as it arrives from, or leaves for, a topic: bytes.
public struct RawRecord: Sendable, Equatable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var timestamp: Int64
    public var headers: [Header]

    public struct Header: Sendable, Equatable {
        public var key: String
        public var value: [UInt8]?
        public init(key: String, value: [UInt8]?) {
            self.key = key
            self.value = value
        }
    }

    public init(topic: String, partition: Int32 = 0, offset: Int64 = 0, key: [UInt8]?, value: [UInt8]?,
                timestamp: Int64, headers: [Header] = []) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.timestamp = timestamp
        self.headers = headers
    }
}
