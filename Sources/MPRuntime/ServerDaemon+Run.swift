// mpserver's event handlers: what each watcher does when libev wakes it.
import Logging
import MPCore

extension ServerDaemon {
    /// 1 s: session and flow expiry need no finer grain than their minutes-long timeouts.
    static let tickInterval = TimeSpan.seconds(1)

    /// Starts the watchers and runs the loop until SIGINT or SIGTERM.
    public func run() {
        start()
        loop.run()
        logger.info("stopped")
    }

    /// Starts the watchers without running the loop (tests run the loop themselves).
    public func start() {
        logStart()
        let listenWatcher = IOWatcher(loop: loop, fd: listenSocket.fd) { [unowned self] in listenReadable() }
        listenWatcher.start()
        let timer = TimerWatcher(loop: loop, interval: Self.tickInterval, repeating: true) { [unowned self] in tick() }
        timer.start()
        watchers = [listenWatcher, timer]
        watchers.append(contentsOf: signalWatchers(loop: loop, logger: logger) { [unowned self] in logStatistics() })
    }

    func listenReadable() {
        for _ in 0..<ClientDaemon.receiveBatch {
            switch listenSocket.receive(into: inbound.bytes) {
            case .datagram(let length, let source):
                let now = MonotonicClock.now()
                guard length < FrameBuffer.capacity else {
                    dropLog.record(.oversized, firstByte: nil, source: source, now: now)
                    continue
                }
                handleFrame(length: length, from: source, now: now)
            case .wouldBlock: return
            case .failed: continue
            }
        }
    }

    private func handleFrame(length: Int, from source: SocketAddress, now: Timestamp) {
        let verdict = engine.receiveFrame(
            inbound.prefix(length), from: source, now: now, reply: reply.bytes, using: &random
        ) { [unowned self] evicted in
            closeFlows(of: evicted.sessionID)
        }
        switch verdict {
        case .deliver(let payload, let session, let flowID):
            forward(inbound.slice(payload), session: session, flowID: flowID, now: now)
        case .reply(let replyLength, let address):
            if listenSocket.send(UnsafeRawBufferPointer(reply.prefix(replyLength)), to: address) != .sent {
                counters.pathSendFailures += 1
            }
        case .dropped(let reason):
            dropLog.record(reason, firstByte: inbound.bytes[0], source: source, now: now)
        }
    }

    /// Sends a payload to the target on its flow's socket, opening the socket for a new flow.
    private func forward(
        _ payload: UnsafeRawBufferPointer, session: ServerSession<SocketAddress>, flowID: UInt32, now: Timestamp
    ) {
        let key = FlowKey(sessionID: session.sessionID, flowID: flowID)
        guard let flow = flows[key] ?? openFlow(key, session: session, now: now) else { return }
        flow.lastActivity = now
        if flow.socket.send(payload) != .sent { counters.targetSendFailures += 1 }
    }

    func targetReadable(_ flow: TargetFlow) {
        for _ in 0..<ClientDaemon.receiveBatch {
            switch flow.socket.receive(into: outbound.payloadArea) {
            case .datagram(let length, _):
                let now = MonotonicClock.now()
                flow.lastActivity = now
                guard
                    let frameLength = engine.encodePayload(
                        length: length, session: flow.session, flowID: flow.key.flowID, in: outbound.bytes)
                else {
                    dropLog.record(.oversized, firstByte: nil, source: "target", now: now)
                    continue
                }
                sendReply(length: frameLength, session: flow.session, now: now)
            case .wouldBlock: return
            case .failed: continue  // ICMP: the target is not listening (yet); the payload is lost
            }
        }
    }

    /// Sends the frame in the outbound buffer on the paths the session's mirror picks (R21:
    /// every path that carries upstream data in duplicate mode, one of them in balance mode),
    /// each to the address it was last heard from.
    private func sendReply(length: Int, session: ServerSession<SocketAddress>, now: Timestamp) {
        let frame = outbound.prefix(length)
        for index in session.replyPaths(now: now).members {
            guard let address = session.pathAddresses[index] else { continue }
            FrameHeader.setPathID(UInt8(index), in: frame)
            if listenSocket.send(UnsafeRawBufferPointer(frame), to: address) == .sent {
                session.recordSend(path: index, bytes: length)
            } else {
                counters.pathSendFailures += 1
            }
        }
    }

    func tick() {
        let now = MonotonicClock.now()
        engine.expire(idleFor: Defaults.sessionIdleTimeout, now: now) { session in
            logger.info("session expired", metadata: ["session": "\(hex(session.sessionID))"])
            closeFlows(of: session.sessionID)
        }
        // Counted first: the list of idle flows is built (allocated) only when there is one.
        var idleCount = 0
        for flow in flows.values where now - flow.lastActivity >= Defaults.flowIdleTimeout { idleCount += 1 }
        guard idleCount > 0 else { return }
        let idle = flows.values.filter { now - $0.lastActivity >= Defaults.flowIdleTimeout }
        for flow in idle { closeFlow(flow) }
    }
}
