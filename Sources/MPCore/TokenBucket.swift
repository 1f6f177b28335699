/// A token bucket: at most `rate` events per second on average, and `rate` at once after a
/// quiet second. Time comes in as `now`; the zero time is as good as any other start.
/// Not safe for concurrent use.
public struct TokenBucket {
    /// Events allowed per second, and the bucket's depth.
    public let rate: Int
    private var tokens: Double
    private var last: Timestamp?

    /// A full bucket of `rate` (at least one) tokens, refilled at `rate` a second.
    public init(rate: Int) {
        self.rate = max(1, rate)
        self.tokens = Double(self.rate)
    }

    /// Takes one token at `now` if there is one; false when the bucket is empty.
    public mutating func take(now: Timestamp) -> Bool {
        if let last, now > last {
            tokens = min(Double(rate), tokens + (now - last).seconds * Double(rate))
        }
        last = max(last ?? now, now)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
