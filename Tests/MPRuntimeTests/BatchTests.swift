import Glibc
import MPCore
import MPTestSupport
import Testing

@testable import MPRuntime

@Suite("Batch syscalls")
struct BatchTests {
    @Test func oneReceiveTakesEveryWaitingDatagramWithItsSourceAndLength() throws {
        let receiver = try UDPSocket(bindingTo: .loopbackIPv4(port: 0))
        let destination = try receiver.localAddress
        let senders = [
            try UDPSocket(bindingTo: .loopbackIPv4(port: 0)), try UDPSocket(bindingTo: .loopbackIPv4(port: 0)),
        ]
        for number in 0..<5 {
            let payload = [UInt8](repeating: UInt8(number), count: 10 + number * 100)
            #expect(payload.withUnsafeBytes { senders[number % 2].send($0, to: destination) } == .sent)
        }
        receiver.waitReadable()
        let batch = ReceiveBatch(capacity: 8)
        let offset = FrameLayout.headerSize
        #expect(receiver.receive(into: batch, offset: offset, reserve: FrameLayout.tagSize) == .received(count: 5))
        for number in 0..<5 {
            #expect(batch.length(number) == 10 + number * 100)
            #expect(try batch.source(number) == senders[number % 2].localAddress)
            let slot = batch.slot(number)
            #expect(slot[offset] == UInt8(number) && slot[offset + batch.length(number) - 1] == UInt8(number))
        }
        #expect(receiver.receive(into: batch, offset: offset, reserve: FrameLayout.tagSize) == .wouldBlock)
        // The batch is used again as it is (only the address lengths are reset): a second
        // round reads just as well.
        #expect([UInt8](repeating: 9, count: 3).withUnsafeBytes { senders[1].send($0, to: destination) } == .sent)
        receiver.waitReadable()
        #expect(receiver.receive(into: batch, offset: offset, reserve: FrameLayout.tagSize) == .received(count: 1))
        #expect(batch.length(0) == 3 && batch.slot(0)[offset] == 9)
        #expect(try batch.source(0) == senders[1].localAddress)
    }

    @Test func anIPv6SocketReadsRoundAfterRound() throws {
        let receiver = try UDPSocket(bindingTo: .loopbackIPv6(port: 0))
        let destination = try receiver.localAddress
        let sender = try UDPSocket(bindingTo: .loopbackIPv6(port: 0))
        let batch = ReceiveBatch(capacity: 4)
        for round in 0..<3 {
            #expect([UInt8(round)].withUnsafeBytes { sender.send($0, to: destination) } == .sent)
            receiver.waitReadable()
            #expect(receiver.receive(into: batch) == .received(count: 1))
            #expect(try batch.source(0) == sender.localAddress)
            #expect(batch.slot(0)[0] == UInt8(round))
        }
    }

    @Test func aDatagramLargerThanItsRoomShowsItsRealLength() throws {
        let receiver = try UDPSocket(bindingTo: .loopbackIPv4(port: 0))
        let sender = try UDPSocket(family: .ipv4)
        let room = FrameBuffer.capacity - FrameLayout.headerSize - FrameLayout.tagSize
        let payload = [UInt8](repeating: 7, count: room + 40)
        #expect(try payload.withUnsafeBytes { sender.send($0, to: try receiver.localAddress) } == .sent)
        receiver.waitReadable()
        let batch = ReceiveBatch(capacity: 2)
        #expect(
            receiver.receive(into: batch, offset: FrameLayout.headerSize, reserve: FrameLayout.tagSize)
                == .received(count: 1))
        #expect(batch.length(0) == room + 40)
    }

    @Test func oneSendCarriesAFrameToEveryPathWithItsOwnPathID() throws {
        let receivers = try (0..<3).map { _ in try UDPSocket(bindingTo: .loopbackIPv4(port: 0)) }
        let sender = try UDPSocket(family: .ipv4)
        let frame = (0..<60).map { UInt8($0) }
        let batch = SendBatch(capacity: 4, family: .ipv4)
        var outcomes: [Int: Bool] = [:]
        let addresses = try receivers.map { try $0.localAddress }
        frame.withUnsafeBytes { bytes in
            for (path, address) in addresses.enumerated() {
                #expect(batch.append(bytes, path: path + 5, to: address))
            }
            #expect(batch.count == 3 && batch.length(2) == 60 && batch.path(2) == 7)
            sender.send(batch) { index, sent in outcomes[index] = sent }
        }
        #expect(outcomes == [0: true, 1: true, 2: true])
        for (path, receiver) in receivers.enumerated() {
            receiver.waitReadable()
            var buffer = [UInt8](repeating: 0, count: 100)
            let result = buffer.withUnsafeMutableBytes { receiver.receive(into: $0) }
            guard case .datagram(let length, _) = result else {
                Issue.record("path \(path): \(result)")
                continue
            }
            var expected = frame
            expected[FrameLayout.pathIDOffset] = UInt8(path + 5)
            #expect(Array(buffer[0..<length]) == expected)
        }
        // The frame itself is untouched: each copy's path id lives in the batch.
        #expect(frame[FrameLayout.pathIDOffset] == UInt8(FrameLayout.pathIDOffset))
    }

    @Test func aRefusedMessageIsReportedAndTheRestAreSent() throws {
        let receiver = try UDPSocket(bindingTo: .loopbackIPv4(port: 0))
        let sender = try UDPSocket(family: .ipv4)
        let batch = SendBatch(capacity: 4, family: .ipv4)
        let frame = [UInt8](repeating: 1, count: 40)
        var outcomes: [Int: Bool] = [:]
        let address = try receiver.localAddress
        frame.withUnsafeBytes { bytes in
            batch.append(bytes, path: 0, to: address)
            // An IPv6 destination on an IPv4 socket: the kernel refuses this one message.
            batch.append(bytes, path: 1, to: .loopbackIPv6(port: 9))
            batch.append(bytes, path: 2, to: address)
            sender.send(batch) { index, sent in outcomes[index] = sent }
        }
        #expect(outcomes == [0: true, 1: false, 2: true])
        let received = ReceiveBatch(capacity: 4)
        var count = 0
        for _ in 0..<10 where count < 2 {
            receiver.waitReadable()
            if case .received(let more) = receiver.receive(into: received) { count += more }
        }
        #expect(count == 2)
    }

    @Test func aFullBatchTakesNoMoreAndRemoveAllEmptiesIt() throws {
        let batch = SendBatch(capacity: 2, family: .ipv4)
        let frame = [UInt8](repeating: 0, count: FrameLayout.headerSize)
        frame.withUnsafeBytes { bytes in
            #expect(batch.append(bytes, path: 0, to: nil))
            #expect(batch.append(bytes, path: 1, to: nil))
            #expect(batch.isFull)
            #expect(!batch.append(bytes, path: 2, to: nil))
            // Shorter than a header: not a frame.
            batch.removeAll()
            #expect(!batch.append(UnsafeRawBufferPointer(rebasing: bytes[0..<4]), path: 0, to: nil))
        }
        #expect(batch.count == 0)
    }
}
