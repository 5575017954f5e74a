import Foundation
import Testing
import Sluice
import StreamCore
@testable import pipeline

/// ``JSONValidation`` is the one definition of valid JSON: the validator, the fast `OrderCreated`
/// serde and `Serde.json` accept and refuse exactly the same bytes.
@Suite("one definition of valid JSON")
struct JSONValidationTests {
    /// Sequences that are not UTF-8 (RFC 3629): overlong, surrogates, above U+10FFFF, truncated,
    /// lone continuation bytes, never-used bytes.
    static let invalidSequences: [[UInt8]] = [
        [0xC0, 0xAF], [0xC1, 0xBF], [0xE0, 0x80, 0xAF], [0xE0, 0x9F, 0xBF], [0xF0, 0x80, 0x80, 0xAF], [0xF0, 0x8F, 0xBF, 0xBF],
        [0xED, 0xA0, 0x80], [0xED, 0xAD, 0xBF], [0xED, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80],
        [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0xC3], [0x80], [0xBF], [0xFF, 0xFE], [0xFE], [0xE2, 0x28, 0xA1],
    ]
    /// Well-formed multi-byte sequences at the edges of each length.
    static let validSequences: [[UInt8]] = [
        [0xC2, 0x80], [0xC3, 0xA9], [0xDF, 0xBF], [0xE0, 0xA0, 0x80], [0xE2, 0x82, 0xAC], [0xED, 0x9F, 0xBF], [0xEE, 0x80, 0x80],
        [0xEF, 0xBF, 0xBF], [0xF0, 0x90, 0x80, 0x80], [0xF0, 0x9D, 0x84, 0x9E], [0xF4, 0x8F, 0xBF, 0xBF],
    ]

    static func order(customer: [UInt8]) -> [UInt8] {
        Array(#"{"event_type":"OrderCreated","order_id":"ORD-1","customer_id":""#.utf8) + customer
            + Array(#"","amount":12.50,"timestamp":"2025-06-11T12:00:00Z"}"#.utf8)
    }

    /// `sequence` at a seeded position of a customer id.
    static func customer(with sequence: [UInt8], random: inout SeededRandom) -> [UInt8] {
        let id = Array("CUST-4567".utf8)
        let at = Int(random.next() % UInt64(id.count + 1))
        return Array(id[..<at]) + sequence + Array(id[at...])
    }

    @Test("invalid UTF-8 inside a string is refused by the validator, the fast serde and Serde.json", arguments: [UInt64(1), 2, 3])
    func invalidUTF8IsRefusedEverywhere(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        for sequence in Self.invalidSequences {
            let bytes = Self.order(customer: Self.customer(with: sequence, random: &random))
            let hex = sequence.map { String($0, radix: 16) }.joined(separator: " ")
            #expect(throws: InvalidJSON.self, "validator accepted \(hex)") { try JSONValidation.validate(bytes) }
            #expect(throws: DecodingError.self, "fast serde accepted \(hex)") { try OrderCreatedFastDecoding.decode(bytes) }
            #expect(throws: DecodingError.self, "Serde.json accepted \(hex)") { try Serde<OrderCreated>.json(OrderCreated.self).decode(bytes) }
        }
    }

    @Test("valid multi-byte UTF-8 is accepted by all three, with the same customer id", arguments: [UInt64(1), 2])
    func validUTF8IsAcceptedEverywhere(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        for sequence in Self.validSequences {
            let customer = Self.customer(with: sequence, random: &random)
            let bytes = Self.order(customer: customer)
            try JSONValidation.validate(bytes)
            let fast = try OrderCreatedFastDecoding.decode(bytes)
            let codable = try Serde<OrderCreated>.json(OrderCreated.self).decode(bytes)
            #expect(fast.customerID == String(decoding: customer, as: UTF8.self))
            #expect(codable.customerID == fast.customerID)
        }
    }

    @Test("the grammar: valid values pass, everything else names its position", arguments: [
        (#"{"a":[1,-2.5e+3,true,false,null,"x\n\u00e9\ud834\udd1e"]}"#, true), (" 42 ", true), (#""text""#, true), ("[]", true),
        ("{}", true), ("", false), ("{", false), (#"{"a":}"#, false), ("[1,]", false), ("01", false), ("1.", false), ("-", false),
        ("1e", false), (#"{"a" 1}"#, false), ("tru", false), ("[1] 2", false), (#""\x""#, false), (#""\ud800""#, false),
        (#""\udc00""#, false), (#""\ud800\u0041""#, false), ("\"a\u{01}\"", false), ("NaN", false), ("{'a':1}", false),
    ])
    func grammar(text: String, valid: Bool) {
        let result = Result { () throws(InvalidJSON) in try JSONValidation.validate(Array(text.utf8)) }
        switch result {
        case .success: #expect(valid, "accepted \(text)")
        case .failure(let error): #expect(!valid, "refused \(text): \(error)")
        }
    }

    @Test("nesting is bounded")
    func nestingBound() {
        let ok = String(repeating: "[", count: JSONValidation.nestingDepthMax) + String(repeating: "]", count: JSONValidation.nestingDepthMax)
        #expect(throws: Never.self) { try JSONValidation.validate(Array(ok.utf8)) }
        let deep = "[" + ok + "]"
        #expect(throws: InvalidJSON.self) { try JSONValidation.validate(Array(deep.utf8)) }
    }
}
