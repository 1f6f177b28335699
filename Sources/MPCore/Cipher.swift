/// The AEAD that seals the frames a side sends. Each side chooses for its own frames and
/// opens both, so the two daemons need not agree; the frame's `aesGCM` flag says which.
public enum Cipher: String, CaseIterable, Sendable {
    /// ChaCha20-Poly1305: fast everywhere, constant time without special instructions.
    case chaCha20Poly1305 = "chacha20-poly1305"
    /// AES-256-GCM: fast where the CPU has AES and carry-less multiply instructions.
    case aes256GCM = "aes-256-gcm"

    /// The HKDF label suffix that gives each cipher its own key, so that one key is never
    /// used by two algorithms.
    var keyLabel: [UInt8] { Array(" \(rawValue)".utf8) }

    /// The algorithm's name for libcrypto's `EVP_CIPHER_fetch`.
    var libcryptoName: String {
        switch self {
        case .chaCha20Poly1305: "ChaCha20-Poly1305"
        case .aes256GCM: "AES-256-GCM"
        }
    }

    /// The nonce size of both AEADs (96 bits).
    static let nonceSize = 12
    /// The tag size of both AEADs (128 bits).
    static let tagSize = 16
}
