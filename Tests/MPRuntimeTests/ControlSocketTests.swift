import Foundation
import Glibc
import MPTestSupport
import Synchronization
import Testing

@testable import MPRuntime

@Suite("Control socket and --status client")
struct ControlSocketTests {
    /// Connects to `path` without blocking on the reply (the listen backlog accepts it).
    static func connectClient(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue), 0)
        let address = try UnixAddress(path: path)
        #expect(address.withSockAddr { connect(fd, $0, $1) } == 0)
        return fd
    }

    /// Runs the loop, reading `fd` each millisecond, until the daemon closes it (EOF).
    static func readReply(_ fd: Int32, loop: EventLoop) -> [UInt8] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let poll = TimerWatcher(loop: loop, interval: .milliseconds(1), repeating: true) {
            while true {
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if count > 0 { bytes += buffer[..<count] } else { break }
                if count == 0 { loop.stop() }
            }
            if recv(fd, &buffer, 1, Int32(MSG_PEEK)) == 0 { loop.stop() }
        }
        poll.start()
        runLoop(loop, timeout: .seconds(5))
        poll.stop()
        return bytes
    }

    @Test("answers each connection with the table and closes it; the file is the owner's only")
    func answers() throws {
        let folder = makeTemporaryDirectory(prefix: "mptunnel-control")
        defer { _ = rmdir(folder) }
        let loop = try EventLoop()
        let path = folder + "/a.sock"
        var socket: ControlSocket? = try ControlSocket(path: path, loop: loop) { "table\n" }
        for _ in 0..<3 {
            let client = try Self.connectClient(path)
            #expect(String(decoding: Self.readReply(client, loop: loop), as: UTF8.self) == "table\n")
            _ = close(client)
        }
        var status = stat()
        #expect(lstat(path, &status) == 0 && status.st_mode & 0o777 == 0o600)
        withExtendedLifetime(socket) {}
        socket = nil
        #expect(access(path, F_OK) != 0, "the daemon removes its socket file when it stops")
    }

    @Test("a reply larger than the socket buffer arrives whole, written as the peer reads")
    func largeReply() throws {
        let folder = makeTemporaryDirectory(prefix: "mptunnel-control")
        defer { _ = rmdir(folder) }
        let loop = try EventLoop()
        let text = String(repeating: "0123456789abcdef\n", count: 200_000)
        let socket = try ControlSocket(path: folder + "/big.sock", loop: loop) { text }
        let client = try Self.connectClient(folder + "/big.sock")
        defer { _ = close(client) }
        #expect(Self.readReply(client, loop: loop).count == text.utf8.count)
        withExtendedLifetime(socket) {}
    }

    @Test("a stale socket file is replaced, a live one and a regular file are refused")
    func existingFiles() throws {
        let folder = makeTemporaryDirectory(prefix: "mptunnel-control")
        defer { _ = rmdir(folder) }
        let loop = try EventLoop()
        let path = folder + "/c.sock"
        var first: ControlSocket? = try ControlSocket(path: path, loop: loop) { "1" }
        #expect(throws: ControlSocketError(path: path, problem: .inUse)) {
            try ControlSocket(path: path, loop: loop) { "2" }
        }
        // A daemon that died leaves its file: make one by hand, with nobody listening.
        first = nil
        let stale = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        _ = try UnixAddress(path: path).withSockAddr { bind(stale, $0, $1) }
        _ = close(stale)
        #expect(throws: Never.self) { _ = try ControlSocket(path: path, loop: loop) { "3" } }
        let regular = folder + "/file"
        #expect(FileManager.default.createFile(atPath: regular, contents: Data("keep".utf8)))
        defer { _ = unlink(regular) }
        #expect(throws: ControlSocketError(path: regular, problem: .notSocket)) {
            try ControlSocket(path: regular, loop: loop) { "4" }
        }
        #expect(FileManager.default.contents(atPath: regular) == Data("keep".utf8))
        let long = "/tmp/" + String(repeating: "x", count: 120)
        #expect(throws: ControlSocketError(path: long, problem: .tooLong)) {
            try ControlSocket(path: long, loop: loop) { "5" }
        }
        withExtendedLifetime(first) {}
    }

    @Test("--status reads the whole table, and explains a missing or stale socket")
    func statusClient() throws {
        let folder = makeTemporaryDirectory(prefix: "mptunnel-control")
        defer { _ = rmdir(folder) }
        let loop = try EventLoop()
        let path = folder + "/d.sock"
        let socket = try ControlSocket(path: path, loop: loop) { "path 0 up\n" }
        let result = Mutex<String?>(nil)
        let thread = Thread {
            let text = (try? StatusClient.fetch(path: path, daemon: "mpclient")) ?? "failed"
            result.withLock { $0 = text }
        }
        thread.start()
        let poll = TimerWatcher(loop: loop, interval: .milliseconds(2), repeating: true) {
            if result.withLock({ $0 }) != nil { loop.stop() }
        }
        poll.start()
        runLoop(loop, timeout: .seconds(5))
        #expect(result.withLock { $0 } == "path 0 up\n")
        withExtendedLifetime(socket) {}

        let missing = folder + "/none.sock"
        #expect(throws: StatusError.self) { try StatusClient.fetch(path: missing, daemon: "mpclient") }
        do {
            _ = try StatusClient.fetch(path: missing, daemon: "mpclient")
        } catch {
            #expect(error.message.contains("no control socket at \(missing): is mpclient running"))
        }
    }
}
