import Testing
import MPLabSupport
@testable import MPCore

@Suite("Frame coding")
struct FrameCodingTests {
    /// The test vectors of the protocol document (MPCore.docc/Protocol.md, "Test vectors").
    static let vectors: [(name: String, hex: String, header: FrameHeader, body: String)] = [
        (
            "V1 upstream data",
            "02 01 00 02 0102030405060708 1112131415161718 2122232425262728 31323334 6869",
            FrameHeader(
                type: .upstreamData, pathID: 2, sessionID: 0x0102_0304_0506_0708,
                serverTag: 0x1112_1314_1516_1718, sequence: 0x2122_2324_2526_2728, flowID: 0x3132_3334),
            "6869"
        ),
        (
            "V2 probe before acceptance",
            "02 02 00 00 00000000000000aa 0000000000000000 0000000000000001 00000000 000000003b9aca00",
            FrameHeader(type: .probe, sessionID: 0xaa, serverTag: 0, sequence: 1),
            "000000003b9aca00"
        ),
        (
            "V3 acceptance",
            "02 83 00 01 00000000000000aa 00000000000000bb 0000000000000001 00000000 0000000000000001",
            FrameHeader(type: .acceptance, pathID: 1, sessionID: 0xaa, serverTag: 0xbb, sequence: 1),
            "0000000000000001"
        ),
        (
            "V4 empty downstream payload",
            "02 81 00 00 00000000000000aa 00000000000000bb 0000000000000002 00000001",
            FrameHeader(type: .downstreamData, sessionID: 0xaa, serverTag: 0xbb, sequence: 2, flowID: 1),
            ""
        ),
    ]

    @Test("golden vectors decode and re-encode byte for byte", arguments: 0..<vectors.count)
    func golden(index: Int) throws {
        let vector = Self.vectors[index]
        let frame = bytes(hex: vector.hex)
        let header = try frame.withUnsafeBytes { try FrameHeader.decode($0) }
        #expect(header == vector.header, "\(vector.name)")
        #expect(hexString(frame[FrameLayout.headerSize...]) == vector.body)
        var encoded = [UInt8](repeating: 0, count: FrameLayout.headerSize)
        encoded.withUnsafeMutableBytes { header.encode(into: $0) }
        #expect(encoded == Array(frame[..<FrameLayout.headerSize]), "\(vector.name)")
    }

    static let invalid: [(hex: String, error: FrameError)] = [
        ("", .truncated(length: 0)),
        ("02", .truncated(length: 1)),
        ("03 01 00 00", .unknownVersion(3)),
        ("00", .unknownVersion(0)),
        ("02 01 00 00 0102030405060708 1112131415161718 21222324252627", .truncated(length: 27)),
        ("02 07 00 00 0102030405060708 1112131415161718 2122232425262728 31323334", .unknownType(7)),
        ("02 01 04 00 0102030405060708 1112131415161718 2122232425262728 31323334", .invalidFlags(4)),
        ("02 01 02 00 0102030405060708 1112131415161718 2122232425262728 31323334", .invalidFlags(2)),
        ("02 01 01 00 0102030405060708 1112131415161718 2122232425262728 31323334", .truncated(length: 32)),
        ("02 01 00 00 0000000000000000 1112131415161718 2122232425262728 31323334", .invalidHeader),
        ("02 01 00 00 0102030405060708 1112131415161718 0000000000000000 31323334", .invalidHeader),
    ]

    @Test("receiver rules R1–R5 reject malformed headers", arguments: 0..<invalid.count)
    func rejects(index: Int) {
        let (hex, expected) = Self.invalid[index]
        let frame = bytes(hex: hex)
        #expect(throws: expected) { try frame.withUnsafeBytes { try FrameHeader.decode($0) } }
    }

    @Test("random datagrams never crash the decoder")
    func randomSweep() {
        var random = SplitMix64(seed: 7)
        for _ in 0..<20_000 {
            let length = Int(random.next() % 80)
            var frame = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            if length > 0, random.next() % 2 == 0 { frame[0] = FrameLayout.version }
            _ = frame.withUnsafeBytes { try? FrameHeader.decode($0) }
        }
    }

    @Test("the path id is the only byte that differs between paths")
    func pathID() {
        var frame = bytes(hex: Self.vectors[0].hex)
        frame.withUnsafeMutableBytes { FrameHeader.setPathID(9, in: $0) }
        #expect(frame[FrameLayout.pathIDOffset] == 9)
        #expect(Array(frame[4...]) == Array(bytes(hex: Self.vectors[0].hex)[4...]))
    }
}
