extension FrameHeader {
    /// Decodes and checks the header of `bytes` (receiver rules R1–R5 of the protocol
    /// document). Reads nothing past `bytes.count`; the body is `bytes[headerSize...]`.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(FrameError) -> FrameHeader {
        var cursor = ByteCursor(bytes)
        guard let version: UInt8 = cursor.read() else { throw .truncated(length: bytes.count) }
        guard version == FrameLayout.version else { throw .unknownVersion(version) }
        guard bytes.count >= FrameLayout.headerSize,
            let typeByte: UInt8 = cursor.read(), let flagsByte: UInt8 = cursor.read(),
            let pathID: UInt8 = cursor.read(), let sessionID: UInt64 = cursor.read(),
            let serverTag: UInt64 = cursor.read(), let sequence: UInt64 = cursor.read(),
            let flowID: UInt32 = cursor.read()
        else { throw .truncated(length: bytes.count) }
        guard let type = FrameType(rawValue: typeByte) else { throw .unknownType(typeByte) }
        let flags = FrameFlags(rawValue: flagsByte)
        guard flags.isSubset(of: .known),
            // union, not an array literal: the literal allocates per frame in unoptimized builds.
            flags.isDisjoint(with: FrameFlags.encrypted.union(.aesGCM)) || flags.contains(.authenticated)
        else {
            throw .invalidFlags(flagsByte)
        }
        if flags.contains(.authenticated), bytes.count < FrameLayout.headerSize + FrameLayout.tagSize {
            throw .truncated(length: bytes.count)
        }
        guard sessionID != 0, sequence != 0 else { throw .invalidHeader }
        return FrameHeader(
            type: type, flags: flags, pathID: pathID, sessionID: sessionID,
            serverTag: serverTag, sequence: sequence, flowID: flowID)
    }

    /// Writes the header into the first ``FrameLayout/headerSize`` bytes of `buffer`.
    /// The caller guarantees `buffer.count >= FrameLayout.headerSize`.
    public func encode(into buffer: UnsafeMutableRawBufferPointer) {
        var writer = ByteWriter(buffer)
        writer.write(FrameLayout.version)
        writer.write(type.rawValue)
        writer.write(flags.rawValue)
        writer.write(pathID)
        writer.write(sessionID)
        writer.write(serverTag)
        writer.write(sequence)
        writer.write(flowID)
    }

    /// Receiver rule R6b: whether a body of `bodyLength` bytes and the flow id fit the
    /// frame's type. Data frames name a flow (nonzero); probes, echoes and acceptances name
    /// none and carry exactly their 8-byte value; parity frames name none and carry at least
    /// a parity header. Checked after authentication, before the frame can change any state.
    public func hasValidShape(bodyLength: Int) -> Bool {
        switch type {
        case .upstreamData, .downstreamData: flowID != 0
        case .probe, .probeEcho: flowID == 0 && bodyLength == FrameLayout.probeBodySize
        case .acceptance: flowID == 0 && bodyLength == FrameLayout.acceptanceBodySize
        case .clientReport, .serverReport: flowID == 0 && PathReport.isValidBodyLength(bodyLength)
        // The rest of a parity body is checked by ParityHeader.decode (rule F1).
        case .upstreamParity, .downstreamParity: flowID == 0 && bodyLength >= ParityHeader.Layout.fixedSize
        }
    }

    /// Sets the path-id hint of an encoded frame in place: the one byte that differs
    /// between the copies of a frame sent on different paths.
    public static func setPathID(_ pathID: UInt8, in frame: UnsafeMutableRawBufferPointer) {
        frame[FrameLayout.pathIDOffset] = pathID
    }
}

/// Reads the 8-byte big-endian value that is the whole body of probes, echoes and
/// acceptances, or `nil` when the body is not exactly 8 bytes.
func readBodyValue(_ body: UnsafeRawBufferPointer) -> UInt64? {
    guard body.count == 8 else { return nil }
    var cursor = ByteCursor(body)
    return cursor.read()
}
