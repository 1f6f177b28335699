// Many keyless sessions in the test process, for tests of what mpserver reports when it
// keeps thousands: each is MPCore's ClientSession (the engine mpclient runs) with up to 32
// paths, all on one UDP socket (mpserver keys sessions by id, not by address). Each session
// is accepted with a probe on path 0, then probes every one of its paths once, so mpserver
// ends up with `count` sessions × `pathsPerSession` paths heard from.
import MPCore
import MPRuntime

/// A crowd of keyless sessions probing one mpserver.
public final class SessionCrowd {
    /// 1,000 datagrams without a reply at most: well inside mpserver's socket buffer.
    static let window = 1_000
    private let sessions: [ClientSession<Int>]
    private let indexByID: [UInt64: Int]
    private let pathsPerSession: Int
    private let socket: UDPSocket
    private let server: SocketAddress
    private var frame = [UInt8](repeating: 0, count: 2_048)
    private var outstanding = 0
    /// The sessions' clock: a second further on each round, so that every probe is due.
    private var now = Timestamp(nanoseconds: 1_000_000_000)

    /// `count` sessions of `pathsPerSession` paths (1-32) for mpserver at `server`.
    public init(count: Int, pathsPerSession: Int, server: SocketAddress) throws {
        var generator = SystemRandomNumberGenerator()
        sessions = (0..<count).map { _ in
            ClientSession<Int>(
                sessionID: UInt64.random(in: 1...UInt64.max, using: &generator), pathCount: pathsPerSession)
        }
        indexByID = Dictionary(
            sessions.enumerated().map { ($1.sessionID, $0) }, uniquingKeysWith: { first, _ in first })
        self.pathsPerSession = pathsPerSession
        self.server = server
        socket = try UDPSocket(bindingTo: .loopbackIPv4(port: 0))
        socket.setBufferSizes(receive: 8 << 20, send: 8 << 20)
    }

    /// Sessions mpserver accepted.
    public var acceptedCount: Int { sessions.count { $0.isAccepted } }

    /// Gets every session accepted, then probes every path of every session; `between` runs
    /// while replies are awaited (a test whose mpserver runs on its own loop runs it there).
    /// Returns whether every session was accepted within `timeout`.
    @discardableResult
    public func populate(timeout: Duration = .seconds(30), between: () -> Void = {}) -> Bool {
        let deadline = Deadline(timeout: timeout)
        while acceptedCount < sessions.count, !deadline.hasPassed {
            now = now + .seconds(1)
            for session in sessions where !session.isAccepted { probe(session, path: 0, between: between) }
            awaitReplies(below: 1, between: between)
        }
        now = now + .seconds(1)
        for session in sessions where session.isAccepted {
            for path in 0..<pathsPerSession { probe(session, path: path, between: between) }
        }
        awaitReplies(below: 1, between: between)
        return acceptedCount == sessions.count
    }

    private func probe(_ session: ClientSession<Int>, path: Int, between: () -> Void) {
        let sent = frame.withUnsafeMutableBytes { buffer -> Bool in
            guard let length = session.probe(path: path, now: now, into: buffer) else { return false }
            FrameHeader.setPathID(UInt8(path), in: buffer)
            return socket.send(UnsafeRawBufferPointer(rebasing: buffer[..<length]), to: server) == .sent
        }
        if sent { outstanding += 1 }
        if outstanding >= Self.window { awaitReplies(below: Self.window / 2, between: between) }
    }

    /// Takes replies (acceptances go to their session) until fewer than `limit` are awaited,
    /// or none came for 200 ms (the rest are taken as lost).
    private func awaitReplies(below limit: Int, between: () -> Void) {
        var quiet = Deadline(timeout: .milliseconds(200))
        while outstanding >= limit, !quiet.hasPassed {
            between()
            socket.waitReadable(milliseconds: 1)
            while case .datagram(let length, _) = frame.withUnsafeMutableBytes({ socket.receive(into: $0) }) {
                outstanding -= 1
                quiet = Deadline(timeout: .milliseconds(200))
                take(length: min(length, frame.count))
            }
        }
        outstanding = 0
    }

    private func take(length: Int) {
        frame.withUnsafeMutableBytes { buffer in
            let bytes = UnsafeMutableRawBufferPointer(rebasing: buffer[..<length])
            guard let header = try? FrameHeader.decode(UnsafeRawBufferPointer(bytes)), header.type == .acceptance,
                let index = indexByID[header.sessionID]
            else { return }
            _ = sessions[index].receiveFrame(bytes, path: 0, now: now)
        }
    }
}
