import MPCore
import Testing

@testable import MPRuntime

@Suite("--cipher auto")
struct CPUFeaturesTests {
    @Test(
        "AES-256-GCM only with AES and carry-less multiply instructions",
        arguments: [
            ("flags\t\t: fpu vme sse2 aes pclmulqdq avx2\n", Cipher.aes256GCM),
            ("flags\t\t: fpu vme sse2 pclmulqdq avx2\n", .chaCha20Poly1305),
            ("flags\t\t: fpu aes sse2\n", .chaCha20Poly1305),
            ("processor\t: 0\nFeatures\t: fp asimd aes pmull sha1 sha2 crc32\n", .aes256GCM),
            ("Features\t: half thumb fastmult vfp edsp neon\n", .chaCha20Poly1305),
            ("", .chaCha20Poly1305),
        ])
    func choice(cpuinfo: String, expected: Cipher) {
        #expect(CPUFeatures.fastestCipher(cpuinfo: cpuinfo) == expected)
    }

    @Test("an unreadable /proc/cpuinfo means ChaCha20-Poly1305")
    func unreadable() {
        #expect(CPUFeatures.fastestCipher(cpuinfo: nil) == .chaCha20Poly1305)
    }
}
