import Testing
@testable import MPCore

/// Receiver reports (``PathReport``): each side learns what arrived on each path, so a lossy
/// path that delivers stays up and shows its data loss.
@Suite("Receiver reports")
struct PathReportTests {
    @Test("an upload over three paths losing 20% each way: no path goes down, 0.8% lost")
    func lossyUpload() {
        let tunnel = TunnelHarness(paths: 3, loss: 0.2, seed: 17)
        tunnel.establish()
        #expect(tunnel.client.isAccepted)
        var wentDown = PathSet()
        for millisecond in 0..<20_000 {
            tunnel.now = tunnel.now + .milliseconds(1)
            tunnel.send([UInt8(truncatingIfNeeded: millisecond), UInt8(truncatingIfNeeded: millisecond >> 8)])
            if millisecond % 100 == 0 { wentDown.formUnion(tunnel.tick().wentDown) }
        }
        let delivered = Double(tunnel.toTarget.count) / 20_000
        #expect(wentDown.isEmpty, "paths \(wentDown.members) went down")
        #expect(delivered > 0.988, "delivered \(delivered)")
        // mpclient knows each path's upstream loss from mpserver's reports, and mpserver
        // learns it from mpclient's.
        let session = tunnel.server.sessions[tunnel.client.sessionID]
        for path in 0..<3 {
            let loss = tunnel.client.paths[path].reportedLoss ?? -1
            #expect(loss > 0.15 && loss < 0.25, "path \(path): reported loss \(loss)")
            let told = session?.paths[path].peerReportedLoss ?? -1
            #expect(told > 0.15 && told < 0.25, "path \(path): mpserver was told \(told)")
        }
    }

    @Test("a path that delivers upstream but nothing comes back on it stays up, heard through the others' reports")
    func upstreamOnlyPath() {
        let tunnel = TunnelHarness(paths: 3, seed: 3)
        tunnel.establish()
        tunnel.downstreamBlackholes = [2]
        var wentDown = PathSet()
        for millisecond in 0..<10_000 {
            tunnel.now = tunnel.now + .milliseconds(1)
            tunnel.send([UInt8(truncatingIfNeeded: millisecond)])
            if millisecond % 100 == 0 { wentDown.formUnion(tunnel.tick().wentDown) }
        }
        #expect(wentDown.isEmpty, "paths \(wentDown.members) went down")
        // Blackholed, path 2 is down the moment mpserver stops reporting it (a dead upload).
        tunnel.upstreamTamper[2] = { _ in false }
        tunnel.advance(.seconds(5), step: .milliseconds(100))
        #expect(!tunnel.client.upPaths.contains(path: 2))
    }

    @Test("a path that stops delivering either way is down within the silence limit and a report interval")
    func deadPathGoesDown() {
        let tunnel = TunnelHarness(paths: 3, seed: 5)
        tunnel.establish()
        func stream(for span: TimeSpan) -> PathSet {
            var wentDown = PathSet()
            let end = tunnel.now + span
            var index = 0
            while tunnel.now < end {
                tunnel.now = tunnel.now + .milliseconds(1)
                index += 1
                tunnel.send([UInt8(truncatingIfNeeded: index)])
                if index % 100 == 0 { wentDown.formUnion(tunnel.tick().wentDown) }
                if !wentDown.isEmpty { return wentDown }
            }
            return wentDown
        }
        #expect(stream(for: .seconds(3)).isEmpty)
        tunnel.lossRates[1] = 1
        let killed = tunnel.now
        let wentDown = stream(for: .seconds(5))
        let after = tunnel.now - killed
        #expect(wentDown == PathSet(path: 1))
        #expect(after <= .milliseconds(2_900), "\(after)")  // silence limit 2.5 s, a report interval, a tick
    }

    @Test("a download after one upstream payload that only path 0 carried: replies go on every path")
    func downloadRepliesOnEveryPath() {
        let tunnel = TunnelHarness(paths: 3, seed: 8)
        tunnel.establish()
        tunnel.advance(.seconds(3))  // the handshake's epochs are over: only new data counts
        tunnel.lossRates = [0, 1, 1]
        tunnel.send([1])
        tunnel.lossRates = [0, 0, 0]
        let flow = tunnel.toTarget[0].flow
        let before = tunnel.downstreamFrames
        for millisecond in 0..<3_000 {
            tunnel.now = tunnel.now + .milliseconds(1)
            tunnel.reply([UInt8(truncatingIfNeeded: millisecond)], flow: flow)
            if millisecond % 100 == 0 { tunnel.tick() }
        }
        let received = (0..<3).map { tunnel.downstreamFrames[$0] - before[$0] }
        // Without the reports' paths, the replies went on path 0 alone (the last data path).
        #expect(received.allSatisfy { $0 > 2_800 }, "data frames per path \(received)")
    }

    @Test("a session's first reply goes on every path heard, though its payload came on one")
    func firstReplyOnEveryPath() {
        let tunnel = TunnelHarness(paths: 3, seed: 12)
        tunnel.establish()
        tunnel.lossRates = [0, 1, 1]
        tunnel.send([1])  // a VPN's handshake initiation, through path 0 alone
        tunnel.lossRates = [0, 0, 0]
        let before = tunnel.downstreamFrames
        tunnel.reply([2], flow: tunnel.toTarget[0].flow)
        #expect((0..<3).map { tunnel.downstreamFrames[$0] - before[$0] } == [1, 1, 1])
    }

    @Test("a report body round-trips; a count that does not grow changes nothing")
    func coding() {
        var statistics = Array(repeating: PathStatistics(), count: 3)
        statistics[0].framesReceived = 7
        statistics[2].framesReceived = 1 << 40
        var frame = [UInt8](repeating: 0, count: FrameLayout.headerSize + 300)
        statistics[2].lastReceive = ms(1_000)
        let length = frame.withUnsafeMutableBytes { PathReport.write(statistics, now: ms(1_250), into: $0) }
        // Two counts and the clock entry (no path has a fresh frame: no departure entries).
        #expect(length == 3 * FrameLayout.reportEntrySize)
        #expect(PathReport.isValidBodyLength(length))
        #expect(!PathReport.isValidBodyLength(0) && !PathReport.isValidBodyLength(10))
        #expect(!PathReport.isValidBodyLength(33 * FrameLayout.reportEntrySize))
        statistics[2].reportedLoss = 0.0125
        _ = frame.withUnsafeMutableBytes { PathReport.write(statistics, now: ms(1_250), into: $0) }
        var entries: [[Int]] = []
        frame.withUnsafeBytes {
            let body = UnsafeRawBufferPointer(rebasing: $0[FrameLayout.headerSize...].prefix(length))
            PathReport.forEachEntry(in: body) {
                let loss = $0.loss.map { Int(($0 * 10_000).rounded()) } ?? -1
                entries.append([$0.path, $0.framesReceived, loss, Int($0.age.nanoseconds / 1_000_000)])
            }
        }
        #expect(entries == [[0, 7, -1, 65_535], [2, 1 << 40, 125, 250]])
        var path = PathStatistics()
        path.framesSent = 1_000
        var grew = [path.recordReport(received: 10), path.recordReport(received: 10), path.recordReport(received: 9)]
        path.framesSent = 2_000
        grew.append(path.recordReport(received: 910))
        #expect(grew == [true, false, false, true])
        #expect(abs((path.reportedLoss ?? 0) - 0.1) < 1e-9)
        // A window that opened with thousands of frames in flight (a fast stream) and closes
        // after the stream slowed: more arrived than were sent in it. The 10% stays.
        path.framesSent = 2_500
        _ = path.recordReport(received: 4_000)
        #expect(abs((path.reportedLoss ?? 0) - 0.1) < 1e-9)
    }

    @Test("with the frames sent up to the last one received, frames in flight are not counted as lost")
    func lossWindowInFlight() {
        // A queue filling: 600 frames sent, the report names the 400th as the last arrived,
        // and all 400 arrived. Counted against every frame sent, 33% would look lost.
        var exact = PathStatistics()
        var counted = PathStatistics()
        for path in [0, 1] {
            var statistics = PathStatistics()
            _ = statistics.recordReport(received: 0, sentThrough: path == 0 ? 0 : nil)
            statistics.framesSent = 600
            _ = statistics.recordReport(received: 400, sentThrough: path == 0 ? 400 : nil)
            if path == 0 { exact = statistics } else { counted = statistics }
        }
        #expect(abs((counted.reportedLoss ?? 0) - 1.0 / 3) < 1e-4)
        // 400 is under the window of 500: no figure yet; then 600 known, 590 arrived.
        #expect(exact.reportedLoss == nil)
        exact.framesSent = 800
        _ = exact.recordReport(received: 590, sentThrough: 600)
        #expect(abs((exact.reportedLoss ?? 0) - 10.0 / 600) < 1e-4)
        // An older report, sent before the last one (a copy on a slower path), names an
        // earlier frame: the window stays open and the figure stays.
        exact.framesSent = 900
        _ = exact.recordReport(received: 580, sentThrough: 590)
        #expect(abs((exact.reportedLoss ?? 0) - 10.0 / 600) < 1e-4)
        // The path stops delivering: no frame of the last second named, so the frames sent
        // since the window opened count, and the loss rises.
        exact.framesSent = 1_400
        _ = exact.recordReport(received: 590, sentThrough: nil)
        #expect(abs((exact.reportedLoss ?? 0) - 1) < 1e-9)
        // The count wraps at 2^32.
        var wrapped = PathStatistics()
        _ = wrapped.recordReport(received: 0, sentThrough: UInt32.max - 99)
        _ = wrapped.recordReport(received: 500, sentThrough: 400)
        #expect(wrapped.reportedLoss == 0)
    }

    @Test("departure entries name each path's last fresh frame and its age; older readers skip them")
    func departureEntries() {
        var statistics = Array(repeating: PathStatistics(), count: 2)
        statistics[1].framesReceived = 4
        statistics[1].recordReceive(bytes: 100, now: Timestamp(nanoseconds: 1_000_000_000))
        statistics[1].recordFresh(sequence: 0x0102_0304, now: Timestamp(nanoseconds: 1_000_000_000))
        var frame = [UInt8](repeating: 0, count: FrameLayout.headerSize + 300)
        let now = Timestamp(nanoseconds: 1_012_345_678)
        let length = frame.withUnsafeMutableBytes { PathReport.write(statistics, now: now, into: $0) }
        #expect(length == 3 * FrameLayout.reportEntrySize)
        let body = Array(frame[FrameLayout.headerSize..<(FrameLayout.headerSize + length)])
        // The count entry, then the clock entry (0xC0), then path 1's departure entry (0x81):
        // sequence 0x01020304, age 12.345 ms as 345 µs and 12 ms.
        #expect(
            hexString(body)
                == "01" + "0000000000000005" + "ffff" + "000c"
                + "c0" + "000000003c572b4e" + "00000000"
                + "81" + "0000000001020304" + "0159" + "000c")
        body.withUnsafeBytes { bytes in
            var counted: [Int] = []
            PathReport.forEachEntry(in: bytes) { counted.append($0.path) }
            #expect(counted == [1])
            #expect(PathReport.clock(in: bytes) == now)
            var departures: [[UInt64]] = []
            PathReport.forEachDeparture(in: bytes) {
                departures.append([UInt64($0.path), $0.sequence, $0.age.nanoseconds])
            }
            #expect(departures == [[1, 0x0102_0304, 12_345_000]])
        }
    }

    @Test("balance reports: every 20 ms while 32 frames arrived since the last, else every 50 ms, never for none")
    func feedbackCadence() {
        let ms = { TimeSpan.milliseconds($0) }
        // Fast traffic: due at 20 ms, not before.
        #expect(!Defaults.isFeedbackDue(after: ms(19), frames: 1_000))
        #expect(Defaults.isFeedbackDue(after: ms(20), frames: 32))
        // Slow traffic (a report would take a payload's slot on a slow line): 50 ms.
        #expect(!Defaults.isFeedbackDue(after: ms(20), frames: 31))
        #expect(!Defaults.isFeedbackDue(after: ms(49), frames: 31))
        #expect(Defaults.isFeedbackDue(after: ms(50), frames: 1))
        // Nothing arrived: nothing to report, however long.
        #expect(!Defaults.isFeedbackDue(after: .seconds(10), frames: 0))
    }
}
