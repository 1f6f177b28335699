/// Slots of equal size for the shards of `mode fec`: one allocation, grown (rarely) only when
/// a longer shard than any before comes, so coding allocates nothing per payload.
/// Not safe for concurrent use; a pointer into it is valid until the next ``reserve(_:)``.
final class ShardStore {
    /// Number of slots.
    let count: Int
    /// Bytes per slot.
    private(set) var slotSize = 0
    private var storage: UnsafeMutablePointer<UInt8>?

    init(count: Int) {
        self.count = count
    }

    deinit { storage?.deallocate() }

    /// Makes every slot hold at least `length` bytes, keeping what the slots held.
    func reserve(_ length: Int) {
        guard length > slotSize else { return }
        // Rounded up to 2 KB: a tunnel's payloads grow by a few sizes, each costing one copy.
        let newSize = (length + 2_047) / 2_048 * 2_048
        let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: newSize * count)
        grown.initialize(repeating: 0, count: newSize * count)
        if let storage {
            for slot in 0..<count { (grown + slot * newSize).update(from: storage + slot * slotSize, count: slotSize) }
            storage.deallocate()
        }
        storage = grown
        slotSize = newSize
    }

    /// The start of slot `slot`; ``reserve(_:)`` must have been called.
    func slot(_ slot: Int) -> UnsafeMutablePointer<UInt8> {
        storage.unsafelyUnwrapped + slot * slotSize
    }

    /// Copies `bytes` into slot `slot` and zeroes the slot after them up to `paddedTo`.
    func store(_ bytes: UnsafeRawBufferPointer, in slot: Int, paddedTo: Int = 0) {
        reserve(max(bytes.count, paddedTo, 1))
        let start = self.slot(slot)
        if let base = bytes.baseAddress, !bytes.isEmpty {
            UnsafeMutableRawPointer(start).copyMemory(from: base, byteCount: bytes.count)
        }
        if paddedTo > bytes.count { (start + bytes.count).update(repeating: 0, count: paddedTo - bytes.count) }
    }

    /// Zeroes slot `slot` from `from` up to `to`.
    func zero(_ slot: Int, from: Int, to: Int) {
        guard to > from else { return }
        (self.slot(slot) + from).update(repeating: 0, count: to - from)
    }
}
