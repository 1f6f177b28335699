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
        let reports = TimerWatcher(loop: loop, interval: Defaults.feedbackShortInterval, repeating: true) {
            [unowned self] in
            sendReports()
        }
        reports.start()
        let parity = TimerWatcher(loop: loop, interval: Self.tickInterval, repeating: false) { [unowned self] in
            parityTimerFired()
        }
        parityTimer = parity
        let rebuild = DeadlineTimer(loop: loop) { [unowned self] in
            releaseRebuiltPayloads(now: MonotonicClock.now())
        }
        rebuildTimer = rebuild
        watchers = [listenWatcher, timer, reports, parity, rebuild.watcher]
        if engine.reorderWindow != .off {
            let drain = TimerWatcher(loop: loop, interval: Self.tickInterval, repeating: false) { [unowned self] in
                releaseHeldPayloads(now: MonotonicClock.now())
            }
            reorderDrain = drain
            watchers.append(drain)
        }
        watchers.append(contentsOf: signalWatchers(loop: loop, logger: logger) { [unowned self] in logStatistics() })
    }

    /// Takes the waiting frames, a batch per call, at most ``ClientDaemon/receiveBatch`` per
    /// wake-up so that the flows' sockets get their turn.
    func listenReadable() {
        var taken = 0
        while taken < DataPath.receiveBatch {
            switch listenSocket.receive(into: frames) {
            case .received(let count):
                taken += count
                let now = MonotonicClock.now()
                for index in 0..<count { receivedDatagrams(index, now: now) }
                // Rebuilt payloads of the batch's flow go in the same call, after its own.
                if engine.rebuilding.isEmpty && rebuildTimer?.deadline == nil {
                    sendToTarget()
                } else {
                    releaseRebuiltPayloads(now: now)
                }
                if count < frames.capacity { return }
            case .wouldBlock: return
            case .failed: taken += 1
            }
        }
    }

    /// Judges the frame in slot `index` of the batch, or each frame of a coalesced run.
    private func receivedDatagrams(_ index: Int, now: Timestamp) {
        guard let source = frames.source(index) else { return }
        guard frames.length(index) < FrameBuffer.capacity else {
            dropLog.record(.oversized, firstByte: nil, source: source, now: now)
            return
        }
        frames.forEachDatagram(in: index) { receivedFrame($0, from: source, now: now) }
    }

    private func receivedFrame(_ frame: UnsafeMutableRawBufferPointer, from source: SocketAddress, now: Timestamp) {
        // A closure that does not escape needs no capture list: `[unowned self]` cost two
        // atomic reference-count operations on every frame.
        let verdict = engine.receiveFrame(frame, from: source, now: now, reply: reply.bytes, using: &random) {
            evicted in closeFlows(of: evicted.sessionID)
        }
        defer { releaseHeldPayloads(now: now) }
        switch verdict {
        case .deliver(let payload, let session, let flowID):
            forward(UnsafeRawBufferPointer(rebasing: frame[payload]), session: session, flowID: flowID, now: now)
        case .reply(let replyLength, let address):
            if listenSocket.send(UnsafeRawBufferPointer(reply.prefix(replyLength)), to: address) != .sent {
                counters.pathSendFailures += 1
            }
        case .consumed: break
        case .dropped(let reason):
            dropLog.record(reason, firstByte: frame.isEmpty ? nil : frame[0], source: source, now: now)
        }
    }

    /// Sends the target the payloads the sessions' reorder buffers release (none when they
    /// hold nothing), after those queued before them, and sets the drain timer for the first
    /// payload still held. Each goes in a call of its own: its bytes lie in the buffer's
    /// slot, which the next frame may take.
    func releaseHeldPayloads(now: Timestamp) {
        guard !engine.holding.isEmpty else { return }
        var flushed = false
        engine.releaseHeld(now: now) { payload, session, flowID in
            if !flushed {
                sendToTarget()
                flushed = true
            }
            let key = FlowKey(sessionID: session.sessionID, flowID: flowID)
            guard let flow = flows[key] ?? openFlow(key, session: session, now: now) else { return }
            flow.lastActivity = now
            if flow.socket.send(payload) != .sent { counters.targetSendFailures += 1 }
        }
        if let due = engine.nextReleaseDeadline(now: now) {
            reorderDrain?.reschedule(after: ClientDaemon.drainDelay(due))
        }
    }

    /// Sends the target the payloads of the batch, then the upstream payloads rebuilt from
    /// mpclient's parity whose rebuilding is due (a payload whose own frame came in time is
    /// not rebuilt), consecutive ones of a flow together: their bytes lie in the session's
    /// kept payloads until the next frame. Sets the timer for the next group due.
    private func releaseRebuiltPayloads(now: Timestamp) {
        engine.releaseRebuilt(now: now) { payload, session, flowID in
            forward(payload, session: session, flowID: flowID, now: now)
        }
        sendToTarget()
        // Set once per group: the deadline moves only when another group waits.
        rebuildTimer?.follow(engine.rebuildDeadline, now: now)
    }

    /// Mirrored `mode fec`: sends `session`'s reply parity frames if due (the group is full
    /// or its timeout ended), each to its path's address, and keeps the session on the
    /// timer while a group waits.
    func sendDueParity(for session: ServerSession<SocketAddress>, now: Timestamp) {
        while let (length, path) = engine.parity(for: session, now: now, into: parityFrame.bytes) {
            guard let address = session.pathAddresses[path] else { continue }
            if listenSocket.send(UnsafeRawBufferPointer(parityFrame.prefix(length)), to: address) == .sent {
                session.recordSend(path: path, bytes: length)
            } else {
                counters.pathSendFailures += 1
            }
        }
        guard let deadline = session.fecDeadline else { return }
        if !isWaitingForParity(session) { parityWaiting.append(session) }
        if parityDeadline.map({ deadline < $0 }) ?? true {
            parityDeadline = deadline
            parityTimer?.reschedule(after: ClientDaemon.drainDelay(deadline - now))
        }
    }

    /// By index: a generic search allocates per call in unoptimized builds.
    private func isWaitingForParity(_ session: ServerSession<SocketAddress>) -> Bool {
        for index in 0..<parityWaiting.count where parityWaiting[index] === session { return true }
        return false
    }

    /// The earliest waiting group's timeout ended: sends every parity now due, and sets the
    /// timer for the next.
    private func parityTimerFired() {
        let now = MonotonicClock.now()
        parityDeadline = nil
        swap(&parityWaiting, &parityFiring)
        // By index: a debug build's unspecialized array iterator allocates on every step.
        for index in 0..<parityFiring.count where engine.sessions[parityFiring[index].sessionID] === parityFiring[index]
        {
            sendDueParity(for: parityFiring[index], now: now)
        }
        parityFiring.removeAll(keepingCapacity: true)
    }

    /// Sends each session's receiver report that is due (every ``Defaults/reportInterval``
    /// while its frames arrive) on every data path (R21): mpclient learns which paths
    /// deliver, whatever their probes lose. Runs every ``Defaults/feedbackShortInterval``: a
    /// balanced session's one-path reports go out in between.
    func sendReports() {
        let now = MonotonicClock.now()
        for session in engine.sessions.values {
            if let (length, path) = engine.feedback(for: session, now: now, into: reply.bytes),
                let address = session.pathAddresses[path]
            {
                FrameHeader.setPathID(UInt8(path), in: reply.bytes)
                if listenSocket.send(UnsafeRawBufferPointer(reply.prefix(length)), to: address) == .sent {
                    session.recordSend(path: path, bytes: length)
                } else {
                    counters.pathSendFailures += 1
                }
            }
            guard let length = engine.report(for: session, now: now, into: reply.bytes) else { continue }
            for path in session.reportPaths(now: now).members {
                guard let address = session.pathAddresses[path] else { continue }
                FrameHeader.setPathID(UInt8(path), in: reply.bytes)
                if listenSocket.send(UnsafeRawBufferPointer(reply.prefix(length)), to: address) == .sent {
                    session.recordSend(path: path, bytes: length)
                } else {
                    counters.pathSendFailures += 1
                }
            }
        }
    }

    /// Queues a payload for the target on its flow's socket, opening the socket for a new
    /// flow. Consecutive payloads of one flow go in one call (``sendToTarget()``).
    private func forward(
        _ payload: UnsafeRawBufferPointer, session: ServerSession<SocketAddress>, flowID: UInt32, now: Timestamp
    ) {
        let key = FlowKey(sessionID: session.sessionID, flowID: flowID)
        guard let flow = flows[key] ?? openFlow(key, session: session, now: now) else { return }
        flow.lastActivity = now
        if pendingFlow !== flow || toTarget.isFull { sendToTarget() }
        pendingFlow = flow
        toTarget.append(datagram: payload, to: nil)
    }

    /// Sends the queued payloads on their flow's socket (they lie in the batch of frames:
    /// before the next receive).
    func sendToTarget() {
        if let pendingFlow, toTarget.count > 0 {
            pendingFlow.socket.send(toTarget) { _, sent in
                if !sent { counters.targetSendFailures += 1 }
            }
        }
        toTarget.removeAll()
        pendingFlow = nil
    }

    /// Takes the target's replies, a batch per call, frames each once and sends every frame
    /// of the batch to every path its session's mirror picks in one sendmmsg. A target's
    /// run of same-sized replies (its offloaded send) arrives whole and is spread apart.
    func targetReadable(_ flow: TargetFlow) {
        var taken = 0
        while taken < DataPath.receiveBatch {
            switch flow.socket.receive(into: payloads, offset: FrameLayout.headerSize, reserve: FrameLayout.tagSize) {
            case .received(let count):
                taken += count
                let now = MonotonicClock.now()
                flow.lastActivity = now
                for index in 0..<count {
                    if payloads.segmentSize(index) != nil { counters.targetRuns += 1 }
                    let lost = payloads.forEachPayload(
                        in: index, offset: FrameLayout.headerSize, reserve: FrameLayout.tagSize
                    ) { buffer, length in
                        queueReply(buffer, length: length, flow: flow, now: now)
                    }
                    for _ in 0..<lost { dropLog.record(.oversized, firstByte: nil, source: "target", now: now) }
                }
                sendQueuedReplies(session: flow.session)
                if flow.session.codesReplies { sendDueParity(for: flow.session, now: now) }
                if count < payloads.capacity { return }
            case .wouldBlock: return
            case .failed: taken += 1  // ICMP: the target is not listening (yet); the payload is lost
            }
        }
    }

    /// Frames the payload of `length` bytes at ``FrameLayout/headerSize`` in `buffer` and
    /// queues it for the paths the session's mirror picks (R21: every path that carries
    /// upstream data in duplicate mode, one of them in balance mode), each to the address
    /// it was last heard from.
    private func queueReply(_ buffer: UnsafeMutableRawBufferPointer, length: Int, flow: TargetFlow, now: Timestamp) {
        guard
            let frameLength = engine.encodePayload(
                length: length, session: flow.session, flowID: flow.key.flowID, now: now, in: buffer)
        else {
            dropLog.record(.oversized, firstByte: nil, source: "target", now: now)
            return
        }
        let frame = UnsafeRawBufferPointer(rebasing: buffer[0..<frameLength])
        let session = flow.session
        for path in session.replyPaths(now: now, bytes: frameLength).members {
            guard let address = session.pathAddresses[path] else { continue }
            // mpclient's fastest path gets as many copies as mpclient gives it (R21).
            for _ in 0..<session.mirror.copies(onPath: path) {
                if replies.isFull { sendQueuedReplies(session: session) }
                replies.append(frame, path: path, to: address)
            }
        }
        // A full group's parity goes out behind its replies, before the next group's.
        if session.codesReplies, session.isParityDue(now: now) { queueParity(session: session, now: now) }
    }

    /// Mirrored `mode fec`: writes the due parity frames of `session` into the parity slab
    /// and queues each for its path's address, behind the replies of the batch; when the
    /// slab is full or a frame too large for it, sends the batch first and the rest on its own.
    private func queueParity(session: ServerSession<SocketAddress>, now: Timestamp) {
        // Bounded: a group has at most 16 parity frames, and one more call closes it.
        for _ in 0...(Defaults.maximumFECParityShards + 1) {
            // Before taking a slot: sending the batch frees every slot.
            if replies.isFull { sendQueuedReplies(session: session) }
            guard let length = session.parityFrameLength, let slot = parityFrames.next(length: length) else {
                sendQueuedReplies(session: session)
                sendDueParity(for: session, now: now)
                return
            }
            guard let (frameLength, path) = engine.parity(for: session, now: now, into: slot) else {
                parityFrames.giveBack()
                return
            }
            guard let address = session.pathAddresses[path] else { continue }
            replies.append(
                UnsafeRawBufferPointer(rebasing: slot[0..<frameLength]), path: path, to: address, leads: true)
        }
    }

    private func sendQueuedReplies(session: ServerSession<SocketAddress>) {
        guard replies.count > 0 else { return }
        listenSocket.send(replies) { index, sent in
            if sent {
                session.recordSend(path: replies.path(index), bytes: replies.length(index))
            } else {
                counters.pathSendFailures += 1
            }
        }
        replies.removeAll()
        parityFrames.reset()
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
