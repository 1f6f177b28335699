// The Debian package for PackageTests: found where Configs/package/build-deb.sh writes it
// (built by that script when missing or older than the sources), extracted once with
// `dpkg-deb -x`, and wrappers that run its binaries with the toolchain's libraries hidden.
import Foundation
import Glibc
import MPRuntime
import MPTestSupport
import MPLabSupport

/// Why the package could not be built, extracted or run.
struct PackageError: Error, CustomStringConvertible {
    let description: String
}

/// The package extracted into a scratch folder, and a folder of wrappers named like the
/// products that ``TunnelLab`` starts.
struct InstalledPackage: Sendable {
    /// Built and extracted on first use, shared by every test of the run.
    static let shared = Result { try InstalledPackage() }

    /// The repository root, three levels above this file (Tests/EndToEndTests/…).
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// Where the script writes the package (its default output folder).
    static let outputDirectory = "\(repositoryRoot)/.build-static/package"

    /// The .deb file.
    let path: String
    /// The extracted tree (`usr/bin/mpserver`, `lib/systemd/system/...`).
    let root: String
    /// `mpserver` and `mpclient` wrappers running the packaged binaries with the toolchain
    /// hidden, and `mplab` (the build's: relays and echo are the test bed, not the package).
    let wrappers: String
    /// Scratch folder for logs.
    let scratch: String

    init() throws {
        scratch = makeTemporaryDirectory(prefix: "mptunnel-package")
        path = try Self.builtPackage(scratch: scratch)
        root = "\(scratch)/root"
        wrappers = "\(scratch)/bin"
        try Self.check(try Self.capture("dpkg-deb", ["-x", path, root], scratch: scratch), "dpkg-deb -x \(path)")
        try FileManager.default.createDirectory(atPath: wrappers, withIntermediateDirectories: true)
        let hidden = try Self.toolchainLibraryDirectory(scratch: scratch)
        for daemon in ["mpserver", "mpclient"] {
            try Self.writeWrapper(at: "\(wrappers)/\(daemon)", running: "\(root)/usr/bin/\(daemon)", hiding: hidden)
        }
        try Self.writeWrapper(at: "\(wrappers)/hidden-toolchain", running: nil, hiding: hidden)
        try FileManager.default.createSymbolicLink(
            atPath: "\(wrappers)/mplab", withDestinationPath: "\(productsDirectory())/mplab")
    }

    /// The newest package of this release in the output folder; when there is none, or it is
    /// older than a file under Sources/ or Configs/, the script builds it (a few minutes from
    /// a clean checkout) and a failure fails the tests with its output.
    static func builtPackage(scratch: String) throws -> String {
        let sourceTime = max(
            newestModificationTime(under: "\(repositoryRoot)/Sources"),
            newestModificationTime(under: "\(repositoryRoot)/Configs"))
        if let found = existingPackage(), modificationTime(found) >= sourceTime { return found }
        let script = "\(repositoryRoot)/Configs/package/build-deb.sh"
        let result = try capture("bash", [script], scratch: scratch, timeout: .seconds(1200))
        try check(result, "\(script) (the package was missing or older than the sources)")
        guard let built = existingPackage() else {
            throw PackageError(description: "\(script) wrote no package to \(outputDirectory):\n\(result.output)")
        }
        return built
    }

    static func existingPackage() -> String? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: outputDirectory)) ?? []
        return names.filter { $0.hasPrefix("mptunnel_\(Release.version)_") && $0.hasSuffix(".deb") }.sorted().last
            .map { "\(outputDirectory)/\($0)" }
    }

    /// The folder the build's own binaries load the Swift runtime from (the toolchain's
    /// `usr/lib/swift/linux`, as `ldd` shows): whatever the packaged binaries need must come
    /// from elsewhere.
    static func toolchainLibraryDirectory(scratch: String) throws -> String {
        let result = try capture("ldd", ["\(productsDirectory())/mpserver"], scratch: scratch)
        try check(result, "ldd \(productsDirectory())/mpserver")
        let line = result.output.split(separator: "\n").first { $0.contains("libswiftCore.so => /") }
        guard let line, let start = line.firstIndex(of: "/"), let end = line.range(of: "/libswiftCore.so (")
        else { throw PackageError(description: "ldd shows no libswiftCore.so:\n\(result.output)") }
        return String(line[start..<end.lowerBound])
    }

    /// A shell script that runs `program` (or, with nil, its first argument) with its
    /// arguments in a private mount namespace where `hidden` is an empty tmpfs, with
    /// LD_LIBRARY_PATH unset. Each step execs the next, so the process id stays the
    /// program's and the lab stops it by PID.
    static func writeWrapper(at path: String, running program: String?, hiding hidden: String) throws {
        let target = program.map { "\"\($0)\" " } ?? ""
        let script = """
            #!/bin/sh
            exec env -u LD_LIBRARY_PATH unshare --mount --propagation private -- sh -c \\
                'mount -t tmpfs -o ro,size=4k hidden-toolchain "$1" && shift && exec "$@"' \\
                hide "\(hidden)" \(target)"$@"

            """
        try writeFile(path, script)
        guard chmod(path, 0o755) == 0 else { throw PackageError(description: "chmod \(path): errno \(errno)") }
    }

    /// Runs the packaged `daemon` with the toolchain hidden and waits for it to exit.
    func run(_ daemon: String, _ arguments: [String]) throws -> (status: Int32?, output: String) {
        try Self.capture("\(wrappers)/\(daemon)", arguments, scratch: scratch)
    }

    /// Runs the program at `path` with the toolchain hidden and waits for it to exit.
    func run(path: String, _ arguments: [String]) throws -> (status: Int32?, output: String) {
        try Self.capture("\(wrappers)/hidden-toolchain", [path] + arguments, scratch: scratch)
    }

    /// A field of the package's control file (`Depends`).
    func field(_ name: String) throws -> String {
        let result = try Self.capture("dpkg-deb", ["-f", path, name], scratch: scratch)
        try Self.check(result, "dpkg-deb -f \(path) \(name)")
        return result.output
    }

    /// A control member (`conffiles`).
    func control(_ member: String) throws -> String {
        let result = try Self.capture("dpkg-deb", ["--info", path, member], scratch: scratch)
        try Self.check(result, "dpkg-deb --info \(path) \(member)")
        return result.output
    }

    /// A file of the package as text.
    func text(_ relativePath: String) throws -> String {
        try String(contentsOfFile: "\(root)/\(relativePath)", encoding: .utf8)
    }

    /// A gzip-compressed file of the package as text.
    func unzip(_ relativePath: String) throws -> String {
        let result = try Self.capture("gzip", ["-dc", "\(root)/\(relativePath)"], scratch: scratch)
        try Self.check(result, "gzip -dc \(relativePath)")
        return result.output
    }

    /// Every long option and flag that the packaged `daemon` shows in its help, from
    /// argument-parser's own description of the command (`--experimental-dump-help`).
    func longOptions(_ daemon: String) throws -> [String] {
        let result = try run(daemon, ["--experimental-dump-help"])
        try Self.check(result, "\(daemon) --experimental-dump-help")
        let json = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        let command = json?["command"] as? [String: Any]
        let arguments = command?["arguments"] as? [[String: Any]] ?? []
        return arguments.filter { ($0["kind"] as? String) != "positional" && ($0["shouldDisplay"] as? Bool) == true }
            .flatMap { argument in
                (argument["names"] as? [[String: Any]] ?? []).filter { ($0["kind"] as? String) == "long" }
                    .compactMap { $0["name"] as? String }
            }
    }

    static func capture(
        _ executable: String, _ arguments: [String], scratch: String, timeout: Duration = .seconds(20)
    ) throws -> (status: Int32?, output: String) {
        let log = "\(scratch)/\(UUID().uuidString).log"
        let process = try ChildProcess(executable, arguments, logPath: log)
        let status = process.waitForExit(timeout: timeout)
        return (status, process.log)
    }

    static func check(_ result: (status: Int32?, output: String), _ what: String) throws {
        guard result.status == 0 else {
            throw PackageError(
                description: "\(what) exited \(result.status.map(String.init) ?? "(timeout)"):\n\(result.output)")
        }
    }

    static func modificationTime(_ path: String) -> Int {
        var status = stat()
        return stat(path, &status) == 0 ? status.st_mtim.tv_sec : 0
    }

    static func newestModificationTime(under directory: String) -> Int {
        let files = FileManager.default.enumerator(atPath: directory)?.allObjects as? [String] ?? []
        return files.map { modificationTime("\(directory)/\($0)") }.max() ?? 0
    }
}
