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

    /// The bytes the kernel received into or sent from message `index`.
    func length(at index: Int) -> Int {
        Int((base + index * Self.stride).load(fromByteOffset: Self.lengthOffset, as: UInt32.self))
    }
}

/// Up to `capacity` datagrams received by one ``UDPSocket/receive(into:offset:reserve:)``,
/// each in its own slot of ``FrameBuffer/capacity`` bytes.
final class ReceiveBatch {
    let capacity: Int
    /// Datagrams the last receive took.
    private(set) var count = 0
    private let storage: UnsafeMutableRawBufferPointer
    private let messages: MessageHeaders
    private let vectors: UnsafeMutablePointer<iovec>
    private let addresses: UnsafeMutablePointer<sockaddr_storage>

    /// Slots are not touched here: a slot's pages become resident only when a datagram
    /// that large arrives.
    init(capacity: Int) {
        self.capacity = capacity
        storage = .allocate(byteCount: capacity * FrameBuffer.capacity, alignment: 16)
        messages = MessageHeaders(count: capacity)
        vectors = .allocate(capacity: capacity)
        vectors.initialize(repeating: iovec(), count: capacity)
        addresses = .allocate(capacity: capacity)
        addresses.initialize(repeating: sockaddr_storage(), count: capacity)
    }

    deinit {
        storage.deallocate()
        messages.deallocate()
        vectors.deallocate()
        addresses.deallocate()
    }

    /// Slot `index`, all ``FrameBuffer/capacity`` bytes of it.
    func slot(_ index: Int) -> UnsafeMutableRawBufferPointer {
        let start = index * FrameBuffer.capacity
        return UnsafeMutableRawBufferPointer(rebasing: storage[start..<(start + FrameBuffer.capacity)])
    }

    /// The real length of datagram `index` (MSG_TRUNC): more than the room it was given
    /// when it was truncated.
    func length(_ index: Int) -> Int { messages.length(at: index) }

    /// Where datagram `index` came from; nil for an address family the daemons do not use.
    func source(_ index: Int) -> SocketAddress? { SocketAddress(storage: addresses[index]) }

    /// Where the last ``prepare(offset:reserve:)`` pointed the messages, if it did.
    private var prepared: (offset: Int, reserve: Int)?

    /// Points every message at its slot, from `offset`, leaving `reserve` bytes at the end.
    /// Only the address lengths the kernel overwrote are reset when the layout is the same.
    fileprivate func prepare(offset: Int, reserve: Int) {
        if let prepared, prepared == (offset, reserve) {
            for index in 0..<count { messages.resetNameLength(at: index) }
            return
        }
        for index in 0..<capacity {
            vectors[index] = iovec(
                iov_base: slot(index).baseAddress! + offset, iov_len: FrameBuffer.capacity - offset - reserve)
            let header = msghdr(
                msg_name: UnsafeMutableRawPointer(addresses + index),
                msg_namelen: socklen_t(MemoryLayout<sockaddr_storage>.size), msg_iov: vectors + index,
                msg_iovlen: 1, msg_control: nil, msg_controllen: 0, msg_flags: 0)
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

/// Frames for one ``UDPSocket/send(_:_:)``: each message is the frame's first bytes up to
/// and including the path id, copied into the batch with the path's id, then the rest of
/// the frame where it lies. So one sealed frame goes to every path in one call, each copy
/// with its own path-id hint, without copying the frame.
final class SendBatch {
    let capacity: Int
    /// Messages appended since the last ``removeAll()``.
    private(set) var count = 0
    private static let prefixSize = FrameLayout.pathIDOffset + 1
    private let prefixes: UnsafeMutableRawPointer
    private let messages: MessageHeaders
    private let vectors: UnsafeMutablePointer<iovec>
    private let addresses: UnsafeMutablePointer<sockaddr_storage>
    private let pathIDs: UnsafeMutablePointer<Int>
    private let mapsToIPv6: Bool

    /// A batch for a socket of `family` (an IPv6 socket gets IPv4 addresses mapped), of at
    /// most UIO_MAXIOV (1,024) messages, sendmmsg's limit.
    init(capacity: Int, family: SocketAddress.Family) {
        self.capacity = min(capacity, 1024)
        mapsToIPv6 = family == .ipv6
        prefixes = .allocate(byteCount: self.capacity * Self.prefixSize, alignment: 8)
        messages = MessageHeaders(count: self.capacity)
        vectors = .allocate(capacity: 2 * self.capacity)
        vectors.initialize(repeating: iovec(), count: 2 * self.capacity)
        addresses = .allocate(capacity: self.capacity)
        addresses.initialize(repeating: sockaddr_storage(), count: self.capacity)
        pathIDs = .allocate(capacity: self.capacity)
        pathIDs.initialize(repeating: 0, count: self.capacity)
    }

    deinit {
        prefixes.deallocate()
        messages.deallocate()
        vectors.deallocate()
        addresses.deallocate()
        pathIDs.deallocate()
    }

    var isFull: Bool { count == capacity }

    /// The path of message `index`.
    func path(_ index: Int) -> Int { pathIDs[index] }

    /// The length of message `index` in bytes.
    func length(_ index: Int) -> Int { Int(vectors[2 * index].iov_len + vectors[2 * index + 1].iov_len) }

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
        let header = msghdr(
            msg_name: name, msg_namelen: nameLength, msg_iov: vectors + 2 * index, msg_iovlen: 2, msg_control: nil,
            msg_controllen: 0, msg_flags: 0)
        messages.setHeader(header, at: index)
        pathIDs[index] = path
        count += 1
        return true
    }

    /// Forgets the messages (the frames they point at are the caller's).
    func removeAll() { count = 0 }

    fileprivate func send(on fd: Int32, from start: Int) -> Int32 {
        mp_sendmmsg(fd, messages.pointer(from: start), UInt32(count - start), Int32(MSG_NOSIGNAL))
    }
}

extension UDPSocket {
    /// What ``receive(into:offset:reserve:)`` found.
    enum BatchReceiveResult: Equatable {
        /// `count` datagrams, in the batch's first slots.
        case received(count: Int)
        /// Nothing waiting.
        case wouldBlock
        /// The receive failed (ECONNREFUSED after an ICMP error, say); the socket stays usable.
        case failed(errno: Int32)
    }

    /// Receives the waiting datagrams, at most the batch's capacity, in one call without
    /// blocking; each lands at `offset` in its slot with `reserve` bytes left free after it.
    func receive(into batch: ReceiveBatch, offset: Int = 0, reserve: Int = 0) -> BatchReceiveResult {
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
    func send(_ batch: SendBatch, _ outcome: (_ index: Int, _ sent: Bool) -> Void) {
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
