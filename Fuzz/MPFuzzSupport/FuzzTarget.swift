import MPCore

/// The three fuzz targets. Each executable in `Fuzz/` is a thin entry point that hands
/// libFuzzer's input to ``run(_:)``; everything they check lives in this module.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// Arbitrary frames into keyless engines (see ``FrameFuzzing``).
    case frame
    /// Arbitrary frames into keyed engines, and tampered authentic frames (``SealedFrameForgery``).
    case sealed
    /// Arbitrary text into the config parser (see ``ConfigFuzzing``).
    case config

    /// Runs one input. Returns normally when every invariant holds; traps otherwise.
    public func run(_ data: UnsafeRawBufferPointer) {
        switch self {
        case .frame:
            FrameFuzzing.run(data, keyring: .keyless)
        case .sealed:
            // Selector bit 7 set: a tampered authentic frame; bit 6: sealed frames are
            // encrypted (otherwise authenticated only, MPTUNNEL_ENCRYPT=0); bit 5: both
            // sides seal with AES-256-GCM (otherwise ChaCha20-Poly1305).
            var input = FuzzInput(data)
            let selector = input.byte()
            let keyring = Keyring(
                key: SealedFrameForgery.key, encrypts: selector & 0x40 != 0,
                cipher: selector & 0x20 != 0 ? .aes256GCM : .chaCha20Poly1305)
            if selector & 0x80 != 0 {
                SealedFrameForgery.run(&input, keyring: keyring)
            } else {
                FrameFuzzing.run(data, keyring: keyring)
            }
        case .config:
            ConfigFuzzing.run(data)
        }
    }

    /// What the executable prints when built without `-DMPTUNNEL_FUZZING`.
    public var usage: String {
        """
        fuzz-\(rawValue): a libFuzzer target, built without fuzzing support.
        Run it with Fuzz/run.sh \(rawValue) [seconds], which builds it with
          swift build -c release --product fuzz-\(rawValue) --scratch-path .build-fuzz \\
            -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DMPTUNNEL_FUZZING
        See Fuzz/README.md.
        """
    }
}
