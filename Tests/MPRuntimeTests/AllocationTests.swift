// The hot path allocates nothing per datagram (DESIGN.md, runtime requirements): an
// application, mpclient with three paths, mpserver and an echoing target run on one loop
// in this process, and the allocations the loop's thread makes over thousands of round
// trips are counted by CAllocationCounter, which interposes malloc in the test executable.
//
// To find where allocations come from, run with MPTUNNEL_TRACE_ALLOCATIONS=200: the first
// 200 counted allocations of each run write a backtrace to standard error.
import CAllocationCounter
import Glibc
import Logging
import MPCore
import MPTestSupport
import Testing

@testable import MPRuntime

/// Serialized: each test blocks its thread in the loop, and counting is per thread.
@Suite("Allocations", .serialized, .enabled(if: mp_allocations_supported() != 0))
struct AllocationTests {
    /// Round trips before counting: the session accepted, flows opened, tables grown.
    static let warmUpRoundTrips = 2_000
    /// Round trips counted: 100 times the allowance, so one allocation per datagram (six
    /// frames and four payload datagrams make a round trip) would exceed it a hundredfold.
    static let countedRoundTrips = 10_000
    /// Allocations allowed over the counted round trips: timers (mpclient's 100 ms tick,
    /// a probe per path per second and its echo, mpserver's 1 s tick) may allocate a little,
    /// about 30 a second in a debug build, and a counted run takes 2.5 to 4 s. One
    /// allocation per datagram (six frames and four payload datagrams make a round trip)
    /// would exceed this 500 times.
    static let allowance = UInt64(countedRoundTrips / 50)

    @Test func counterSeesAnArrayAllocation() {
        let count = Int.random(in: 100...200)
        mp_allocations_start()
        let array = [UInt8](repeating: 7, count: count)
        mp_allocations_stop()
        #expect(array.count == count)
        #expect(mp_allocations_count() >= 1)
    }

    @Test func counterSeesNothingForArithmetic() {
        var value = UInt64.random(in: 1...1_000)
        mp_allocations_start()
        for step in 0..<1_000 { value = value &* 6_364_136_223_846_793_005 &+ UInt64(step) }
        mp_allocations_stop()
        #expect(value != 1)
        #expect(mp_allocations_count() == 0)
    }

    @Test func keylessForwardingAllocatesNothingPerDatagram() throws {
        let allocations = try Self.countAllocations(keyring: .keyless)
        #expect(allocations < Self.allowance, "run with MPTUNNEL_TRACE_ALLOCATIONS=200 to see where they come from")
    }

    /// Balance mode: the scheduler's per-path logs and estimates are fixed storage once
    /// filled, and picking a path copies none of them.
    @Test func balancedForwardingAllocatesNothingPerDatagram() throws {
        let allocations = try Self.countAllocations(keyring: .keyless, mode: .balance)
        #expect(allocations < Self.allowance, "run with MPTUNNEL_TRACE_ALLOCATIONS=200 to see where they come from")
    }

    /// Fec mode: groups, parity and the kept payloads live in buffers allocated once (grown
    /// only for a longer payload than any before), and the replies are coded too, with a
    /// key so that every shard is sealed and opened.
    @Test func fecForwardingAllocatesNothingPerDatagram() throws {
        let key = try PreSharedKey(bytes: (0..<32).map { UInt8($0) })
        let allocations = try Self.countAllocations(keyring: Keyring(key: key), mode: .fec)
        #expect(allocations < Self.allowance, "run with MPTUNNEL_TRACE_ALLOCATIONS=200 to see where they come from")
    }

    /// Sealing and opening run in libcrypto cipher contexts kept per session key, in place:
    /// nothing per frame, with either cipher, encrypted or authenticated only.
    @Test(arguments: Cipher.allCases, [true, false])
    func sealedForwardingAllocatesNothingPerDatagram(cipher: Cipher, encrypts: Bool) throws {
        let key = try PreSharedKey(bytes: (0..<32).map { UInt8($0) })
        let allocations = try Self.countAllocations(keyring: Keyring(key: key, encrypts: encrypts, cipher: cipher))
        #expect(allocations < Self.allowance, "run with MPTUNNEL_TRACE_ALLOCATIONS=200 to see where they come from")
    }

    /// Runs the tunnel with `keyring` through the warm-up and the counted round trips, and
    /// returns the allocations counted (`UInt64.max` when the round trips stalled).
    static func countAllocations(keyring: Keyring, mode: SchedulingMode = .duplicate) throws -> UInt64 {
        let loop = try EventLoop()
        let tunnel = try LoopbackTunnel(loop: loop, keyring: keyring, mode: mode)
        let driver = try RoundTripDriver(
            loop: loop, to: tunnel.client.listenAddress, warmUp: warmUpRoundTrips, counted: countedRoundTrips)
        tunnel.start()
        driver.start()
        #expect(runLoop(loop, timeout: .seconds(120)), "round trips stalled after \(driver.completed)")
        mp_allocations_stop()
        #expect(tunnel.client.session.isAccepted)
        if mode == .fec {
            // Both directions coded: parity went up, and mpserver's parity completed groups here.
            let statistics = tunnel.client.session.fecStatistics
            #expect(statistics.groupsSent > countedRoundTrips / 8 && statistics.groupsComplete > countedRoundTrips / 8)
        }
        guard let allocations = driver.allocations else { return .max }
        let perRoundTrip = Double(allocations) / Double(countedRoundTrips)
        print(
            "\(mode.rawValue), \(keyring.key == nil ? "keyless" : "sealed, \(keyring.cipher.rawValue), encrypts \(keyring.encrypts)"): "
                + "\(allocations) allocations over \(countedRoundTrips) "
                + "round trips (\(perRoundTrip) per round trip), \(driver.frees ?? 0) frees")
        return allocations
    }
}

/// The application: keeps a few payloads in flight through the tunnel, counts the echoes,
/// counts allocations from the end of the warm-up to the last counted echo, then stops the
/// loop. A timer refills the window if every payload in flight was lost.
private final class RoundTripDriver {
    /// Payloads in flight: enough to batch, few enough that no socket buffer overflows.
    static let window = 4
    /// 1,200 bytes: a VPN's full-size datagram under a 1,280-byte tunnel MTU.
    static let payloadSize = 1_200
    /// Silence after which the window is refilled (a datagram lost on loopback is rare).
    static let stallInterval = TimeSpan.milliseconds(200)
    /// `MPTUNNEL_TRACE_ALLOCATIONS=N`: a backtrace of each of the first N counted allocations.
    static let tracedAllocations = getenv("MPTUNNEL_TRACE_ALLOCATIONS").flatMap { Int32(String(cString: $0)) } ?? 0

    let socket: UDPSocket
    let destination: SocketAddress
    let buffer = FrameBuffer()
    let warmUp: Int
    let counted: Int
    private(set) var completed = 0
    private(set) var allocations: UInt64?
    private(set) var frees: UInt64?
    private var completedAtLastCheck = 0
    private var watcher: IOWatcher?
    private var stallTimer: TimerWatcher?
    private unowned let loop: EventLoop

    init(loop: EventLoop, to destination: SocketAddress, warmUp: Int, counted: Int) throws {
        self.loop = loop
        self.socket = try UDPSocket(bindingTo: .loopbackIPv4(port: 0))
        self.destination = destination
        self.warmUp = warmUp
        self.counted = counted
        watcher = IOWatcher(loop: loop, fd: socket.fd) { [unowned self] in readable() }
        stallTimer = TimerWatcher(loop: loop, interval: Self.stallInterval, repeating: true) { [unowned self] in
            refillIfStalled()
        }
    }

    func start() {
        watcher?.start()
        stallTimer?.start()
        for _ in 0..<Self.window { sendOne() }
    }

    private func sendOne() {
        _ = socket.send(UnsafeRawBufferPointer(buffer.prefix(Self.payloadSize)), to: destination)
    }

    private func readable() {
        while case .datagram = socket.receive(into: buffer.bytes) {
            completed += 1
            if completed == warmUp {
                mp_allocations_trace(Self.tracedAllocations)
                mp_allocations_start()
            } else if completed == warmUp + counted {
                mp_allocations_stop()
                mp_allocations_trace(0)
                allocations = mp_allocations_count()
                frees = mp_frees_count()
                loop.stop()
                return
            }
            sendOne()
        }
    }

    private func refillIfStalled() {
        if completed == completedAtLastCheck {
            for _ in 0..<Self.window { sendOne() }
        }
        completedAtLastCheck = completed
    }
}
