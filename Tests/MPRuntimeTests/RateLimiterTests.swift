import MPCore
import Testing

@testable import MPRuntime

@Suite("RateLimiter")
struct RateLimiterTests {
    /// One call: seconds after the start, whether it is allowed, and `suppressed` after an
    /// allowed call.
    struct Step: Sendable, CustomStringConvertible {
        let second: UInt64
        let allowed: Bool
        let suppressed: Int
        var description: String { "t=\(second)s" }
    }

    @Test func repeatsWithinTheIntervalAreCountedAndReported() {
        let steps: [Step] = [
            Step(second: 0, allowed: true, suppressed: 0),  // 1: the first is always allowed
            Step(second: 1, allowed: false, suppressed: 0),  // 2: within 10 s
            Step(second: 5, allowed: false, suppressed: 0),  // 3
            Step(second: 9, allowed: false, suppressed: 0),  // 4: just under the interval
            Step(second: 10, allowed: true, suppressed: 3),  // 5: reports steps 2-4
            Step(second: 11, allowed: false, suppressed: 3),  // 6
            Step(second: 25, allowed: true, suppressed: 1),  // 7: reports step 6
            Step(second: 40, allowed: true, suppressed: 0),  // 8: nothing held back
        ]
        var limiter = RateLimiter(interval: .seconds(10))
        let start = Timestamp(nanoseconds: 1_000)
        for step in steps {
            let allowed = limiter.allow(now: start + .seconds(step.second))
            #expect(allowed == step.allowed, "\(step)")
            if allowed {
                #expect(limiter.suppressed == step.suppressed, "\(step)")
            }
        }
    }

    @Test func intervalIsKept() {
        #expect(RateLimiter(interval: .milliseconds(250)).interval == .milliseconds(250))
    }
}
