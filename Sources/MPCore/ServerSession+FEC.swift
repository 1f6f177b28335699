extension ServerSession {
    /// True while mpclient sends parity (within two ``Defaults/mirrorEpoch`` of the last):
    /// the replies are coded as mpclient codes (R21b).
    public func isMirroringFEC(now: Timestamp) -> Bool {
        guard fecSender != nil, let last = lastParityReceived else { return false }
        return now - last < TimeSpan(nanoseconds: 2 * Defaults.mirrorEpoch.nanoseconds)
    }

    /// The path of reply shard `shard` among `candidates`, in turn as mpclient does
    /// (``ClientSession/fecPath(shard:among:)``).
    func fecPath(shard: Int, among candidates: PathSet) -> Int? {
        candidates.member(turn: (fecSender?.groupsStarted ?? 0) + shard)
    }

    /// A fresh authentic upstream parity frame (rules F1–F4), arrived on `path`: holds its
    /// parity, and mirrors its group size and parity count for the replies (R21b).
    func receiveParity(
        _ header: FrameHeader, body: UnsafeRawBufferPointer, path: Int, now: Timestamp, fromPathAddress: Bool = true
    ) -> Bool {
        guard let parity = ParityHeader.decode(body, sequence: header.sequence) else { return false }
        if fecReceiver == nil { fecReceiver = FECReceiver() }
        let window = receiveWindow
        guard fecReceiver?.parityArrived(parity, body: body, now: now, isSeen: { window.peek($0) != .fresh }) == true
        else { return false }
        mirror.recordReport(path: path, now: now, fromPathAddress: fromPathAddress)
        lastParityReceived = now
        let settings = FECSettings(dataShards: parity.groupSize, parityShards: parity.parityShards)
        if fecSender?.settings != settings { fecSender = FECSender(settings: settings) }
        return true
    }

    /// Keeps a fresh upstream payload for its group's rebuilding, once mpclient sends parity.
    func keepForParity(_ payload: UnsafeRawBufferPointer, sequence: UInt64, now: Timestamp) {
        guard let fecReceiver else { return }
        fecReceiver.keep(payload, sequence: sequence, now: now)
        let window = receiveWindow
        fecReceiver.payloadArrived(sequence: sequence, now: now) { window.peek($0) != .fresh }
    }

    /// True while mpclient's parity makes this session's replies coded (R21b).
    public var codesReplies: Bool { fecSender != nil }

    /// True once mpclient sent parity: the session keeps its payloads for rebuilding.
    public var hasFECReceiver: Bool { fecReceiver != nil }

    /// True when groups wait to be rebuilt from parity, or rebuilt payloads to be
    /// delivered, by ``ServerEngine/releaseRebuilt(now:_:)``.
    public var hasRebuilt: Bool { fecReceiver?.hasRebuilt ?? false }

    /// The length of the open reply group's next parity frame (its room in a buffer), or `nil`.
    public var parityFrameLength: Int? { fecSender?.nextParityBodyLength.map { $0 + FrameLayout.maximumOverhead } }

    /// True when the open reply group's parity is due at `now`.
    public func isParityDue(now: Timestamp) -> Bool { fecSender?.isParityDue(now: now) ?? false }

    /// When the open reply group's parity falls due without another reply, or `nil`.
    public var fecDeadline: Timestamp? { fecSender?.deadline }

    /// Forward error correction both ways: the reply groups sent and their parity, and the
    /// upstream groups complete, rebuilt and lost.
    public var fecStatistics: FECStatistics {
        FECStatistics(sent: fecSender?.statistics, received: fecReceiver?.statistics)
    }
}

extension ServerEngine {
    /// Rebuilds the payloads of the groups that have K shards in and whose rebuilding is due
    /// at `now`, then calls `body` with each upstream payload rebuilt that is fresh in its
    /// session's replay window (rule F5), the session and the flow id; the bytes are valid
    /// until the next frame. Rebuilt payloads go to the target at once, past the reorder
    /// buffer. The runtime calls it after each batch of frames while ``rebuilding`` is not
    /// empty, and at ``rebuildDeadline``; sessions whose groups still wait stay on the list.
    public func releaseRebuilt(
        now: Timestamp, _ body: (UnsafeRawBufferPointer, ServerSession<Address>, UInt32) -> Void
    ) {
        for index in rebuilding.indices {
            let session = rebuilding[index]
            let isSeen: (UInt64) -> Bool = { session.receiveWindow.peek($0) != .fresh }
            session.fecReceiver?.releaseRebuilt(now: now, isSeen: isSeen) { sequence, flowID, payload in
                guard session.receiveWindow.check(sequence) == .fresh else { return }
                session.payloadsDelivered &+= 1
                session.fecReceiver?.statistics.payloadsRebuilt += 1
                body(payload, session, flowID)
            }
        }
        // By index, in place: a generic removal allocates per call in unoptimized builds.
        var kept = 0
        for index in 0..<rebuilding.count where rebuilding[index].hasRebuilt {
            rebuilding.swapAt(kept, index)
            kept += 1
        }
        rebuilding.removeLast(rebuilding.count - kept)
    }

    /// When the first group of a session on ``rebuilding`` is due to be rebuilt, or `nil`:
    /// the runtime sets a timer for it.
    public var rebuildDeadline: Timestamp? {
        var earliest: Timestamp?
        for index in 0..<rebuilding.count {
            guard let due = rebuilding[index].fecReceiver?.rebuildDeadline else { continue }
            if earliest.map({ due < $0 }) ?? true { earliest = due }
        }
        return earliest
    }

    /// Puts `session` on ``rebuilding`` if its parity rebuilt payloads.
    func noteRebuilt(_ session: ServerSession<Address>) {
        guard session.hasRebuilt else { return }
        // By index: a generic search allocates per call in unoptimized builds.
        for index in 0..<rebuilding.count where rebuilding[index] === session { return }
        rebuilding.append(session)
    }

    /// `mode fec` mirrored: writes the next parity frame of `session`'s open reply group into
    /// `frame` if it is due at `now` and returns its length and path id (send it to that
    /// path's address); `nil` when none is due. The runtime asks after each reply until
    /// `nil`, and at the session's ``ServerSession/fecDeadline``.
    /// `frame` must hold ``Defaults/maximumPayload`` + ``FrameLayout/maximumOverhead`` bytes.
    public func parity(for session: ServerSession<Address>, now: Timestamp, into frame: UnsafeMutableRawBufferPointer)
        -> (length: Int, path: Int)?
    {
        guard let sender = session.fecSender, sender.isParityDue(now: now),
            let bodyLength = sender.nextParityBodyLength, frame.count >= bodyLength + FrameLayout.maximumOverhead,
            let (written, index) = sender.nextParityBody(
                into: UnsafeMutableRawBufferPointer(rebasing: frame[FrameLayout.headerSize...]))
        else { return nil }
        let length = session.seal(.downstreamParity, flowID: 0, bodyLength: written, in: frame)
        sender.recordParityFrame(bytes: length)
        let recent = session.mirror.dataPaths(heard: session.heardPaths, now: now)
        guard let path = session.fecPath(shard: index, among: recent) else { return nil }
        FrameHeader.setPathID(UInt8(path), in: frame)
        return (length, path)
    }
}
