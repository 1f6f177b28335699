// Batch syscalls for the data path: recvmmsg takes the datagrams waiting on a socket, up to
// a batch, in one call; sendmmsg sends a batch in one call (the same frame to every path of
// a session, or a burst of frames on one path). Message headers, vectors, addresses and
// buffers are allocated once with the batch: nothing is allocated per datagram.
import CSocketExtras
import Glibc
import MPCore

/// An array of the kernel's `struct mmsghdr` (a `msghdr`, then the unsigned int `msg_len`
/// the kernel fills in, padded to 8 bytes), laid out here because Swift's Glibc module does
/// not declare it.
struct MessageHeaders {
    private static let lengthOffset = MemoryLayout<msghdr>.size
    private static let nameLengthOffset = MemoryLayout<msghdr>.offset(of: \.msg_namelen)!
    private static let controlLengthOffset = MemoryLayout<msghdr>.offset(of: \.msg_controllen)!
    static let stride = (lengthOffset + MemoryLayout<UInt32>.size + 7) & ~7
    private let base: UnsafeMutableRawPointer

    init(count: Int) {
        base = .allocate(byteCount: count * Self.stride, alignment: 8)
        base.initializeMemory(as: UInt8.self, repeating: 0, count: count * Self.stride)
    }

    func deallocate() { base.deallocate() }

    /// What recvmmsg and sendmmsg take, starting at message `index`.
    func pointer(from index: Int) -> UnsafeMutableRawPointer { base + index * Self.stride }

    func setHeader(_ header: msghdr, at index: Int) {
        (base + index * Self.stride).storeBytes(of: header, as: msghdr.self)
        (base + index * Self.stride).storeBytes(of: 0, toByteOffset: Self.lengthOffset, as: UInt32.self)
    }

    /// Makes room for a whole `sockaddr_storage` again in message `index`'s address, which
    /// the kernel shortened to the length of the last address it wrote there.
    func resetNameLength(at index: Int) {
        (base + index * Self.stride).storeBytes(
            of: socklen_t(MemoryLayout<sockaddr_storage>.size), toByteOffset: Self.nameLengthOffset, as: socklen_t.self)
    }

    /// The length of message `index`'s control data: what the kernel wrote there after a
    /// receive.
    func controlLength(at index: Int) -> Int {
        (base + index * Self.stride).load(fromByteOffset: Self.controlLengthOffset, as: Int.self)
    }

    /// Gives message `index` `length` bytes of room for control data again.
    func resetControlLength(at index: Int, to length: Int) {
        (base + index * Self.stride).storeBytes(of: length, toByteOffset: Self.controlLengthOffset, as: Int.self)
    }

    /// The bytes the kernel received into or sent from message `index`.
    func length(at index: Int) -> Int {
        Int((base + index * Self.stride).load(fromByteOffset: Self.lengthOffset, as: UInt32.self))
    }
}

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
    fileprivate func prepare(offset: Int, reserve: Int) {
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

    fileprivate func receive(on fd: Int32) -> Int32 {
        let received = mp_recvmmsg(fd, messages.pointer(from: 0), UInt32(capacity), Int32(MSG_TRUNC))
        count = max(Int(received), 0)
        return received
    }
}

/// Datagrams for one ``UDPSocket/send(_:_:)``. A frame (``append(_:path:to:)``) is its
/// first bytes up to and including the path id, copied into the batch with the path's id,
/// then the rest of the frame where it lies: one sealed frame goes to every path in one
/// call, each copy with its own path-id hint, without copying the frame. Any other datagram
/// (``append(datagram:to:)``) is sent from where it lies.
public final class SendBatch {
    public let capacity: Int
    /// Messages appended since the last ``removeAll()``.
    public private(set) var count = 0
    private static let prefixSize = FrameLayout.pathIDOffset + 1
    private let prefixes: UnsafeMutableRawPointer
    let messages: MessageHeaders
    /// Two vectors per message, at `2 * index`: the prefix and the rest of a frame, or a
    /// whole datagram in the first.
    let vectors: UnsafeMutablePointer<iovec>
    private let vectorCounts: UnsafeMutablePointer<Int>
    private let addresses: UnsafeMutablePointer<sockaddr_storage>
    private let nameLengths: UnsafeMutablePointer<socklen_t>
    private let pathIDs: UnsafeMutablePointer<Int>
    private let mapsToIPv6: Bool
    /// The messages regrouped for segmentation offload, made at the first send that can use it.
    private(set) lazy var segments = SegmentPlan(capacity: capacity)

    /// A batch for a socket of `family` (an IPv6 socket gets IPv4 addresses mapped), of at
    /// most UIO_MAXIOV (1,024) messages, sendmmsg's limit.
    public init(capacity: Int, family: SocketAddress.Family) {
        self.capacity = min(capacity, 1024)
        mapsToIPv6 = family == .ipv6
        prefixes = .allocate(byteCount: self.capacity * Self.prefixSize, alignment: 8)
        messages = MessageHeaders(count: self.capacity)
        vectors = .allocate(capacity: 2 * self.capacity)
        vectors.initialize(repeating: iovec(), count: 2 * self.capacity)
        vectorCounts = .allocate(capacity: self.capacity)
        vectorCounts.initialize(repeating: 0, count: self.capacity)
        addresses = .allocate(capacity: self.capacity)
        addresses.initialize(repeating: sockaddr_storage(), count: self.capacity)
        nameLengths = .allocate(capacity: self.capacity)
        nameLengths.initialize(repeating: 0, count: self.capacity)
        pathIDs = .allocate(capacity: self.capacity)
        pathIDs.initialize(repeating: 0, count: self.capacity)
    }

    deinit {
        prefixes.deallocate()
        messages.deallocate()
        vectors.deallocate()
        vectorCounts.deallocate()
        addresses.deallocate()
        nameLengths.deallocate()
        pathIDs.deallocate()
    }

    public var isFull: Bool { count == capacity }

    /// The path of message `index` (-1 for a datagram that is not a frame).
    func path(_ index: Int) -> Int { pathIDs[index] }

    /// The length of message `index` in bytes.
    func length(_ index: Int) -> Int {
        vectorCounts[index] == 1
            ? vectors[2 * index].iov_len : Int(vectors[2 * index].iov_len + vectors[2 * index + 1].iov_len)
    }

    /// The vectors of message `index`, and how many there are.
    func vectors(of index: Int) -> (first: UnsafeMutablePointer<iovec>, count: Int) {
        (vectors + 2 * index, vectorCounts[index])
    }

    /// Where message `index` goes: its address and the address's length (nil and 0 for a
    /// connected socket's peer).
    func destination(of index: Int) -> (name: UnsafeMutableRawPointer?, length: socklen_t) {
        nameLengths[index] == 0 ? (nil, 0) : (UnsafeMutableRawPointer(addresses + index), nameLengths[index])
    }

    /// True when messages `first` and `second` go to the same address.
    func sameDestination(_ first: Int, _ second: Int) -> Bool {
        nameLengths[first] == nameLengths[second]
            && memcmp(addresses + first, addresses + second, Int(nameLengths[first])) == 0
    }

    /// Adds `frame` (a whole frame, at least a header long, which must stay where it is until
    /// the send) with `path` as its path-id hint, for `address`, or for a connected socket's
    /// peer when `address` is nil. False, and nothing added, when the batch is full.
    @discardableResult
    func append(_ frame: UnsafeRawBufferPointer, path: Int, to address: SocketAddress?) -> Bool {
        guard count < capacity, frame.count >= FrameLayout.headerSize else { return false }
        let index = count
        let prefix = prefixes + index * Self.prefixSize
        prefix.copyMemory(from: frame.baseAddress!, byteCount: Self.prefixSize)
        prefix.storeBytes(of: UInt8(truncatingIfNeeded: path), toByteOffset: FrameLayout.pathIDOffset, as: UInt8.self)
        vectors[2 * index] = iovec(iov_base: prefix, iov_len: Self.prefixSize)
        vectors[2 * index + 1] = iovec(
            iov_base: UnsafeMutableRawPointer(mutating: frame.baseAddress! + Self.prefixSize),
            iov_len: frame.count - Self.prefixSize)
        vectorCounts[index] = 2
        finishAppending(path: path, to: address)
        return true
    }

    /// Adds `datagram` as it is (it must stay where it is until the send), for `address`,
    /// or for a connected socket's peer when `address` is nil. False, and nothing added,
    /// when the batch is full.
    @discardableResult
    public func append(datagram: UnsafeRawBufferPointer, to address: SocketAddress?) -> Bool {
        guard count < capacity else { return false }
        vectors[2 * count] = iovec(
            iov_base: datagram.baseAddress.map { UnsafeMutableRawPointer(mutating: $0) }, iov_len: datagram.count)
        vectorCounts[count] = 1
        finishAppending(path: -1, to: address)
        return true
    }

    private func finishAppending(path: Int, to address: SocketAddress?) {
        let index = count
        var name: UnsafeMutableRawPointer?
        var nameLength: socklen_t = 0
        if let address {
            let address = mapsToIPv6 ? address.mappedToIPv6 : address
            nameLength = address.withSockAddr { source, length in
                UnsafeMutableRawPointer(addresses + index).copyMemory(from: source, byteCount: Int(length))
                return length
            }
            name = UnsafeMutableRawPointer(addresses + index)
        }
        nameLengths[index] = nameLength
        let header = msghdr(
            msg_name: name, msg_namelen: nameLength, msg_iov: vectors + 2 * index, msg_iovlen: vectorCounts[index],
            msg_control: nil, msg_controllen: 0, msg_flags: 0)
        messages.setHeader(header, at: index)
        pathIDs[index] = path
        count += 1
    }

    /// Forgets the messages (the frames they point at are the caller's).
    public func removeAll() { count = 0 }

    fileprivate func send(on fd: Int32, from start: Int) -> Int32 {
        mp_sendmmsg(fd, messages.pointer(from: start), UInt32(count - start), Int32(MSG_NOSIGNAL))
    }
}

extension UDPSocket {
    /// What ``receive(into:offset:reserve:)`` found.
    public enum BatchReceiveResult: Equatable {
        /// `count` datagrams, in the batch's first slots.
        case received(count: Int)
        /// Nothing waiting.
        case wouldBlock
        /// The receive failed (ECONNREFUSED after an ICMP error, say); the socket stays usable.
        case failed(errno: Int32)
    }

    /// Receives the waiting datagrams, at most the batch's capacity, in one call without
    /// blocking; each lands at `offset` in its slot with `reserve` bytes left free after it.
    public func receive(into batch: ReceiveBatch, offset: Int = 0, reserve: Int = 0) -> BatchReceiveResult {
        batch.prepare(offset: offset, reserve: reserve)
        while true {
            let received = batch.receive(on: fd)
            if received > 0 { return .received(count: Int(received)) }
            if received == 0 { return .wouldBlock }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            case let code: return .failed(errno: code)
            }
        }
    }

    /// Sends every message of `batch` without blocking, in as few calls as the kernel
    /// allows, and tells `outcome` for each (its index, and whether the kernel took it). A
    /// message the kernel refuses (a full buffer, an ICMP error) is skipped and the rest go
    /// on.
    ///
    /// Messages of one length to one address go as one offloaded message when the socket
    /// allows it (UDPSocket+Segments.swift).
    public func send(_ batch: SendBatch, _ outcome: (_ index: Int, _ sent: Bool) -> Void) {
        if batch.count > 1, segmentLimit > 0, batch.segments.build(from: batch, segmentLimit: segmentLimit) {
            sendRuns(batch.segments, of: batch, outcome)
            return
        }
        var start = 0
        while start < batch.count {
            let sent = batch.send(on: fd, from: start)
            if sent > 0 {
                for index in start..<(start + Int(sent)) { outcome(index, true) }
                start += Int(sent)
            } else if sent < 0, errno == EINTR {
                continue
            } else {
                outcome(start, false)
                start += 1
            }
        }
    }
}
