// How mpclient gets a silent path back: after ten probe intervals without an authentic
// frame (PathRecovery), the path gets a new socket, so a new source port, which escapes a
// stale NAT or bridge mapping; a path named by host name is looked up again first (off the
// loop's thread), so a bridge whose address changed is followed. mpserver follows the new
// source address of the path by itself (receiver rule R18).
import Logging
import MPCore

extension ClientDaemon {
    /// Called on each tick: starts the recovery of every path that is due.
    func recoverSilentPaths(now: Timestamp) {
        for index in recovery.due(health: session.health, now: now).members where index < paths.count {
            let path = paths[index]
            if SocketAddress(ipAddress: path.endpoint.host, port: path.endpoint.port) == nil,
                let resolver, resolver.lookUp(path.endpoint, tag: index)
            {
                continue  // reopened when the answer comes (lookUpAnswered)
            }
            reopen(path, at: path.address)
        }
    }

    /// The answer of a lookup started by ``recoverSilentPaths(now:)``: the path is reopened
    /// towards the new address, or the old one when the name does not resolve now.
    func lookUpAnswered(tag: Int, answer: BackgroundResolver.Answer) {
        guard paths.indices.contains(tag) else { return }
        let path = paths[tag]
        switch answer {
        case .success(let address):
            reopen(path, at: address)
        case .failure(let error):
            logger.warning(
                "path host does not resolve now; reopening towards its last address",
                metadata: ["id": "\(path.index)", "endpoint": "\(path.endpoint)", "error": "\(error)"])
            reopen(path, at: path.address)
        }
    }

    /// Gives `path` a new socket connected to `address` and watches it instead of the old one.
    /// On failure the old socket stays (and the next recovery tries again).
    func reopen(_ path: ClientPath, at address: SocketAddress) {
        let oldAddress = path.address
        let oldPort = (try? path.socket.localAddress.port).map { "\($0)" } ?? "?"
        do {
            try path.replaceSocket(connectingTo: address)
        } catch {
            logger.warning(
                "cannot reopen path", metadata: ["id": "\(path.index)", "address": "\(address)", "error": "\(error)"])
            return
        }
        path.watcher?.stop()
        let watcher = IOWatcher(loop: loop, fd: path.socket.fd) { [unowned self, unowned path] in pathReadable(path) }
        watcher.start()
        path.watcher = watcher
        let newPort = (try? path.socket.localAddress.port).map { "\($0)" } ?? "?"
        var metadata: Logger.Metadata = [
            "id": "\(path.index)", "endpoint": "\(path.endpoint)", "source-port": "\(oldPort) -> \(newPort)",
        ]
        if address != oldAddress { metadata["address"] = "\(oldAddress) -> \(address)" }
        logger.info("silent path reopened on a new source port", metadata: metadata)
    }
}
