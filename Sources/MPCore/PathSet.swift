/// A set of path ids (0..<``Defaults/maximumPaths``) as one 32-bit mask: what
/// ``ClientSession/pathsFor(now:)`` and the server's reply choice return, without allocating.
/// The zero value is the empty set.
public struct PathSet: OptionSet, Hashable, Sendable {
    /// Bit `i` set: path `i` is in the set.
    public var rawValue: UInt32

    /// The set whose bits are `rawValue`.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The set holding `path` alone; empty when `path` is outside 0..<32.
    public init(path: Int) {
        rawValue = (0..<Defaults.maximumPaths).contains(path) ? 1 << UInt32(path) : 0
    }

    /// Paths 0..<`count` (`count` clamped to 0...32).
    public static func first(_ count: Int) -> PathSet {
        let clamped = Swift.min(Swift.max(count, 0), Defaults.maximumPaths)
        return PathSet(rawValue: clamped == 32 ? .max : (1 << UInt32(clamped)) - 1)
    }

    /// Whether `path` is in the set.
    public func contains(path: Int) -> Bool {
        (0..<Defaults.maximumPaths).contains(path) && rawValue & (1 << UInt32(path)) != 0
    }

    /// Adds `path` (ignored outside 0..<32).
    public mutating func insert(path: Int) { formUnion(PathSet(path: path)) }

    /// Number of paths in the set.
    public var count: Int { rawValue.nonzeroBitCount }

    /// The path ids in increasing order.
    public var members: Members { Members(rawValue: rawValue) }

    /// The lowest path id in the set; `nil` for an empty set.
    public var lowest: Int? { rawValue == 0 ? nil : rawValue.trailingZeroBitCount }

    /// The path ids of a set, lowest first.
    public struct Members: Sequence, IteratorProtocol {
        var remaining: UInt32

        init(rawValue: UInt32) { remaining = rawValue }

        public mutating func next() -> Int? {
            guard remaining != 0 else { return nil }
            let path = remaining.trailingZeroBitCount
            remaining &= remaining - 1
            return path
        }
    }
}

extension PathSet {
    /// The member at `position` counting from the lowest, wrapping around: `position` modulo
    /// ``count``. `nil` for an empty set.
    public func member(turn position: Int) -> Int? {
        guard count > 0 else { return nil }
        var remaining = position % count
        var bits = rawValue
        while remaining > 0 {
            bits &= bits - 1
            remaining -= 1
        }
        return bits.trailingZeroBitCount
    }
}
