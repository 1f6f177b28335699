// Buffers the daemons allocate once at start and reuse for every datagram: the hot path
// never allocates. A payload is received at the body offset of a frame buffer so that the
// header is written in front of it without copying the payload.
import MPCore

/// One heap buffer large enough for the largest frame, freed when the owner goes away.
final class FrameBuffer {
    /// Largest frame plus one byte: a datagram that fills the whole buffer is too large.
    static let capacity = Defaults.maximumPayload + FrameLayout.maximumOverhead + 1

    let bytes: UnsafeMutableRawBufferPointer

    init() {
        bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.capacity, alignment: 16)
        bytes.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit {
        bytes.deallocate()
    }

    /// Where an application or target payload is received: after room for the header, and
    /// leaving room for the tag.
    var payloadArea: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(
            rebasing: bytes[FrameLayout.headerSize..<(Self.capacity - FrameLayout.tagSize)])
    }

    /// The first `length` bytes.
    func prefix(_ length: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(rebasing: bytes[0..<length])
    }

    /// The bytes in `range`, read-only.
    func slice(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[range])
    }
}
