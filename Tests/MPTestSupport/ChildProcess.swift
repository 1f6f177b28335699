// Child processes for end-to-end tests: the built mpclient and mpserver, socat bridges and
// mplab relays. Each is started with posix_spawn, its standard error goes to a log file,
// and it is stopped by PID (SIGTERM, then SIGKILL) when the test ends or the object goes.
import Foundation
import Glibc
import MPRuntime

/// A process started by a test and stopped by PID.
public final class ChildProcess {
    /// The process id.
    public let pid: pid_t
    /// The command line, for messages.
    public let commandLine: String
    /// Where the process's standard output and standard error go.
    public let logPath: String
    private var exitStatus: Int32?

    /// Starts `executable` with `arguments` and extra `environment` entries; standard input
    /// is /dev/null, output and errors go to `logPath`.
    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:], logPath: String)
        throws
    {
        self.commandLine = ([executable] + arguments).joined(separator: " ")
        self.logPath = logPath
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let inherited = Self.currentEnvironment().merging(environment) { $1 }
        let envp = inherited.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }
        var attributes = Self.cleanSignalAttributes()
        defer { posix_spawnattr_destroy(&attributes) }
        var child: pid_t = 0
        let result = posix_spawnp(&child, executable, &actions, &attributes, argv, envp)
        guard result == 0 else { throw SpawnError(commandLine: commandLine, errno: result) }
        pid = child
    }

    deinit {
        stop()
    }

    /// True while the process has not exited.
    public var isRunning: Bool {
        reap(options: WNOHANG)
        return exitStatus == nil
    }

    /// Sends `signal` to the process.
    public func signal(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`; waits for it.
    public func stop(grace: Duration = .seconds(2)) {
        defer { kill(-pid, SIGKILL) }  // whatever it forked (its process group) goes too
        guard isRunning else { return }
        kill(pid, SIGTERM)
        if !waitUntil(timeout: grace, condition: { !isRunning }) {
            kill(pid, SIGKILL)
            reap(options: 0)
        }
    }

    /// SIGKILL at once, as a crash would (the process only: what it forked stays, as after
    /// a real crash, until ``stop(grace:)``).
    public func kill9() {
        guard isRunning else { return }
        kill(pid, SIGKILL)
        reap(options: 0)
    }

    /// The exit code once the process has exited (128 + signal when killed).
    public func waitForExit(timeout: Duration = .seconds(5)) -> Int32? {
        _ = waitUntil(timeout: timeout) { !isRunning }
        return exitStatus
    }

    /// What the process wrote so far.
    public var log: String {
        (try? TextFile.read(path: logPath)) ?? ""
    }

    private func reap(options: Int32) {
        guard exitStatus == nil else { return }
        var status: Int32 = 0
        let result = waitpid(pid, &status, options)
        guard result == pid else { return }
        let signalled = status & 0x7f
        exitStatus = signalled == 0 ? (status >> 8) & 0xff : 128 + signalled
    }

    /// Spawn attributes that give the child an empty signal mask and default handling of
    /// the signals tests send. A test runs on a worker thread of Swift's concurrency pool,
    /// which blocks most signals; a child would inherit that mask and never see SIGTERM
    /// or SIGUSR1 (every stop would then wait for SIGKILL).
    private static func cleanSignalAttributes() -> posix_spawnattr_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        // Its own process group (id = its pid), so that stopping it also stops what it
        // forked: socat's per-client children would otherwise outlive the test.
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        return attributes
    }

    private static func currentEnvironment() -> [String: String] {
        Environment.all
    }
}

/// posix_spawn failed.
public struct SpawnError: Error, CustomStringConvertible {
    public let commandLine: String
    public let errno: Int32
    public var description: String { "cannot start `\(commandLine)': \(String(cString: strerror(errno)))" }
}

/// A fresh temporary directory for one test's logs and config files.
public func makeTemporaryDirectory(prefix: String = "mptunnel-test") -> String {
    var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
    return template.withUnsafeMutableBufferPointer { buffer in
        guard let base = buffer.baseAddress, let path = mkdtemp(base) else { return "/tmp" }
        return String(cString: path)
    }
}

/// Writes `text` to `path`, replacing it.
public func writeFile(_ path: String, _ text: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw SystemError(call: "open \(path)", errno: errno) }
    defer { close(fd) }
    let bytes = Array(text.utf8)
    let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    guard written == bytes.count else { throw SystemError(call: "write \(path)", errno: errno) }
}

/// The directory holding the built products (mpclient, mpserver, mplab): the directory of
/// the running test binary.
public func productsDirectory() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard length > 0 else { return ".build/debug" }
    let path = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    var components = path.split(separator: "/", omittingEmptySubsequences: false)
    // The test binary is .build/<triple>/debug/mptunnelPackageTests.xctest.
    components.removeLast()
    return components.joined(separator: "/")
}

/// Why release binaries for a test that judges a rate cannot be used.
public struct ReleaseBuildMissing: Error, CustomStringConvertible {
    public let description: String
}

/// The directory of the release build of mpclient, mpserver and mplab, beside the debug
/// products (`.build/<triple>/release`), for the tests that judge a rate or a CPU share:
/// a debug build is several times slower and would judge the compiler, not the design.
/// - Throws: ``ReleaseBuildMissing`` when a binary is missing or older than a file under
///   `Sources/` (the code changed since `swift build -c release`): such a test fails,
///   never skips.
public func releaseProductsDirectory() throws -> String {
    var components = productsDirectory().split(separator: "/", omittingEmptySubsequences: false)
    components.removeLast()
    let release = (components + ["release"]).joined(separator: "/")
    // The package's root: the products directory is <root>/.build/<triple>/<configuration>.
    let root = components.dropLast(2).joined(separator: "/")
    let newestSource = newestModification(under: "\(root)/Sources")
    for product in ["mpclient", "mpserver", "mplab"] {
        var status = stat()
        guard stat("\(release)/\(product)", &status) == 0 else {
            throw ReleaseBuildMissing(description: "no \(release)/\(product): run `swift build -c release` first")
        }
        if status.st_mtim.tv_sec < newestSource {
            throw ReleaseBuildMissing(
                description: "\(release)/\(product) is older than the sources: run `swift build -c release`")
        }
    }
    return release
}

/// The latest modification time (seconds) of a file under `directory`; 0 when none.
func newestModification(under directory: String) -> Int {
    guard let files = FileManager.default.enumerator(atPath: directory) else { return 0 }
    var newest = 0
    for case let file as String in files {
        var status = stat()
        if stat("\(directory)/\(file)", &status) == 0 { newest = max(newest, status.st_mtim.tv_sec) }
    }
    return newest
}
