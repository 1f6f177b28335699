// `mpclient --status` and `mpserver --status`: connect to the daemon's control socket, read
// the table until the daemon closes the connection, and explain the usual failures.
import Glibc

/// Reads a daemon's status table from its control socket.
public enum StatusClient {
    /// How long to wait for the table: the daemon writes it at once unless its loop is stuck.
    static let timeoutSeconds = 3
    /// The most read: a server table of 4,096 sessions is well under this.
    static let maximumBytes = 16 << 20

    /// The text `daemon` (`mpclient` or `mpserver`) wrote on its control socket at `path`.
    /// - Throws: ``StatusError`` with a message that names the path and the likely cause.
    public static func fetch(path: String, daemon: String) throws(StatusError) -> String {
        let address: UnixAddress
        do {
            address = try UnixAddress(path: path)
        } catch {
            throw StatusError(message: "\(error)")
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw StatusError(message: "socket: \(SystemError.message(for: errno))") }
        defer { _ = close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard address.withSockAddr({ connect(fd, $0, $1) }) == 0 else {
            throw StatusError(message: connectFailure(errno, path: path, daemon: daemon))
        }
        return try readAll(fd, path: path)
    }

    static func connectFailure(_ code: Int32, path: String, daemon: String) -> String {
        switch code {
        case ENOENT:
            return "no control socket at \(path): is \(daemon) running, with this status socket?"
        case ECONNREFUSED:
            return "nothing answers at \(path): \(daemon) is not running (the file is left from an earlier run)"
        case EACCES, EPERM:
            return "permission denied on \(path): run as the user \(daemon) runs as (or root)"
        default:
            return "cannot connect to \(path): \(SystemError.message(for: code))"
        }
    }

    static func readAll(_ fd: Int32, path: String) throws(StatusError) -> String {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while bytes.count < maximumBytes {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                bytes += chunk[..<count]
            } else if count == 0 {
                break
            } else if errno != EINTR {
                let reason = errno == EAGAIN ? "no answer within \(timeoutSeconds) s" : SystemError.message(for: errno)
                throw StatusError(message: "reading \(path): \(reason)")
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Why `--status` got no table; the message is for the user as is.
public struct StatusError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
