import Testing

@testable import MPCore

@Suite("A path's load: the departure log")
struct PathLoadTests {
    @Test("a report's frame is found only when the log holds it, never dated by a neighbour")
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
        #expect(load.departure(of: 10) == nil)
        #expect(load.departure(of: 25) == nil)
    }
}
