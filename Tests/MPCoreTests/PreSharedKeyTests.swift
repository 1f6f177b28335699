import Testing
@testable import MPCore

@Suite("Pre-shared keys")
struct PreSharedKeyTests {
    /// 32 bytes 0x00...0x1f and their base64 text.
    static let keyBytes = (0..<32).map { UInt8($0) }
    static let keyText = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

    @Test("a key file's text decodes to its 32 bytes and encodes back byte for byte")
    func roundTrip() throws {
        let key = try PreSharedKey(base64: Self.keyText)
        #expect(key.base64 == Self.keyText)
        #expect(key.base64 == (try PreSharedKey(bytes: Self.keyBytes)).base64)
    }

    @Test(
        "white space around the key is ignored",
        arguments: ["\(keyText)\n", "\(keyText)\r\n", "  \(keyText)\t\n\n", "\n\(keyText)"])
    func whiteSpace(text: String) throws {
        #expect(try PreSharedKey(base64: text).base64 == Self.keyText)
    }

    @Test(
        "malformed keys give an error that says what is wrong",
        arguments: [
            ("", KeyError.empty),
            ("\n \n", .empty),
            ("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", .notBase64),  // padding missing
            ("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=", .notBase64),  // bits in the padding
            ("AAECAwQFBgcI CQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", .notBase64),  // space inside
            ("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=AAAA", .notBase64),  // data after padding
            ("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh-_", .notBase64),  // URL alphabet
            ("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\nsecond line", .notBase64),
            ("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8fHw==", .wrongLength(34)),
            ("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd", .wrongLength(30)),
            ("YQ==", .wrongLength(1)),
        ])
    func malformed(text: String, expected: KeyError) {
        #expect(throws: expected) { try PreSharedKey(base64: text) }
    }

    @Test("the wrong-length message names the length")
    func messages() {
        #expect(KeyError.wrongLength(30).description == "the key is 30 bytes long: expected 32")
        #expect(KeyError.notBase64.description.contains("not base64"))
    }

    @Test("base64 agrees with RFC 4648's test vectors")
    func rfcVectors() {
        let vectors = [
            ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
        ]
        for (plain, encoded) in vectors {
            #expect(Array(plain.utf8).withUnsafeBytes { Base64.encode($0) } == encoded)
            #expect(Base64.decode(Array(encoded.utf8)) == Array(plain.utf8))
        }
    }
}
