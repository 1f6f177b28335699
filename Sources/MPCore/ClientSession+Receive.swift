extension ClientSession {
    /// Judges a datagram that arrived from mpserver on path `path` at `now`. The frame is
    /// opened in place, so a delivered payload is a range of `frame`.
    public func receiveFrame(_ frame: UnsafeMutableRawBufferPointer, path: Int, now: Timestamp) -> Inbound {
        let header: FrameHeader
        do {
            header = try FrameHeader.decode(UnsafeRawBufferPointer(frame))
        } catch {
            return drop(DropReason(error))
        }
        guard header.type.isDownstream else { return drop(.wrongDirection) }
        guard header.sessionID == sessionID else { return drop(.unknownSession) }
        guard paths.indices.contains(path) else { return drop(.pathOutOfRange) }
        // Another tag's frames open under that tag's key, derived here: an acceptance must
        // authenticate before it can change the tag (receiver rule R9).
        let protection = isAccepted && header.serverTag == serverTag
            ? downstream : keyring.downstream(sessionID: sessionID, serverTag: header.serverTag)
        let body: Range<Int>
        switch protection.open(header, in: frame) {
        case .success(let range): body = range
        case .failure(let reason): return drop(reason)
        }
        guard header.hasValidShape(bodyLength: body.count) else { return drop(.malformed) }
        if header.type == .acceptance {
            let body = UnsafeRawBufferPointer(rebasing: frame[body])
            return accept(header, body: body, protection: protection, path: path, now: now)
        }
        guard header.serverTag == serverTag, isAccepted else { return drop(.staleServerTag) }
        switch receiveWindow.check(header.sequence) {
        case .fresh: break
        case .duplicate: return drop(.duplicate, recordingOn: path, bytes: frame.count, now: now)
        case .tooOld: return drop(.tooOld)
        }
        paths[path].recordReceive(bytes: frame.count, now: now)
        return header.type == .probeEcho
            ? echo(body: UnsafeRawBufferPointer(rebasing: frame[body]), path: path, now: now)
            : deliver(header, body: body, now: now)
    }

    /// Writes the frame of the oldest held payload into `frame` after an acceptance and
    /// returns its length (send it on every path), or `nil` when none is left.
    /// `frame` must hold ``Defaults/maximumPayload`` + ``FrameLayout/maximumOverhead`` bytes.
    public func nextHeldFrame(now: Timestamp, into frame: UnsafeMutableRawBufferPointer) -> Int? {
        guard isAccepted, !held.isEmpty else { return nil }
        let payload = held.removeFirst()
        guard frame.count >= payload.bytes.count + FrameLayout.maximumOverhead else {
            drops.record(.oversized)
            return nextHeldFrame(now: now, into: frame)
        }
        payload.bytes.withUnsafeBytes { bytes in
            UnsafeMutableRawBufferPointer(rebasing: frame[FrameLayout.headerSize...]).copyMemory(from: bytes)
        }
        return seal(.upstreamData, flowID: payload.flowID, bodyLength: payload.bytes.count, in: frame)
    }

    /// Number of payloads waiting for mpserver's acceptance.
    public var heldCount: Int { held.count }

    /// An acceptance counts only if it answers a frame sent after the one the current tag's
    /// acceptance answered: a replayed acceptance from an earlier incarnation cannot roll
    /// the session back (receiver rule R9).
    private func accept(
        _ header: FrameHeader, body: UnsafeRawBufferPointer, protection: FrameProtection, path: Int, now: Timestamp
    ) -> Inbound {
        guard let answered = readBodyValue(body), header.serverTag != 0 else { return drop(.malformed) }
        guard answered < nextSequence else { return drop(.malformed) }
        guard answered > acceptedAtSequence else {
            return drop(header.serverTag == serverTag ? .duplicate : .staleServerTag)
        }
        paths[path].recordReceive(bytes: body.count + FrameLayout.headerSize, now: now)
        if header.serverTag == serverTag {
            acceptedAtSequence = answered
            return .consumed
        }
        let restarted = isAccepted
        serverTag = header.serverTag
        downstream = protection
        acceptedAtSequence = answered
        receiveWindow.reset()
        _ = receiveWindow.check(header.sequence)
        return .accepted(serverTag: header.serverTag, restarted: restarted)
    }

    private func echo(body: UnsafeRawBufferPointer, path: Int, now: Timestamp) -> Inbound {
        guard let sentAt = readBodyValue(body) else { return drop(.malformed) }
        let sent = Timestamp(nanoseconds: sentAt)
        if sent <= now { paths[path].lastRoundTrip = now - sent }
        return .consumed
    }

    private func deliver(_ header: FrameHeader, body: Range<Int>, now: Timestamp) -> Inbound {
        guard header.type == .downstreamData else { return drop(.malformed) }
        guard let address = flows.address(of: header.flowID, now: now) else { return drop(.unknownFlow) }
        payloadsDelivered &+= 1
        return .deliver(payload: body, to: address)
    }

    private func drop(_ reason: DropReason) -> Inbound {
        drops.record(reason)
        return .dropped(reason)
    }

    /// A duplicate is still an authentic frame heard on its path: it counts for liveness.
    private func drop(_ reason: DropReason, recordingOn path: Int, bytes: Int, now: Timestamp) -> Inbound {
        paths[path].recordReceive(bytes: bytes, now: now)
        return drop(reason)
    }
}
