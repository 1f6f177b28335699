/// What ``ClientSession/updateHealth(now:)`` found changed since its last call.
public struct PathHealthChanges: Hashable, Sendable {
    /// Paths that went down.
    public var wentDown: PathSet = []
    /// Paths that came back up.
    public var cameUp: PathSet = []
    /// Every path is down now and was not at the last call (payloads go out on all of them).
    public var allDown = false
    /// Some path is up again after every path was down.
    public var recovered = false

    /// True when nothing changed.
    public var isEmpty: Bool { wentDown.isEmpty && cameUp.isEmpty && !allDown && !recovered }
}

extension ClientSession {
    /// The paths the payload just framed (``encodePayload(length:from:now:in:)``, a frame of
    /// `bytes` bytes) goes out on at `now` (the runtime calls this once per payload; no
    /// allocation):
    ///
    /// - candidates are the usable (up, and not silent past their limit at `now`) primary
    ///   paths; if none, the usable backup paths; if none at all, every path (so that a
    ///   tunnel whose paths all look dead still tries them all);
    /// - while every usable primary has been quiet for ``PathHealth/quietLimit`` (1.5 probe
    ///   intervals: an echo is overdue), the usable backup paths join the candidates, so a
    ///   backup carries traffic before the primaries are declared down;
    /// - ``SchedulingMode/duplicate`` returns every candidate;
    /// - ``SchedulingMode/balance`` returns one: the candidate where the payload would
    ///   arrive first, given each path's estimated capacity, the queue this side has put on
    ///   it and its one-way delay (``LoadBalancer``). With every path down it returns them
    ///   all, like duplicate mode.
    /// - ``SchedulingMode/fec`` returns one: the candidate whose turn the payload's shard
    ///   index is (``fecPath(shard:among:)``); a payload in no group goes on every candidate.
    public func pathsFor(now: Timestamp, bytes: Int = 0) -> PathSet {
        let usable = usablePaths(now: now)
        let shard = fecShard
        fecShard = nil
        guard !usable.isEmpty else {
            if let shard { return PathSet(path: fecPath(shard: shard, among: .first(paths.count))) }
            return .first(paths.count)
        }
        let candidates = candidates(among: usable, now: now)
        if let shard { return PathSet(path: fecPath(shard: shard, among: candidates)) }
        // Read through `self.loads`, never a local copy: the copy would make the mutation
        // below copy every path's log.
        guard loads != nil else { return candidates }
        let path =
            candidates.count > 1
            ? loads?.earliest(among: candidates, bytes: bytes, now: now, fallback: fallbackDelay)
            : candidates.lowest
        guard let path else { return candidates }
        loads?.recordSend(path: path, sequence: nextSequence - 1, bytes: bytes, now: now, payload: true)
        return PathSet(path: path)
    }

    /// The path among `scheduled` (what ``pathsFor(now:)`` gave) that gets more than one
    /// copy of each payload, and how many, or `nil`: in duplicate mode, the path with the
    /// lowest base round trip (the fastest echoed probe of its window), with
    /// `fastest-copies` copies, or with `auto` two while it loses at least
    /// ``Defaults/fastestCopiesLossThreshold`` of its frames either way and for
    /// ``Defaults/fastestCopiesHold`` after. A datagram the
    /// fast path loses is then most often carried by its second copy at the fast path's
    /// delay, not 10 or 25 ms later by a slower path, which TCP takes for a loss. Paths
    /// whose round trip is not measured yet get no repeat.
    public func fastestPath(among scheduled: PathSet, now: Timestamp) -> (path: Int, copies: Int)? {
        guard mode == .duplicate, fastestCopies != .fixed(1) else { return nil }
        // The payloads of one receive batch share `now` and their paths: one search for all.
        if fastestSearch?.now != now || fastestSearch?.among != scheduled {
            fastestSearch = (now, scheduled, lowestBaseRoundTrip(among: scheduled))
        }
        guard let path = fastestSearch?.path else { return nil }
        switch fastestCopies {
        case .fixed(let copies): return (path, min(max(copies, 1), Defaults.maximumFastestCopies))
        case .auto:
            let loss = max(paths[path].reportedLoss ?? 0, paths[path].peerReportedLoss ?? 0)
            if loss >= Defaults.fastestCopiesLossThreshold { lossyFastestSince = now }
            guard let since = lossyFastestSince, now - since < Defaults.fastestCopiesHold else { return nil }
            return (path, 2)
        }
    }

    /// The path among `scheduled` with the lowest base round trip (or smoothed, before a
    /// probe of the window was echoed); `nil` when none has one.
    private func lowestBaseRoundTrip(among scheduled: PathSet) -> Int? {
        var best: (path: Int, roundTrip: TimeSpan)?
        for path in scheduled.members where path < health.count {
            guard let roundTrip = health[path].baseRoundTrip ?? health[path].roundTrip.smoothed else { continue }
            if best.map({ roundTrip < $0.roundTrip }) ?? true { best = (path, roundTrip) }
        }
        return best?.path
    }

    /// The candidates of ``pathsFor(now:)`` before balance mode picks one: the paths a
    /// receiver report goes on (H4b), so that a backup path idle behind a live primary
    /// carries no reports either.
    public func candidatePaths(now: Timestamp) -> PathSet {
        let usable = usablePaths(now: now)
        return usable.isEmpty ? .first(paths.count) : candidates(among: usable, now: now)
    }

    /// The usable primaries, or every usable path when there is none or all are quiet.
    private func candidates(among usable: PathSet, now: Timestamp) -> PathSet {
        let primaries = usable.subtracting(backupPaths)
        return primaries.isEmpty || allQuiet(primaries, now: now) ? usable : primaries
    }

    /// The paths that are up and not silent past their limit at `now`.
    public func usablePaths(now: Timestamp) -> PathSet {
        var result = PathSet()
        for path in health.indices where health[path].state == .up {
            let heard = health[path].lastHeard ?? health[path].firstProbe ?? now
            if now - heard < health[path].silenceLimit { result.insert(path: path) }
        }
        return result
    }

    /// True when every path of `primaries` has been quiet for its ``PathHealth/quietLimit``
    /// at `now`; false at once when there is no backup path to hand over to.
    func allQuiet(_ primaries: PathSet, now: Timestamp) -> Bool {
        guard !backupPaths.isEmpty else { return false }
        for path in primaries.members where !health[path].isQuiet(now: now) { return false }
        return true
    }

    /// The paths whose state is up (as of the last ``updateHealth(now:)`` or echo).
    public var upPaths: PathSet {
        var result = PathSet()
        for path in health.indices where health[path].state == .up { result.insert(path: path) }
        return result
    }

    /// Decides overdue probes, applies the down rules and reports what changed since the
    /// last call. The runtime calls it on every timer tick and logs the changes.
    public func updateHealth(now: Timestamp) -> PathHealthChanges {
        for path in health.indices { health[path].refresh(now: now) }
        let up = upPaths
        var changes = PathHealthChanges()
        changes.wentDown = reportedUp.subtracting(up)
        changes.cameUp = up.subtracting(reportedUp)
        changes.allDown = up.isEmpty && !reportedUp.isEmpty
        changes.recovered = !up.isEmpty && reportedUp.isEmpty
        reportedUp = up
        return changes
    }

    /// Counts a frame of `bytes` bytes that the runtime sent on `path`.
    public func recordSend(path: Int, bytes: Int) {
        guard paths.indices.contains(path) else { return }
        paths[path].recordSend(bytes: bytes)
    }
}
