/// The 32-byte secret both sides share, as a key file holds it: one line of base64
/// (44 characters, like a WireGuard key). Every session key is derived from it (see
/// ``Keyring``); it never seals a frame itself.
public struct PreSharedKey: Sendable {
    /// 32 bytes: the key size of ChaCha20-Poly1305, and HKDF-SHA256's output block.
    public static let size = 32

    /// The key's ``size`` bytes.
    let bytes: [UInt8]

    /// The key made of exactly ``size`` bytes; throws ``KeyError/wrongLength(_:)`` otherwise.
    public init(bytes: some Collection<UInt8>) throws(KeyError) {
        guard bytes.count == Self.size else { throw .wrongLength(bytes.count) }
        self.bytes = Array(bytes)
    }

    /// The key a key file holds: base64 of exactly ``size`` bytes. Spaces, tabs and line
    /// breaks around it are ignored (a file ends with a newline); nothing else is.
    public init(base64 text: some StringProtocol) throws(KeyError) {
        let trimmed = Base64.trimmingWhitespace(Array(text.utf8))
        guard !trimmed.isEmpty else { throw .empty }
        guard let bytes = Base64.decode(trimmed) else { throw .notBase64 }
        try self.init(bytes: bytes)
    }

    /// A fresh random key from the system's cryptographic generator (libcrypto's
    /// `RAND_priv_bytes`, seeded by `getrandom` on Linux): the one thing in MPCore that is not
    /// repeatable, because key material must never come from a seeded generator. Throws when
    /// libcrypto has no random bytes to give.
    public static func generate() throws(SealingError) -> PreSharedKey {
        PreSharedKey(checkedBytes: try Libcrypto.randomBytes(count: size))
    }

    private init(checkedBytes: [UInt8]) {
        self.bytes = checkedBytes
    }

    /// The key as one line of base64, as `--genkey` prints it and a key file holds it.
    public var base64: String {
        bytes.withUnsafeBytes { Base64.encode($0) }
    }
}

/// What is wrong with a key file's text. Tests compare these exactly; users read
/// ``description``, which a start-up error puts after the file's name.
public enum KeyError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Nothing but white space.
    case empty
    /// Not standard base64 (RFC 4648 §4, with `=` padding).
    case notBase64
    /// Decodes to this many bytes instead of ``PreSharedKey/size``.
    case wrongLength(Int)

    public var description: String {
        switch self {
        case .empty: "the key file is empty: expected a base64 key (mpclient --genkey makes one)"
        case .notBase64: "the key is not base64: expected 44 characters as --genkey prints them"
        case .wrongLength(let count): "the key is \(count) bytes long: expected \(PreSharedKey.size)"
        }
    }
}

/// Standard base64 (RFC 4648 §4) for keys: strict, with padding, and no bits set in the
/// padding (so one key has exactly one text).
enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    static let padding = UInt8(ascii: "=")

    static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        var text: [UInt8] = []
        for start in stride(from: 0, to: bytes.count, by: 3) {
            let chunk = bytes[start..<min(start + 3, bytes.count)]
            var value: UInt32 = 0
            for (index, byte) in chunk.enumerated() { value |= UInt32(byte) << (16 - 8 * index) }
            for index in 0..<4 {
                let sextet = Int((value >> (18 - 6 * index)) & 0x3F)
                text.append(index <= chunk.count ? alphabet[sextet] : padding)
            }
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The bytes `text` encodes, or `nil` when it is not canonical padded base64.
    static func decode(_ text: some Collection<UInt8>) -> [UInt8]? {
        let text = Array(text)
        guard text.count % 4 == 0 else { return nil }
        var bytes: [UInt8] = []
        for start in stride(from: 0, to: text.count, by: 4) {
            let isLast = start + 4 == text.count
            guard let chunk = decodeQuantum(text[start..<(start + 4)], isLast: isLast) else { return nil }
            bytes += chunk
        }
        return bytes
    }

    /// One group of four characters: three bytes, or fewer when the last group is padded.
    static func decodeQuantum(_ quantum: ArraySlice<UInt8>, isLast: Bool) -> [UInt8]? {
        let padded = quantum.reversed().prefix { $0 == padding }.count
        guard padded <= 2, padded == 0 || isLast else { return nil }
        var value: UInt32 = 0
        for character in quantum.dropLast(padded) {
            guard let sextet = alphabet.firstIndex(of: character) else { return nil }
            value = value << 6 | UInt32(sextet)
        }
        value <<= UInt32(6 * padded)
        let byteCount = 3 - padded
        // Bits below the last byte must be zero, or two texts would give one key.
        guard value & ((1 << UInt32(8 * (3 - byteCount))) - 1) == 0 else { return nil }
        return (0..<byteCount).map { UInt8(truncatingIfNeeded: value >> (16 - 8 * $0)) }
    }

    static func trimmingWhitespace(_ text: [UInt8]) -> ArraySlice<UInt8> {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        guard let first = text.firstIndex(where: { !isSpace($0) }),
            let last = text.lastIndex(where: { !isSpace($0) })
        else { return [] }
        return text[first...last]
    }
}
