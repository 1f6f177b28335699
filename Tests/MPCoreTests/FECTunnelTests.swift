import Testing

@testable import MPCore

/// `mode fec K:M` through seeded lossy in-memory paths, time passed in: payloads lost on
/// the paths come back from parity, in both directions, sealed or not.
@Suite struct FECTunnelTests {
    /// A payload naming its number, `length` bytes (at least 4).
    static func payload(_ number: Int, length: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: UInt8(truncatingIfNeeded: number &* 31), count: max(length, 4))
        bytes[0] = UInt8(truncatingIfNeeded: number >> 24)
        bytes[1] = UInt8(truncatingIfNeeded: number >> 16)
        bytes[2] = UInt8(truncatingIfNeeded: number >> 8)
        bytes[3] = UInt8(truncatingIfNeeded: number)
        return bytes
    }

    /// Varying lengths in one group: code over the longest, carry each length.
    static func length(_ number: Int) -> Int { 20 + (number * 397) % 1_180 }

    /// An established tunnel that has sent a first payload (so mpserver knows the flow).
    static func established(
        paths: Int = 3, loss: Double = 0, seed: UInt64 = 1, keyring: Keyring = .keyless,
        fec: FECSettings = FECSettings(dataShards: 4, parityShards: 2)
    ) -> TunnelHarness {
        let tunnel = TunnelHarness(paths: paths, seed: seed, keyring: keyring, mode: .fec, fec: fec)
        tunnel.establish()
        tunnel.advance(.seconds(2))
        tunnel.lossRates = Array(repeating: loss, count: paths)
        return tunnel
    }

    /// Keeps back the first upstream data frame on path 0 (everything else passes); the
    /// returned function gives it, `nil` until one was sent.
    static func holdFirstDataFrame(_ tunnel: TunnelHarness) -> () -> [UInt8]? {
        var held: [UInt8]?
        tunnel.upstreamTamper[0] = { frame in
            guard frame[FrameLayout.typeOffset] == FrameType.upstreamData.rawValue, held == nil else { return true }
            held = frame
            return false
        }
        return { held }
    }

    /// Sends `count` payloads upstream, one a millisecond, ticking as the runtime does; returns
    /// how many distinct ones reached the target intact.
    static func sendUpstream(_ tunnel: TunnelHarness, count: Int, first: Int = 0) -> Int {
        let before = tunnel.toTarget.count
        for number in first..<(first + count) {
            tunnel.now = tunnel.now + .milliseconds(1)
            tunnel.send(payload(number, length: length(number)))
            if number % 250 == 0 { tunnel.tick() }
        }
        tunnel.now = tunnel.now + .milliseconds(20)
        tunnel.sendDueParity()
        var seen = Set<Int>()
        for delivery in tunnel.toTarget[before...] {
            let bytes = delivery.payload
            let number = Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
            if bytes == payload(number, length: length(number)) { seen.insert(number) }
        }
        return seen.count
    }

    @Test(arguments: [false, true])
    func tenPercentLossEachPathIsRebuiltUpstream(sealed: Bool) {
        let keyring = sealed ? Keyring(key: SealingTests.key) : .keyless
        let tunnel = Self.established(loss: 0.1, seed: 3, keyring: keyring)
        let delivered = Self.sendUpstream(tunnel, count: 4_000)
        let statistics = tunnel.server.sessions[tunnel.client.sessionID]?.fecStatistics
        // Without parity, 10% would be lost; 4:2 loses a payload only when 3 of 6 shards go.
        #expect(delivered >= 3_940, "delivered \(delivered) of 4000")
        #expect((statistics?.groupsComplete ?? 0) + (statistics?.groupsLost ?? 0) <= 1_001)
        #expect((statistics?.payloadsRebuilt ?? 0) > 300)
        #expect(tunnel.upstreamParityFrames == 2_000)
        // Shards spread: no path carries more than M = 2 of a group's 6.
        #expect(tunnel.upstreamDataFrames.allSatisfy { abs($0 - 4_000 / 3) < 50 }, "\(tunnel.upstreamDataFrames)")
    }

    @Test func aDeadPathLosesNothing() {
        let tunnel = Self.established(seed: 5)
        #expect(Self.sendUpstream(tunnel, count: 1_000) == 1_000)
        tunnel.lossRates[1] = 1
        #expect(Self.sendUpstream(tunnel, count: 3_000, first: 1_000) == 3_000)
    }

    @Test func repliesMirrorTheClientsCode() throws {
        let tunnel = Self.established(seed: 7)
        _ = Self.sendUpstream(tunnel, count: 100)
        let flow = try #require(tunnel.toTarget.last?.flow)
        tunnel.lossRates = [0.1, 0.1, 0.1]
        let before = tunnel.toApplication.count
        for number in 0..<4_000 {
            tunnel.now = tunnel.now + .milliseconds(1)
            tunnel.reply(Self.payload(number, length: Self.length(number)), flow: flow)
            if number % 250 == 0 { tunnel.tick() }
            if number % 500 == 0 { _ = Self.sendUpstream(tunnel, count: 4, first: 100_000 + number) }
        }
        tunnel.now = tunnel.now + .milliseconds(20)
        tunnel.sendDueParity()
        let numbers = Set(
            tunnel.toApplication[before...].map { delivery in
                let bytes = delivery.payload
                return Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
            })
        // 4:2 at 10% loses a group's payloads when 3 or more of its 6 shards go: 1.6% of
        // groups, about 0.8% of payloads; 1.5% leaves room for one seed's luck.
        #expect(numbers.count >= 3_940, "delivered \(numbers.count) of 4000")
        #expect(tunnel.client.fecStatistics.groupsComplete + tunnel.client.fecStatistics.groupsLost <= 1_000)
        #expect(tunnel.client.fecStatistics.payloadsRebuilt > 300)
        #expect(tunnel.downstreamParityFrames >= 1_990)
    }

    /// A short group goes out after `fec-timeout` coded as it is, and its lost payload is
    /// rebuilt then.
    @Test func aShortGroupIsCodedAfterTheTimeout() throws {
        let tunnel = Self.established(seed: 9, fec: FECSettings(dataShards: 8, parityShards: 4))
        _ = Self.sendUpstream(tunnel, count: 8)
        var dropped = false
        tunnel.upstreamTamper[0] = { frame in
            guard frame[FrameLayout.typeOffset] == FrameType.upstreamData.rawValue, !dropped else { return true }
            dropped = true
            return false
        }
        let before = tunnel.toTarget.count
        let parityBefore = tunnel.upstreamParityFrames
        for number in 0..<3 { tunnel.send(Self.payload(number, length: 100 + number)) }
        #expect(tunnel.upstreamParityFrames == parityBefore)
        #expect(tunnel.toTarget.count == before + 2)
        tunnel.now = tunnel.now + .milliseconds(4)
        tunnel.sendDueParity()
        #expect(tunnel.upstreamParityFrames == parityBefore)
        tunnel.now = tunnel.now + .milliseconds(1)
        tunnel.sendDueParity()
        #expect(tunnel.upstreamParityFrames == parityBefore + 4)
        #expect(tunnel.toTarget.count == before + 3)
        let session = try #require(tunnel.server.sessions[tunnel.client.sessionID])
        #expect(session.fecStatistics.payloadsRebuilt == 1)
    }

    /// A rebuilt payload takes its own sequence number: the real copy arriving afterwards is
    /// a duplicate, and a replayed data frame is too.
    @Test func aRebuiltPayloadPassesTheReplayWindowOnce() throws {
        let tunnel = Self.established(seed: 11)
        _ = Self.sendUpstream(tunnel, count: 4)
        let held = Self.holdFirstDataFrame(tunnel)
        let before = tunnel.toTarget.count
        for number in 0..<4 { tunnel.send(Self.payload(number, length: 50)) }
        #expect(tunnel.toTarget.count == before + 3)
        // Rebuilt once its frame is overdue by the margin.
        tunnel.now = tunnel.now + Defaults.fecRebuildMargin
        tunnel.sendDueParity()
        #expect(tunnel.toTarget.count == before + 4)
        let late = try #require(held())
        tunnel.deliverUpstream(late, from: tunnel.bridgeAddress(0))
        #expect(tunnel.toTarget.count == before + 4)
        #expect(tunnel.server.drops[.duplicate] > 0)
    }

    /// Parity that overtakes a data frame of its group (sent together on paths of equal
    /// delay) rebuilds nothing when the frame comes within the margin: it is delivered as
    /// it came, and the group counts complete.
    @Test func aDataFrameOvertakenByParityIsNotRebuilt() throws {
        let tunnel = Self.established(seed: 13)
        _ = Self.sendUpstream(tunnel, count: 4)
        let held = Self.holdFirstDataFrame(tunnel)
        let session = try #require(tunnel.server.sessions[tunnel.client.sessionID])
        let complete = session.fecStatistics.groupsComplete
        let duplicates = tunnel.server.drops[.duplicate]
        let before = tunnel.toTarget.count
        for number in 0..<4 { tunnel.send(Self.payload(number, length: 50)) }
        #expect(tunnel.toTarget.count == before + 3)
        tunnel.now = tunnel.now + TimeSpan(nanoseconds: Defaults.fecRebuildMargin.nanoseconds / 2)
        tunnel.sendDueParity()
        tunnel.deliverUpstream(try #require(held()), from: tunnel.bridgeAddress(0))
        tunnel.now = tunnel.now + Defaults.fecRebuildMargin
        tunnel.sendDueParity()
        #expect(tunnel.toTarget.count == before + 4)
        #expect(session.fecStatistics.payloadsRebuilt == 0)
        #expect(session.fecStatistics.groupsComplete == complete + 1)
        #expect(tunnel.server.drops[.duplicate] == duplicates)
    }
}
