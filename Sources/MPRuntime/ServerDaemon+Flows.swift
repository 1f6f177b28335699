// mpserver's flows: one connected socket to the target per flow of each session, so the
// target sees every application behind every mpclient as its own client. Both the flows
// of one session and all flows are bounded (Defaults), so no sender can exhaust descriptors.
import Logging
import MPCore

extension ServerDaemon {
    func openFlow(_ key: FlowKey, session: ServerSession<SocketAddress>, now: Timestamp) -> TargetFlow? {
        // mpclient gives a new flow id only once it has dropped one (its table has the same
        // bound): the session's flow idle the longest is one it no longer has (R20).
        if flowCounts[key.sessionID, default: 0] >= Defaults.maximumFlowsPerSession,
            let idlest = leastRecentlyActiveFlow(of: key.sessionID)
        {
            if pendingFlow === idlest { sendToTarget() }
            closeFlow(idlest)
            counters.flowsReclaimed += 1
        }
        guard flows.count < Defaults.maximumFlows else {
            counters.flowsRefused += 1
            return nil
        }
        do {
            let flow = try TargetFlow(key: key, session: session, target: target, now: now)
            let watcher = IOWatcher(loop: loop, fd: flow.socket.fd) { [unowned self, unowned flow] in
                targetReadable(flow)
            }
            watcher.start()
            flow.watcher = watcher
            flows[key] = flow
            flowCounts[key.sessionID, default: 0] += 1
            counters.flowsCreated += 1
            logger.debug("flow opened", metadata: ["session": "\(hex(key.sessionID))", "flow": "\(key.flowID)"])
            return flow
        } catch {
            counters.flowsRefused += 1
            logger.warning("cannot open a socket to the target", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// The flow of session `sessionID` with the oldest activity either way.
    private func leastRecentlyActiveFlow(of sessionID: UInt64) -> TargetFlow? {
        var idlest: TargetFlow?
        for flow in flows.values where flow.key.sessionID == sessionID {
            if idlest.map({ flow.lastActivity < $0.lastActivity }) ?? true { idlest = flow }
        }
        return idlest
    }

    func closeFlows(of sessionID: UInt64) {
        for flow in flows.values where flow.key.sessionID == sessionID { closeFlow(flow) }
    }

    func closeFlow(_ flow: TargetFlow) {
        flow.watcher?.stop()
        flow.watcher = nil
        flows[flow.key] = nil
        let remaining = flowCounts[flow.key.sessionID, default: 1] - 1
        flowCounts[flow.key.sessionID] = remaining > 0 ? remaining : nil
    }

    func logStart() {
        let listen = (try? listenSocket.localAddress).map { "\($0)" } ?? "?"
        logger.info("mpserver listening", metadata: ["address": "\(listen)", "target": "\(target)"])
        logSealing(engine.keyring, logger: logger)
    }
}
