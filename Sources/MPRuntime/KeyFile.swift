// Reading the pre-shared key at start: I/O (open, read, stat), so it lives in the runtime;
// MPCore only parses the text. The executables call this once, before building a daemon.
import Glibc
import Logging
import MPCore

/// A key read from a key file, and whether the file's permissions expose it.
public struct KeyFile {
    /// The file's path as given.
    public let path: String
    /// The key it holds.
    public let key: PreSharedKey
    /// True when group or others may read the file: anyone who can read it can forge frames.
    public let isReadableByOthers: Bool

    /// Reads and parses the key file at `path`. Throws ``KeyFileError`` naming the file and
    /// what is wrong (cannot be read, empty, not base64, wrong length); never echoes the key.
    public static func load(path: String) throws(KeyFileError) -> KeyFile {
        let text: String
        do {
            text = try TextFile.read(path: path)
        } catch {
            throw KeyFileError(path: path, reason: "cannot read it: \(Self.reason(error))")
        }
        let key: PreSharedKey
        do {
            key = try PreSharedKey(base64: text)
        } catch {
            throw KeyFileError(path: path, reason: error.description)
        }
        var status = stat()
        let exposed = stat(path, &status) == 0 && status.st_mode & (S_IRGRP | S_IROTH) != 0
        return KeyFile(path: path, key: key, isReadableByOthers: exposed)
    }

    private static func reason(_ error: any Error) -> String {
        guard let error = error as? SystemError else { return "\(error)" }
        return SystemError.message(for: error.errno)
    }
}

/// A key file that cannot be used; ``description`` names the file and the problem.
public struct KeyFileError: Error, CustomStringConvertible, Equatable {
    /// The key file's path as given.
    public let path: String
    /// What is wrong, such as "the key is 30 bytes long: expected 32".
    public let reason: String

    /// For example ``key file `/etc/mptunnel/key': the key is not base64: ...``.
    public var description: String { "key file `\(path)': \(reason)" }
}

/// Logs at start how frames travel: sealed, authenticated only, or (a warning) keyless.
func logSealing(_ keyring: Keyring, logger: Logger) {
    guard keyring.key != nil else {
        logger.warning(ClientDaemon.keylessWarning)
        return
    }
    if keyring.encrypts {
        logger.info(
            keyring.cipher == .aes256GCM ? "frames sealed with AES-256-GCM" : "frames sealed with ChaCha20-Poly1305")
    } else {
        logger.info("authenticated, payload in clear (MPTUNNEL_ENCRYPT=0)")
    }
}
