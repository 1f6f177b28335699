import Glibc
import Testing

@testable import MPCore

/// Each session key lives in a libcrypto cipher context made when the key is derived and
/// freed when the last frame protection holding it goes: when a session ends. Sessions made
/// and ended by the thousand must leave the process's memory where it was.
@Suite("Session memory", .serialized)
struct SessionMemoryTests {
    static let keyring = Keyring(key: try! PreSharedKey(bytes: (0..<32).map { UInt8($0) }))

    @Test("10,000 sealed sessions made and ended: the process's memory stays flat")
    func sessionsEnd() {
        let harness = TunnelHarness(paths: 1, keyring: Self.keyring)
        // Warm-up: tables, malloc's arenas and libcrypto's caches grown.
        Self.cycle(harness, sessions: 1_000, firstID: 1)
        let before = Self.memory()
        Self.cycle(harness, sessions: 10_000, firstID: 1_001)
        let after = Self.memory()
        print("10,000 sessions made and ended: resident \(before) -> \(after) KB")
        // 4 MB: under a tenth of what 10,000 sessions' contexts would hold if they leaked
        // (the test below shows what they hold), above what tests running beside it move.
        #expect(after - before < 4_096)
    }

    @Test("the measure sees contexts that are kept: the leak the test above looks for would show")
    func keptContextsShow() {
        let before = Self.memory()
        var kept: [FrameProtection] = []
        // Memory freed by earlier tests is used again before the process grows: keep keys,
        // a thousand at a time, until it grows by the bound above.
        while Self.memory() - before < 4_096 && kept.count < 40_000 {
            let first = UInt64(kept.count + 1)
            kept += (first..<(first + 1_000)).map { Self.keyring.downstream(sessionID: $0, serverTag: 7) }
        }
        print("\(kept.count) kept session keys: resident \(before) -> \(Self.memory()) KB")
        // 10,000 sessions that leaked would keep 40,000 keys (each side one per direction).
        #expect(Self.memory() - before >= 4_096)
    }

    /// Makes `sessions` sessions one after the other (each mpclient restart draws a new
    /// session id and key; mpserver accepts it with keys for both directions), and ends
    /// each at mpserver by expiry and at mpclient by the next restart.
    static func cycle(_ harness: TunnelHarness, sessions: Int, firstID: UInt64) {
        for index in 0..<UInt64(sessions) {
            harness.restartClient(sessionID: firstID + index)
            harness.establish()
            #expect(harness.client.isAccepted)
            harness.server.expire(idleFor: .seconds(0), now: harness.now) { _ in }
            #expect(harness.server.sessions.isEmpty)
            // What the harness records for other tests would grow with every session.
            harness.capturedUpstream.removeAll()
            harness.capturedDownstream.removeAll()
        }
    }

    /// The process's resident memory in kilobytes (the kernel's count, /proc/self/statm).
    static func memory() -> Int {
        var text = [UInt8](repeating: 0, count: 128)
        let file = open("/proc/self/statm", O_RDONLY)
        defer { close(file) }
        let count = read(file, &text, text.count)
        let fields = text.prefix(max(count, 0)).split(separator: UInt8(ascii: " "))
        let pages = fields.count > 1 ? Int(String(decoding: fields[1], as: UTF8.self)) ?? 0 : 0
        return pages * Int(sysconf(Int32(_SC_PAGESIZE))) / 1_024
    }
}
