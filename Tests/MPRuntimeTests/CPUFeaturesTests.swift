import MPCore
import Testing

@testable import MPRuntime

@Suite("--cipher auto")
struct CPUFeaturesTests {
    @Test(
        "AES instructions: AES and carry-less multiply, on x86 or ARM",
        arguments: [
            ("flags\t\t: fpu vme sse2 aes pclmulqdq avx2\n", true),
            ("flags\t\t: fpu vme sse2 pclmulqdq avx2\n", false),
            ("flags\t\t: fpu aes sse2\n", false),
            ("processor\t: 0\nFeatures\t: fp asimd aes pmull sha1 sha2 crc32\n", true),
            ("Features\t: half thumb fastmult vfp edsp neon\n", false),
            ("", false),
        ])
    func instructions(cpuinfo: String, expected: Bool) {
        #expect(CPUFeatures.hasAESInstructions(cpuinfo: cpuinfo) == expected)
    }

    @Test("an unreadable /proc/cpuinfo means no AES instructions")
    func unreadable() {
        #expect(!CPUFeatures.hasAESInstructions(cpuinfo: nil))
    }

    /// Costs in ns of sealing and opening a 64- and a 1,200-byte frame.
    @Test(
        "the faster cipher by more than 10%, AES-256-GCM on a near tie, never AES without its instructions",
        arguments: [
            // This project's AMD EPYC (12:19 UTC, mplab cpu's floor): AES-256-GCM twice as fast.
            (true, 2450.0, 1070.0, Cipher.aes256GCM),
            // A CPU whose AES is slow beside its vector units: ChaCha20-Poly1305.
            (true, 1000.0, 1500.0, .chaCha20Poly1305),
            (true, 890.0, 1000.0, .chaCha20Poly1305),
            // Within 10%: noise on a shared host, AES-256-GCM stays.
            (true, 910.0, 1000.0, .aes256GCM),
            (true, 1000.0, 1000.0, .aes256GCM),
            // Without AES instructions AES is never picked, however it measured.
            (false, 2000.0, 500.0, .chaCha20Poly1305),
        ])
    func choice(hasAES: Bool, chaCha: Double, aes: Double, expected: Cipher) {
        let costs = CPUFeatures.CipherCosts(chaCha20Poly1305: chaCha, aes256GCM: aes)
        #expect(CPUFeatures.fastestCipher(hasAESInstructions: hasAES, costs: costs) == expected)
    }

    @Test("no measurement: AES-256-GCM with its instructions, else ChaCha20-Poly1305")
    func unmeasured() {
        #expect(CPUFeatures.fastestCipher(hasAESInstructions: true, costs: nil) == .aes256GCM)
        #expect(CPUFeatures.fastestCipher(hasAESInstructions: false, costs: nil) == .chaCha20Poly1305)
    }

    @Test("both ciphers are timed on this machine, each frame opening")
    func measured() throws {
        let costs = try #require(CPUFeatures.measureCiphers())
        #expect(costs.chaCha20Poly1305 > 0 && costs.aes256GCM > 0)
        // Sealing and opening 1,264 bytes takes more than 50 ns and less than 1 ms anywhere.
        #expect((50...1_000_000).contains(costs.chaCha20Poly1305))
        #expect((50...1_000_000).contains(costs.aes256GCM))
    }
}
