// Signals of both daemons, as libev signal watchers on the loop: SIGINT and SIGTERM end
// the loop (a clean exit), SIGUSR1 logs statistics. SIGPIPE cannot happen on UDP sockets.
import Glibc
import Logging

/// Watchers for SIGINT, SIGTERM (stop the loop) and SIGUSR1 (`onStatistics`). Keep the
/// returned objects alive as long as the loop runs.
func signalWatchers(loop: EventLoop, logger: Logger, onStatistics: @escaping () -> Void) -> [AnyObject] {
    unblock([SIGINT, SIGTERM, SIGUSR1])
    var watchers: [AnyObject] = []
    for (signal, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
        let watcher = SignalWatcher(loop: loop, signal: signal) { [unowned loop] in
            logger.info("stopping", metadata: ["signal": "\(name)"])
            loop.stop()
        }
        watcher.start()
        watchers.append(watcher)
    }
    let statistics = SignalWatcher(loop: loop, signal: SIGUSR1, handler: onStatistics)
    statistics.start()
    watchers.append(statistics)
    return watchers
}

/// A parent that started the daemon with these signals blocked (a test runner's worker
/// thread, some supervisors) would make it deaf to stop and statistics requests: the mask
/// is inherited across exec, so the daemon clears it for the signals it handles.
private func unblock(_ signals: [Int32]) {
    var set = sigset_t()
    sigemptyset(&set)
    for signal in signals { sigaddset(&set, signal) }
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
}
