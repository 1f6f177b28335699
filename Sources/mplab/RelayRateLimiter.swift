// The relay's rate limit (--rate): one direction of the relay as a link of fixed capacity.
// A token-bucket shaper: datagrams leave one after another through a short FIFO, each after
// the time the one before takes on the link (1/rate seconds on a link of datagrams per
// second; its bytes and IP and UDP headers at the line's bits per second on a line), and
// one that finds the FIFO full is dropped (drop-tail). The relay sends what leaves on,
// through the fixed delay if there is one (serialization first, then propagation, as on a
// real link).
//
// Why a queue and not a policer: a capacity-limited link (a DSL line, a radio hop, a
// router's egress port) serializes packets at its line rate and buffers a burst in a short
// queue; only what overflows the queue is lost, and a full queue shows as added delay. A
// policer that drops everything above the rate at once would lose bursts such a link
// carries, and add no queueing delay, which the tunnel's balance mode reads (SRTT) to tell
// a loaded path from an idle one.
//
// Why a bucket as deep as the queue (an idle link may send that many back to back): a
// relay that the OS deschedules for a while reads the datagrams that arrived meanwhile all
// at once; with strict spacing the link would lose the time of the stall, and a lab on a
// busy machine would measure less than --rate. The bucket gives back up to 50 ms of it.
import MPCore
import MPRuntime

final class RelayRateLimiter {
    /// The queue holds 50 ms of the link's traffic, like a small router buffer: enough for
    /// the bursts of one event-loop batch, short enough that a full link's delay stays modest.
    static let queueTime = TimeSpan.milliseconds(50)
    /// At least 4 datagrams, so that a slow link still absorbs a small burst.
    static let minimumQueueLength = 4
    /// 64 KB per queued datagram: a queue of the largest datagrams still fits its length.
    static let bytesPerQueuedDatagram = 65_536

    /// The link's capacity.
    let rate: RateCap
    /// The time every datagram takes on the link, and the time per byte (0 on a link of
    /// datagrams per second).
    private let perDatagram: TimeSpan
    private let nanosecondsPerByte: Double
    /// How far behind `now` an idle link's schedule may start, and how far ahead of it the
    /// queue reaches: ``queueTime``, or at a low rate ``minimumQueueLength`` datagrams.
    let burst: TimeSpan
    private let queue: RelayDelayQueue
    /// When the link is free for the next datagram: when the last one queued leaves (or
    /// would have left had the bucket not let it go earlier) plus its time on the link.
    private var nextFree: Timestamp?

    /// A link of `rate` (above zero) that hands each departing datagram to `deliver`;
    /// throws when the kernel gives no timer.
    init(
        loop: EventLoop, rate: RateCap,
        deliver: @escaping (RelayDirection, SocketAddress, UnsafeRawBufferPointer) -> Void
    ) throws {
        self.rate = rate
        let length: Int
        switch rate {
        case .datagramsPerSecond(let count):
            let count = max(Int(count), 1)
            perDatagram = TimeSpan(nanoseconds: 1_000_000_000 / UInt64(count))
            nanosecondsPerByte = 0
            length = Self.queueLength(rate: count)
            burst = TimeSpan(nanoseconds: perDatagram.nanoseconds &* UInt64(length))
        case .bitsPerSecond(let bits):
            nanosecondsPerByte = 8e9 / bits
            perDatagram = TimeSpan(nanoseconds: max(UInt64(Double(Self.headerBytes) * nanosecondsPerByte), 1))
            // 50 ms, or four full-size datagrams on a slow line; the queue holds that much of
            // the smallest datagrams.
            let fullSize = TimeSpan(nanoseconds: UInt64(Double(1_500) * nanosecondsPerByte))
            burst = max(Self.queueTime, TimeSpan(nanoseconds: fullSize.nanoseconds * UInt64(Self.minimumQueueLength)))
            length = max(Int(burst.seconds * 1e9 / Double(perDatagram.nanoseconds)), Self.minimumQueueLength)
        }
        queue = try RelayDelayQueue(
            loop: loop, byteCapacity: length * Self.bytesPerQueuedDatagram, entryCapacity: length, deliver: deliver)
    }

    /// The IP and UDP headers of a datagram (IPv4), which a line carries too.
    static let headerBytes = 28

    /// Datagrams the queue holds at most: ``queueTime`` at `rate`, at least ``minimumQueueLength``.
    static func queueLength(rate: Int) -> Int {
        max(Int((Double(rate) * queueTime.seconds).rounded()), minimumQueueLength)
    }

    /// The most a datagram left after its turn since the last call (see ``RelayDelayQueue``).
    func takeLateness() -> TimeSpan { queue.takeLateness() }

    /// Queues a copy of `bytes` for its turn on the link; false when the queue is full
    /// (drop-tail: the caller counts it as overflowed).
    func push(_ direction: RelayDirection, client: SocketAddress, bytes: UnsafeRawBufferPointer) -> Bool {
        let now = MonotonicClock.now()
        // A busy link sends after the datagram ahead; an idle one at once, and its schedule
        // starts at most `burst` in the past, so that many may follow at once too.
        let earliest = Timestamp(nanoseconds: now.nanoseconds - min(now.nanoseconds, burst.nanoseconds))
        let slot = max(earliest, nextFree ?? earliest)
        guard slot < now + burst,
            queue.push(direction, client: client, bytes: bytes, due: max(slot, now), now: now)
        else { return false }
        let time = perDatagram.nanoseconds + UInt64(Double(bytes.count) * nanosecondsPerByte)
        nextFree = slot + TimeSpan(nanoseconds: time)
        return true
    }
}
