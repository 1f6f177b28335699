// Name lookups while the loop runs: a path that stopped answering has its host name looked
// up again (a bridge on a dynamic address moved). getaddrinfo blocks, for seconds when DNS
// is down, and the loop must keep serving the paths that work, so each lookup runs on a
// short-lived thread of its own and its answer comes back to the loop through a pipe. The
// loop itself stays single-threaded: answers are handled in the pipe watcher's callback.
import Glibc
import MPCore
import Synchronization

/// Runs ``Resolver/resolve(host:port:)`` off the loop's thread and hands each answer to a
/// handler on the loop's thread. At most one lookup per tag is in flight.
final class BackgroundResolver {
    /// What a lookup found: the first address, or why there is none.
    typealias Answer = Result<SocketAddress, ResolutionError>

    private let mailbox: ResolverMailbox
    private let onAnswer: (Int, Answer) -> Void
    private var pending = Set<Int>()
    private var watcher: IOWatcher?

    /// A resolver whose answers `onAnswer` gets on `loop`, with the tag of the request.
    init(loop: EventLoop, onAnswer: @escaping (Int, Answer) -> Void) throws(SystemError) {
        mailbox = try ResolverMailbox()
        self.onAnswer = onAnswer
        let watcher = IOWatcher(loop: loop, fd: mailbox.readFD) { [unowned self] in deliverAnswers() }
        watcher.start()
        self.watcher = watcher
    }

    deinit { watcher?.stop() }

    /// Looks `endpoint` up on a new thread; false (and no lookup) when one for `tag` is still
    /// in flight or no thread could be started.
    @discardableResult
    func lookUp(_ endpoint: Endpoint, tag: Int) -> Bool {
        guard !pending.contains(tag) else { return false }
        let mailbox = self.mailbox
        let started = startThread {
            let answer: Answer
            do {
                let addresses = try Resolver.resolve(host: endpoint.host, port: endpoint.port)
                answer =
                    addresses.first.map { .success($0) }
                    ?? .failure(ResolutionError(host: endpoint.host, reason: "no address"))
            } catch let error as ResolutionError {
                answer = .failure(error)
            } catch {
                answer = .failure(ResolutionError(host: endpoint.host, reason: "\(error)"))
            }
            mailbox.post(tag: tag, answer: answer)
        }
        if started { pending.insert(tag) }
        return started
    }

    private func deliverAnswers() {
        for (tag, answer) in mailbox.take() {
            pending.remove(tag)
            onAnswer(tag, answer)
        }
    }
}

/// What the lookup threads share with the loop: finished answers behind a lock, and a pipe
/// whose read end wakes the loop. Lives as long as the last thread that holds it.
final class ResolverMailbox: Sendable {
    let readFD: Int32
    let writeFD: Int32
    private let answers = Mutex<[(Int, BackgroundResolver.Answer)]>([])

    init() throws(SystemError) {
        var ends: [Int32] = [0, 0]
        _ = try checkedSystemCall("pipe") { pipe(&ends) }
        readFD = ends[0]
        writeFD = ends[1]
        // Glibc's module hides pipe2: set the flags it would have set.
        for end in ends {
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
    }

    deinit {
        _ = close(readFD)
        _ = close(writeFD)
    }

    /// Called on a lookup thread.
    func post(tag: Int, answer: BackgroundResolver.Answer) {
        answers.withLock { $0.append((tag, answer)) }
        var byte: UInt8 = 1
        // A full pipe already holds a wake-up: nothing is lost when this write fails.
        _ = write(writeFD, &byte, 1)
    }

    /// Called on the loop's thread: empties the pipe and returns the answers so far.
    func take() -> [(Int, BackgroundResolver.Answer)] {
        var sink = [UInt8](repeating: 0, count: 64)
        while read(readFD, &sink, sink.count) > 0 {}
        return answers.withLock { answers in
            defer { answers.removeAll() }
            return answers
        }
    }
}

/// Runs `work` on a new detached thread; false when the thread could not be created.
private func startThread(_ work: @escaping @Sendable () -> Void) -> Bool {
    let box = Unmanaged.passRetained(ThreadWork(work))
    var thread = pthread_t()
    let result = pthread_create(
        &thread, nil,
        { raw in
            guard let raw else { return nil }
            Unmanaged<ThreadWork>.fromOpaque(raw).takeRetainedValue().work()
            return nil
        }, box.toOpaque())
    guard result == 0 else {
        box.release()
        return false
    }
    pthread_detach(thread)
    return true
}

private final class ThreadWork {
    let work: @Sendable () -> Void
    init(_ work: @escaping @Sendable () -> Void) { self.work = work }
}
