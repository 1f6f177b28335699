// The lab's child processes (mpserver, mpclient, relays, echo targets) and the group that
// stops them together. The process itself is MPLabSupport's ChildProcess, which the tests
// use too; here it gets the lab's error type and the group.
import Glibc
import MPCore
import MPLabSupport
import MPRuntime

extension ChildProcess {
    /// Starts `executable` with `arguments`, the lab's environment, standard input from
    /// /dev/null and standard output and error appended to `logPath`.
    /// - Throws: ``LabError`` naming the executable when it cannot start.
    static func spawn(name: String, executable: String, arguments: [String], logPath: String) throws -> ChildProcess {
        do {
            return try ChildProcess(executable, arguments, logPath: logPath, name: name)
        } catch let error as SpawnError {
            throw LabError("cannot start `\(executable)': \(errnoText(error.errno))")
        }
    }

    /// Whether the child has exited (reaping it if so), without waiting.
    var hasExited: Bool { !isRunning }
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
        while children.contains(where: \.isRunning) && MonotonicClock.now() < deadline {
            usleep(20_000)
        }
        children.forEach { $0.kill9() }
    }
}
