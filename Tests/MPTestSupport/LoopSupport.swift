// Helpers for tests that open sockets or run an event loop: a free port to hand to a
// process under test, and a run of the loop that a guard timer ends if nothing else does.
import MPCore
import MPRuntime

/// A UDP port on 127.0.0.1 (or ::1) that was free a moment ago: binds port 0, reads the
/// port the kernel chose and closes the socket. Another process may take it in between, so
/// prefer binding port 0 directly where the code under test allows it.
public func freeUDPPort(family: SocketAddress.Family = .ipv4) -> UInt16 {
    let loopback = family == .ipv4 ? SocketAddress.loopbackIPv4(port: 0) : SocketAddress.loopbackIPv6(port: 0)
    do {
        return try UDPSocket(bindingTo: loopback).localAddress.port
    } catch {
        // Test support only: a machine that cannot bind loopback cannot run these tests.
        fatalError("cannot bind a UDP socket on \(loopback): \(error)")
    }
}

/// Runs `loop` until a callback calls `stop()`, or for at most `timeout`. Returns true when
/// the loop was stopped (or ran out of watchers) before the timeout, false when the guard
/// timer had to stop it: the test should then fail.
@discardableResult
public func runLoop(_ loop: EventLoop, timeout: Duration = .seconds(5)) -> Bool {
    var timedOut = false
    let guardTimer = TimerWatcher(loop: loop, interval: TimeSpan(timeout), repeating: false) {
        timedOut = true
        loop.stop()
    }
    guardTimer.start()
    loop.run()
    guardTimer.stop()
    return !timedOut
}

extension TimeSpan {
    /// The same length as a Swift `Duration` (negative durations become zero).
    public init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0, attoseconds >= 0 else {
            self.init(nanoseconds: 0)
            return
        }
        // 1e9 attoseconds per nanosecond.
        self.init(nanoseconds: UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000))
    }
}
