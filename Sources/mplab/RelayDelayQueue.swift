// The relay's fixed delay: datagrams wait in arrival order (a fixed delay keeps them in
// order, so a FIFO suffices) in one byte ring and one ring of entries, both allocated
// once; one timer wakes the relay when the oldest is due.
import MPCore
import MPRuntime

final class RelayDelayQueue {
    /// 16 MB: 100 ms of 1,200-byte datagrams at over 100,000 per second. A datagram that
    /// does not fit is dropped and counted by the relay as failed.
    static let byteCapacity = 16 << 20
    /// Entries are small; 65,536 of them covers the same traffic.
    static let entryCapacity = 65_536

    private struct Entry {
        var direction: RelayDirection
        var client: SocketAddress
        var offset: Int
        var length: Int
        var due: Timestamp
    }

    private let delay: TimeSpan
    private let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: byteCapacity, alignment: 8)
    private var entries: [Entry]
    private var firstEntry = 0
    private var entryCount = 0
    /// Where the next datagram's bytes go, and where the oldest one's start.
    private var writeOffset = 0
    private var readOffset = 0
    private var timer: TimerWatcher!
    private let deliver: (RelayDirection, SocketAddress, UnsafeRawBufferPointer) -> Void

    init(
        loop: EventLoop, delay: TimeSpan,
        deliver: @escaping (RelayDirection, SocketAddress, UnsafeRawBufferPointer) -> Void
    ) {
        self.delay = delay
        self.deliver = deliver
        let placeholder = Entry(
            direction: .up, client: .loopbackIPv4(port: 0), offset: 0, length: 0, due: Timestamp(nanoseconds: 0))
        entries = Array(repeating: placeholder, count: Self.entryCapacity)
        timer = TimerWatcher(loop: loop, interval: delay, repeating: false) { [unowned self] in deliverDue() }
    }

    deinit {
        timer.stop()
        storage.deallocate()
    }

    /// Queues a copy of `bytes`; false when the queue is full.
    func push(_ direction: RelayDirection, client: SocketAddress, bytes: UnsafeRawBufferPointer) -> Bool {
        guard entryCount < Self.entryCapacity, let offset = placement(of: bytes.count) else { return false }
        UnsafeMutableRawBufferPointer(rebasing: storage[offset..<offset + bytes.count]).copyMemory(from: bytes)
        let index = (firstEntry + entryCount) % Self.entryCapacity
        entries[index] = Entry(
            direction: direction, client: client, offset: offset, length: bytes.count,
            due: MonotonicClock.now() + delay)
        if entryCount == 0 {
            readOffset = offset
            timer.reschedule(after: delay)
        }
        entryCount += 1
        writeOffset = offset + bytes.count
        return true
    }

    /// Where `length` bytes fit after the newest datagram, wrapping to the start of the
    /// ring when the end is too short; nil when the ring is full.
    private func placement(of length: Int) -> Int? {
        if entryCount == 0 { return length <= Self.byteCapacity ? 0 : nil }
        if writeOffset >= readOffset {
            if writeOffset + length <= Self.byteCapacity { return writeOffset }
            return length < readOffset ? 0 : nil
        }
        return writeOffset + length < readOffset ? writeOffset : nil
    }

    private func deliverDue() {
        let now = MonotonicClock.now()
        while entryCount > 0 {
            let entry = entries[firstEntry]
            guard entry.due <= now else {
                timer.reschedule(after: entry.due - now)
                return
            }
            firstEntry = (firstEntry + 1) % Self.entryCapacity
            entryCount -= 1
            readOffset = entryCount > 0 ? entries[firstEntry].offset : 0
            let bytes = UnsafeRawBufferPointer(rebasing: storage[entry.offset..<entry.offset + entry.length])
            deliver(entry.direction, entry.client, bytes)
        }
    }
}
