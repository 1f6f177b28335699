/// Why an engine dropped a datagram or a payload. Every drop is counted under its reason;
/// none is an error that stops the daemon.
public enum DropReason: Int, CaseIterable, Hashable, Sendable, Error {
    /// Shorter than a header, or than its flags announce.
    case truncated
    /// A protocol version this build does not speak.
    case unknownVersion
    /// A frame type, flag or field this version does not define, or a body of the wrong size.
    case malformed
    /// A frame of the other direction (a client frame at the client, say).
    case wrongDirection
    /// A frame for a session this side does not have (at mpclient: another session id).
    case unknownSession
    /// A frame stamped with a server tag other than the session's current one: sent before
    /// mpserver restarted, or replayed from an earlier incarnation.
    case staleServerTag
    /// Seen before: the copy from a slower path (normal), or a replay. Judged before the
    /// frame is opened (receiver rules R7b and R13b), so the count also holds frames that
    /// would not have authenticated.
    case duplicate
    /// Too far behind the newest sequence number to judge: treated as a replay. Judged
    /// before the frame is opened when the session and tag are known (R7b, R13b).
    case tooOld
    /// A payload larger than ``Defaults/maximumPayload``; never split.
    case oversized
    /// The frame carries an authentication tag, but this side has no key.
    case unexpectedAuthentication
    /// This side has a key, but the frame carries no authentication tag.
    case missingAuthentication
    /// The authentication tag does not verify: a different key, or a forged or damaged frame.
    case authenticationFailed
    /// A reply for a flow this side no longer knows.
    case unknownFlow
    /// A path id beyond ``Defaults/maximumPaths``.
    case pathOutOfRange
    /// Held for mpserver's acceptance longer than ``Defaults/pendingPayloadLifetime``, or
    /// pushed out of the full hold queue.
    case acceptanceTimeout
    /// A frame of an unknown session refused before it was opened: every session is live
    /// and the table is full, or more frames of unknown sessions came this second than
    /// ``Defaults/newSessionAttemptsPerSecond`` (receiver rule R15).
    case sessionLimit
    /// A new flow refused: the flow table is full of flows that are established or
    /// recently active (``Defaults/maximumFlowsPerSession``).
    case flowLimit
    /// Keyless: a sequence number further ahead of the window than it holds, not yet
    /// confirmed by a second frame near it (receiver rules R11a and R17a).
    case unconfirmedJump

    /// The reason a frame decoding error is counted under.
    public init(_ error: FrameError) {
        switch error {
        case .truncated: self = .truncated
        case .unknownVersion: self = .unknownVersion
        case .unknownType, .invalidFlags, .invalidHeader, .invalidBody: self = .malformed
        }
    }

    /// A short name for logs and status tables.
    public var name: String { String(describing: self) }
}

/// Counts of dropped datagrams by reason. The zero value has every count at zero.
public struct DropCounters: Hashable, Sendable {
    private var counts = [Int](repeating: 0, count: DropReason.allCases.count)

    /// All counts zero.
    public init() {}

    /// The count for `reason`.
    public subscript(reason: DropReason) -> Int {
        counts[reason.rawValue]
    }

    /// Adds one to the count for `reason`.
    public mutating func record(_ reason: DropReason) {
        counts[reason.rawValue] &+= 1
    }

    /// The sum of every count.
    public var total: Int { counts.reduce(0, +) }
}
