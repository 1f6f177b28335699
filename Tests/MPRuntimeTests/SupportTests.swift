import Logging
import MPCore
import MPLabSupport
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

    @Test func stealIsReadFromProcStat() throws {
        let first = try #require(StealSample.now(), "/proc/stat has no steal field")
        let second = try #require(StealSample.now())
        #expect(second.total >= first.total && second.steal >= first.steal)
        #expect((0...1).contains(second.share(since: first)))
        #expect(second.stolenSeconds(since: first) >= 0)
        let later = StealSample(steal: first.steal + 10 * StealSample.processors, total: first.total + 1_000)
        #expect(abs(later.stolenSeconds(since: first) - 10 / StealSample.ticksPerSecond) < 1e-9)
        #expect(later.share(since: first) == Double(10 * StealSample.processors) / 1_000)
    }

    @Test func anAttemptRunsAgainOnlyWhenItFailedDuringAPause() {
        var runs = 0
        func attempt() -> Int {
            runs += 1
            return runs
        }
        // Passed: once.
        #expect(
            retryingAfterAHostPause("self-test, passing", attempt, passes: { _ in true }, ranLate: { _ in true }) == 1
        )
        // Failed while a helper reported running late: up to three times, each recorded as a
        // known issue, and the last result counts.
        runs = 0
        #expect(
            retryingAfterAHostPause("self-test, paused", attempt, passes: { _ in false }, ranLate: { _ in true }) == 3
        )
        runs = 0
        #expect(
            retryingAfterAHostPause("self-test, paused", attempt, passes: { $0 == 2 }, ranLate: { _ in true }) == 2)
        // Failed with no pause seen: once (more only if the host really paused the machine
        // for 50 ms right then).
        runs = 0
        let before = StealSample.now()
        let result = retryingAfterAHostPause("self-test, failing", attempt, passes: { _ in false })
        let stolen = before.flatMap { before in StealSample.now().map { $0.stolenSeconds(since: before) } } ?? 0
        #expect(result == 1 || stolen >= hostPauseSeconds)
    }

    @Test func logBootstrapTakesEffectOnce() {
        // Another test may have bootstrapped first; either way a later call is refused.
        LogSetup.bootstrap(level: .info)
        #expect(!LogSetup.bootstrap(level: .trace))
    }
}
