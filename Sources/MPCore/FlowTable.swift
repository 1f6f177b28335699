/// mpclient's flows: one per application address, each with a nonzero 32-bit id that travels
/// in the frames, so that a reply goes back to the address that owns the flow and nowhere else.
///
/// Bounded by `capacity`: a new address when the table is full replaces the flow idle the
/// longest. Ids are never reused within a session. Not safe for concurrent use.
public struct FlowTable<Address: Hashable> {
    struct Entry {
        var address: Address
        var lastActivity: Timestamp
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

    /// The flow id of `address`, created if new; marks the flow active at `now`.
    public mutating func flowID(for address: Address, now: Timestamp) -> UInt32 {
        if let id = idsByAddress[address] {
            touch(id, now: now)
            return id
        }
        if entries.count >= capacity { evictLeastRecentlyActive() }
        lastID = lastID == .max ? 1 : lastID + 1
        idsByAddress[address] = lastID
        entries[lastID] = Entry(address: address, lastActivity: now)
        return lastID
    }

    /// The address that owns flow `id`, marking it active at `now`; `nil` for an unknown id.
    public mutating func address(of id: UInt32, now: Timestamp) -> Address? {
        touch(id, now: now)?.address
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
    private mutating func touch(_ id: UInt32, now: Timestamp) -> Entry? {
        guard var entry = entries[id] else { return nil }
        entry.lastActivity = now
        entries[id] = entry
        return entry
    }

    private mutating func evictLeastRecentlyActive() {
        guard let oldest = entries.min(by: { $0.value.lastActivity < $1.value.lastActivity }) else { return }
        remove(id: oldest.key, address: oldest.value.address)
    }

    private mutating func remove(id: UInt32, address: Address) {
        entries[id] = nil
        idsByAddress[address] = nil
    }
}
