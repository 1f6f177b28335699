import Glibc
import MPRuntime

extension UDPSocket {
    /// Blocks until something is readable or `milliseconds` pass (poll): loopback delivers at
    /// once, but a test must not depend on it.
    public func waitReadable(milliseconds: Int32 = 1_000) {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        _ = poll(&descriptor, 1, milliseconds)
    }
}
