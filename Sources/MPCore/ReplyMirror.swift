/// How mpserver spreads one session's replies: it mirrors what it sees of the upstream
/// data, so that mpclient's `mode` and `backup` settings hold for both directions without
/// a field on the wire (protocol rule R21).
///
/// - Paths that carried upstream data in the current or the previous
///   ``Defaults/mirrorEpoch`` are the *data paths*; mpclient puts data only on its up
///   primary paths (or its backups while no primary is up), so replies follow them. With no
///   recent data, the data paths of the last epoch that had any stay in force. Before any
///   data, and for two epochs after the first data or receiver report (the data paths are
///   not known yet: a session's first payload has reached mpserver on the fastest path
///   alone when it is answered), every path heard from is used. A data path that carried
///   nothing for ``Defaults/mirrorStaleAfter`` while another one did is dropped at once
///   (mpclient stopped using it), so replies never wait an epoch on a dead path.
/// - Copies per payload over the same epochs tell the mode: at least 1.25 copies (duplicate
///   mode sends one per up path, 2 or more) means duplicate, and every reply goes on every
///   data path; fewer means balance, and each reply goes on one data path, the one where
///   it arrives first (``ServerSession/replyPaths(now:bytes:)``, ``LoadBalancer``).
///   The verdict changes only on epochs with at least 8 payloads, so a quiet session keeps it.
/// - In duplicate mode, a path that carries 1.5 copies per payload or more over the same
///   epochs is mpclient's fastest path with `fastest-copies` (its copies per payload,
///   rounded, at most ``Defaults/maximumFastestCopies``): replies go on it as many times
///   (``copies(onPath:)``).
///
/// Pure and allocation-free per frame. Not safe for concurrent use.
public struct ReplyMirror: Hashable, Sendable {
    /// Below 8 payloads over two epochs the copy ratio says little; the verdict stays.
    static let minimumPayloadsForVerdict = 8

    /// True when the upstream data looks like balance mode (one copy per payload).
    public private(set) var isBalanced = false
    /// The path mpclient repeats payloads on (`fastest-copies`), and how many copies; `nil`
    /// when it repeats on none.
    public private(set) var repeatPath: Int?
    public private(set) var repeatCopies = 1
    var epochStart: Timestamp?
    /// Data frames (copies) and fresh payloads, this epoch and the previous one.
    var copies = 0
    var previousCopies = 0
    var payloads = 0
    var previousPayloads = 0
    /// Data frames per path, current and previous epoch.
    var pathCopies: [Int]
    var previousPathCopies: [Int]
    /// The data paths of the last epoch that had data.
    var lastDataPaths = PathSet()
    /// Paths that carried mpclient's receiver reports, this epoch and the previous one: it
    /// sends them on the paths it would send data on (H4b), so they are data paths too.
    var reportPaths = PathSet()
    var previousReportPaths = PathSet()
    /// When the first data frame or receiver report arrived; `nil` before.
    var firstTraffic: Timestamp?
    /// When each path last carried a data frame or a receiver report (zero: never).
    var lastTraffic: [Timestamp]

    /// No data seen yet: replies go on every path heard from.
    public init() {
        pathCopies = Array(repeating: 0, count: Defaults.maximumPaths)
        previousPathCopies = Array(repeating: 0, count: Defaults.maximumPaths)
        lastTraffic = Array(repeating: Timestamp(nanoseconds: 0), count: Defaults.maximumPaths)
    }

    /// Records an upstream data frame on `path` at `now`: `fresh` for the first copy of its
    /// payload (authentic), false for a duplicate. A duplicate is usually counted without
    /// being opened (receiver rule R13b), so its path id and type are unauthenticated hints:
    /// they can sway the verdict and the weights, but replies still go only to paths heard
    /// from by authentic frames. A frame that did not come from the path's reply address
    /// (`fromPathAddress` false: its relay restarted on a new source port, and mpserver has
    /// not moved the path yet, R18b) counts in the verdict only: replies on that path would
    /// go to the old address, so it does not make the path a data path.
    public mutating func recordData(path: Int, fresh: Bool, now: Timestamp, fromPathAddress: Bool = true) {
        guard path >= 0, path < pathCopies.count else { return }
        roll(now: now)
        if firstTraffic == nil { firstTraffic = now }
        copies += 1
        if fresh { payloads += 1 }
        guard fromPathAddress else { return }
        pathCopies[path] += 1
        lastTraffic[path] = now
        lastDataPaths.insert(path: path)
    }

    /// Records a receiver report of mpclient (a fresh one or a copy) on `path` at `now`: the
    /// path carries the session, so replies go on it, even while the application sends
    /// nothing (a download: with data paths taken from upstream data alone, the last few
    /// upstream payloads decided, and one that arrived on one path only left the replies
    /// on that path). Reports do not count in the mode verdict; one that did not come from
    /// the path's reply address does not count at all (as in ``recordData(path:fresh:now:fromPathAddress:)``).
    public mutating func recordReport(path: Int, now: Timestamp, fromPathAddress: Bool = true) {
        guard fromPathAddress, path >= 0, path < pathCopies.count else { return }
        roll(now: now)
        if firstTraffic == nil { firstTraffic = now }
        lastTraffic[path] = now
        reportPaths.insert(path: path)
    }

    /// The copies of each reply that go on `path` when it is a reply path: 1, or
    /// ``repeatCopies`` on ``repeatPath``.
    public func copies(onPath path: Int) -> Int {
        path == repeatPath ? repeatCopies : 1
    }

    /// The data paths among `heard` at `now` (R21): those that carried upstream data in
    /// this epoch or the previous one, less those stale for ``Defaults/mirrorStaleAfter``
    /// while another one is not; else those of the last epoch with data; else `heard`.
    /// Every one of them, whatever the mode: receiver reports go on all.
    public mutating func dataPaths(heard: PathSet, now: Timestamp) -> PathSet {
        roll(now: now)
        // Until two epochs after the first traffic the data paths are not known yet.
        guard let firstTraffic, now - firstTraffic >= TimeSpan(nanoseconds: 2 * Defaults.mirrorEpoch.nanoseconds)
        else { return heard }
        var recent = reportPaths.union(previousReportPaths).intersection(heard)
        for path in heard.members where pathCopies[path] + previousPathCopies[path] > 0 { recent.insert(path: path) }
        if recent.isEmpty { recent = lastDataPaths.intersection(heard) }
        return recent.isEmpty ? heard : fresh(recent, now: now)
    }

    /// `paths` less those that carried nothing for ``Defaults/mirrorStaleAfter`` at `now`,
    /// when at least one of them did; all of `paths` when none did (a quiet upstream says
    /// nothing about which paths mpclient uses).
    private func fresh(_ paths: PathSet, now: Timestamp) -> PathSet {
        var result = PathSet()
        for path in paths.members where now - lastTraffic[path] < Defaults.mirrorStaleAfter {
            result.insert(path: path)
        }
        return result.isEmpty ? paths : result
    }

    private mutating func roll(now: Timestamp) {
        guard let start = epochStart else {
            epochStart = now
            return
        }
        guard now - start >= Defaults.mirrorEpoch else { return }
        let skipped = now - start >= TimeSpan(nanoseconds: 2 * Defaults.mirrorEpoch.nanoseconds)
        judge()
        var dataPaths = PathSet()
        for path in pathCopies.indices where pathCopies[path] > 0 { dataPaths.insert(path: path) }
        if !dataPaths.isEmpty { lastDataPaths = dataPaths }
        previousReportPaths = skipped ? [] : reportPaths
        reportPaths = []
        previousCopies = skipped ? 0 : copies
        previousPayloads = skipped ? 0 : payloads
        copies = 0
        payloads = 0
        for path in pathCopies.indices {
            previousPathCopies[path] = skipped ? 0 : pathCopies[path]
            pathCopies[path] = 0
        }
        epochStart = now
    }

    /// Copies per payload of ≥ 1.25 is duplicate mode: the threshold sits between balance
    /// (exactly 1) and duplicate over two paths with 35% loss each (1.3 / 1.0 ≈ 1.3 — a path
    /// that loses more than that is down at mpclient and carries no data).
    private mutating func judge() {
        let payloadCount = payloads + previousPayloads
        guard payloadCount >= Self.minimumPayloadsForVerdict else { return }
        isBalanced = (copies + previousCopies) * 4 < payloadCount * 5
        var busiest: (path: Int, copies: Int)?
        for path in pathCopies.indices {
            let count = pathCopies[path] + previousPathCopies[path]
            if count > (busiest?.copies ?? 0) { busiest = (path, count) }
        }
        guard !isBalanced, let busiest, busiest.copies * 2 >= payloadCount * 3 else {
            repeatPath = nil
            repeatCopies = 1
            return
        }
        repeatPath = busiest.path
        repeatCopies = min((busiest.copies + payloadCount / 2) / payloadCount, Defaults.maximumFastestCopies)
    }
}
