// The address of a control socket: a file system path in a `sockaddr_un`, and the errors
// a control socket reports, each naming the path.
import Glibc

/// A Unix socket path, checked to fit `sockaddr_un` (107 bytes and a terminating zero).
struct UnixAddress {
    let path: String

    init(path: String) throws(ControlSocketError) {
        guard !path.isEmpty, !path.utf8.contains(0) else {
            throw ControlSocketError(path: path, problem: .invalidPath)
        }
        guard path.utf8.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path) else {
            throw ControlSocketError(path: path, problem: .tooLong)
        }
        self.path = path
    }

    /// Calls `body` with the address as a `sockaddr` pointer and its length.
    func withSockAddr<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                body($0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
    }
}

/// Why a control socket could not be opened or asked, with its path.
public struct ControlSocketError: Error, CustomStringConvertible, Equatable {
    /// What went wrong.
    public enum Problem: Equatable, Sendable {
        case invalidPath
        case tooLong
        case notSocket
        case inUse
        case system(SystemError)
    }

    /// The socket file's path.
    public let path: String
    /// What went wrong.
    public let problem: Problem

    public init(path: String, problem: Problem) {
        self.path = path
        self.problem = problem
    }

    /// For example ``control socket /run/mptunnel/mpclient.sock: in use by a running daemon``.
    public var description: String {
        let reason: String
        switch problem {
        case .invalidPath: reason = "not a usable path"
        case .tooLong: reason = "longer than the 107 bytes a Unix socket path may have"
        case .notSocket: reason = "exists and is not a socket (left untouched)"
        case .inUse: reason = "in use by a running daemon"
        case .system(let error): reason = "\(error)"
        }
        return "control socket \(path): \(reason)"
    }

    /// Runs the system call `name` (`body`), turning its ``SystemError`` into a control
    /// socket error for `path`.
    static func call(_ path: String, _ name: String, _ body: () -> Int32) throws(ControlSocketError) -> Int32 {
        do {
            return try checkedSystemCall(name, body)
        } catch {
            throw ControlSocketError(path: path, problem: .system(error))
        }
    }
}
