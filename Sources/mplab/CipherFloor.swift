// The floor of `mplab cpu`: what libcrypto alone needs to seal and open one frame with a
// context kept per key, on this machine, now. The calls are those of MPCore's
// CipherContext (nonce, 32 bytes of header as associated data, the body in place, the
// tag), made straight from a loop with nothing of the tunnel around them.
import CLibcrypto
import Glibc
import MPCore

struct CipherFloor {
    /// Microseconds of this thread's CPU per frame.
    let sealMicroseconds: Double
    let openMicroseconds: Double
    var sum: Double { sealMicroseconds + openMicroseconds }

    /// 32 bytes: MPCore's `FrameLayout.headerSize`, the associated data of a sealed frame.
    static let headerSize = 32

    /// Seals `frames` frames of `size` bytes of body with `cipher`, then opens as many.
    static func measure(_ cipher: Cipher, size: Int, frames: Int) throws -> CipherFloor {
        let name = cipher == .aes256GCM ? "AES-256-GCM" : "ChaCha20-Poly1305"
        guard let algorithm = EVP_CIPHER_fetch(nil, name, nil) else { throw LabError("libcrypto has no \(name)") }
        defer { EVP_CIPHER_free(algorithm) }
        let sealer = try KeptContext(algorithm, encrypting: true)
        let opener = try KeptContext(algorithm, encrypting: false)
        // One buffer: header, body, tag, as in a frame; a sealed copy to open again and again.
        let frame = UnsafeMutablePointer<UInt8>.allocate(capacity: headerSize + size + tagSize)
        let sealed = UnsafeMutablePointer<UInt8>.allocate(capacity: headerSize + size + tagSize)
        defer {
            frame.deallocate()
            sealed.deallocate()
        }
        frame.initialize(repeating: 0x5A, count: headerSize + size + tagSize)
        guard sealer.seal(frame, size: size, sequence: 0) else { throw LabError("\(name) seal failed") }
        sealed.initialize(from: frame, count: headerSize + size + tagSize)
        let sealStart = threadCPUSeconds()
        for sequence in 1...UInt64(frames) {
            guard sealer.seal(frame, size: size, sequence: sequence) else { throw LabError("\(name) seal failed") }
        }
        let sealSeconds = threadCPUSeconds() - sealStart
        // Opening writes the plaintext over the body: the sealed frame is copied back each
        // time, and the copies alone are timed and subtracted.
        let copyStart = threadCPUSeconds()
        for _ in 0..<frames { copyFrame(sealed, to: frame, size: size) }
        let copySeconds = threadCPUSeconds() - copyStart
        let openStart = threadCPUSeconds()
        for _ in 0..<frames {
            copyFrame(sealed, to: frame, size: size)
            guard opener.open(frame, size: size, sequence: 0) else { throw LabError("\(name) open failed") }
        }
        let openSeconds = threadCPUSeconds() - openStart - copySeconds
        return CipherFloor(
            sealMicroseconds: sealSeconds * 1e6 / Double(frames), openMicroseconds: openSeconds * 1e6 / Double(frames))
    }

    /// 16 bytes: both AEADs' tag.
    static let tagSize = 16

    @inline(never)
    private static func copyFrame(
        _ source: UnsafeMutablePointer<UInt8>, to target: UnsafeMutablePointer<UInt8>, size: Int
    ) {
        target.update(from: source, count: headerSize + size + tagSize)
    }

    private static func threadCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }
}

/// One EVP context keyed once; per frame only the nonce is set.
private final class KeptContext {
    private let context: OpaquePointer

    init(_ algorithm: OpaquePointer, encrypting: Bool) throws {
        let key = [UInt8](repeating: 0x42, count: 32)
        guard let context = EVP_CIPHER_CTX_new() else { throw LabError("EVP_CIPHER_CTX_new failed") }
        guard EVP_CipherInit_ex2(context, algorithm, key, nil, encrypting ? 1 : 0, nil) == 1 else {
            EVP_CIPHER_CTX_free(context)
            throw LabError("EVP_CipherInit_ex2 failed")
        }
        self.context = context
    }

    deinit { EVP_CIPHER_CTX_free(context) }

    /// Seals the body of `frame` (header, `size` bytes of body, tag) in place.
    func seal(_ frame: UnsafeMutablePointer<UInt8>, size: Int, sequence: UInt64) -> Bool {
        var length: Int32 = 0
        let body = frame + CipherFloor.headerSize
        return withNonce(sequence) { nonce in
            EVP_CipherInit_ex2(context, nil, nil, nonce, 1, nil) == 1
                && EVP_CipherUpdate(context, nil, &length, frame, Int32(CipherFloor.headerSize)) == 1
                && EVP_CipherUpdate(context, body, &length, body, Int32(size)) == 1
                && EVP_CipherFinal_ex(context, body + size, &length) == 1
                && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_GET_TAG, Int32(CipherFloor.tagSize), body + size) == 1
        }
    }

    /// Opens the body of `frame` in place and checks its tag.
    func open(_ frame: UnsafeMutablePointer<UInt8>, size: Int, sequence: UInt64) -> Bool {
        var length: Int32 = 0
        let body = frame + CipherFloor.headerSize
        return withNonce(sequence) { nonce in
            EVP_CipherInit_ex2(context, nil, nil, nonce, 0, nil) == 1
                && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_TAG, Int32(CipherFloor.tagSize), body + size) == 1
                && EVP_CipherUpdate(context, nil, &length, frame, Int32(CipherFloor.headerSize)) == 1
                && EVP_CipherUpdate(context, body, &length, body, Int32(size)) == 1
                && EVP_CipherFinal_ex(context, body + size, &length) == 1
        }
    }

    /// The nonce of MPCore's frames, on the stack: 4 zero bytes, the sequence big-endian.
    private func withNonce(_ sequence: UInt64, _ body: (UnsafePointer<UInt8>) -> Bool) -> Bool {
        var nonce: (UInt32, UInt32, UInt32) = (
            0, UInt32(truncatingIfNeeded: sequence >> 32).bigEndian, UInt32(truncatingIfNeeded: sequence).bigEndian
        )
        return withUnsafeBytes(of: &nonce) { body($0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
    }
}
