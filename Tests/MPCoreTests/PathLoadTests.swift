import Testing

@testable import MPCore

@Suite("A path's load: the departure log")
struct PathLoadTests {
    @Test("a report's frame is dated by its own entry, or half way to the next when the log skipped it")
    func departureLookup() {
        var load = PathLoad()
        let start = Timestamp(nanoseconds: 1_000_000_000)
        // Frames 0.2 ms apart: the log keeps one per 0.5 ms, skipping the frames in between.
        for sequence in UInt64(0)..<20 {
            load.recordSend(sequence: sequence, bytes: 1_232, now: start + TimeSpan(nanoseconds: 200_000 * sequence))
        }
        let logged = load.log.map(\.sequence)
        #expect(logged == [0, 3, 6, 9, 12, 15, 18])
        #expect(load.departure(of: 9)?.time == start + TimeSpan(nanoseconds: 1_800_000))
        // Frame 10 left 0.2 ms after frame 9, and the next entry (12) 0.6 ms after it: dated
        // half the log's spacing after 9.
        #expect(load.departure(of: 10)?.time == start + TimeSpan(nanoseconds: 2_050_000))
        #expect(load.departure(of: 25)?.time == start + TimeSpan(nanoseconds: 3_850_000))
        var empty = PathLoad()
        #expect(empty.departure(of: 1) == nil)
        empty.recordSend(sequence: 5, bytes: 100, now: start)
        #expect(empty.departure(of: 4) == nil)
    }
}
