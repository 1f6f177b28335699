// A minimal HTTP GET for tests of the metrics endpoint: a blocking TCP connection to
// 127.0.0.1 with a receive timeout, the whole response read until the server closes.
import Glibc

/// The response (status line, headers and body) to `GET path` on 127.0.0.1:`port`, or nil
/// when the connection fails or nothing complete comes back within `timeoutSeconds`.
public func httpGet(port: UInt16, path: String = "/metrics", timeoutSeconds: Int = 5) -> String? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { _ = close(fd) }
    var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
    _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr = in_addr(s_addr: UInt32(0x7f00_0001).bigEndian)
    let connected = withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else { return nil }
    let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n".utf8)
    guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else {
        return nil
    }
    var received: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    // Bounded: at most 64 MB or the timeout per read.
    while received.count < 64 << 20 {
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count > 0 {
            received += chunk[0..<count]
        } else if count == 0 {
            return String(decoding: received, as: UTF8.self)
        } else if errno != EINTR {
            return nil
        }
    }
    return nil
}

/// The value of the sample `name{labels}` (exact text before the value) in a metrics page.
public func metricValue(_ page: String, _ sample: String) -> Double? {
    for line in page.split(separator: "\n") where line.hasPrefix(sample + " ") {
        return Double(line.dropFirst(sample.count + 1))
    }
    return nil
}
