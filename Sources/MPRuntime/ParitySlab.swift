// `mode fec`'s parity frames on their way out: written behind the payloads of a receive
// batch into slots allocated once, and sent with them in the same sendmmsg per path, so
// that coding adds no system call of its own. A frame that does not fit a slot, or a batch
// that has used every slot, is sent on its own instead.

/// Fixed slots for parity frames, reused after each send.
final class ParitySlab {
    /// 32 slots: a batch of 32 payloads in `fec 4:2` makes 16 parity frames; more wait for
    /// the batch to be sent first.
    static let slots = 32
    /// 2 KB: the parity frame of 1,200-byte payloads, with room for 32 entries and the tag.
    static let slotSize = 2_048

    private let storage: UnsafeMutableRawBufferPointer
    /// Slots handed out since the last ``reset()``.
    private(set) var used = 0

    init() {
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.slots * Self.slotSize, alignment: 16)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit {
        storage.deallocate()
    }

    /// The next free slot for a frame of `length` bytes, or `nil` when it does not fit or
    /// none is free (send what is queued, ``reset()``, and ask again).
    func next(length: Int) -> UnsafeMutableRawBufferPointer? {
        guard length <= Self.slotSize, used < Self.slots else { return nil }
        let start = used * Self.slotSize
        used += 1
        return UnsafeMutableRawBufferPointer(rebasing: storage[start..<(start + Self.slotSize)])
    }

    /// Gives the last slot back (the session had no frame for it after all).
    func giveBack() {
        used = max(used - 1, 0)
    }

    /// Every slot is free again: what they held has been sent.
    func reset() {
        used = 0
    }
}
