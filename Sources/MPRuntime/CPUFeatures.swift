// Which AEAD seals fastest on this machine, for `--cipher auto` (the default). AES-256-GCM
// is a candidate only where the CPU has AES and carry-less multiply instructions, which
// /proc/cpuinfo lists as `aes` and `pclmulqdq` (x86) or `aes` and `pmull` (ARM): in software
// AES is slow and not constant time. Where it is, the daemon times both ciphers at start, as
// the data path uses them, and seals with the faster: the instructions alone do not say
// (on this project's AMD EPYC, AES-256-GCM takes half ChaCha20-Poly1305's time per frame,
// while `openssl speed` streaming one message puts ChaCha20-Poly1305 ahead).
import MPCore

/// The CPU's instruction sets and measured speeds that matter for sealing.
public enum CPUFeatures {
    /// What sealing and opening one 64-byte and one 1,200-byte frame cost each cipher, in
    /// nanoseconds of the thread's CPU time: the least of a few rounds.
    public struct CipherCosts: Sendable, Equatable {
        public var chaCha20Poly1305: Double
        public var aes256GCM: Double

        public init(chaCha20Poly1305: Double, aes256GCM: Double) {
            self.chaCha20Poly1305 = chaCha20Poly1305
            self.aes256GCM = aes256GCM
        }
    }

    /// A cipher must be this much faster to be chosen over the rule of the instructions
    /// (AES-256-GCM where they exist): 10%, more than two runs of the same cipher differ on
    /// a shared host, so a near tie does not make the choice flip from one start to the next.
    public static let decisiveMargin = 0.9

    /// Frame sizes timed: a small datagram (a VoIP or game packet, an acknowledgement) and
    /// a full-size VPN datagram, so that both the per-frame work and the per-byte work count.
    public static let timedSizes = [64, 1200]
    /// 64 frames of each size per cipher and round, 5 rounds: about 1 ms in all here.
    static let framesPerRound = 64
    static let rounds = 5

    /// True when `cpuinfo` (/proc/cpuinfo's text) lists AES and carry-less multiply
    /// instructions; false for `nil` (unknown).
    public static func hasAESInstructions(cpuinfo: String?) -> Bool {
        guard let cpuinfo else { return false }
        for line in cpuinfo.split(separator: "\n") where line.hasPrefix("flags") || line.hasPrefix("Features") {
            let words = Set(line.split(separator: " ").map(String.init))
            return words.contains("aes") && (words.contains("pclmulqdq") || words.contains("pmull"))
        }
        return false
    }

    /// The cipher `--cipher auto` picks: ChaCha20-Poly1305 without AES instructions; with
    /// them, the one that measured faster by ``decisiveMargin``, else (a near tie, or no
    /// measurement) AES-256-GCM.
    public static func fastestCipher(hasAESInstructions: Bool, costs: CipherCosts?) -> Cipher {
        guard hasAESInstructions else { return .chaCha20Poly1305 }
        guard let costs, costs.chaCha20Poly1305 < costs.aes256GCM * decisiveMargin else { return .aes256GCM }
        return .chaCha20Poly1305
    }

    /// Times both ciphers with `CipherTrial`: each round seals and opens
    /// ``framesPerRound`` frames of each of ``timedSizes`` with each cipher, the first cipher
    /// alternating; the least of ``rounds`` rounds counts (the others were disturbed). `nil`
    /// when libcrypto cannot make a context or a frame did not open.
    public static func measureCiphers() -> CipherCosts? {
        guard let trial = try? CipherTrial() else { return nil }
        var best: [Cipher: Double] = [:]
        for round in 0..<rounds {
            let order = round.isMultiple(of: 2) ? Cipher.allCases : Cipher.allCases.reversed()
            for cipher in order {
                let start = MonotonicClock.threadCPUTime()
                for size in timedSizes {
                    guard trial.run(cipher, size: size, frames: framesPerRound) else { return nil }
                }
                let cost = Double((MonotonicClock.threadCPUTime() - start).nanoseconds) / Double(framesPerRound)
                best[cipher] = min(best[cipher] ?? .infinity, cost)
            }
        }
        guard let chaCha = best[.chaCha20Poly1305], let aes = best[.aes256GCM] else { return nil }
        return CipherCosts(chaCha20Poly1305: chaCha, aes256GCM: aes)
    }

    /// What `--cipher auto` picks on this machine, and the costs measured (`nil` without AES
    /// instructions, where nothing needs measuring).
    public static func fastestCipher() -> (cipher: Cipher, costs: CipherCosts?) {
        guard hasAESInstructions(cpuinfo: try? TextFile.read(path: "/proc/cpuinfo")) else {
            return (.chaCha20Poly1305, nil)
        }
        let costs = measureCiphers()
        return (fastestCipher(hasAESInstructions: true, costs: costs), costs)
    }
}
