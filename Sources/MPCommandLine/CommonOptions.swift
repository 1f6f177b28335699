import ArgumentParser
import Logging
import MPCore
import MPRuntime

/// Flags both daemons take.
public struct CommonOptions: ParsableArguments {
    @Option(
        name: .customLong("log-level"),
        help: "trace, debug, info, notice, warning, error or critical. Per-datagram lines appear only at trace.")
    public var logLevel: Logger.Level = .info

    @Option(
        name: .customLong("key-file"),
        help: ArgumentHelp(
            "The pre-shared key: a file holding one base64 key as --genkey prints it, readable by its owner only "
                + "(chmod 600). Both sides need the same key; without one the tunnel is keyless.",
            valueName: "path"))
    public var keyFile: String?

    @Option(
        help: ArgumentHelp(
            "The AEAD this side seals with: auto (the faster of the two, timed at start, where the CPU has AES "
                + "instructions, else chacha20-poly1305), chacha20-poly1305 or aes-256-gcm. Each side chooses for "
                + "its own frames and opens both.",
            valueName: "cipher"))
    public var cipher: CipherChoice = .auto

    @Flag(
        name: .customLong("genkey"),
        help: "Print a new random key (base64, from the system's cryptographic generator) and exit.")
    public var generateKey = false

    @Flag(help: "Print the running daemon's status table (read from its control socket) and exit.")
    public var status = false

    @Option(
        name: .customLong("status-socket"),
        help: ArgumentHelp(
            "The control socket, where the daemon answers --status (default /run/mptunnel/mpclient.sock or "
                + "/run/mptunnel/mpserver.sock); `off` opens none.",
            valueName: "path"))
    public var statusSocket: String?

    @Option(
        name: .customLong("metrics-port"),
        help: ArgumentHelp(
            "Serve Prometheus text metrics at http://127.0.0.1:PORT/metrics (loopback only; none by default; "
                + "0 picks a free port, logged at start).",
            valueName: "port"))
    public var metricsPort: UInt16?

    public init() {}

    /// Where the control socket is: `--status-socket`, else `configured` (mpclient.conf's
    /// `status-socket`), else `defaultPath`; `nil` when that says `off`. A path the user gave
    /// is required (the daemon does not start without it); the default is not (a daemon run
    /// by hand without /run/mptunnel still tunnels, and says why --status will not work).
    public func statusSocketSetting(configured: String? = nil, defaultPath: String) -> StatusSocketSetting? {
        let chosen = statusSocket ?? configured
        guard chosen != "off" else { return nil }
        return StatusSocketSetting(path: chosen ?? defaultPath, isRequired: chosen != nil)
    }

    /// Prints the status table of the daemon whose control socket `setting` names, when
    /// `--status` was given; returns whether it did.
    public func printStatusIfAsked(_ setting: StatusSocketSetting?, daemon: String) throws -> Bool {
        guard status else { return false }
        guard let setting else { throw ValidationError("--status needs a control socket, and it is `off'") }
        print(try StatusClient.fetch(path: setting.path, daemon: daemon), terminator: "")
        return true
    }

    /// Prints a fresh key for a key file when `--genkey` was given; returns whether it did.
    public func printGeneratedKeyIfAsked() throws -> Bool {
        guard generateKey else { return false }
        do {
            print(try PreSharedKey.generate().base64)
        } catch {
            throw ValidationError(error.description)
        }
        return true
    }

    /// Sets up swift-log on standard error at the chosen level and returns a logger.
    public func makeLogger(label: String) -> Logger {
        LogSetup.bootstrap(level: logLevel)
        var logger = Logger(label: label)
        logger.logLevel = logLevel
        return logger
    }

    /// The keyring the daemon seals with: the key of `--key-file`, else of `configKeyFile`
    /// (mpclient.conf's `key-file`), else none. MPTUNNEL_ENCRYPT, which the original
    /// mptunnel read, is `0` (authenticate only), `1` or unset (encrypt); anything else is
    /// a ``ConfigurationFailure``, and so is a key file that cannot be read or holds no valid
    /// key. A key file readable by group or others gets a warning.
    public func makeKeyring(
        configKeyFile: String? = nil, logger: Logger, environment: [String: String] = Environment.all
    ) throws -> Keyring {
        let setting = environment["MPTUNNEL_ENCRYPT"]
        guard setting == nil || setting == "0" || setting == "1" else {
            throw ConfigurationFailure("MPTUNNEL_ENCRYPT `\(setting ?? "")' must be 0 or 1")
        }
        guard let path = keyFile ?? configKeyFile else {
            if let setting {
                logger.info(
                    "MPTUNNEL_ENCRYPT has no effect without a key", metadata: ["MPTUNNEL_ENCRYPT": "\(setting)"])
            }
            return .keyless
        }
        let file: KeyFile
        do {
            file = try KeyFile.load(path: path)
        } catch {
            throw ConfigurationFailure(error.description)
        }
        if file.isReadableByOthers {
            logger.warning(
                "key file \(path) is readable by group or others: chmod 600 \(path)", metadata: ["file": "\(path)"])
        }
        let keyring = Keyring(key: file.key, encrypts: setting != "0", cipher: cipher.resolve(logger: logger))
        // A libcrypto that cannot make a cipher context stops the start here, with its reason.
        do {
            try keyring.selfTest()
        } catch {
            throw ValidationError(error.description)
        }
        return keyring
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
/// `--cipher`: a cipher, or `auto` for the faster one on this CPU.
public enum CipherChoice: String, CaseIterable, ExpressibleByArgument, Sendable {
    case auto
    case chaCha20Poly1305 = "chacha20-poly1305"
    case aes256GCM = "aes-256-gcm"

    /// The cipher this choice means on this machine; `auto` times both ciphers (where the
    /// CPU has AES instructions) and logs the figures at info.
    public func resolve(logger: Logger) -> Cipher {
        switch self {
        case .auto:
            let (cipher, costs) = CPUFeatures.fastestCipher()
            if let costs {
                // Each figure: sealing and opening a 64-byte and a 1,200-byte frame.
                logger.info(
                    "cipher auto: \(cipher.rawValue), the faster on this CPU",
                    metadata: [
                        "chacha20-poly1305": "\(Int(costs.chaCha20Poly1305.rounded())) ns",
                        "aes-256-gcm": "\(Int(costs.aes256GCM.rounded())) ns",
                    ])
            }
            return cipher
        case .chaCha20Poly1305: return .chaCha20Poly1305
        case .aes256GCM: return .aes256GCM
        }
    }
}

/// Creates the daemon on the process's default libev loop (the one that receives signals)
/// and runs it until SIGINT or SIGTERM.
public func runDaemon(logger: Logger, _ make: (EventLoop) throws -> some Daemon) throws {
    let daemon: any Daemon
    do {
        daemon = try make(try EventLoop.makeDefault())
    } catch {
        logger.error("cannot start", metadata: ["error": "\(error)"])
        throw ExitCode.failure
    }
    daemon.run()
}

extension ReorderWindow: ExpressibleByArgument {
    /// `auto`, `off`, or a whole number of milliseconds 1-60000.
    public init?(argument: String) {
        switch argument.lowercased() {
        case "auto": self = .auto
        case "off": self = .off
        default:
            guard let milliseconds = Int(argument), (1...Defaults.maximumConfigMilliseconds).contains(milliseconds)
            else { return nil }
            self = .fixed(.milliseconds(UInt64(milliseconds)))
        }
    }

    public var defaultValueDescription: String {
        switch self {
        case .auto: "auto"
        case .off: "off"
        case .fixed(let span): "\(span.nanoseconds / 1_000_000)"
        }
    }
}
