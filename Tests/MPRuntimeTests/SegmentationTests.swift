import Glibc
import MPCore
import MPTestSupport
import Testing

@testable import MPRuntime

@Suite("Segmentation offload")
struct SegmentationTests {
    /// `count` frames of `size` bytes; frame `n` is filled with `n` but for its path-id byte.
    private func frames(_ count: Int, size: Int) -> [[UInt8]] {
        (0..<count).map { [UInt8](repeating: UInt8($0), count: size) }
    }

    /// Appends `frames` to `batch` for `address` with path id `path`, runs `body`, keeping
    /// the frames in place meanwhile.
    private func withBatch(
        _ batch: SendBatch, of frames: [[UInt8]], path: Int, to address: SocketAddress?, _ body: () -> Void
    ) {
        func append(_ index: Int) {
            guard index < frames.count else { return body() }
            frames[index].withUnsafeBytes { bytes in
                #expect(batch.append(bytes, path: path, to: address))
                append(index + 1)
            }
        }
        append(0)
    }

    /// Reads datagrams one by one until `count` came or a second passed without one.
    private func receiveEach(_ socket: UDPSocket, count: Int) -> [[UInt8]] {
        var received: [[UInt8]] = []
        var buffer = [UInt8](repeating: 0, count: 70_000)
        while received.count < count {
            socket.waitReadable()
            guard case .datagram(let length, _) = buffer.withUnsafeMutableBytes({ socket.receive(into: $0) }) else {
                break
            }
            received.append(Array(buffer[0..<length]))
        }
        return received
    }

    private func expected(_ frame: [UInt8], path: Int) -> [UInt8] {
        var frame = frame
        frame[FrameLayout.pathIDOffset] = UInt8(path)
        return frame
    }

    @Test func runsFollowTheAddressAndTheLengthAndKeepEachAddressInOrder() {
        let batch = SendBatch(capacity: 8, family: .ipv4)
        let first = SocketAddress.loopbackIPv4(port: 1000)
        let second = SocketAddress.loopbackIPv4(port: 1001)
        let plan: [(size: Int, address: SocketAddress)] = [
            (100, first), (100, second), (100, first), (60, first), (100, first), (100, second), (120, second),
        ]
        let buffers = plan.map { [UInt8](repeating: 0, count: $0.size) }
        func append(_ index: Int) {
            guard index < plan.count else { return }
            buffers[index].withUnsafeBytes { bytes in
                batch.append(bytes, path: 0, to: plan[index].address)
                append(index + 1)
            }
        }
        append(0)
        #expect(batch.segments.build(from: batch, segmentLimit: .max))
        let runs = (0..<batch.segments.count).map { Array(batch.segments.members(of: $0)) }
        // The shorter 60 ends the first address's run; the longer 120 cannot join a run of 100.
        #expect(runs == [[0, 2, 3], [1, 5], [4], [6]])
        #expect(batch.segments.segmentSize(of: 0) == 100 && batch.segments.segmentSize(of: 3) == 120)
        // No run at all when the sizes are over the socket's limit.
        #expect(!batch.segments.build(from: batch, segmentLimit: 99))
        #expect(batch.segments.count == batch.count)
    }

    @Test func aLongerLeadingFrameStartsTheRunOfItsAddressAndTakesOneShorterFrameBeforeIt() {
        let batch = SendBatch(capacity: 8, family: .ipv4)
        let first = SocketAddress.loopbackIPv4(port: 1000)
        let second = SocketAddress.loopbackIPv4(port: 1001)
        let plan: [(size: Int, address: SocketAddress, leads: Bool)] = [
            (100, first, false), (100, second, false), (100, first, false), (120, first, true), (100, first, false),
            (90, second, true),
        ]
        let buffers = plan.map { [UInt8](repeating: 0, count: $0.size) }
        func append(_ index: Int) {
            guard index < plan.count else { return }
            buffers[index].withUnsafeBytes { bytes in
                batch.append(bytes, path: 0, to: plan[index].address, leads: plan[index].leads)
                append(index + 1)
            }
        }
        append(0)
        #expect(batch.segments.build(from: batch, segmentLimit: .max))
        let runs = (0..<batch.segments.count).map { Array(batch.segments.members(of: $0)) }
        // Parity (120) goes ahead and the first payload frame ends its run; a shorter leader
        // (90) waits its turn, as the shorter last datagram of its address's run.
        #expect(runs == [[3, 0], [1, 5], [2, 4]])
        #expect(batch.segments.segmentSize(of: 0) == 120 && batch.segments.segmentSize(of: 2) == 100)
    }

    @Test func aRunHoldsAtMost64DatagramsAnd65507Bytes() {
        let batch = SendBatch(capacity: 128, family: .ipv4)
        let small = [UInt8](repeating: 0, count: 100)
        let large = [UInt8](repeating: 0, count: 1_200)
        small.withUnsafeBytes { bytes in
            for _ in 0..<70 { batch.append(bytes, path: 0, to: nil) }
        }
        #expect(batch.segments.build(from: batch, segmentLimit: .max))
        #expect((0..<batch.segments.count).map { batch.segments.members(of: $0).count } == [64, 6])
        batch.removeAll()
        large.withUnsafeBytes { bytes in
            for _ in 0..<60 { batch.append(bytes, path: 0, to: nil) }
        }
        #expect(batch.segments.build(from: batch, segmentLimit: .max))
        // 54 × 1,200 = 64,800 bytes; a 55th would pass 65,507.
        #expect((0..<batch.segments.count).map { batch.segments.members(of: $0).count } == [54, 6])
    }

    @Test func aRunArrivesAsSeparateDatagramsEachWithItsPathID() throws {
        let receiver = try UDPSocket(bindingTo: .loopbackIPv4(port: 0))
        let sender = try UDPSocket(family: .ipv4)
        try sender.connect(to: receiver.localAddress)
        let batch = SendBatch(capacity: 16, family: .ipv4)
        let sent = frames(10, size: 300) + [[UInt8](repeating: 10, count: 120)]
        var outcomes: [Int: Bool] = [:]
        withBatch(batch, of: sent, path: 2, to: nil) {
            sender.send(batch) { index, done in outcomes[index] = done }
        }
        #expect(batch.segments.count == 1, "one offloaded message for the eleven frames")
        #expect(outcomes == Dictionary(uniqueKeysWithValues: (0..<11).map { ($0, true) }))
        #expect(receiveEach(receiver, count: 11) == sent.map { expected($0, path: 2) })
    }

    @Test func aCoalescingReceiverGetsTheRunInOneSlotAndTakesItApart() throws {
        let receiver = try UDPSocket(bindingTo: .loopbackIPv4(port: 0))
        #expect(receiver.enableReceiveCoalescing())
        let sender = try UDPSocket(family: .ipv4)
        let batch = SendBatch(capacity: 16, family: .ipv4)
        let sent = frames(10, size: 300) + [[UInt8](repeating: 10, count: 120)]
        withBatch(batch, of: sent, path: 1, to: try receiver.localAddress) {
            sender.send(batch) { _, _ in }
        }
        receiver.waitReadable()
        let received = ReceiveBatch(capacity: 4)
        #expect(receiver.receive(into: received) == .received(count: 1))
        #expect(received.length(0) == 3_120 && received.segmentSize(0) == 300)
        var datagrams: [[UInt8]] = []
        received.forEachDatagram(in: 0) { datagrams.append(Array($0)) }
        #expect(datagrams == sent.map { expected($0, path: 1) })
        // A single datagram on the same socket is just itself.
        #expect(
            [UInt8](repeating: 3, count: 50).withUnsafeBytes { sender.send($0, to: try! receiver.localAddress) }
                == .sent)
        receiver.waitReadable()
        #expect(receiver.receive(into: received) == .received(count: 1))
        #expect(received.segmentSize(0) == nil)
        datagrams = []
        received.forEachDatagram(in: 0) { datagrams.append(Array($0)) }
        #expect(datagrams == [[UInt8](repeating: 3, count: 50)])
    }

    @Test func aRunOfPayloadsIsSpreadApartSoThatEachIsFramedWhereItLies() throws {
        let receiver = try UDPSocket(bindingTo: .loopbackIPv4(port: 0))
        #expect(receiver.enableReceiveCoalescing())
        let sender = try UDPSocket(family: .ipv4)
        let batch = SendBatch(capacity: 64, family: .ipv4)
        // 64 datagrams, the last shorter: 63,400 bytes, one offloaded send.
        let sent = (0..<63).map { [UInt8](repeating: UInt8($0), count: 1_000) } + [[UInt8](repeating: 63, count: 400)]
        var outcomes = 0
        withExtendedLifetime(sent) {
            for payload in sent {
                payload.withUnsafeBytes { _ = batch.append(datagram: $0, to: try! receiver.localAddress) }
            }
            sender.send(batch) { _, ok in outcomes += ok ? 1 : 0 }
        }
        #expect(outcomes == 64)
        receiver.waitReadable()
        let received = ReceiveBatch(capacity: 4, slotSize: ReceiveBatch.payloadRunSlotSize)
        let header = FrameLayout.headerSize
        let tag = FrameLayout.tagSize
        #expect(receiver.receive(into: received, offset: header, reserve: tag) == .received(count: 1))
        #expect(received.segmentSize(0) == 1_000)
        // Framing each payload (a header before it, a tag after it) as it comes must not
        // touch the payloads still to come, nor those already framed.
        var buffers: [(UnsafeMutableRawBufferPointer, Int)] = []
        let lost = received.forEachPayload(in: 0, offset: header, reserve: tag) { buffer, length in
            #expect(buffer.count >= header + length + tag)
            buffers.append((buffer, length))
            UnsafeMutableRawBufferPointer(rebasing: buffer[0..<header]).initializeMemory(
                as: UInt8.self, repeating: 0xEE)
            UnsafeMutableRawBufferPointer(rebasing: buffer[(header + length)..<(header + length + tag)])
                .initializeMemory(as: UInt8.self, repeating: 0xDD)
        }
        #expect(lost == 0)
        #expect(buffers.map { Array($0.0[header..<(header + $0.1)]) } == sent)
        #expect(buffers.allSatisfy { $0.0[0] == 0xEE && $0.0[header + $0.1 + tag - 1] == 0xDD })
        // A single payload on the same socket is the slot itself.
        #expect(
            [UInt8](repeating: 9, count: 50).withUnsafeBytes { sender.send($0, to: try! receiver.localAddress) }
                == .sent)
        receiver.waitReadable()
        #expect(receiver.receive(into: received, offset: header, reserve: tag) == .received(count: 1))
        var single: [[UInt8]] = []
        received.forEachPayload(in: 0, offset: header, reserve: tag) { buffer, length in
            #expect(buffer.count == ReceiveBatch.payloadRunSlotSize)
            single.append(Array(buffer[header..<(header + length)]))
        }
        #expect(single == [[UInt8](repeating: 9, count: 50)])
    }

    @Test(arguments: [(12, 11, 1), (14, 11, 3)])
    func payloadsOfARunThatDoNotFitTheSlotAreCountedAsLost(sent count: Int, kept: Int, lost: Int) throws {
        // Slots of 4,000 bytes hold 11 payloads of 300 spread 348 bytes apart: 12 fit the
        // room (3,952 bytes) but not the spreading; of 14, the room cuts the run (MSG_TRUNC).
        let receiver = try UDPSocket(bindingTo: .loopbackIPv4(port: 0))
        #expect(receiver.enableReceiveCoalescing())
        let sender = try UDPSocket(family: .ipv4)
        let batch = SendBatch(capacity: 16, family: .ipv4)
        let sent = (0..<count).map { [UInt8](repeating: UInt8($0), count: 300) }
        let destination = try receiver.localAddress
        withExtendedLifetime(sent) {
            for payload in sent {
                payload.withUnsafeBytes { _ = batch.append(datagram: $0, to: destination) }
            }
            sender.send(batch) { _, _ in }
        }
        receiver.waitReadable()
        let received = ReceiveBatch(capacity: 1, slotSize: 4_000)
        let header = FrameLayout.headerSize
        #expect(receiver.receive(into: received, offset: header, reserve: FrameLayout.tagSize) == .received(count: 1))
        var payloads: [[UInt8]] = []
        let dropped = received.forEachPayload(in: 0, offset: header, reserve: FrameLayout.tagSize) { buffer, length in
            payloads.append(Array(buffer[header..<(header + length)]))
        }
        #expect(payloads == Array(sent.prefix(kept)))
        #expect(dropped == lost)
    }

    @Test func aRefusedRunIsSentOneByOneAndTheSocketStopsAskingForThatSize() throws {
        let receiver = try UDPSocket(bindingTo: .loopbackIPv4(port: 0))
        let sender = try UDPSocket(family: .ipv4)
        try sender.connect(to: receiver.localAddress)
        // Without UDP checksums the kernel refuses offload (EINVAL) and sends plain datagrams.
        try sender.setOption(level: SOL_SOCKET, name: SO_NO_CHECK, value: 1, call: "setsockopt(SO_NO_CHECK)")
        let batch = SendBatch(capacity: 8, family: .ipv4)
        let sent = frames(5, size: 200)
        var outcomes: [Int: Bool] = [:]
        withBatch(batch, of: sent, path: 0, to: nil) {
            sender.send(batch) { index, done in outcomes[index] = done }
        }
        #expect(outcomes == Dictionary(uniqueKeysWithValues: (0..<5).map { ($0, true) }))
        #expect(sender.segmentLimit == 199)
        #expect(receiveEach(receiver, count: 5) == sent.map { expected($0, path: 0) })
        // The next batch of that size goes without offload from the start.
        outcomes = [:]
        batch.removeAll()
        withBatch(batch, of: sent, path: 0, to: nil) {
            sender.send(batch) { index, done in outcomes[index] = done }
        }
        #expect(outcomes.count == 5 && outcomes.values.allSatisfy { $0 })
        #expect(receiveEach(receiver, count: 5).count == 5)
    }

    @Test func onlyOffloadRefusalsLowerTheLimit() {
        #expect(UDPSocket.segmentLimit(after: EINVAL, size: 1_200) == 1_199)
        #expect(UDPSocket.segmentLimit(after: EMSGSIZE, size: 1_200) == 1_199)
        #expect(UDPSocket.segmentLimit(after: EIO, size: 1_200) == 0)
        #expect(UDPSocket.segmentLimit(after: EAGAIN, size: 1_200) == nil)
        #expect(UDPSocket.segmentLimit(after: ECONNREFUSED, size: 1_200) == nil)
    }
}
