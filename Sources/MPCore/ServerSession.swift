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
    /// Where each path was last heard from by a fresh authentic frame, indexed by path id;
    /// replies on that path go there. `nil` for a path not heard from yet.
    public private(set) var pathAddresses: [Address?]
    /// Per-path statistics, indexed by path id.
    public internal(set) var paths: [PathStatistics]
    /// Payloads delivered to the target.
    public internal(set) var payloadsDelivered = 0

    /// Mirrors the client's mode and paths for replies (R21).
    public internal(set) var mirror = ReplyMirror()

    var receiveWindow = ReplayWindow()
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
    /// that path go there from now on (NAT rebinding is followed).
    func setAddress(_ address: Address, of path: Int) {
        pathAddresses[path] = address
        heardPaths.insert(path: path)
    }

    /// The paths a reply framed at `now` goes out on, each to its address in
    /// ``pathAddresses`` (receiver rule R21, ``ReplyMirror``).
    public func replyPaths(now: Timestamp) -> PathSet {
        mirror.replyPaths(heard: heardPaths, now: now)
    }

    /// True when `sequence` lies within ``ReplayWindow/size`` of the session's numbers (the
    /// highest accepted, or the creating frame's before any): what a sender shows by it is
    /// that it has seen the session's traffic (R16a).
    func isNearAcceptanceReference(_ sequence: UInt64) -> Bool {
        let reference = max(receiveWindow.highest, acceptanceReference)
        return max(sequence, reference) - min(sequence, reference) <= ReplayWindow.size
    }

    /// Counts a frame of `bytes` bytes that the runtime sent on `path`.
    public func recordSend(path: Int, bytes: Int) {
        guard paths.indices.contains(path) else { return }
        paths[path].recordSend(bytes: bytes)
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
