import Glibc
import MPCore
import MPTestSupport
import Testing

@testable import MPRuntime

/// Serialized: each test blocks its thread in `run()` until the answers are in.
@Suite("BackgroundResolver", .serialized)
struct BackgroundResolverTests {
    @Test func answersArriveOnTheLoopsThreadWithTheirTags() throws {
        let loop = try EventLoop()
        let loopThread = pthread_self()
        var answers: [Int: BackgroundResolver.Answer] = [:]
        var onLoopThread = true
        let resolver = try BackgroundResolver(loop: loop) { tag, answer in
            onLoopThread = onLoopThread && pthread_equal(pthread_self(), loopThread) != 0
            answers[tag] = answer
            if answers.count == 2 { loop.stop() }
        }
        #expect(resolver.lookUp(Endpoint(host: "localhost", port: 4000), tag: 7))
        #expect(resolver.lookUp(Endpoint(host: "no-such-bridge.invalid", port: 4001), tag: 9))
        // .invalid may wait for a DNS server that does not answer: allow for resolv.conf's
        // timeouts, the answer is what is under test.
        #expect(runLoop(loop, timeout: .seconds(60)), "not every lookup was answered")
        #expect(onLoopThread, "an answer was handed over on another thread")
        guard case .success(let address) = answers[7] else {
            Issue.record("localhost did not resolve: \(String(describing: answers[7]))")
            return
        }
        #expect(address.port == 4000)
        #expect(address == .loopbackIPv4(port: 4000) || address == .loopbackIPv6(port: 4000))
        guard case .failure(let error) = answers[9] else {
            Issue.record("a .invalid name resolved: \(String(describing: answers[9]))")
            return
        }
        #expect(error.host == "no-such-bridge.invalid")
    }

    @Test func oneLookupPerTagIsInFlight() throws {
        let loop = try EventLoop()
        var answered: [Int] = []
        let resolver = try BackgroundResolver(loop: loop) { tag, _ in
            answered.append(tag)
            loop.stop()
        }
        let endpoint = Endpoint(host: "localhost", port: 4000)
        #expect(resolver.lookUp(endpoint, tag: 1))
        #expect(!resolver.lookUp(endpoint, tag: 1), "a second lookup for a tag still in flight started")
        #expect(runLoop(loop, timeout: .seconds(30)))
        #expect(answered == [1])
        // Answered: the tag is free again.
        #expect(resolver.lookUp(endpoint, tag: 1))
        #expect(runLoop(loop, timeout: .seconds(30)))
        #expect(answered == [1, 1])
    }

    @Test func manyLookupsAtOnceAreEachAnsweredOnce() throws {
        // Twenty threads post into one mailbox, some while the loop is draining it.
        let loop = try EventLoop()
        var answered: [Int: Int] = [:]
        let resolver = try BackgroundResolver(loop: loop) { tag, answer in
            if case .success(let address) = answer, address.port == UInt16(5000 + tag) {
                answered[tag, default: 0] += 1
            }
            if answered.values.reduce(0, +) == 20 { loop.stop() }
        }
        for tag in 0..<20 {
            #expect(resolver.lookUp(Endpoint(host: "localhost", port: UInt16(5000 + tag)), tag: tag))
        }
        #expect(runLoop(loop, timeout: .seconds(30)))
        #expect(answered == Dictionary(uniqueKeysWithValues: (0..<20).map { ($0, 1) }))
    }
}
