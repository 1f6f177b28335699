// Frames sealed with a key other than the tunnel's, as an attacker running their own
// mptunnel would make them: MPCore's client session and server engine wired back to back in
// memory under that key. Their frames are well formed and correctly sealed, only not with
// the key the daemons under test hold.
@testable import MPCore

/// One session of a tunnel keyed with `key`, in memory, accepted and ready to seal frames.
final class ForeignTunnel {
    private let client: ClientSession<Int>
    private let server: ServerEngine<Int>
    private var frame = [UInt8](repeating: 0, count: 4_096)
    private var reply = [UInt8](repeating: 0, count: 4_096)
    private var session: ServerSession<Int>?
    private var flowID: UInt32 = 0
    /// The session's clock, in nanoseconds; each probe moves it a second on.
    private var now: UInt64 = 1_000_000_000
    private var random = SystemRandomNumberGenerator()

    /// A session `sessionID` under `key`: a probe goes to the in-memory server and its
    /// acceptance back, so data frames are sealed under a real server tag.
    init(key: PreSharedKey, sessionID: UInt64) {
        client = ClientSession(sessionID: sessionID, pathCount: 1, keyring: Keyring(key: key))
        server = ServerEngine(keyring: Keyring(key: key))
        // The attacker's own build would check session ids under its own key; these frames
        // name ids of the tunnel under test (or random ones), so the check is off here.
        server.checksSessionIDs = false
        if let probe = probe(), case .reply(let length, _) = toServer(probe) {
            // The acceptance is at the start of `reply`; the client takes its tag.
            _ = reply.withUnsafeMutableBytes {
                client.receiveFrame(UnsafeMutableRawBufferPointer(rebasing: $0[..<length]), path: 0, now: timestamp)
            }
        }
        if let first = upstream(Array("first".utf8)), case .deliver(_, let session, let flowID) = toServer(first) {
            self.session = session
            self.flowID = flowID
        }
    }

    private var timestamp: Timestamp { Timestamp(nanoseconds: now) }

    /// A probe frame (mpclient → mpserver) sealed with the foreign key.
    func probe() -> [UInt8]? {
        now += 1_000_000_000
        let length = frame.withUnsafeMutableBytes { client.probe(path: 0, now: timestamp, into: $0) }
        return length.map { Array(frame[..<$0]) }
    }

    /// A data frame (mpclient → mpserver) carrying `payload`, sealed with the foreign key.
    func upstream(_ payload: [UInt8]) -> [UInt8]? {
        frame.replaceSubrange(FrameLayout.headerSize..<FrameLayout.headerSize + payload.count, with: payload)
        let outbound = frame.withUnsafeMutableBytes {
            client.encodePayload(length: payload.count, from: 1, now: timestamp, in: $0)
        }
        guard case .send(let length) = outbound else { return nil }
        return Array(frame[..<length])
    }

    /// A data frame (mpserver → mpclient) carrying `payload`, sealed with the foreign key.
    func downstream(_ payload: [UInt8]) -> [UInt8]? {
        guard let session else { return nil }
        frame.replaceSubrange(FrameLayout.headerSize..<FrameLayout.headerSize + payload.count, with: payload)
        let length = frame.withUnsafeMutableBytes {
            server.encodePayload(length: payload.count, session: session, flowID: flowID, in: $0)
        }
        return length.map { Array(frame[..<$0]) }
    }

    /// Hands a copy of `bytes` to the in-memory server (which opens frames in place).
    private func toServer(_ bytes: [UInt8]) -> ServerEngine<Int>.Inbound {
        var copy = bytes
        return copy.withUnsafeMutableBytes { frame in
            reply.withUnsafeMutableBytes { reply in
                server.receiveFrame(frame, from: 0, now: timestamp, reply: reply, using: &random)
            }
        }
    }
}
