// The event loop every subcommand runs on: a private libev loop (not the default one,
// which would reap the demo's child processes behind its back through its SIGCHLD
// watcher) with SIGINT/SIGTERM watchers that stop it, and an optional deadline.
import Glibc
import MPCore
import MPRuntime

final class LabLoop {
    let loop: EventLoop
    /// The signal that stopped the loop, if any (SIGINT or SIGTERM).
    private(set) var stoppingSignal: Int32?
    private var signalWatchers: [SignalWatcher] = []

    init() throws {
        loop = try EventLoop()
        for signal in [SIGINT, SIGTERM] {
            let watcher = SignalWatcher(loop: loop, signal: signal) { [unowned self] in
                stoppingSignal = signal
                loop.stop()
            }
            watcher.start()
            signalWatchers.append(watcher)
        }
    }

    /// Whether SIGINT or SIGTERM arrived.
    var isInterrupted: Bool { stoppingSignal != nil }

    /// Runs the loop until ``stop()``, a signal, or `seconds` (when given) have passed.
    func run(for seconds: Double? = nil) {
        guard !isInterrupted else { return }
        var deadline: TimerWatcher?
        if let seconds {
            deadline = TimerWatcher(loop: loop, interval: timeSpan(seconds: seconds), repeating: false) {
                [unowned self] in loop.stop()
            }
            deadline?.start()
        }
        loop.run()
        deadline?.stop()
    }

    /// Makes ``run(for:)`` return; call it from a callback.
    func stop() {
        loop.stop()
    }

    /// A repeating timer, already started.
    func every(_ interval: TimeSpan, _ handler: @escaping () -> Void) -> TimerWatcher {
        let timer = TimerWatcher(loop: loop, interval: interval, repeating: true, handler: handler)
        timer.start()
        return timer
    }

    /// A one-shot timer, already started.
    func after(_ delay: TimeSpan, _ handler: @escaping () -> Void) -> TimerWatcher {
        let timer = TimerWatcher(loop: loop, interval: delay, repeating: false, handler: handler)
        timer.start()
        return timer
    }

    /// The shell's convention for a process stopped by a signal: 128 + the signal number.
    var interruptedExitCode: Int32 { 128 + (stoppingSignal ?? SIGINT) }
}

/// `seconds` (non-negative, finite) as a span.
func timeSpan(seconds: Double) -> TimeSpan {
    TimeSpan(nanoseconds: UInt64(max(0, seconds) * 1e9))
}
