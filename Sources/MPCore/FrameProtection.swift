/// How the frames of one direction of one session are protected on the wire.
///
/// A keyless tunnel sends frames in clear and unauthenticated: anyone who can reach the port
/// can inject traffic, and both daemons say so at start. A frame is sealed once and the same
/// bytes go on every path; only the path-id byte, outside the protected data, differs.
public struct FrameProtection: Sendable {
    /// Frames in clear, unauthenticated.
    public static let keyless = FrameProtection()

    /// Writes `header` into `frame`, with the flags this protection uses, and seals the body
    /// already written at ``FrameLayout/headerSize``. Returns the frame's length.
    /// The caller guarantees room for the body plus ``FrameLayout/tagSize``.
    func seal(_ header: FrameHeader, bodyLength: Int, in frame: UnsafeMutableRawBufferPointer) -> Int {
        var header = header
        header.flags = []
        header.encode(into: frame)
        return FrameLayout.headerSize + bodyLength
    }

    /// Checks `frame` (whose header is `header`) and returns the range of its body, opened
    /// in place, or the reason to drop it.
    func open(_ header: FrameHeader, in frame: UnsafeMutableRawBufferPointer) -> Result<Range<Int>, DropReason> {
        if header.flags.contains(.authenticated) { return .failure(.unexpectedAuthentication) }
        return .success(FrameLayout.headerSize..<frame.count)
    }
}
