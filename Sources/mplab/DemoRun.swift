// The demonstration's moving parts and phases: the echo target and relays on the lab's
// loop, the daemons as children, a probe until the tunnel answers, then the measured load.
import ArgumentParser
import Glibc
import MPCore
import MPLabSupport
import MPRuntime

final class DemoRun {
    /// How often the children are checked during the load.
    static let childCheckInterval = TimeSpan.milliseconds(200)

    let clientAddress: SocketAddress
    private let workspace: DemoWorkspace
    private let children: ChildGroup
    private let lab: LabLoop
    private let echo: EchoServer
    private let relays: [Relay]
    private let serverPort: UInt16
    /// Why a phase ended early (a child died), if it did.
    private var failure: String?

    /// Lines added to mpclient.conf (`mode balance`), and arguments added to mpserver's.
    private let clientLines: [String]
    private let serverArguments: [String]

    /// One relay per entry of `drops`, each dropping that share both ways.
    convenience init(workspace: DemoWorkspace, children: ChildGroup, lab: LabLoop, drops: [Double]) throws {
        let links = drops.map {
            (up: RelayLinkSettings(dropProbability: $0), down: RelayLinkSettings(dropProbability: $0))
        }
        try self.init(workspace: workspace, children: children, lab: lab, links: links)
    }

    /// One relay per entry of `links`, each direction as its entry says; `clientLines` go
    /// into mpclient.conf.
    init(
        workspace: DemoWorkspace, children: ChildGroup, lab: LabLoop,
        links: [(up: RelayLinkSettings, down: RelayLinkSettings)], clientLines: [String] = [],
        serverArguments: [String] = []
    ) throws {
        self.workspace = workspace
        self.children = children
        self.lab = lab
        self.clientLines = clientLines
        self.serverArguments = serverArguments
        echo = try EchoServer(listen: .loopbackIPv4(port: 0), loop: lab.loop, tracksOrder: true)
        let serverPort = try DemoWorkspace.freeLoopbackPort()
        self.serverPort = serverPort
        relays = try links.enumerated().map { index, link in
            let settings = RelaySettings(
                listen: .loopbackIPv4(port: 0), target: .loopbackIPv4(port: serverPort), up: link.up, down: link.down,
                seed: UInt64(index + 1), idleTimeoutSeconds: 60)
            return try Relay(settings: settings, lab: lab)
        }
        clientAddress = .loopbackIPv4(port: try DemoWorkspace.freeLoopbackPort())
    }

    /// Makes relay `index` a link of `rate` datagrams per second both ways from now on.
    func setRate(_ rate: RateCap?, relay index: Int) throws {
        try relays[index].setRate(rate)
    }

    /// Makes relay `index` drop everything both ways from now on.
    func kill(relay index: Int) {
        relays[index].kill()
    }

    /// The daemons' names and process ids, for their CPU time.
    var daemons: [(name: String, pid: pid_t)] { children.children.map { ($0.name, $0.pid) } }

    /// Starts the relays and daemons and waits until a probe comes back through the tunnel.
    /// Returns the seconds that took.
    func start(timeout: Double) throws -> Double {
        relays.forEach { $0.start() }
        let began = MonotonicClock.now()
        children.add(
            try ChildProcess.spawn(
                name: "mpserver", executable: workspace.serverBinary,
                arguments: ["\(serverPort)", "127.0.0.1", "\(echo.address.port)", "--bind", "127.0.0.1"]
                    + serverArguments,
                logPath: workspace.serverLog))
        try workspace.writeClientConfig(
            listenPort: clientAddress.port, relays: relays.map(\.listenAddress), extraLines: clientLines)
        children.add(
            try ChildProcess.spawn(
                name: "mpclient", executable: workspace.clientBinary, arguments: [workspace.clientConfig],
                logPath: workspace.clientLog))
        try waitForAnswer(timeout: timeout)
        return ((MonotonicClock.now() - began).seconds * 100).rounded() / 100
    }

    private func waitForAnswer(timeout: Double) throws {
        let answered = try LabProbe.waitForAnswer(from: clientAddress, lab: lab, timeout: timeout) {
            [unowned self] in checkChildren()
        }
        try checkOutcome()
        guard answered else { throw LabError("the tunnel did not answer within \(timeout) s") }
    }

    /// Runs `load` through the tunnel and reports it beside the relays' counters; calls
    /// `event` once after `eventAfter` seconds of it, if given.
    func measure(_ load: LoadSettings, eventAfter: Double? = nil, event: @escaping () -> Void = {}) throws
        -> DemoReport
    {
        let relaysBefore = relays.map { ($0.up, $0.down) }
        let echoBefore = (echo.received, echo.echoed, echo.outOfOrder)
        echo.recordsEchoOrder = load.recordsArrivalOrder
        let echoOrderBefore = echo.echoOrder.mapValues(\.count)
        let generator = try LoadGenerator(settings: load, lab: lab)
        let timer = lab.every(Self.childCheckInterval) { [unowned self] in checkChildren() }
        let once = eventAfter.map { lab.after(TimeSpan(seconds: $0), event) }
        defer { once?.stop() }
        generator.start { [unowned lab] in lab.stop() }
        lab.run()
        timer.stop()
        try checkOutcome()
        let paths = zip(relays, relaysBefore).map { relay, before in
            DemoReport.Path(
                relay: relay.listenAddress, drop: relay.settings.up.dropProbability,
                up: relay.up - before.0, down: relay.down - before.1)
        }
        return DemoReport(
            paths: paths, load: generator.report, reachedTarget: echo.received - echoBefore.0,
            echoed: echo.echoed - echoBefore.1, outOfOrderAtTarget: echo.outOfOrder - echoBefore.2,
            outOfOrderDown: generator.tracker.arrivalOrder.map {
                Self.outOfOrder(arrivals: $0, sent: echo.echoOrderAdded(since: echoOrderBefore))
            })
    }

    /// Of `arrivals` (sequence numbers in the order they came back), how many came after one
    /// that the echo sent later (`sent`: the order it sent them in): the order the way back
    /// delivered them in, apart from the way up's. Arrivals the echo did not send in this
    /// run are left out.
    static func outOfOrder(arrivals: [UInt64], sent: [UInt64]) -> (count: Int, of: Int) {
        var position: [UInt64: Int] = [:]
        position.reserveCapacity(sent.count)
        for (index, sequence) in sent.enumerated() where position[sequence] == nil { position[sequence] = index }
        var latest = -1
        var count = 0
        var judged = 0
        for sequence in arrivals {
            guard let index = position[sequence] else { continue }
            judged += 1
            if index < latest { count += 1 } else { latest = index }
        }
        return (count, judged)
    }

    /// Stops the loop when a child has exited: the tunnel cannot work without it.
    private func checkChildren() {
        guard let dead = children.children.first(where: \.hasExited) else { return }
        failure = "\(dead.name) \(dead.state) (log: \(dead.logPath))"
        lab.stop()
    }

    private func checkOutcome() throws {
        if lab.isInterrupted { throw ExitCode(lab.interruptedExitCode) }
        if let failure { throw LabError(failure) }
    }

    /// One line per child, to append to an error message.
    var childStates: String {
        children.children.map { "\n  \($0.name) (pid \($0.pid)): \($0.state), log \($0.logPath)" }.joined()
    }
}
