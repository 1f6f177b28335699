import Crypto

/// The AEAD that seals the frames a side sends. Each side chooses for its own frames and
/// opens both, so the two daemons need not agree; the frame's `aesGCM` flag says which.
public enum Cipher: String, CaseIterable, Sendable {
    /// ChaCha20-Poly1305: fast everywhere, constant time without special instructions.
    case chaCha20Poly1305 = "chacha20-poly1305"
    /// AES-256-GCM: faster where the CPU has AES and carry-less multiply instructions
    /// (measured 1.45x ChaCha20-Poly1305 for 1,200-byte frames on this project's x86 machines).
    case aes256GCM = "aes-256-gcm"

    /// The HKDF label suffix that gives each cipher its own key, so that one key is never
    /// used by two algorithms.
    var keyLabel: [UInt8] { Array(" \(rawValue)".utf8) }
}

/// swift-crypto's sealed box is nonce ‖ ciphertext ‖ tag in one `Data`. Both functions read
/// and fill it through `Data.withUnsafeBytes`: the generic `DataProtocol.copyBytes(to:)` and
/// the box's `ciphertext` and `tag` slices go through dynamic casts and cost more than the
/// cipher itself on a 1,200-byte frame.
extension Cipher {
    /// The nonce size of both AEADs (96 bits).
    static let nonceSize = 12
    /// The tag size of both AEADs (128 bits).
    static let tagSize = 16

    /// Seals `message` with the 12-byte `nonce`, writing the ciphertext into `ciphertext`
    /// (when given: it has the message's size) and the 16-byte tag into `tag`.
    func seal(
        _ message: UnsafeRawBufferPointer, key: SymmetricKey, nonce: UnsafeRawBufferPointer,
        authenticating data: UnsafeRawBufferPointer,
        ciphertext: UnsafeMutableRawBufferPointer?, tag: UnsafeMutableRawBufferPointer
    ) throws {
        // Closures written in place, not stored: a stored closure allocates its context per call.
        switch self {
        case .chaCha20Poly1305:
            let box = try ChaChaPoly.seal(
                message, using: key, nonce: ChaChaPoly.Nonce(data: nonce), authenticating: data)
            try box.combined.withUnsafeBytes {
                try Self.copySealed($0, messageLength: message.count, ciphertext: ciphertext, tag: tag)
            }
        case .aes256GCM:
            let box = try AES.GCM.seal(message, using: key, nonce: AES.GCM.Nonce(data: nonce), authenticating: data)
            // There is no combined form only for a nonce other than 12 bytes.
            guard let combined = box.combined else { throw CryptoKitError.incorrectParameterSize }
            try combined.withUnsafeBytes {
                try Self.copySealed($0, messageLength: message.count, ciphertext: ciphertext, tag: tag)
            }
        }
    }

    /// Copies the ciphertext and the tag out of a sealed box's combined form.
    private static func copySealed(
        _ box: UnsafeRawBufferPointer, messageLength: Int, ciphertext: UnsafeMutableRawBufferPointer?,
        tag: UnsafeMutableRawBufferPointer
    ) throws {
        let ciphertextEnd = nonceSize + messageLength
        guard box.count == ciphertextEnd + tagSize, tag.count == tagSize,
            ciphertext.map({ $0.count == messageLength }) ?? true
        else { throw CryptoKitError.incorrectParameterSize }
        ciphertext?.copyMemory(from: UnsafeRawBufferPointer(rebasing: box[nonceSize..<ciphertextEnd]))
        tag.copyMemory(from: UnsafeRawBufferPointer(rebasing: box[ciphertextEnd...]))
    }

    /// Opens `box` (nonce ‖ ciphertext ‖ tag), writing the plaintext into `plaintext` when
    /// given (it has the ciphertext's size; it may overlap `box`, which is copied first);
    /// throws when the tag does not verify (nothing is written then).
    func open(
        _ box: UnsafeRawBufferPointer, key: SymmetricKey, authenticating data: UnsafeRawBufferPointer,
        plaintext: UnsafeMutableRawBufferPointer?
    ) throws {
        switch self {
        case .chaCha20Poly1305:
            let opened = try ChaChaPoly.open(ChaChaPoly.SealedBox(combined: box), using: key, authenticating: data)
            try opened.withUnsafeBytes { try Self.copyOpened($0, into: plaintext) }
        case .aes256GCM:
            let opened = try AES.GCM.open(AES.GCM.SealedBox(combined: box), using: key, authenticating: data)
            try opened.withUnsafeBytes { try Self.copyOpened($0, into: plaintext) }
        }
    }

    /// Copies an opened plaintext where the caller wants it (nowhere when `plaintext` is nil).
    private static func copyOpened(_ opened: UnsafeRawBufferPointer, into plaintext: UnsafeMutableRawBufferPointer?)
        throws
    {
        guard let plaintext else { return }
        guard opened.count == plaintext.count else { throw CryptoKitError.incorrectParameterSize }
        plaintext.copyMemory(from: opened)
    }
}
