// A tapping bridge for attack tests: one path of mpclient goes through it. It forwards
// every frame both ways, like a bridge, and records what it forwarded, so a test holds
// real captured frames to replay, flip or forge from. It also sends from its own two
// sockets, which is the only way to reach mpclient's connected path socket from outside.
// It runs on its own thread (a test's thread is busy sending) and is stopped when the
// object goes away.
import Foundation
import Glibc
import MPCore
import MPRuntime
import Synchronization

/// A UDP bridge on 127.0.0.1 that records the frames it forwards.
public final class TapRelay {
    /// Which way a frame went through the tap.
    public enum Direction: Sendable {
        /// From mpclient towards mpserver.
        case up
        /// From mpserver towards mpclient.
        case down
    }

    /// Where mpclient's path points (the tap's listen address).
    public var listenAddress: SocketAddress { worker.listenAddress }
    /// The tap's own address towards mpserver: what mpserver sees as the path's source.
    public var upstreamAddress: SocketAddress { worker.upstreamAddress }
    private let worker: TapWorker

    /// A tap listening on a free port of 127.0.0.1 and forwarding to `target`, keeping at
    /// most `recordLimit` frames of each direction.
    public init(to target: SocketAddress, recordLimit: Int = 50_000) throws {
        worker = try TapWorker(target: target, recordLimit: recordLimit)
        let worker = self.worker
        let thread = Thread { worker.run() }
        thread.name = "tap relay"
        thread.start()
    }

    deinit {
        worker.stop()
    }

    /// Stops forwarding and waits (at most 2 s) for the thread to end.
    public func stop() {
        worker.stop()
    }

    /// The frames recorded so far in `direction`, oldest first.
    public func recorded(_ direction: Direction) -> [[UInt8]] {
        worker.state.withLock { direction == .up ? $0.up : $0.down }
    }

    /// How many frames went through in `direction` (recorded or not).
    public func forwardedCount(_ direction: Direction) -> Int {
        worker.state.withLock { direction == .up ? $0.forwardedUp : $0.forwardedDown }
    }

    /// Drops, from now on, every frame from or to the client address the tap knows now, as
    /// a NAT or bridge does whose mapping went stale; a new client address is forwarded.
    public func blockCurrentClient() {
        worker.state.withLock { shared in
            if let client = shared.client { shared.blocked.insert(client) }
        }
    }

    /// Turns the tap hostile (attack tests): with `rewritingPathIDs`, each upstream frame's
    /// path id is set to 0, 1, ..., `rewritingPathIDs` − 1 in turn; with `droppingDownstream`,
    /// nothing mpserver sends is forwarded to mpclient.
    public func setHostile(rewritingPathIDs: Int = 0, droppingDownstream: Bool = false) {
        worker.state.withLock {
            $0.rewrittenPathIDs = rewritingPathIDs
            $0.dropsDownstream = droppingDownstream
        }
    }

    /// Sends a copy of every upstream frame, before forwarding it, from ``copierSocket`` to
    /// `target` (an off-path sender that reads the path and races its frames); nil stops.
    public func copyUpstream(to target: SocketAddress?) {
        worker.state.withLock { $0.copyTarget = target }
    }

    /// The off-path sender's own socket: what mpserver sends it arrives here.
    public var copierSocket: UDPSocket { worker.copierSocket }

    /// Records frames (true, the start state) or only forwards them.
    public func setRecording(_ recording: Bool) {
        worker.state.withLock { $0.isRecording = recording }
    }

    /// Forgets what was recorded.
    public func clearRecording() {
        worker.state.withLock {
            $0.up.removeAll()
            $0.down.removeAll()
        }
    }

    /// Sends `bytes` to mpclient's path socket from the tap's listen port, as if mpserver had
    /// sent it through this bridge. False when the tap has not heard from mpclient yet or
    /// the kernel did not take it.
    @discardableResult
    public func sendToClient(_ bytes: [UInt8]) -> Bool {
        guard let client = worker.state.withLock({ $0.client }) else { return false }
        return bytes.withUnsafeBytes { worker.listenSocket.send($0, to: client) } == .sent
    }

    /// Sends `bytes` to mpserver from the tap's own upstream port, as if mpclient had sent it
    /// through this bridge.
    @discardableResult
    public func sendToServer(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { worker.upstreamSocket.send($0) } == .sent
    }
}

/// What the tap's thread shares with the test's thread.
struct TapState {
    var up: [[UInt8]] = []
    var down: [[UInt8]] = []
    var forwardedUp = 0
    var forwardedDown = 0
    var isRecording = true
    /// mpclient's path socket: the last address that sent to the listen port.
    var client: SocketAddress?
    /// Client addresses whose frames are dropped both ways (``TapRelay/blockCurrentClient()``).
    var blocked: Set<SocketAddress> = []
    /// Hostile: path ids written in turn into upstream frames (0: none), the next one, and
    /// whether downstream frames are dropped (``TapRelay/setHostile(rewritingPathIDs:droppingDownstream:)``).
    var rewrittenPathIDs = 0
    var nextPathID = 0
    var dropsDownstream = false
    /// Hostile: where each upstream frame is copied first (``TapRelay/copyUpstream(to:)``).
    var copyTarget: SocketAddress?
}

/// The tap's sockets and its poll loop. Sendable by hand: the sockets are only read
/// (received from) on the tap's thread; sends are single syscalls on a descriptor, safe
/// from any thread; everything else is behind `state`'s lock.
final class TapWorker: @unchecked Sendable {
    let listenSocket: UDPSocket
    let upstreamSocket: UDPSocket
    /// Sends the copies of ``TapRelay/copyUpstream(to:)``; the test reads it.
    let copierSocket: UDPSocket
    let listenAddress: SocketAddress
    let upstreamAddress: SocketAddress
    let recordLimit: Int
    let state = Mutex(TapState())
    private let running = Atomic<Bool>(true)
    private let finished = Atomic<Bool>(false)

    init(target: SocketAddress, recordLimit: Int) throws {
        listenSocket = try UDPSocket(bindingTo: .loopbackIPv4(port: 0))
        upstreamSocket = try UDPSocket(bindingTo: .loopbackIPv4(port: 0))
        try upstreamSocket.connect(to: target)
        copierSocket = try UDPSocket(bindingTo: .loopbackIPv4(port: 0))
        for socket in [listenSocket, upstreamSocket, copierSocket] {
            socket.setBufferSizes(receive: 8 << 20, send: 8 << 20)
        }
        listenAddress = try listenSocket.localAddress
        upstreamAddress = try upstreamSocket.localAddress
        self.recordLimit = recordLimit
    }

    func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        waitUntil(timeout: .seconds(2), poll: .milliseconds(5)) { finished.load(ordering: .acquiring) }
    }

    func run() {
        // 65,536 bytes: larger than any UDP datagram, so nothing is cut.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 8)
        defer {
            buffer.deallocate()
            finished.store(true, ordering: .releasing)
        }
        var descriptors = [listenSocket, upstreamSocket].map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        while running.load(ordering: .acquiring) {
            // 20 ms: how long stop() may wait for the thread to notice.
            guard poll(&descriptors, 2, 20) > 0 else { continue }
            forward(.up, buffer: buffer)
            forward(.down, buffer: buffer)
        }
    }

    private func forward(_ direction: TapRelay.Direction, buffer: UnsafeMutableRawBufferPointer) {
        let source = direction == .up ? listenSocket : upstreamSocket
        // 256 datagrams per wake-up, then the other direction gets its turn.
        for _ in 0..<256 {
            guard case .datagram(let length, let sender) = source.receive(into: buffer), length <= buffer.count else {
                return
            }
            let bytes = UnsafeRawBufferPointer(rebasing: buffer[..<length])
            guard let client = record(direction, bytes, sender: sender) else { continue }
            guard tamper(direction, UnsafeMutableRawBufferPointer(rebasing: buffer[..<length])) else { continue }
            switch direction {
            case .up: _ = upstreamSocket.send(bytes)
            case .down: _ = listenSocket.send(bytes, to: client)
            }
        }
    }

    /// The hostile tap's hand on a frame it forwards: copies it, rewrites its path id, or
    /// returns false to drop it.
    private func tamper(_ direction: TapRelay.Direction, _ frame: UnsafeMutableRawBufferPointer) -> Bool {
        state.withLock { shared in
            if direction == .down { return !shared.dropsDownstream }
            if let target = shared.copyTarget { _ = copierSocket.send(UnsafeRawBufferPointer(frame), to: target) }
            if shared.rewrittenPathIDs > 0, frame.count > 3 {
                frame[FrameLayout.pathIDOffset] = UInt8(shared.nextPathID)
                shared.nextPathID = (shared.nextPathID + 1) % shared.rewrittenPathIDs
            }
            return true
        }
    }

    /// Counts and records a frame; returns the client address to forward down to, or nil
    /// when the frame is dropped (no client yet, or a blocked one).
    private func record(_ direction: TapRelay.Direction, _ bytes: UnsafeRawBufferPointer, sender: SocketAddress)
        -> SocketAddress?
    {
        state.withLock { shared in
            if direction == .up && shared.blocked.contains(sender) { return nil }
            if direction == .down, let client = shared.client, shared.blocked.contains(client) { return nil }
            switch direction {
            case .up:
                shared.client = sender
                shared.forwardedUp += 1
                if shared.isRecording, shared.up.count < recordLimit { shared.up.append(Array(bytes)) }
            case .down:
                shared.forwardedDown += 1
                if shared.isRecording, shared.down.count < recordLimit { shared.down.append(Array(bytes)) }
            }
            return shared.client
        }
    }
}
