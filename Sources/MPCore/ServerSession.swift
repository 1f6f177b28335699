/// mpserver's state for one session (one running mpclient). Created by ``ServerEngine`` from
/// the first authentic frame of an unknown session id. Not safe for concurrent use.
public final class ServerSession<Address: Hashable> {
    /// The session id mpclient drew.
    public let sessionID: UInt64
    /// This incarnation's random nonzero tag: frames stamped with another are never delivered.
    public let serverTag: UInt64
    /// When the session was created.
    public let createdAt: Timestamp
    /// When the last fresh authentic frame arrived.
    public internal(set) var lastReceive: Timestamp
    /// Where each path's replies go, indexed by path id: the address of its first fresh
    /// authentic probe, moved only by fresh probes (receiver rules R18 and R18b); `nil`
    /// for a path no probe came on yet.
    public private(set) var pathAddresses: [Address?]
    /// Per-path statistics, indexed by path id.
    public internal(set) var paths: [PathStatistics]
    /// Payloads delivered to the target.
    public internal(set) var payloadsDelivered = 0
    /// ``paths`` summed over every path (frames, bytes, duplicates, the last receive), kept
    /// as they are counted: a report over thousands of sessions reads one value per session
    /// instead of visiting 32 paths of each.
    public private(set) var totals = PathStatistics()

    /// Mirrors the client's mode and paths for replies (R21).
    public internal(set) var mirror = ReplyMirror()

    var receiveWindow = ReplayWindow()
    /// `mode fec` mirrored for the replies (R21b): the downstream groups and their parity,
    /// made at the session's first upstream parity frame, and when parity last came.
    var fecSender: FECSender?
    var lastParityReceived: Timestamp?
    /// The shard index of the reply just framed, for ``replyPaths(now:bytes:)``.
    var fecShard: Int?
    /// The upstream groups mpclient's parity names.
    var fecReceiver: FECReceiver?
    /// Puts the upstream payloads back in sequence order before the target (`nil`: off);
    /// addressed by flow id.
    public internal(set) var reorder: ReorderBuffer<UInt32>?
    /// When the last receiver report went out, and the frames received by then.
    var lastReportSent: Timestamp?
    var receivedAtLastReport = 0
    /// The same for the one-path reports of a balanced session (``ServerEngine/feedback(for:now:into:)``).
    var lastFeedbackSent: Timestamp?
    var receivedAtLastFeedback = 0
    /// The replies' scheduler and the downstream capacity estimates, made when mpclient is
    /// first seen balancing (``ReplyMirror/isBalanced``); `nil` before.
    public internal(set) var loads: LoadBalancer?
    /// Keyless only: holds back a frame far ahead of the window until a second confirms it.
    var jumpConfirmation = JumpConfirmation()
    /// The sequence number of the frame that created the session: a frame stamped with
    /// another tag draws an acceptance only near it or near the window (R16a).
    var acceptanceReference: UInt64 = 0
    var nextSequence: UInt64 = 1
    /// When an acceptance was last sent on each path: at most one per
    /// ``Defaults/acceptanceInterval`` per path.
    var lastAcceptance: [Timestamp?]
    let upstream: FrameProtection
    let downstream: FrameProtection

    /// `upstream` is the protection the session's first frame opened under (derived before
    /// the session existed); the downstream one is derived here from `keyring`.
    init(sessionID: UInt64, serverTag: UInt64, now: Timestamp, upstream: FrameProtection, keyring: Keyring) {
        self.sessionID = sessionID
        self.serverTag = serverTag
        self.createdAt = now
        self.lastReceive = now
        self.pathAddresses = Array(repeating: nil, count: Defaults.maximumPaths)
        self.paths = Array(repeating: PathStatistics(), count: Defaults.maximumPaths)
        self.lastAcceptance = Array(repeating: nil, count: Defaults.maximumPaths)
        self.upstream = upstream
        self.downstream = keyring.downstream(sessionID: sessionID, serverTag: serverTag)
    }

    /// Number of paths heard from.
    public var activePathCount: Int { heardPaths.count }

    /// The paths heard from (with a reply address), kept with ``pathAddresses`` so that no
    /// reply has to scan the address table.
    public private(set) var heardPaths = PathSet()

    /// Records that `path` was heard from `address` by a fresh authentic frame: replies on
    /// that path go there from now on.
    func setAddress(_ address: Address, of path: Int) {
        if let current = pathAddresses[path], current != address {
            addressMoves[path] = AddressMove(previous: current)
        } else if addressMoves[path] != nil {
            // Only then: a write through the subscript allocates even when the key is absent.
            addressMoves[path]?.candidate = nil
        }
        pathAddresses[path] = address
        heardPaths.insert(path: path)
    }

    /// A path's address moves in progress or done (R18b): kept only for the paths that
    /// have one, so a session whose paths never moved spends nothing on them.
    struct AddressMove {
        /// A source address that sent fresh probes while the path has another, the number
        /// of its last one (a copy of it from the current address shows that address still
        /// carries the path) and how many it sent.
        var candidate: (address: Address, sequence: UInt64, probes: Int, since: Timestamp)?
        /// The address the path had before its last move, and the path's latest fresh
        /// probe since: a copy of that probe from the previous address moves the path back.
        var previous: Address?
        var latestProbe: UInt64 = 0
    }

    /// Per path id, the moves of the paths that have one.
    var addressMoves: [Int: AddressMove] = [:]

    /// Fresh probes from a new address a path's replies follow it after (R18b): a NAT
    /// rebinding is followed at the second probe, while a sender that copies the path's
    /// probes and races them to mpserver is undone by every real copy that follows.
    static var probesToMove: Int { 2 }

    /// Receiver rule R18 and R18b for a fresh authentic probe on `path` from `address` at
    /// `now`: a path with no address, or this one, takes it at once; another address must
    /// send ``probesToMove`` fresh probes over at least ``Defaults/addressMoveSpan``, with no
    /// copy of them coming from the current address.
    func probeHeard(on path: Int, from address: Address, sequence: UInt64, now: Timestamp) {
        if addressMoves[path]?.previous != nil { addressMoves[path]?.latestProbe = sequence }
        guard let current = pathAddresses[path], current != address else {
            setAddress(address, of: path)
            return
        }
        var move = addressMoves[path] ?? AddressMove()
        let same = move.candidate.map { $0.address == address } ?? false
        let probes = same ? (move.candidate?.probes ?? 0) : 0
        let since = same ? (move.candidate?.since ?? now) : now
        move.candidate = (address, sequence, probes + 1, since)
        if probes + 1 >= Self.probesToMove, now - since >= Defaults.addressMoveSpan {
            setAddress(address, of: path)
            addressMoves[path]?.latestProbe = sequence
        } else {
            addressMoves[path] = move
        }
    }

    /// R18b: a copy of probe `sequence` on `path` from `address`, which the window already
    /// holds. From the path's current address, it undoes a candidate that raced it there;
    /// a copy of the path's latest probe from the address it had before its last move
    /// moves it back: that address still carries the path, so the move was a race won
    /// while its probes were late or lost.
    func probeCopyHeard(on path: Int, from address: Address, sequence: UInt64) {
        guard let move = addressMoves[path] else { return }
        if let candidate = move.candidate, candidate.sequence == sequence, pathAddresses[path] == address {
            addressMoves[path]?.candidate = nil
        } else if move.previous == address, move.latestProbe == sequence {
            addressMoves[path] = nil
            pathAddresses[path] = address
        }
    }

    /// The paths the reply just framed (``ServerEngine/encodePayload(length:session:flowID:in:)``,
    /// a frame of `bytes` bytes) goes out on at `now`, each to its address in
    /// ``pathAddresses`` (receiver rule R21, ``ReplyMirror``): every data path while mpclient
    /// duplicates; while it balances, the data path where the reply would arrive first
    /// (``LoadBalancer``), each direction's capacities estimated on their own.
    public func replyPaths(now: Timestamp, bytes: Int = 0) -> PathSet {
        let recent = mirror.dataPaths(heard: heardPaths, now: now)
        let shard = fecShard
        fecShard = nil
        if let shard, let path = fecPath(shard: shard, among: recent) { return PathSet(path: path) }
        guard mirror.isBalanced else { return recent }
        guard let path = earliestPath(among: recent, bytes: bytes, now: now) else { return recent }
        loads?.recordSend(path: path, sequence: nextSequence - 1, bytes: bytes, now: now, payload: true)
        return PathSet(path: path)
    }

    /// The path among `candidates` where `bytes` sent at `now` would arrive first; makes the
    /// scheduler on first use.
    func earliestPath(among candidates: PathSet, bytes: Int, now: Timestamp) -> Int? {
        if loads == nil { loads = LoadBalancer(caps: Array(repeating: nil, count: Defaults.maximumPaths)) }
        guard candidates.count > 1 else { return candidates.lowest }
        return loads?.earliest(among: candidates, bytes: bytes, now: now) { _ in TimeSpan(nanoseconds: 0) }
    }

    /// True when `sequence` lies within ``ReplayWindow/size`` of the session's numbers (the
    /// highest accepted, or the creating frame's before any): what a sender shows by it is
    /// that it has seen the session's traffic (R16a).
    func isNearAcceptanceReference(_ sequence: UInt64) -> Bool {
        let reference = max(receiveWindow.highest, acceptanceReference)
        return max(sequence, reference) - min(sequence, reference) <= ReplayWindow.size
    }

    /// The paths a receiver report framed at `now` goes out on: every data path (R21), in
    /// either mode, so a backup path that carries no data gets no reports either.
    public func reportPaths(now: Timestamp) -> PathSet {
        mirror.dataPaths(heard: heardPaths, now: now)
    }

    /// Counts a frame of `bytes` bytes that the runtime sent on `path`.
    public func recordSend(path: Int, bytes: Int) {
        guard paths.indices.contains(path) else { return }
        paths[path].recordSend(bytes: bytes)
        totals.recordSend(bytes: bytes)
    }

    /// Counts a frame of `bytes` bytes received on `path` (a valid path id) at `now`, and
    /// whether it was a duplicate.
    func recordReceive(path: Int, bytes: Int, now: Timestamp, duplicate: Bool = false) {
        paths[path].recordReceive(bytes: bytes, now: now)
        totals.recordReceive(bytes: bytes, now: now)
        if duplicate {
            paths[path].duplicatesReceived &+= 1
            totals.duplicatesReceived &+= 1
        }
    }

    /// Seals `bodyLength` bytes already at the body offset of `frame` under the next
    /// downstream sequence number; returns the frame's length.
    func seal(_ type: FrameType, flowID: UInt32, bodyLength: Int, in frame: UnsafeMutableRawBufferPointer) -> Int {
        let header = FrameHeader(
            type: type, sessionID: sessionID, serverTag: serverTag, sequence: nextSequence, flowID: flowID)
        nextSequence += 1
        return downstream.seal(header, bodyLength: bodyLength, in: frame)
    }
}
