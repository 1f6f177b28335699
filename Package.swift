// swift-tools-version:6.1
import PackageDescription

// The data path's exclusivity is checked statically and, in debug builds (the tests), at
// run time too; release builds of MPCore and MPRuntime skip the run-time check, which took
// about 5% of the daemons' CPU (swift_beginAccess and its thread-local access set, on
// every frame). Fuzz/run.sh turns it back on for the fuzzers.
let releaseExclusivity = ["-enforce-exclusivity=unchecked"]

let package = Package(
    name: "mptunnel",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "mpclient", targets: ["mpclient"]),
        .executable(name: "mpserver", targets: ["mpserver"]),
        .executable(name: "mplab", targets: ["mplab"]),
        .library(name: "MPCore", targets: ["MPCore"]),
        // libFuzzer targets; built for fuzzing only by Fuzz/run.sh (see Fuzz/README.md).
        .executable(name: "fuzz-frame", targets: ["FrameFuzzer"]),
        .executable(name: "fuzz-sealed", targets: ["SealedFuzzer"]),
        .executable(name: "fuzz-config", targets: ["ConfigFuzzer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // libev through a system module map (Debian's libev-dev ships no pkg-config file).
        .systemLibrary(name: "CLibev", path: "Modules/CLibev", providers: [.apt(["libev-dev"])]),
        // OpenSSL 3's libcrypto: the AEADs that seal frames, HKDF, HMAC and random keys
        // (Debian's libssl-dev to build, libssl3 at run time).
        .systemLibrary(name: "CLibcrypto", path: "Modules/CLibcrypto", providers: [.apt(["libssl-dev"])]),
        // Intel ISA-L's Reed-Solomon erasure code for `mode fec K:M` (Debian's libisal-dev to
        // build, libisal2 at run time).
        .systemLibrary(name: "CISAL", path: "Modules/CISAL", providers: [.apt(["libisal-dev"])]),
        // recvmmsg/sendmmsg, which Glibc's Swift module hides.
        .systemLibrary(name: "CSocketExtras", path: "Modules/CSocketExtras"),
        // Pure protocol logic: no sockets, no clock, no logging. Cross-module optimization
        // lets the daemons specialize its generic session types for their address type:
        // unspecialized, every frame paid for run-time generic metadata lookups.
        .target(
            name: "MPCore", dependencies: ["CLibcrypto", "CISAL"],
            swiftSettings: [
                .unsafeFlags(["-cross-module-optimization"] + releaseExclusivity, .when(configuration: .release))
            ],
            // libm for `rounded()`, which swift-crypto's dependencies used to link in.
            linkerSettings: [.linkedLibrary("m")]
        ),
        // libev loop, sockets, resolution, logging, and the daemons.
        .target(
            name: "MPRuntime",
            dependencies: [
                "MPCore", "CLibev", "CSocketExtras",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: [.unsafeFlags(releaseExclusivity, .when(configuration: .release))]
        ),
        // Flags and start-up shared by the two daemons' command lines.
        .target(
            name: "MPCommandLine",
            dependencies: ["MPRuntime", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(name: "mpclient", dependencies: ["MPCommandLine"]),
        .executableTarget(name: "mpserver", dependencies: ["MPCommandLine"]),
        // Lossy relays, echo target, load generator and the loopback demonstration.
        .executableTarget(
            name: "mplab",
            dependencies: [
                "MPRuntime", "MPLabSupport", "CLibcrypto", "CSocketExtras",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // What the lab and the tests share and the daemons never use: child processes, the
        // host's steal from /proc/stat, a seeded generator.
        .target(name: "MPLabSupport", dependencies: ["MPRuntime"]),
        // Fuzzing: shared checks, and one thin libFuzzer entry per target (Fuzz/run.sh).
        .target(name: "MPFuzzSupport", dependencies: ["MPCore"], path: "Fuzz/MPFuzzSupport"),
        .executableTarget(name: "FrameFuzzer", dependencies: ["MPFuzzSupport"], path: "Fuzz/FrameFuzzer"),
        .executableTarget(name: "SealedFuzzer", dependencies: ["MPFuzzSupport"], path: "Fuzz/SealedFuzzer"),
        .executableTarget(name: "ConfigFuzzer", dependencies: ["MPFuzzSupport"], path: "Fuzz/ConfigFuzzer"),
        .target(
            name: "MPTestSupport", dependencies: ["MPCore", "MPRuntime", "MPLabSupport"], path: "Tests/MPTestSupport"
        ),
        // MPLabSupport for its seeded generator only: the core's tests open no socket.
        .testTarget(name: "MPCoreTests", dependencies: ["MPCore", "MPLabSupport"]),
        // Counts the test thread's heap allocations by interposing malloc in the test
        // executable; for tests only, never a dependency of a product.
        .target(name: "CAllocationCounter", path: "Tests/CAllocationCounter"),
        .testTarget(
            name: "MPRuntimeTests",
            dependencies: ["MPCore", "MPRuntime", "MPLabSupport", "MPTestSupport", "CAllocationCounter"]
        ),
        // Runs the built binaries; depending on them makes `swift test` build them first.
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["MPCore", "MPRuntime", "MPLabSupport", "MPTestSupport", "mpclient", "mpserver", "mplab"]
        ),
    ]
)
