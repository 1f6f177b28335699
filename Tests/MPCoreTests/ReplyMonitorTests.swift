import Testing
@testable import MPCore

@Suite("Reply monitor")
struct ReplyMonitorTests {
    @Test("silence is reported at 5 s, repeated at most every 10 s, and its end once")
    func silence() {
        var monitor = ReplyMonitor(now: ms(0))
        #expect(monitor.check(lastReceive: nil, now: ms(4_999)) == nil)
        #expect(monitor.check(lastReceive: nil, now: ms(5_000)) == .silent(silentFor: .seconds(5)))
        #expect(monitor.check(lastReceive: nil, now: ms(14_000)) == nil)
        #expect(monitor.check(lastReceive: nil, now: ms(15_000)) == .silent(silentFor: .seconds(15)))
        #expect(monitor.check(lastReceive: ms(16_000), now: ms(16_250)) == .heardAgain(silentFor: .seconds(16)))
        #expect(monitor.check(lastReceive: ms(16_000), now: ms(16_500)) == nil)
        #expect(monitor.check(lastReceive: ms(17_000), now: ms(21_000)) == nil)
        #expect(monitor.check(lastReceive: ms(17_000), now: ms(22_000)) == .silent(silentFor: .seconds(5)))
    }

    @Test("frames arriving steadily never warn, nor does a frame from before the start")
    func steady() {
        var monitor = ReplyMonitor(now: ms(10_000))
        for second in UInt64(10)..<100 {
            #expect(monitor.check(lastReceive: ms((second - 1) * 1_000), now: ms(second * 1_000)) == nil)
        }
        var restarted = ReplyMonitor(now: ms(100_000))
        #expect(restarted.check(lastReceive: ms(1_000), now: ms(104_000)) == nil)
    }
}
