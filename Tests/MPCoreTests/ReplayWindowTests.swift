import Testing
import MPLabSupport
@testable import MPCore

@Suite("Replay window")
struct ReplayWindowTests {
    /// Numbered cases run in order on one window, in the manner of wireguard-go's replay_test.go.
    static let size = ReplayWindow.size
    static let steps: [(sequence: UInt64, verdict: ReplayVerdict)] = [
        (0, .tooOld),  // T1: zero is never a sequence number
        (1, .fresh),  // T2
        (1, .duplicate),  // T3
        (3, .fresh),  // T4: a gap
        (2, .fresh),  // T5: the gap filled late
        (2, .duplicate),  // T6
        (size + 3, .fresh),  // T7: far ahead
        (3, .tooOld),  // T8: slid out: highest - 3 == size
        (4, .fresh),  // T9: just inside the window, never seen
        (4, .duplicate),  // T10
        (size + 2, .fresh),  // T11: below the highest, unseen
        (size + 3, .duplicate),  // T12
        (3 * size, .fresh),  // T13: a jump larger than the ring
        (size + 2, .tooOld),  // T14
        (2 * size + 1, .fresh),  // T15: at the far edge
        (2 * size, .tooOld),  // T16: just past it
        (.max, .fresh),  // T17
        (.max, .duplicate),  // T18
        (.max - 1, .fresh),  // T19
    ]

    @Test("numbered cases")
    func numberedCases() {
        var window = ReplayWindow()
        for (index, step) in Self.steps.enumerated() {
            #expect(window.check(step.sequence) == step.verdict, "T\(index + 1): \(step.sequence)")
        }
    }

    @Test("every number in order is fresh once, then a duplicate")
    func inOrderSweep() {
        var window = ReplayWindow()
        for sequence in UInt64(1)...50_000 { #expect(window.check(sequence) == .fresh) }
        for sequence in UInt64(50_000 - Self.size + 1)...50_000 { #expect(window.check(sequence) == .duplicate) }
        #expect(window.check(50_000 - Self.size) == .tooOld)
    }

    @Test("a slow path 10,000 packets behind is still deduplicated, not rejected")
    func pathSkew() {
        var window = ReplayWindow()
        let skew: UInt64 = 10_000
        for sequence in UInt64(1)...100_000 {
            #expect(window.check(sequence) == .fresh)
            if sequence > skew { #expect(window.check(sequence - skew) == .duplicate) }
        }
    }

    @Test("random reordering within the window: each number fresh exactly once")
    func shuffledSweep() {
        var random = SplitMix64(seed: 42)
        var window = ReplayWindow()
        // Shuffled in chunks of 8,000, so no number arrives more than a window late.
        let sequences = stride(from: UInt64(1), to: 20_001, by: 8_000).flatMap { start in
            Array(start..<min(start + 8_000, 20_001)).shuffled(using: &random)
        }
        var fresh = 0
        for sequence in sequences + sequences where window.check(sequence) == .fresh { fresh += 1 }
        #expect(fresh == 20_000)
    }

    /// Peek (P) and check (C) interleaved on one window: a peek judges as a check would, and
    /// records nothing, whatever it judged (a frame that fails to authenticate is only peeked).
    enum Call { case peek, check }
    static let peekSteps: [(call: Call, sequence: UInt64, verdict: ReplayVerdict)] = [
        (.peek, 0, .tooOld),  // P1: zero is never a sequence number
        (.peek, 1, .fresh),  // P2: a new window accepts everything
        (.peek, 1, .fresh),  // P3: the peek recorded nothing
        (.check, 1, .fresh),  // P4
        (.peek, 1, .duplicate),  // P5: recorded by the check
        (.peek, 2, .fresh),  // P6
        (.peek, size + 10, .fresh),  // P7: far ahead
        (.peek, 1, .duplicate),  // P8: the peek ahead did not slide the window
        (.check, 2, .fresh),  // P9: nor did the peek of 2 record it
        (.check, size + 10, .fresh),  // P10: now it slides
        (.peek, 10, .tooOld),  // P11: highest - 10 == size
        (.peek, 11, .fresh),  // P12: just inside, never seen
        (.peek, size + 10, .duplicate),  // P13
        (.peek, size + 9, .fresh),  // P14: below the highest, unseen
        (.check, size + 9, .fresh),  // P15
        (.peek, size + 9, .duplicate),  // P16
        (.peek, .max, .fresh),  // P17
        (.check, .max, .fresh),  // P18: a jump larger than the ring
        (.peek, .max, .duplicate),  // P19
        (.peek, size + 9, .tooOld),  // P20
        (.peek, .max - size, .tooOld),  // P21: just past the far edge
        (.peek, .max - size + 1, .fresh),  // P22: at it
    ]

    @Test("numbered peek cases")
    func numberedPeekCases() {
        var window = ReplayWindow()
        for (index, step) in Self.peekSteps.enumerated() {
            let verdict = step.call == .peek ? window.peek(step.sequence) : window.check(step.sequence)
            #expect(verdict == step.verdict, "P\(index + 1): \(step.call) \(step.sequence)")
        }
    }

    @Test("random peeks and checks agree with a set of recorded numbers; peeks record nothing")
    func peekSweep() {
        var random = SplitMix64(seed: 7)
        var window = ReplayWindow()
        var recorded = Set<UInt64>()
        var highest: UInt64 = 0
        for _ in 0..<100_000 {
            // Mostly around the highest (late copies up to past the window's edge), sometimes a jump.
            let jump = random.next() % 1_000 == 0 ? random.next() % (4 * Self.size) : 0
            let sequence = (highest + 200 + jump).subtractingReportingOverflow(random.next() % (Self.size + 600))
            let candidate = sequence.overflow ? random.next() % 300 : sequence.partialValue
            let expected: ReplayVerdict =
                candidate == 0 || (candidate <= highest && highest - candidate >= Self.size)
                ? .tooOld : recorded.contains(candidate) ? .duplicate : .fresh
            #expect(window.peek(candidate) == expected)
            guard random.next() % 2 == 0 else { continue }  // only peeked: a forgery
            #expect(window.check(candidate) == expected)
            if expected == .fresh {
                recorded.insert(candidate)
                highest = max(highest, candidate)
            }
            #expect(window.highest == highest)
        }
    }

    @Test("reset forgets everything")
    func reset() {
        var window = ReplayWindow()
        #expect(window.check(100) == .fresh)
        window.reset()
        #expect(window.highest == 0)
        #expect(window.check(100) == .fresh)
        #expect(window.check(1) == .fresh)
    }
}
