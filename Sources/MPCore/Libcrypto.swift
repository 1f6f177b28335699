import CLibcrypto

/// libcrypto refused a call that sealing needs. The daemons check at start that every call
/// works (``Keyring/selfTest()``) and stop with this error's ``description`` when one does
/// not; after that only a failed allocation could cause one.
public struct SealingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The libcrypto call (or step) that failed.
    public let call: String
    /// libcrypto's reason, from its error queue (`unknown` when it gave none).
    public let reason: String

    public var description: String { "libcrypto: \(call) failed: \(reason)" }

    /// The error of `call`, with the oldest reason in this thread's error queue, which is
    /// then emptied so that no stale reason is blamed on a later call.
    static func libcrypto(_ call: String) -> SealingError {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return SealingError(call: call, reason: "unknown") }
        // 256 bytes: OpenSSL's own buffer size for ERR_error_string.
        var text = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &text, text.count)
        return SealingError(
            call: call, reason: String(decoding: text.prefix { $0 != 0 }.map(UInt8.init), as: UTF8.self))
    }
}

/// The key derivation, message authentication and random bytes of the sealing, all from
/// libcrypto, so that the product has one crypto library.
enum Libcrypto {
    /// HKDF-SHA256 (RFC 5869) of `key` with `salt` and `info`: a new 32-byte key.
    static func deriveKey(from key: [UInt8], salt: [UInt8], info: [UInt8]) throws(SealingError) -> [UInt8] {
        guard let context = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nil) else {
            throw .libcrypto("EVP_PKEY_CTX_new_id(HKDF)")
        }
        defer { EVP_PKEY_CTX_free(context) }
        var derived = [UInt8](repeating: 0, count: PreSharedKey.size)
        var length = derived.count
        guard EVP_PKEY_derive_init(context) == 1, EVP_PKEY_CTX_set_hkdf_md(context, EVP_sha256()) == 1,
            EVP_PKEY_CTX_set1_hkdf_salt(context, salt, Int32(salt.count)) == 1,
            EVP_PKEY_CTX_set1_hkdf_key(context, key, Int32(key.count)) == 1,
            EVP_PKEY_CTX_add1_hkdf_info(context, info, Int32(info.count)) == 1,
            EVP_PKEY_derive(context, &derived, &length) == 1, length == derived.count
        else { throw .libcrypto("HKDF-SHA256") }
        return derived
    }

    /// The first three bytes of HMAC-SHA256(`key`, `message`), most significant first.
    static func authenticationCode24(_ message: UnsafeRawBufferPointer, key: [UInt8]) throws(SealingError) -> UInt64 {
        // 32 bytes: SHA-256's output.
        var code = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        guard
            HMAC(
                EVP_sha256(), key, Int32(key.count), message.baseAddress?.assumingMemoryBound(to: UInt8.self),
                message.count, &code, &length) != nil, length == code.count
        else { throw .libcrypto("HMAC-SHA256") }
        return UInt64(code[0]) << 16 | UInt64(code[1]) << 8 | UInt64(code[2])
    }

    /// `count` bytes from the system's cryptographic generator (libcrypto's private DRBG,
    /// seeded by `getrandom` on Linux).
    static func randomBytes(count: Int) throws(SealingError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        guard RAND_priv_bytes(&bytes, Int32(count)) == 1 else { throw .libcrypto("RAND_priv_bytes") }
        return bytes
    }

    /// Overwrites `bytes` with zeros in a way the compiler cannot remove.
    static func cleanse(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) }
    }
}
