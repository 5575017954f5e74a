import StreamCore

/// What one worker had in flight (records handed to its operators, not committed) and where its
/// crash quarantine stands, kept in `<data-dir>/state/<pipeline>/inflight/<partition>` so that
/// the next start can tell the process died with those records in flight (see
/// ``CrashQuarantine``).
///
/// ```
/// sluice-inflight 1
/// inflight 125                 records handed to the operators since the start (0: none)
/// deaths 2                     process deaths with suspects in flight, so far
/// alone 0                      of those, deaths with one record alone in flight at this start
/// mode narrowing 40            normal | narrowing SUSPECTS | quarantine
/// since 1750000000000          wall time (ms) the first doomed attempt began
/// orders 0 2477                per input partition: topic, partition, start offset
/// ```
///
/// - Invariant: `inFlight >= 0`, `deaths >= alone >= 0`; `start` has one entry per input
///   partition.
struct InFlightMarker: Equatable {
    var start: [TopicPartition: Offset]
    var inFlight: Int
    var deaths: Int
    var alone: Int
    var mode: CrashQuarantine.Mode
    var sinceMilliseconds: Int64

    /// The marker's text.
    func encoded() -> [UInt8] {
        let modeText: String
        switch mode {
        case .normal: modeText = "normal"
        case .narrowing(let suspects): modeText = "narrowing \(suspects)"
        case .quarantine: modeText = "quarantine"
        }
        var text = "sluice-inflight 1\ninflight \(inFlight)\ndeaths \(deaths)\nalone \(alone)\nmode \(modeText)\nsince \(sinceMilliseconds)\n"
        for (topicPartition, offset) in start.sorted(by: { $0.key < $1.key }) {
            text += "\(topicPartition.topic.rawValue) \(topicPartition.partition.rawValue) \(offset.rawValue)\n"
        }
        return Array(text.utf8)
    }

    /// Parses ``encoded()``'s text; nil for anything else (a marker that cannot be read is no
    /// evidence of a crash).
    init?(parsing bytes: [UInt8]) {
        guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
        let lines = text.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        guard lines.count >= 6, lines[0] == ["sluice-inflight", "1"] else { return nil }
        func field(_ index: Int, _ name: String) -> Int64? {
            guard lines[index].count == 2, lines[index][0] == name else { return nil }
            return Int64(lines[index][1])
        }
        guard let inFlight = field(1, "inflight"), let deaths = field(2, "deaths"), let alone = field(3, "alone"),
              let since = field(5, "since"), inFlight >= 0, alone >= 0, deaths >= alone else { return nil }
        let modeLine = lines[4]
        let mode: CrashQuarantine.Mode
        switch (modeLine.first, modeLine.count) {
        case ("mode", 2) where modeLine[1] == "normal": mode = .normal
        case ("mode", 2) where modeLine[1] == "quarantine": mode = .quarantine
        case ("mode", 3) where modeLine[1] == "narrowing":
            guard let suspects = Int(modeLine[2]), suspects >= 1 else { return nil }
            mode = .narrowing(suspects: suspects)
        default: return nil
        }
        var start: [TopicPartition: Offset] = [:]
        for line in lines[6...] {
            guard line.count == 3, let topic = TopicName(rawValue: line[0]), let partition = Int32(line[1]), let offset = Int64(line[2]) else {
                return nil
            }
            start[TopicPartition(topic, PartitionID(partition))] = Offset(offset)
        }
        self.init(start: start, inFlight: Int(inFlight), deaths: Int(deaths), alone: Int(alone), mode: mode, sinceMilliseconds: since)
    }

    init(start: [TopicPartition: Offset], inFlight: Int, deaths: Int, alone: Int, mode: CrashQuarantine.Mode, sinceMilliseconds: Int64) {
        self.start = start
        self.inFlight = inFlight
        self.deaths = deaths
        self.alone = alone
        self.mode = mode
        self.sinceMilliseconds = sinceMilliseconds
    }
}
