/// Reads big-endian integers from a byte buffer. A read that would run past the end
/// returns `nil` and leaves the cursor where it was, so a short datagram can never be read
/// beyond its length.
///
/// Not safe for concurrent use. The buffer must outlive the cursor.
public struct ByteCursor {
    /// The bytes being read.
    public let bytes: UnsafeRawBufferPointer
    /// Offset of the next byte to read, `0...bytes.count`.
    public private(set) var offset: Int

    /// A cursor at the first byte of `bytes`.
    public init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        self.offset = 0
    }

    /// Bytes left to read.
    public var remaining: Int { bytes.count - offset }

    /// Reads one big-endian integer, or returns `nil` (and does not move) if too few bytes remain.
    public mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) -> T? {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { return nil }
        var value: T = 0
        for index in 0..<size {
            value = (value << 8) | T(bytes[offset + index])
        }
        offset += size
        return value
    }

    /// Skips `count` bytes; false (and does not move) if fewer remain.
    public mutating func skip(_ count: Int) -> Bool {
        guard count >= 0, remaining >= count else { return false }
        offset += count
        return true
    }
}

/// Writes big-endian integers into a byte buffer whose size the caller has checked.
///
/// Not safe for concurrent use. The buffer must outlive the writer.
public struct ByteWriter {
    /// The bytes being written.
    public let bytes: UnsafeMutableRawBufferPointer
    /// Offset of the next byte to write.
    public private(set) var offset: Int

    /// A writer at `offset` (default the first byte) of `bytes`.
    public init(_ bytes: UnsafeMutableRawBufferPointer, offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    /// Writes one big-endian integer. The caller guarantees room: every writer in MPCore
    /// checks the whole frame size against the buffer before it starts.
    public mutating func write<T: FixedWidthInteger>(_ value: T) {
        let size = MemoryLayout<T>.size
        for index in 0..<size {
            bytes[offset + index] = UInt8(truncatingIfNeeded: value >> ((size - 1 - index) * 8))
        }
        offset += size
    }
}
