// `mpclient --check`: probes every path of the config for a few seconds on a private libev
// loop and counts what comes back. It opens its own connected socket per path and never
// binds the listen address, so it runs beside a working mpclient. A fresh session, sealed
// with the keyring the daemon would use, sends probes at a fast cadence; mpserver answers
// the first with an acceptance and the others with echoes. Answers, frames the session
// rejects (another key, another version) and ICMP errors are counted per path, and
// MPCore's PathVerdict judges the counts.
import Glibc
import MPCore

/// One probed path: its connected socket and its watcher.
final class CheckedPath {
    let index: Int
    let socket: UDPSocket
    var watcher: IOWatcher?

    init(index: Int, address: SocketAddress) throws {
        self.index = index
        socket = try UDPSocket(family: address.family)
        try socket.connect(to: address)
    }
}

/// Probes the paths of an mpclient configuration and judges each one.
public final class PathCheck {
    /// How often the timer asks the session for due probes: a quarter of the probe interval,
    /// so probes leave at most 50 ms late.
    static let tickInterval = TimeSpan(nanoseconds: PathCheckTiming.probeInterval.nanoseconds / 4)

    let loop: EventLoop
    let timing: PathCheckTiming
    let endpoints: [Endpoint]
    let session: ClientSession<SocketAddress>
    let paths: [CheckedPath]
    /// Why a path's host did not resolve, by path id.
    let unresolved: [Int: String]
    var counts: [PathCheckCounts]
    let buffer = FrameBuffer()
    var watchers: [AnyObject] = []
    var startTime = Timestamp(nanoseconds: 0)

    /// Probes every path of `configuration` for `timing.duration`, sealing with `keyring`
    /// (the daemon's), and returns one verdict per path. Blocks while it probes; resolves
    /// the hosts first, which blocks while DNS answers.
    /// - Throws: ``SystemError`` when libev cannot create a loop.
    public static func run(
        configuration: ClientConfiguration, keyring: Keyring, timing: PathCheckTiming = .standard
    ) throws -> PathCheckReport {
        let check = PathCheck(configuration: configuration, keyring: keyring, timing: timing, loop: try EventLoop())
        return check.run()
    }

    init(configuration: ClientConfiguration, keyring: Keyring, timing: PathCheckTiming, loop: EventLoop) {
        self.loop = loop
        self.timing = timing
        endpoints = configuration.paths.map(\.endpoint)
        counts = Array(repeating: PathCheckCounts(), count: endpoints.count)
        var paths: [CheckedPath] = []
        var unresolved: [Int: String] = [:]
        for (index, endpoint) in endpoints.enumerated() {
            switch Self.resolve(endpoint) {
            case .failure(let error):
                unresolved[index] = error.reason
            case .success(let address):
                do {
                    paths.append(try CheckedPath(index: index, address: address))
                } catch {
                    // connect fails at once without a route (ENETUNREACH): an error row.
                    counts[index].otherErrors += 1
                    counts[index].lastError =
                        (error as? SystemError).map { SystemError.message(for: $0.errno) } ?? "\(error)"
                }
            }
        }
        self.paths = paths
        self.unresolved = unresolved
        var random = SystemRandomNumberGenerator()
        let sessionID = keyring.makeSessionID(using: &random)
        session = ClientSession(
            sessionID: sessionID, pathCount: endpoints.count, probeInterval: PathCheckTiming.probeInterval,
            keyring: keyring)
    }

    /// The first address of `endpoint`, or why there is none.
    private static func resolve(_ endpoint: Endpoint) -> Result<SocketAddress, ResolutionError> {
        do {
            return .success(try DataPath.address(of: endpoint))
        } catch {
            return .failure((error as? ResolutionError) ?? ResolutionError(host: endpoint.host, reason: "\(error)"))
        }
    }
}
