/// What a replay window says about a sequence number.
public enum ReplayVerdict: Hashable, Sendable {
    /// Never seen and within the window: accept it (it is now recorded).
    case fresh
    /// Seen before: a copy from another path, or a replay.
    case duplicate
    /// Too far behind the highest sequence number seen to tell: treated as a replay.
    case tooOld
}

/// Sliding-window duplicate and replay detection for one receive stream (RFC 6479): a ring of
/// 64-bit blocks, one bit per sequence number, and one call that checks and records.
///
/// The window accepts any sequence number above the highest seen so far, and numbers up to
/// ``ReplayWindow/size`` below it that were not seen yet. A new window accepts everything.
/// Not safe for concurrent use.
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

    /// Judges `sequence` and, when it is fresh, records it. Zero is never fresh.
    public mutating func check(_ sequence: UInt64) -> ReplayVerdict {
        guard sequence != 0 else { return .tooOld }
        if sequence > highest {
            slide(to: sequence)
        } else if highest - sequence >= Self.size {
            return .tooOld
        }
        let blockIndex = Int((sequence / UInt64(Self.bitsPerBlock)) % UInt64(Self.blockCount))
        let bit = UInt64(1) << (sequence % UInt64(Self.bitsPerBlock))
        if blocks[blockIndex] & bit != 0 { return .duplicate }
        blocks[blockIndex] |= bit
        return .fresh
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
        for _ in 0..<cleared {
            block += 1
            blocks[Int(block % UInt64(Self.blockCount))] = 0
        }
        highest = sequence
    }
}
