extension ServerEngine {
    /// Judges a datagram that arrived from `address` at `now`. The frame is opened in place,
    /// so a delivered payload is a range of `frame`; a reply (probe echo or acceptance) is
    /// written into `reply`, which must hold ``FrameLayout/maximumOverhead`` + 8 bytes.
    /// A session evicted to make room for a new one is passed to `onEvicted`.
    public func receiveFrame(
        _ frame: UnsafeMutableRawBufferPointer, from address: Address, now: Timestamp,
        reply: UnsafeMutableRawBufferPointer, using rng: inout some RandomNumberGenerator,
        onEvicted: (ServerSession<Address>) -> Void = { _ in }
    ) -> Inbound {
        let header: FrameHeader
        do {
            header = try FrameHeader.decode(UnsafeRawBufferPointer(frame))
        } catch {
            return drop(DropReason(error))
        }
        guard !header.type.isDownstream else { return drop(.wrongDirection) }
        let path = Int(header.pathID)
        guard path < Defaults.maximumPaths else { return drop(.pathOutOfRange) }
        // An unknown session's key is derived without creating the session: only a frame
        // that authenticates creates state (no state, no reply for forgeries). Before that
        // HKDF, R14a drops a forged session id for one HMAC, and at most 2,000 frames of
        // unknown sessions a second get as far as the key derivation.
        let existing = sessions[header.sessionID]
        if let unopened = dropUnopened(
            header, session: existing, path: path, from: address, bytes: frame.count, now: now)
        {
            return unopened
        }
        if existing == nil, let refused = refuseUnknownSession(header, now: now) { return refused }
        let protection = existing?.upstream ?? keyring.upstream(sessionID: header.sessionID)
        let body: Range<Int>
        switch protection.open(header, in: frame) {
        case .success(let range): body = range
        case .failure(let reason): return drop(reason)
        }
        guard header.hasValidShape(bodyLength: body.count) else { return drop(.malformed) }
        guard
            let session = existing
                ?? createSession(
                    header.sessionID, upstream: protection, firstSequence: header.sequence, now: now, using: &rng,
                    onEvicted: onEvicted)
        else { return drop(.sessionLimit) }
        guard header.serverTag == session.serverTag else {
            // R16a: only a frame near the session's own numbers draws an acceptance, so the tag
            // is not handed to a sender that has not seen the session's traffic.
            guard session.isNearAcceptanceReference(header.sequence) else { return drop(.staleServerTag) }
            // A session's first probes (tag 0) name their paths before the acceptance, so its
            // first replies can go on every path; such a probe only fills an empty address, as
            // an old incarnation's probe could be a replay.
            if header.type == .probe, session.pathAddresses[path] == nil { session.setAddress(address, of: path) }
            return acceptance(for: session, answering: header.sequence, path: path, to: address, now: now, into: reply)
        }
        return receiveAuthentic(
            header, body: body, in: frame, session: session, path: path, from: address, now: now, reply: reply)
    }

    /// Receiver rules R17–R20 for an authentic frame of the session's current tag.
    private func receiveAuthentic(
        _ header: FrameHeader, body: Range<Int>, in frame: UnsafeMutableRawBufferPointer,
        session: ServerSession<Address>, path: Int, from address: Address, now: Timestamp,
        reply: UnsafeMutableRawBufferPointer
    ) -> Inbound {
        // Keyless, one frame far ahead must not make every later one too old (R17a).
        if session.upstream.isKeyless,
            !session.jumpConfirmation.admits(header.sequence, highest: session.receiveWindow.highest)
        {
            return drop(.unconfirmedJump)
        }
        // Recorded only now that the frame authenticated: a forgery never marks a number seen.
        switch session.receiveWindow.check(header.sequence) {
        case .fresh: break
        case .duplicate:
            return duplicate(header, session: session, path: path, from: address, bytes: frame.count, now: now)
        case .tooOld: return drop(.tooOld)
        }
        // Only a fresh authentic probe moves a path (R18): its seal covers the path id, so a
        // bridge that rewrites the path id of the copies it carries cannot steer another path's
        // replies to itself; a replay never moves a path, a new address only as R18b says.
        if header.type == .probe { session.probeHeard(on: path, from: address, sequence: header.sequence, now: now) }
        session.lastReceive = now
        session.recordReceive(path: path, bytes: frame.count, now: now)
        // A path's departure entry (``PathReport``) names only frames from the path's own
        // address: a bridge that rewrites the path ids of its copies must not date another
        // path's departures with its own frames (mpclient's estimates of that path). The
        // mirror, likewise, makes a data path only of frames from there (R18b, R21).
        let fromPathAddress = session.pathAddresses[path] == address
        if fromPathAddress {
            session.paths[path].recordFresh(sequence: header.sequence, now: now)
        }
        if header.type != .upstreamData {
            // Its sequence number is taken: the reorder buffer must not wait for it.
            _ = admitInOrder(
                header, payload: UnsafeRawBufferPointer(start: nil, count: 0), session: session, path: path, now: now)
        }
        if header.type == .clientReport {
            session.mirror.recordReport(path: path, now: now, fromPathAddress: fromPathAddress)
            PathReport.forEachEntry(in: UnsafeRawBufferPointer(rebasing: frame[body])) { entry in
                session.paths[entry.path].peerReportedLoss = entry.loss
                let sentThrough = session.loads?.framesSent(
                    onPath: entry.path, throughReport: UnsafeRawBufferPointer(rebasing: frame[body]), now: now)
                _ = session.paths[entry.path].recordReport(received: entry.framesReceived, sentThrough: sentThrough)
            }
            let reported = session.paths
            session.loads?.recordReport(UnsafeRawBufferPointer(rebasing: frame[body])) {
                reported[$0].framesReportedReceived
            }
            return .consumed
        }
        if header.type == .upstreamParity {
            guard
                session.receiveParity(
                    header, body: UnsafeRawBufferPointer(rebasing: frame[body]), path: path, now: now,
                    fromPathAddress: fromPathAddress)
            else { return drop(.malformed) }
            noteRebuilt(session)
            return .consumed
        }
        if header.type == .probe {
            // R19: echoed only to the path's address; a probe from an address the path has
            // not moved to (R18b) is answered when it moves, so a sender that copies a path's
            // probes from elsewhere gets nothing back.
            guard session.pathAddresses[path] == address else { return .consumed }
            return echo(
                UnsafeRawBufferPointer(rebasing: frame[body]), session: session, path: path, to: address, now: now,
                into: reply)
        }
        session.payloadsDelivered &+= 1
        session.mirror.recordData(path: path, fresh: true, now: now, fromPathAddress: fromPathAddress)
        let payload = UnsafeRawBufferPointer(rebasing: frame[body])
        session.keepForParity(payload, sequence: header.sequence, now: now)
        noteRebuilt(session)
        guard admitInOrder(header, payload: payload, session: session, path: path, now: now) else { return .consumed }
        return .deliver(payload: body, session: session, flowID: header.flowID)
    }

    /// Receiver rule R13b, before R14: for a frame of a known session's current tag, a
    /// sequence number the window already holds (recorded only once an earlier copy
    /// authenticated) or one too old to judge is dropped without opening the frame, so the
    /// copies from the slower paths cost no AEAD work. `nil`: open the frame (always for an
    /// unknown session, which has no window yet, and for another tag, which R16 answers).
    private func dropUnopened(
        _ header: FrameHeader, session: ServerSession<Address>?, path: Int, from address: Address, bytes: Int,
        now: Timestamp
    ) -> Inbound? {
        guard let session, header.serverTag == session.serverTag else { return nil }
        switch session.receiveWindow.peek(header.sequence) {
        case .fresh: return nil
        case .duplicate: return duplicate(header, session: session, path: path, from: address, bytes: bytes, now: now)
        case .tooOld: return drop(.tooOld)
        }
    }

    /// Receiver rules R14a and R15, for a frame of a session mpserver does not know, before
    /// any key is derived: with a key, a session id that fails its check (``Keyring/isPlausible(sessionID:)``)
    /// is ``DropReason/authenticationFailed``; past ``Defaults/newSessionAttemptsPerSecond``
    /// such frames a second, or with the table full of live sessions, ``DropReason/sessionLimit``.
    /// `nil`: go on and open it.
    private func refuseUnknownSession(_ header: FrameHeader, now: Timestamp) -> Inbound? {
        // An unsealed frame at a keyed mpserver says "a key on one side only" before anything.
        if keyring.key != nil, !header.flags.contains(.authenticated) { return drop(.missingAuthentication) }
        guard !checksSessionIDs || keyring.isPlausible(sessionID: header.sessionID) else {
            return drop(.authenticationFailed)
        }
        guard newSessionBudget.take(now: now) else { return drop(.sessionLimit) }
        guard sessions.count < maximumSessions || evictableSession(now: now) != nil else { return drop(.sessionLimit) }
        return nil
    }

    /// A copy of a sequence number already recorded, usually not opened: an unauthenticated
    /// hint. It counts in the path's statistics and in the mirror's copies (R21), and never
    /// moves a reply address, restarts the idle timer or draws a reply (R18).
    private func duplicate(
        _ header: FrameHeader, session: ServerSession<Address>, path: Int, from address: Address, bytes: Int,
        now: Timestamp
    ) -> Inbound {
        if header.type == .probe { session.probeCopyHeard(on: path, from: address, sequence: header.sequence) }
        session.recordReceive(path: path, bytes: bytes, now: now, duplicate: true)
        let fromPathAddress = session.pathAddresses[path] == address
        if header.type == .upstreamData {
            session.mirror.recordData(path: path, fresh: false, now: now, fromPathAddress: fromPathAddress)
            session.reorder?.recordCopy(sequence: header.sequence, path: path, now: now)
        }
        if header.type == .clientReport {
            session.mirror.recordReport(path: path, now: now, fromPathAddress: fromPathAddress)
        }
        return drop(.duplicate)
    }

    /// Tells mpclient the session's current tag, in answer to frame `sequence` stamped with
    /// another: at start, after mpserver restarted, or a replay (which gains nothing: the
    /// acceptance goes only to the sender and is rate-limited per path).
    private func acceptance(
        for session: ServerSession<Address>, answering sequence: UInt64, path: Int, to address: Address,
        now: Timestamp, into reply: UnsafeMutableRawBufferPointer
    ) -> Inbound {
        if let last = session.lastAcceptance[path], now - last < Defaults.acceptanceInterval {
            return drop(.staleServerTag)
        }
        guard reply.count >= FrameLayout.maximumOverhead + FrameLayout.acceptanceBodySize else {
            return drop(.staleServerTag)
        }
        session.lastAcceptance[path] = now
        var writer = ByteWriter(reply, offset: FrameLayout.headerSize)
        writer.write(sequence)
        let length = session.seal(.acceptance, flowID: 0, bodyLength: FrameLayout.acceptanceBodySize, in: reply)
        session.loads?.recordSend(path: path, sequence: session.nextSequence - 1, bytes: length, now: now)
        FrameHeader.setPathID(UInt8(path), in: reply)
        return .reply(length: length, to: address)
    }

    private func echo(
        _ body: UnsafeRawBufferPointer, session: ServerSession<Address>, path: Int, to address: Address,
        now: Timestamp, into reply: UnsafeMutableRawBufferPointer
    ) -> Inbound {
        guard let timestamp = readBodyValue(body),
            reply.count >= FrameLayout.maximumOverhead + FrameLayout.probeBodySize
        else { return drop(.malformed) }
        var writer = ByteWriter(reply, offset: FrameLayout.headerSize)
        writer.write(timestamp)
        let length = session.seal(.probeEcho, flowID: 0, bodyLength: FrameLayout.probeBodySize, in: reply)
        // Every frame on a path is logged: a report naming an unlogged one would date it by an older one.
        session.loads?.recordSend(path: path, sequence: session.nextSequence - 1, bytes: length, now: now)
        FrameHeader.setPathID(UInt8(path), in: reply)
        session.recordSend(path: path, bytes: length)
        return .reply(length: length, to: address)
    }
}
