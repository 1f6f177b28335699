/// Watches whether mpserver answers on any path, so that mpclient can say so when it does
/// not: a wrong key, a key on one side only, mpserver down or a blocked port all look the
/// same from mpclient (nothing authentic comes back), and silence is the only clue.
///
/// Pure: the runtime calls ``check(lastReceive:now:)`` on each tick with the newest
/// authentic frame's arrival over all paths. Not safe for concurrent use.
public struct ReplyMonitor: Sendable {
    /// What the runtime should tell the user.
    public enum Event: Hashable, Sendable {
        /// No authentic frame on any path for `silentFor` (at least the threshold).
        case silent(silentFor: TimeSpan)
        /// An authentic frame arrived after a silence that was reported.
        case heardAgain(silentFor: TimeSpan)
    }

    /// How long without an authentic frame before the first warning.
    public let threshold: TimeSpan
    /// The shortest gap between two warnings of one silence.
    public let repeatInterval: TimeSpan
    private var startedAt: Timestamp
    /// When the last frame before a reported silence arrived (or the start); `nil` when
    /// no silence has been reported.
    private var silentSince: Timestamp?
    private var lastWarning: Timestamp?

    /// A monitor started at `now` (silence is counted from there until the first frame).
    public init(
        now: Timestamp, threshold: TimeSpan = Defaults.replySilenceWarning,
        repeatInterval: TimeSpan = Defaults.warningInterval
    ) {
        self.startedAt = now
        self.threshold = threshold
        self.repeatInterval = repeatInterval
    }

    /// Judges the silence at `now`, given when the newest authentic frame arrived on any
    /// path (`nil` if none yet). Returns an event to log, at most one per call: a silence
    /// is reported when it reaches ``threshold``, again every ``repeatInterval`` while it
    /// lasts, and its end once.
    public mutating func check(lastReceive: Timestamp?, now: Timestamp) -> Event? {
        let heard = max(lastReceive ?? startedAt, startedAt)
        if let silentSince, heard > silentSince {
            self.silentSince = nil
            lastWarning = nil
            return .heardAgain(silentFor: heard - silentSince)
        }
        let silence = now - heard
        guard silence >= threshold else { return nil }
        if let lastWarning, now - lastWarning < repeatInterval { return nil }
        silentSince = heard
        lastWarning = now
        return .silent(silentFor: silence)
    }
}
