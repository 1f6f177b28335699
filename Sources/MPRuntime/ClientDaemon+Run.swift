// mpclient's event handlers: what each watcher does when libev wakes it.
import Logging
import MPCore

extension ClientDaemon {
    /// Starts the watchers, sends the first probes (which get the session accepted before
    /// the application sends anything), and runs the loop until SIGINT or SIGTERM.
    public func run() {
        start()
        loop.run()
        logger.info("stopped", metadata: ["session": "\(hex(session.sessionID))"])
    }

    /// Starts the watchers without running the loop (tests run the loop themselves).
    public func start() {
        logStart()
        do {
            resolver = try BackgroundResolver(loop: loop) { [unowned self] tag, answer in
                lookUpAnswered(tag: tag, answer: answer)
            }
        } catch {
            logger.warning(
                "no background lookups: silent paths are reopened without a new lookup", metadata: ["error": "\(error)"]
            )
        }
        let listenWatcher = IOWatcher(loop: loop, fd: listenSocket.fd) { [unowned self] in applicationReadable() }
        listenWatcher.start()
        watchers.append(listenWatcher)
        for path in paths {
            let watcher = IOWatcher(loop: loop, fd: path.socket.fd) { [unowned self, unowned path] in
                pathReadable(path)
            }
            watcher.start()
            path.watcher = watcher
        }
        let timer = TimerWatcher(loop: loop, interval: Self.tickInterval, repeating: true) { [unowned self] in tick() }
        timer.start()
        watchers.append(timer)
        if session.loads != nil {
            // Balance mode: a report on one path between the ticks' reports on every path.
            let feedback = TimerWatcher(loop: loop, interval: Defaults.feedbackShortInterval, repeating: true) {
                [unowned self] in sendFeedback()
            }
            feedback.start()
            watchers.append(feedback)
        }
        if session.mode == .fec {
            let parity = TimerWatcher(loop: loop, interval: Self.tickInterval, repeating: false) { [unowned self] in
                sendDueParity(now: MonotonicClock.now())
            }
            parityTimer = parity
            let rebuild = DeadlineTimer(loop: loop) { [unowned self] in
                releaseRebuiltPayloads(now: MonotonicClock.now())
            }
            rebuildTimer = rebuild
            watchers.append(contentsOf: [parity, rebuild.watcher])
        }
        if session.reorder != nil {
            let drain = TimerWatcher(loop: loop, interval: Self.tickInterval, repeating: false) { [unowned self] in
                releaseHeldPayloads(now: MonotonicClock.now())
            }
            reorderDrain = drain
            watchers.append(drain)
        }
        watchers.append(contentsOf: signalWatchers(loop: loop, logger: logger) { [unowned self] in logStatistics() })
        tick()
    }

    /// Takes the application's payloads, a batch per call, frames each once, and sends each
    /// path the frames scheduled on it in one sendmmsg. A run of same-sized payloads (the
    /// application's offloaded send) arrives whole and is spread apart.
    func applicationReadable() {
        var taken = 0
        while taken < DataPath.receiveBatch {
            switch listenSocket.receive(into: payloads, offset: FrameLayout.headerSize, reserve: FrameLayout.tagSize) {
            case .received(let count):
                taken += count
                let now = MonotonicClock.now()
                for index in 0..<count { schedulePayloads(index, now: now) }
                sendScheduledFrames()
                if parityTimer != nil { sendDueParity(now: now) }
                if count < payloads.capacity { return }
            case .wouldBlock: return
            case .failed: taken += 1
            }
        }
    }

    /// Frames the payload (or each payload of the run) in slot `index` of the batch and asks
    /// the scheduler for its paths.
    private func schedulePayloads(_ index: Int, now: Timestamp) {
        guard let source = payloads.source(index) else { return }
        if payloads.segmentSize(index) != nil { applicationRuns += 1 }
        let lost = payloads.forEachPayload(in: index, offset: FrameLayout.headerSize, reserve: FrameLayout.tagSize) {
            buffer, length in
            switch session.encodePayload(length: length, from: source, now: now, in: buffer) {
            case .send(let frameLength):
                let paths = session.pathsFor(now: now, bytes: frameLength)
                let fastest = session.fastestPath(among: paths, now: now)
                scheduled.append(
                    ScheduledFrame(
                        bytes: UnsafeRawBufferPointer(rebasing: buffer[0..<frameLength]), paths: paths,
                        fastestPath: fastest?.path ?? -1, fastestCopies: fastest?.copies ?? 1))
                // A full group's parity goes out behind its payloads, before the next group's.
                if parityTimer != nil, session.isParityDue(now: now) { scheduleParity(now: now) }
            case .held: break
            case .dropped(let reason): dropLog.record(reason, firstByte: nil, source: source, now: now)
            }
        }
        for _ in 0..<lost { dropLog.record(.oversized, firstByte: nil, source: source, now: now) }
    }

    /// Sends the scheduled frames, path by path: the same bytes on every path but for the
    /// path-id hint. A frame whose send fails is counted on its path.
    private func sendScheduledFrames() {
        for pathIndex in paths.indices {
            // By index: an array's iterator allocates in a debug build.
            for index in 0..<scheduled.count where scheduled[index].paths.contains(path: pathIndex) {
                let copies = scheduled[index].fastestPath == pathIndex ? scheduled[index].fastestCopies : 1
                for _ in 0..<copies {
                    if outgoing.isFull { sendOutgoing(on: pathIndex) }
                    outgoing.append(scheduled[index].bytes, path: pathIndex, to: nil, leads: scheduled[index].isParity)
                }
            }
            sendOutgoing(on: pathIndex)
        }
        scheduled.removeAll(keepingCapacity: true)
        parityFrames.reset()
    }

    /// `mode fec`: writes the due parity frames into the parity slab and schedules each on
    /// its path, behind the payloads of the batch; when the slab is full or a frame too
    /// large for it, sends the batch first and the rest of the parity on its own.
    private func scheduleParity(now: Timestamp) {
        // Bounded: a group has at most 16 parity frames, and one more call closes it.
        for _ in 0...(Defaults.maximumFECParityShards + 1) {
            guard let length = session.parityFrameLength, let slot = parityFrames.next(length: length) else {
                sendScheduledFrames()
                sendDueParity(now: now)
                return
            }
            guard let (frameLength, path) = session.parity(now: now, into: slot) else {
                parityFrames.giveBack()
                return
            }
            scheduled.append(
                ScheduledFrame(
                    bytes: UnsafeRawBufferPointer(rebasing: slot[0..<frameLength]), paths: PathSet(path: path),
                    fastestPath: -1, fastestCopies: 1, isParity: true))
        }
    }

    private func sendOutgoing(on pathIndex: Int) {
        guard outgoing.count > 0 else { return }
        let path = paths[pathIndex]
        path.socket.send(outgoing) { index, sent in
            if sent {
                path.framesSent += 1
                session.recordSend(path: pathIndex, bytes: outgoing.length(index))
            } else {
                path.sendFailures += 1
            }
        }
        outgoing.removeAll()
    }

    func pathReadable(_ path: ClientPath) {
        var taken = 0
        while taken < DataPath.receiveBatch {
            switch path.socket.receive(into: frames) {
            case .received(let count):
                taken += count
                let now = MonotonicClock.now()
                for index in 0..<count { receivedDatagrams(index, path: path, now: now) }
                // Rebuilt payloads go in the same call as the batch's, after them.
                if session.hasRebuilt || rebuildTimer?.deadline != nil {
                    releaseRebuiltPayloads(now: now)
                } else {
                    sendToApplication()
                }
                if count < frames.capacity { return }
            case .wouldBlock: return
            case .failed: taken += 1  // ICMP from an earlier send: the bridge or mpserver is not there yet
            }
        }
    }

    /// Judges the frame in slot `index` of the batch, or each frame of a coalesced run.
    private func receivedDatagrams(_ index: Int, path: ClientPath, now: Timestamp) {
        guard frames.length(index) < FrameBuffer.capacity else {
            dropLog.record(.oversized, firstByte: nil, source: path.endpoint, now: now)
            return
        }
        frames.forEachDatagram(in: index) { receivedFrame($0, path: path, now: now) }
    }

    private func receivedFrame(_ frame: UnsafeMutableRawBufferPointer, path: ClientPath, now: Timestamp) {
        switch session.receiveFrame(frame, path: path.index, now: now) {
        case .deliver(let payload, let address):
            if toApplication.isFull { sendToApplication() }
            toApplication.append(datagram: UnsafeRawBufferPointer(rebasing: frame[payload]), to: address)
            releaseHeldPayloads(now: now)
        case .accepted(let tag, let restarted):
            logger.info(
                restarted ? "mpserver restarted; session accepted again" : "session accepted by mpserver",
                metadata: ["server-tag": "\(hex(tag))", "path": "\(path.endpoint)"])
            sendDueProbes(now: now)
            while let length = session.nextHeldFrame(now: now, into: outbound.bytes) {
                sendOnScheduledPaths(length: length, now: now)
            }
        case .consumed: releaseHeldPayloads(now: now)
        case .dropped(let reason):
            dropLog.record(reason, firstByte: frame.isEmpty ? nil : frame[0], source: path.endpoint, now: now)
        }
    }

    /// Sends the application the payloads of the batch, then those rebuilt from mpserver's
    /// parity whose rebuilding is due (a payload whose own frame came in time is not
    /// rebuilt), in one call: the rebuilt ones' bytes lie in the session's kept payloads
    /// until the next frame. Sets the timer for the next group due.
    private func releaseRebuiltPayloads(now: Timestamp) {
        session.releaseRebuilt(now: now) { payload, address in
            if toApplication.isFull { sendToApplication() }
            toApplication.append(datagram: payload, to: address)
        }
        sendToApplication()
        releaseHeldPayloads(now: now)
        // Set once per group: the deadline moves only when another group waits.
        rebuildTimer?.follow(session.rebuildDeadline, now: now)
    }

    /// `mode fec`: sends the open group's parity frames if they are due (the group is full or
    /// its `fec-timeout` ended), each on its one path, and sets the timer for the next
    /// group's timeout.
    func sendDueParity(now: Timestamp) {
        while let (length, index) = session.parity(now: now, into: outbound.bytes) {
            guard index < paths.count else { continue }
            let frame = outbound.prefix(length)
            FrameHeader.setPathID(UInt8(index), in: frame)
            send(frame, on: paths[index])
        }
        // Set once per group: the deadline moves only when a new group opens.
        if let deadline = session.fecDeadline, deadline != parityDeadline {
            parityDeadline = deadline
            parityTimer?.reschedule(after: Self.drainDelay(deadline - now))
        }
    }

    /// Sends the application the payloads delivered since the last call, in one call (they
    /// lie in the batch of frames: before the next receive).
    func sendToApplication() {
        guard toApplication.count > 0 else { return }
        listenSocket.send(toApplication) { _, sent in
            if !sent { applicationSendFailures += 1 }
        }
        toApplication.removeAll()
    }

    /// Sends the application the payloads the reorder buffer releases (none when it is off
    /// or holds nothing), after those delivered before them, and sets the drain timer for
    /// the first payload still held.
    func releaseHeldPayloads(now: Timestamp) {
        guard (session.reorder?.heldCount ?? 0) > 0 else { return }
        var flushed = false
        while session.releaseHeld(
            now: now,
            { [listenSocket] payload, address in
                if !flushed {
                    sendToApplication()
                    flushed = true
                }
                if listenSocket.send(payload, to: address) != .sent { applicationSendFailures += 1 }
            })
        {}
        if let due = session.reorder?.nextDeadline(now: now) { reorderDrain?.reschedule(after: Self.drainDelay(due)) }
    }

    /// A timer for `due` from now: at least half a millisecond, so a timer that fires a
    /// little early does not spin.
    static func drainDelay(_ due: TimeSpan) -> TimeSpan {
        TimeSpan(nanoseconds: max(due.nanoseconds, 500_000))
    }

    /// Sends the frame in the outbound buffer (one held until the session was accepted) on
    /// the paths the session's scheduler picks (every up path in duplicate mode, one in
    /// balance mode). A path whose send fails is counted and skipped; the others go on.
    func sendOnScheduledPaths(length: Int, now: Timestamp) {
        let frame = outbound.prefix(length)
        let scheduled = session.pathsFor(now: now, bytes: length)
        let fastest = session.fastestPath(among: scheduled, now: now)
        for index in scheduled.members where index < paths.count {
            FrameHeader.setPathID(UInt8(index), in: frame)
            for _ in 0..<(index == fastest?.path ? fastest?.copies ?? 1 : 1) { send(frame, on: paths[index]) }
        }
    }

    private func send(_ frame: UnsafeMutableRawBufferPointer, on path: ClientPath) {
        if path.socket.send(UnsafeRawBufferPointer(frame)) == .sent {
            path.framesSent += 1
            session.recordSend(path: path.index, bytes: frame.count)
        } else {
            path.sendFailures += 1
        }
    }

    func tick() {
        let now = MonotonicClock.now()
        logHealthChanges(session.updateHealth(now: now), now: now)
        sendDueProbes(now: now)
        if let length = session.report(now: now, into: outbound.bytes) {
            // On every candidate path, whatever the mode: each is heard from by it.
            let frame = outbound.prefix(length)
            for index in session.candidatePaths(now: now).members where index < paths.count {
                FrameHeader.setPathID(UInt8(index), in: frame)
                send(frame, on: paths[index])
            }
        }
        session.expire(now: now)
        checkReplies(now: now)
        recoverSilentPaths(now: now)
    }

    /// Balance mode: sends the one-path receiver report if one is due.
    private func sendFeedback() {
        let now = MonotonicClock.now()
        guard let (length, index) = session.feedback(now: now, into: outbound.bytes), index < paths.count else {
            return
        }
        let frame = outbound.prefix(length)
        FrameHeader.setPathID(UInt8(index), in: frame)
        send(frame, on: paths[index])
    }

    /// Sends a probe on every path whose probe is due (every probe interval, and on every
    /// path at once after an acceptance).
    private func sendDueProbes(now: Timestamp) {
        // By index: an array's iterator allocates in unoptimized builds, and this runs 10 times a second.
        for index in paths.indices {
            let path = paths[index]
            guard let length = session.probe(path: path.index, now: now, into: outbound.bytes) else { continue }
            let frame = outbound.prefix(length)
            FrameHeader.setPathID(UInt8(path.index), in: frame)
            send(frame, on: path)
        }
    }
}
