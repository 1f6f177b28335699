// Which AEAD seals fastest on this machine, for `--cipher auto` (the default): AES-256-GCM
// where the CPU has AES and carry-less multiply instructions, which /proc/cpuinfo lists as
// `aes` and `pclmulqdq` (x86) or `aes` and `pmull` (ARM); ChaCha20-Poly1305 elsewhere,
// where AES in software is slower and not constant time.
import MPCore

/// The CPU's instruction sets that matter for sealing.
public enum CPUFeatures {
    /// The faster cipher for a CPU whose /proc/cpuinfo text is `cpuinfo` (`nil`: unknown,
    /// ChaCha20-Poly1305, which is fast everywhere).
    public static func fastestCipher(cpuinfo: String?) -> Cipher {
        guard let cpuinfo else { return .chaCha20Poly1305 }
        for line in cpuinfo.split(separator: "\n") where line.hasPrefix("flags") || line.hasPrefix("Features") {
            let words = Set(line.split(separator: " ").map(String.init))
            if words.contains("aes") && (words.contains("pclmulqdq") || words.contains("pmull")) {
                return .aes256GCM
            }
            return .chaCha20Poly1305
        }
        return .chaCha20Poly1305
    }

    /// The faster cipher on this machine.
    public static var fastestCipher: Cipher {
        fastestCipher(cpuinfo: try? TextFile.read(path: "/proc/cpuinfo"))
    }
}
