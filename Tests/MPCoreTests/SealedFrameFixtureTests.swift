import Testing

@testable import MPCore

/// The wire format did not change with the move to libcrypto: frames sealed by the release
/// before it (``SealedFrameFixture``) open to their bodies, and sealing the same header and
/// body again gives the same bytes, so either release opens what the other sealed.
@Suite("Sealed frames of the swift-crypto release")
struct SealedFrameFixtureTests {
    static let keyring = Keyring(key: try! PreSharedKey(bytes: (0..<32).map { UInt8($0) }))

    @Test("each frame sealed by the previous release opens, and seals again byte for byte")
    func fixtures() throws {
        #expect(SealedFrameFixture.all.count == 28)
        for fixture in SealedFrameFixture.all {
            let frame = try #require(bytes(hex: fixture.hex.filter { !$0.isWhitespace }))
            let body = (0..<fixture.bodyLength).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            let keyring = Keyring(key: Self.keyring.key, encrypts: fixture.encrypts, cipher: fixture.cipher)
            let protection =
                fixture.upstream
                ? keyring.upstream(sessionID: SealingTests.sessionID)
                : keyring.downstream(sessionID: SealingTests.sessionID, serverTag: SealingTests.serverTag)
            let label = "\(fixture.cipher.rawValue) encrypts \(fixture.encrypts) \(fixture.type) \(fixture.sequence)"
            #expect(SealingTests.open(frame, with: protection) == .success(body), "\(label)")
            let sealed = SealingTests.seal(
                body, with: protection, type: fixture.type, sequence: fixture.sequence, pathID: fixture.pathID)
            #expect(sealed == frame, "\(label)")
            // A receiver that seals with the other cipher opens it all the same.
            let other = Keyring(
                key: Self.keyring.key, cipher: fixture.cipher == .aes256GCM ? .chaCha20Poly1305 : .aes256GCM)
            let otherProtection =
                fixture.upstream
                ? other.upstream(sessionID: SealingTests.sessionID)
                : other.downstream(sessionID: SealingTests.sessionID, serverTag: SealingTests.serverTag)
            #expect(SealingTests.open(frame, with: otherProtection) == .success(body), "\(label)")
        }
    }

    @Test("a frame that fails to open is left as it was, its body in ciphertext", arguments: Cipher.allCases)
    func failedOpenLeavesFrame(cipher: Cipher) throws {
        let fixture = try #require(
            SealedFrameFixture.all.first { $0.cipher == cipher && $0.encrypts && $0.bodyLength == 1_200 })
        var frame = try #require(bytes(hex: fixture.hex.filter { !$0.isWhitespace }))
        frame[frame.count - 1] ^= 0x80  // the tag's last bit
        let tampered = frame
        let protection = Self.keyring.upstream(sessionID: SealingTests.sessionID)
        let result = frame.withUnsafeMutableBytes { bytes in
            protection.open(try! FrameHeader.decode(UnsafeRawBufferPointer(bytes)), in: bytes)
        }
        #expect(result == .failure(.authenticationFailed))
        #expect(frame == tampered)
    }

    /// The bytes of `hex` (two digits a byte), or nil when it is not hex.
    func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        return stride(from: 0, to: digits.count, by: 2).compactMap {
            UInt8(String(decoding: digits[$0..<($0 + 2)], as: UTF8.self), radix: 16)
        }
    }
}
