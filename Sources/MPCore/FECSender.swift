/// The sending side of `mode fec K:M` in one direction of a session: gathers each payload's
/// plaintext into the open group as it goes out (data shards are the payloads themselves,
/// never held back), and writes the group's parity bodies when the group is full or its
/// timeout has passed. A short group is coded as it is: K on the wire is the payloads it has.
///
/// Buffers are allocated once and grow only for a longer payload than any before: adding a
/// payload and writing parity allocate nothing. Not safe for concurrent use.
final class FECSender {
    let settings: FECSettings
    /// One coder per group length 1...K, made the first time a group of that length closes.
    private var coders: [ErasureCoder?]
    /// K data slots, then M parity slots.
    private let store: ShardStore
    private var entries: [ParityHeader.Entry]
    /// The sequence number of the open group's first payload; 0 when no group is open.
    private(set) var group: UInt64 = 0
    private(set) var openedAt = Timestamp(nanoseconds: 0)
    private var longest = 0
    /// Parity shards of the closed group written so far; `nil` while the group is open.
    private var emitted: Int?
    /// Groups sent so far: the first path of a group turns with it, so shards spread evenly
    /// even when K + M is not a multiple of the paths.
    private(set) var groupsStarted = 0
    var statistics = FECStatistics()

    init?(settings: FECSettings) {
        guard (1...Defaults.maximumFECDataShards).contains(settings.dataShards),
            (1...Defaults.maximumFECParityShards).contains(settings.parityShards)
        else { return nil }
        self.settings = settings
        coders = Array(repeating: nil, count: settings.dataShards)
        store = ShardStore(count: settings.dataShards + settings.parityShards)
        entries = []
        entries.reserveCapacity(settings.dataShards)
    }

    /// Payloads in the open group.
    var count: Int { entries.count }

    /// Adds the payload framed under `sequence` for flow `flowID` (its plaintext, before
    /// sealing) to the open group, or opens one, and returns its shard index; `nil` when it
    /// is too long for a parity frame to carry (counted, sent in no group). Call
    /// ``nextParityBody(into:)`` until `nil` first when ``isParityDue(now:)``.
    func add(_ payload: UnsafeRawBufferPointer, sequence: UInt64, flowID: UInt32, now: Timestamp) -> Int? {
        guard payload.count <= ParityHeader.maximumShardLength(dataShards: settings.dataShards) else {
            statistics.unprotectedPayloads += 1
            return nil
        }
        if emitted != nil || entries.count == settings.dataShards
            || (!entries.isEmpty && sequence - group >= UInt64(Defaults.fecPayloadsKept))
        {
            // The last group's parity was never asked for (or the group would span more
            // sequence numbers than a receiver keeps): it is dropped, not mixed in.
            reset()
        }
        if entries.isEmpty {
            group = sequence
            openedAt = now
            longest = 0
        }
        let index = entries.count
        store.store(payload, in: index)
        entries.append(
            ParityHeader.Entry(offset: UInt32(sequence - group), flowID: flowID, length: UInt16(payload.count)))
        longest = max(longest, payload.count)
        return index
    }

    /// Records the frame of the payload just added as `bytes` bytes sent.
    func recordDataFrame(bytes: Int) {
        statistics.dataFramesSent += 1
        statistics.dataBytesSent += bytes
    }

    /// True when the open group's parity should go out: it is full, or `timeout` has passed
    /// since its first payload (or its parity is going out).
    func isParityDue(now: Timestamp) -> Bool {
        guard !entries.isEmpty else { return false }
        return emitted != nil || entries.count == settings.dataShards || now - openedAt >= settings.timeout
    }

    /// When the open group's timeout ends, or `nil` when no group waits.
    var deadline: Timestamp? {
        guard !entries.isEmpty, emitted == nil else { return nil }
        return openedAt + settings.timeout
    }

    /// The length of the next parity body, or `nil` when none is due.
    var nextParityBodyLength: Int? {
        guard !entries.isEmpty else { return nil }
        return ParityHeader.Layout.fixedSize + ParityHeader.Layout.entrySize * entries.count + longest
    }

    /// Writes the next parity body of a due group into `body` (which must hold
    /// ``nextParityBodyLength``) and returns its length and shard index; `nil` when the
    /// group's M parity bodies are all written (the group is then closed).
    func nextParityBody(into body: UnsafeMutableRawBufferPointer) -> (length: Int, index: Int)? {
        guard !entries.isEmpty, let length = nextParityBodyLength, body.count >= length else { return nil }
        let dataShards = entries.count
        if emitted == nil { encode() }
        guard let done = emitted, done < settings.parityShards else {
            reset()
            return nil
        }
        let header = ParityHeader(
            group: group, groupSize: settings.dataShards, dataShards: dataShards,
            parityShards: settings.parityShards, index: dataShards + done, shardLength: longest)
        header.encode(into: body)
        for position in 0..<dataShards { ParityHeader.write(entries[position], at: position, into: body) }
        if longest > 0, let base = body.baseAddress {
            (base + header.prefixLength).copyMemory(from: store.slot(settings.dataShards + done), byteCount: longest)
        }
        emitted = done + 1
        return (length, header.index)
    }

    /// Records a parity frame of `bytes` bytes as sent.
    func recordParityFrame(bytes: Int) {
        statistics.parityFramesSent += 1
        statistics.parityBytesSent += bytes
    }

    private func encode() {
        let dataShards = entries.count
        store.reserve(max(longest, 1))
        for position in 0..<dataShards { store.zero(position, from: Int(entries[position].length), to: longest) }
        if coders[dataShards - 1] == nil {
            coders[dataShards - 1] = ErasureCoder(dataShards: dataShards, parityShards: settings.parityShards)
        }
        let store = self.store
        let parityBase = settings.dataShards
        coders[dataShards - 1]?.encode(length: longest) { index in
            store.slot(index < dataShards ? index : parityBase + index - dataShards)
        }
        emitted = 0
        statistics.groupsSent += 1
    }

    private func reset() {
        entries.removeAll(keepingCapacity: true)
        group = 0
        emitted = nil
        longest = 0
        groupsStarted &+= 1
    }
}
