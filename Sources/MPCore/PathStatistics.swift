/// What one side knows about one path. The zero value is a path never heard from.
public struct PathStatistics: Hashable, Sendable {
    /// Authentic frames received on the path, and duplicates counted without being opened
    /// (receiver rules R7b, R13b: a copy of a sequence number that authenticated).
    public var framesReceived = 0
    /// Bytes of those frames.
    public var bytesReceived = 0
    /// When the last authentic frame (or unopened duplicate) arrived on the path; `nil` if none yet.
    public var lastReceive: Timestamp?
    /// When this side last sent a probe on the path; `nil` if never.
    public var lastProbeSent: Timestamp?
    /// The round-trip time of the last echoed probe; `nil` before the first echo.
    public var lastRoundTrip: TimeSpan?
    /// Authentic frames received on the path that were duplicates (a copy another path
    /// delivered first).
    public var duplicatesReceived = 0
    /// Frames this side sent on the path, and their bytes (counted by the runtime through
    /// ``recordSend(bytes:)``, which knows whether the send succeeded).
    public var framesSent = 0
    public var bytesSent = 0

    /// A path never heard from.
    public init() {}

    /// Counts one frame of `bytes` bytes sent on the path.
    public mutating func recordSend(bytes: Int) {
        framesSent &+= 1
        bytesSent &+= bytes
    }

    mutating func recordReceive(bytes: Int, now: Timestamp) {
        framesReceived &+= 1
        bytesReceived &+= bytes
        lastReceive = now
    }
}
