// The datagrams of `mplab load`, and the checks made on their echoes.
//
//   offset 0   sequence number, 64 bits, network byte order   (when size >= 8)
//   offset 8   send time, monotonic ns, network byte order    (when size >= 16)
//   then       pattern bytes up to the size: byte i is key(sequence) + i (mod 256)
//
// Datagrams of 1 to 7 bytes carry only the pattern of sequence 0 and, like empty ones,
// are counted by arrival only: they cannot say which datagram they are.
//
// Byte i of the pattern for key k is byte k + i of a ramp 0, 1, ... 255, 0, 1 ... made
// once, so writing and checking a pattern is one memcpy or memcmp, even at 64 KB.
import Glibc
import MPCore

final class LoadPayload {
    static let sequenceOffset = 0
    static let timestampOffset = 8
    /// The smallest size that names its datagram.
    static let sequencedSize = 8
    /// The smallest size that carries its send time (and so gives a round-trip time).
    static let timedSize = 16

    /// Where the pattern starts in a datagram of `size` bytes.
    static func patternStart(size: Int) -> Int {
        size >= timedSize ? timedSize : (size >= sequencedSize ? sequencedSize : 0)
    }

    /// The pattern's first byte for `sequence`: neighbours differ, so a mix-up shows.
    static func patternKey(_ sequence: UInt64) -> UInt8 {
        UInt8(truncatingIfNeeded: (sequence &* 0x9E37_79B9_7F4A_7C15) >> 56)
    }

    /// Bytes 0, 1, ... 255, 0, 1 ...: long enough for the largest datagram at any key.
    private let ramp: UnsafeMutableRawBufferPointer

    init() {
        ramp = .allocate(byteCount: 65_536 + 256, alignment: 8)
        for index in 0..<ramp.count {
            ramp[index] = UInt8(truncatingIfNeeded: index)
        }
    }

    deinit {
        ramp.deallocate()
    }

    /// The ramp's bytes that form the pattern of `range` for `key`.
    private func pattern(key: UInt8, range: Range<Int>) -> UnsafeRawBufferPointer {
        let start = range.lowerBound + Int(key)
        return UnsafeRawBufferPointer(rebasing: ramp[start..<start + range.count])
    }

    /// Fills the first `size` bytes of `buffer` with datagram `sequence` sent at `time`.
    func write(into buffer: UnsafeMutableRawBufferPointer, size: Int, sequence: UInt64, time: Timestamp) {
        if size >= Self.sequencedSize {
            buffer.storeBytes(of: sequence.bigEndian, toByteOffset: Self.sequenceOffset, as: UInt64.self)
        }
        if size >= Self.timedSize {
            buffer.storeBytes(of: time.nanoseconds.bigEndian, toByteOffset: Self.timestampOffset, as: UInt64.self)
        }
        let range = Self.patternStart(size: size)..<size
        let key = Self.patternKey(size >= Self.sequencedSize ? sequence : 0)
        UnsafeMutableRawBufferPointer(rebasing: buffer[range]).copyMemory(from: pattern(key: key, range: range))
    }

    static func sequence(in bytes: UnsafeRawBufferPointer) -> UInt64 {
        UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: sequenceOffset, as: UInt64.self))
    }

    static func time(in bytes: UnsafeRawBufferPointer) -> Timestamp {
        Timestamp(nanoseconds: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: timestampOffset, as: UInt64.self)))
    }

    /// Whether the pattern of `bytes` (a whole datagram) matches `sequence`.
    func hasIntactPattern(_ bytes: UnsafeRawBufferPointer, sequence: UInt64) -> Bool {
        let range = Self.patternStart(size: bytes.count)..<bytes.count
        let expected = pattern(key: Self.patternKey(bytes.count >= Self.sequencedSize ? sequence : 0), range: range)
        guard !range.isEmpty, let base = bytes.baseAddress, let pattern = expected.baseAddress else { return true }
        return memcmp(base + range.lowerBound, pattern, range.count) == 0
    }
}
