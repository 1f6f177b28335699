import Testing
import MPLabSupport
@testable import MPCore

/// Seals and opens single frames with ``FrameProtection`` directly.
@Suite("Sealing")
struct SealingTests {
    static let key = try! PreSharedKey(bytes: (0..<32).map { UInt8($0) })
    static let otherKey = try! PreSharedKey(bytes: (0..<32).map { UInt8(255 - $0) })
    static let sessionID: UInt64 = 0x0102_0304_0506_0708
    static let serverTag: UInt64 = 0x1112_1314_1516_1718

    static func upstream(
        _ key: PreSharedKey = key, encrypts: Bool = true, cipher: Cipher = .chaCha20Poly1305
    ) -> FrameProtection {
        Keyring(key: key, encrypts: encrypts, cipher: cipher).upstream(sessionID: sessionID)
    }

    @Test(
        "AES-256-GCM frames carry their flag and open at a receiver that sends ChaCha20-Poly1305",
        arguments: [true, false])
    func aesGCM(encrypts: Bool) {
        let body = (0..<1_200).map { UInt8(truncatingIfNeeded: $0 * 13) }
        let frame = Self.seal(body, with: Self.upstream(encrypts: encrypts, cipher: .aes256GCM))
        #expect(frame[FrameLayout.flagsOffset] == (encrypts ? 0x07 : 0x05))
        #expect(Self.open(frame, with: Self.upstream()) == .success(body))
        #expect(Self.open(frame, with: Self.upstream(Self.otherKey)) == .failure(.authenticationFailed))
        let chacha = Self.seal(body, with: Self.upstream(encrypts: encrypts))
        #expect(chacha[FrameLayout.headerSize...] != frame[FrameLayout.headerSize...])
        var relabelled = frame
        relabelled[FrameLayout.flagsOffset] &= ~FrameFlags.aesGCM.rawValue
        #expect(Self.open(relabelled, with: Self.upstream()) == .failure(.authenticationFailed))
    }

    /// A data frame of `body` sealed under `protection`, sent on path `pathID`.
    static func seal(
        _ body: [UInt8], with protection: FrameProtection, type: FrameType = .upstreamData, sequence: UInt64 = 1,
        pathID: UInt8 = 2
    ) -> [UInt8] {
        var frame = [UInt8](repeating: 0, count: FrameLayout.maximumOverhead + body.count)
        frame.replaceSubrange(FrameLayout.headerSize..<(FrameLayout.headerSize + body.count), with: body)
        let header = FrameHeader(
            type: type, pathID: pathID, sessionID: sessionID, serverTag: serverTag, sequence: sequence, flowID: 5)
        let length = frame.withUnsafeMutableBytes { protection.seal(header, bodyLength: body.count, in: $0) }
        return Array(frame[..<length])
    }

    /// The body `protection` opens from `frame`, or why it refuses (a decoding error counts).
    static func open(_ frame: [UInt8], with protection: FrameProtection) -> Result<[UInt8], DropReason> {
        var frame = frame
        return frame.withUnsafeMutableBytes { bytes in
            let header: FrameHeader
            do throws(FrameError) {
                header = try FrameHeader.decode(UnsafeRawBufferPointer(bytes))
            } catch {
                return .failure(DropReason(error))
            }
            return protection.open(header, in: bytes).map { Array(bytes[$0]) }
        }
    }

    @Test("test vectors computed with another ChaCha20-Poly1305 and HKDF implementation (Python's cryptography)")
    func vectors() {
        let hello = Array("hello".utf8)
        let downstream = Keyring(key: Self.key).downstream(sessionID: Self.sessionID, serverTag: Self.serverTag)
        #expect(
            hexString(Self.seal(hello, with: Self.upstream()))
                == "0201030201020304050607081112131415161718000000000000000100000005e92f518da4d6033f69424ed995f2d92d4d8bd25965"
        )
        #expect(
            hexString(Self.seal(hello, with: Self.upstream(encrypts: false)))
                == "020101020102030405060708111213141516171800000000000000010000000568656c6c6f0586f63eac95459ee6c0aa485a88fad7"
        )
        #expect(
            hexString(Self.seal(hello, with: downstream, type: .downstreamData, pathID: 0))
                == "02810300010203040506070811121314151617180000000000000001000000052b4370b108b42656d3ff529b7bf9b223e8e580e020"
        )
        // A probe's seal covers its real path id (2 here), not zero.
        let probe = Self.seal(
            withUnsafeBytes(of: UInt64(1_000_000_000).bigEndian, Array.init), with: Self.upstream(), type: .probe)
        #expect(
            hexString(probe)
                == "0202030201020304050607081112131415161718000000000000000100000005814a3de1f020b9e9fbdda7f69e9dfce22ed8c84ebbe68c2d"
        )
        // The session-id check: HMAC-SHA256 under HKDF(key, "mptunnel v2", "session id check").
        #expect(Keyring(key: Self.key).checkedSessionID(0x01_0203_0405) == 0x0102_0304_05d6_5e85)
    }

    @Test("a probe whose path id was rewritten does not authenticate; a data frame's path id is free")
    func probeBindsPathID() {
        let body = withUnsafeBytes(of: UInt64(42).bigEndian, Array.init)
        var probe = Self.seal(body, with: Self.upstream(), type: .probe, pathID: 1)
        #expect(Self.open(probe, with: Self.upstream()) == .success(body))
        probe[FrameLayout.pathIDOffset] = 0
        #expect(Self.open(probe, with: Self.upstream()) == .failure(.authenticationFailed))
        var data = Self.seal(body, with: Self.upstream(), pathID: 1)
        data[FrameLayout.pathIDOffset] = 0
        #expect(Self.open(data, with: Self.upstream()) == .success(body))
    }

    @Test("session ids: made ones pass their check, others almost never")
    func sessionCheck() {
        let keyring = Keyring(key: Self.key)
        var random = SplitMix64(seed: 11)
        let made = (0..<1_000).map { _ in keyring.makeSessionID(using: &random) }
        #expect(made.allSatisfy { keyring.isPlausible(sessionID: $0) })
        let passing = (0..<20_000).filter { _ in keyring.isPlausible(sessionID: random.next()) }.count
        #expect(passing < 3)  // 1 in 16.7 million each: 0.0012 expected
        #expect(!Keyring(key: Self.otherKey).isPlausible(sessionID: keyring.checkedSessionID(0x01_0203_0405)))
        #expect(Keyring.keyless.isPlausible(sessionID: 0xBAD))
    }

    @Test("a sealed frame opens in place to its body, encrypted or authenticated only", arguments: [true, false])
    func roundTrip(encrypts: Bool) {
        let body = (0..<1_200).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let frame = Self.seal(body, with: Self.upstream(encrypts: encrypts))
        #expect(frame.count == body.count + FrameLayout.maximumOverhead)
        #expect(frame[FrameLayout.flagsOffset] == (encrypts ? 0x03 : 0x01))
        let inClear = Array(frame[FrameLayout.headerSize..<(FrameLayout.headerSize + body.count)]) == body
        #expect(inClear == !encrypts)
        #expect(Self.open(frame, with: Self.upstream()) == .success(body))
        #expect(Self.open(frame, with: Self.upstream(encrypts: false)) == .success(body))
    }

    @Test("an empty body seals to header and tag, and opens")
    func emptyBody() {
        let frame = Self.seal([], with: Self.upstream())
        #expect(frame.count == FrameLayout.maximumOverhead)
        #expect(Self.open(frame, with: Self.upstream()) == .success([]))
    }

    @Test("flipping any single bit but the path id's makes a sealed frame fail", arguments: [true, false])
    func tampering(encrypts: Bool) {
        let frame = Self.seal(Array("twenty bytes of body".utf8), with: Self.upstream(encrypts: encrypts))
        for bit in 0..<(frame.count * 8) where bit / 8 != FrameLayout.pathIDOffset {
            var tampered = frame
            tampered[bit / 8] ^= 1 << (bit % 8)
            guard case .failure = Self.open(tampered, with: Self.upstream()) else {
                Issue.record("bit \(bit) flipped and the frame still opened")
                return
            }
        }
    }

    @Test("a truncated or extended sealed frame fails")
    func lengthChanges() {
        let frame = Self.seal(Array("body".utf8), with: Self.upstream())
        for length in 0..<frame.count {
            if case .success = Self.open(Array(frame[..<length]), with: Self.upstream()) {
                Issue.record("a frame cut to \(length) bytes opened")
            }
        }
        #expect(Self.open(frame + [0], with: Self.upstream()) == .failure(.authenticationFailed))
    }

    @Test("the path id is a hint outside the seal: any value opens, and is kept")
    func pathIDRewrite() {
        let frame = Self.seal(Array("same bytes on every path".utf8), with: Self.upstream())
        for pathID in UInt8.min...UInt8.max {
            var copy = frame
            copy[FrameLayout.pathIDOffset] = pathID
            #expect(Self.open(copy, with: Self.upstream()) == .success(Array("same bytes on every path".utf8)))
            var opened = copy
            _ = opened.withUnsafeMutableBytes { bytes in
                Self.upstream().open(try! FrameHeader.decode(UnsafeRawBufferPointer(bytes)), in: bytes)
            }
            #expect(opened[FrameLayout.pathIDOffset] == pathID)
        }
    }

    @Test("another key, the other direction, or another session's key fails authentication")
    func crossKey() {
        let frame = Self.seal(Array("secret".utf8), with: Self.upstream())
        let downstream = Keyring(key: Self.key).downstream(sessionID: Self.sessionID, serverTag: Self.serverTag)
        let otherSession = Keyring(key: Self.key).upstream(sessionID: Self.sessionID + 1)
        #expect(Self.open(frame, with: Self.upstream(Self.otherKey)) == .failure(.authenticationFailed))
        #expect(Self.open(frame, with: downstream) == .failure(.authenticationFailed))
        #expect(Self.open(frame, with: otherSession) == .failure(.authenticationFailed))
        let otherTag = Keyring(key: Self.key).downstream(sessionID: Self.sessionID, serverTag: Self.serverTag + 1)
        let reply = Self.seal(Array("reply".utf8), with: downstream, type: .downstreamData)
        #expect(Self.open(reply, with: otherTag) == .failure(.authenticationFailed))
    }

    @Test("a key on one side only is named: sealed at a keyless side, unsealed at a keyed side")
    func oneSidedKey() {
        let sealed = Self.seal(Array("x".utf8), with: Self.upstream())
        let clear = Self.seal(Array("x".utf8), with: .keyless)
        #expect(Self.open(sealed, with: .keyless) == .failure(.unexpectedAuthentication))
        #expect(Self.open(clear, with: Self.upstream()) == .failure(.missingAuthentication))
        #expect(Self.open(clear, with: .keyless) == .success(Array("x".utf8)))
    }

    @Test("the nonce is four zero bytes and the sequence number; successive frames never share one")
    func nonces() {
        #expect(FrameProtection.withNonce(0x0102_0304_0506_0708) { Array($0) } == [0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8])
        let first = Self.seal(Array("same".utf8), with: Self.upstream(), sequence: 1)
        let second = Self.seal(Array("same".utf8), with: Self.upstream(), sequence: 2)
        #expect(first[FrameLayout.headerSize...] != second[FrameLayout.headerSize...])
    }

    @Test("a session's sequence numbers strictly increase over payloads, probes and held frames")
    func sequencesIncrease() {
        let session = ClientSession<Int>(sessionID: 9, pathCount: 2, keyring: Keyring(key: Self.key))
        var buffer = [UInt8](repeating: 0, count: 256)
        var sequences: [UInt64] = []
        for step in UInt64(0)..<200 {
            let length = buffer.withUnsafeMutableBytes { frame -> Int? in
                if step % 3 == 0 { return session.probe(path: Int(step % 2), now: ms(step * 1_000), into: frame) }
                session.serverTag = 77  // accepted: payloads are sent, not held
                guard case .send(let length) = session.encodePayload(length: 10, from: 1, now: ms(step), in: frame)
                else { return nil }
                return length
            }
            guard let length else { continue }
            let header = buffer.withUnsafeBytes {
                try! FrameHeader.decode(UnsafeRawBufferPointer(rebasing: $0[..<length]))
            }
            sequences.append(header.sequence)
        }
        #expect(sequences.count > 100)
        #expect(zip(sequences, sequences.dropFirst()).allSatisfy { $0 < $1 })
    }
}
