/// The verdict of `mpclient --check` on one path, from its ``PathCheckCounts``.
///
/// Rules, first match wins:
/// 1. the host did not resolve: ``unresolved(_:)``;
/// 2. at least one authentic answer: ``ok(roundTrip:loss:)``;
/// 3. frames came back but the session dropped them as another version, failing
///    authentication, our own frames, another session's or not mptunnel frames: ``rejected(_:)``;
/// 4. ECONNREFUSED on a send or receive: ``refused``;
/// 5. another send or receive error: ``failing(_:)``;
/// 6. otherwise: ``noAnswer``.
public enum PathVerdict: Hashable, Sendable {
    /// mpserver answers on the path: round-trip time (`nil` if only an acceptance came back)
    /// and the share of probes unanswered (0...1).
    case ok(roundTrip: TimeSpan?, loss: Double)
    /// Nothing listens at the path's address (ICMP port unreachable).
    case refused
    /// Nothing came back.
    case noAnswer
    /// Something answers, but not with frames this session accepts.
    case rejected(Rejection)
    /// Sends or receives fail with the error quoted (no route, a firewall's EPERM...).
    case failing(String)
    /// The host name does not resolve; the resolver's message.
    case unresolved(String)

    /// Why the frames that came back on a path were rejected, in the order the verdict
    /// looks for them.
    public enum Rejection: Hashable, Sendable {
        /// Another protocol version (the version byte seen, if known).
        case version(UInt8?)
        /// The frames fail authentication: the reason (a key on one side only, or two keys).
        case key(DropReason)
        /// Our own frames come back: an echo service or a looped bridge.
        case echo
        /// Frames of another session.
        case otherSession
        /// Not mptunnel frames at all (truncated, malformed or oversized).
        case notMPTunnel
    }

    /// Judges the counts of a path that resolved (rules 2-6).
    public init(_ counts: PathCheckCounts) {
        if counts.answers > 0 {
            self = .ok(roundTrip: counts.roundTrip, loss: counts.loss ?? 0)
        } else if let rejection = Self.rejection(counts) {
            self = .rejected(rejection)
        } else if counts.refusals > 0 {
            self = .refused
        } else if counts.otherErrors > 0 {
            self = .failing(counts.lastError ?? "unknown error")
        } else {
            self = .noAnswer
        }
    }

    private static func rejection(_ counts: PathCheckCounts) -> Rejection? {
        let drops = counts.drops
        if drops[.unknownVersion] > 0 { return .version(counts.foreignVersion) }
        for reason in [DropReason.authenticationFailed, .unexpectedAuthentication, .missingAuthentication]
        where drops[reason] > 0 {
            return .key(reason)
        }
        if drops[.wrongDirection] > 0 { return .echo }
        if drops[.unknownSession] > 0 { return .otherSession }
        if drops[.truncated] + drops[.malformed] + drops[.oversized] > 0 { return .notMPTunnel }
        return nil
    }

    /// Whether the path works: mpserver answers on it.
    public var works: Bool {
        if case .ok = self { return true }
        return false
    }

    /// The verdict column: `ok`, `refused`, `no answer`, `rejected`, `error` or `unresolved`.
    public var label: String {
        switch self {
        case .ok: return "ok"
        case .refused: return "refused"
        case .noAnswer: return "no answer"
        case .rejected: return "rejected"
        case .failing: return "error"
        case .unresolved: return "unresolved"
        }
    }
}
