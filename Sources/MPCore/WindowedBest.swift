/// The lowest (or highest) value noted over the last one to two windows of a fixed length:
/// the current window's and the previous one's, as BBR keeps its minimum RTT and maximum
/// delivery rate. A window with no note leaves nothing: a value older than two windows is
/// forgotten. Pure; time passed in.
struct WindowedBest<Value: Comparable & Sendable>: Sendable {
    let window: TimeSpan
    /// True for the lowest value, false for the highest.
    let lowest: Bool
    private var current: Value?
    private var previous: Value?
    private var start: Timestamp?

    init(window: TimeSpan, lowest: Bool) {
        self.window = window
        self.lowest = lowest
    }

    /// The best value of the two windows; `nil` before a note.
    var value: Value? {
        guard let current else { return previous }
        guard let previous else { return current }
        return lowest ? min(current, previous) : max(current, previous)
    }

    /// Notes `value` at `now`.
    mutating func note(_ value: Value, now: Timestamp) {
        if let start, now - start >= window {
            previous = now - start >= window + window ? nil : current
            current = nil
            self.start = now
        }
        if start == nil { start = now }
        current = current.map { lowest ? min($0, value) : max($0, value) } ?? value
    }

    /// Forgets both windows and starts a new one at `now` with `value`.
    mutating func reset(to value: Value, now: Timestamp) {
        (current, previous, start) = (value, nil, now)
    }
}
