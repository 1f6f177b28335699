// The demo's child processes (mpserver, mpclient): started with posix_spawn, standard
// output and error going to a log file, stopped by PID with SIGTERM and then SIGKILL.
// The lab's loop is a private libev loop, so nothing else reaps these children.
import Glibc
import MPCore
import MPRuntime

final class ChildProcess {
    let name: String
    let pid: pid_t
    let logPath: String
    /// The wait status once the child has been reaped.
    private(set) var waitStatus: Int32?

    private init(name: String, pid: pid_t, logPath: String) {
        self.name = name
        self.pid = pid
        self.logPath = logPath
    }

    /// Starts `executable` with `arguments`, the lab's environment, standard input from
    /// /dev/null and standard output and error appended to `logPath`.
    static func spawn(name: String, executable: String, arguments: [String], logPath: String) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        resetSignals(&attributes)
        let argv = ([executable] + arguments).map { strdup($0) }
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, &attributes, argv + [nil], environ)
        guard status == 0 else { throw LabError("cannot start `\(executable)': \(errnoText(status))") }
        return ChildProcess(name: name, pid: pid, logPath: logPath)
    }

    /// The child starts with no signal blocked and default actions for the signals the lab
    /// handles, whatever libev did to the lab's own mask.
    private static func resetSignals(_ attributes: inout posix_spawnattr_t) {
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGCHLD, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    }

    /// Whether the child has exited (reaping it if so), without waiting.
    var hasExited: Bool {
        if waitStatus != nil { return true }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid {
            waitStatus = status
        } else if result < 0 && errno == ECHILD {
            // Reaped elsewhere: gone, status unknown.
            waitStatus = -1
        }
        return waitStatus != nil
    }

    /// `exited with status 1`, `killed by signal 9` or `running`.
    var state: String {
        guard let status = waitStatus else { return "running" }
        if status == -1 { return "exited" }
        let signal = status & 0x7f
        return signal == 0 ? "exited with status \((status >> 8) & 0xff)" : "killed by signal \(signal)"
    }

    func signal(_ number: Int32) {
        guard !hasExited else { return }
        kill(pid, number)
    }
}

/// The demo's children, stopped together: SIGTERM to each, up to `grace` seconds for them
/// to exit, then SIGKILL for the rest.
final class ChildGroup {
    /// 2 s: the daemons stop in milliseconds; longer means they hang.
    static let graceSeconds = 2.0
    private(set) var children: [ChildProcess] = []

    func add(_ child: ChildProcess) {
        children.append(child)
    }

    func stopAll() {
        children.reversed().forEach { $0.signal(SIGTERM) }
        let deadline = MonotonicClock.now() + timeSpan(seconds: Self.graceSeconds)
        while children.contains(where: { !$0.hasExited }) && MonotonicClock.now() < deadline {
            usleep(20_000)
        }
        for child in children where !child.hasExited {
            kill(child.pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(child.pid, &status, 0)
        }
    }
}
