import Logging
import MPCore
import MPTestSupport
import Testing

@testable import MPRuntime

@Suite("Test support and logging")
struct SupportTests {
    @Test func waitUntilReturnsOnceTheConditionHolds() {
        var calls = 0
        #expect(
            waitUntil(timeout: .seconds(2), poll: .milliseconds(1)) {
                calls += 1
                return calls == 3
            })
        #expect(calls == 3)
    }

    @Test func waitUntilGivesUpAtTheDeadline() {
        let start = ContinuousClock.now
        #expect(!waitUntil(timeout: .milliseconds(30), poll: .milliseconds(5)) { false })
        #expect(ContinuousClock.now - start >= .milliseconds(30))
    }

    @Test func deadlineCountsDown() {
        let deadline = Deadline(timeout: .seconds(60))
        #expect(!deadline.hasPassed)
        #expect(deadline.remaining > .seconds(59))
        #expect(Deadline(timeout: .zero).remaining == .zero)
    }

    @Test func freePortIsBindable() throws {
        let port = freeUDPPort()
        #expect(port != 0)
        let socket = try UDPSocket(bindingTo: .loopbackIPv4(port: port))
        #expect(try socket.localAddress.port == port)
    }

    @Test func durationConvertsToTimeSpan() {
        #expect(TimeSpan(.milliseconds(1500)) == .milliseconds(1500))
        #expect(TimeSpan(.seconds(-1)) == TimeSpan(nanoseconds: 0))
    }

    @Test func logBootstrapTakesEffectOnce() {
        // Another test may have bootstrapped first; either way a later call is refused.
        LogSetup.bootstrap(level: .info)
        #expect(!LogSetup.bootstrap(level: .trace))
    }
}
