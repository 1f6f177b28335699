// Tags that select tests across suites: `swift test --filter tag:timing` runs the tests that
// judge a rate, a loss share, a deadline or a CPU share, alone (on a quiet machine, say).
import Testing

extension Tag {
    /// Judges a rate, a loss share, a deadline or a CPU share: the tests a busy or paused
    /// machine can fail, which retry only on evidence independent of their claim
    /// (``retryingAfterAHostPause(_:attempts:_:passes:ranLate:sourceLocation:)``).
    @Tag public static var timing: Self
}
