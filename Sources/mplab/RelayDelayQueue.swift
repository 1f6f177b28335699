// Where the relay holds datagrams until they are due: for the fixed delay (--delay-ms), and
// for the queue of a rate-limited link (--rate, see RelayRateLimiter). Callers give due
// times that never decrease (a fixed delay, or departures spaced by the rate keep arrival
// order), so a FIFO suffices: one byte ring and one ring of entries, both allocated once;
// one timer (a ``PreciseTimer``) wakes the relay when the oldest is due.
import MPCore
import MPRuntime

final class RelayDelayQueue {
    /// 16 MB: 100 ms of 1,200-byte datagrams at over 100,000 per second. A datagram that
    /// does not fit is dropped and counted by the relay (failed behind the delay, overflowed
    /// at a rate limit).
    static let maximumByteCapacity = 16 << 20
    /// Entries are small; 65,536 of them covers the same traffic.
    static let maximumEntryCapacity = 65_536

    private struct Entry {
        var direction: RelayDirection
        var client: SocketAddress
        var offset: Int
        var length: Int
        var due: Timestamp
    }

    let byteCapacity: Int
    let entryCapacity: Int
    private let storage: UnsafeMutableRawBufferPointer
    private var entries: [Entry]
    private var firstEntry = 0
    private var entryCount = 0
    /// Where the next datagram's bytes go, and where the oldest one's start.
    private var writeOffset = 0
    private var readOffset = 0
    /// The most a datagram left after its due time since the last ``takeLateness()``.
    private var lateness = TimeSpan(nanoseconds: 0)
    private var timer: PreciseTimer!
    private let deliver: (RelayDirection, SocketAddress, UnsafeRawBufferPointer) -> Void

    /// A queue of at most `entryCapacity` datagrams and `byteCapacity` bytes (each clamped
    /// to the maximum) that hands each one to `deliver` when it is due; throws when the
    /// kernel gives no timer.
    init(
        loop: EventLoop, byteCapacity: Int = maximumByteCapacity, entryCapacity: Int = maximumEntryCapacity,
        deliver: @escaping (RelayDirection, SocketAddress, UnsafeRawBufferPointer) -> Void
    ) throws {
        self.byteCapacity = min(max(byteCapacity, 1), Self.maximumByteCapacity)
        self.entryCapacity = min(max(entryCapacity, 1), Self.maximumEntryCapacity)
        self.deliver = deliver
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: self.byteCapacity, alignment: 8)
        let placeholder = Entry(
            direction: .up, client: .loopbackIPv4(port: 0), offset: 0, length: 0, due: Timestamp(nanoseconds: 0))
        entries = Array(repeating: placeholder, count: self.entryCapacity)
        timer = try PreciseTimer(loop: loop) { [unowned self] in deliverDue(now: MonotonicClock.now()) }
    }

    deinit {
        storage.deallocate()
    }

    /// The most any datagram left after its due time since the last call: how long the
    /// relay was not scheduled while it held datagrams (zero on an idle machine).
    func takeLateness() -> TimeSpan {
        defer { lateness = TimeSpan(nanoseconds: 0) }
        return lateness
    }

    /// Queues a copy of `bytes` to go out at `due` (not before the newest queued one's due
    /// time; `now` is the caller's clock reading); false when the queue is full.
    func push(
        _ direction: RelayDirection, client: SocketAddress, bytes: UnsafeRawBufferPointer, due: Timestamp,
        now: Timestamp
    ) -> Bool {
        // What is due has left: after a stall of the relay, it must not keep newer datagrams out.
        if entryCount > 0, entries[firstEntry].due <= now { deliverDue(now: now) }
        guard entryCount < entryCapacity, let offset = placement(of: bytes.count) else { return false }
        UnsafeMutableRawBufferPointer(rebasing: storage[offset..<offset + bytes.count]).copyMemory(from: bytes)
        let index = (firstEntry + entryCount) % entryCapacity
        entries[index] = Entry(direction: direction, client: client, offset: offset, length: bytes.count, due: due)
        if entryCount == 0 {
            readOffset = offset
            timer.fire(at: due)
        }
        entryCount += 1
        writeOffset = offset + bytes.count
        return true
    }

    /// Where `length` bytes fit after the newest datagram, wrapping to the start of the
    /// ring when the end is too short; nil when the ring is full.
    private func placement(of length: Int) -> Int? {
        if entryCount == 0 { return length <= byteCapacity ? 0 : nil }
        if writeOffset >= readOffset {
            if writeOffset + length <= byteCapacity { return writeOffset }
            return length < readOffset ? 0 : nil
        }
        return writeOffset + length < readOffset ? writeOffset : nil
    }

    /// Hands every datagram due at `now` to `deliver`, oldest first, and sets the timer for
    /// the next one.
    private func deliverDue(now: Timestamp) {
        while entryCount > 0 {
            let entry = entries[firstEntry]
            guard entry.due <= now else {
                timer.fire(at: entry.due)
                return
            }
            lateness = max(lateness, now - entry.due)
            firstEntry = (firstEntry + 1) % entryCapacity
            entryCount -= 1
            readOffset = entryCount > 0 ? entries[firstEntry].offset : 0
            let bytes = UnsafeRawBufferPointer(rebasing: storage[entry.offset..<entry.offset + entry.length])
            deliver(entry.direction, entry.client, bytes)
        }
    }
}
