/// How long `mpclient --check` probes, and how often.
///
/// Probes go out every ``probeInterval`` during ``probing``; then the check only listens for
/// ``drain``, so that the last probes' answers are not counted as lost. The whole check
/// takes ``duration``.
public struct PathCheckTiming: Hashable, Sendable {
    /// The seconds `--check-seconds` accepts: at least one probe round trip, and at most a
    /// minute (longer is a typing error: the check is for a person waiting at a prompt).
    public static let secondsRange = 1...60
    /// The default check: 3 s, long enough for about ten probes per path and short enough to
    /// run at a prompt.
    public static let defaultSeconds = 3
    /// Five probes a second per path (the daemon sends one): about ten in the default check,
    /// so a path losing a tenth of its datagrams shows it, and still only about 500 bytes a second.
    public static let probeInterval = TimeSpan.milliseconds(200)
    /// The longest listening time after the last probe: one second, the daemon's probe timeout
    /// (``Defaults/probeTimeout``), far above any terrestrial round trip.
    public static let maximumDrain = Defaults.probeTimeout

    /// The whole check.
    public let duration: TimeSpan

    /// A check of `seconds` seconds; `nil` outside ``secondsRange``.
    public init?(seconds: Int) {
        guard Self.secondsRange.contains(seconds) else { return nil }
        duration = .seconds(UInt64(seconds))
    }

    /// The default check of ``defaultSeconds``.
    public static let standard = PathCheckTiming(duration: .seconds(UInt64(defaultSeconds)))

    private init(duration: TimeSpan) {
        self.duration = duration
    }

    /// Listening time after the last probe: a third of the check, at most ``maximumDrain``.
    public var drain: TimeSpan {
        min(TimeSpan(nanoseconds: duration.nanoseconds / 3), Self.maximumDrain)
    }

    /// How long probes go out: the check less its ``drain``.
    public var probing: TimeSpan {
        // The drain is at most a third of the duration: no underflow.
        TimeSpan(nanoseconds: duration.nanoseconds - drain.nanoseconds)
    }
}
