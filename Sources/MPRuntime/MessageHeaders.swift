// The kernel's `struct mmsghdr` array that recvmmsg and sendmmsg take, for ReceiveBatch and
// SendBatch: allocated once with its batch, so nothing is allocated per datagram.
import Glibc

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
