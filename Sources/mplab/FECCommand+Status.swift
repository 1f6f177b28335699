// `mplab fec`'s view of the daemons' own counters: each daemon answers --status on a
// control socket in the row's directory, whose `fec-rebuilt` says how many payloads it
// rebuilt from parity.
import MPRuntime

/// The control sockets of one row's mpclient and mpserver.
struct FECStatusSockets {
    let client: String
    let server: String

    init(directory: String) {
        client = directory + "/mpclient.sock"
        server = directory + "/mpserver.sock"
    }

    /// Payloads rebuilt so far: by mpserver from mpclient's parity (up) and by mpclient from
    /// mpserver's (down); 0 for a daemon that does not answer or counts none.
    func rebuilt() -> (up: Int, down: Int) {
        (
            Self.rebuilt(in: try? StatusClient.fetch(path: server, daemon: "mpserver")),
            Self.rebuilt(in: try? StatusClient.fetch(path: client, daemon: "mpclient"))
        )
    }

    /// The sum of every `fec-rebuilt=N` in a status table (one per session).
    static func rebuilt(in table: String?) -> Int {
        guard let table else { return 0 }
        var total = 0
        for word in table.split(whereSeparator: { $0 == " " || $0 == "\n" }) where word.hasPrefix("fec-rebuilt=") {
            total += Int(word.dropFirst("fec-rebuilt=".count)) ?? 0
        }
        return total
    }
}
