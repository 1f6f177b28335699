@testable import MPCore
import MPLabSupport

/// A client and a server session wired back to back through in-memory paths that can
/// drop, duplicate and reorder, driven by a seeded generator. No socket, no clock.
final class TunnelHarness {
    /// What an application at `address` got back.
    struct Delivery: Equatable {
        var address: Int
        var payload: [UInt8]
    }

    var client: ClientSession<Int>
    var server: ServerEngine<Int>
    var random: SplitMix64
    var now = ms(1_000)
    let pathCount: Int
    /// The key (or none) both sides seal with; restarts keep it.
    let keyring: Keyring
    let serverReorderWindow: ReorderWindow
    /// Chance (0...1) that a frame on path i is lost, each direction.
    var lossRates: [Double]
    var toTarget: [(flow: UInt32, session: UInt64, payload: [UInt8])] = []
    var toApplication: [Delivery] = []
    /// A hostile bridge's hand on the upstream copies of path i: it may rewrite a copy, or
    /// return false to drop it. Runs before loss.
    var upstreamTamper: [Int: (inout [UInt8]) -> Bool] = [:]
    /// Bridges (by path) that drop every frame mpserver sends them.
    var downstreamBlackholes: Set<Int> = []
    /// Every frame mpclient sent, as an attacker on the path would capture it.
    var capturedUpstream: [[UInt8]] = []
    var capturedDownstream: [[UInt8]] = []
    private var buffer = [UInt8](repeating: 0, count: Defaults.maximumPayload + FrameLayout.maximumOverhead)
    private var reply = [UInt8](repeating: 0, count: 64)

    /// Downstream frames mpclient received, per path (data, echoes and acceptances).
    var downstreamFrames: [Int]
    /// Upstream data frames mpclient sent, per path.
    var upstreamDataFrames: [Int]
    /// Parity frames each side sent.
    var upstreamParityFrames = 0
    var downstreamParityFrames = 0

    init(
        paths: Int, loss: Double = 0, seed: UInt64 = 1, sessionID: UInt64 = 0xC11E_0001, keyring: Keyring = .keyless,
        mode: SchedulingMode = .duplicate, backupPaths: PathSet = [], reorderWindow: ReorderWindow = .off,
        serverReorderWindow: ReorderWindow = .off, fastestCopies: FastestCopies = .fixed(1), fec: FECSettings? = nil
    ) {
        pathCount = paths
        lossRates = Array(repeating: loss, count: paths)
        downstreamFrames = Array(repeating: 0, count: paths)
        upstreamDataFrames = Array(repeating: 0, count: paths)
        random = SplitMix64(seed: seed)
        self.keyring = keyring
        client = ClientSession(
            sessionID: keyring.checkedSessionID(sessionID), pathCount: paths, keyring: keyring, mode: mode,
            backupPaths: backupPaths,
            reorderWindow: reorderWindow, fastestCopies: fastestCopies, fec: fec)
        self.serverReorderWindow = serverReorderWindow
        server = ServerEngine(keyring: keyring, reorderWindow: serverReorderWindow)
    }

    /// mpserver restarts with the same key: every session is forgotten.
    func restartServer() {
        server = ServerEngine(keyring: keyring, reorderWindow: serverReorderWindow)
    }

    /// mpclient restarts with the same key under a new session id.
    func restartClient(sessionID: UInt64) {
        client = ClientSession(sessionID: keyring.checkedSessionID(sessionID), pathCount: pathCount, keyring: keyring)
    }

    /// The address path `path` has at the server (a bridge's address).
    func bridgeAddress(_ path: Int) -> Int { 1_000 + path }

    func lost(on path: Int) -> Bool {
        Double(random.next() % 1_000_000) / 1_000_000 < lossRates[path]
    }

    /// Sends probes due now and updates path health, as the runtime's timer would.
    @discardableResult
    func tick() -> PathHealthChanges {
        let changes = client.updateHealth(now: now)
        sendDueProbes()
        sendDueReports()
        return changes
    }

    /// Sends the receiver reports due now, each side's on every path, as the runtimes do.
    func sendDueReports() {
        if let length = buffer.withUnsafeMutableBytes({ client.report(now: now, into: $0) }) {
            sendUpstream(Array(buffer[..<length]), paths: Array(client.candidatePaths(now: now).members))
        }
        for session in server.sessions.values {
            guard let length = buffer.withUnsafeMutableBytes({ server.report(for: session, now: now, into: $0) })
            else { continue }
            for path in session.reportPaths(now: now).members {
                var frame = Array(buffer[..<length])
                frame[FrameLayout.pathIDOffset] = UInt8(path)
                guard let address = session.pathAddresses[path], let bridge = bridgePath(address) else { continue }
                if !lost(on: bridge) { deliverDownstream(frame, path: bridge) }
            }
        }
    }

    /// Sends the probes due now: every probe interval, and on every path after an acceptance.
    func sendDueProbes() {
        for path in 0..<pathCount {
            let length = buffer.withUnsafeMutableBytes { client.probe(path: path, now: now, into: $0) }
            if let length { sendUpstream(Array(buffer[..<length]), paths: [path]) }
        }
    }

    /// Moves time on by `span` in steps of `step`, ticking after each.
    func advance(_ span: TimeSpan, step: TimeSpan = .milliseconds(250)) {
        var elapsed = TimeSpan(nanoseconds: 0)
        while elapsed < span {
            now = now + step
            elapsed = TimeSpan(nanoseconds: elapsed.nanoseconds + step.nanoseconds)
            tick()
            sendDueParity()
        }
    }

    /// The application at `address` sends `payload`.
    func send(_ payload: [UInt8], from address: Int = 1) {
        let outcome = buffer.withUnsafeMutableBytes { frame in
            UnsafeMutableRawBufferPointer(rebasing: frame[FrameLayout.headerSize...]).copyBytes(from: payload)
            return client.encodePayload(length: payload.count, from: address, now: now, in: frame)
        }
        guard case .send(let length) = outcome else { return }
        let scheduled = client.pathsFor(now: now, bytes: length)
        var paths = Array(scheduled.members)
        if let fastest = client.fastestPath(among: scheduled, now: now) {
            paths += Array(repeating: fastest.path, count: fastest.copies - 1)
        }
        for path in paths { upstreamDataFrames[path] += 1 }
        sendUpstream(Array(buffer[..<length]), paths: paths)
        sendDueParity()
    }

    /// Sends the parity frames due now, each side's, as the runtimes do after each payload
    /// and at the groups' deadlines; first, as the rebuild timers do, the payloads whose
    /// rebuilding is due.
    func sendDueParity() {
        server.releaseRebuilt(now: now) { payload, session, flow in
            toTarget.append((flow, session.sessionID, Array(payload)))
        }
        client.releaseRebuilt(now: now) { payload, address in
            toApplication.append(Delivery(address: address, payload: Array(payload)))
        }
        while let (length, path) = buffer.withUnsafeMutableBytes({ client.parity(now: now, into: $0) }) {
            upstreamParityFrames += 1
            sendUpstream(Array(buffer[..<length]), paths: [path])
        }
        for session in server.sessions.values {
            while let (length, path) = buffer.withUnsafeMutableBytes({
                server.parity(for: session, now: now, into: $0)
            }) {
                downstreamParityFrames += 1
                guard let address = session.pathAddresses[path], let bridge = bridgePath(address) else { continue }
                if !lost(on: bridge) { deliverDownstream(Array(buffer[..<length]), path: bridge) }
            }
        }
    }

    /// mpserver's target replies on flow `flow` of session `session`.
    func reply(_ payload: [UInt8], flow: UInt32, session sessionID: UInt64? = nil) {
        guard let session = server.sessions[sessionID ?? client.sessionID] else { return }
        let length = buffer.withUnsafeMutableBytes { frame in
            UnsafeMutableRawBufferPointer(rebasing: frame[FrameLayout.headerSize...]).copyBytes(from: payload)
            return server.encodePayload(length: payload.count, session: session, flowID: flow, now: now, in: frame)
        }
        guard let length else { return }
        defer { sendDueParity() }
        let replyPaths = session.replyPaths(now: now, bytes: length).members.flatMap {
            Array(repeating: $0, count: session.mirror.copies(onPath: $0))
        }
        for path in replyPaths {
            var frame = Array(buffer[..<length])
            frame[FrameLayout.pathIDOffset] = UInt8(path)
            capturedDownstream.append(frame)
            // The reply goes to the address mpserver holds for the path: the bridge there
            // carries it back on its own path, whatever path id it names.
            guard let address = session.pathAddresses[path], let bridge = bridgePath(address) else { continue }
            if !lost(on: bridge) { deliverDownstream(frame, path: bridge) }
        }
    }

    /// The path whose bridge has `address`, if it is a bridge that carries replies back.
    func bridgePath(_ address: Int) -> Int? {
        let path = address - 1_000
        guard (0..<pathCount).contains(path), !downstreamBlackholes.contains(path) else { return nil }
        return path
    }

    func sendUpstream(_ frame: [UInt8], paths: [Int]) {
        for path in paths {
            var copy = frame
            copy[FrameLayout.pathIDOffset] = UInt8(path)
            capturedUpstream.append(copy)
            client.recordSend(path: path, bytes: copy.count)
            if let tamper = upstreamTamper[path], !tamper(&copy) { continue }
            if !lost(on: path) { deliverUpstream(copy, from: bridgeAddress(path)) }
        }
    }

    /// A frame reaches mpserver from `address`.
    func deliverUpstream(_ frame: [UInt8], from address: Int) {
        var frame = frame
        let verdict = frame.withUnsafeMutableBytes { bytes in
            reply.withUnsafeMutableBytes { replyBytes in
                server.receiveFrame(bytes, from: address, now: now, reply: replyBytes, using: &random)
            }
        }
        switch verdict {
        case .deliver(let payload, let session, let flow):
            toTarget.append((flow, session.sessionID, Array(frame[payload])))
        case .reply(let length, let to):
            let frame = Array(reply[..<length])
            capturedDownstream.append(frame)
            if let path = bridgePath(to), !lost(on: path) { deliverDownstream(frame, path: path) }
        case .consumed, .dropped: break
        }
        // As the runtime does after each frame: what the reorder buffers release.
        server.releaseHeld(now: now) { payload, session, flow in
            toTarget.append((flow, session.sessionID, Array(payload)))
        }
        server.releaseRebuilt(now: now) { payload, session, flow in
            toTarget.append((flow, session.sessionID, Array(payload)))
        }
    }

    /// A frame reaches mpclient on `path`.
    @discardableResult
    func deliverDownstream(_ frame: [UInt8], path: Int) -> ClientSession<Int>.Inbound {
        var frame = frame
        downstreamFrames[path] += 1
        let verdict = frame.withUnsafeMutableBytes { client.receiveFrame($0, path: path, now: now) }
        switch verdict {
        case .deliver(let payload, let address):
            toApplication.append(Delivery(address: address, payload: Array(frame[payload])))
        case .accepted:
            // As the runtime does: probes first, which give mpserver each path's reply address.
            sendDueProbes()
            flushHeld()
        default: break
        }
        client.releaseRebuilt(now: now) { payload, address in
            toApplication.append(Delivery(address: address, payload: Array(payload)))
        }
        while client.releaseHeld(
            now: now, { payload, address in toApplication.append(Delivery(address: address, payload: Array(payload))) })
        {}
        return verdict
    }

    func flushHeld() {
        while let length = buffer.withUnsafeMutableBytes({ client.nextHeldFrame(now: now, into: $0) }) {
            sendUpstream(Array(buffer[..<length]), paths: Array(client.pathsFor(now: now).members))
        }
    }

    /// Moves time on and lets the timer run, until accepted or `limit` ticks.
    func establish(limit: Int = 20) {
        for _ in 0..<limit where !client.isAccepted {
            tick()
            now = now + .seconds(1)
        }
    }
}
