// Batch syscalls for the data path: recvmmsg takes the datagrams waiting on a socket, up to
// a batch, in one call; sendmmsg sends a batch in one call (the same frame to every path of
// a session, or a burst of frames on one path). The batches (ReceiveBatch.swift,
// SendBatch.swift) hold the message headers, vectors, addresses and buffers, allocated once:
// nothing is allocated per datagram.
import CSocketExtras
import Glibc
import MPCore

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
