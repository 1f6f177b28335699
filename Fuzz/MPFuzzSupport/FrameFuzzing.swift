import MPCore

/// Arbitrary bytes as a frame, fed to the engines' real entry points with or without a key.
///
/// The first input byte chooses the receiver (bits 0-1), at mpclient the path (bits 2-3;
/// path 3 is out of range), and with bit 4 an established tunnel in `mode fec` whose two
/// receivers each hold a group missing payloads (``EstablishedTunnel/primeFEC()``); the
/// rest is the frame. Checked on every input:
/// - a header that decodes re-encodes to the same 32 bytes, and a parity body that decodes
///   re-encodes too;
/// - a delivered payload is exactly the frame's body, a reply a well-formed mpserver frame;
/// - the same bytes fed again at the same instant are dropped (a duplicate, or an
///   acceptance within its rate limit): nothing is delivered or answered twice.
enum FrameFuzzing {
    enum Receiver: UInt8 {
        /// A fresh mpserver, no session.
        case newServer = 0
        /// A fresh mpclient whose session id is the one the frame names; not accepted.
        case newClient = 1
        /// An established mpclient (session id from the frame), as after ``EstablishedTunnel``.
        case establishedClient = 2
        /// The mpserver of an established session (session id from the frame).
        case establishedServer = 3
    }

    static func run(_ data: UnsafeRawBufferPointer, keyring: Keyring) {
        var input = FuzzInput(data)
        let selector = input.byte()
        let frame = input.rest()
        checkHeaderRoundTrip(frame)
        checkParityBody(frame)
        let path = Int(selector >> 2) & 3
        let fec = selector & 0x10 != 0
        switch Receiver(rawValue: selector & 3)! {
        case .newServer:
            let engine = ServerEngine<Int>(keyring: keyring)
            var generator = FixedTagGenerator()
            feedServerTwice(frame) {
                EstablishedTunnel.serverReceive($0, engine: engine, from: 1_000, using: &generator).verdict
            }
        case .newClient:
            let session = ClientSession<Int>(
                sessionID: sessionID(namedBy: frame), pathCount: EstablishedTunnel.pathCount, keyring: keyring)
            feedClientTwice(frame) { EstablishedTunnel.clientReceive($0, session: session, path: path).verdict }
        case .establishedClient:
            let tunnel = EstablishedTunnel(sessionID: sessionID(namedBy: frame), keyring: keyring, fec: fec)
            feedClientTwice(frame) { tunnel.clientReceive($0, path: path).verdict }
        case .establishedServer:
            let tunnel = EstablishedTunnel(sessionID: sessionID(namedBy: frame), keyring: keyring, fec: fec)
            feedServerTwice(frame) { tunnel.serverReceive($0, path: 0).verdict }
        }
    }

    /// A decoded header re-encodes to the first 32 bytes of the frame, byte for byte.
    static func checkHeaderRoundTrip(_ frame: UnsafeRawBufferPointer) {
        guard let header = try? FrameHeader.decode(frame) else { return }
        fuzzCheck(frame.count >= FrameLayout.headerSize, "decoded a \(frame.count)-byte frame")
        var encoded = [UInt8](repeating: 0, count: FrameLayout.headerSize)
        encoded.withUnsafeMutableBytes { header.encode(into: $0) }
        fuzzCheck(encoded.elementsEqual(frame[..<FrameLayout.headerSize]), "header does not re-encode: \(header)")
    }

    private static func feedServerTwice(
        _ frame: UnsafeRawBufferPointer, _ receive: ([UInt8]) -> ServerEngine<Int>.Inbound
    ) {
        let original = Array(frame)
        _ = receive(original)
        let again = receive(original)
        guard case .dropped = again else {
            fatalError("fuzz invariant violated: mpserver acted twice on one frame: \(again)")
        }
    }

    private static func feedClientTwice(
        _ frame: UnsafeRawBufferPointer, _ receive: ([UInt8]) -> ClientSession<Int>.Inbound
    ) {
        let original = Array(frame)
        _ = receive(original)
        let again = receive(original)
        guard case .dropped = again else {
            fatalError("fuzz invariant violated: mpclient acted twice on one frame: \(again)")
        }
    }
}
