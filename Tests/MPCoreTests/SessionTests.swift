import Testing
@testable import MPCore

@Suite("Client and server sessions back to back")
struct SessionTests {
    @Test("the first probes get the session accepted; payloads flow both ways")
    func handshakeAndData() {
        let tunnel = TunnelHarness(paths: 3)
        tunnel.tick()
        #expect(tunnel.client.isAccepted)
        // Counted from here: the first receiver reports went on every path too.
        let duplicates = (tunnel.server.drops[.duplicate], tunnel.client.drops[.duplicate])
        tunnel.send([1, 2, 3])
        #expect(tunnel.toTarget.map(\.payload) == [[1, 2, 3]])
        #expect(tunnel.server.drops[.duplicate] == duplicates.0 + 2)
        tunnel.reply([9], flow: tunnel.toTarget[0].flow)
        #expect(tunnel.toApplication == [.init(address: 1, payload: [9])])
        #expect(tunnel.client.drops[.duplicate] == duplicates.1 + 2)
    }

    @Test("payloads sent before acceptance are held, then delivered once")
    func heldPayloads() {
        let tunnel = TunnelHarness(paths: 2)
        tunnel.send([1])
        tunnel.send([2])
        #expect(tunnel.toTarget.isEmpty)
        #expect(tunnel.client.heldCount == 2)
        tunnel.tick()
        #expect(tunnel.toTarget.map(\.payload) == [[1], [2]])
        #expect(tunnel.client.heldCount == 0)
    }

    @Test("a zero-length payload is a payload")
    func emptyPayload() {
        let tunnel = TunnelHarness(paths: 1)
        tunnel.establish()
        tunnel.send([])
        #expect(tunnel.toTarget.map(\.payload) == [[]])
        tunnel.reply([], flow: tunnel.toTarget[0].flow)
        #expect(tunnel.toApplication == [.init(address: 1, payload: [])])
    }

    @Test("a payload over the maximum is dropped, never split; the maximum passes intact")
    func payloadLimit() {
        let tunnel = TunnelHarness(paths: 1)
        tunnel.establish()
        tunnel.send([UInt8](repeating: 7, count: Defaults.maximumPayload + 1))
        #expect(tunnel.toTarget.isEmpty)
        #expect(tunnel.client.drops[.oversized] == 1)
        let largest = (0..<Defaults.maximumPayload).map { UInt8(truncatingIfNeeded: $0) }
        tunnel.send(largest)
        #expect(tunnel.toTarget.map(\.payload) == [largest])
    }

    @Test("three paths losing 20% each lose about 0.8% through the tunnel, no duplicate delivered")
    func multipathLoss() {
        let tunnel = TunnelHarness(paths: 3, loss: 0.2, seed: 99)
        tunnel.establish()
        let count = 20_000
        for index in 0..<count { tunnel.send(withUnsafeBytes(of: UInt32(index).bigEndian, Array.init)) }
        let received = tunnel.toTarget.map(\.payload)
        #expect(Set(received).count == received.count)
        let loss = Double(count - received.count) / Double(count)
        #expect(loss > 0.008 / 1.5 && loss < 0.008 * 1.5, "loss \(loss)")
    }

    @Test("each application address is its own flow; replies go to their owner only")
    func flows() {
        let tunnel = TunnelHarness(paths: 2)
        tunnel.establish()
        tunnel.send([1], from: 11)
        tunnel.send([2], from: 22)
        let flows = tunnel.toTarget.map(\.flow)
        #expect(Set(flows).count == 2)
        tunnel.reply([21], flow: flows[1])
        tunnel.reply([11], flow: flows[0])
        #expect(tunnel.toApplication == [.init(address: 22, payload: [21]), .init(address: 11, payload: [11])])
        tunnel.reply([0], flow: 999)  // the first copy is judged unknown, the second a duplicate
        #expect(tunnel.client.drops[.unknownFlow] == 1)
    }
}

@Suite("Frame shapes (receiver rule R6b)")
struct FrameShapeTests {
    static let shapes: [(type: FrameType, flowID: UInt32, bodyLength: Int, valid: Bool)] = [
        (.upstreamData, 1, 0, true), (.upstreamData, 0, 5, false), (.downstreamData, 7, 1_200, true),
        (.downstreamData, 0, 0, false), (.probe, 0, 8, true), (.probe, 0, 7, false), (.probe, 3, 8, false),
        (.probeEcho, 0, 8, true), (.probeEcho, 0, 9, false), (.acceptance, 0, 8, true), (.acceptance, 1, 8, false),
    ]

    @Test("each type's body size and flow id", arguments: 0..<shapes.count)
    func shape(index: Int) {
        let shape = Self.shapes[index]
        let header = FrameHeader(type: shape.type, sessionID: 1, serverTag: 1, sequence: 1, flowID: shape.flowID)
        #expect(header.hasValidShape(bodyLength: shape.bodyLength) == shape.valid)
    }

    @Test("a data frame with no flow changes nothing at mpserver")
    func dataWithoutFlow() {
        let tunnel = TunnelHarness(paths: 1)
        tunnel.establish()
        let tag = tunnel.client.serverTag
        var frame = [UInt8](repeating: 0, count: FrameLayout.headerSize + 3)
        frame.withUnsafeMutableBytes {
            FrameHeader(type: .upstreamData, sessionID: tunnel.client.sessionID, serverTag: tag, sequence: 1_000)
                .encode(into: $0)
        }
        tunnel.deliverUpstream(frame, from: 4_242)
        #expect(tunnel.toTarget.isEmpty)
        #expect(tunnel.server.drops[.malformed] == 1)
        #expect(tunnel.server.sessions[tunnel.client.sessionID]?.pathAddresses[0] != 4_242)
    }
}
