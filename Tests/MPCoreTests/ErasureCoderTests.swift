import MPLabSupport
import Testing

@testable import MPCore

/// The ISA-L erasure code through its module map: parity from data, and any K of the K + M
/// shards give the data back.
@Suite struct ErasureCoderTests {
    /// K + M shards of `length` bytes: random data, parity encoded.
    final class Shards {
        var bytes: [[UInt8]]
        let coder: ErasureCoder

        init(coder: ErasureCoder, length: Int, rng: inout SplitMix64) {
            self.coder = coder
            bytes = (0..<(coder.dataShards + coder.parityShards)).map { index in
                index < coder.dataShards
                    ? (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
                    : [UInt8](repeating: 0, count: length)
            }
            withPointers { coder.encode(length: length, shard: $0) }
        }

        func withPointers<Result>(_ body: ((Int) -> UnsafeMutablePointer<UInt8>) -> Result) -> Result {
            let pointers = (0..<bytes.count).map { index in
                let pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: max(bytes[index].count, 1))
                pointer.initialize(from: bytes[index], count: bytes[index].count)
                return pointer
            }
            defer {
                for (index, pointer) in pointers.enumerated() {
                    bytes[index] = Array(UnsafeBufferPointer(start: pointer, count: bytes[index].count))
                    pointer.deallocate()
                }
            }
            return body { pointers[$0] }
        }
    }

    @Test func limits() {
        #expect(ErasureCoder(dataShards: 0, parityShards: 1) == nil)
        #expect(ErasureCoder(dataShards: 1, parityShards: 0) == nil)
        #expect(ErasureCoder(dataShards: Defaults.maximumFECDataShards + 1, parityShards: 1) == nil)
        #expect(ErasureCoder(dataShards: 4, parityShards: Defaults.maximumFECParityShards + 1) == nil)
        #expect(ErasureCoder(dataShards: Defaults.maximumFECDataShards, parityShards: 16) != nil)
    }

    @Test(arguments: [(4, 2), (8, 4), (2, 1), (3, 3), (32, 16)])
    func everyErasurePatternUpToMRebuilds(dataShards: Int, parityShards: Int) throws {
        let coder = try #require(ErasureCoder(dataShards: dataShards, parityShards: parityShards))
        var rng = SplitMix64(seed: UInt64(dataShards * 100 + parityShards))
        let length = 1_200
        let shards = Shards(coder: coder, length: length, rng: &rng)
        let original = shards.bytes
        let total = dataShards + parityShards
        for trial in 0..<64 {
            // Erase `erasures` random shards (trial 0: none; the last trials: exactly M).
            let erasures = trial == 0 ? 0 : min(parityShards, 1 + trial % parityShards)
            var erased = Set<Int>()
            while erased.count < erasures { erased.insert(Int.random(in: 0..<total, using: &rng)) }
            var available: UInt64 = 0
            for index in 0..<total where !erased.contains(index) { available |= 1 << UInt64(index) }
            for index in erased { shards.bytes[index] = [UInt8](repeating: 0xEE, count: length) }
            let rebuilt = shards.withPointers { coder.rebuild(length: length, available: available, shard: $0) }
            let expected = erased.filter { $0 < dataShards }.reduce(UInt64(0)) { $0 | 1 << UInt64($1) }
            #expect(rebuilt == expected, "trial \(trial)")
            for index in 0..<dataShards {
                #expect(shards.bytes[index] == original[index], "trial \(trial) shard \(index)")
            }
            shards.bytes = original
        }
    }

    @Test func fewerThanKShardsRebuildNothing() throws {
        let coder = try #require(ErasureCoder(dataShards: 4, parityShards: 2))
        var rng = SplitMix64(seed: 7)
        let shards = Shards(coder: coder, length: 100, rng: &rng)
        let available: UInt64 = 0b11_0001  // shards 0, 4, 5: three of K = 4
        #expect(shards.withPointers { coder.rebuild(length: 100, available: available, shard: $0) } == nil)
    }

    /// Known parity bytes: the protocol document's FEC test vector is coded the same way.
    @Test func parityOfAKnownGroup() throws {
        let coder = try #require(ErasureCoder(dataShards: 2, parityShards: 1))
        var rng = SplitMix64(seed: 0)
        let shards = Shards(coder: coder, length: 4, rng: &rng)
        shards.bytes[0] = [0x01, 0x02, 0x03, 0x04]
        shards.bytes[1] = [0x10, 0x20, 0x00, 0x00]
        shards.withPointers { coder.encode(length: 4, shard: $0) }
        // ISA-L's Cauchy row for K = 2, M = 1 (a pinned value: a change of library or
        // matrix would break every mixed-version tunnel, so it must fail a test).
        #expect(hexString(shards.bytes[2]) == "75ea8f02")
        var available: UInt64 = 0b110
        shards.bytes[0] = [0, 0, 0, 0]
        _ = shards.withPointers { coder.rebuild(length: 4, available: available, shard: $0) }
        #expect(shards.bytes[0] == [0x01, 0x02, 0x03, 0x04])
        available = 0b101
        shards.bytes[1] = [9, 9, 9, 9]
        _ = shards.withPointers { coder.rebuild(length: 4, available: available, shard: $0) }
        #expect(shards.bytes[1] == [0x10, 0x20, 0x00, 0x00])
    }
}
