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
        if let unopened = dropUnopened(header, path: path, bytes: frame.count, now: now) { return unopened }
        // Another tag's frames open under that tag's key, derived here: an acceptance must
        // authenticate before it can change the tag (receiver rule R9).
        let protection =
            isAccepted && header.serverTag == serverTag
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
        // Keyless, one frame far ahead must not make every later one too old (R11a).
        if protection.isKeyless, !jumpConfirmation.admits(header.sequence, highest: receiveWindow.highest) {
            return drop(.unconfirmedJump)
        }
        // Recorded only now that the frame authenticated: a forgery never marks a number seen.
        switch receiveWindow.check(header.sequence) {
        case .fresh: break
        case .duplicate: return drop(.duplicate, header, recordingOn: path, bytes: frame.count, now: now)
        case .tooOld: return drop(.tooOld)
        }
        heard(path: path, bytes: frame.count, now: now)
        paths[path].recordFresh(sequence: header.sequence, now: now)
        switch header.type {
        case .probeEcho: return echo(header, body: UnsafeRawBufferPointer(rebasing: frame[body]), path: path, now: now)
        case .serverReport: return report(header, body: UnsafeRawBufferPointer(rebasing: frame[body]), now: now)
        case .downstreamParity:
            return receiveParity(header, body: UnsafeRawBufferPointer(rebasing: frame[body]), now: now)
        default: return deliver(header, body: body, in: UnsafeRawBufferPointer(frame), path: path, now: now)
        }
    }

    /// mpserver's receiver report: a path whose count grew delivers upstream, so it is
    /// heard from (H4b: a lossy path that carries the session's frames stays up, whatever
    /// its probes lose), and its loss is the share of what this side sent that did not arrive.
    private func report(_ header: FrameHeader, body: UnsafeRawBufferPointer, now: Timestamp) -> Inbound {
        skipInReorder(header.sequence, now: now)
        PathReport.forEachEntry(in: body) { entry in
            guard paths.indices.contains(entry.path) else { return }
            paths[entry.path].peerReportedLoss = entry.loss
            let sentThrough = loads?.framesSent(onPath: entry.path, throughReport: body, now: now)
            guard paths[entry.path].recordReport(received: entry.framesReceived, sentThrough: sentThrough) else {
                return
            }
            // Heard when mpserver last received on it, not when the report came: a report
            // that left late (mpserver heard nothing for a while) does not revive a dead path.
            guard now.nanoseconds > entry.age.nanoseconds else { return }
            health[entry.path].recordDelivered(at: Timestamp(nanoseconds: now.nanoseconds - entry.age.nanoseconds))
        }
        let reported = paths
        loads?.recordReport(body) { reported[$0].framesReportedReceived }
        return .consumed
    }

    /// Receiver rule R7b, before R8: for a frame of the current tag, a sequence number the
    /// window already holds (recorded only once an earlier copy authenticated) or one too
    /// old to judge is dropped without opening the frame, so the copies from the slower paths
    /// cost no AEAD work. Such a duplicate is an unauthenticated hint: it counts in the path's
    /// statistics and as the path heard from, nothing else. `nil`: open the frame.
    /// Acceptances are always opened (R9 is their replay protection).
    private func dropUnopened(_ header: FrameHeader, path: Int, bytes: Int, now: Timestamp) -> Inbound? {
        guard header.type != .acceptance, isAccepted, header.serverTag == serverTag else { return nil }
        switch receiveWindow.peek(header.sequence) {
        case .fresh: return nil
        case .duplicate: return drop(.duplicate, header, recordingOn: path, bytes: bytes, now: now)
        case .tooOld: return drop(.tooOld)
        }
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
            // The same tag answering an earlier frame: this path's first probe, answered after
            // another path's acceptance came in. It answers the probe all the same.
            if header.serverTag == serverTag { health[path].recordAcceptance(now: now) }
            return drop(header.serverTag == serverTag ? .duplicate : .staleServerTag)
        }
        heard(path: path, bytes: body.count + FrameLayout.headerSize, now: now)
        // The acceptance answers the path's probe in place of an echo: not a loss.
        health[path].recordAcceptance(now: now)
        if header.serverTag == serverTag {
            acceptedAtSequence = answered
            skipInReorder(header.sequence, now: now)
            return .consumed
        }
        let restarted = isAccepted
        serverTag = header.serverTag
        // A probe on every path at once under the new tag: mpserver routes replies only by
        // probes (R18), so each path gets its reply address before the held payloads' replies.
        for path in paths.indices { paths[path].lastProbeSent = nil }
        downstream = protection
        acceptedAtSequence = answered
        receiveWindow.reset()
        jumpConfirmation = JumpConfirmation()
        _ = receiveWindow.check(header.sequence)
        reorder?.reset()
        skipInReorder(header.sequence, now: now)
        return .accepted(serverTag: header.serverTag, restarted: restarted)
    }

    private func echo(_ header: FrameHeader, body: UnsafeRawBufferPointer, path: Int, now: Timestamp) -> Inbound {
        skipInReorder(header.sequence, now: now)
        guard let sentAt = readBodyValue(body) else { return drop(.malformed) }
        let sent = Timestamp(nanoseconds: sentAt)
        if sent <= now { paths[path].lastRoundTrip = now - sent }
        health[path].recordEcho(sentAt: sent, now: now)
        return .consumed
    }

    private func deliver(
        _ header: FrameHeader, body: Range<Int>, in frame: UnsafeRawBufferPointer, path: Int, now: Timestamp
    ) -> Inbound {
        guard header.type == .downstreamData else { return drop(.malformed) }
        guard let address = flows.address(of: header.flowID, now: now) else {
            skipInReorder(header.sequence, now: now)
            return drop(.unknownFlow)
        }
        payloadsDelivered &+= 1
        keepForParity(UnsafeRawBufferPointer(rebasing: frame[body]), sequence: header.sequence, now: now)
        if reorder != nil {
            let payload = UnsafeRawBufferPointer(rebasing: frame[body])
            let deliversNow = reorder?.admit(
                sequence: header.sequence, isPayload: true, payload: payload, address: address, path: path, now: now)
            if deliversNow == false { return .consumed }
        }
        return .deliver(payload: body, to: address)
    }

    /// Calls `body` with the next payload the reorder buffer releases at `now` and the
    /// application address it goes to; returns false when none is due. The runtime calls it
    /// until false after each received frame and on a timer finer than the window.
    public func releaseHeld(now: Timestamp, _ body: (UnsafeRawBufferPointer, Address) -> Void) -> Bool {
        reorder?.releaseNext(now: now, body) ?? false
    }

    /// A fresh frame without a payload for the application still takes its sequence number:
    /// the reorder buffer must not wait for it.
    func skipInReorder(_ sequence: UInt64, now: Timestamp) {
        guard reorder != nil else { return }
        _ = reorder?.admit(
            sequence: sequence, isPayload: false, payload: UnsafeRawBufferPointer(start: nil, count: 0), address: nil,
            now: now)
    }

    private func drop(_ reason: DropReason) -> Inbound {
        drops.record(reason)
        return .dropped(reason)
    }

    /// A duplicate is a copy of a sequence number that authenticated on some path; judged
    /// before opening, it is a hint, not proof, yet it counts for the path's liveness: the
    /// path sockets are connected, so only the bridge's address reaches them, and a slower
    /// path in duplicate mode carries nothing but duplicates and must stay up.
    /// A payload's copy is the reorder buffer's measure of the path's lag behind the first.
    private func drop(
        _ reason: DropReason, _ header: FrameHeader, recordingOn path: Int, bytes: Int, now: Timestamp
    ) -> Inbound {
        heard(path: path, bytes: bytes, now: now)
        if header.type == .downstreamData { reorder?.recordCopy(sequence: header.sequence, path: path, now: now) }
        paths[path].duplicatesReceived &+= 1
        return drop(reason)
    }

    private func heard(path: Int, bytes: Int, now: Timestamp) {
        lastHeardAny = now
        paths[path].recordReceive(bytes: bytes, now: now)
        health[path].recordHeard(now: now)
    }
}
