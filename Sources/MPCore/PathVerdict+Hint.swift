extension PathVerdict {
    /// Share of unanswered probes (10%) from which an `ok` row says how many it loses:
    /// below it, one lost probe of a few seconds' check is noise.
    public static let lossWorthAHint = 0.1

    /// What the user should look at, for the row of the path to `endpoint`; empty for a path
    /// that works without notable loss.
    public func hint(endpoint: Endpoint) -> String {
        switch self {
        case .ok(_, let loss):
            return loss >= Self.lossWorthAHint ? "answers, but \(percent(loss)) of probes are lost" : ""
        case .refused:
            return "nothing listens at \(endpoint) (port unreachable): bridge or mpserver down?"
        case .noAnswer:
            return "no reply: bridge, firewall or mpserver down"
        case .rejected(let rejection):
            return rejection.hint(endpoint: endpoint)
        case .failing(let error):
            return "cannot send to \(endpoint): \(error)"
        case .unresolved(let reason):
            return "cannot resolve `\(endpoint.host)': \(reason)"
        }
    }
}

extension PathVerdict.Rejection {
    /// The hint of a ``PathVerdict/rejected(_:)`` row: answers come back, but fail.
    public func hint(endpoint: Endpoint) -> String {
        switch self {
        case .version(let version):
            let theirs = version.map { "protocol version \($0)" } ?? "another protocol version"
            return "answers in \(theirs), this build speaks \(FrameLayout.version): upgrade both sides together"
        case .key(.unexpectedAuthentication):
            return "answers are sealed and this side has no key: key mismatch (key-file missing here?)"
        case .key(.missingAuthentication):
            return "answers are not sealed and this side has a key: key mismatch (mpserver has none?)"
        case .key:
            return "answers fail authentication: key mismatch (different keys on the two sides)"
        case .echo:
            return "our own frames come back: \(endpoint) is an echo or a looped bridge, not mpserver"
        case .otherSession:
            return "answers belong to another session: is \(endpoint) a bridge to this mpserver?"
        case .notMPTunnel:
            return "answers are not mptunnel frames: is \(endpoint) mpserver or a bridge to it?"
        }
    }
}

/// `share` (0...1) as a whole percentage: `0.25` is `25%`.
func percent(_ share: Double) -> String {
    "\(Int((min(max(share, 0), 1) * 100).rounded()))%"
}
