/// The optional reorder buffer of a receive stream (`reorder-window MS`): payloads that
/// arrive ahead of a gap in the sequence numbers wait, for at most the window, for the
/// gap to fill, and then go out in sequence order.
///
/// - A frame at the next expected sequence number goes out at once; the held payloads
///   behind it follow (``releaseNext(now:_:)``).
/// - A frame ahead of a gap is held. Frames that carry no payload (probe echoes,
///   acceptances) are recorded as *skips*, so they never leave a gap.
/// - A gap is given up when the first payload held behind it has waited the window (it
///   was lost, or its path is slower than the window), or when the held frames would span
///   more than ``Defaults/maximumReorderPayloads`` sequence numbers.
/// - A frame behind the expected number (arriving after its gap was given up) goes out
///   at once: late is better than lost, and the application judges it.
///
/// Storage is a ring of ``Defaults/maximumReorderPayloads`` slots whose byte arrays keep
/// their capacity, so a warmed-up buffer does not allocate. Pure: every method takes the
/// time; the runtime drains it on a timer. Not safe for concurrent use.
public struct ReorderBuffer<Address: Hashable> {
    struct Slot {
        var sequence: UInt64 = 0
        var isHeld = false
        var isPayload = false
        var address: Address?
        var bytes: [UInt8] = []
        var heldAt = Timestamp(nanoseconds: 0)
    }

    /// The longest a payload waits behind a gap.
    public let window: TimeSpan
    /// The next sequence number to go out; zero before the first frame.
    public private(set) var nextExpected: UInt64 = 0
    /// Frames held (payloads and skips).
    public private(set) var heldCount = 0
    /// Payloads that went out after their gap was given up, and late ones delivered at once.
    public private(set) var gapsSkipped = 0
    public private(set) var lateDeliveries = 0
    var slots: [Slot]
    /// Sequence numbers below this go out whatever their age (the ring overflowed).
    var forcedBelow: UInt64 = 0

    /// A buffer that holds payloads for at most `window`.
    public init(window: TimeSpan) {
        self.window = window
        slots = Array(repeating: Slot(), count: Defaults.maximumReorderPayloads)
    }

    /// Judges fresh frame `sequence` at `now`. Returns true when the caller delivers the
    /// payload now (in order, or late); false when it was held (`payload` copied, bound for
    /// `address`) or is a skip (`isPayload` false). Call ``releaseNext(now:_:)`` after.
    public mutating func admit(
        sequence: UInt64, isPayload: Bool, payload: UnsafeRawBufferPointer, address: Address?, now: Timestamp
    ) -> Bool {
        if nextExpected == 0 { nextExpected = sequence }
        if sequence < nextExpected {
            if isPayload { lateDeliveries &+= 1 }
            return isPayload
        }
        if sequence == nextExpected {
            nextExpected += 1
            return isPayload
        }
        let capacity = UInt64(slots.count)
        if sequence - nextExpected >= capacity { forcedBelow = max(forcedBelow, sequence - capacity + 1) }
        let index = Int(sequence % capacity)
        if slots[index].isHeld { return false }  // the ring overflowed onto a slot not yet out
        slots[index].sequence = sequence
        slots[index].isHeld = true
        slots[index].isPayload = isPayload
        slots[index].address = address
        slots[index].heldAt = now
        slots[index].bytes.removeAll(keepingCapacity: true)
        if isPayload { slots[index].bytes.append(contentsOf: payload) }
        heldCount += 1
        return false
    }

    /// Calls `body` with the next payload that may go out at `now` and its address; returns
    /// false when none may. Call until it returns false, after each ``admit`` that returned
    /// and on a timer (the window's resolution is the timer's).
    public mutating func releaseNext(now: Timestamp, _ body: (UnsafeRawBufferPointer, Address) -> Void) -> Bool {
        while heldCount > 0 {
            let index = Int(nextExpected % UInt64(slots.count))
            if slots[index].isHeld, slots[index].sequence == nextExpected {
                slots[index].isHeld = false
                heldCount -= 1
                nextExpected += 1
                guard slots[index].isPayload, let address = slots[index].address else { continue }
                slots[index].bytes.withUnsafeBytes { body($0, address) }
                return true
            }
            guard let first = firstHeld(), nextExpected < forcedBelow || now - first.heldAt >= window else {
                return false
            }
            gapsSkipped &+= 1
            nextExpected = first.sequence
        }
        return false
    }

    /// Forgets every held frame and starts over at the next frame (mpserver restarted).
    public mutating func reset() {
        for index in slots.indices where slots[index].isHeld { slots[index].isHeld = false }
        heldCount = 0
        nextExpected = 0
        forcedBelow = 0
    }

    /// The held frame with the lowest sequence number above the gap at ``nextExpected``.
    /// Walks the ring in sequence order from the gap, so a short gap costs a few slots,
    /// not the whole ring (this runs after every frame while a gap is open).
    private func firstHeld() -> (sequence: UInt64, heldAt: Timestamp)? {
        let capacity = UInt64(slots.count)
        for offset in 1..<capacity {
            let sequence = nextExpected + offset
            let index = Int(sequence % capacity)
            if slots[index].isHeld, slots[index].sequence == sequence { return (sequence, slots[index].heldAt) }
        }
        // Only frames more than a ring ahead of the gap (the ring overflowed): the lowest.
        var best: (sequence: UInt64, heldAt: Timestamp)?
        for index in slots.indices where slots[index].isHeld && slots[index].sequence > nextExpected {
            if best.map({ slots[index].sequence < $0.sequence }) ?? true {
                best = (slots[index].sequence, slots[index].heldAt)
            }
        }
        return best
    }
}
