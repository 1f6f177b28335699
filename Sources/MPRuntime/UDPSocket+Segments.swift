// UDP segmentation offload (GSO): the same-sized datagrams a batch sends to one address go
// to the kernel as one buffer and one message, which it cuts into datagrams only at the
// end of its path (on loopback, at the receiving socket; on a network card, in the card or
// just before it). The stack is walked once for the run instead of once per datagram.
// Receivers see ordinary datagrams. A kernel or route that refuses the offload gets the
// datagrams one by one, and the socket stops asking for it (``UDPSocket/segmentLimit``).
import CSocketExtras
import Glibc
import MPCore

/// The messages of a ``SendBatch`` regrouped into runs: each run is the messages to one
/// address, in their order, of one length but for a shorter last one, sent as one message
/// with a UDP_SEGMENT control message when it holds more than one. A longer message that
/// leads (``SendBatch/append(_:path:to:leads:)``) starts the run of its address ahead of
/// the messages before it.
final class SegmentPlan {
    /// Datagrams per offloaded message: 64, what every kernel with UDP GSO takes (its
    /// UDP_MAX_SEGMENTS; newer kernels take 128, which receivers allow for, see
    /// ``ReceiveBatch/maximumRunSegments``).
    static let maximumSegments = 64
    /// Bytes per offloaded message: what one IPv4 UDP datagram can carry.
    static let maximumBytes = 65_507
    /// A control message with a 16-bit value: the cmsghdr (16 bytes) and the value, padded.
    private static let controlSpace = MemoryLayout<cmsghdr>.size + 8

    /// Runs made by the last ``build(from:segmentLimit:)``.
    private(set) var count = 0
    let messages: MessageHeaders
    private let vectors: UnsafeMutablePointer<iovec>
    private let controls: UnsafeMutableRawPointer
    /// The batch's message indices in run order; run `k` is `members[firstMember[k]..<firstMember[k + 1]]`.
    private let members: UnsafeMutablePointer<Int>
    private let firstMember: UnsafeMutablePointer<Int>
    private let segmentSizes: UnsafeMutablePointer<Int>
    private let placed: UnsafeMutablePointer<Bool>

    init(capacity: Int) {
        messages = MessageHeaders(count: capacity)
        vectors = .allocate(capacity: 2 * capacity)
        vectors.initialize(repeating: iovec(), count: 2 * capacity)
        controls = .allocate(byteCount: capacity * Self.controlSpace, alignment: 8)
        controls.initializeMemory(as: UInt8.self, repeating: 0, count: capacity * Self.controlSpace)
        members = .allocate(capacity: capacity)
        members.initialize(repeating: 0, count: capacity)
        firstMember = .allocate(capacity: capacity + 1)
        firstMember.initialize(repeating: 0, count: capacity + 1)
        segmentSizes = .allocate(capacity: capacity)
        segmentSizes.initialize(repeating: 0, count: capacity)
        placed = .allocate(capacity: capacity)
        placed.initialize(repeating: false, count: capacity)
    }

    deinit {
        messages.deallocate()
        vectors.deallocate()
        controls.deallocate()
        members.deallocate()
        firstMember.deallocate()
        segmentSizes.deallocate()
        placed.deallocate()
    }

    /// The batch's message indices in run `run`.
    func members(of run: Int) -> UnsafeBufferPointer<Int> {
        UnsafeBufferPointer(start: members + firstMember[run], count: firstMember[run + 1] - firstMember[run])
    }

    /// The datagram size of run `run` (its first message's length).
    func segmentSize(of run: Int) -> Int { segmentSizes[run] }

    /// Groups the messages of `batch` into runs; messages longer than `segmentLimit` (or
    /// empty) run alone. Returns true when some run holds more than one message.
    func build(from batch: SendBatch, segmentLimit: Int) -> Bool {
        for index in 0..<batch.count { placed[index] = false }
        count = 0
        var placedCount = 0
        var vectorCount = 0
        var merged = false
        for earliest in 0..<batch.count where !placed[earliest] {
            // A longer leader to the same address starts the run, and the earliest message
            // may end it as its shorter last one.
            let first = leader(in: batch, from: earliest) ?? earliest
            let size = batch.length(first)
            firstMember[count] = placedCount
            segmentSizes[count] = size
            let firstVector = vectorCount
            var total = 0
            var next = first
            // The run: the leader, then later messages to the same address in their order,
            // while they are as long as the first; one shorter message may end it.
            while true {
                placed[next] = true
                members[placedCount] = next
                placedCount += 1
                let (source, sourceCount) = batch.vectors(of: next)
                (vectors + vectorCount).update(from: source, count: sourceCount)
                vectorCount += sourceCount
                total += batch.length(next)
                guard size > 0, size <= segmentLimit, batch.length(next) == size,
                    placedCount - firstMember[count] < Self.maximumSegments,
                    let candidate = nextCandidate(in: batch, after: next == first ? earliest - 1 : next, like: first)
                else { break }
                let length = batch.length(candidate)
                guard length > 0, length <= size, total + length <= Self.maximumBytes else { break }
                next = candidate
            }
            let runLength = placedCount - firstMember[count]
            merged = merged || runLength > 1
            setHeader(
                run: count, batch: batch, first: first, vectors: firstVector, vectorCount: vectorCount - firstVector,
                segmented: runLength > 1)
            count += 1
        }
        firstMember[count] = placedCount
        return merged
    }

    /// The first message from `earliest` on, not yet placed, that goes where `earliest`
    /// goes, leads, and is longer than `earliest`; nil when there is none.
    private func leader(in batch: SendBatch, from earliest: Int) -> Int? {
        let size = batch.length(earliest)
        var candidate = earliest + 1
        while candidate < batch.count {
            if !placed[candidate], batch.leads(candidate), batch.length(candidate) > size,
                batch.sameDestination(earliest, candidate)
            {
                return candidate
            }
            candidate += 1
        }
        return nil
    }

    /// The first message after `index` not yet placed that goes where `first` goes.
    private func nextCandidate(in batch: SendBatch, after index: Int, like first: Int) -> Int? {
        var candidate = index + 1
        while candidate < batch.count {
            if !placed[candidate], batch.sameDestination(first, candidate) { return candidate }
            candidate += 1
        }
        return nil
    }

    private func setHeader(
        run: Int, batch: SendBatch, first: Int, vectors firstVector: Int, vectorCount: Int, segmented: Bool
    ) {
        let (name, nameLength) = batch.destination(of: first)
        var header = msghdr(
            msg_name: name, msg_namelen: nameLength, msg_iov: vectors + firstVector, msg_iovlen: vectorCount,
            msg_control: nil, msg_controllen: 0, msg_flags: 0)
        if segmented {
            let control = controls + run * Self.controlSpace
            var message = cmsghdr()
            message.cmsg_len = MemoryLayout<cmsghdr>.size + MemoryLayout<UInt16>.size
            message.cmsg_level = MP_SOL_UDP
            message.cmsg_type = MP_UDP_SEGMENT
            control.storeBytes(of: message, as: cmsghdr.self)
            control.storeBytes(
                of: UInt16(segmentSizes[run]), toByteOffset: MemoryLayout<cmsghdr>.size, as: UInt16.self)
            header.msg_control = control
            header.msg_controllen = Self.controlSpace
        }
        messages.setHeader(header, at: run)
    }
}

extension UDPSocket {
    /// Sends the runs of `plan` (built from `batch`) and tells `outcome` for each message of
    /// the batch. A run the kernel refuses to offload is sent again one datagram at a time,
    /// and the socket asks for no offload of that size again: EINVAL or EMSGSIZE (the
    /// datagram size does not fit the route's MTU), or EIO and the like (no offload at all
    /// on this route or kernel).
    func sendRuns(_ plan: SegmentPlan, of batch: SendBatch, _ outcome: (_ index: Int, _ sent: Bool) -> Void) {
        var start = 0
        while start < plan.count {
            let sent = mp_sendmmsg(
                fd, plan.messages.pointer(from: start), UInt32(plan.count - start), Int32(MSG_NOSIGNAL))
            if sent > 0 {
                for run in start..<(start + Int(sent)) {
                    for index in plan.members(of: run) { outcome(index, true) }
                }
                start += Int(sent)
                continue
            }
            let code = errno
            if sent < 0, code == EINTR { continue }
            let members = plan.members(of: start)
            if members.count > 1, let limit = Self.segmentLimit(after: code, size: plan.segmentSize(of: start)) {
                segmentLimit = min(segmentLimit, limit)
                for index in members { outcome(index, sendAlone(index, of: batch)) }
            } else {
                for index in members { outcome(index, false) }
            }
            start += 1
        }
    }

    /// The largest datagram size to offload after the kernel refused a run of `size` with
    /// `code`; nil when the refusal has nothing to do with the offload (a full buffer, an
    /// ICMP error).
    static func segmentLimit(after code: Int32, size: Int) -> Int? {
        switch code {
        case EINVAL, EMSGSIZE: size - 1
        case EIO, ENOPROTOOPT, EOPNOTSUPP: 0
        default: nil
        }
    }

    private func sendAlone(_ index: Int, of batch: SendBatch) -> Bool {
        while true {
            let sent = mp_sendmmsg(fd, batch.messages.pointer(from: index), 1, Int32(MSG_NOSIGNAL))
            if sent == 1 { return true }
            if sent < 0, errno == EINTR { continue }
            return false
        }
    }
}

extension UDPSocket {
    /// Asks the kernel to hand over runs of same-sized datagrams from one sender as one
    /// buffer (UDP GRO), which ``ReceiveBatch/forEachDatagram(in:_:)`` takes apart (frames,
    /// read at offset 0) or ``ReceiveBatch/forEachPayload(in:offset:reserve:_:)`` spreads
    /// apart (payloads read at an offset, into slots of ``ReceiveBatch/payloadRunSlotSize``).
    /// False when the kernel does not offer it (before Linux 5.0); datagrams then come one
    /// by one, as without it.
    @discardableResult
    public func enableReceiveCoalescing() -> Bool {
        return (try? setOption(level: MP_SOL_UDP, name: MP_UDP_GRO, value: 1, call: "setsockopt(UDP_GRO)")) != nil
    }
}

extension ReceiveBatch {
    /// The most datagrams one run may hold: the kernel's UDP_MAX_SEGMENTS, which was 64 and
    /// is 128 in newer kernels (a run from a local sender is its offloaded send, kept whole).
    static let maximumRunSegments = 128

    /// The slot size of a batch that receives payloads at an offset from a socket with
    /// receive coalescing on: the largest UDP payload, and room to spread a run of
    /// ``maximumRunSegments`` payloads apart with a frame's header and tag around each.
    public static let payloadRunSlotSize = 65_507 + maximumRunSegments * FrameLayout.maximumOverhead

    /// Calls `body` with each payload of slot `index`, received at `offset` with `reserve`
    /// bytes left after it: a buffer whose bytes from `offset` on hold the payload, `length`
    /// bytes of it, with `reserve` bytes free after them (the slot itself for a single
    /// datagram, whose length may exceed the slot when it was truncated). The payloads of a
    /// coalesced run are first spread apart in the slot, the last one first, so that each
    /// can be framed where it lies; they stay there until the next receive. Returns how many
    /// payloads of a run did not fit (none when the slot has ``payloadRunSlotSize`` bytes):
    /// they are lost.
    @discardableResult
    public func forEachPayload(
        in index: Int, offset: Int, reserve: Int,
        _ body: (_ buffer: UnsafeMutableRawBufferPointer, _ length: Int) -> Void
    ) -> Int {
        let slot = slot(index)
        guard let size = segmentSize(index) else {
            body(slot, length(index))
            return 0
        }
        // A run longer than the room was cut (MSG_TRUNC): its last, partial payload is lost.
        let room = slotSize - offset - reserve
        let total = length(index) <= room ? length(index) : room - room % size
        let count = (total + size - 1) / size
        let stride = offset + size + reserve
        let fitting = min(count, slotSize / stride)
        let base = slot.baseAddress!
        var payload = fitting - 1
        while payload > 0 {
            let payloadLength = min(size, total - payload * size)
            // The destination lies at or after the source, and after every earlier payload.
            memmove(base + payload * stride + offset, base + offset + payload * size, payloadLength)
            payload -= 1
        }
        for payload in 0..<fitting {
            let start = payload * stride
            body(
                UnsafeMutableRawBufferPointer(rebasing: slot[start..<(start + stride)]),
                min(size, total - payload * size))
        }
        return (length(index) + size - 1) / size - fitting
    }
}
