// One frame's buffer, allocated once at start and reused: probes, acceptances, frames held
// until a session is accepted, and `mpclient --check`. The data path's buffers are the
// batches of UDPSocket+Batch.swift, whose slots have the same size.
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

    /// The first `length` bytes.
    func prefix(_ length: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(rebasing: bytes[0..<length])
    }
}
