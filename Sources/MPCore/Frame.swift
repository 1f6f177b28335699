/// Byte offsets and sizes of a frame, version 2. See the protocol document
/// (`MPCore.docc/Protocol.md`) for the diagram and the receiver rules.
public enum FrameLayout {
    /// The protocol version this build speaks.
    public static let version: UInt8 = 2
    public static let versionOffset = 0
    public static let typeOffset = 1
    public static let flagsOffset = 2
    /// The path id is a routing hint outside the authenticated data (it differs per path
    /// while the rest of the frame is sealed once and sent identically on every path).
    public static let pathIDOffset = 3
    public static let sessionIDOffset = 4
    public static let serverTagOffset = 12
    public static let sequenceOffset = 20
    public static let flowIDOffset = 28
    /// Size of the fixed header; the body follows it.
    public static let headerSize = 32
    /// Size of the authentication tag that ends a sealed frame.
    public static let tagSize = 16
    /// Header plus tag: what the tunnel adds to each payload (plus UDP/IP headers).
    public static let maximumOverhead = headerSize + tagSize
    /// Body of a probe and of a probe echo: the sender's 64-bit timestamp.
    public static let probeBodySize = 8
    /// Body of an acceptance: the client sequence number it answers.
    public static let acceptanceBodySize = 8
    /// One entry of a receiver report's body: a path id (1 byte), the frames of the session
    /// received on it so far (8 bytes), the sender's own loss on the path as the other
    /// side's reports gave it (2 bytes, in 1/10,000; 0xFFFF unknown), and how long ago the
    /// last of those frames arrived (2 bytes, milliseconds, at most 65,535).
    public static let reportEntrySize = 13
}

/// What a frame carries. The high bit is set on frames that mpserver sends, so that a frame
/// can never be mistaken for one of the other direction.
public enum FrameType: UInt8, Sendable {
    /// mpclient → mpserver: one payload of one flow.
    case upstreamData = 0x01
    /// mpclient → mpserver: a probe on one path; the body is the client's timestamp.
    case probe = 0x02
    /// mpclient → mpserver: what mpclient received on each path (``PathReport``).
    case clientReport = 0x03
    /// mpclient → mpserver: one parity shard of a `mode fec` group (``ParityHeader``).
    case upstreamParity = 0x04
    /// mpserver → mpclient: one payload of one flow.
    case downstreamData = 0x81
    /// mpserver → mpclient: the echo of a probe, on the path it came on.
    case probeEcho = 0x82
    /// mpserver → mpclient: mpserver knows this session under a new server tag.
    case acceptance = 0x83
    /// mpserver → mpclient: what mpserver received on each path (``PathReport``).
    case serverReport = 0x84
    /// mpserver → mpclient: one parity shard of a `mode fec` group of replies.
    case downstreamParity = 0x85

    /// True for the types that mpserver sends.
    public var isDownstream: Bool { rawValue & 0x80 != 0 }
}

/// Flag bits of a frame. Bits not defined here must be zero.
public struct FrameFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// A 16-byte authentication tag ends the frame.
    public static let authenticated = FrameFlags(rawValue: 0x01)
    /// The body is encrypted (only together with `authenticated`).
    public static let encrypted = FrameFlags(rawValue: 0x02)
    /// The AEAD is AES-256-GCM rather than ChaCha20-Poly1305 (only together with
    /// `authenticated`). The sender chooses; a receiver with a key opens both.
    public static let aesGCM = FrameFlags(rawValue: 0x04)
    /// Every bit this version defines.
    public static let known: FrameFlags = [.authenticated, .encrypted, .aesGCM]
}

/// The fixed header of every frame.
public struct FrameHeader: Hashable, Sendable {
    public var type: FrameType
    public var flags: FrameFlags
    /// Index of the path the frame was sent on (a hint for the receiver, not authenticated).
    public var pathID: UInt8
    /// The session: a random nonzero id mpclient draws at start.
    public var sessionID: UInt64
    /// mpserver's random nonzero tag for this session's current incarnation; zero in frames
    /// from an mpclient that has not been accepted yet.
    public var serverTag: UInt64
    /// Sequence number of the frame in its direction, from 1; never reused under one key.
    public var sequence: UInt64
    /// The flow a data frame belongs to; zero in other frames.
    public var flowID: UInt32

    public init(
        type: FrameType, flags: FrameFlags = [], pathID: UInt8 = 0, sessionID: UInt64,
        serverTag: UInt64, sequence: UInt64, flowID: UInt32 = 0
    ) {
        self.type = type
        self.flags = flags
        self.pathID = pathID
        self.sessionID = sessionID
        self.serverTag = serverTag
        self.sequence = sequence
        self.flowID = flowID
    }
}

/// Why a datagram is not a valid frame. Each case is counted by the receiver.
public enum FrameError: Error, Hashable, Sendable {
    /// Shorter than the header (or than the tag its flags announce); carries the length.
    case truncated(length: Int)
    /// A version other than ``FrameLayout/version``; carries the version received.
    case unknownVersion(UInt8)
    /// A type this version does not define.
    case unknownType(UInt8)
    /// Reserved flag bits set, or `encrypted` or `aesGCM` without `authenticated`.
    case invalidFlags(UInt8)
    /// A zero session id, or a zero sequence number.
    case invalidHeader
    /// A probe, echo or acceptance whose body is not the size its type requires.
    case invalidBody(length: Int)
}
