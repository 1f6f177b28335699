import Testing

@testable import MPCore

/// The parity frame of `mode fec`: the protocol document's vector, and rule F1's malformed
/// combinations, each dropped.
@Suite struct FECParityTests {
    /// Vector V5 of the protocol document: an upstream parity frame of a short group (2 of a
    /// group size of 4, M = 1) whose payloads are `01020304` and `1020`.
    static let vector = """
        02 04 00 00 0102030405060708 1112131415161718 2122232425262730 00000000
        2122232425262728 04 02 01 02 0004 00000000 31323334 0004 00000001 31323334 0002 75ea8f02
        """

    static let vectorSequence: UInt64 = 0x2122_2324_2526_2730

    @Test func vectorDecodesAndReencodes() throws {
        let frame = bytes(hex: Self.vector)
        let header = try frame.withUnsafeBytes { try FrameHeader.decode($0) }
        #expect(header.type == .upstreamParity)
        #expect(header.hasValidShape(bodyLength: frame.count - FrameLayout.headerSize))
        let body = Array(frame[FrameLayout.headerSize...])
        let parity = try #require(body.withUnsafeBytes { ParityHeader.decode($0, sequence: header.sequence) })
        #expect(
            parity
                == ParityHeader(
                    group: 0x2122_2324_2526_2728, groupSize: 4, dataShards: 2, parityShards: 1, index: 2, shardLength: 4
                ))
        let entries = body.withUnsafeBytes { raw in (0..<2).map { parity.entry($0, in: raw) } }
        #expect(
            entries == [
                ParityHeader.Entry(offset: 0, flowID: 0x3132_3334, length: 4),
                ParityHeader.Entry(offset: 1, flowID: 0x3132_3334, length: 2),
            ])
        var encoded = [UInt8](repeating: 0, count: body.count)
        encoded.withUnsafeMutableBytes { raw in
            parity.encode(into: raw)
            for (position, entry) in entries.enumerated() {
                if let entry { ParityHeader.write(entry, at: position, into: raw) }
            }
        }
        #expect(Array(encoded[..<parity.prefixLength]) == Array(body[..<parity.prefixLength]))
        // The parity bytes rebuild the first payload from the second.
        let coder = try #require(ErasureCoder(dataShards: 2, parityShards: 1))
        var first: [UInt8] = [0, 0, 0, 0]
        var second: [UInt8] = [0x10, 0x20, 0, 0]
        var third = Array(body[parity.prefixLength...])
        let rebuilt = first.withUnsafeMutableBufferPointer { first in
            second.withUnsafeMutableBufferPointer { second in
                third.withUnsafeMutableBufferPointer { third in
                    let pointers = [first.baseAddress!, second.baseAddress!, third.baseAddress!]
                    return coder.rebuild(length: 4, available: 0b110) { pointers[$0] }
                }
            }
        }
        #expect(rebuilt == 0b1)
        #expect(first == [1, 2, 3, 4])
    }

    /// The vector's body with bytes from `offset` replaced by `hex`, or cut or extended.
    static func body(replacing offset: Int, with hex: String) -> [UInt8] {
        var body = Array(bytes(hex: vector)[FrameLayout.headerSize...])
        let replacement = bytes(hex: hex)
        for (index, byte) in replacement.enumerated() { body[offset + index] = byte }
        return body
    }

    static let malformed: [(String, [UInt8], UInt64)] = [
        ("shorter than the fixed part", Array(bytes(hex: vector)[32..<45]), vectorSequence),
        ("group 0", body(replacing: 0, with: "0000000000000000"), vectorSequence),
        ("group size 0", body(replacing: 8, with: "00"), vectorSequence),
        ("group size 33", body(replacing: 8, with: "21"), vectorSequence),
        ("K 0", body(replacing: 9, with: "00"), vectorSequence),
        ("K above the group size", body(replacing: 8, with: "01"), vectorSequence),
        ("M 0", body(replacing: 10, with: "00"), vectorSequence),
        ("M 17", body(replacing: 10, with: "11"), vectorSequence),
        ("index of a data shard", body(replacing: 11, with: "01"), vectorSequence),
        ("index past K + M", body(replacing: 11, with: "03"), vectorSequence),
        ("shard length not the body's", body(replacing: 12, with: "0005"), vectorSequence),
        ("a byte too many", body(replacing: 0, with: "") + [0], vectorSequence),
        ("first offset not 0", body(replacing: 14, with: "00000001"), vectorSequence),
        ("offsets not increasing", body(replacing: 24, with: "00000000"), vectorSequence),
        ("flow 0", body(replacing: 28, with: "00000000"), vectorSequence),
        ("an entry longer than the shard", body(replacing: 22, with: "0005"), vectorSequence),
        ("no entry as long as the shard", body(replacing: 22, with: "0003"), vectorSequence),
        ("a payload numbered after the parity", body(replacing: 0, with: ""), 0x2122_2324_2526_2729),
        ("a group spanning more than the payloads kept", body(replacing: 24, with: "00000200"), 0x2122_2324_2526_2F30),
    ]

    @Test(arguments: malformed)
    func malformedParityIsRefused(name: String, body: [UInt8], sequence: UInt64) {
        #expect(body.withUnsafeBytes { ParityHeader.decode($0, sequence: sequence) } == nil, "\(name)")
    }

    /// Rule F3: a second parity frame of a group that names other payloads is dropped.
    @Test func contradictingParityIsDropped() throws {
        let receiver = FECReceiver()
        let first = Array(bytes(hex: Self.vector)[FrameLayout.headerSize...])
        let parity = try #require(first.withUnsafeBytes { ParityHeader.decode($0, sequence: Self.vectorSequence) })
        let accepted = first.withUnsafeBytes {
            receiver.parityArrived(parity, body: $0, now: ms(1), isSeen: { _ in false })
        }
        #expect(accepted)
        var second = parity
        second.parityShards = 2
        second.index = 3
        var other = first
        other[10] = 2
        other[11] = 3
        let refused = other.withUnsafeBytes {
            receiver.parityArrived(second, body: $0, now: ms(2), isSeen: { _ in false })
        }
        #expect(!refused)
        #expect(receiver.statistics.inconsistentParity == 1)
        // Given up after its lifetime, missing both payloads: lost.
        receiver.expire(now: ms(1) + Defaults.fecGroupLifetime)
        #expect(receiver.statistics.groupsLost == 1)
    }
}
