/// The body of a parity frame (``FrameType/upstreamParity``, ``FrameType/downstreamParity``)
/// of `mode fec K:M`, before its parity bytes: which group it codes, its place in it, and
/// the sequence number, flow and length of each data shard (payload) of the group.
/// Offsets are from the start of the body; see the protocol document, "Parity frames".
public struct ParityHeader: Hashable, Sendable {
    /// Body offsets and sizes.
    public enum Layout {
        /// 8 bytes: the sequence number of the group's first payload; names the group.
        public static let groupOffset = 0
        /// 1 byte: the group size the sender codes with (its configured K), 1...32.
        public static let groupSizeOffset = 8
        /// 1 byte: the data shards of this group, K, 1...group size (fewer when the group
        /// went out short after `fec-timeout`).
        public static let dataShardsOffset = 9
        /// 1 byte: the parity shards of the group, M, 1...16.
        public static let parityShardsOffset = 10
        /// 1 byte: this shard's index, K...K + M − 1 (0...K − 1 are the payloads).
        public static let indexOffset = 11
        /// 2 bytes: the length of every shard, the longest payload's (the others are coded
        /// zero-padded to it); the parity bytes that end the body are this long.
        public static let shardLengthOffset = 12
        /// The fixed part; K entries follow, then the parity bytes.
        public static let fixedSize = 14
        /// One entry per payload: its sequence number less the group's (4 bytes, the first 0,
        /// increasing), its flow id (4 bytes, nonzero) and its length (2 bytes).
        public static let entrySize = 10
    }

    /// One payload of the group.
    public struct Entry: Hashable, Sendable {
        /// Its sequence number less the group's.
        public var offset: UInt32
        public var flowID: UInt32
        public var length: UInt16

        public init(offset: UInt32, flowID: UInt32, length: UInt16) {
            self.offset = offset
            self.flowID = flowID
            self.length = length
        }
    }

    /// The sequence number of the group's first payload.
    public var group: UInt64
    public var groupSize: Int
    public var dataShards: Int
    public var parityShards: Int
    public var index: Int
    public var shardLength: Int

    public init(group: UInt64, groupSize: Int, dataShards: Int, parityShards: Int, index: Int, shardLength: Int) {
        self.group = group
        self.groupSize = groupSize
        self.dataShards = dataShards
        self.parityShards = parityShards
        self.index = index
        self.shardLength = shardLength
    }

    /// Length of the body before the parity bytes.
    public var prefixLength: Int { Layout.fixedSize + Layout.entrySize * dataShards }

    /// Length of the whole body.
    public var bodyLength: Int { prefixLength + shardLength }

    /// The longest shard a group of `dataShards` payloads codes: a parity frame must fit the
    /// largest frame, so a longer payload goes out in no group (unprotected, counted).
    public static func maximumShardLength(dataShards: Int) -> Int {
        Defaults.maximumPayload - Layout.fixedSize - Layout.entrySize * dataShards
    }

    /// Decodes and checks a parity body (receiver rule F1): `nil` when it is malformed. The
    /// entries are checked too (first offset 0, increasing, flows nonzero, lengths at most
    /// the shard length and the longest equal to it, every payload numbered below
    /// `sequence`, the parity frame's own number, and less than ``Defaults/fecPayloadsKept``
    /// after the first).
    public static func decode(_ body: UnsafeRawBufferPointer, sequence: UInt64) -> ParityHeader? {
        var cursor = ByteCursor(body)
        guard let group: UInt64 = cursor.read(), let groupSize: UInt8 = cursor.read(),
            let dataShards: UInt8 = cursor.read(), let parityShards: UInt8 = cursor.read(),
            let index: UInt8 = cursor.read(), let shardLength: UInt16 = cursor.read()
        else { return nil }
        let header = ParityHeader(
            group: group, groupSize: Int(groupSize), dataShards: Int(dataShards), parityShards: Int(parityShards),
            index: Int(index), shardLength: Int(shardLength))
        guard group != 0, (1...Defaults.maximumFECDataShards).contains(header.groupSize),
            (1...header.groupSize).contains(header.dataShards),
            (1...Defaults.maximumFECParityShards).contains(header.parityShards),
            (header.dataShards..<(header.dataShards + header.parityShards)).contains(header.index),
            header.shardLength <= maximumShardLength(dataShards: header.dataShards),
            body.count == header.bodyLength
        else { return nil }
        return header.entriesAreValid(body, sequence: sequence) ? header : nil
    }

    private func entriesAreValid(_ body: UnsafeRawBufferPointer, sequence: UInt64) -> Bool {
        var longest = 0
        var previous: UInt32?
        for position in 0..<dataShards {
            guard let entry = entry(position, in: body) else { return false }
            if let previous {
                guard entry.offset > previous else { return false }
            } else {
                guard entry.offset == 0 else { return false }
            }
            let (payloadSequence, overflow) = group.addingReportingOverflow(UInt64(entry.offset))
            guard !overflow, Int(entry.offset) < Defaults.fecPayloadsKept, payloadSequence < sequence,
                entry.flowID != 0, Int(entry.length) <= shardLength
            else { return false }
            longest = max(longest, Int(entry.length))
            previous = entry.offset
        }
        return longest == shardLength
    }

    /// Entry `position` (0..<K) of a body already checked to hold the entries.
    public func entry(_ position: Int, in body: UnsafeRawBufferPointer) -> Entry? {
        var cursor = ByteCursor(body)
        guard cursor.skip(Layout.fixedSize + Layout.entrySize * position), let offset: UInt32 = cursor.read(),
            let flowID: UInt32 = cursor.read(), let length: UInt16 = cursor.read()
        else { return nil }
        return Entry(offset: offset, flowID: flowID, length: length)
    }

    /// Writes the fixed part at the start of `body`, which must hold ``prefixLength`` bytes;
    /// the entries are written by ``write(_:at:into:)``.
    public func encode(into body: UnsafeMutableRawBufferPointer) {
        var writer = ByteWriter(body)
        writer.write(group)
        writer.write(UInt8(groupSize))
        writer.write(UInt8(dataShards))
        writer.write(UInt8(parityShards))
        writer.write(UInt8(index))
        writer.write(UInt16(shardLength))
    }

    /// Writes entry `position` into `body`.
    public static func write(_ entry: Entry, at position: Int, into body: UnsafeMutableRawBufferPointer) {
        var writer = ByteWriter(body, offset: Layout.fixedSize + Layout.entrySize * position)
        writer.write(entry.offset)
        writer.write(entry.flowID)
        writer.write(entry.length)
    }
}
