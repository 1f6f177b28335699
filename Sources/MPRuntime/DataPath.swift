// What the data paths of both daemons (and mpclient's path check) share: the kernel buffer
// size of their sockets, how many datagrams one recvmmsg or sendmmsg carries and how many
// one wake-up takes from a socket, and how a configured endpoint becomes the one address a
// socket binds or sends to. mpclient's and mpserver's loops read and send the same frames,
// so one place holds these and both use it.
import MPCore

/// The data path's sizes and address choice, for ``ClientDaemon``, ``ServerDaemon`` and
/// ``PathCheck``.
enum DataPath {
    /// 4 MB kernel buffers: about 3,000 full-size VPN datagrams, so a burst or a slow
    /// wake-up of the loop does not overflow the socket.
    static let socketBufferSize = 4 << 20
    /// Datagrams or coalesced runs taken from one socket per wake-up before the loop
    /// serves the others (two receives of ``batchSize``).
    static let receiveBatch = 64
    /// Datagrams per recvmmsg (and frames per path per sendmmsg).
    static let batchSize = 32

    /// The first address of `endpoint` in getaddrinfo's order of preference. Blocks while
    /// DNS answers: the daemons call it once at start, before the loop runs.
    /// - Throws: ``ResolutionError`` quoting the host.
    static func address(of endpoint: Endpoint) throws -> SocketAddress {
        guard let first = try Resolver.resolve(host: endpoint.host, port: endpoint.port).first else {
            throw ResolutionError(host: endpoint.host, reason: "no address")
        }
        return first
    }
}
