// The HTTP side of the metrics endpoint, apart from sockets so it can be tested alone: a
// scanner that finds the end of a request's headers however the request arrives (each byte
// looked at once), and the response to the request line.

/// Finds the blank line that ends a request's headers (`\r\n\r\n`, or `\n\n` from a client
/// typed by hand). Fed the same growing buffer after each read, it looks only at the bytes
/// added since the last call: a request sent one byte at a time costs one look per byte.
/// The zero value is ready to use.
struct RequestHeadScanner {
    /// Bytes already looked at.
    private(set) var scanned = 0
    /// Where the line being scanned starts.
    private var lineStart = 0

    /// Scans `bytes` from where the last call stopped; returns the length of the head (the
    /// bytes before the blank line) once the blank line is complete, else nil.
    mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Int? {
        while scanned < bytes.count {
            let index = scanned
            scanned += 1
            guard bytes[index] == UInt8(ascii: "\n") else { continue }
            let length = index - lineStart
            if length == 0 || (length == 1 && bytes[lineStart] == UInt8(ascii: "\r")) { return lineStart }
            lineStart = index + 1
        }
        return nil
    }
}

enum MetricsResponse {
    /// The response to `request` once its headers are complete, else nil (see
    /// ``answer(head:render:)``).
    static func answer(to request: [UInt8], render: () -> String) -> String? {
        request.withUnsafeBytes { bytes in
            var scanner = RequestHeadScanner()
            return scanner.scan(bytes).map {
                answer(head: UnsafeRawBufferPointer(rebasing: bytes[..<$0]), render: render)
            }
        }
    }

    /// The response to a request whose head (request line and headers) is `head`: 200 with
    /// the metrics for `GET /metrics` and `GET /` (`HEAD` without the body), 404 for another
    /// path, 405 for another method, 400 when the request line is malformed.
    static func answer(head: UnsafeRawBufferPointer, render: () -> String) -> String {
        switch route(head: head) {
        case .error(let response): return response
        case .page(let isHead): return page(body: render(), isHead: isHead)
        }
    }

    /// What a request asks for: the page (`isHead` for `HEAD`), or an error response.
    enum Route: Equatable {
        case page(isHead: Bool)
        case error(String)
    }

    /// Where a request whose head is `head` goes (see ``answer(head:render:)``).
    static func route(head: UnsafeRawBufferPointer) -> Route {
        let lineEnd = head.firstIndex(of: UInt8(ascii: "\n")) ?? head.count
        var line = head[..<lineEnd]
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        let words = line.split(separator: UInt8(ascii: " ")).map { String(decoding: $0, as: UTF8.self) }
        guard words.count == 3, words[2].hasPrefix("HTTP/") else { return .error(status(400, "Bad Request")) }
        guard words[0] == "GET" || words[0] == "HEAD" else { return .error(status(405, "Method Not Allowed")) }
        let path = words[1].split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard path == "/metrics" || path == "/" else { return .error(status(404, "Not Found")) }
        return .page(isHead: words[0] == "HEAD")
    }

    /// The 200 response carrying `body` (only its headers for `HEAD`).
    static func page(body: String, isHead: Bool) -> String {
        let header =
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n"
        return isHead ? header : header + body
    }

    /// A response with only a status line and a one-line body.
    static func status(_ code: Int, _ reason: String) -> String {
        let body = "\(code) \(reason)\n"
        return "HTTP/1.1 \(code) \(reason)\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\n"
            + "Connection: close\r\n\r\n" + body
    }
}
