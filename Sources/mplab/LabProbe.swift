// Knocking at an address until something answers: how the demo and the benchmark know that
// the relays, echo target and daemons they started as other processes are ready.
import MPCore
import MPRuntime

enum LabProbe {
    /// 100 ms between knocks: a child binds its socket in a few milliseconds.
    static let interval = TimeSpan.milliseconds(100)

    /// Sends sixteen bytes to `address` every 100 ms, calling `onKnock` each time (it may
    /// stop the loop, say when a child died), until an answer comes or `timeout` seconds
    /// pass. Returns whether an answer came.
    static func waitForAnswer(
        from address: SocketAddress, lab: LabLoop, timeout: Double, onKnock: @escaping () -> Void
    ) throws -> Bool {
        let probe = try UDPSocket(family: address.family)
        try probe.connect(to: address)
        var answered = false
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 8)
        defer { buffer.deallocate() }
        let watcher = IOWatcher(loop: lab.loop, fd: probe.fd) { [unowned lab] in
            if case .datagram = probe.receive(into: buffer) {
                answered = true
                lab.stop()
            }
        }
        watcher.start()
        // Sixteen bytes of anything: the echo target returns them; a load run ignores them.
        let knock = [UInt8](repeating: 0x6b, count: LoadPayload.timedSize)
        let timer = lab.every(interval) {
            _ = knock.withUnsafeBytes { probe.send($0) }
            onKnock()
        }
        lab.run(for: timeout)
        timer.stop()
        watcher.stop()
        return answered
    }
}
