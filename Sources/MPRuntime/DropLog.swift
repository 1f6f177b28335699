// Turns the engines' drop verdicts into log lines: the drops a user must act on (another
// protocol version, a key on one side only, a wrong key, oversized datagrams) as
// rate-limited warnings; the everyday ones (duplicates from the slower paths) not at all.
import Logging
import MPCore

/// Rate-limited logging of dropped datagrams, one limiter per reason.
struct DropLog {
    private var limiters = [RateLimiter](
        repeating: RateLimiter(interval: Defaults.warningInterval), count: DropReason.allCases.count)
    let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    /// Logs a drop of `reason` for a frame whose first byte is `firstByte`, from `source`.
    mutating func record(_ reason: DropReason, firstByte: UInt8?, source: some CustomStringConvertible, now: Timestamp)
    {
        guard let level = Self.level(of: reason) else { return }
        guard limiters[reason.rawValue].allow(now: now) else { return }
        let suppressed = limiters[reason.rawValue].suppressed
        var metadata: Logger.Metadata = ["source": "\(source)", "reason": "\(reason.name)"]
        if suppressed > 0 { metadata["suppressed"] = "\(suppressed)" }
        logger.log(level: level, "\(Self.message(reason, firstByte: firstByte))", metadata: metadata)
    }

    /// Warnings for what a user must fix; debug for hostile or stray traffic; nothing for
    /// the duplicates that multipath produces by design.
    static func level(of reason: DropReason) -> Logger.Level? {
        switch reason {
        case .unknownVersion, .unexpectedAuthentication, .missingAuthentication, .authenticationFailed, .oversized,
            .sessionLimit, .flowLimit:
            return .warning
        case .duplicate, .acceptanceTimeout:
            return nil
        default:
            return .debug
        }
    }

    static func message(_ reason: DropReason, firstByte: UInt8?) -> String {
        switch reason {
        case .unknownVersion:
            return "dropped a frame of protocol version \(firstByte.map(String.init) ?? "?"); "
                + "this build speaks version \(FrameLayout.version): upgrade mpclient and mpserver together"
        case .unexpectedAuthentication:
            return "dropped a sealed frame: the peer has a key and this side has none (key-file missing here?)"
        case .missingAuthentication:
            return "dropped an unsealed frame: this side has a key and the peer has none"
        case .authenticationFailed:
            return "dropped a frame that does not authenticate: different keys on the two sides, or a forged frame"
        case .oversized:
            return "dropped a datagram larger than \(Defaults.maximumPayload) bytes (never split): lower the MTU"
        case .sessionLimit:
            return "refused a frame of a new session: \(Defaults.maximumSessions) live sessions, or more than "
                + "\(Defaults.newSessionAttemptsPerSecond) frames of unknown sessions this second (a flood?)"
        case .flowLimit:
            return "refused a datagram from a new application address: \(Defaults.maximumFlowsPerSession) flows "
                + "are established or active (a local process sending from many ports?)"
        case .unconfirmedJump:
            return "dropped a keyless frame far ahead of the sequence window until a second frame confirms it"
        default:
            return "dropped a datagram"
        }
    }
}
