// The relay's rate limit (--rate): one direction of the relay as a link of fixed capacity.
// A token-bucket shaper: datagrams leave one every 1/rate seconds through a short FIFO, and
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

    /// Datagrams per second.
    let rate: Int
    /// The gap between two departures: 1/rate seconds.
    let interval: TimeSpan
    /// How far behind `now` an idle link's schedule may start: the bucket's depth, a queue's
    /// length of departures.
    let burst: TimeSpan
    private let queue: RelayDelayQueue
    /// The link's schedule: when the last datagram queued leaves, or would have left had
    /// the bucket not let it go earlier. Departures are never before `now`.
    private var lastSlot: Timestamp?

    /// A link of `rate` datagrams per second (> 0) that hands each departing datagram to
    /// `deliver`.
    init(
        loop: EventLoop, rate: Int, deliver: @escaping (RelayDirection, SocketAddress, UnsafeRawBufferPointer) -> Void
    ) {
        self.rate = max(rate, 1)
        interval = TimeSpan(nanoseconds: 1_000_000_000 / UInt64(self.rate))
        let length = Self.queueLength(rate: self.rate)
        burst = TimeSpan(nanoseconds: interval.nanoseconds &* UInt64(length))
        queue = RelayDelayQueue(
            loop: loop, byteCapacity: length * Self.bytesPerQueuedDatagram, entryCapacity: length, deliver: deliver)
    }

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
        let slot = max(earliest, lastSlot.map { $0 + interval } ?? earliest)
        guard queue.push(direction, client: client, bytes: bytes, due: max(slot, now), now: now) else { return false }
        lastSlot = slot
        return true
    }
}
