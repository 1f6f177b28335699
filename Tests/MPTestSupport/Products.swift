// Where the end-to-end tests find the built products and keep their files: the debug build
// beside the test binary, the release build for the tests that judge a rate, and a fresh
// temporary directory per test. The processes themselves are MPLabSupport's ChildProcess.
import Foundation
import Glibc
import MPRuntime

/// A fresh temporary directory for one test's logs and config files.
public func makeTemporaryDirectory(prefix: String = "mptunnel-test") -> String {
    var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
    return template.withUnsafeMutableBufferPointer { buffer in
        guard let base = buffer.baseAddress, let path = mkdtemp(base) else { return "/tmp" }
        return String(cString: path)
    }
}

/// Writes `text` to `path`, replacing it.
public func writeFile(_ path: String, _ text: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw SystemError(call: "open \(path)", errno: errno) }
    defer { close(fd) }
    let bytes = Array(text.utf8)
    let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    guard written == bytes.count else { throw SystemError(call: "write \(path)", errno: errno) }
}

/// The directory holding the built products (mpclient, mpserver, mplab): the directory of
/// the running test binary.
public func productsDirectory() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard length > 0 else { return ".build/debug" }
    let path = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    var components = path.split(separator: "/", omittingEmptySubsequences: false)
    // The test binary is .build/<triple>/debug/mptunnelPackageTests.xctest.
    components.removeLast()
    return components.joined(separator: "/")
}

/// Why release binaries for a test that judges a rate cannot be used.
public struct ReleaseBuildMissing: Error, CustomStringConvertible {
    public let description: String
}

/// The directory of the release build of mpclient, mpserver and mplab, beside the debug
/// products (`.build/<triple>/release`), for the tests that judge a rate or a CPU share:
/// a debug build is several times slower and would judge the compiler, not the design.
/// - Throws: ``ReleaseBuildMissing`` when a binary is missing or older than a file under
///   `Sources/` (the code changed since `swift build -c release`): such a test fails,
///   never skips.
public func releaseProductsDirectory() throws -> String {
    var components = productsDirectory().split(separator: "/", omittingEmptySubsequences: false)
    components.removeLast()
    let release = (components + ["release"]).joined(separator: "/")
    // The package's root: the products directory is <root>/.build/<triple>/<configuration>.
    let root = components.dropLast(2).joined(separator: "/")
    let newestSource = newestModification(under: "\(root)/Sources")
    for product in ["mpclient", "mpserver", "mplab"] {
        var status = stat()
        guard stat("\(release)/\(product)", &status) == 0 else {
            throw ReleaseBuildMissing(description: "no \(release)/\(product): run `swift build -c release` first")
        }
        if status.st_mtim.tv_sec < newestSource {
            throw ReleaseBuildMissing(
                description: "\(release)/\(product) is older than the sources: run `swift build -c release`")
        }
    }
    return release
}

/// The latest modification time (seconds) of a file under `directory`; 0 when none.
func newestModification(under directory: String) -> Int {
    guard let files = FileManager.default.enumerator(atPath: directory) else { return 0 }
    var newest = 0
    for case let file as String in files {
        var status = stat()
        if stat("\(directory)/\(file)", &status) == 0 { newest = max(newest, status.st_mtim.tv_sec) }
    }
    return newest
}
