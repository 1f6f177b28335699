// Many mpclients in one process, for `mplab sessions`: each simulated session is MPCore's
// ClientSession, the engine mpclient itself runs (pure: bytes in, frames out), with its own
// UDP socket to mpserver (so mpserver sees a distinct address per session, as from distinct
// hosts), one path and one flow. Sessions send a few payloads a second in turn, and count
// the echoes that come back to them.
import Glibc
import MPCore
import MPRuntime

final class SessionSimulator {
    /// 10 ms: sends go out in small bursts, spread over each second.
    static let pacingInterval = TimeSpan.milliseconds(10)
    /// 100 ms: how often probes are offered to the sessions (each sends one a second).
    static let probeTickInterval = TimeSpan.milliseconds(100)
    /// Frames as large as a payload of up to 65,507 bytes with its overhead.
    static let bufferSize = 65_536 + FrameLayout.maximumOverhead

    let count: Int
    let size: Int
    /// Payloads each session sent, and echoes each got back intact.
    private(set) var sent: [Int]
    private(set) var echoes: [Int]
    private(set) var misdelivered = 0
    private let sessions: [ClientSession<Int>]
    private let sockets: [UDPSocket]
    private var watchers: [IOWatcher] = []
    private var timers: [TimerWatcher] = []
    private let lab: LabLoop
    private let frame = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 16)

    /// `count` sessions (not started) of `size`-byte payloads (8 or more) to mpserver at `server`.
    init(count: Int, size: Int, server: SocketAddress, keyring: Keyring, lab: LabLoop) throws {
        self.count = count
        self.size = max(size, 8)
        self.lab = lab
        sent = Array(repeating: 0, count: count)
        echoes = Array(repeating: 0, count: count)
        var random = SystemRandomNumberGenerator()
        sessions = (0..<count).map { _ in
            ClientSession<Int>(sessionID: keyring.makeSessionID(using: &random), pathCount: 1, keyring: keyring)
        }
        sockets = try (0..<count).map { _ in
            let socket = try UDPSocket(family: server.family)
            try socket.connect(to: server)
            return socket
        }
    }

    deinit {
        stop()
        frame.deallocate()
    }

    /// Starts receiving and probing: each session asks mpserver to accept it at once.
    func start() {
        for index in 0..<count {
            let watcher = IOWatcher(loop: lab.loop, fd: sockets[index].fd) { [unowned self] in drain(index) }
            watcher.start()
            watchers.append(watcher)
        }
        timers.append(lab.every(Self.probeTickInterval) { [unowned self] in probeAll() })
        probeAll()
    }

    func stop() {
        for watcher in watchers { watcher.stop() }
        for timer in timers { timer.stop() }
        watchers = []
        timers = []
    }

    var acceptedCount: Int { sessions.count { $0.isAccepted } }

    /// Runs the loop until every session is accepted or `timeout` seconds pass.
    func waitUntilAccepted(timeout: Double) {
        let check = lab.every(.milliseconds(20)) { [unowned self] in
            if acceptedCount == count { lab.stop() }
        }
        lab.run(for: timeout)
        check.stop()
    }

    /// Sends `ratePerSession` payloads a second from every session, in turn, for `seconds`,
    /// then waits `settle` seconds for the last echoes.
    func send(ratePerSession: Double, seconds: Double, settle: Double) {
        let began = MonotonicClock.now()
        let planned = Int(ratePerSession * seconds * Double(count))
        var next = 0
        let pacing = lab.every(Self.pacingInterval) { [unowned self] in
            let due = min(planned, Int((MonotonicClock.now() - began).seconds * ratePerSession * Double(count)))
            while next < due {
                sendPayload(from: next % count)
                next += 1
            }
        }
        lab.run(for: seconds)
        pacing.stop()
        lab.run(for: settle)
    }

    private func sendPayload(from index: Int) {
        let payload = UnsafeMutableRawBufferPointer(
            rebasing: frame[FrameLayout.headerSize..<FrameLayout.headerSize + size])
        payload.initializeMemory(as: UInt8.self, repeating: 0x5a)
        payload.storeBytes(of: UInt64(index).bigEndian, toByteOffset: 0, as: UInt64.self)
        sent[index] += 1
        let session = sessions[index]
        if case .send(let length) = session.encodePayload(
            length: size, from: index, now: MonotonicClock.now(), in: frame)
        {
            transmit(length, on: index)
        }
    }

    private func transmit(_ length: Int, on index: Int) {
        let bytes = UnsafeMutableRawBufferPointer(rebasing: frame[0..<length])
        FrameHeader.setPathID(0, in: bytes)
        _ = sockets[index].send(UnsafeRawBufferPointer(bytes))
    }

    private func probeAll() {
        let now = MonotonicClock.now()
        for index in 0..<count {
            if let length = sessions[index].probe(path: 0, now: now, into: frame) { transmit(length, on: index) }
        }
    }

    private func drain(_ index: Int) {
        let session = sessions[index]
        while case .datagram(let length, _) = sockets[index].receive(into: frame) {
            let now = MonotonicClock.now()
            guard length < frame.count else { continue }
            switch session.receiveFrame(UnsafeMutableRawBufferPointer(rebasing: frame[0..<length]), path: 0, now: now) {
            case .deliver(let payload, let address):
                count(UnsafeRawBufferPointer(rebasing: frame[payload]), for: index, deliveredTo: address)
            case .accepted:
                // Payloads sent before the acceptance were held; they go now.
                while let held = session.nextHeldFrame(now: now, into: frame) { transmit(held, on: index) }
            case .consumed, .dropped:
                continue
            }
        }
    }

    /// An echo counts when it came back to the session and flow that sent it.
    private func count(_ payload: UnsafeRawBufferPointer, for index: Int, deliveredTo address: Int) {
        guard payload.count == size, address == index,
            UInt64(bigEndian: payload.loadUnaligned(fromByteOffset: 0, as: UInt64.self)) == UInt64(index)
        else {
            misdelivered += 1
            return
        }
        echoes[index] += 1
    }
}
