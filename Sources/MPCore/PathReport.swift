/// A receiver report: what one side received on each path, so that the other side, which
/// only knows what it sent, can tell a path that delivers from one that does not (types
/// ``FrameType/clientReport`` and ``FrameType/serverReport``).
///
/// Body: 1 to 32 entries of ``FrameLayout/reportEntrySize`` (13) bytes, each a path id,
/// the frames of the session received on that path so far (cumulative, counting the copies
/// dropped as duplicates), the loss of the reporting side's own frames on that path as it
/// knows it from the other side's reports (in 1/10,000; 0xFFFF before it knows), so that
/// each side shows the loss of a path both ways, and the age of the last frame received on
/// it (milliseconds): a report that left late still dates the delivery it reports.
/// A clock entry and departure entries follow, as many as fit in 32 entries, their first
/// byte with the high bit set (receivers that do not know them skip them as out of range):
/// the clock entry (0xC0) carries the reporting side's monotonic clock in nanoseconds and
/// four zero bytes; a departure entry (0x80 + path id) the sequence number of the last
/// fresh frame received on the path and that frame's age (microseconds 0–999, then
/// milliseconds). The sender looks the number up to measure the path's one-way delay (up
/// to the clocks' fixed offset) and delivery rate (``PathLoad``). Sealed once and sent on every path like data: the first copy
/// counts, the others are duplicates. A path id is as reported by the frames' hint, so a
/// hostile bridge can skew the counts of the paths it names; a report never moves a reply
/// address or delivers anything.
public enum PathReport {
    /// True for a body of 1 to ``Defaults/maximumPaths`` whole entries.
    static func isValidBodyLength(_ length: Int) -> Bool {
        length > 0 && length % FrameLayout.reportEntrySize == 0
            && length / FrameLayout.reportEntrySize <= Defaults.maximumPaths
    }

    /// The longest report frame: 32 entries.
    public static let maximumFrameLength =
        FrameLayout.maximumOverhead + Defaults.maximumPaths * FrameLayout.reportEntrySize

    /// The body length ``write(_:now:into:)`` gives for `statistics`.
    static func entriesLength(_ statistics: [PathStatistics]) -> Int {
        var count = 0
        for path in statistics.indices.prefix(Defaults.maximumPaths) {
            if statistics[path].framesReceived > 0 { count += 1 }
            if statistics[path].lastFreshReceive != nil { count += 1 }
        }
        return min(count + 1, Defaults.maximumPaths) * FrameLayout.reportEntrySize
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
        // The clock entry and the departure entries, while the body has room (32 entries).
        var entries = (writer.offset - FrameLayout.headerSize) / FrameLayout.reportEntrySize
        guard entries < Defaults.maximumPaths - 1 else { return writer.offset - FrameLayout.headerSize }
        writer.write(clockMark)
        writer.write(now.nanoseconds)
        writer.write(UInt32(0))
        entries += 1
        for path in statistics.indices.prefix(Defaults.maximumPaths) where entries < Defaults.maximumPaths {
            guard let at = statistics[path].lastFreshReceive else { continue }
            let age = min((now - at).nanoseconds / 1_000, UInt64(UInt16.max) * 1_000 + 999)
            writer.write(UInt8(path) | departureMark)
            writer.write(statistics[path].lastFreshSequence)
            writer.write(UInt16(age % 1_000))
            writer.write(UInt16(age / 1_000))
            entries += 1
        }
        return writer.offset - FrameLayout.headerSize
    }

    /// The high bits of a departure entry's path id, and the clock entry's.
    static let departureMark: UInt8 = 0x80
    static let clockMark: UInt8 = 0xC0

    /// The reporting side's clock when the report left (its clock entry), in nanoseconds of
    /// its own monotonic clock; `nil` without one.
    static func clock(in bytes: UnsafeRawBufferPointer) -> Timestamp? {
        var cursor = ByteCursor(bytes)
        while let mark: UInt8 = cursor.read(), let value: UInt64 = cursor.read(), let _: UInt32 = cursor.read() {
            if mark == clockMark { return Timestamp(nanoseconds: value) }
        }
        return nil
    }

    /// A departure entry, as read: the last fresh frame received on a path.
    struct Departure {
        var path: Int
        var sequence: UInt64
        /// How long before the report left it arrived.
        var age: TimeSpan
    }

    /// Calls `body` with each departure entry (path id with the high bit set) of a report
    /// body whose length R6b checked.
    static func forEachDeparture(in bytes: UnsafeRawBufferPointer, _ body: (Departure) -> Void) {
        var cursor = ByteCursor(bytes)
        while let mark: UInt8 = cursor.read(), let sequence: UInt64 = cursor.read(),
            let microseconds: UInt16 = cursor.read(), let milliseconds: UInt16 = cursor.read()
        {
            let path = Int(mark & ~departureMark)
            guard mark & clockMark == departureMark, path < Defaults.maximumPaths, microseconds < 1_000 else {
                continue
            }
            let age = UInt64(milliseconds) * 1_000_000 + UInt64(microseconds) * 1_000
            body(Departure(path: path, sequence: sequence, age: TimeSpan(nanoseconds: age)))
        }
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
