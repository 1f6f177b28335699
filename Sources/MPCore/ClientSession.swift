/// mpclient's side of one session: turns application payloads into frames and frames from
/// mpserver into payloads for the application, and says when to probe.
///
/// Pure: the runtime passes in bytes, the path they came on and the time, and carries out
/// what the returned values say. A payload is read from, and a frame written to, the same
/// buffer: the runtime receives a payload at offset ``FrameLayout/headerSize`` of a frame
/// buffer, and the header is written in front of it, so no payload is copied.
/// Not safe for concurrent use.
public final class ClientSession<Address: Hashable> {
    /// What to do with an application payload.
    public enum Outbound: Hashable {
        /// Send the frame's first `frameLength` bytes on the paths ``ClientSession/pathsFor(now:)``
        /// names (after setting each path's id).
        case send(frameLength: Int)
        /// Held until mpserver accepts the session; ``nextHeldFrame(now:into:)`` returns it then.
        case held
        /// Dropped and counted.
        case dropped(DropReason)
    }

    /// What a frame from mpserver means.
    public enum Inbound: Hashable {
        /// Give the bytes at `payload` of the frame buffer to the application at `address`.
        case deliver(payload: Range<Int>, to: Address)
        /// mpserver accepted the session under a new server tag (at start, or because it
        /// restarted): held payloads are ready in ``nextHeldFrame(now:into:)``.
        case accepted(serverTag: UInt64, restarted: Bool)
        /// A probe echo, a payload the reorder buffer holds (it comes out of
        /// ``releaseHeld(now:_:)``), or another frame with nothing to deliver now.
        case consumed
        /// Dropped and counted.
        case dropped(DropReason)
    }

    struct HeldPayload {
        var flowID: UInt32
        var bytes: [UInt8]
        var heldAt: Timestamp
    }

    /// The session id that names this mpclient's run at mpserver; random and nonzero.
    public let sessionID: UInt64
    /// mpserver's tag for the session; zero until the first acceptance.
    public internal(set) var serverTag: UInt64 = 0
    /// Per-path statistics, indexed by path id.
    public internal(set) var paths: [PathStatistics]
    /// Drops by reason.
    public internal(set) var drops = DropCounters()
    /// Payloads delivered to the application.
    public internal(set) var payloadsDelivered = 0
    /// Probe interval per path.
    public let probeInterval: TimeSpan
    /// Health of each path (state, RTT, loss), indexed by path id.
    public internal(set) var health: [PathHealth]
    /// How payloads are spread over the up paths.
    public let mode: SchedulingMode
    /// Duplicate mode: copies of each payload on the fastest path (``fastestPath(among:now:)``).
    public let fastestCopies: FastestCopies
    /// Paths used only while no other path is up.
    public let backupPaths: PathSet
    /// Balance mode's scheduler and per-path capacity estimates; `nil` in duplicate mode.
    public internal(set) var loads: LoadBalancer?
    /// `mode fec`: the upstream groups and their parity; `nil` in the other modes.
    var fecSender: FECSender?
    /// The downstream groups mpserver's parity names; made at its first parity frame.
    var fecReceiver: FECReceiver?
    /// `mode fec`: the shard index of the payload just framed, for ``pathsFor(now:bytes:)``.
    var fecShard: Int?
    /// The reorder buffer of the downstream payloads; `nil` when `reorder-window` is off.
    public internal(set) var reorder: ReorderBuffer<Address>?
    /// The up paths as last reported by ``updateHealth(now:)``.
    var reportedUp: PathSet

    var flows: FlowTable<Address>
    var receiveWindow = ReplayWindow()
    /// Keyless only: holds back a frame far ahead of the window until a second confirms it.
    var jumpConfirmation = JumpConfirmation()
    var nextSequence: UInt64 = 1
    /// The client sequence number the current server tag's acceptance answered: a later
    /// acceptance must answer a later frame, so a replayed one cannot roll the tag back.
    var acceptedAtSequence: UInt64 = 0
    var held: [HeldPayload] = []
    /// When the last receiver report went out, and the frames received by then.
    var lastReportSent: Timestamp?
    /// When the application last sent a payload, the first payload sent since anything was
    /// heard, and when an authentic frame (or a copy of one) last came on any path.
    var lastPayloadAt: Timestamp?
    var unansweredSince: Timestamp?
    /// `fastest-copies auto`: when the fastest path's loss was last at the threshold.
    var lossyFastestSince: Timestamp?
    /// The last search for the fastest path: its time, the paths searched, the result.
    var fastestSearch: (now: Timestamp, among: PathSet, path: Int?)?
    var lastHeardAny: Timestamp?
    var receivedAtLastReport = 0
    /// Balance mode: when the last one-path report (``feedback(now:into:)``) went out, and
    /// the frames received by then.
    var lastFeedbackSent: Timestamp?
    var receivedAtLastFeedback = 0
    /// The key (or none) the session's frames are sealed with.
    public let keyring: Keyring
    let upstream: FrameProtection
    /// The protection of the current server tag's frames; derived on each acceptance.
    var downstream = FrameProtection.keyless

    /// A session with `pathCount` paths (1...``Defaults/maximumPaths``), id `sessionID` (nonzero),
    /// whose frames `keyring` seals (keyless by default), spreading payloads by `mode` over the
    /// up paths and using the paths in `backupPaths` only while no other path is up, in
    /// duplicate mode `fastestCopies` copies on the fastest of them. Unless
    /// `reorderWindow` is off, payloads ahead of a gap wait as it says (``ReorderBuffer``).
    /// In balance mode, `rateCaps` caps each path's estimated capacity (`nil` or missing: no cap).
    /// In fec mode, `fec` gives K, M and the timeout (default `fec 4:2`).
    public init(
        sessionID: UInt64, pathCount: Int, probeInterval: TimeSpan = Defaults.probeInterval,
        maximumFlows: Int = Defaults.maximumFlowsPerSession, keyring: Keyring = .keyless,
        mode: SchedulingMode = .duplicate, backupPaths: PathSet = [], reorderWindow: ReorderWindow = .off,
        fastestCopies: FastestCopies = .fixed(1), rateCaps: [RateCap?] = [], fec: FECSettings? = nil
    ) {
        self.fastestCopies = fastestCopies
        let count = min(max(pathCount, 1), Defaults.maximumPaths)
        self.sessionID = sessionID
        self.paths = Array(repeating: PathStatistics(), count: count)
        self.health = Array(repeating: PathHealth(probeInterval: probeInterval), count: count)
        self.mode = mode
        self.backupPaths = backupPaths.intersection(.first(count))
        self.loads =
            mode == .balance
            ? LoadBalancer(caps: (0..<count).map { $0 < rateCaps.count ? rateCaps[$0] : nil }) : nil
        self.fecSender = mode == .fec ? FECSender(settings: fec ?? FECSettings(dataShards: 4, parityShards: 2)) : nil
        self.reportedUp = .first(count)
        self.reorder = reorderWindow == .off ? nil : ReorderBuffer(window: reorderWindow)
        self.probeInterval = probeInterval
        self.flows = FlowTable(capacity: maximumFlows)
        self.keyring = keyring
        self.upstream = keyring.upstream(sessionID: sessionID)
    }

    /// True once mpserver has accepted the session.
    public var isAccepted: Bool { serverTag != 0 }

    /// Number of flows (application addresses) the session knows.
    public var flowCount: Int { flows.count }

    /// Frames the payload of `payloadLength` bytes at offset ``FrameLayout/headerSize`` of
    /// `frame`, sent by the application at `address`. `frame` must hold the payload plus
    /// ``FrameLayout/maximumOverhead`` bytes.
    public func encodePayload(
        length payloadLength: Int, from address: Address, now: Timestamp, in frame: UnsafeMutableRawBufferPointer
    ) -> Outbound {
        guard payloadLength <= Defaults.maximumPayload,
            frame.count >= payloadLength + FrameLayout.maximumOverhead
        else {
            drops.record(.oversized)
            return .dropped(.oversized)
        }
        guard let flowID = flows.flowID(for: address, now: now) else {
            drops.record(.flowLimit)
            return .dropped(.flowLimit)
        }
        if let lastPayloadAt, let lastHeardAny, lastHeardAny < lastPayloadAt {
            // Still unanswered since the run's first payload.
        } else {
            unansweredSince = now
        }
        lastPayloadAt = now
        guard isAccepted else {
            hold(
                flowID: flowID,
                payload: UnsafeRawBufferPointer(rebasing: frame[FrameLayout.headerSize...].prefix(payloadLength)),
                now: now)
            return .held
        }
        if let fecSender {
            let payload = UnsafeRawBufferPointer(rebasing: frame[FrameLayout.headerSize...].prefix(payloadLength))
            fecShard = fecSender.add(payload, sequence: nextSequence, flowID: flowID, now: now)
        }
        let length = seal(.upstreamData, flowID: flowID, bodyLength: payloadLength, in: frame)
        if fecShard != nil { fecSender?.recordDataFrame(bytes: length) }
        return .send(frameLength: length)
    }

    /// Writes the frame of a probe for path `path` into `frame` if one is due at `now`,
    /// returning its length; `nil` when none is due (the runtime asks on every timer tick).
    /// A probe is due every probe interval, and every ``Defaults/silentProbeInterval`` while
    /// the application sends and nothing comes back (``isSilentWhileSending(now:)``), or
    /// while a down path has echoed its last probe: the second echo that brings it up
    /// (``Defaults/pathUpAfterEchoes``) comes a round trip later, not an interval.
    /// `frame` must hold ``FrameLayout/maximumOverhead`` + 8 bytes.
    public func probe(path: Int, now: Timestamp, into frame: UnsafeMutableRawBufferPointer) -> Int? {
        guard paths.indices.contains(path) else { return nil }
        let confirming = health[path].state == .down && health[path].consecutiveEchoes > 0
        let interval =
            confirming || isSilentWhileSending(now: now)
            ? min(probeInterval, Defaults.silentProbeInterval) : probeInterval
        if let last = paths[path].lastProbeSent, now - last < interval { return nil }
        paths[path].lastProbeSent = now
        health[path].recordProbe(now: now)
        var writer = ByteWriter(frame, offset: FrameLayout.headerSize)
        writer.write(now.nanoseconds)
        let length = seal(.probe, flowID: 0, bodyLength: FrameLayout.probeBodySize, pathID: UInt8(path), in: frame)
        loads?.recordSend(path: path, sequence: nextSequence - 1, bytes: length, now: now)
        return length
    }

    /// Whether nothing authentic came back on any path for ``Defaults/silenceBeforeFastProbes``
    /// since the application sent a payload (the first of those sent since anything was
    /// heard; the last in the last ``Defaults/fastProbesAfterPayload``): mpserver
    /// restarted, or every path broke. Its
    /// frames are lost until a probe reaches a new mpserver and its acceptance comes back,
    /// so probes go every ``Defaults/silentProbeInterval`` instead of every interval: a TCP
    /// stream's next retransmission (backed off to a second or more) finds the session
    /// accepted again.
    public func isSilentWhileSending(now: Timestamp) -> Bool {
        guard let lastPayloadAt, let unansweredSince, let lastHeardAny,
            now - lastPayloadAt < Defaults.fastProbesAfterPayload
        else { return false }
        return lastHeardAny < unansweredSince && now - unansweredSince >= Defaults.silenceBeforeFastProbes
    }

    /// Writes a receiver report (``PathReport``: what arrived on each path) into `frame` if
    /// one is due at `now` and returns its length (send it on every path); `nil` when none
    /// is due: every ``Defaults/reportInterval`` while frames of the session arrive.
    /// `frame` must hold ``FrameLayout/maximumOverhead`` + 416 bytes.
    public func report(now: Timestamp, into frame: UnsafeMutableRawBufferPointer) -> Int? {
        guard isAccepted, now - (lastReportSent ?? Timestamp(nanoseconds: 0)) >= Defaults.reportInterval else {
            return nil
        }
        var received = 0
        for path in paths.indices { received &+= paths[path].framesReceived }
        guard received != receivedAtLastReport,
            frame.count >= PathReport.maximumFrameLength
        else { return nil }
        lastReportSent = now
        receivedAtLastReport = received
        let bodyLength = PathReport.write(paths, now: now, into: frame)
        let length = seal(.clientReport, flowID: 0, bodyLength: bodyLength, in: frame)
        for path in candidatePaths(now: now).members {
            loads?.recordSend(path: path, sequence: nextSequence - 1, bytes: length, now: now)
        }
        return length
    }

    /// Balance mode: writes a receiver report into `frame` if one is due at `now` and
    /// returns its length and the one path it goes on (where it arrives first); `nil` when
    /// none is due: every ``Defaults/feedbackInterval`` while frames of the session arrive
    /// (``Defaults/feedbackShortInterval`` while they arrive fast), between the reports on
    /// every path, so that mpserver's estimates of the paths' capacities (``PathLoad``)
    /// follow within a few tens of milliseconds.
    /// `frame` must hold ``FrameLayout/maximumOverhead`` + 416 bytes.
    public func feedback(now: Timestamp, into frame: UnsafeMutableRawBufferPointer) -> (length: Int, path: Int)? {
        guard isAccepted, loads != nil else { return nil }
        var received = 0
        for path in paths.indices { received &+= paths[path].framesReceived }
        let elapsed = now - (lastFeedbackSent ?? Timestamp(nanoseconds: 0))
        guard Defaults.isFeedbackDue(after: elapsed, frames: received &- receivedAtLastFeedback),
            frame.count >= PathReport.maximumFrameLength
        else { return nil }
        let candidates = candidatePaths(now: now)
        let estimated = FrameLayout.maximumOverhead + PathReport.entriesLength(paths)
        guard let path = loads?.earliest(among: candidates, bytes: estimated, now: now, fallback: fallbackDelay)
        else { return nil }
        lastFeedbackSent = now
        receivedAtLastFeedback = received
        let bodyLength = PathReport.write(paths, now: now, into: frame)
        let length = seal(.clientReport, flowID: 0, bodyLength: bodyLength, in: frame)
        loads?.recordSend(path: path, sequence: nextSequence - 1, bytes: length, now: now)
        return (length, path)
    }

    /// A path's one-way delay before its reports measure it: half its base round trip.
    func fallbackDelay(_ path: Int) -> TimeSpan {
        guard path < health.count, let roundTrip = health[path].baseRoundTrip ?? health[path].roundTrip.smoothed else {
            return TimeSpan(nanoseconds: 0)
        }
        return TimeSpan(nanoseconds: roundTrip.nanoseconds / 2)
    }

    /// Forgets flows idle for `flowIdleTimeout` and held payloads older than
    /// ``Defaults/pendingPayloadLifetime``.
    public func expire(now: Timestamp, flowIdleTimeout: TimeSpan = Defaults.flowIdleTimeout) {
        flows.expire(idleFor: flowIdleTimeout, now: now)
        let before = held.count
        held.removeAll { now - $0.heldAt > Defaults.pendingPayloadLifetime }
        for _ in 0..<(before - held.count) { drops.record(.acceptanceTimeout) }
    }

    /// Seals `bodyLength` bytes already at the body offset of `frame` under the next sequence
    /// number. Only a probe's seal covers `pathID` (``FrameProtection/bindsPathID(_:)``).
    func seal(
        _ type: FrameType, flowID: UInt32, bodyLength: Int, pathID: UInt8 = 0, in frame: UnsafeMutableRawBufferPointer
    ) -> Int {
        let header = FrameHeader(
            type: type, pathID: pathID, sessionID: sessionID, serverTag: serverTag, sequence: nextSequence,
            flowID: flowID)
        nextSequence += 1
        return upstream.seal(header, bodyLength: bodyLength, in: frame)
    }

    private func hold(flowID: UInt32, payload: UnsafeRawBufferPointer, now: Timestamp) {
        if held.count >= Defaults.maximumPendingPayloads {
            held.removeFirst()
            drops.record(.acceptanceTimeout)
        }
        held.append(HeldPayload(flowID: flowID, bytes: Array(payload), heldAt: now))
    }
}
