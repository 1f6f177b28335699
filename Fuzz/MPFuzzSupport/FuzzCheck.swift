import MPCore

/// Stops the process when an invariant of the code under test does not hold. libFuzzer
/// reports the trap as a crash and saves the input that caused it.
@inline(__always)
func fuzzCheck(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("fuzz invariant violated: \(message())") }
}

/// Reads a fuzzer input front to back. Past the end every read returns zero, so any input,
/// even an empty one, describes a complete test case.
struct FuzzInput {
    private let bytes: UnsafeRawBufferPointer
    private var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    mutating func byte() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func uint16() -> UInt16 {
        UInt16(byte()) << 8 | UInt16(byte())
    }

    /// Everything not read yet.
    mutating func rest() -> UnsafeRawBufferPointer {
        defer { offset = bytes.count }
        return UnsafeRawBufferPointer(rebasing: bytes[min(offset, bytes.count)...])
    }
}

/// Runs `body` on a heap copy of `bytes` of exactly their size, so AddressSanitizer flags a
/// read or write even one byte past the frame (an Array's spare capacity would hide it).
func withExactCopy<Result>(of bytes: some Collection<UInt8>, _ body: (UnsafeMutableRawBufferPointer) -> Result)
    -> Result
{
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
    defer { buffer.deallocate() }
    buffer.copyBytes(from: bytes)
    return body(buffer)
}

/// mpserver's generator for server tags, fixed so that the tag of every session is
/// ``EstablishedTunnel/serverTag``: the test vectors use it, so the seeds reach past the
/// tag check, and every run of an input is the same.
struct FixedTagGenerator: RandomNumberGenerator {
    mutating func next() -> UInt64 { EstablishedTunnel.serverTag }
}

/// The session id the frame's own bytes name (offset 4), so that a mutated frame reaches
/// past the session check; 0xaa, the test vectors' id, when the frame is too short or names 0.
func sessionID(namedBy frame: UnsafeRawBufferPointer) -> UInt64 {
    guard frame.count >= FrameLayout.sessionIDOffset + 8 else { return 0xaa }
    let id = frame[FrameLayout.sessionIDOffset..<(FrameLayout.sessionIDOffset + 8)].reduce(UInt64(0)) {
        $0 << 8 | UInt64($1)
    }
    return id == 0 ? 0xaa : id
}
