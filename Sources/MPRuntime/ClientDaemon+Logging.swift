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
            logger.info("path", metadata: ["id": "\(path.index)", "endpoint": "\(path.endpoint)", "address": "\(path.address)"])
        }
        logSealing(session.keyring, logger: logger)
    }

    /// Warns when no path has had an authentic frame from mpserver for a few seconds (every
    /// cause looks alike from here), and says when one arrives again. Called on each tick.
    func checkReplies(now: Timestamp) {
        let lastReceive = session.paths.compactMap(\.lastReceive).max()
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

    static let keylessWarning: Logger.Message =
        "no key: frames travel unauthenticated and in clear; anyone who can reach the ports can inject traffic"

    /// One line per path and one summary line, at info level.
    func logStatistics() {
        let now = MonotonicClock.now()
        for path in paths {
            let statistics = session.paths[path.index]
            logger.info(
                "path statistics",
                metadata: [
                    "id": "\(path.index)", "endpoint": "\(path.endpoint)",
                    "sent": "\(path.framesSent)", "send-failures": "\(path.sendFailures)",
                    "received": "\(statistics.framesReceived)", "bytes-received": "\(statistics.bytesReceived)",
                    "last-heard": "\(statistics.lastReceive.map { "\((now - $0).seconds)s ago" } ?? "never")",
                    "rtt": "\(statistics.lastRoundTrip.map { "\($0.seconds * 1000)ms" } ?? "-")",
                ])
        }
        logger.info(
            "session statistics",
            metadata: [
                "session": "\(hex(session.sessionID))", "accepted": "\(session.isAccepted)",
                "flows": "\(session.flowCount)", "delivered": "\(session.payloadsDelivered)",
                "duplicates": "\(session.drops[.duplicate])", "dropped": "\(session.drops.total)",
            ])
    }
}

/// A 64-bit id as 16 hex digits, as logs show session ids and tags.
func hex(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
}
