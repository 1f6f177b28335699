// Signals of both daemons, as libev signal watchers on the loop: SIGINT and SIGTERM end
// the loop (a clean exit), SIGUSR1 logs statistics. SIGPIPE cannot happen on UDP sockets.
import Glibc
import Logging

/// Watchers for SIGINT, SIGTERM (stop the loop) and SIGUSR1 (`onStatistics`). Keep the
/// returned objects alive as long as the loop runs.
func signalWatchers(loop: EventLoop, logger: Logger, onStatistics: @escaping () -> Void) -> [AnyObject] {
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
