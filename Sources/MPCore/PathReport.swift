/// A receiver report: what one side received on each path, so that the other side, which
/// only knows what it sent, can tell a path that delivers from one that does not (types
/// ``FrameType/clientReport`` and ``FrameType/serverReport``).
///
/// Body: 1 to 32 entries of ``FrameLayout/reportEntrySize`` (13) bytes, each a path id,
/// the frames of the session received on that path so far (cumulative, counting the copies
/// dropped as duplicates), the loss of the reporting side's own frames on that path as it
/// knows it from the other side's reports (in 1/10,000; 0xFFFF before it knows), so that
/// each side shows the loss of a path both ways, and the age of the last frame received on
/// it (milliseconds): a report that left late still dates the delivery it reports. Sealed once and sent on every path like data: the first copy
/// counts, the others are duplicates. A path id is as reported by the frames' hint, so a
/// hostile bridge can skew the counts of the paths it names; a report never moves a reply
/// address or delivers anything.
public enum PathReport {
    /// True for a body of 1 to ``Defaults/maximumPaths`` whole entries.
    static func isValidBodyLength(_ length: Int) -> Bool {
        length > 0 && length % FrameLayout.reportEntrySize == 0
            && length / FrameLayout.reportEntrySize <= Defaults.maximumPaths
    }

    /// The loss field's value for "not known yet".
    static let unknownLoss = UInt16.max

    /// Writes the entries of `statistics` with frames received (at most 32) at the body
    /// offset of `frame`, which must hold a full body; returns the body's length, zero when
    /// no path has received anything.
    static func write(_ statistics: [PathStatistics], now: Timestamp, into frame: UnsafeMutableRawBufferPointer)
        -> Int
    {
        var writer = ByteWriter(frame, offset: FrameLayout.headerSize)
        for path in statistics.indices.prefix(Defaults.maximumPaths) where statistics[path].framesReceived > 0 {
            writer.write(UInt8(path))
            writer.write(UInt64(statistics[path].framesReceived))
            writer.write(statistics[path].reportedLossTenThousandths)
            let age = statistics[path].lastReceive.map { (now - $0).nanoseconds / 1_000_000 } ?? UInt64(UInt16.max)
            writer.write(UInt16(min(age, UInt64(UInt16.max))))
        }
        return writer.offset - FrameLayout.headerSize
    }

    /// One entry of a report, as read.
    struct Entry {
        var path: Int
        var framesReceived: Int
        /// The reporter's own loss on the path; `nil` unknown.
        var loss: Double?
        /// How long before the report left the last frame on the path arrived.
        var age: TimeSpan
    }

    /// Calls `body` with each entry of a report body whose length R6b checked, its path id
    /// below ``Defaults/maximumPaths`` (other entries are skipped).
    static func forEachEntry(in bytes: UnsafeRawBufferPointer, _ body: (Entry) -> Void) {
        var cursor = ByteCursor(bytes)
        while let path: UInt8 = cursor.read(), let count: UInt64 = cursor.read(), let loss: UInt16 = cursor.read(),
            let age: UInt16 = cursor.read()
        {
            guard Int(path) < Defaults.maximumPaths, count <= UInt64(Int.max) else { continue }
            body(
                Entry(
                    path: Int(path), framesReceived: Int(count), loss: PathStatistics.share(loss),
                    age: .milliseconds(UInt64(age))))
        }
    }
}
