// What mpclient tells the user: where it listens, which paths it uses, that a keyless
// tunnel is open to injection, and, on SIGUSR1, what each path is doing.
import Logging
import MPCore

extension ClientDaemon {
    func logStart() {
        let listen = (try? listenSocket.localAddress).map { "\($0)" } ?? "?"
        logger.info(
            "mpclient listening for the application",
            metadata: ["address": "\(listen)", "session": "\(hex(session.sessionID))", "paths": "\(paths.count)"])
        for path in paths {
            logger.info(
                "path", metadata: ["id": "\(path.index)", "endpoint": "\(path.endpoint)", "address": "\(path.address)"])
        }
        logSealing(session.keyring, logger: logger)
    }

    /// Warns when no path has had an authentic frame from mpserver for a few seconds (every
    /// cause looks alike from here), and says when one arrives again. Called on each tick.
    func checkReplies(now: Timestamp) {
        // A loop rather than compactMap and max: no array built 10 times a second.
        var lastReceive: Timestamp?
        for index in session.paths.indices {
            guard let heard = session.paths[index].lastReceive else { continue }
            if lastReceive.map({ heard > $0 }) ?? true { lastReceive = heard }
        }
        switch replyMonitor.check(lastReceive: lastReceive, now: now) {
        case .silent(let silence):
            let seconds = Int(Defaults.replySilenceWarning.seconds)
            logger.warning(
                "no authentic reply from mpserver on any path for \(seconds) s: wrong key, mpserver down or port blocked",
                metadata: ["silent-for": "\(Int(silence.seconds))s", "paths": "\(paths.count)"])
        case .heardAgain(let silence):
            logger.info("authentic replies from mpserver again", metadata: ["silent-for": "\(Int(silence.seconds))s"])
        case nil: break
        }
    }

    /// A path going down is a warning (the user may have lost a link); coming back is info.
    /// Every path down at once is a warning of its own: payloads then go out on all of them.
    func logHealthChanges(_ changes: PathHealthChanges, now: Timestamp) {
        guard !changes.isEmpty else { return }
        for index in changes.wentDown.members where index < paths.count {
            logger.warning("path down", metadata: pathMetadata(index))
        }
        for index in changes.cameUp.members where index < paths.count {
            logger.info("path up", metadata: pathMetadata(index))
        }
        if changes.allDown {
            logger.warning(
                "every path is down: sending on all of them until one answers", metadata: ["paths": "\(paths.count)"])
        }
    }

    private func pathMetadata(_ index: Int) -> Logger.Metadata {
        let health = session.health[index]
        return [
            "id": "\(index)", "endpoint": "\(paths[index].endpoint)",
            "loss": "\(health.loss.map { "\(Int($0 * 100))%" } ?? "-")",
            "lost-in-a-row": "\(health.consecutiveLosses)",
        ]
    }

    static let keylessWarning: Logger.Message =
        "no key: frames travel unauthenticated and in clear; anyone who can reach the ports can inject traffic"
}

/// A span as milliseconds with one decimal, or `-` for none.
func milliseconds(_ span: TimeSpan?) -> String {
    guard let span else { return "-" }
    return "\(Double(span.nanoseconds / 100_000) / 10)ms"
}

/// A share (0...1) as a percentage with one decimal, or `-` for none.
func percentText(_ share: Double?) -> String {
    guard let share else { return "-" }
    return "\((share * 1_000).rounded() / 10)%"
}

/// A span as seconds with one decimal.
func secondsText(_ span: TimeSpan) -> String {
    "\(Double(span.nanoseconds / 100_000_000) / 10)"
}

/// A 64-bit id as 16 hex digits, as logs show session ids and tags.
func hex(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
}
