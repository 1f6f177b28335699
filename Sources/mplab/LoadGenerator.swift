// The load of `mplab load` and `mplab demo`: datagrams at a steady rate from one socket per
// flow, paced by a 1 ms timer that sends whatever is due, and the echoes checked as they
// come back. After the duration it waits up to a second for stragglers.
import Glibc
import MPCore
import MPRuntime

struct LoadSettings {
    var target: SocketAddress
    /// Datagrams per second, over all flows.
    var rate: Int
    /// Bytes per datagram, 0 to `Defaults.maximumPayload`.
    var size: Int
    var durationSeconds: Double
    var flows: Int
    /// Keep the sequence numbers of the echoes in the order they came back
    /// (``LoadTracker/arrivalOrder``).
    var recordsArrivalOrder = false

    var plannedCount: Int { Int((Double(rate) * durationSeconds).rounded()) }
}

final class LoadGenerator {
    /// 1 ms: fine enough that 1,000 datagrams per second go out one by one.
    static let pacingInterval = TimeSpan.milliseconds(1)
    /// After the duration, how long echoes may still arrive.
    static let stragglerSeconds = 1.0
    /// Datagrams received per readiness event before the loop serves other sockets.
    static let batchLimit = 64
    /// Datagrams sent per tick at most: 4 ms worth (at least 256), so a loop that falls
    /// behind still reads echoes between bursts instead of sending for seconds.
    private var burstLimit: Int { max(256, settings.rate / 250) }

    let settings: LoadSettings
    private(set) var tracker: LoadTracker
    private(set) var sent = 0
    private(set) var sendFailures = 0
    /// Sequence numbers used: sent or failed. Below the plan when the loop could not keep up.
    var attempted: Int { Int(nextSequence) }
    private(set) var elapsedSeconds = 0.0
    private var nextSequence: UInt64 = 0
    private let payload = LoadPayload()
    private let sockets: [UDPSocket]
    private var watchers: [IOWatcher] = []
    private let lab: LabLoop
    private let sendBuffer: UnsafeMutableRawBufferPointer
    private let receiveBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 8)
    private var start = Timestamp(nanoseconds: 0)
    private var pacingTimer: TimerWatcher?
    private var stragglerTimer: TimerWatcher?
    private var onFinish: (() -> Void)?

    init(settings: LoadSettings, lab: LabLoop) throws {
        self.settings = settings
        self.lab = lab
        tracker = LoadTracker(
            size: settings.size, flows: settings.flows, plannedCount: settings.plannedCount, payload: payload,
            recordsArrivalOrder: settings.recordsArrivalOrder)
        sendBuffer = .allocate(byteCount: max(settings.size, 1), alignment: 8)
        sockets = try (0..<settings.flows).map { _ in
            let socket = try UDPSocket(family: settings.target.family)
            try socket.connect(to: settings.target)
            socket.setBufferSizes(receive: 4 << 20, send: 4 << 20)
            return socket
        }
    }

    deinit {
        sendBuffer.deallocate()
        receiveBuffer.deallocate()
    }

    /// Starts sending now; calls `onFinish` once the echoes are in or the stragglers' wait ends.
    /// `pacedExternally`: no timer of its own; the caller calls ``sendDue()`` every
    /// ``pacingInterval`` (as `mplab bench` does to drive several generators in turn).
    func start(pacedExternally: Bool = false, onFinish: @escaping () -> Void) {
        self.onFinish = onFinish
        start = MonotonicClock.now()
        for (flow, socket) in sockets.enumerated() {
            let watcher = IOWatcher(loop: lab.loop, fd: socket.fd) { [unowned self] in drain(flow: flow) }
            watcher.start()
            watchers.append(watcher)
        }
        if !pacedExternally { pacingTimer = lab.every(Self.pacingInterval) { [unowned self] in sendDue() } }
    }

    /// Sends the datagrams due by now; nothing once sending has finished.
    func sendDue() {
        guard onFinish != nil, stragglerTimer == nil else { return }
        let elapsed = (MonotonicClock.now() - start).seconds
        let due = min(settings.plannedCount, Int(elapsed * Double(settings.rate)))
        let end = min(due, Int(nextSequence) + burstLimit)
        while Int(nextSequence) < end {
            send(sequence: nextSequence)
            nextSequence += 1
        }
        // Past the duration plus the stragglers' time, a loop too slow to keep up gives up.
        if Int(nextSequence) == settings.plannedCount || elapsed > settings.durationSeconds + Self.stragglerSeconds {
            finishSending()
        }
    }

    private func send(sequence: UInt64) {
        let size = settings.size
        payload.write(into: sendBuffer, size: size, sequence: sequence, time: MonotonicClock.now())
        let socket = sockets[Int(sequence % UInt64(sockets.count))]
        let bytes = UnsafeRawBufferPointer(rebasing: sendBuffer[0..<size])
        if socket.send(bytes) == .sent { sent += 1 } else { sendFailures += 1 }
    }

    private func finishSending() {
        pacingTimer?.stop()
        elapsedSeconds = (MonotonicClock.now() - start).seconds
        stragglerTimer = TimerWatcher(
            loop: lab.loop, interval: timeSpan(seconds: Self.stragglerSeconds), repeating: false
        ) { [unowned self] in finish() }
        stragglerTimer?.start()
        finishIfComplete()
    }

    private func drain(flow: Int) {
        let socket = sockets[flow]
        for _ in 0..<Self.batchLimit {
            switch socket.receive(into: receiveBuffer) {
            case .datagram(let length, _):
                let bytes = UnsafeRawBufferPointer(rebasing: receiveBuffer[0..<min(length, receiveBuffer.count)])
                tracker.record(bytes, length: length, flow: flow, sentCount: nextSequence, now: MonotonicClock.now())
            case .wouldBlock:
                finishIfComplete()
                return
            case .failed:
                // ECONNREFUSED: nothing listens at the target (yet). The datagram is lost.
                continue
            }
        }
    }

    /// Ends the run early once every datagram sent has come back.
    private func finishIfComplete() {
        guard stragglerTimer != nil, tracker.received + tracker.misdelivered >= sent else { return }
        finish()
    }

    private func finish() {
        guard let onFinish else { return }
        self.onFinish = nil
        pacingTimer?.stop()
        stragglerTimer?.stop()
        watchers.forEach { $0.stop() }
        onFinish()
    }

    var report: LoadReport {
        LoadReport(
            settings: settings, sent: sent, sendFailures: sendFailures, unsent: settings.plannedCount - attempted,
            tracker: tracker,
            elapsedSeconds: elapsedSeconds)
    }
}
