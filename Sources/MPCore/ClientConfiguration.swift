/// One endpoint as written in the config: a host name or an IP literal, and a port.
///
/// The host is unresolved (resolution is I/O and belongs to the runtime). An IPv6 literal is
/// stored without brackets (`::1`, possibly with a zone such as `fe80::1%eth0`).
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    /// A host name, an IPv4 literal or an IPv6 literal without brackets.
    public var host: String
    /// The UDP port. The parser only produces 1-65535; 0 is left to callers that build an
    /// endpoint themselves (a test binding an ephemeral port, say).
    public var port: UInt16

    /// Creates an endpoint; `host` is taken as is, without validation.
    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// `host:port`, with an IPv6 host in brackets: `[::1]:2000`.
    public var description: String {
        host.utf8.contains(UInt8(ascii: ":")) ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

/// One path: a `HOST PORT` line of mpclient.conf.
public struct PathConfiguration: Hashable, Sendable {
    /// Where frames for this path are sent: a bridge, or mpserver itself.
    public var endpoint: Endpoint
    /// The line of the config the path came from (from 1), for log lines and errors.
    public var lineNumber: Int
    /// `backup` after `HOST PORT`: the path carries payloads only while no other path is up.
    public var isBackup: Bool
    /// `rate 7mbit` or `rate 600/s` after `HOST PORT`: what the user knows the line carries
    /// upstream; balance mode never estimates the path above it. `nil`: no cap.
    public var rate: RateCap?

    /// Creates a path to `endpoint`, written on line `lineNumber`.
    public init(endpoint: Endpoint, lineNumber: Int, isBackup: Bool = false, rate: RateCap? = nil) {
        self.endpoint = endpoint
        self.lineNumber = lineNumber
        self.isBackup = isBackup
        self.rate = rate
    }
}

/// A path's capacity as the user states it (`rate` in mpclient.conf).
public enum RateCap: Hashable, Sendable, CustomStringConvertible {
    /// Bits per second on the line (`7mbit`, `700kbit`): frames count with their IP and UDP headers.
    case bitsPerSecond(Double)
    /// Datagrams per second (`600/s`), whatever their size.
    case datagramsPerSecond(Double)

    /// The cap in bytes per second for frames of `frameCost` bytes on average (with headers).
    func bytesPerSecond(frameCost: Double) -> Double {
        switch self {
        case .bitsPerSecond(let bits): bits / 8
        case .datagramsPerSecond(let count): count * frameCost
        }
    }

    /// As the config writes it: `7mbit`, `600/s`.
    public var description: String {
        switch self {
        case .bitsPerSecond(let bits):
            for (unit, scale) in [("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3)] where bits >= scale {
                return Self.decimal(bits / scale) + unit
            }
            return Self.decimal(bits) + "bit"
        case .datagramsPerSecond(let count): return Self.decimal(count) + "/s"
        }
    }

    private static func decimal(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(Double(Int(value * 1_000)) / 1_000)
    }
}

/// Everything mpclient.conf says, as parsed by ``ConfigParser``.
///
/// A configuration from the parser has between 1 and ``Defaults/maximumPaths`` paths, in the
/// order of their lines, and no two with the same endpoint.
public struct ClientConfiguration: Hashable, Sendable {
    /// The listen address used when the config has no `listen` line:
    /// ``Defaults/listenHost``:``Defaults/listenPort``.
    public static let defaultListen = Endpoint(host: Defaults.listenHost, port: Defaults.listenPort)

    /// Where mpclient receives the application's datagrams.
    public var listen: Endpoint
    /// The paths, in the order of their lines; the index in this array is the path id.
    public var paths: [PathConfiguration]
    /// The `key-file` line's path as written (relative paths are the caller's business);
    /// `nil` when the config names no key file.
    public var keyFile: String?
    /// `mode`: how payloads are spread over the up paths; duplicate by default.
    public var mode: SchedulingMode
    /// `probe-interval`: time between probes on each path; ``Defaults/probeInterval`` by default.
    public var probeInterval: TimeSpan
    /// `reorder-window`: how long payloads ahead of a gap are held; off by default.
    public var reorderWindow: ReorderWindow
    /// `fastest-copies`: in duplicate mode, the copies of each payload sent on the up path
    /// with the lowest round trip; ``FastestCopies/auto`` by default.
    public var fastestCopies: FastestCopies
    /// `status-socket`: the control socket's path as written; `nil` for the default
    /// (``Defaults/clientStatusSocket``, or `--status-socket`).
    public var statusSocket: String?
    /// `metrics-port`: where Prometheus text metrics are served on 127.0.0.1; `nil` (the
    /// default, or `--metrics-port`) serves none.
    public var metricsPort: UInt16?
    /// `mode fec K:M` and `fec-timeout`: the code of `mode fec` (`fec 4:2`, 5 ms by default);
    /// unused in the other modes.
    public var fec: FECSettings

    /// Creates a configuration; the values are taken as is, without validation.
    public init(
        listen: Endpoint = ClientConfiguration.defaultListen, paths: [PathConfiguration], keyFile: String? = nil,
        mode: SchedulingMode = .duplicate, probeInterval: TimeSpan = Defaults.probeInterval,
        reorderWindow: ReorderWindow = .off, statusSocket: String? = nil, metricsPort: UInt16? = nil,
        fastestCopies: FastestCopies = .auto,
        fec: FECSettings = FECSettings(dataShards: Defaults.fecDataShards, parityShards: Defaults.fecParityShards)
    ) {
        self.fec = fec
        self.fastestCopies = fastestCopies
        self.listen = listen
        self.paths = paths
        self.keyFile = keyFile
        self.mode = mode
        self.probeInterval = probeInterval
        self.reorderWindow = reorderWindow
        self.statusSocket = statusSocket
        self.metricsPort = metricsPort
    }

    /// Each path's `rate` cap, indexed by path id.
    public var rateCaps: [RateCap?] { paths.map(\.rate) }

    /// The paths marked `backup`.
    public var backupPaths: PathSet {
        var result = PathSet()
        for (index, path) in paths.enumerated() where path.isBackup { result.insert(path: index) }
        return result
    }
}

/// `fastest-copies`: how many copies of each payload duplicate mode sends on its fastest
/// path (``ClientSession/fastestPath(among:now:)``).
public enum FastestCopies: Hashable, Sendable {
    /// Two while that path loses at least ``Defaults/fastestCopiesLossThreshold`` of its
    /// frames either way (mpserver's receiver reports and mpclient's own count), else one.
    case auto
    /// Always this many (1 to ``Defaults/maximumFastestCopies``).
    case fixed(Int)
}
