// The receiving half of the data path's batch syscalls: recvmmsg takes the datagrams waiting
// on a socket, up to a batch, in one call (UDPSocket+Batch.swift). Message headers, vectors,
// addresses and buffers are allocated once with the batch: nothing is allocated per datagram.
import CSocketExtras
import Glibc
import MPCore

/// Up to `capacity` datagrams received by one ``UDPSocket/receive(into:offset:reserve:)``,
/// each in its own slot of ``slotSize`` bytes. From a socket with receive coalescing on
/// (``UDPSocket/enableReceiveCoalescing()``), a slot may hold a run of same-sized
/// datagrams: ``forEachDatagram(in:_:)`` takes frames apart, and
/// ``forEachPayload(in:offset:reserve:_:)`` spreads payloads apart so that each is framed
/// where it lies.
public final class ReceiveBatch {
    public let capacity: Int
    /// Bytes per slot: ``frameSlotSize``, or ``payloadRunSlotSize`` for payloads received
    /// in runs.
    public let slotSize: Int
    /// The slot size for frames and single datagrams: ``FrameBuffer/capacity``.
    public static let frameSlotSize = FrameBuffer.capacity
    /// Datagrams the last receive took.
    public private(set) var count = 0
    private let storage: UnsafeMutableRawBufferPointer
    private let messages: MessageHeaders
    private let vectors: UnsafeMutablePointer<iovec>
    private let addresses: UnsafeMutablePointer<sockaddr_storage>
    /// Room for each message's UDP_GRO control message (the datagram size of a run).
    private let controls: UnsafeMutableRawPointer
    /// A cmsghdr and a 32-bit value, padded.
    private static let controlSpace = MemoryLayout<cmsghdr>.size + 8

    /// Slots are not touched here: a slot's pages become resident only when a datagram
    /// that large arrives.
    public init(capacity: Int, slotSize: Int = frameSlotSize) {
        self.capacity = capacity
        self.slotSize = slotSize
        storage = .allocate(byteCount: capacity * slotSize, alignment: 16)
        messages = MessageHeaders(count: capacity)
        vectors = .allocate(capacity: capacity)
        vectors.initialize(repeating: iovec(), count: capacity)
        addresses = .allocate(capacity: capacity)
        addresses.initialize(repeating: sockaddr_storage(), count: capacity)
        controls = .allocate(byteCount: capacity * Self.controlSpace, alignment: 8)
        controls.initializeMemory(as: UInt8.self, repeating: 0, count: capacity * Self.controlSpace)
    }

    deinit {
        storage.deallocate()
        messages.deallocate()
        vectors.deallocate()
        addresses.deallocate()
        controls.deallocate()
    }

    /// The size of the datagrams coalesced into slot `index`, when the kernel put a run of
    /// them there; nil for a single datagram.
    public func segmentSize(_ index: Int) -> Int? {
        guard messages.controlLength(at: index) >= MemoryLayout<cmsghdr>.size + MemoryLayout<Int32>.size else {
            return nil
        }
        let control = controls + index * Self.controlSpace
        let header = control.load(as: cmsghdr.self)
        guard header.cmsg_level == MP_SOL_UDP, header.cmsg_type == MP_UDP_GRO else { return nil }
        let size = Int(control.load(fromByteOffset: MemoryLayout<cmsghdr>.size, as: Int32.self))
        return size > 0 && size < length(index) ? size : nil
    }

    /// Calls `body` with each datagram of slot `index` (received at offset 0): the one
    /// datagram, or each of a coalesced run, in order. A truncated datagram (longer than its
    /// slot) is passed cut to the slot: check ``length(_:)`` against the slot first.
    public func forEachDatagram(in index: Int, _ body: (UnsafeMutableRawBufferPointer) -> Void) {
        let slot = slot(index)
        let length = min(length(index), slot.count)
        guard let size = segmentSize(index) else {
            body(UnsafeMutableRawBufferPointer(rebasing: slot[0..<length]))
            return
        }
        var start = 0
        while start < length {
            let end = min(start + size, length)
            body(UnsafeMutableRawBufferPointer(rebasing: slot[start..<end]))
            start = end
        }
    }

    /// Slot `index`, all ``slotSize`` bytes of it.
    public func slot(_ index: Int) -> UnsafeMutableRawBufferPointer {
        let start = index * slotSize
        return UnsafeMutableRawBufferPointer(rebasing: storage[start..<(start + slotSize)])
    }

    /// The real length of datagram `index` (MSG_TRUNC): more than the room it was given
    /// when it was truncated.
    public func length(_ index: Int) -> Int { messages.length(at: index) }

    /// Where datagram `index` came from; nil for an address family the daemons do not use.
    public func source(_ index: Int) -> SocketAddress? { SocketAddress(storage: addresses[index]) }

    /// Where the last ``prepare(offset:reserve:)`` pointed the messages, if it did.
    private var prepared: (offset: Int, reserve: Int)?

    /// Points every message at its slot, from `offset`, leaving `reserve` bytes at the end.
    /// Only the address lengths the kernel overwrote are reset when the layout is the same.
    func prepare(offset: Int, reserve: Int) {
        if let prepared, prepared == (offset, reserve) {
            for index in 0..<count {
                messages.resetNameLength(at: index)
                messages.resetControlLength(at: index, to: Self.controlSpace)
            }
            return
        }
        for index in 0..<capacity {
            vectors[index] = iovec(
                iov_base: slot(index).baseAddress! + offset, iov_len: slotSize - offset - reserve)
            let header = msghdr(
                msg_name: UnsafeMutableRawPointer(addresses + index),
                msg_namelen: socklen_t(MemoryLayout<sockaddr_storage>.size), msg_iov: vectors + index,
                msg_iovlen: 1, msg_control: controls + index * Self.controlSpace, msg_controllen: Self.controlSpace,
                msg_flags: 0)
            messages.setHeader(header, at: index)
        }
        prepared = (offset, reserve)
    }

    func receive(on fd: Int32) -> Int32 {
        let received = mp_recvmmsg(fd, messages.pointer(from: 0), UInt32(capacity), Int32(MSG_TRUNC))
        count = max(Int(received), 0)
        return received
    }
}
