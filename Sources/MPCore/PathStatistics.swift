/// What one side knows about one path. The zero value is a path never heard from.
public struct PathStatistics: Hashable, Sendable {
    /// Authentic frames received on the path, duplicates included.
    public var framesReceived = 0
    /// Bytes of those frames.
    public var bytesReceived = 0
    /// When the last authentic frame arrived on the path; `nil` if none yet.
    public var lastReceive: Timestamp?
    /// When this side last sent a probe on the path; `nil` if never.
    public var lastProbeSent: Timestamp?
    /// The round-trip time of the last echoed probe; `nil` before the first echo.
    public var lastRoundTrip: TimeSpan?

    /// A path never heard from.
    public init() {}

    mutating func recordReceive(bytes: Int, now: Timestamp) {
        framesReceived &+= 1
        bytesReceived &+= bytes
        lastReceive = now
    }
}
