import MPCore

/// An mpclient session and an mpserver engine that have completed the start of a session
/// through their public entry points, as the runtime drives them: the application sent a
/// payload (flow 1), mpclient probed path 0, mpserver answered with an acceptance, and the
/// held payload went through. Frames fed afterwards meet engines in their steady state.
///
/// Every step is checked: the set-up takes no fuzzer input, so a failure is a bug in MPCore.
final class EstablishedTunnel {
    /// mpserver's tag for every session (see ``FixedTagGenerator``); the test vectors' tag.
    static let serverTag: UInt64 = 0xbb
    /// The application's address at mpclient; its flow is flow 1.
    static let applicationAddress = 7
    /// The address mpserver sees path `path` come from.
    static func bridgeAddress(_ path: Int) -> Int { 1_000 + path }
    /// Paths the client has; path ids 0-2 are valid at mpclient, 3 is out of range.
    static let pathCount = 3
    /// One second after the epoch: all the set-up happens at this instant.
    static let start = Timestamp(nanoseconds: 1_000_000_000)

    let client: ClientSession<Int>
    let server: ServerEngine<Int>
    var generator = FixedTagGenerator()
    /// The acceptance mpserver sent (its sequence number 1), as captured on path 0.
    private(set) var acceptanceFrame: [UInt8] = []

    /// With `fec`, mpclient is in `mode fec 4:2` and both sides then hold a group missing
    /// payloads (``primeFEC()``).
    init(sessionID: UInt64, keyring: Keyring, fec: Bool = false) {
        client = ClientSession(
            sessionID: keyring.checkedSessionID(sessionID), pathCount: Self.pathCount, keyring: keyring,
            mode: fec ? .fec : .duplicate)
        server = ServerEngine(keyring: keyring)
        let greeting: [UInt8] = Array("hello".utf8)
        let held = withFrameBuffer(payload: greeting) {
            client.encodePayload(length: greeting.count, from: Self.applicationAddress, now: Self.start, in: $0)
        }
        fuzzCheck(held.verdict == .held, "set-up: the first payload is not held")
        let probe = withFrameBuffer(payload: []) { client.probe(path: 0, now: Self.start, into: $0) }
        guard let probeLength = probe.verdict else { fatalError("set-up: no probe due") }
        let answer = serverReceive(Array(probe.frame[..<probeLength]), path: 0)
        guard case .reply(let length, _) = answer.verdict else {
            fatalError("set-up: no acceptance: \(answer.verdict)")
        }
        acceptanceFrame = Array(answer.reply[..<length])
        let accepted = clientReceive(acceptanceFrame, path: 0).verdict
        fuzzCheck(accepted == .accepted(serverTag: Self.serverTag, restarted: false), "set-up: \(accepted)")
        let flushed = withFrameBuffer(payload: []) { client.nextHeldFrame(now: Self.start, into: $0) }
        guard let flushedLength = flushed.verdict else { fatalError("set-up: the held payload is gone") }
        guard
            case .deliver(let payload, _, let flowID) = serverReceive(Array(flushed.frame[..<flushedLength]), path: 0)
                .verdict
        else { fatalError("set-up: the held payload was not delivered") }
        fuzzCheck(payload.count == greeting.count && flowID == 1, "set-up: wrong delivery")
        if fec { primeFEC() }
    }

    /// Gives `frame` to mpserver as if it came on path `path` (from that path's bridge).
    func serverReceive(_ frame: some Collection<UInt8>, path: Int) -> (
        verdict: ServerEngine<Int>.Inbound, frame: [UInt8], reply: [UInt8]
    ) {
        Self.serverReceive(frame, engine: server, from: Self.bridgeAddress(path), using: &generator)
    }

    /// Gives `frame` to mpclient on path `path`.
    func clientReceive(_ frame: some Collection<UInt8>, path: Int) -> (
        verdict: ClientSession<Int>.Inbound, frame: [UInt8]
    ) {
        Self.clientReceive(frame, session: client, path: path)
    }

    static func serverReceive(
        _ frame: some Collection<UInt8>, engine: ServerEngine<Int>, from address: Int,
        using generator: inout FixedTagGenerator
    ) -> (verdict: ServerEngine<Int>.Inbound, frame: [UInt8], reply: [UInt8]) {
        var reply = [UInt8](repeating: 0, count: FrameLayout.maximumOverhead + 8)
        return withExactCopy(of: frame) { bytes in
            let verdict = reply.withUnsafeMutableBytes { replyBytes in
                engine.receiveFrame(bytes, from: address, now: start, reply: replyBytes, using: &generator)
            }
            checkServerVerdict(verdict, frame: UnsafeRawBufferPointer(bytes), reply: reply)
            return (verdict, Array(bytes), reply)
        }
    }

    static func clientReceive(
        _ frame: some Collection<UInt8>, session: ClientSession<Int>, path: Int
    ) -> (verdict: ClientSession<Int>.Inbound, frame: [UInt8]) {
        withExactCopy(of: frame) { bytes in
            let verdict = session.receiveFrame(bytes, path: path, now: start)
            if case .deliver(let payload, let address) = verdict {
                checkPayloadRange(payload, frame: UnsafeRawBufferPointer(bytes))
                fuzzCheck(address == applicationAddress, "delivered to unknown address \(address)")
            }
            return (verdict, Array(bytes))
        }
    }

    /// A delivered payload is the frame's body: after the header, before the tag if any.
    static func checkPayloadRange(_ payload: Range<Int>, frame: UnsafeRawBufferPointer) {
        let sealed = frame[FrameLayout.flagsOffset] & FrameFlags.authenticated.rawValue != 0
        let end = frame.count - (sealed ? FrameLayout.tagSize : 0)
        fuzzCheck(payload == FrameLayout.headerSize..<end, "payload \(payload) of a \(frame.count)-byte frame")
    }

    /// A reply is a well-formed mpserver frame that fits the reply buffer.
    static func checkServerVerdict(_ verdict: ServerEngine<Int>.Inbound, frame: UnsafeRawBufferPointer, reply: [UInt8])
    {
        switch verdict {
        case .deliver(let payload, _, let flowID):
            checkPayloadRange(payload, frame: frame)
            fuzzCheck(flowID != 0, "delivered on flow 0")
        case .reply(let length, _):
            fuzzCheck(length >= FrameLayout.headerSize && length <= reply.count, "reply of \(length) bytes")
            let header = reply.withUnsafeBytes {
                try? FrameHeader.decode(UnsafeRawBufferPointer(rebasing: $0[..<length]))
            }
            fuzzCheck(header?.type.isDownstream == true, "reply that does not decode as mpserver's")
        case .consumed, .dropped: break
        }
    }
}

/// Runs `body` on a frame buffer big enough for `payload`, with the payload at the body
/// offset; returns what `body` returned and the buffer afterwards.
func withFrameBuffer<Result>(payload: [UInt8], _ body: (UnsafeMutableRawBufferPointer) -> Result) -> (
    verdict: Result, frame: [UInt8]
) {
    var frame = [UInt8](repeating: 0, count: payload.count + FrameLayout.maximumOverhead + 8)
    frame.replaceSubrange(FrameLayout.headerSize..<(FrameLayout.headerSize + payload.count), with: payload)
    let verdict = frame.withUnsafeMutableBytes(body)
    return (verdict, frame)
}
