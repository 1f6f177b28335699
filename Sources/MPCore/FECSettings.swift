/// `mode fec K:M` and `fec-timeout MS`: every `dataShards` (K) payloads form a group whose
/// `parityShards` (M) parity shards go out when the group is full, or `timeout` after its
/// first payload if it is not.
public struct FECSettings: Hashable, Sendable {
    /// K, 1...``Defaults/maximumFECDataShards``.
    public var dataShards: Int
    /// M, 1...``Defaults/maximumFECParityShards``.
    public var parityShards: Int
    /// How long a short group waits for its parity (``Defaults/fecTimeout``).
    public var timeout: TimeSpan

    public init(dataShards: Int, parityShards: Int, timeout: TimeSpan = Defaults.fecTimeout) {
        self.dataShards = dataShards
        self.parityShards = parityShards
        self.timeout = timeout
    }
}

/// What forward error correction did in one direction of a session: the sender's groups and
/// parity, the receiver's complete, rebuilt and lost groups. All counts since start.
public struct FECStatistics: Hashable, Sendable {
    /// Groups whose parity went out.
    public var groupsSent = 0
    /// Parity frames sent, and their bytes (frames whole, header and tag included).
    public var parityFramesSent = 0
    public var parityBytesSent = 0
    /// Payload frames sent in groups, and their bytes: parity bytes over these is the
    /// parity overhead.
    public var dataFramesSent = 0
    public var dataBytesSent = 0
    /// Payloads sent in no group: too long for a parity frame to carry (counted, sent as they are).
    public var unprotectedPayloads = 0
    /// Groups whose every payload arrived or was rebuilt (groups the receiver heard of by a
    /// parity frame; a group all of whose parity was lost is not known).
    public var groupsComplete = 0
    /// Payloads rebuilt from parity and delivered.
    public var payloadsRebuilt = 0
    /// Groups given up with payloads missing (more than M of the group's shards lost).
    public var groupsLost = 0
    /// Parity frames dropped because they contradict the group's earlier parity.
    public var inconsistentParity = 0

    public init() {}

    /// One session's figures both ways: what its sender sent (`sent`) beside what its
    /// receiver made of the other side's groups (`received`).
    init(sent: FECStatistics?, received: FECStatistics?) {
        self = sent ?? FECStatistics()
        guard let received else { return }
        groupsComplete = received.groupsComplete
        payloadsRebuilt = received.payloadsRebuilt
        groupsLost = received.groupsLost
        inconsistentParity = received.inconsistentParity
    }

    /// Adds `other`'s counts to these (totals over sessions).
    public mutating func add(_ other: FECStatistics) {
        groupsSent += other.groupsSent
        parityFramesSent += other.parityFramesSent
        parityBytesSent += other.parityBytesSent
        dataFramesSent += other.dataFramesSent
        dataBytesSent += other.dataBytesSent
        unprotectedPayloads += other.unprotectedPayloads
        groupsComplete += other.groupsComplete
        payloadsRebuilt += other.payloadsRebuilt
        groupsLost += other.groupsLost
        inconsistentParity += other.inconsistentParity
    }

    /// Parity bytes per payload byte sent in groups, or `nil` before any.
    public var parityOverhead: Double? {
        dataBytesSent > 0 ? Double(parityBytesSent) / Double(dataBytesSent) : nil
    }
}
