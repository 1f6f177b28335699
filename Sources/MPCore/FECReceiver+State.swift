// What an ``FECReceiver`` holds per group and per payload kept or rebuilt.

extension FECReceiver {
    struct Group {
        var header: ParityHeader
        /// Parity shards held (bit `index`).
        var parity: UInt64 = 0
        var firstAt: Timestamp
        /// K shards are in and payloads missing: when the missing ones are rebuilt unless
        /// their frames come first; `nil` before.
        var rebuildAt: Timestamp?
    }

    /// What a slot of ``kept`` holds: the payload numbered `sequence`, `length` bytes, and
    /// when it arrived (when it was rebuilt, for a rebuilt one).
    struct KeptPayload {
        var sequence: UInt64
        var length: Int
        var arrivedAt: Timestamp
    }

    /// A rebuilt payload waiting to be delivered: its slot in ``kept``.
    struct Rebuilt {
        var sequence: UInt64
        var flowID: UInt32
        var length: Int
    }
}
