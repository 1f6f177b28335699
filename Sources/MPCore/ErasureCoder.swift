import CISAL

/// A systematic Reed-Solomon erasure code over GF(2⁸) with `dataShards` (K) data shards and
/// `parityShards` (M) parity shards, from Intel ISA-L (`gf_gen_cauchy1_matrix`,
/// `ec_init_tables`, `ec_encode_data`, `gf_invert_matrix`): any K of the K + M shards give
/// back the K data shards. Systematic: the data shards are the data itself, so a receiver
/// that has every data shard never decodes.
///
/// Shards are `length` bytes each; the caller zero-pads shorter data up to `length`
/// (``FECGroup`` codes over the longest payload and carries each length). Shard `i` is
/// named by its index: 0..<K data, K..<K+M parity.
///
/// Every table and scratch matrix is allocated at init: ``encode(length:shard:)`` and
/// ``rebuild(length:available:shard:)`` allocate nothing. Not safe for concurrent use.
public final class ErasureCoder {
    /// K: data shards of a group, 1...``Defaults/maximumFECDataShards``.
    public let dataShards: Int
    /// M: parity shards of a group, 1...``Defaults/maximumFECParityShards``.
    public let parityShards: Int
    /// The (K + M) × K generator matrix: identity on top, Cauchy rows below.
    private let matrix: UnsafeMutablePointer<UInt8>
    /// ISA-L's expanded tables of the M parity rows (32 bytes per coefficient).
    private let encodeTables: UnsafeMutablePointer<UInt8>
    /// Scratch for a rebuild: the K rows of the shards present, their inverse, the rows of
    /// the missing data shards and their tables; and K + M shard pointers.
    private let presentRows: UnsafeMutablePointer<UInt8>
    private let inverse: UnsafeMutablePointer<UInt8>
    private let decodeRows: UnsafeMutablePointer<UInt8>
    private let decodeTables: UnsafeMutablePointer<UInt8>
    private let sources: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>
    private let outputs: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>

    /// A coder for K:M, or `nil` outside the limits ``Defaults/maximumFECDataShards`` and
    /// ``Defaults/maximumFECParityShards``.
    public init?(dataShards: Int, parityShards: Int) {
        guard (1...Defaults.maximumFECDataShards).contains(dataShards),
            (1...Defaults.maximumFECParityShards).contains(parityShards)
        else { return nil }
        self.dataShards = dataShards
        self.parityShards = parityShards
        let shards = dataShards + parityShards
        matrix = .allocate(capacity: shards * dataShards)
        encodeTables = .allocate(capacity: dataShards * parityShards * 32)
        presentRows = .allocate(capacity: dataShards * dataShards)
        inverse = .allocate(capacity: dataShards * dataShards)
        decodeRows = .allocate(capacity: dataShards * dataShards)
        decodeTables = .allocate(capacity: dataShards * dataShards * 32)
        sources = .allocate(capacity: shards)
        outputs = .allocate(capacity: shards)
        gf_gen_cauchy1_matrix(matrix, Int32(shards), Int32(dataShards))
        ec_init_tables(
            Int32(dataShards), Int32(parityShards), matrix + dataShards * dataShards, encodeTables)
    }

    deinit {
        for pointer in [matrix, encodeTables, presentRows, inverse, decodeRows, decodeTables] {
            pointer.deallocate()
        }
        sources.deallocate()
        outputs.deallocate()
    }

    /// Writes the M parity shards from the K data shards, `length` bytes each:
    /// `shard(i)` is the start of shard `i`'s bytes, at least `length` of them.
    public func encode(length: Int, shard: (Int) -> UnsafeMutablePointer<UInt8>) {
        guard length > 0 else { return }
        for index in 0..<dataShards { sources[index] = shard(index) }
        for index in 0..<parityShards { outputs[index] = shard(dataShards + index) }
        ec_encode_data(Int32(length), Int32(dataShards), Int32(parityShards), encodeTables, sources, outputs)
    }

    /// Rebuilds every data shard missing from `available` (bit `i` set: shard `i` holds its
    /// `length` bytes) into `shard(i)`, from the first K available shards. Returns the data
    /// shards rebuilt (a bit set per shard), or `nil` when fewer than K shards are
    /// available. Parity shards missing are not rebuilt.
    public func rebuild(length: Int, available: UInt64, shard: (Int) -> UnsafeMutablePointer<UInt8>) -> UInt64? {
        let shards = dataShards + parityShards
        let allData: UInt64 = dataShards == 64 ? ~0 : (1 << UInt64(dataShards)) - 1
        let missing = ~available & allData
        guard missing != 0 else { return 0 }
        var taken = 0
        for index in 0..<shards where taken < dataShards && available & (1 << UInt64(index)) != 0 {
            (presentRows + taken * dataShards).update(from: matrix + index * dataShards, count: dataShards)
            sources[taken] = shard(index)
            taken += 1
        }
        guard taken == dataShards else { return nil }
        // A Cauchy generator's every K × K submatrix is invertible; a failure would be a bug.
        guard gf_invert_matrix(presentRows, inverse, Int32(dataShards)) == 0 else { return nil }
        var rows = 0
        for index in 0..<dataShards where missing & (1 << UInt64(index)) != 0 {
            (decodeRows + rows * dataShards).update(from: inverse + index * dataShards, count: dataShards)
            outputs[rows] = shard(index)
            rows += 1
        }
        guard length > 0 else { return missing }
        ec_init_tables(Int32(dataShards), Int32(rows), decodeRows, decodeTables)
        ec_encode_data(Int32(length), Int32(dataShards), Int32(rows), decodeTables, sources, outputs)
        return missing
    }
}
