extension ClientSession {
    /// `mode fec`: the path of shard `shard` of the open group among `candidates`: shards
    /// take the candidates in turn, from a first path that turns with each group, so a group
    /// of K + M shards puts at most ⌈(K + M) / paths⌉ on any path (M or fewer when the paths
    /// are at least (K + M) / M: 3 for `fec 4:2` and `fec 8:4`).
    func fecPath(shard: Int, among candidates: PathSet) -> Int {
        candidates.member(turn: (fecSender?.groupsStarted ?? 0) + shard) ?? 0
    }

    /// `mode fec`: writes the next parity frame of the open group into `frame` if its parity
    /// is due at `now` (the group is full, or ``FECSettings/timeout`` passed since its first
    /// payload) and returns its length and the one path it goes on; `nil` when none is due.
    /// The runtime asks after each payload until `nil`, and at ``fecDeadline``.
    /// `frame` must hold ``Defaults/maximumPayload`` + ``FrameLayout/maximumOverhead`` bytes.
    public func parity(now: Timestamp, into frame: UnsafeMutableRawBufferPointer) -> (length: Int, path: Int)? {
        guard let fecSender, fecSender.isParityDue(now: now), let bodyLength = fecSender.nextParityBodyLength,
            frame.count >= bodyLength + FrameLayout.maximumOverhead,
            let (written, index) = fecSender.nextParityBody(
                into: UnsafeMutableRawBufferPointer(rebasing: frame[FrameLayout.headerSize...]))
        else { return nil }
        let length = seal(.upstreamParity, flowID: 0, bodyLength: written, in: frame)
        fecSender.recordParityFrame(bytes: length)
        let usable = usablePaths(now: now)
        let path = fecPath(shard: index, among: usable.isEmpty ? .first(paths.count) : candidatePaths(now: now))
        return (length, path)
    }

    /// The length of the open group's next parity frame (its room in a buffer), or `nil`.
    public var parityFrameLength: Int? { fecSender?.nextParityBodyLength.map { $0 + FrameLayout.maximumOverhead } }

    /// True when the open group's parity is due at `now` (``parity(now:into:)`` has a frame).
    public func isParityDue(now: Timestamp) -> Bool { fecSender?.isParityDue(now: now) ?? false }

    /// When the open group's parity falls due without another payload (``FECSettings/timeout``
    /// after its first), or `nil`: the runtime sets a timer for it.
    public var fecDeadline: Timestamp? { fecSender?.deadline }

    /// Forward error correction both ways: the upstream groups sent and their parity, and the
    /// downstream groups complete, rebuilt and lost.
    public var fecStatistics: FECStatistics {
        FECStatistics(sent: fecSender?.statistics, received: fecReceiver?.statistics)
    }

    /// True when groups wait to be rebuilt from parity, or rebuilt payloads to be
    /// delivered, by ``releaseRebuilt(now:_:)``.
    public var hasRebuilt: Bool { fecReceiver?.hasRebuilt ?? false }

    /// When the first group waiting to be rebuilt is due (``Defaults/fecRebuildMargin``
    /// after its K-th shard came), or `nil`: the runtime sets a timer for it.
    public var rebuildDeadline: Timestamp? { fecReceiver?.rebuildDeadline }

    /// Rebuilds the payloads of the groups that have K shards in and whose rebuilding is due
    /// at `now` (the runtime calls this after each batch of frames and at
    /// ``rebuildDeadline``: a payload whose frame comes within the margin is not rebuilt),
    /// then calls `body` with each one that is fresh in the replay window
    /// (rule F5: it takes its own sequence number, recorded now) and the application address
    /// of its flow; the bytes are valid until the next frame. With the reorder buffer on, a
    /// rebuilt payload goes there instead.
    public func releaseRebuilt(now: Timestamp, _ body: (UnsafeRawBufferPointer, Address) -> Void) {
        // Peeked through `self`: a copy of the window would be copied whole when the
        // release below records a sequence number.
        fecReceiver?.releaseRebuilt(now: now, isSeen: { self.receiveWindow.peek($0) != .fresh }) {
            sequence, flowID, payload in
            guard receiveWindow.check(sequence) == .fresh else { return }
            guard let address = flows.address(of: flowID, now: now) else {
                skipInReorder(sequence, now: now)
                drops.record(.unknownFlow)
                return
            }
            payloadsDelivered &+= 1
            fecReceiver?.statistics.payloadsRebuilt += 1
            if reorder != nil {
                let now = reorder?.admit(
                    sequence: sequence, isPayload: true, payload: payload, address: address, now: now)
                if now == false { return }
            }
            body(payload, address)
        }
    }

    /// A fresh, authentic downstream parity frame (rule F1–F4).
    func receiveParity(_ header: FrameHeader, body: UnsafeRawBufferPointer, now: Timestamp) -> Inbound {
        skipInReorder(header.sequence, now: now)
        guard let parity = ParityHeader.decode(body, sequence: header.sequence) else {
            drops.record(.malformed)
            return .dropped(.malformed)
        }
        if fecReceiver == nil { fecReceiver = FECReceiver() }
        let window = receiveWindow
        let consistent = fecReceiver?.parityArrived(parity, body: body, now: now) { window.peek($0) != .fresh }
        guard consistent == true else {
            drops.record(.malformed)
            return .dropped(.malformed)
        }
        return .consumed
    }

    /// Keeps a fresh downstream payload for its group's rebuilding, once mpserver sends parity.
    func keepForParity(_ payload: UnsafeRawBufferPointer, sequence: UInt64, now: Timestamp) {
        guard let fecReceiver else { return }
        fecReceiver.keep(payload, sequence: sequence, now: now)
        let window = receiveWindow
        fecReceiver.payloadArrived(sequence: sequence, now: now) { window.peek($0) != .fresh }
    }
}
