// Child processes of the lab and of the end-to-end tests: the built mpclient and mpserver,
// socat bridges and mplab relays. Each is started with posix_spawn, its standard output and
// error go to a log file, and it is stopped by PID (SIGTERM, then SIGKILL) when its owner is
// done with it or the object goes. Neither the lab's private libev loop nor a test reaps
// children by itself, so this does, by PID.
import Glibc
import MPRuntime

/// A process started by the lab or a test and stopped by PID.
public final class ChildProcess {
    /// The process id.
    public let pid: pid_t
    /// A short name for messages: `mpserver`, `relay 2`.
    public let name: String
    /// The command line, for messages.
    public let commandLine: String
    /// Where the process's standard output and standard error go.
    public let logPath: String
    private var exitStatus: Int32?

    /// Starts `executable` (a path, or a name looked up in PATH) with `arguments` and extra
    /// `environment` entries; standard input is /dev/null, output and errors are appended to
    /// `logPath`. `name` defaults to the executable's file name.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], logPath: String,
        name: String? = nil
    ) throws {
        self.commandLine = ([executable] + arguments).joined(separator: " ")
        self.name = name ?? String(executable.split(separator: "/").last ?? Substring(executable))
        self.logPath = logPath
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let inherited = Environment.all.merging(environment) { $1 }
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

    /// True while the process has not exited (reaping it if it has), without waiting.
    public var isRunning: Bool {
        reap(options: WNOHANG)
        return exitStatus == nil
    }

    /// `running`, `exited with status 1`, `killed by signal 9`, or `exited` when something
    /// else reaped it.
    public var state: String {
        guard !isRunning, let status = exitStatus else { return "running" }
        if status < 0 { return "exited" }
        return status < 128 ? "exited with status \(status)" : "killed by signal \(status - 128)"
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
        if !waitForExitOrTimeout(grace) {
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

    /// The exit code once the process has exited (128 + signal when killed, -1 when something
    /// else reaped it); nil while it still runs after `timeout`.
    public func waitForExit(timeout: Duration = .seconds(5)) -> Int32? {
        _ = waitForExitOrTimeout(timeout)
        return exitStatus
    }

    /// What the process wrote so far.
    public var log: String {
        (try? TextFile.read(path: logPath)) ?? ""
    }

    /// Polls every 10 ms until the process has exited (true) or `timeout` has passed (false).
    private func waitForExitOrTimeout(_ timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while isRunning {
            guard ContinuousClock.now < deadline else { return false }
            usleep(10_000)
        }
        return true
    }

    private func reap(options: Int32) {
        guard exitStatus == nil else { return }
        var status: Int32 = 0
        let result = waitpid(pid, &status, options)
        if result < 0 && errno == ECHILD {
            // Reaped elsewhere: gone, status unknown.
            exitStatus = -1
            return
        }
        guard result == pid else { return }
        let signalled = status & 0x7f
        exitStatus = signalled == 0 ? (status >> 8) & 0xff : 128 + signalled
    }

    /// Spawn attributes that give the child an empty signal mask and default handling of
    /// the signals the lab and the tests use. A test runs on a worker thread of Swift's
    /// concurrency pool, which blocks most signals, and libev changes the lab's own mask; a
    /// child would inherit that mask and never see SIGTERM or SIGUSR1 (every stop would
    /// then wait for SIGKILL).
    private static func cleanSignalAttributes() -> posix_spawnattr_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        // Its own process group (id = its pid), so that stopping it also stops what it
        // forked: socat's per-client children would otherwise outlive their owner.
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        return attributes
    }
}

/// posix_spawn failed.
public struct SpawnError: Error, CustomStringConvertible {
    public let commandLine: String
    public let errno: Int32
    public var description: String { "cannot start `\(commandLine)': \(String(cString: strerror(errno)))" }
}
