/// How long a receive stream's reorder buffer holds payloads that arrived ahead of a gap
/// (`reorder-window` in mpclient.conf, `--reorder-window` of mpserver).
public enum ReorderWindow: Hashable, Sendable {
    /// No buffer: every payload goes out as it arrives.
    case off
    /// Hold at most this long, whatever the paths do.
    case fixed(TimeSpan)
    /// Hold as long as the measured lag of the slowest live path behind the first copy, and
    /// release a gap at once when every live path has gone past it (``ReorderBuffer``).
    case auto
}

/// The reorder buffer of a receive stream: payloads that arrive ahead of a gap in the
/// sequence numbers wait for the gap to fill, and then go out in sequence order.
///
/// - A frame at the next expected sequence number goes out at once; the held payloads
///   behind it follow (``releaseNext(now:_:)``).
/// - A frame ahead of a gap is held. Frames that carry no payload (probes, echoes,
///   reports) are recorded as *skips*, so they never leave a gap.
/// - A frame behind the expected number (arriving after its gap was given up) goes out
///   at once: late is better than lost, and the application judges it.
/// - A gap is given up when the held frames would span more than
///   ``Defaults/maximumReorderPayloads`` sequence numbers, or when the first payload held
///   behind it has waited the hold time:
///   - `fixed(window)`: the window.
///   - `auto`: the lag of the slowest live path (one that delivered a payload, first copy or
///     not, in the last ``Defaults/reorderLiveSpan``) behind the first copy of a sequence number, measured
///     from the copies of duplicate mode (``recordCopy(sequence:path:now:)``), smoothed as
///     TCP smooths round trips (mean plus four mean deviations), plus
///     ``Defaults/reorderHoldMargin``, at most ``Defaults/maximumAutoReorderHold``. Until
///     two live paths have measured lags there is nothing to wait for, and frames pass
///     straight through (balance mode, one path).
///   In `auto` a gap is also given up at once when every live path has delivered a payload
///   with a later sequence number: each path keeps its own order, so no copy of the gap is
///   still coming. Only payloads count: a path that carries nothing but probes (a backup
///   path) is not waited for.
///
/// The lag of a copy is measured against the first copy's arrival for every eighth sequence
/// number, kept in a ring of ``Defaults/reorderLagSamples`` entries made when a second path
/// delivers its first payload: until the slowest path's lag is measured, about two of its
/// lags into a session, payloads pass unordered. Storage is made when first
/// needed (a one-path session spends nothing on it), and the byte arrays of the slots keep
/// their capacity, so a warmed-up buffer does not allocate. Copies are unauthenticated hints;
/// the most a forged one can do is make a gap wait the capped hold, or go out early (out of
/// order, never lost). Pure: every method takes the time; the runtime drains it on a timer
/// (``nextDeadline(now:)``). Not safe for concurrent use.
public struct ReorderBuffer<Address: Hashable> {
    struct Slot {
        var sequence: UInt64 = 0
        var isHeld = false
        var isPayload = false
        var address: Address?
        var bytes: [UInt8] = []
        var heldAt = Timestamp(nanoseconds: 0)
    }

    /// What one path has shown the buffer (auto only).
    struct PathProgress {
        /// The highest sequence number of a payload the path delivered, first copy or not.
        var highest: UInt64 = 0
        var lastHeard = Timestamp(nanoseconds: 0)
        /// Smoothed lag of the path's copies behind the first copy, and its mean deviation,
        /// in nanoseconds; `lagSamples` counts the samples taken.
        var lag: UInt64 = 0
        var lagDeviation: UInt64 = 0
        var lagSamples = 0
    }

    /// The hold policy (never ``ReorderWindow/off``: an off buffer is not made).
    public let window: ReorderWindow
    /// The next sequence number to go out; zero before the first frame.
    public private(set) var nextExpected: UInt64 = 0
    /// Frames held (payloads and skips).
    public private(set) var heldCount = 0
    /// Gaps given up (their frames lost, or slower than the hold), payloads delivered late
    /// at once, and gaps given up before the hold ran out because every live path was past them.
    public private(set) var gapsSkipped = 0
    public private(set) var lateDeliveries = 0
    public private(set) var gapsPassed = 0
    /// Gaps that filled while payloads were held behind them.
    public private(set) var gapsFilled = 0
    var slots: [Slot] = []
    /// Sequence numbers below this go out whatever their age (the ring overflowed).
    var forcedBelow: UInt64 = 0
    var progress: [PathProgress] = []
    /// First arrivals of every eighth sequence number: (sequence, nanoseconds).
    var firstArrivals: [(sequence: UInt64, at: UInt64)] = []

    /// A buffer with the given policy.
    public init(window: ReorderWindow) {
        self.window = window
    }

    /// A buffer that holds payloads for at most `window`.
    public init(window: TimeSpan) {
        self.init(window: .fixed(window))
    }

    /// Judges fresh frame `sequence` that arrived on `path` at `now`. Returns true when the
    /// caller delivers the payload now (in order, late, or passing straight through); false
    /// when it was held (`payload` copied, bound for `address`) or is a skip (`isPayload`
    /// false). Call ``releaseNext(now:_:)`` after.
    public mutating func admit(
        sequence: UInt64, isPayload: Bool, payload: UnsafeRawBufferPointer, address: Address?, path: Int = 0,
        now: Timestamp
    ) -> Bool {
        if window == .auto, isPayload { recordFirst(sequence: sequence, path: path, now: now) }
        if nextExpected == 0 { nextExpected = sequence }
        if sequence < nextExpected {
            if isPayload { lateDeliveries &+= 1 }
            return isPayload
        }
        if sequence == nextExpected {
            if heldCount > 0 { gapsFilled &+= 1 }
            nextExpected += 1
            return isPayload
        }
        if heldCount == 0, holdTime(now: now).nanoseconds == 0 {
            // Nothing to wait for: the gap is given up as it opens.
            nextExpected = sequence + 1
            return isPayload
        }
        return hold(sequence: sequence, isPayload: isPayload, payload: payload, address: address, now: now)
    }

    /// Records a copy of a payload's sequence number already admitted, arriving on `path` at
    /// `now` (auto only): the path's progress, and its lag behind the first copy.
    public mutating func recordCopy(sequence: UInt64, path: Int, now: Timestamp) {
        guard window == .auto, path >= 0, path < Defaults.maximumPaths else { return }
        advance(path: path, to: sequence, now: now)
        guard sequence % Self.lagStride == 0, !firstArrivals.isEmpty else { return }
        let entry = firstArrivals[Int(sequence / Self.lagStride) % firstArrivals.count]
        guard entry.sequence == sequence, now.nanoseconds >= entry.at else { return }
        let sample = now.nanoseconds - entry.at
        var state = progress[path]
        if state.lagSamples == 0 {
            state.lag = sample
            state.lagDeviation = sample / 2
        } else {
            let error = sample > state.lag ? sample - state.lag : state.lag - sample
            state.lagDeviation = state.lagDeviation - state.lagDeviation / 4 + error / 4
            state.lag = state.lag - state.lag / 8 + sample / 8
        }
        state.lagSamples &+= 1
        progress[path] = state
    }

    /// Calls `body` with the next payload that may go out at `now` and its address; returns
    /// false when none may. Call until it returns false, after each ``admit`` and on a timer.
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
            guard let first = firstHeld() else { return false }
            if nextExpected < forcedBelow || now - first.heldAt >= holdTime(now: now) {
                gapsSkipped &+= 1
            } else if window == .auto, everyLivePathIsPast(nextExpected, now: now) {
                gapsPassed &+= 1
            } else {
                return false
            }
            nextExpected = first.sequence
        }
        return false
    }

    /// How long from `now` until a held frame may go out by the hold running out, or `nil`
    /// when nothing is held: when the runtime's drain timer should fire.
    public func nextDeadline(now: Timestamp) -> TimeSpan? {
        guard heldCount > 0, let first = firstHeld() else { return nil }
        let due = first.heldAt + holdTime(now: now)
        return due - now
    }

    /// The hold at `now` (see the type's description).
    public func holdTime(now: Timestamp) -> TimeSpan {
        switch window {
        case .off: return TimeSpan(nanoseconds: 0)
        case .fixed(let span): return span
        case .auto:
            var longest: UInt64 = 0
            var measured = 0
            for state in progress where state.lagSamples > 0 && isLive(state, now: now) {
                measured += 1
                longest = max(longest, state.lag + 4 * state.lagDeviation)
            }
            guard measured > 0 else { return TimeSpan(nanoseconds: 0) }
            let hold = longest + Defaults.reorderHoldMargin.nanoseconds
            return TimeSpan(nanoseconds: min(hold, Defaults.maximumAutoReorderHold.nanoseconds))
        }
    }

    /// Forgets every held frame and starts over at the next frame (the peer restarted).
    /// Measured lags stay: they belong to the paths.
    public mutating func reset() {
        for index in slots.indices where slots[index].isHeld { slots[index].isHeld = false }
        heldCount = 0
        nextExpected = 0
        forcedBelow = 0
        for index in progress.indices { progress[index].highest = 0 }
        for index in firstArrivals.indices { firstArrivals[index] = (0, 0) }
    }

    /// Every eighth sequence number's first arrival is kept for the lag samples.
    static var lagStride: UInt64 { 8 }

    private mutating func hold(
        sequence: UInt64, isPayload: Bool, payload: UnsafeRawBufferPointer, address: Address?, now: Timestamp
    ) -> Bool {
        if slots.isEmpty { slots = Array(repeating: Slot(), count: Defaults.maximumReorderPayloads) }
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

    /// A fresh payload on `path`: the path's progress, and the first arrival for lag samples
    /// once two paths deliver (before that no copy can come).
    private mutating func recordFirst(sequence: UInt64, path: Int, now: Timestamp) {
        guard path >= 0, path < Defaults.maximumPaths else { return }
        advance(path: path, to: sequence, now: now)
        guard sequence % Self.lagStride == 0 else { return }
        if firstArrivals.isEmpty {
            guard progress.count(where: { $0.highest > 0 }) > 1 else { return }
            firstArrivals = Array(repeating: (0, 0), count: Defaults.reorderLagSamples)
        }
        firstArrivals[Int(sequence / Self.lagStride) % firstArrivals.count] = (sequence, now.nanoseconds)
    }

    private mutating func advance(path: Int, to sequence: UInt64, now: Timestamp) {
        if progress.count <= path {
            progress.append(contentsOf: repeatElement(PathProgress(), count: path + 1 - progress.count))
        }
        progress[path].highest = max(progress[path].highest, sequence)
        progress[path].lastHeard = now
    }

    private func isLive(_ state: PathProgress, now: Timestamp) -> Bool {
        state.highest > 0 && now - state.lastHeard < Defaults.reorderLiveSpan
    }

    /// Whether every live path has delivered a sequence number above `gap` (and one has).
    private func everyLivePathIsPast(_ gap: UInt64, now: Timestamp) -> Bool {
        var live = 0
        for state in progress where isLive(state, now: now) {
            guard state.highest > gap else { return false }
            live += 1
        }
        return live > 0
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
