import Crypto

/// How the frames of one direction of one session are protected on the wire: keyless, or
/// sealed with ChaCha20-Poly1305 under that direction's session key (see `Sealing.md`).
///
/// A frame is sealed once and the same bytes go on every path; only the path-id byte,
/// which the associated data covers as zero, differs. Sealing and opening work in place:
/// the ciphertext and tag are written over the frame's body and after it, and an opened
/// body is the plaintext written over its ciphertext. ``Keyring`` makes these values.
public struct FrameProtection: Sendable {
    /// A derived per-direction key and whether the body is encrypted or only authenticated.
    struct SessionKey: Sendable {
        let key: SymmetricKey
        let encrypts: Bool
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
        header.pathID = 0
        guard let sessionKey else {
            header.flags = []
            header.encode(into: frame)
            frame[FrameLayout.pathIDOffset] = pathID
            return FrameLayout.headerSize + bodyLength
        }
        header.flags = sessionKey.encrypts ? [.authenticated, .encrypted] : [.authenticated]
        header.encode(into: frame)
        let bodyEnd = FrameLayout.headerSize + bodyLength
        let sealed = Self.seal(frame, bodyEnd: bodyEnd, sequence: header.sequence, with: sessionKey)
        if sessionKey.encrypts {
            _ = sealed.ciphertext.copyBytes(to: UnsafeMutableRawBufferPointer(rebasing: frame[FrameLayout.headerSize..<bodyEnd]))
        }
        _ = sealed.tag.copyBytes(to: UnsafeMutableRawBufferPointer(rebasing: frame[bodyEnd..<(bodyEnd + FrameLayout.tagSize)]))
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
        // The associated data covers the path id as zero: restore the hint afterwards.
        let pathID = frame[FrameLayout.pathIDOffset]
        frame[FrameLayout.pathIDOffset] = 0
        defer { frame[FrameLayout.pathIDOffset] = pathID }
        let opened = Self.open(
            frame, bodyEnd: bodyEnd, sequence: header.sequence, encrypted: header.flags.contains(.encrypted),
            with: sessionKey.key)
        return opened ? .success(FrameLayout.headerSize..<bodyEnd) : .failure(.authenticationFailed)
    }

    /// The nonce of frame `sequence`: 4 zero bytes, then the sequence number, big-endian.
    static func nonce(_ sequence: UInt64) -> ChaChaPoly.Nonce? {
        try? ChaChaPoly.Nonce(data: [0, 0, 0, 0] + bigEndianBytes(sequence))
    }
}

extension FrameProtection {
    /// Seals the body `frame[headerSize..<bodyEnd]`: encrypted with the header as associated
    /// data, or (authenticated only) an empty message with header and body as associated data.
    /// The frame's path-id byte is zero here.
    static func seal(
        _ frame: UnsafeMutableRawBufferPointer, bodyEnd: Int, sequence: UInt64, with sessionKey: SessionKey
    ) -> ChaChaPoly.SealedBox {
        let body = UnsafeRawBufferPointer(rebasing: frame[FrameLayout.headerSize..<bodyEnd])
        let header = UnsafeRawBufferPointer(rebasing: frame[..<FrameLayout.headerSize])
        let headerAndBody = UnsafeRawBufferPointer(rebasing: frame[..<bodyEnd])
        do {
            guard let nonce = nonce(sequence) else { throw CryptoKitError.incorrectParameterSize }
            return sessionKey.encrypts
                ? try ChaChaPoly.seal(body, using: sessionKey.key, nonce: nonce, authenticating: header)
                : try ChaChaPoly.seal([UInt8](), using: sessionKey.key, nonce: nonce,
                    authenticating: headerAndBody)
        } catch {
            // Sealing fails only for a nonce that is not 12 bytes or a message over 256 GB:
            // neither can come from a datagram, so this is a bug in this file, not bad input.
            fatalError("ChaCha20-Poly1305 refused to seal: \(error)")
        }
    }

    /// Opens `frame[headerSize..<bodyEnd]` and its tag in place; false when it does not
    /// authenticate (the frame is then unchanged). The frame's path-id byte is zero here.
    static func open(
        _ frame: UnsafeMutableRawBufferPointer, bodyEnd: Int, sequence: UInt64, encrypted: Bool, with key: SymmetricKey
    ) -> Bool {
        let body = UnsafeMutableRawBufferPointer(rebasing: frame[FrameLayout.headerSize..<bodyEnd])
        let tag = UnsafeRawBufferPointer(rebasing: frame[bodyEnd..<(bodyEnd + FrameLayout.tagSize)])
        guard let nonce = nonce(sequence) else { return false }
        do {
            if encrypted {
                let box = try ChaChaPoly.SealedBox(nonce: nonce, ciphertext: UnsafeRawBufferPointer(body), tag: tag)
                let header = UnsafeRawBufferPointer(rebasing: frame[..<FrameLayout.headerSize])
                let plaintext = try ChaChaPoly.open(box, using: key, authenticating: header)
                _ = plaintext.copyBytes(to: body)
            } else {
                let box = try ChaChaPoly.SealedBox(nonce: nonce, ciphertext: [UInt8](), tag: tag)
                let headerAndBody = UnsafeRawBufferPointer(rebasing: frame[..<bodyEnd])
                _ = try ChaChaPoly.open(box, using: key, authenticating: headerAndBody)
            }
            return true
        } catch {
            return false
        }
    }
}
