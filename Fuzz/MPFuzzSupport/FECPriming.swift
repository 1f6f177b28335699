import MPCore

/// `mode fec` for the frame targets: an established tunnel whose mpserver and mpclient each
/// hold a group still missing payloads (one payload and one parity shard of a 4:2 group
/// in), so that fuzzed frames meet the receivers' kept payloads and group state: a parity
/// frame that contradicts the group, completes it or names other sequence numbers.
extension EstablishedTunnel {
    /// Payloads of each primed group: the client's default `fec 4:2`.
    static let fecGroupSize = 4

    /// Sends a group of 4 payloads upstream and gives mpserver the first payload and the
    /// first parity shard; then mpserver, which now codes its replies, does the same the
    /// other way. Every step is checked: the set-up takes no fuzzer input.
    func primeFEC() {
        var frames: [[UInt8]] = []
        for index in 0..<Self.fecGroupSize {
            let payload = Array("fec \(index)".utf8)
            let sent = withFrameBuffer(payload: payload) {
                client.encodePayload(length: payload.count, from: Self.applicationAddress, now: Self.start, in: $0)
            }
            guard case .send(let length) = sent.verdict else { fatalError("set-up: fec payload: \(sent.verdict)") }
            _ = client.pathsFor(now: Self.start)
            frames.append(Array(sent.frame[..<length]))
        }
        let parity = drainParity { client.parity(now: Self.start, into: $0) }
        fuzzCheck(parity.count == 2, "set-up: \(parity.count) upstream parity frames")
        guard case .deliver = serverReceive(frames[0], path: 0).verdict else { fatalError("set-up: first payload") }
        guard case .consumed = serverReceive(parity[0], path: 1).verdict else {
            fatalError("set-up: upstream parity refused")
        }
        primeReplies()
    }

    /// mpserver's half of ``primeFEC()``: four replies on flow 1, of which mpclient gets the
    /// first and the first parity shard.
    private func primeReplies() {
        guard let session = server.sessions[client.sessionID] else { fatalError("set-up: no session") }
        var replies: [[UInt8]] = []
        for index in 0..<Self.fecGroupSize {
            let payload = Array("reply \(index)".utf8)
            let framed = withFrameBuffer(payload: payload) {
                server.encodePayload(length: payload.count, session: session, flowID: 1, now: Self.start, in: $0)
            }
            guard let length = framed.verdict else { fatalError("set-up: reply not framed") }
            _ = session.replyPaths(now: Self.start)
            replies.append(Array(framed.frame[..<length]))
        }
        let parity = drainParity { server.parity(for: session, now: Self.start, into: $0)?.length }
        fuzzCheck(parity.count == 2, "set-up: \(parity.count) downstream parity frames")
        guard case .deliver = clientReceive(replies[0], path: 0).verdict else { fatalError("set-up: first reply") }
        fuzzCheck(clientReceive(parity[0], path: 1).verdict == .consumed, "set-up: downstream parity refused")
    }

    private func drainParity(_ next: (UnsafeMutableRawBufferPointer) -> (length: Int, path: Int)?) -> [[UInt8]] {
        drainParity { next($0)?.length }
    }

    private func drainParity(_ next: (UnsafeMutableRawBufferPointer) -> Int?) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        var buffer = [UInt8](repeating: 0, count: 2_048)
        // Bounded: a group has at most 16 parity shards.
        for _ in 0...Defaults.maximumFECParityShards {
            guard let length = buffer.withUnsafeMutableBytes({ next($0) }) else { break }
            frames.append(Array(buffer[..<length]))
        }
        return frames
    }
}

extension FrameFuzzing {
    /// A parity frame's body that decodes checks out: its length is the prefix and the
    /// shard, every entry reads back, and the fixed part re-encodes byte for byte.
    static func checkParityBody(_ frame: UnsafeRawBufferPointer) {
        guard let header = try? FrameHeader.decode(frame),
            header.type == .upstreamParity || header.type == .downstreamParity
        else { return }
        let body = UnsafeRawBufferPointer(rebasing: frame[FrameLayout.headerSize...])
        guard let parity = ParityHeader.decode(body, sequence: header.sequence) else { return }
        fuzzCheck(parity.bodyLength == body.count, "parity body of \(body.count) bytes decoded as \(parity)")
        for position in 0..<parity.dataShards {
            fuzzCheck(parity.entry(position, in: body) != nil, "entry \(position) of \(parity) unreadable")
        }
        var encoded = [UInt8](repeating: 0, count: ParityHeader.Layout.fixedSize)
        encoded.withUnsafeMutableBytes { parity.encode(into: $0) }
        fuzzCheck(encoded.elementsEqual(body[..<ParityHeader.Layout.fixedSize]), "parity does not re-encode: \(parity)")
    }
}
