import CLibcrypto

/// One libcrypto cipher context keyed with one session key of one cipher: made when the key
/// is derived, kept for the key's life and freed with it. A frame then costs the cipher
/// alone: set the nonce, feed the associated data, seal or open the body in place, write or
/// check the tag; nothing is allocated.
///
/// Not safe for concurrent use: a daemon's one loop thread seals and opens (the zero value
/// does not exist; the class exists so that `deinit` frees the context).
final class CipherContext: @unchecked Sendable {
    private let context: OpaquePointer
    /// The cipher whose key this context holds.
    let cipher: Cipher

    /// A context for `cipher` keyed with `key` (``PreSharedKey/size`` bytes); throws when
    /// libcrypto cannot make it (no memory, or no provider of the algorithm).
    init(cipher: Cipher, key: [UInt8]) throws(SealingError) {
        guard key.count == PreSharedKey.size else { throw SealingError(call: "CipherContext", reason: "key size") }
        guard let context = EVP_CIPHER_CTX_new() else { throw .libcrypto("EVP_CIPHER_CTX_new") }
        guard let algorithm = EVP_CIPHER_fetch(nil, cipher.libcryptoName, nil) else {
            EVP_CIPHER_CTX_free(context)
            throw .libcrypto("EVP_CIPHER_fetch(\(cipher.libcryptoName))")
        }
        defer { EVP_CIPHER_free(algorithm) }
        guard EVP_CipherInit_ex2(context, algorithm, key, nil, 1, nil) == 1,
            EVP_CIPHER_CTX_get_iv_length(context) == Cipher.nonceSize
        else {
            EVP_CIPHER_CTX_free(context)
            throw .libcrypto("EVP_CipherInit_ex2(\(cipher.libcryptoName))")
        }
        self.context = context
        self.cipher = cipher
    }

    deinit {
        // Frees the context and its key schedule, which libcrypto clears first.
        EVP_CIPHER_CTX_free(context)
    }

    /// Encrypts `message` in place (empty: authenticates `associatedData` alone) under the
    /// 12-byte `nonce`, and writes the 16-byte tag into `tag`. False only when libcrypto
    /// refused, which no datagram can cause.
    func seal(
        _ message: UnsafeMutableRawBufferPointer, nonce: UnsafeRawBufferPointer,
        authenticating associatedData: UnsafeRawBufferPointer, tag: UnsafeMutableRawBufferPointer
    ) -> Bool {
        guard tag.count == Cipher.tagSize, start(nonce: nonce, encrypting: true, associatedData: associatedData),
            crypt(message)
        else { return false }
        var length: Int32 = 0
        // An AEAD's final step writes no bytes; the tag's space is a valid place for none.
        return EVP_CipherFinal_ex(context, tag.baseAddress?.assumingMemoryBound(to: UInt8.self), &length) == 1
            && length == 0
            && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_GET_TAG, Int32(Cipher.tagSize), tag.baseAddress) == 1
    }

    /// Decrypts `ciphertext` in place (empty: checks `associatedData` alone) under `nonce` and
    /// checks `tag`. False when the tag does not verify: `ciphertext` then holds its bytes
    /// as they were (the keystream is applied again), and this thread's libcrypto error queue
    /// is left empty.
    func open(
        _ ciphertext: UnsafeMutableRawBufferPointer, nonce: UnsafeRawBufferPointer,
        authenticating associatedData: UnsafeRawBufferPointer, tag: UnsafeRawBufferPointer
    ) -> Bool {
        guard tag.count == Cipher.tagSize else { return false }
        let expected = UnsafeMutableRawPointer(mutating: tag.baseAddress)
        let decrypted =
            start(nonce: nonce, encrypting: false, associatedData: associatedData)
            && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_TAG, Int32(Cipher.tagSize), expected) == 1
            && crypt(ciphertext)
        var length: Int32 = 0
        if decrypted && EVP_CipherFinal_ex(context, expected?.assumingMemoryBound(to: UInt8.self), &length) == 1 {
            return true
        }
        // A forgery: the body holds a plaintext no tag vouched for. Decrypting it again with
        // the same nonce puts the ciphertext back (both AEADs encrypt with a keystream).
        if decrypted {
            _ = start(nonce: nonce, encrypting: false, associatedData: associatedData) && crypt(ciphertext)
        }
        ERR_clear_error()
        return false
    }

    /// Sets the nonce and the direction, and feeds the associated data.
    private func start(nonce: UnsafeRawBufferPointer, encrypting: Bool, associatedData: UnsafeRawBufferPointer)
        -> Bool
    {
        guard nonce.count == Cipher.nonceSize else { return false }
        var length: Int32 = 0
        let nonceBytes = nonce.baseAddress?.assumingMemoryBound(to: UInt8.self)
        let data = associatedData.baseAddress?.assumingMemoryBound(to: UInt8.self)
        return EVP_CipherInit_ex2(context, nil, nil, nonceBytes, encrypting ? 1 : 0, nil) == 1
            && EVP_CipherUpdate(context, nil, &length, data, Int32(associatedData.count)) == 1
    }

    /// Encrypts or decrypts `body` in place (nothing to do when it is empty).
    private func crypt(_ body: UnsafeMutableRawBufferPointer) -> Bool {
        guard let bytes = body.baseAddress?.assumingMemoryBound(to: UInt8.self), !body.isEmpty else { return true }
        var length: Int32 = 0
        return EVP_CipherUpdate(context, bytes, &length, bytes, Int32(body.count)) == 1 && length == body.count
    }
}
