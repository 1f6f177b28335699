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
        if let window = session.reorder?.window {
            // A fifth of the window: a payload behind a lost one waits at most 1.2 windows.
            let interval = TimeSpan(nanoseconds: max(window.nanoseconds / 5, 1_000_000))
            let drain = TimerWatcher(loop: loop, interval: interval, repeating: true) { [unowned self] in
                releaseHeldPayloads(now: MonotonicClock.now())
            }
            drain.start()
            watchers.append(drain)
        }
        watchers.append(contentsOf: signalWatchers(loop: loop, logger: logger) { [unowned self] in logStatistics() })
        tick()
    }

    func applicationReadable() {
        for _ in 0..<Self.receiveBatch {
            switch listenSocket.receive(into: outbound.payloadArea) {
            case .datagram(let length, let source):
                let now = MonotonicClock.now()
                switch session.encodePayload(length: length, from: source, now: now, in: outbound.bytes) {
                case .send(let frameLength): sendOnScheduledPaths(length: frameLength, now: now)
                case .held: break
                case .dropped(let reason): dropLog.record(reason, firstByte: nil, source: source, now: now)
                }
            case .wouldBlock: return
            case .failed: continue
            }
        }
    }

    func pathReadable(_ path: ClientPath) {
        for _ in 0..<Self.receiveBatch {
            switch path.socket.receive(into: inbound.bytes) {
            case .datagram(let length, _):
                let now = MonotonicClock.now()
                guard length < FrameBuffer.capacity else {
                    dropLog.record(.oversized, firstByte: nil, source: path.endpoint, now: now)
                    continue
                }
                handle(session.receiveFrame(inbound.prefix(length), path: path.index, now: now), path: path, now: now)
            case .wouldBlock: return
            case .failed: continue  // ICMP from an earlier send: the bridge or mpserver is not there yet
            }
        }
    }

    private func handle(_ verdict: ClientSession<SocketAddress>.Inbound, path: ClientPath, now: Timestamp) {
        switch verdict {
        case .deliver(let payload, let address):
            if listenSocket.send(inbound.slice(payload), to: address) != .sent { applicationSendFailures += 1 }
            releaseHeldPayloads(now: now)
        case .accepted(let tag, let restarted):
            logger.info(
                restarted ? "mpserver restarted; session accepted again" : "session accepted by mpserver",
                metadata: ["server-tag": "\(hex(tag))", "path": "\(path.endpoint)"])
            while let length = session.nextHeldFrame(now: now, into: outbound.bytes) {
                sendOnScheduledPaths(length: length, now: now)
            }
        case .consumed: releaseHeldPayloads(now: now)
        case .dropped(let reason):
            dropLog.record(reason, firstByte: inbound.bytes[0], source: path.endpoint, now: now)
        }
    }

    /// Sends the application the payloads the reorder buffer releases (none when it is off).
    func releaseHeldPayloads(now: Timestamp) {
        while session.releaseHeld(
            now: now,
            { [listenSocket] payload, address in
                if listenSocket.send(payload, to: address) != .sent { applicationSendFailures += 1 }
            })
        {}
    }

    /// Sends the frame in the outbound buffer on the paths the session's scheduler picks
    /// (every up path in duplicate mode, one in balance mode): the same bytes but for the
    /// path-id hint. A path whose send fails is counted and skipped; the others go on.
    func sendOnScheduledPaths(length: Int, now: Timestamp) {
        let frame = outbound.prefix(length)
        for index in session.pathsFor(now: now).members where index < paths.count {
            FrameHeader.setPathID(UInt8(index), in: frame)
            send(frame, on: paths[index])
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
        // By index: an array's iterator allocates in unoptimized builds, and this runs 10 times a second.
        for index in paths.indices {
            let path = paths[index]
            guard let length = session.probe(path: path.index, now: now, into: outbound.bytes) else { continue }
            let frame = outbound.prefix(length)
            FrameHeader.setPathID(UInt8(path.index), in: frame)
            send(frame, on: path)
        }
        session.expire(now: now)
        checkReplies(now: now)
        recoverSilentPaths(now: now)
    }
}
