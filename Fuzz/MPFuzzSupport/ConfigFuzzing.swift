import MPCore

/// Arbitrary bytes, decoded as UTF-8 (invalid sequences become U+FFFD), as mpclient.conf.
///
/// Checked: the parser returns or throws ``ConfigError`` (its typed throw guarantees the
/// type; a crash or hang is the finding); an accepted config has 1-32 paths, ports 1-65535,
/// no two paths with the same endpoint (host compared ignoring ASCII case) and line numbers
/// that increase and exist in the text; an error's message is one line of printable ASCII.
enum ConfigFuzzing {
    static func run(_ data: UnsafeRawBufferPointer) {
        let text = String(decoding: data, as: UTF8.self)
        let lineCount = text.unicodeScalars.reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
        do {
            let configuration = try ConfigParser.parse(text)
            check(configuration, lineCount: lineCount)
        } catch {
            check(error, lineCount: lineCount)
        }
    }

    static func check(_ configuration: ClientConfiguration, lineCount: Int) {
        let paths = configuration.paths
        fuzzCheck((1...Defaults.maximumPaths).contains(paths.count), "\(paths.count) paths accepted")
        fuzzCheck(configuration.listen.port != 0, "listen port 0 accepted")
        var seen: Set<String> = []
        var lastLine = 0
        for path in paths {
            fuzzCheck(path.endpoint.port != 0, "port 0 accepted on line \(path.lineNumber)")
            fuzzCheck(!path.endpoint.host.isEmpty, "empty host accepted on line \(path.lineNumber)")
            fuzzCheck(path.lineNumber > lastLine && path.lineNumber <= lineCount, "line number \(path.lineNumber)")
            lastLine = path.lineNumber
            let key = "\(lowercasedASCII(path.endpoint.host)) \(path.endpoint.port)"
            fuzzCheck(seen.insert(key).inserted, "path \(path.endpoint) accepted twice")
        }
    }

    static func check(_ error: ConfigError, lineCount: Int) {
        if let line = error.lineNumber {
            fuzzCheck((1...lineCount).contains(line), "error on line \(line) of \(lineCount)")
        } else {
            fuzzCheck(error.kind == .noPaths, "whole-file error \(error.kind)")
        }
        let message = error.message(fileName: "mpclient.conf")
        fuzzCheck(
            message.unicodeScalars.allSatisfy { (0x20...0x7E).contains($0.value) },
            "message is not one printable line: \(message.debugDescription)")
    }

    private static func lowercasedASCII(_ text: String) -> String {
        String(decoding: text.utf8.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
    }
}
