// The part the control socket and the metrics endpoint share: a listening stream socket on
// the loop whose connections are accepted (non-blocking, close-on-exec), handed to the
// owner, and kept while they are in progress: at most `limit` at once (one past it is
// closed unanswered), none longer than `lifetime` from its accept (a timer closes it then,
// whether or not other connections arrive), so a local peer that never reads or never
// finishes its request cannot make a daemon hold more, or hold it longer.
import Glibc
import MPCore

/// A connection a ``ConnectionListener`` keeps until it is finished or too old.
protocol ListenerConnection: AnyObject {
    var isFinished: Bool { get }
    var startedAt: Timestamp { get }
}

/// Accepts the connections of listening socket `fd` on the loop; owns and closes `fd`.
/// Not thread-safe: use it from the event loop's thread.
final class ConnectionListener {
    let fd: Int32
    private let limit: Int
    private let lifetime: TimeSpan
    private let open: (Int32, Timestamp) -> ListenerConnection
    private var connections: [ListenerConnection] = []
    private var watcher: IOWatcher?
    /// Fires when the oldest connection's lifetime ends.
    private var deadline: TimerWatcher?

    /// Starts accepting on `loop`; `open` gets each new connection's descriptor and the time.
    init(
        fd: Int32, loop: EventLoop, limit: Int, lifetime: TimeSpan,
        open: @escaping (Int32, Timestamp) -> ListenerConnection
    ) {
        self.fd = fd
        self.limit = limit
        self.lifetime = lifetime
        self.open = open
        let watcher = IOWatcher(loop: loop, fd: fd) { [unowned self] in acceptConnections() }
        watcher.start()
        self.watcher = watcher
        deadline = TimerWatcher(loop: loop, interval: lifetime, repeating: false) { [unowned self] in
            dropFinishedAndExpired(now: MonotonicClock.now())
        }
    }

    deinit {
        watcher?.stop()
        deadline?.stop()
        connections.removeAll()
        _ = close(fd)
    }

    private func acceptConnections() {
        let now = MonotonicClock.now()
        dropFinishedAndExpired(now: now)
        defer { dropFinishedAndExpired(now: now) }
        for _ in 0..<limit {
            guard let connection = acceptNonBlocking(fd) else { return }
            guard connections.count < limit else {
                _ = close(connection)
                continue
            }
            let kept = open(connection, now)
            if !kept.isFinished { connections.append(kept) }
        }
    }

    /// Closes the connections that are finished or past their lifetime (releasing one closes
    /// it), and sets the timer for the oldest of the others.
    private func dropFinishedAndExpired(now: Timestamp) {
        connections.removeAll { $0.isFinished || now - $0.startedAt >= lifetime }
        // Connections are kept in the order they were accepted: the first is the oldest.
        if let oldest = connections.first {
            deadline?.reschedule(
                after: TimeSpan(nanoseconds: lifetime.nanoseconds - (now - oldest.startedAt).nanoseconds))
        } else {
            deadline?.stop()
        }
    }
}

/// A connection waiting on listening socket `fd`, non-blocking and close-on-exec; nil when
/// none is waiting (or accept failed).
func acceptNonBlocking(_ fd: Int32) -> Int32? {
    let connection = accept(fd, nil, nil)
    guard connection >= 0 else { return nil }
    // Glibc's module hides accept4: set the flags it would have set.
    _ = fcntl(connection, F_SETFL, fcntl(connection, F_GETFL) | O_NONBLOCK)
    _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
    return connection
}
