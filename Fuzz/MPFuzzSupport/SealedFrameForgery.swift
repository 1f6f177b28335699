import MPCore

/// Authentic frames of an established keyed session, tampered with as the fuzzer says, fed
/// to the receiver they were meant for.
///
/// Input after the selector byte: the kind of frame (see ``Kind``); the number of bit flips
/// (0-8), each a 16-bit offset (taken modulo the frame's length) and an 8-bit mask; a signed
/// length change (negative: cut that many bytes off the end; positive: append that many
/// bytes of the payload's first byte); the rest is the payload of data frames.
///
/// Checked: a frame whose authenticated bytes changed (any byte but the path-id hint, or
/// its length) is dropped and changes nothing, so the untouched frame fed afterwards still
/// takes effect; an untouched frame (or one with only its path id changed) takes effect,
/// and a data frame delivers exactly the payload that was sealed.
enum SealedFrameForgery {
    enum Kind: UInt8, CaseIterable {
        case upstreamData, upstreamProbe, downstreamData, probeEcho, acceptance
    }

    /// The fixed test key: 32 bytes 0x00...0x1f.
    static let key = try! PreSharedKey(bytes: (0..<32).map { UInt8($0) })

    static func run(_ input: inout FuzzInput, keyring: Keyring) {
        let kind = Kind.allCases[Int(input.byte()) % Kind.allCases.count]
        let flips = (0..<(input.byte() % 9)).map { _ in (offset: Int(input.uint16()), mask: input.byte()) }
        let lengthChange = Int(Int8(bitPattern: input.byte()))
        let payload = Array(input.rest())

        let tunnel = EstablishedTunnel(sessionID: 0xaa, keyring: keyring)
        let original = authenticFrame(kind, payload: payload, tunnel: tunnel)
        var forged = original
        if lengthChange < 0 {
            forged.removeLast(min(-lengthChange, forged.count))
        } else {
            forged += repeatElement(payload.first ?? 0, count: lengthChange)
        }
        for flip in flips where !forged.isEmpty {
            forged[flip.offset % forged.count] ^= flip.mask
        }
        // The path id is a hint outside the seal, but in a probe, whose seal covers it (R18).
        let pathIDIsHint = kind != .upstreamProbe
        let tampered =
            forged.count != original.count
            || zip(forged, original).enumerated().contains {
                ($0.offset != FrameLayout.pathIDOffset || !pathIDIsHint) && $0.element.0 != $0.element.1
            }

        // For an acceptance, a fresh mpclient of the same session that has sent its probe.
        let receiver = kind == .acceptance ? freshClient(keyring: keyring) : tunnel.client
        let outcome = deliver(forged, kind: kind, tunnel: tunnel, client: receiver)
        if tampered {
            fuzzCheck(outcome == nil, "a tampered \(kind) frame took effect: \(outcome!)")
            let genuine = deliver(original, kind: kind, tunnel: tunnel, client: receiver)
            fuzzCheck(
                genuine == expectedEffect(kind, payload: payload),
                "after a forgery, the genuine \(kind) frame gave \(String(describing: genuine))")
        } else if forged[FrameLayout.pathIDOffset] < Defaults.maximumPaths
            || kind != .upstreamData && kind != .upstreamProbe
        {
            fuzzCheck(
                outcome == expectedEffect(kind, payload: payload),
                "an untouched \(kind) frame gave \(String(describing: outcome))")
        }
    }

    /// What a frame did at its receiver, in a comparable form; `nil` when it was dropped.
    enum Effect: Equatable {
        case delivered([UInt8])
        case answered
        case consumed
        case accepted
    }

    static func expectedEffect(_ kind: Kind, payload: [UInt8]) -> Effect {
        switch kind {
        case .upstreamData, .downstreamData: .delivered(payload)
        case .upstreamProbe: .answered
        case .probeEcho: .consumed
        case .acceptance: .accepted
        }
    }

    static func deliver(_ frame: [UInt8], kind: Kind, tunnel: EstablishedTunnel, client: ClientSession<Int>) -> Effect?
    {
        switch kind {
        case .upstreamData, .upstreamProbe:
            let received = tunnel.serverReceive(frame, path: 1)
            switch received.verdict {
            case .deliver(let payload, _, _): return .delivered(Array(received.frame[payload]))
            case .reply: return .answered
            case .consumed: return .consumed
            case .dropped: return nil
            }
        case .downstreamData, .probeEcho, .acceptance:
            let received = EstablishedTunnel.clientReceive(frame, session: client, path: 1)
            switch received.verdict {
            case .deliver(let payload, _): return .delivered(Array(received.frame[payload]))
            case .consumed: return .consumed
            case .accepted: return .accepted
            case .dropped: return nil
            }
        }
    }

    /// The frame of `kind` as its sender sealed it, path id 1.
    static func authenticFrame(_ kind: Kind, payload: [UInt8], tunnel: EstablishedTunnel) -> [UInt8] {
        let now = EstablishedTunnel.start
        var frame: [UInt8]
        switch kind {
        case .upstreamData:
            let sent = withFrameBuffer(payload: payload) {
                tunnel.client.encodePayload(
                    length: payload.count, from: EstablishedTunnel.applicationAddress, now: now, in: $0)
            }
            guard case .send(let length) = sent.verdict else { fatalError("set-up: payload not sent: \(sent.verdict)") }
            frame = Array(sent.frame[..<length])
        case .upstreamProbe, .probeEcho:
            let probe = withFrameBuffer(payload: []) { tunnel.client.probe(path: 1, now: now, into: $0) }
            guard let length = probe.verdict else { fatalError("set-up: no probe due on path 1") }
            frame = Array(probe.frame[..<length])
            if kind == .probeEcho {
                frame[FrameLayout.pathIDOffset] = 1
                let answer = tunnel.serverReceive(frame, path: 1)
                guard case .reply(let length, _) = answer.verdict else { fatalError("set-up: probe not echoed") }
                frame = Array(answer.reply[..<length])
            }
        case .downstreamData:
            guard let session = tunnel.server.sessions[tunnel.client.sessionID] else {
                fatalError("set-up: no session at mpserver")
            }
            let sent = withFrameBuffer(payload: payload) {
                tunnel.server.encodePayload(length: payload.count, session: session, flowID: 1, in: $0)
            }
            guard let length = sent.verdict else { fatalError("set-up: payload of \(payload.count) bytes not framed") }
            frame = Array(sent.frame[..<length])
        case .acceptance:
            frame = tunnel.acceptanceFrame
        }
        frame[FrameLayout.pathIDOffset] = 1
        return frame
    }

    private static func freshClient(keyring: Keyring) -> ClientSession<Int> {
        let client = ClientSession<Int>(
            sessionID: keyring.checkedSessionID(0xaa), pathCount: EstablishedTunnel.pathCount, keyring: keyring)
        _ = withFrameBuffer(payload: []) { client.probe(path: 0, now: EstablishedTunnel.start, into: $0) }
        return client
    }
}
