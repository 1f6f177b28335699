import MPFuzzSupport

// The libFuzzer entry points, compiled only for fuzzing (see Fuzz/run.sh). A plain
// `swift build` gets a main that prints how to build and run the target instead.
#if MPTUNNEL_FUZZING
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        FuzzTarget.config.run(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }

    // SwiftPM on Linux makes this the executable's `main` (see runLibFuzzer).
    @_cdecl("ConfigFuzzer_main")
    public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
        runLibFuzzer(argc: argc, argv: argv, testOneInput: fuzzOneInput)
    }
#else
    @main
    enum ConfigFuzzer {
        static func main() {
            print(FuzzTarget.config.usage)
        }
    }
#endif
