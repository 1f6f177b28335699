// The checks made on the echoes of `mplab load`: distinct, duplicated, corrupted,
// reordered and misdelivered datagrams, and round-trip times.
import MPCore

/// Counts the echoes of one load run and checks each one.
struct LoadTracker {
    let size: Int
    let flows: Int
    private let payload: LoadPayload
    /// Every datagram that came back, good or bad.
    private(set) var arrivals = 0
    /// Distinct, intact datagrams that came back to the socket that sent them.
    private(set) var received = 0
    private(set) var duplicates = 0
    private(set) var corrupted = 0
    private(set) var outOfOrder = 0
    private(set) var misdelivered = 0
    private(set) var roundTripMicroseconds: [UInt32] = []
    /// The distinct numbered echoes' sequence numbers in the order they came back, when
    /// asked for (`nil` otherwise).
    private(set) var arrivalOrder: [UInt64]?
    /// One bit per sequence number: seen already.
    private var seen: [UInt64]
    /// Per flow, the highest sequence number received so far, or -1.
    private var highest: [Int64]

    init(size: Int, flows: Int, plannedCount: Int, payload: LoadPayload, recordsArrivalOrder: Bool = false) {
        self.size = size
        if recordsArrivalOrder {
            arrivalOrder = []
            arrivalOrder?.reserveCapacity(plannedCount)
        }
        self.payload = payload
        self.flows = flows
        seen = Array(repeating: 0, count: plannedCount / 64 + 1)
        highest = Array(repeating: -1, count: flows)
        roundTripMicroseconds.reserveCapacity(size >= LoadPayload.timedSize ? plannedCount : 0)
    }

    /// Whether datagrams carry no sequence number and are counted by arrival only.
    var countsArrivalsOnly: Bool { size < LoadPayload.sequencedSize }

    /// Records one echo of `length` bytes (of which `bytes` is what the buffer held) on
    /// `flow`, when `sentCount` sequence numbers had been used.
    mutating func record(_ bytes: UnsafeRawBufferPointer, length: Int, flow: Int, sentCount: UInt64, now: Timestamp) {
        arrivals += 1
        switch verdict(bytes, length: length, flow: flow, sentCount: sentCount, now: now) {
        case .corrupted:
            corrupted += 1
        case .misdelivered:
            misdelivered += 1
        case .unnumbered:
            received += 1
        case .numbered(let sequence, let roundTrip):
            guard markSeen(sequence, flow: flow) else {
                duplicates += 1
                return
            }
            if let roundTrip {
                roundTripMicroseconds.append(UInt32(clamping: roundTrip.nanoseconds / 1_000))
            }
        }
    }

    /// What one echo is, before duplicates are told apart.
    private enum Verdict {
        case corrupted
        case misdelivered
        /// Intact, but too short to carry a sequence number.
        case unnumbered
        case numbered(sequence: UInt64, roundTrip: TimeSpan?)
    }

    private func verdict(
        _ bytes: UnsafeRawBufferPointer, length: Int, flow: Int, sentCount: UInt64, now: Timestamp
    ) -> Verdict {
        guard length == size, bytes.count == length else { return .corrupted }
        guard !countsArrivalsOnly else {
            return payload.hasIntactPattern(bytes, sequence: 0) ? .unnumbered : .corrupted
        }
        let sequence = LoadPayload.sequence(in: bytes)
        guard sequence < sentCount, payload.hasIntactPattern(bytes, sequence: sequence) else { return .corrupted }
        guard Int(sequence % UInt64(flows)) == flow else { return .misdelivered }
        guard size >= LoadPayload.timedSize else { return .numbered(sequence: sequence, roundTrip: nil) }
        let sent = LoadPayload.time(in: bytes)
        // A send time in the future cannot come from this run: the bytes were changed.
        guard sent <= now else { return .corrupted }
        return .numbered(sequence: sequence, roundTrip: now - sent)
    }

    /// How many of the sequence numbers in `range` came back.
    func receivedCount(in range: Range<UInt64>) -> Int {
        var count = 0
        for sequence in range {
            let word = Int(sequence / 64)
            if word < seen.count, seen[word] & (UInt64(1) << (sequence % 64)) != 0 { count += 1 }
        }
        return count
    }

    /// Marks `sequence` as received; false when it was already (a duplicate).
    private mutating func markSeen(_ sequence: UInt64, flow: Int) -> Bool {
        let word = Int(sequence / 64)
        let bit = UInt64(1) << (sequence % 64)
        guard word < seen.count, seen[word] & bit == 0 else { return false }
        seen[word] |= bit
        received += 1
        arrivalOrder?.append(sequence)
        if Int64(sequence) < highest[flow] { outOfOrder += 1 } else { highest[flow] = Int64(sequence) }
        return true
    }
}
