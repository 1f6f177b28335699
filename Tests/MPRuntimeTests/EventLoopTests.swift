import Glibc
import MPCore
import MPTestSupport
import Testing

@testable import MPRuntime

/// Serialized: each test blocks its thread in `run()` for a moment.
@Suite("EventLoop", .serialized)
struct EventLoopTests {
    @Test func ioWatcherFiresWhenADatagramArrives() throws {
        let loop = try EventLoop()
        let server = try UDPSocket(bindingTo: .loopbackIPv4(port: 0))
        let client = try UDPSocket(family: .ipv4)
        var received: [UInt8] = []
        let watcher = IOWatcher(loop: loop, fd: server.fd) {
            var buffer = [UInt8](repeating: 0, count: 32)
            let result = buffer.withUnsafeMutableBytes { server.receive(into: $0) }
            if case .datagram(let length, _) = result { received = Array(buffer[0..<length]) }
            loop.stop()
        }
        watcher.start()
        #expect(watcher.isActive)
        let serverAddress = try server.localAddress
        #expect([UInt8]([4, 2]).withUnsafeBytes { client.send($0, to: serverAddress) } == .sent)
        #expect(runLoop(loop, timeout: .seconds(5)), "the datagram never woke the loop")
        #expect(received == [4, 2])
    }

    @Test func oneShotTimerFiresOnceAndStopEndsRun() throws {
        let loop = try EventLoop()
        var fired = 0
        let start = loop.now
        let timer = TimerWatcher(loop: loop, interval: .milliseconds(20), repeating: false) {
            fired += 1
            loop.stop()
        }
        timer.start()
        #expect(runLoop(loop, timeout: .seconds(5)))
        #expect(fired == 1)
        #expect(loop.now - start >= .milliseconds(20))
        #expect(!timer.isActive)
    }

    @Test func repeatingTimerKeepsFiring() throws {
        let loop = try EventLoop()
        var fired = 0
        let timer = TimerWatcher(loop: loop, interval: .milliseconds(5), repeating: true) {
            fired += 1
            if fired == 3 { loop.stop() }
        }
        timer.start()
        #expect(runLoop(loop, timeout: .seconds(5)))
        #expect(fired == 3)
        #expect(timer.isActive)
    }

    @Test func rescheduleMovesTheExpiry() throws {
        let loop = try EventLoop()
        var fired = false
        let timer = TimerWatcher(loop: loop, interval: .seconds(60), repeating: false) {
            fired = true
            loop.stop()
        }
        timer.start()
        timer.reschedule(after: .milliseconds(10))
        #expect(runLoop(loop, timeout: .seconds(5)))
        #expect(fired)
    }

    @Test func stoppedTimerNeverFires() throws {
        let loop = try EventLoop()
        var fired = false
        let timer = TimerWatcher(loop: loop, interval: .milliseconds(5), repeating: false) { fired = true }
        timer.start()
        timer.stop()
        let finish = TimerWatcher(loop: loop, interval: .milliseconds(30), repeating: false) { loop.stop() }
        finish.start()
        #expect(runLoop(loop, timeout: .seconds(5)))
        #expect(!fired)
    }

    @Test func watcherMayReleaseItselfInItsHandler() throws {
        let loop = try EventLoop()
        var timer: TimerWatcher?
        timer = TimerWatcher(loop: loop, interval: .milliseconds(5), repeating: true) {
            timer = nil
            loop.stop()
        }
        timer?.start()
        #expect(runLoop(loop, timeout: .seconds(5)))
        #expect(timer == nil)
    }

    @Test func guardTimerEndsARunThatNothingStops() throws {
        let loop = try EventLoop()
        let idle = TimerWatcher(loop: loop, interval: .seconds(60), repeating: false) {}
        idle.start()
        #expect(!runLoop(loop, timeout: .milliseconds(20)))
    }

    @Test func signalWatcherRunsItsHandlerOnTheLoop() throws {
        let loop = try EventLoop.makeDefault()
        var caught = 0
        let watcher = SignalWatcher(loop: loop, signal: SIGUSR2) {
            caught += 1
            loop.stop()
        }
        watcher.start()
        defer { watcher.stop() }
        // Test runner threads block most signals (libev leaves the mask alone); let this one
        // take SIGUSR2 for the duration of the test.
        var signals = sigset_t()
        var saved = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGUSR2)
        pthread_sigmask(SIG_UNBLOCK, &signals, &saved)
        defer { pthread_sigmask(SIG_SETMASK, &saved, nil) }
        // Sent to the process from inside the running loop, as `kill -USR2` would be.
        let trigger = TimerWatcher(loop: loop, interval: .milliseconds(5), repeating: false) {
            kill(getpid(), SIGUSR2)
        }
        trigger.start()
        #expect(runLoop(loop, timeout: .seconds(5)))
        #expect(caught == 1)
    }

    @Test func clockMovesForward() throws {
        let first = MonotonicClock.now()
        let loop = try EventLoop()
        #expect(loop.now >= first)
        #expect(first.nanoseconds > 0)
    }
}
