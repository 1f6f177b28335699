// What `--version` prints, and the version the Debian package carries: Configs/package/build-deb.sh
// reads it from the built `mpserver --version`, so the package and the binaries never disagree.
import MPCore

/// This release of mptunnel.
public enum Release {
    /// The release version (Debian's upstream version syntax: digits and dots). Raise it with
    /// every release that is packaged.
    public static let version = "1.0.0"

    /// The text of `--version`: the release and the wire protocol version, which must match
    /// on both sides (`mpserver 1.0.0` may talk to any mpclient of protocol 2).
    public static let versionText = "\(version) (protocol \(FrameLayout.version))"
}
