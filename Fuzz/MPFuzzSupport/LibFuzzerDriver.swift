#if MPTUNNEL_FUZZING
    /// libFuzzer's driver (in the toolchain's libclang_rt.fuzzer). Declared by its symbol name:
    /// its arguments are pointers only, passed the same way by the Swift and C conventions.
    // swift-format-ignore: AlwaysUseLowerCamelCase
    @_silgen_name("LLVMFuzzerRunDriver")
    private func LLVMFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
        _ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt

    /// Hands the command line to libFuzzer. SwiftPM links a Linux executable with `main` set to
    /// `<module>_main`, so libFuzzer's own `main` is never linked in; each target's `<module>_main`
    /// calls this instead.
    public func runLibFuzzer(
        argc: CInt, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
        testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt {
        var argc = argc
        var argv = argv
        return LLVMFuzzerRunDriver(&argc, &argv, testOneInput)
    }
#endif
