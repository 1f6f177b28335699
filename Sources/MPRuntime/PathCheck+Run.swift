// The check's event handlers: the tick sends the probes the session says are due until the
// probing time is over, each path's watcher counts what comes back, and a one-shot timer
// stops the loop when the check's time is up.
import Glibc
import MPCore

extension PathCheck {
    /// Probes for `timing.duration`, then returns the report.
    func run() -> PathCheckReport {
        startTime = MonotonicClock.now()
        for path in paths {
            let watcher = IOWatcher(loop: loop, fd: path.socket.fd) { [unowned self, unowned path] in readable(path) }
            watcher.start()
            path.watcher = watcher
        }
        let ticker = TimerWatcher(loop: loop, interval: Self.tickInterval, repeating: true) { [unowned self] in
            tick()
        }
        let end = TimerWatcher(loop: loop, interval: timing.duration, repeating: false) { [unowned self] in
            loop.stop()
        }
        ticker.start()
        end.start()
        watchers = [ticker, end]
        tick()
        loop.run()
        watchers.removeAll()
        for path in paths { path.watcher = nil }
        return report
    }

    /// The verdicts: one row per path of the configuration, in its order.
    var report: PathCheckReport {
        let rows = endpoints.enumerated().map { index, endpoint in
            if let reason = unresolved[index] {
                return PathCheckReport.Row(path: index, endpoint: endpoint, unresolved: reason)
            }
            var pathCounts = counts[index]
            if session.health.indices.contains(index) {
                pathCounts.roundTrip = session.health[index].roundTrip.smoothed
            }
            return PathCheckReport.Row(path: index, endpoint: endpoint, counts: pathCounts)
        }
        return PathCheckReport(rows: rows, keyed: session.keyring.key != nil, duration: timing.duration)
    }

    func tick() {
        let now = MonotonicClock.now()
        guard now - startTime < timing.probing else { return }
        for path in paths {
            guard let length = session.probe(path: path.index, now: now, into: buffer.bytes) else { continue }
            let frame = buffer.prefix(length)
            FrameHeader.setPathID(UInt8(path.index), in: frame)
            switch path.socket.send(UnsafeRawBufferPointer(frame)) {
            case .sent: counts[path.index].probesSent += 1
            case .wouldBlock: break  // an empty socket's buffer is never full; the probe is just not counted
            case .failed(let code): record(errno: code, path: path.index)
            }
        }
    }

    func readable(_ path: CheckedPath) {
        for _ in 0..<DataPath.receiveBatch {
            switch path.socket.receive(into: buffer.bytes) {
            case .datagram(let length, _): judge(length: length, path: path.index)
            case .wouldBlock: return
            case .failed(let code): record(errno: code, path: path.index)
            }
        }
    }

    /// Counts a datagram of `length` bytes in the buffer, received on `path`.
    private func judge(length: Int, path: Int) {
        guard length < FrameBuffer.capacity else {
            counts[path].drops.record(.oversized)
            return
        }
        let firstByte = length > FrameLayout.versionOffset ? buffer.bytes[FrameLayout.versionOffset] : nil
        switch session.receiveFrame(buffer.prefix(length), path: path, now: MonotonicClock.now()) {
        case .accepted, .consumed, .deliver:
            counts[path].answers += 1
        case .dropped(.duplicate), .dropped(.staleServerTag), .dropped(.tooOld):
            // Authentic, so mpserver answered: a late acceptance overtaken by another path's.
            counts[path].answers += 1
        case .dropped(let reason):
            counts[path].drops.record(reason)
            if reason == .unknownVersion { counts[path].foreignVersion = firstByte }
        }
    }

    /// ECONNREFUSED means an ICMP port unreachable came back for an earlier probe.
    private func record(errno code: Int32, path: Int) {
        if code == ECONNREFUSED {
            counts[path].refusals += 1
        } else {
            counts[path].otherErrors += 1
            counts[path].lastError = SystemError.message(for: code)
        }
    }
}
