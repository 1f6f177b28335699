// A test of timing or loss on a shared virtual machine fails now and then because the host
// stood the machine still (steal), not because of the code under test: a second-long pause
// overflows socket buffers and misses every deadline. Such a test runs again when, and only
// when, its attempt failed while the host took a pause, a bounded number of times; the last
// attempt's result is what the test judges.
import MPLabSupport
import MPRuntime

/// Host steal at least this long (seconds per CPU, on average, in all over the attempt)
/// marks an attempt as paused by the host: 50 ms is past every deadline a datagram on
/// loopback has. /proc/stat cannot tell one long pause from many short ones, so a long
/// attempt on a host that steals a little all the time qualifies too; that is why the
/// attempts are bounded and the last one is judged.
public let hostPauseSeconds = 0.05

/// Runs `attempt` and returns its result. While `passes` says it failed and the host stood
/// the machine still for ``hostPauseSeconds`` or more meanwhile, or the attempt saw a pause
/// itself (`sawAPause`: an echo a loopback hop cannot explain, a relay that ran late), prints
/// why (naming `what`) and runs it again, up to `attempts` times in all; returns the last
/// result, whatever its outcome.
public func retryingAfterAHostPause<Result>(
    _ what: String, attempts: Int = 3, _ attempt: () throws -> Result, passes: (Result) -> Bool,
    sawAPause: (Result) -> Bool = { _ in false }
) rethrows -> Result {
    var number = 1
    while true {
        let before = StealSample.now()
        let result = try attempt()
        guard !passes(result), number < attempts else { return result }
        let stolen = before.flatMap { before in StealSample.now().map { $0.stolenSeconds(since: before) } } ?? 0
        if stolen >= hostPauseSeconds {
            print("\(what): attempt \(number) failed while the host took \(Int(stolen * 1_000)) ms of each CPU")
        } else if sawAPause(result) {
            print("\(what): attempt \(number) failed during a pause it saw itself")
        } else {
            return result
        }
        number += 1
    }
}
