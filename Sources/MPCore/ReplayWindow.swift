/// What a replay window says about a sequence number.
public enum ReplayVerdict: Hashable, Sendable {
    /// Never seen and within the window: accept it (``ReplayWindow/check(_:)`` has now
    /// recorded it; ``ReplayWindow/peek(_:)`` has not).
    case fresh
    /// Seen before: a copy from another path, or a replay.
    case duplicate
    /// Too far behind the highest sequence number seen to tell: treated as a replay.
    case tooOld
}

/// Sliding-window duplicate and replay detection for one receive stream (RFC 6479): a ring of
/// 64-bit blocks, one bit per sequence number, one call that checks and records, and one that
/// only checks.
///
/// The window accepts any sequence number above the highest seen so far, and numbers up to
/// ``ReplayWindow/size`` below it that were not seen yet. A new window accepts everything.
/// A receiver peeks before it authenticates a frame and checks (records) only after: a copy
/// of a number already recorded is dropped without opening it, and a forged frame never
/// marks a number as seen (receiver rules R7b and R11, R13b and R17). Not safe for
/// concurrent use.
public struct ReplayWindow {
    /// 256 blocks of 64 bits = 16,384 bits, one block kept free for the ring's slide:
    /// 16,320 packets of history, 2 KB per stream. A copy from a path 100 ms slower at
    /// 100,000 packets/s is 10,000 packets late, well inside the window.
    static let blockCount = 256
    static let bitsPerBlock = 64
    /// How far below the highest sequence number seen a number can still be judged.
    public static let size = UInt64((blockCount - 1) * bitsPerBlock)

    private var blocks: [UInt64]
    /// The highest sequence number accepted so far; zero before the first.
    public private(set) var highest: UInt64 = 0

    /// An empty window: every sequence number from 1 on is fresh.
    public init() {
        blocks = Array(repeating: 0, count: Self.blockCount)
    }

    /// Judges `sequence` without recording it: the verdict ``check(_:)`` would give now.
    /// Zero is never fresh. Call it before authenticating a frame: only a frame that
    /// authenticates may then be recorded with ``check(_:)``.
    public func peek(_ sequence: UInt64) -> ReplayVerdict {
        guard sequence != 0 else { return .tooOld }
        // Above the highest: never recorded (a block is cleared when the window slides into it).
        if sequence > highest { return .fresh }
        if highest - sequence >= Self.size { return .tooOld }
        return blocks[Self.blockIndex(of: sequence)] & Self.bit(of: sequence) != 0 ? .duplicate : .fresh
    }

    /// Judges `sequence` and, when it is fresh, records it. Zero is never fresh.
    public mutating func check(_ sequence: UInt64) -> ReplayVerdict {
        let verdict = peek(sequence)
        guard verdict == .fresh else { return verdict }
        if sequence > highest { slide(to: sequence) }
        blocks[Self.blockIndex(of: sequence)] |= Self.bit(of: sequence)
        return .fresh
    }

    /// The ring block that holds `sequence`'s bit.
    private static func blockIndex(of sequence: UInt64) -> Int {
        Int((sequence / UInt64(bitsPerBlock)) % UInt64(blockCount))
    }

    /// `sequence`'s bit within its block.
    private static func bit(of sequence: UInt64) -> UInt64 {
        UInt64(1) << (sequence % UInt64(bitsPerBlock))
    }

    /// Forgets everything: the next sequence number is fresh whatever it is.
    public mutating func reset() {
        for index in blocks.indices { blocks[index] = 0 }
        highest = 0
    }

    /// Clears the blocks between the old highest and `sequence`, then makes it the highest.
    private mutating func slide(to sequence: UInt64) {
        let bitsPerBlock = UInt64(Self.bitsPerBlock)
        let oldBlock = highest / bitsPerBlock
        let newBlock = sequence / bitsPerBlock
        let cleared = min(newBlock - oldBlock, UInt64(Self.blockCount))
        var block = oldBlock
        for _ in 0..<Int(cleared) {
            block += 1
            blocks[Int(block % UInt64(Self.blockCount))] = 0
        }
        highest = sequence
    }
}
