import Testing

@testable import MPRuntime

@Suite("Resolver")
struct ResolverTests {
    @Test(arguments: [("127.0.0.1", "127.0.0.1:53"), ("::1", "[::1]:53"), ("[::1]", "[::1]:53")])
    func numericAddressesNeedNoLookup(host: String, expected: String) throws {
        let addresses = try Resolver.resolve(host: host, port: 53)
        #expect(addresses.map(\.description) == [expected])
    }

    @Test func localhostResolvesToLoopback() throws {
        let addresses = try Resolver.resolve(host: "localhost", port: 3000)
        #expect(addresses.contains(.loopbackIPv4(port: 3000)))
        #expect(addresses.allSatisfy { $0.port == 3000 })
        #expect(Set(addresses).count == addresses.count)
    }

    @Test func unknownNameGivesAClearError() {
        #expect {
            try Resolver.resolve(host: "foo.invalid", port: 1)
        } throws: { error in
            guard let error = error as? ResolutionError else { return false }
            return error.host == "foo.invalid" && "\(error)".hasPrefix("cannot resolve `foo.invalid': ")
        }
    }

    @Test(arguments: ["", "local\0host"])
    func malformedNamesAreRejected(host: String) {
        #expect(throws: ResolutionError.self) { try Resolver.resolve(host: host, port: 1) }
    }

    @Test func errorQuotesTheHost() {
        let error = ResolutionError(host: "foo.invalid", reason: "Name or service not known")
        #expect(error.description == "cannot resolve `foo.invalid': Name or service not known")
    }
}
