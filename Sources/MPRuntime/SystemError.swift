// The runtime's one syscall wrapper: every call into the kernel goes through
// `systemCall` or `checkedSystemCall`, which retry EINTR, report would-block as a value and
// throw `SystemError` naming the call and errno.
import Glibc

/// A failed system call: the call's name and the errno it set.
public struct SystemError: Error, CustomStringConvertible, Equatable {
    /// The name of the call that failed, such as `bind`.
    public let call: String
    /// The errno value the call set.
    public let errno: Int32

    /// Creates an error for `call` failing with `errno`.
    public init(call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    /// For example `bind: Address already in use (errno 98)`.
    public var description: String {
        "\(call): \(Self.message(for: errno)) (errno \(errno))"
    }

    /// The C library's text for `code`.
    static func message(for code: Int32) -> String {
        guard let text = strerror(code) else { return "unknown error" }
        return String(cString: text)
    }
}

/// What a non-blocking call did: completed with a value, or would have blocked.
enum SystemCallOutcome<Value> {
    case completed(Value)
    case wouldBlock
}

/// Runs `body`, a C call returning -1 on failure with errno set, until it is not
/// interrupted. EAGAIN/EWOULDBLOCK come back as `.wouldBlock`; other failures are thrown.
@inline(__always)
func systemCall<Value: BinaryInteger>(
    _ call: String, _ body: () -> Value
) throws(SystemError) -> SystemCallOutcome<Value> {
    while true {
        let result = body()
        guard result == -1 else { return .completed(result) }
        let code = errno
        switch code {
        case EINTR:
            continue
        case EAGAIN, EWOULDBLOCK:
            return .wouldBlock
        default:
            throw SystemError(call: call, errno: code)
        }
    }
}

/// Like `systemCall`, for calls that never legitimately block (socket, bind, setsockopt):
/// would-block is reported as a failure so the caller gets a plain value.
@inline(__always)
func checkedSystemCall<Value: BinaryInteger>(_ call: String, _ body: () -> Value) throws(SystemError) -> Value {
    switch try systemCall(call, body) {
    case .completed(let value):
        return value
    case .wouldBlock:
        throw SystemError(call: call, errno: EAGAIN)
    }
}
