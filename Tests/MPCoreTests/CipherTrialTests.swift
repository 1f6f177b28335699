import Testing

@testable import MPCore

@Suite("Cipher trial (what --cipher auto times)")
struct CipherTrialTests {
    @Test("every frame seals and opens, with both ciphers, at every size", arguments: Cipher.allCases)
    func opens(cipher: Cipher) throws {
        let trial = try CipherTrial()
        for size in [0, 1, 64, 1200, CipherTrial.maximumSize] {
            #expect(trial.run(cipher, size: size, frames: 3), "\(cipher) \(size) B")
        }
    }

    @Test("a size beyond a payload's is refused, not sealed")
    func oversized() throws {
        let trial = try CipherTrial()
        #expect(!trial.run(.aes256GCM, size: CipherTrial.maximumSize + 1, frames: 1))
        #expect(!trial.run(.chaCha20Poly1305, size: -1, frames: 1))
    }
}
