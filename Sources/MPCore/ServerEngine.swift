/// mpserver's sessions: judges frames from mpclients, creates and expires sessions, and
/// frames the target's replies.
///
/// Sessions are keyed by session id, never by source address: the copies of one frame
/// arrive from several bridges with different addresses. Pure: the runtime passes in bytes,
/// addresses and the time and carries out what the returned values say.
/// Not safe for concurrent use.
public final class ServerEngine<Address: Hashable> {
    /// What a frame from an mpclient means.
    public enum Inbound {
        /// Forward the bytes at `payload` of the frame buffer to the target, on the socket of
        /// flow `flowID` of `session`.
        case deliver(payload: Range<Int>, session: ServerSession<Address>, flowID: UInt32)
        /// Send the first `length` bytes of the reply buffer back to `address` (the frame's sender).
        case reply(length: Int, to: Address)
        /// A frame for mpserver itself (a receiver report), or a payload the reorder buffer
        /// holds (``releaseHeld(now:_:)`` gives it out), taken.
        case consumed
        /// Nothing to do (counted).
        case dropped(DropReason)
    }

    /// The sessions by id.
    public private(set) var sessions: [UInt64: ServerSession<Address>] = [:]
    /// Drops by reason.
    public private(set) var drops = DropCounters()
    /// Sessions created since start.
    public private(set) var sessionsCreated = 0
    /// The most sessions kept; past it, the one idle longest goes.
    public let maximumSessions: Int
    /// The key (or none) every session's keys derive from.
    public let keyring: Keyring
    /// Frames of unknown sessions opened per second (``Defaults/newSessionAttemptsPerSecond``).
    var newSessionBudget = TokenBucket(rate: Defaults.newSessionAttemptsPerSecond)
    /// How each session's reorder buffer holds payloads ahead of a gap (off: no buffer).
    public let reorderWindow: ReorderWindow
    /// The sessions whose reorder buffer holds frames: ``releaseHeld(now:_:)`` visits only these.
    public private(set) var holding: [ServerSession<Address>] = []
    /// Sessions with upstream payloads rebuilt from parity, waiting for
    /// ``releaseRebuilt(now:_:)``.
    public internal(set) var rebuilding: [ServerSession<Address>] = []
    /// Whether a keyed engine applies the session-id check (R14a). Only tests turn it off,
    /// to seal frames of any session id under a foreign key as an attacker's own build would.
    var checksSessionIDs = true

    /// An engine keeping at most `maximumSessions` sessions, sealing with `keyring`, putting
    /// each session's payloads back in order as `reorderWindow` says.
    public init(
        maximumSessions: Int = Defaults.maximumSessions, keyring: Keyring = .keyless,
        reorderWindow: ReorderWindow = .off
    ) {
        self.maximumSessions = max(1, maximumSessions)
        self.keyring = keyring
        self.reorderWindow = reorderWindow
    }

    /// Calls `body` with each payload the sessions' reorder buffers release at `now`, its
    /// session and flow id, in each session's sequence order. The runtime calls it after
    /// each received frame (cheap when nothing is held) and when ``nextReleaseDeadline(now:)``
    /// comes; a payload's bytes are valid until the next received frame.
    public func releaseHeld(now: Timestamp, _ body: (UnsafeRawBufferPointer, ServerSession<Address>, UInt32) -> Void) {
        guard !holding.isEmpty else { return }
        var index = 0
        while index < holding.count {
            let session = holding[index]
            while session.reorder?.releaseNext(now: now, { body($0, session, $1) }) == true {}
            if (session.reorder?.heldCount ?? 0) == 0 || sessions[session.sessionID] !== session {
                holding.swapAt(index, holding.count - 1)
                holding.removeLast()
            } else {
                index += 1
            }
        }
    }

    /// How long from `now` until a held payload is due, or `nil` when none is held.
    public func nextReleaseDeadline(now: Timestamp) -> TimeSpan? {
        var earliest: TimeSpan?
        for session in holding {
            guard let due = session.reorder?.nextDeadline(now: now) else { continue }
            earliest = min(earliest ?? due, due)
        }
        return earliest
    }

    /// Puts fresh frame `header` of `session`, from `path`, through the session's reorder
    /// buffer: true when a payload goes out now, false when it is held or is not a payload.
    func admitInOrder(
        _ header: FrameHeader, payload: UnsafeRawBufferPointer, session: ServerSession<Address>, path: Int,
        now: Timestamp
    ) -> Bool {
        let isPayload = header.type == .upstreamData
        guard session.reorder != nil else { return isPayload }
        let goesNow =
            session.reorder?.admit(
                sequence: header.sequence, isPayload: isPayload, payload: payload, address: header.flowID, path: path,
                now: now) ?? isPayload
        if (session.reorder?.heldCount ?? 0) > 0, !holding.contains(where: { $0 === session }) {
            holding.append(session)
        }
        return goesNow
    }

    /// Frames the target's datagram of `payloadLength` bytes, already at offset
    /// ``FrameLayout/headerSize`` of `frame`, for flow `flowID` of `session`. Returns the
    /// frame's length (send it to every address in `session.pathAddresses`, after setting
    /// the path id), or `nil` when the payload is too large (counted).
    public func encodePayload(
        length payloadLength: Int, session: ServerSession<Address>, flowID: UInt32,
        now: Timestamp = Timestamp(nanoseconds: 0), in frame: UnsafeMutableRawBufferPointer
    ) -> Int? {
        guard payloadLength <= Defaults.maximumPayload, frame.count >= payloadLength + FrameLayout.maximumOverhead
        else {
            drops.record(.oversized)
            return nil
        }
        if session.isMirroringFEC(now: now), let sender = session.fecSender {
            let payload = UnsafeRawBufferPointer(rebasing: frame[FrameLayout.headerSize...].prefix(payloadLength))
            session.fecShard = sender.add(payload, sequence: session.nextSequence, flowID: flowID, now: now)
        }
        let length = session.seal(.downstreamData, flowID: flowID, bodyLength: payloadLength, in: frame)
        if session.fecShard != nil { session.fecSender?.recordDataFrame(bytes: length) }
        return length
    }

    /// Writes a receiver report for `session` (``PathReport``: what arrived on each path id)
    /// into `frame` if one is due at `now` and returns its length (send it on every path of
    /// `session.reportPaths(now:)`, after setting the path id); `nil` when none is due: every
    /// ``Defaults/reportInterval`` while frames of the session arrive. `frame` must hold
    /// ``PathReport/maximumFrameLength`` bytes.
    public func report(for session: ServerSession<Address>, now: Timestamp, into frame: UnsafeMutableRawBufferPointer)
        -> Int?
    {
        guard now - (session.lastReportSent ?? Timestamp(nanoseconds: 0)) >= Defaults.reportInterval else { return nil }
        let received = session.totals.framesReceived
        guard received != session.receivedAtLastReport, frame.count >= PathReport.maximumFrameLength else { return nil }
        session.lastReportSent = now
        session.receivedAtLastReport = received
        let bodyLength = PathReport.write(session.paths, now: now, into: frame)
        guard bodyLength > 0 else { return nil }
        let length = session.seal(.serverReport, flowID: 0, bodyLength: bodyLength, in: frame)
        if session.loads != nil {
            for path in session.reportPaths(now: now).members {
                session.loads?.recordSend(path: path, sequence: session.nextSequence - 1, bytes: length, now: now)
            }
        }
        return length
    }

    /// For a session whose mpclient balances (``ReplyMirror/isBalanced``): writes a receiver
    /// report into `frame` if one is due at `now` and returns its length and the one path it
    /// goes on (where it arrives first); `nil` when none is due: every
    /// ``Defaults/feedbackInterval`` while frames of the session arrive
    /// (``Defaults/feedbackShortInterval`` while they arrive fast), between the reports on
    /// every path, so that mpclient's estimates of the paths' capacities (``PathLoad``)
    /// follow within a few tens of milliseconds. `frame` must hold
    /// ``PathReport/maximumFrameLength`` bytes.
    public func feedback(
        for session: ServerSession<Address>, now: Timestamp, into frame: UnsafeMutableRawBufferPointer
    ) -> (length: Int, path: Int)? {
        guard session.mirror.isBalanced else { return nil }
        let received = session.totals.framesReceived
        let elapsed = now - (session.lastFeedbackSent ?? Timestamp(nanoseconds: 0))
        guard Defaults.isFeedbackDue(after: elapsed, frames: received &- session.receivedAtLastFeedback),
            frame.count >= PathReport.maximumFrameLength
        else { return nil }
        let estimated = FrameLayout.maximumOverhead + PathReport.entriesLength(session.paths)
        guard let path = session.earliestPath(among: session.reportPaths(now: now), bytes: estimated, now: now) else {
            return nil
        }
        session.lastFeedbackSent = now
        session.receivedAtLastFeedback = received
        let bodyLength = PathReport.write(session.paths, now: now, into: frame)
        guard bodyLength > 0 else { return nil }
        let length = session.seal(.serverReport, flowID: 0, bodyLength: bodyLength, in: frame)
        session.loads?.recordSend(path: path, sequence: session.nextSequence - 1, bytes: length, now: now)
        return (length, path)
    }

    /// Forgets sessions with no fresh authentic frame for `timeout`; calls `onExpired` with
    /// each one forgotten so the runtime can close its flows. Allocates only when some
    /// session expires (the runtime calls it every second).
    public func expire(idleFor timeout: TimeSpan, now: Timestamp, onExpired: (ServerSession<Address>) -> Void) {
        var expiredCount = 0
        for session in sessions.values where now - session.lastReceive >= timeout { expiredCount += 1 }
        guard expiredCount > 0 else { return }
        let expired = sessions.values.filter { now - $0.lastReceive >= timeout }
        for session in expired {
            sessions[session.sessionID] = nil
            onExpired(session)
        }
    }

    /// Creates session `sessionID` (unknown until now) with a fresh random tag, once its
    /// first frame, number `firstSequence`, has opened under `upstream`. When the table is
    /// full the session idle the longest is dropped first and passed to `onEvicted`, if it
    /// has been idle for ``Defaults/sessionEvictableAfter``; otherwise `nil`: no session is
    /// created (R15).
    func createSession(
        _ sessionID: UInt64, upstream: FrameProtection, firstSequence: UInt64, now: Timestamp,
        using rng: inout some RandomNumberGenerator, onEvicted: (ServerSession<Address>) -> Void
    ) -> ServerSession<Address>? {
        if sessions.count >= maximumSessions {
            guard let oldest = evictableSession(now: now) else { return nil }
            sessions[oldest.sessionID] = nil
            onEvicted(oldest)
        }
        var tag: UInt64 = 0
        while tag == 0 { tag = rng.next() }
        let session = ServerSession<Address>(
            sessionID: sessionID, serverTag: tag, now: now, upstream: upstream, keyring: keyring)
        session.acceptanceReference = firstSequence
        if reorderWindow != .off { session.reorder = ReorderBuffer(window: reorderWindow) }
        sessions[sessionID] = session
        sessionsCreated += 1
        return session
    }

    /// The session idle the longest, if it has been idle for ``Defaults/sessionEvictableAfter``
    /// at `now`: a live session is never evicted for a new one.
    func evictableSession(now: Timestamp) -> ServerSession<Address>? {
        guard let oldest = sessions.values.min(by: { $0.lastReceive < $1.lastReceive }),
            now - oldest.lastReceive >= Defaults.sessionEvictableAfter
        else { return nil }
        return oldest
    }

    func drop(_ reason: DropReason) -> Inbound {
        drops.record(reason)
        return .dropped(reason)
    }
}
