// Reading the config file: I/O, so it lives in the runtime; the parser in MPCore only
// ever sees the text.
import Glibc

/// Reads small text files.
public enum TextFile {
    /// Config files are a few lines; 1 MB is far past any real one and keeps a wrong path
    /// (a device, a huge log) from being read into memory.
    static let maximumSize = 1 << 20

    /// The contents of the file at `path` as UTF-8 text (invalid bytes repaired).
    /// Throws ``SystemError`` naming the call, or when the file exceeds 1 MB.
    public static func read(path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError(call: "open \(path)", errno: errno) }
        defer { close(fd) }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw SystemError(call: "read \(path)", errno: errno) }
            if count == 0 { break }
            contents.append(contentsOf: chunk[0..<count])
            guard contents.count <= maximumSize else { throw SystemError(call: "read \(path)", errno: EFBIG) }
        }
        return String(decoding: contents, as: UTF8.self)
    }
}
