/// The sealing settings of one daemon, and the source of every session's keys.
///
/// With a key, each session has its own key per direction, derived with HKDF-SHA256 from
/// the pre-shared key (see `Sealing.md`): the upstream key from the session id, the
/// downstream key from the session id and mpserver's tag for the session. A key is
/// therefore never used by two senders, and each sender's sequence numbers only increase,
/// so a nonce never repeats under one key. Without a key, frames travel keyless.
public struct Keyring: Sendable {
    /// No key: frames in clear and unauthenticated.
    public static let keyless = Keyring(key: nil)

    /// The pre-shared key; `nil` for a keyless tunnel.
    public let key: PreSharedKey?
    /// Whether sealed frames encrypt their body (`MPTUNNEL_ENCRYPT` unset or 1) or only
    /// authenticate it (`MPTUNNEL_ENCRYPT=0`). Ignored without a key.
    public let encrypts: Bool
    /// The AEAD this side seals with; it opens frames sealed with either.
    public let cipher: Cipher

    /// A keyring for `key` (or none); `encrypts` and `cipher` choose what this side sends.
    /// A receiver with a key accepts every kind of sealed frame: the sender chooses.
    public init(key: PreSharedKey?, encrypts: Bool = true, cipher: Cipher = .chaCha20Poly1305) {
        self.key = key
        self.encrypts = encrypts
        self.cipher = cipher
        self.sessionCheckKey = key.map { key in
            Self.required { () throws(SealingError) in
                try Libcrypto.deriveKey(from: key.bytes, salt: Self.salt, info: Self.sessionCheckLabel)
            }
        }
    }

    /// The key of the session-id check (receiver rule R14a), derived once from the
    /// pre-shared key; `nil` keyless.
    let sessionCheckKey: [UInt8]?
    static let sessionCheckLabel = Array("session id check".utf8)
    /// The low 24 bits of a keyed session id are its check: a forger without the key makes
    /// a passing id once in 16.7 million tries, and 40 random bits keep two mpclients of one
    /// mpserver apart (a clash among 4,096 sessions: 4,096² / 2⁴¹, under 1 in 100,000).
    static let sessionCheckBits = 24

    /// A new session id for mpclient: nonzero and random; with a key, its low
    /// ``sessionCheckBits`` bits are a MAC of the rest under a key derived from the pre-shared
    /// key, so that mpserver can reject a frame of a forged session before deriving any key
    /// (R14a). `rng` must be the system's generator outside tests.
    public func makeSessionID(using rng: inout some RandomNumberGenerator) -> UInt64 {
        var random: UInt64 = 0
        while random == 0 { random = rng.next() >> Self.sessionCheckBits }
        return checkedSessionID(random)
    }

    /// The session id whose random part is the low 40 bits of `random` (keyless: `random`
    /// itself, nonzero assumed). Tests use it to name sessions that pass the check.
    public func checkedSessionID(_ random: UInt64) -> UInt64 {
        guard sessionCheckKey != nil else { return random }
        let high = random & (UInt64.max >> Self.sessionCheckBits)
        return high << Self.sessionCheckBits | sessionCheck(high)
    }

    /// True when `sessionID` could have been made by an mpclient with this key (always
    /// keyless): one HMAC of 8 bytes, no key derivation.
    public func isPlausible(sessionID: UInt64) -> Bool {
        guard sessionCheckKey != nil else { return true }
        let check = sessionID & ((1 << UInt64(Self.sessionCheckBits)) - 1)
        return sessionCheck(sessionID >> Self.sessionCheckBits) == check
    }

    /// The first ``sessionCheckBits`` bits of HMAC-SHA256(session check key, `random`, big-endian).
    private func sessionCheck(_ random: UInt64) -> UInt64 {
        guard let sessionCheckKey else { return 0 }
        var message = random.bigEndian
        return withUnsafeBytes(of: &message) { message in
            Self.required { () throws(SealingError) in try Libcrypto.authenticationCode24(message, key: sessionCheckKey)
            }
        }
    }

    /// "mptunnel v2": the HKDF salt; a new protocol version gets a new salt and so new keys.
    static let salt = Array("mptunnel v2".utf8)
    static let upstreamLabel = Array("client to server".utf8)
    static let downstreamLabel = Array("server to client".utf8)

    /// Protection of the frames mpclient sends in session `sessionID`.
    public func upstream(sessionID: UInt64) -> FrameProtection {
        guard let key else { return .keyless }
        return FrameProtection(key: derive(from: key, info: Self.upstreamLabel + bigEndianBytes(sessionID)))
    }

    /// Protection of the frames mpserver sends in session `sessionID` under tag `serverTag`.
    public func downstream(sessionID: UInt64, serverTag: UInt64) -> FrameProtection {
        guard let key else { return .keyless }
        let info = Self.downstreamLabel + bigEndianBytes(sessionID) + bigEndianBytes(serverTag)
        return FrameProtection(key: derive(from: key, info: info))
    }

    /// One key per cipher: ChaCha20-Poly1305's info is the label and ids alone (as before
    /// AES-256-GCM existed); AES-256-GCM's appends " aes-256-gcm", so no key serves two
    /// algorithms. Each key goes straight into its kept cipher context.
    private func derive(from key: PreSharedKey, info: [UInt8]) -> FrameProtection.SessionKey {
        Self.required { () throws(SealingError) in try deriveSessionKey(from: key, info: info) }
    }

    private func deriveSessionKey(from key: PreSharedKey, info: [UInt8]) throws(SealingError)
        -> FrameProtection.SessionKey
    {
        func context(_ cipher: Cipher) throws(SealingError) -> CipherContext {
            let label = cipher == .chaCha20Poly1305 ? [] : cipher.keyLabel
            var derived = try Libcrypto.deriveKey(from: key.bytes, salt: Self.salt, info: info + label)
            defer { Libcrypto.cleanse(&derived) }
            return try CipherContext(cipher: cipher, key: derived)
        }
        return FrameProtection.SessionKey(
            chaCha20Poly1305: try context(.chaCha20Poly1305), aes256GCM: try context(.aes256GCM), cipher: cipher,
            encrypts: encrypts)
    }

    /// The result of a libcrypto step that ``selfTest()`` showed working at start: failing
    /// later means no memory was left, and the daemon stops with libcrypto's reason, as it
    /// would for any allocation that failed.
    static func required<Result>(_ step: () throws(SealingError) -> Result) -> Result {
        do throws(SealingError) {
            return try step()
        } catch {
            fatalError("\(error)")
        }
    }

    /// Checks that libcrypto does all this keyring needs, so that a daemon stops at start
    /// with libcrypto's reason rather than later: derives a session key, makes a context of
    /// each cipher, and seals and opens a frame with each. Keyless: nothing to check.
    public func selfTest() throws(SealingError) {
        guard let key else { return }
        _ = try Libcrypto.randomBytes(count: 1)
        let sessionKey = try deriveSessionKey(from: key, info: Self.upstreamLabel + bigEndianBytes(1))
        for cipher in Cipher.allCases {
            let context = sessionKey.withContext(for: cipher) { $0 }
            // 64 bytes: a 32-byte header as associated data, 16 of body and a 16-byte tag.
            var frame = [UInt8](repeating: 0x5A, count: 64)
            let works = frame.withUnsafeMutableBytes { frame in
                FrameProtection.withNonce(1) { nonce in
                    let header = UnsafeRawBufferPointer(rebasing: frame[..<32])
                    let body = UnsafeMutableRawBufferPointer(rebasing: frame[32..<48])
                    let tag = UnsafeMutableRawBufferPointer(rebasing: frame[48...])
                    return context.seal(body, nonce: nonce, authenticating: header, tag: tag)
                        && body.contains { $0 != 0x5A }
                        && context.open(body, nonce: nonce, authenticating: header, tag: UnsafeRawBufferPointer(tag))
                }
            }
            guard works, frame[..<48].allSatisfy({ $0 == 0x5A }) else {
                throw .libcrypto("\(cipher.libcryptoName) seal and open")
            }
        }
    }
}

/// The 8 bytes of `value`, most significant first (network byte order).
func bigEndianBytes(_ value: UInt64) -> [UInt8] {
    (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) }
}
