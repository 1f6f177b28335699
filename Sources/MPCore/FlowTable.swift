/// mpclient's flows: one per application address, each with a nonzero 32-bit id that travels
/// in the frames, so that a reply goes back to the address that owns the flow and nowhere else.
///
/// Bounded by `capacity`. A new address when the table is full takes the place of the flow
/// idle the longest among those that are neither established (``Defaults/flowEstablishedAfter``
/// datagrams each way) nor active within ``Defaults/flowDisplaceableAfter``; when there is
/// none, the new address is refused: a local process sending from thousands of ports cannot
/// push out the application's flow. Ids are never reused within a session. Not safe for
/// concurrent use.
public struct FlowTable<Address: Hashable> {
    struct Entry {
        var address: Address
        var lastActivity: Timestamp
        /// Datagrams from the application and replies to it, each counted up to
        /// ``Defaults/flowEstablishedAfter``.
        var sent: UInt8 = 0
        var received: UInt8 = 0

        /// True once the flow has carried ``Defaults/flowEstablishedAfter`` datagrams each way.
        var isEstablished: Bool {
            Int(sent) >= Defaults.flowEstablishedAfter && Int(received) >= Defaults.flowEstablishedAfter
        }
    }

    private var idsByAddress: [Address: UInt32] = [:]
    private var entries: [UInt32: Entry] = [:]
    private var lastID: UInt32 = 0
    /// The most flows kept at once.
    public let capacity: Int

    /// An empty table holding at most `capacity` flows (at least one).
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Number of flows.
    public var count: Int { entries.count }

    /// The flow id of a datagram from `address`, created if new, and marks the flow active
    /// at `now`; `nil` when the address is new and the table is full of flows that may not
    /// be displaced.
    public mutating func flowID(for address: Address, now: Timestamp) -> UInt32? {
        if let id = idsByAddress[address] {
            touch(id, now: now, sent: true)
            return id
        }
        if entries.count >= capacity {
            guard let displaced = displaceableFlow(now: now) else { return nil }
            remove(id: displaced.id, address: displaced.address)
        }
        lastID = lastID == .max ? 1 : lastID + 1
        idsByAddress[address] = lastID
        entries[lastID] = Entry(address: address, lastActivity: now, sent: 1)
        return lastID
    }

    /// The address that owns flow `id`, marking it active at `now`; `nil` for an unknown id.
    public mutating func address(of id: UInt32, now: Timestamp) -> Address? {
        touch(id, now: now, sent: false)?.address
    }

    /// True when the flow of `address` is established (tests and status).
    public func isEstablished(_ address: Address) -> Bool {
        idsByAddress[address].flatMap { entries[$0] }?.isEstablished ?? false
    }

    /// Forgets flows idle for `timeout` or longer at `now`; returns how many. Allocates only
    /// when some flow expires (the runtime calls it on every tick).
    @discardableResult
    public mutating func expire(idleFor timeout: TimeSpan, now: Timestamp) -> Int {
        var expiredCount = 0
        for entry in entries.values where now - entry.lastActivity >= timeout { expiredCount += 1 }
        guard expiredCount > 0 else { return 0 }
        let expired = entries.filter { now - $0.value.lastActivity >= timeout }
        for (id, entry) in expired { remove(id: id, address: entry.address) }
        return expired.count
    }

    /// Marks flow `id` active at `now` and returns its entry; `nil` for an unknown id.
    /// A read and a write rather than `entries[id]?.lastActivity = now`: the dictionary's
    /// in-place accessor is a coroutine whose frame unspecialized code allocates on the
    /// heap, and this runs for every datagram.
    @discardableResult
    private mutating func touch(_ id: UInt32, now: Timestamp, sent: Bool) -> Entry? {
        guard var entry = entries[id] else { return nil }
        entry.lastActivity = now
        let limit = UInt8(Defaults.flowEstablishedAfter)
        if sent { entry.sent = min(entry.sent + 1, limit) } else { entry.received = min(entry.received + 1, limit) }
        entries[id] = entry
        return entry
    }

    /// The flow idle the longest among those not established and idle for at least
    /// ``Defaults/flowDisplaceableAfter`` at `now`.
    private func displaceableFlow(now: Timestamp) -> (id: UInt32, address: Address)? {
        var oldest: (id: UInt32, entry: Entry)?
        for (id, entry) in entries
        where !entry.isEstablished && now - entry.lastActivity >= Defaults.flowDisplaceableAfter {
            if oldest.map({ entry.lastActivity < $0.entry.lastActivity }) ?? true { oldest = (id, entry) }
        }
        return oldest.map { ($0.id, $0.entry.address) }
    }

    private mutating func remove(id: UInt32, address: Address) {
        entries[id] = nil
        idsByAddress[address] = nil
    }
}
