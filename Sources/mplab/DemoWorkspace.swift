// What the demonstration and the benchmark need around them: the daemons' binaries next to
// mplab, free loopback ports, and a temporary directory for mpclient.conf, key files and logs.
import Glibc
import MPRuntime

struct DemoWorkspace {
    let directory: String
    let serverBinary: String
    let clientBinary: String
    /// mplab itself, for relays and echo targets run as their own processes.
    let labBinary: String

    var serverLog: String { directory + "/mpserver.log" }
    var clientLog: String { directory + "/mpclient.log" }
    var clientConfig: String { directory + "/mpclient.conf" }

    /// Finds mpserver and mpclient in `binaryDirectory` (default: mplab's own directory)
    /// and makes a fresh temporary directory.
    static func make(binaryDirectory: String?, prefix: String = "mplab-demo") throws -> DemoWorkspace {
        let binaries = try binaryDirectory ?? ownDirectory()
        let server = binaries + "/mpserver"
        let client = binaries + "/mpclient"
        for binary in [server, client] where access(binary, X_OK) != 0 {
            throw LabError("cannot find `\(binary)' (\(errnoText())): build it with `swift build`")
        }
        var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
        guard let directory = template.withUnsafeMutableBufferPointer({ $0.baseAddress.flatMap { mkdtemp($0) } }) else {
            throw LabError("cannot make a temporary directory: \(errnoText())")
        }
        return DemoWorkspace(
            directory: String(cString: directory), serverBinary: server, clientBinary: client,
            labBinary: try ownDirectory() + "/mplab")
    }

    /// The directory of the running executable, from /proc/self/exe.
    private static func ownDirectory() throws -> String {
        var path = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &path, path.count - 1)
        guard length > 0 else { throw LabError("cannot read /proc/self/exe: \(errnoText())") }
        let executable = String(decoding: path[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let slash = executable.lastIndex(of: "/") else { return "." }
        return String(executable[..<slash])
    }

    /// A UDP port free on 127.0.0.1 right now: bound, read and released. Another program
    /// could take it before the daemon binds it; the daemon then fails with a clear log.
    static func freeLoopbackPort() throws -> UInt16 {
        let socket = try UDPSocket(bindingTo: .loopbackIPv4(port: 0))
        return try socket.localAddress.port
    }

    /// Writes an mpclient.conf with one path per relay to `path` (default: ``clientConfig``).
    func writeClientConfig(
        listenPort: UInt16, relays: [SocketAddress], keyFile: String? = nil, extraLines: [String] = [],
        to path: String? = nil
    ) throws {
        var lines = ["# Written by mplab: one path per relay.", "listen 127.0.0.1 \(listenPort)"]
        lines += relays.map { "\($0.ipAddress) \($0.port)" }
        if let keyFile { lines.append("key-file \(keyFile)") }
        lines += extraLines
        try AtomicFile.write(lines.joined(separator: "\n") + "\n", to: path ?? clientConfig)
    }

    /// Removes the directory and the files put in it (it has no subdirectories).
    func remove() {
        if let stream = opendir(directory) {
            while let entry = readdir(stream) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) {
                    String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name != "." && name != ".." { unlink(directory + "/" + name) }
            }
            closedir(stream)
        }
        rmdir(directory)
    }
}
