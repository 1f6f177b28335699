// What an attacker on a path sends: random datagrams (a third shaped like frames of our
// version, so they get as far as authentication), bit-flipped copies of captured frames,
// and frames correctly sealed with another key. Made cheaply, so a debug build of the test
// can send hundreds of thousands in seconds.
import MPCore

/// A source of hostile datagrams for one direction of a tunnel.
struct HostileDatagrams {
    enum Kind: String, CaseIterable {
        case random
        case bitFlipped = "bit-flipped"
        case foreignKey = "foreign-key"
    }

    /// The direction the datagrams pretend to travel.
    enum Direction {
        case upstream
        case downstream
    }

    let direction: Direction
    /// Real frames of this direction, captured on a path.
    let captured: [[UInt8]]
    /// The real session's id: forged frames name it half of the time.
    let sessionID: UInt64
    let otherKey: PreSharedKey
    private var randomPool: [[UInt8]]
    private var random = SystemRandomNumberGenerator()
    /// Frames sealed with `otherKey`, made once (sealing in a debug build is slow) and sent
    /// in turn: the same session id as the real one, then strangers' ids, and some probes.
    private let foreignFrames: [[UInt8]]
    private var counter = 0
    /// Datagrams made, by kind.
    private(set) var made: [Kind: Int] = [:]

    init(direction: Direction, captured: [[UInt8]], sessionID: UInt64, otherKey: PreSharedKey) {
        self.direction = direction
        self.captured = captured
        self.sessionID = sessionID
        self.otherKey = otherKey
        var random = SystemRandomNumberGenerator()
        // 1,000 random datagrams of 0-2,000 bytes, varied at each use.
        randomPool = (0..<1_000).map { _ in Self.randomBytes(count: Int(random.next() % 2_001), using: &random) }
        foreignFrames = Self.foreignFrames(
            direction: direction, sessionID: sessionID, otherKey: otherKey, using: &random)
    }

    /// 4,000 frames sealed with `otherKey`: upstream, half naming the real session and half
    /// naming 20 strangers' sessions (each costs mpserver a key derivation), one in ten a
    /// probe; downstream, data frames of the real session under another server tag.
    private static func foreignFrames(
        direction: Direction, sessionID: UInt64, otherKey: PreSharedKey,
        using random: inout SystemRandomNumberGenerator
    ) -> [[UInt8]] {
        let sameSession = ForeignTunnel(key: otherKey, sessionID: sessionID)
        let strangers = (0..<20).map { _ in ForeignTunnel(key: otherKey, sessionID: random.next() | 1) }
        return (0..<4_000).compactMap { number in
            let payload = Array("forged-\(number)".utf8) + [UInt8](repeating: 0x5a, count: Int(random.next() % 1_200))
            let tunnel = number % 2 == 0 ? sameSession : strangers[number % strangers.count]
            switch direction {
            case .downstream: return sameSession.downstream(payload)
            case .upstream: return number % 10 < 2 ? tunnel.probe() : tunnel.upstream(payload)
            }
        }
    }

    /// The next datagram, the kinds taking turns.
    mutating func next() -> [UInt8] {
        counter += 1
        let kind = Kind.allCases[counter % Kind.allCases.count]
        made[kind, default: 0] += 1
        switch kind {
        case .random: return randomDatagram()
        case .bitFlipped: return bitFlipped()
        case .foreignKey: return foreignKeyFrame()
        }
    }

    private mutating func randomDatagram() -> [UInt8] {
        var datagram = randomPool[Int(random.next() % UInt64(randomPool.count))]
        guard !datagram.isEmpty else { return datagram }
        for _ in 0..<8 {
            datagram[Int(random.next() % UInt64(datagram.count))] = UInt8(truncatingIfNeeded: random.next())
        }
        // A third shaped like a sealed frame of our version, to reach authentication.
        if counter % 9 < 3, datagram.count >= FrameLayout.maximumOverhead {
            let types: [FrameType] =
                direction == .upstream ? [.upstreamData, .probe] : [.downstreamData, .probeEcho, .acceptance]
            datagram[FrameLayout.versionOffset] = FrameLayout.version
            datagram[FrameLayout.typeOffset] = types[Int(random.next() % UInt64(types.count))].rawValue
            datagram[FrameLayout.flagsOffset] = FrameFlags.known.rawValue
            datagram[FrameLayout.pathIDOffset] = 0
            if random.next() % 2 == 0 { write(sessionID, into: &datagram, at: FrameLayout.sessionIDOffset) }
        }
        return datagram
    }

    /// A captured frame with 1-3 bits flipped anywhere but the path id, which the seal
    /// leaves out by design (a routing hint): a copy differing only there is an authentic
    /// duplicate, not a forgery.
    private mutating func bitFlipped() -> [UInt8] {
        var frame = captured[Int(random.next() % UInt64(captured.count))]
        for _ in 0...(random.next() % 3) {
            var offset = Int(random.next() % UInt64(frame.count))
            if offset == FrameLayout.pathIDOffset { offset += 1 }
            frame[offset] ^= 1 << (random.next() % 8)
        }
        return frame
    }

    private func foreignKeyFrame() -> [UInt8] {
        foreignFrames[counter % foreignFrames.count]
    }

    /// `count` random bytes, eight from each number drawn.
    static func randomBytes(count: Int, using random: inout SystemRandomNumberGenerator) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        for index in stride(from: 0, to: count, by: 8) {
            let word = random.next()
            for byte in index..<min(index + 8, count) {
                bytes[byte] = UInt8(truncatingIfNeeded: word >> (8 * (byte - index)))
            }
        }
        return bytes
    }

    private func write(_ value: UInt64, into bytes: inout [UInt8], at offset: Int) {
        for index in 0..<8 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (56 - 8 * index)) }
    }
}

/// The session id a captured frame names (bytes 4-11, big-endian).
func sessionID(of frame: [UInt8]) -> UInt64 {
    frame[FrameLayout.sessionIDOffset..<FrameLayout.sessionIDOffset + 8].reduce(0) { $0 << 8 | UInt64($1) }
}
