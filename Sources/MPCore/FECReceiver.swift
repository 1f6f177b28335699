/// The receiving side of `mode fec K:M` in one direction of a session. Keeps the plaintext
/// of the payloads received lately, by sequence number (``Defaults/fecPayloadsKept``), and
/// the parity of the groups still missing payloads (``Defaults/maximumFECGroups``, each for
/// at most ``Defaults/fecGroupLifetime``). As soon as any K shards of a group are in, it
/// rebuilds the missing payloads; the session delivers each through its replay window, under
/// the payload's own sequence number (receiver rules F1–F6 of the protocol document).
///
/// A payload whose frame is on its way is not missing: the rebuilding waits until a missing
/// payload is ``Defaults/fecRebuildMargin`` overdue (bounded by ``Defaults/fecTimeout``
/// after the group's first shard came), and the runtime asks for it with
/// ``releaseRebuilt(now:isSeen:_:)`` after each batch of frames and at ``rebuildDeadline``.
/// A data frame that comes within the margin completes its group as it came: on paths of
/// equal delay the parity sent with a group's last payload often overtakes it by
/// microseconds, and would otherwise rebuild a payload that needed nothing.
///
/// Made at a session's first parity frame; buffers grow only for a longer shard than any
/// before, so keeping, rebuilding and releasing allocate nothing. Not safe for concurrent use.
final class FECReceiver {
    /// Received payloads' plaintext, slot `sequence % count`, and which sequence each holds.
    private let kept = ShardStore(count: Defaults.fecPayloadsKept)
    /// One array, not three: a payload kept is one write (one exclusivity check) of it.
    private var keptPayloads = [KeptPayload](
        repeating: KeptPayload(sequence: 0, length: 0, arrivedAt: Timestamp(nanoseconds: 0)),
        count: Defaults.fecPayloadsKept)
    /// The groups still missing payloads, and their parity: group `g`'s parity shard `i` is
    /// in slot `g * maximumFECParityShards + (i - K)`.
    private var groups: [Group?] = Array(repeating: nil, count: Defaults.maximumFECGroups)
    /// Each group's payload entries as its first parity frame gave them: group `g`'s entry
    /// `p` is at `g * maximumFECDataShards + p`.
    private var entries = [ParityHeader.Entry](
        repeating: ParityHeader.Entry(offset: 0, flowID: 0, length: 0),
        count: Defaults.maximumFECGroups * Defaults.maximumFECDataShards)
    private let parity = ShardStore(count: Defaults.maximumFECGroups * Defaults.maximumFECParityShards)
    /// Coders by (K, M), made the first time a group needs one.
    private var coders: [ErasureCoder?] = Array(
        repeating: nil, count: Defaults.maximumFECDataShards * Defaults.maximumFECParityShards)
    /// The groups finished lately (complete or given up), so that their later parity frames
    /// are ignored instead of opening them again: a ring of ``Defaults/maximumFECGroups``.
    private var finished = [UInt64](repeating: 0, count: Defaults.maximumFECGroups)
    private var finishedNext = 0
    private(set) var ready: [Rebuilt] = []
    /// Groups held, and those among them whose rebuilding is due: the loops over the
    /// groups run only when there is one.
    private var openGroups = 0
    private var dueGroups = 0
    var statistics = FECStatistics()

    init() {
        ready.reserveCapacity(Defaults.maximumFECDataShards)
    }

    /// Keeps the plaintext of a fresh payload numbered `sequence`, arrived at `now`.
    func keep(_ payload: UnsafeRawBufferPointer, sequence: UInt64, now: Timestamp) {
        let slot = Int(sequence % UInt64(Defaults.fecPayloadsKept))
        kept.store(payload, in: slot)
        keptPayloads[slot] = KeptPayload(sequence: sequence, length: payload.count, arrivedAt: now)
    }

    /// After a fresh payload numbered `sequence` was kept at `now`: completes its group if
    /// it was the last one missing, or counts it in. `isSeen` tells whether a sequence
    /// number was delivered.
    func payloadArrived(sequence: UInt64, now: Timestamp, isSeen: (UInt64) -> Bool) {
        guard openGroups > 0 else { return }
        for slot in groups.indices {
            guard let group = groups[slot], group.header.group <= sequence,
                sequence - group.header.group <= UInt64(entry(slot, group.header.dataShards - 1).offset)
            else { continue }
            complete(slot, isSeen: isSeen, now: now)
        }
    }

    /// A fresh, authentic parity frame whose body `body` decoded as `header`: holds its
    /// parity and completes the group when it can. False when it contradicts the group's
    /// earlier parity (dropped and counted, rule F3).
    func parityArrived(
        _ header: ParityHeader, body: UnsafeRawBufferPointer, now: Timestamp, isSeen: (UInt64) -> Bool
    ) -> Bool {
        expire(now: now)
        // A group already finished: its other parity frames change nothing (rule F4).
        if isFinished(header.group) { return true }
        guard let slot = slot(for: header, body: body, now: now) else {
            statistics.inconsistentParity += 1
            return false
        }
        let parityIndex = header.index - header.dataShards
        let store = slot * Defaults.maximumFECParityShards + parityIndex
        parity.store(UnsafeRawBufferPointer(rebasing: body[header.prefixLength...]), in: store)
        groups[slot]?.parity |= 1 << UInt64(header.index)
        complete(slot, isSeen: isSeen, now: now)
        return true
    }

    /// Gives up groups older than ``Defaults/fecGroupLifetime`` (counted lost).
    func expire(now: Timestamp) {
        guard openGroups > 0 else { return }
        for slot in groups.indices {
            guard let group = groups[slot], now - group.firstAt >= Defaults.fecGroupLifetime else { continue }
            giveUp(slot)
        }
    }

    /// True when groups wait to be rebuilt or payloads to be delivered
    /// (``releaseRebuilt(now:isSeen:_:)``).
    var hasRebuilt: Bool { dueGroups > 0 || !ready.isEmpty }

    /// When the first group waiting to be rebuilt is due, or `nil` when none waits.
    var rebuildDeadline: Timestamp? {
        guard dueGroups > 0 else { return nil }
        var earliest: Timestamp?
        for slot in groups.indices {
            guard let at = groups[slot]?.rebuildAt else { continue }
            if earliest.map({ at < $0 }) ?? true { earliest = at }
        }
        return earliest
    }

    /// Rebuilds the groups whose rebuilding is due at `now` and that still miss payloads,
    /// then calls `body` with each rebuilt payload's sequence number, flow id and plaintext
    /// (valid until the next ``keep(_:sequence:now:)``), and forgets them.
    func releaseRebuilt(
        now: Timestamp, isSeen: (UInt64) -> Bool, _ body: (UInt64, UInt32, UnsafeRawBufferPointer) -> Void
    ) {
        if dueGroups > 0 {
            for slot in groups.indices {
                guard let at = groups[slot]?.rebuildAt, at <= now else { continue }
                complete(slot, isSeen: isSeen, now: now, rebuildNow: true)
            }
        }
        var index = 0
        while index < ready.count {
            let payload = ready[index]
            let slot = Int(payload.sequence % UInt64(Defaults.fecPayloadsKept))
            if keptPayloads[slot].sequence == payload.sequence {
                body(
                    payload.sequence, payload.flowID,
                    UnsafeRawBufferPointer(start: kept.slot(slot), count: payload.length))
            }
            index += 1
        }
        ready.removeAll(keepingCapacity: true)
    }

    /// The slot of the group `header` names: the existing one if its parity agrees, else a
    /// new one (the oldest group given up to make room); `nil` when it contradicts.
    private func slot(for header: ParityHeader, body: UnsafeRawBufferPointer, now: Timestamp) -> Int? {
        if let slot = slot(ofGroup: header.group), let group = groups[slot] {
            guard group.header.groupSize == header.groupSize, group.header.dataShards == header.dataShards,
                group.header.parityShards == header.parityShards, group.header.shardLength == header.shardLength,
                group.parity & (1 << UInt64(header.index)) == 0
            else { return nil }
            for position in 0..<header.dataShards where header.entry(position, in: body) != entry(slot, position) {
                return nil
            }
            return slot
        }
        let slot = slot(ofGroup: nil) ?? oldestGroup()
        if groups[slot] != nil { giveUp(slot) }
        for position in 0..<header.dataShards {
            guard let entry = header.entry(position, in: body) else { return nil }
            entries[slot * Defaults.maximumFECDataShards + position] = entry
        }
        groups[slot] = Group(header: header, firstAt: now)
        openGroups += 1
        return slot
    }

    /// The slot holding group `group`, or with `nil` a free slot. By index: a generic
    /// search allocates per call in unoptimized builds, and this runs per parity frame.
    private func slot(ofGroup group: UInt64?) -> Int? {
        for slot in 0..<groups.count where groups[slot]?.header.group == group { return slot }
        return nil
    }

    private func isFinished(_ group: UInt64) -> Bool {
        for index in 0..<finished.count where finished[index] == group { return true }
        return false
    }

    private func entry(_ slot: Int, _ position: Int) -> ParityHeader.Entry {
        entries[slot * Defaults.maximumFECDataShards + position]
    }

    private func oldestGroup() -> Int {
        var oldest = 0
        for slot in groups.indices {
            guard let candidate = groups[slot]?.firstAt, let current = groups[oldest]?.firstAt else { continue }
            if candidate < current { oldest = slot }
        }
        return oldest
    }

    /// Counts the group's shards in: with every payload in, forgets the group (complete);
    /// with K or more, sets when its missing payloads are rebuilt, or with `rebuildNow`
    /// rebuilds them and queues them for delivery.
    private func complete(_ slot: Int, isSeen: (UInt64) -> Bool, now: Timestamp, rebuildNow: Bool = false) {
        guard let group = groups[slot] else { return }
        let dataShards = group.header.dataShards
        var available = group.parity
        var delivered = 0
        for position in 0..<dataShards {
            let entry = entry(slot, position)
            let sequence = group.header.group + UInt64(entry.offset)
            let keptSlot = Int(sequence % UInt64(Defaults.fecPayloadsKept))
            let kept = keptPayloads[keptSlot]
            if kept.sequence == sequence, kept.length == Int(entry.length) {
                available |= 1 << UInt64(position)
                delivered += 1
            } else if isSeen(sequence) {
                delivered += 1
            }
        }
        if delivered == dataShards {
            statistics.groupsComplete += 1
            finish(slot)
            return
        }
        guard available.nonzeroBitCount >= dataShards else { return }
        guard rebuildNow else {
            if group.rebuildAt == nil {
                groups[slot]?.rebuildAt = rebuildTime(slot, group: group, available: available, now: now)
                dueGroups += 1
            }
            return
        }
        rebuild(slot, group: group, available: available, isSeen: isSeen, now: now)
    }

    /// When a group whose K-th shard came at `now` is rebuilt: once a missing payload is
    /// overdue, ``Defaults/fecRebuildMargin`` after the first shard sent after it came (a
    /// later data shard, or any parity: parity goes out after its group's payloads); but no
    /// later than ``Defaults/fecTimeout`` after the group's first shard came, as a short
    /// group's parity (sent at its timeout) would make it. A payload lost early in a group is
    /// then rebuilt as soon as K shards are in; only the group's last payloads, which race
    /// their parity, wait for the margin.
    private func rebuildTime(_ slot: Int, group: Group, available: UInt64, now: Timestamp) -> Timestamp {
        var first = group.firstAt
        var later = group.firstAt
        var due: Timestamp?
        // Counting down by hand: a reversed range's iterator allocates in a debug build.
        var position = group.header.dataShards
        while position > 0 {
            position -= 1
            guard available & (1 << UInt64(position)) != 0 else {
                let overdue = later + Defaults.fecRebuildMargin
                if due.map({ overdue < $0 }) ?? true { due = overdue }
                continue
            }
            let sequence = group.header.group + UInt64(entry(slot, position).offset)
            let arrived = keptPayloads[Int(sequence % UInt64(Defaults.fecPayloadsKept))].arrivedAt
            if arrived < later { later = arrived }
            if arrived < first { first = arrived }
        }
        let bound = first + Defaults.fecTimeout
        let at = min(due ?? now, bound)
        return at < now ? now : at
    }

    private func rebuild(_ slot: Int, group: Group, available: UInt64, isSeen: (UInt64) -> Bool, now: Timestamp) {
        let header = group.header
        let coderIndex = (header.dataShards - 1) * Defaults.maximumFECParityShards + header.parityShards - 1
        if coders[coderIndex] == nil {
            coders[coderIndex] = ErasureCoder(dataShards: header.dataShards, parityShards: header.parityShards)
        }
        kept.reserve(max(header.shardLength, 1))
        let first = slot * Defaults.maximumFECDataShards
        for position in 0..<header.dataShards {
            let sequence = header.group + UInt64(entries[first + position].offset)
            let keptSlot = Int(sequence % UInt64(Defaults.fecPayloadsKept))
            if available & (1 << UInt64(position)) != 0 {
                kept.zero(keptSlot, from: keptPayloads[keptSlot].length, to: header.shardLength)
            }
        }
        let kept = self.kept
        let parity = self.parity
        let entries = self.entries
        let paritySlot = slot * Defaults.maximumFECParityShards
        let rebuilt = coders[coderIndex]?.rebuild(length: header.shardLength, available: available) { index in
            guard index < header.dataShards else { return parity.slot(paritySlot + index - header.dataShards) }
            let sequence = header.group + UInt64(entries[first + index].offset)
            return kept.slot(Int(sequence % UInt64(Defaults.fecPayloadsKept)))
        }
        finish(slot)
        guard let rebuilt else { return }
        statistics.groupsComplete += 1
        for position in 0..<header.dataShards where rebuilt & (1 << UInt64(position)) != 0 {
            let entry = entries[first + position]
            let sequence = header.group + UInt64(entry.offset)
            guard !isSeen(sequence) else { continue }
            let keptSlot = Int(sequence % UInt64(Defaults.fecPayloadsKept))
            keptPayloads[keptSlot] = KeptPayload(sequence: sequence, length: Int(entry.length), arrivedAt: now)
            ready.append(Rebuilt(sequence: sequence, flowID: entry.flowID, length: Int(entry.length)))
        }
    }

    private func giveUp(_ slot: Int) {
        guard groups[slot] != nil else { return }
        statistics.groupsLost += 1
        finish(slot)
    }

    private func finish(_ slot: Int) {
        guard let group = groups[slot] else { return }
        openGroups -= 1
        if group.rebuildAt != nil { dueGroups -= 1 }
        finished[finishedNext] = group.header.group
        finishedNext = (finishedNext + 1) % finished.count
        groups[slot] = nil
    }
}
