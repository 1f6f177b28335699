/// Frames sealed and opened exactly as the data path seals and opens them (kept libcrypto
/// contexts, a 32-byte header as associated data, the body in place, the tag), under a
/// throwaway key, so that `--cipher auto` can time each cipher on this machine. The core
/// has no clock: the runtime reads its own around ``run(_:size:frames:)``.
///
/// Not safe for concurrent use.
public final class CipherTrial {
    /// The largest body a trial frame holds: a full-size payload.
    public static let maximumSize = Defaults.maximumPayload

    private let sessionKeys: [FrameProtection.SessionKey]
    private let frame: UnsafeMutableRawBufferPointer
    private var sequence: UInt64 = 0

    /// A trial with a context of each cipher. Throws when libcrypto cannot make one.
    public init() throws(SealingError) {
        // The key protects nothing: any 32 bytes time the same.
        let key = [UInt8](repeating: 0x6B, count: PreSharedKey.size)
        let chaCha = try CipherContext(cipher: .chaCha20Poly1305, key: key)
        let aes = try CipherContext(cipher: .aes256GCM, key: key)
        sessionKeys = Cipher.allCases.map { cipher in
            FrameProtection.SessionKey(chaCha20Poly1305: chaCha, aes256GCM: aes, cipher: cipher, encrypts: true)
        }
        let capacity = FrameLayout.headerSize + Self.maximumSize + FrameLayout.tagSize
        frame = .allocate(byteCount: capacity, alignment: 16)
        frame.initializeMemory(as: UInt8.self, repeating: 0x5A)
    }

    deinit {
        frame.deallocate()
    }

    /// Seals `frames` frames of `size` bytes of body (0 to ``maximumSize``) with `cipher`
    /// and opens each again, each under a nonce of its own. False when one did not open,
    /// which only a broken libcrypto causes.
    public func run(_ cipher: Cipher, size: Int, frames: Int) -> Bool {
        guard (0...Self.maximumSize).contains(size), let sessionKey = sessionKeys.first(where: { $0.cipher == cipher })
        else { return false }
        let bodyEnd = FrameLayout.headerSize + size
        let sealed = UnsafeMutableRawBufferPointer(rebasing: frame[..<(bodyEnd + FrameLayout.tagSize)])
        var opened = true
        for _ in 0..<frames {
            sequence &+= 1
            FrameProtection.seal(sealed, bodyEnd: bodyEnd, sequence: sequence, with: sessionKey)
            opened =
                sessionKey.withContext(for: cipher) { context in
                    FrameProtection.open(sealed, bodyEnd: bodyEnd, sequence: sequence, encrypted: true, with: context)
                } && opened
        }
        return opened
    }
}
