// One connection to the control socket: its table is made a slice per turn of the loop (an
// mpserver with thousands of sessions would otherwise hold the loop for the whole table),
// then written through a ControlReply. Nothing the peer sends is read.
import Glibc
import Logging
import MPCore

/// A control socket connection whose table is being made, then written.
final class StatusRequest: ListenerConnection {
    let fd: Int32
    let startedAt: Timestamp
    private var rendering: SliceRunner?
    private var reply: ControlReply?

    init(fd: Int32, now: Timestamp, loop: EventLoop, logger: Logger?, slice: @escaping () -> String?) {
        self.fd = fd
        self.startedAt = now
        rendering = SliceRunner(loop: loop, slice: slice) { [unowned self] runner, text in
            let reply = ControlReply(fd: fd, text: text, now: now)
            self.reply = reply
            if !reply.writeAvailable() { reply.watch(on: loop) }
            logger?.debug(
                "status table rendered",
                metadata: [
                    "bytes": "\(text.utf8.count)", "held-microseconds": "\(runner.longest.nanoseconds / 1_000)",
                    "cpu-microseconds": "\(runner.longestCPU.nanoseconds / 1_000)",
                ])
        }
    }

    deinit {
        rendering = nil
        if reply == nil { _ = close(fd) }
    }

    /// True once the table is written (or the peer went away).
    var isFinished: Bool { reply?.isFinished ?? false }
}
