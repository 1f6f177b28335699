// What the executables call: one daemon, one run.
import Glibc

/// A daemon that runs its loop until SIGINT or SIGTERM.
public protocol Daemon: AnyObject {
    /// Runs until a stop signal; returns after a clean shutdown.
    func run()
}

extension ClientDaemon: Daemon {}
extension ServerDaemon: Daemon {}

/// The process environment, read once.
public enum Environment {
    /// Every variable of the process environment.
    public static var all: [String: String] {
        var result: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            entry += 1
        }
        return result
    }
}
