// The seeded generator of the lab's relays and of the tests: one definition for both.

/// SplitMix64 (Steele, Lea and Flood, 2014): a tiny seedable generator, ample for deciding
/// which datagrams a lossy relay drops or what a test's "random" input is; the same seed
/// always gives the same sequence. Not for key material.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator whose sequence `seed` decides.
    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64 bits of the sequence.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
