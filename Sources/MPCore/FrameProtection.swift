/// How the frames of one direction of one session are protected on the wire: keyless, or
/// sealed with ChaCha20-Poly1305 or AES-256-GCM under that direction's session key, one
/// derived key per cipher (see `Sealing.md`).
///
/// A frame is sealed once and the same bytes go on every path; only the path-id byte,
/// which the associated data covers as zero, differs. A probe is the exception: it is sent
/// on one path only, so its associated data covers its real path id (``bindsPathID(_:)``),
/// and a bridge that rewrites it makes the probe fail to authenticate (receiver rule R18). Sealing and opening work in place:
/// the ciphertext and tag are written over the frame's body and after it, and an opened
/// body is the plaintext written over its ciphertext. ``Keyring`` makes these values.
public struct FrameProtection: Sendable {
    /// The derived per-direction keys (one per cipher), each kept in its own libcrypto
    /// context for the session's life, the cipher this side seals with, and whether the body
    /// is encrypted or only authenticated. A class, so that a frame retains one reference
    /// (or none) where a struct of two contexts retained both.
    final class SessionKey: Sendable {
        let chaCha20Poly1305: CipherContext
        let aes256GCM: CipherContext
        let cipher: Cipher
        let encrypts: Bool

        init(chaCha20Poly1305: CipherContext, aes256GCM: CipherContext, cipher: Cipher, encrypts: Bool) {
            self.chaCha20Poly1305 = chaCha20Poly1305
            self.aes256GCM = aes256GCM
            self.cipher = cipher
            self.encrypts = encrypts
        }

        /// Calls `body` with the context of `cipher`: fields and a switch, not a dictionary
        /// nor a returned reference, as this runs for every frame.
        @inline(__always)
        func withContext<Result>(for cipher: Cipher, _ body: (CipherContext) -> Result) -> Result {
            switch cipher {
            case .chaCha20Poly1305: body(chaCha20Poly1305)
            case .aes256GCM: body(aes256GCM)
            }
        }
    }

    /// Frames in clear, unauthenticated.
    public static let keyless = FrameProtection(key: nil)

    let sessionKey: SessionKey?

    init(key: SessionKey?) {
        self.sessionKey = key
    }

    /// True when frames travel in clear and unauthenticated.
    public var isKeyless: Bool { sessionKey == nil }

    /// Writes `header` into `frame`, with the flags this protection uses, and seals the body
    /// already written at ``FrameLayout/headerSize``. Returns the frame's length.
    /// The caller guarantees room for the body plus ``FrameLayout/tagSize``.
    func seal(_ header: FrameHeader, bodyLength: Int, in frame: UnsafeMutableRawBufferPointer) -> Int {
        var header = header
        let pathID = header.pathID
        if !Self.bindsPathID(header.type) { header.pathID = 0 }
        guard let sessionKey else {
            header.flags = []
            header.encode(into: frame)
            frame[FrameLayout.pathIDOffset] = pathID
            return FrameLayout.headerSize + bodyLength
        }
        header.flags = sessionKey.encrypts ? FrameFlags.authenticated.union(.encrypted) : .authenticated
        if sessionKey.cipher == .aes256GCM { header.flags.insert(.aesGCM) }
        header.encode(into: frame)
        let bodyEnd = FrameLayout.headerSize + bodyLength
        Self.seal(frame, bodyEnd: bodyEnd, sequence: header.sequence, with: sessionKey)
        frame[FrameLayout.pathIDOffset] = pathID
        return bodyEnd + FrameLayout.tagSize
    }

    /// Checks `frame` (whose header is `header`, decoded from it) and returns the range of
    /// its body, opened in place, or the reason to drop it. The frame's bytes are left as
    /// they were when it does not authenticate.
    func open(_ header: FrameHeader, in frame: UnsafeMutableRawBufferPointer) -> Result<Range<Int>, DropReason> {
        let authenticated = header.flags.contains(.authenticated)
        guard let sessionKey else {
            return authenticated ? .failure(.unexpectedAuthentication) : .success(FrameLayout.headerSize..<frame.count)
        }
        guard authenticated else { return .failure(.missingAuthentication) }
        // FrameHeader.decode already checked this; a second look costs nothing.
        guard frame.count >= FrameLayout.headerSize + FrameLayout.tagSize else { return .failure(.truncated) }
        let bodyEnd = frame.count - FrameLayout.tagSize
        // The associated data covers the path id as zero but in a probe: restore the hint afterwards.
        let pathID = frame[FrameLayout.pathIDOffset]
        if !Self.bindsPathID(header.type) { frame[FrameLayout.pathIDOffset] = 0 }
        defer { frame[FrameLayout.pathIDOffset] = pathID }
        let cipher: Cipher = header.flags.contains(.aesGCM) ? .aes256GCM : .chaCha20Poly1305
        let opened = sessionKey.withContext(for: cipher) { context in
            Self.open(
                frame, bodyEnd: bodyEnd, sequence: header.sequence, encrypted: header.flags.contains(.encrypted),
                with: context)
        }
        return opened ? .success(FrameLayout.headerSize..<bodyEnd) : .failure(.authenticationFailed)
    }

    /// True for the frame type whose sealing covers the real path id: the probe, which goes
    /// on one path only (its sequence number is its own, so no nonce is sealed twice). Every
    /// other frame is sealed once for all paths, with the path id as zero.
    public static func bindsPathID(_ type: FrameType) -> Bool {
        type == .probe
    }

    /// Calls `body` with the nonce of frame `sequence`: 4 zero bytes, then the sequence
    /// number, big-endian. Built on the stack: sealing and opening allocate no nonce.
    static func withNonce<Result>(_ sequence: UInt64, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows
        -> Result
    {
        // Three 32-bit words lie contiguously: 12 bytes, no padding.
        var nonce: (UInt32, UInt32, UInt32) = (
            0, UInt32(truncatingIfNeeded: sequence >> 32).bigEndian, UInt32(truncatingIfNeeded: sequence).bigEndian
        )
        return try withUnsafeBytes(of: &nonce) { try body($0) }
    }
}

extension FrameProtection {
    /// Seals the body `frame[headerSize..<bodyEnd]` in place and writes the tag after it:
    /// encrypted with the header as associated data, or (authenticated only) an empty
    /// message with header and body as associated data. The path-id byte is zero here, but
    /// in a probe.
    static func seal(
        _ frame: UnsafeMutableRawBufferPointer, bodyEnd: Int, sequence: UInt64, with sessionKey: SessionKey
    ) {
        let body = UnsafeMutableRawBufferPointer(rebasing: frame[FrameLayout.headerSize..<bodyEnd])
        let tag = UnsafeMutableRawBufferPointer(rebasing: frame[bodyEnd..<(bodyEnd + FrameLayout.tagSize)])
        let header = UnsafeRawBufferPointer(rebasing: frame[..<FrameLayout.headerSize])
        let headerAndBody = UnsafeRawBufferPointer(rebasing: frame[..<bodyEnd])
        let sealed = sessionKey.withContext(for: sessionKey.cipher) { context in
            withNonce(sequence) { nonce in
                sessionKey.encrypts
                    ? context.seal(body, nonce: nonce, authenticating: header, tag: tag)
                    : context.seal(nothing, nonce: nonce, authenticating: headerAndBody, tag: tag)
            }
        }
        // libcrypto refuses to seal only for sizes no datagram has, or when it is broken,
        // which Keyring.selfTest checks at start: a bug here, not bad input.
        guard sealed else { fatalError("\(SealingError.libcrypto("sealing with \(sessionKey.cipher.rawValue)"))") }
    }

    /// Opens `frame[headerSize..<bodyEnd]` and its tag in place with `context`; false when
    /// it does not authenticate (the frame is then unchanged). The frame's path-id byte is
    /// zero here, but in a probe.
    static func open(
        _ frame: UnsafeMutableRawBufferPointer, bodyEnd: Int, sequence: UInt64, encrypted: Bool,
        with context: CipherContext
    ) -> Bool {
        let body = UnsafeMutableRawBufferPointer(rebasing: frame[FrameLayout.headerSize..<bodyEnd])
        let tag = UnsafeRawBufferPointer(rebasing: frame[bodyEnd..<(bodyEnd + FrameLayout.tagSize)])
        let header = UnsafeRawBufferPointer(rebasing: frame[..<FrameLayout.headerSize])
        let headerAndBody = UnsafeRawBufferPointer(rebasing: frame[..<bodyEnd])
        return withNonce(sequence) { nonce in
            encrypted
                ? context.open(body, nonce: nonce, authenticating: header, tag: tag)
                : context.open(nothing, nonce: nonce, authenticating: headerAndBody, tag: tag)
        }
    }

    /// The empty message of a frame that is authenticated only.
    private static var nothing: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(start: nil, count: 0) }
}
