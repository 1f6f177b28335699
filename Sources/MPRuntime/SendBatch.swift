// The sending half of the data path's batch syscalls: sendmmsg sends a batch in one call (the
// same frame to every path of a session, or a burst of frames on one path; UDPSocket+Batch.swift).
// Message headers, vectors and addresses are allocated once with the batch: nothing is
// allocated per datagram.
import CSocketExtras
import Glibc
import MPCore

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
    /// Messages that may go ahead of earlier ones to their address (``append(_:path:to:leads:)``).
    private let leaders: UnsafeMutablePointer<Bool>
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
        leaders = .allocate(capacity: self.capacity)
        leaders.initialize(repeating: false, count: self.capacity)
    }

    deinit {
        prefixes.deallocate()
        messages.deallocate()
        vectors.deallocate()
        vectorCounts.deallocate()
        addresses.deallocate()
        nameLengths.deallocate()
        pathIDs.deallocate()
        leaders.deallocate()
    }

    public var isFull: Bool { count == capacity }

    /// The path of message `index` (-1 for a datagram that is not a frame).
    func path(_ index: Int) -> Int { pathIDs[index] }

    /// True when message `index` may be sent ahead of earlier messages to its address.
    func leads(_ index: Int) -> Bool { leaders[index] }

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
    ///
    /// A frame that `leads` (`mode fec`'s parity, longer than the payload frames of its
    /// group) may go ahead of shorter frames queued before it for the same address: an
    /// offloaded run starts with it and takes one of them as its shorter last datagram,
    /// where the parity would otherwise break the run of payload frames in two.
    @discardableResult
    func append(_ frame: UnsafeRawBufferPointer, path: Int, to address: SocketAddress?, leads: Bool = false) -> Bool {
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
        leaders[index] = leads
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
        leaders[count] = false
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

    func send(on fd: Int32, from start: Int) -> Int32 {
        mp_sendmmsg(fd, messages.pointer(from: start), UInt32(count - start), Int32(MSG_NOSIGNAL))
    }
}
