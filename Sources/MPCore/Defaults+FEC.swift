extension Defaults {
    /// `mode fec` without K:M is `fec 4:2`: with three paths, two shards of six on each, so
    /// any one path may die, for 1.5 times the traffic (duplicate mode's is 3).
    public static let fecDataShards = 4
    public static let fecParityShards = 2
    /// `mode fec K:M`: the most data shards a group may have. 32: a group spans at most a few
    /// milliseconds of payloads at the rates a tunnel carries, and a shard mask fits 64 bits.
    public static let maximumFECDataShards = 32
    /// `mode fec K:M`: the most parity shards a group may have. 16: half of the largest K,
    /// already twice the traffic; K + M stays within one 64-bit shard mask.
    public static let maximumFECParityShards = 16
    /// `fec-timeout MS`: how long a group that is not full waits before its parity goes out.
    /// 5 ms: a payload lost from a short group is rebuilt within about this plus one path's
    /// delay, well below a TCP retransmission timeout (200 ms at least), while at 1,000
    /// payloads a second a 4-payload group fills before it expires.
    public static let fecTimeout = TimeSpan.milliseconds(5)
    /// How long a receiver waits for a payload missing from a group that has K shards in,
    /// after the first shard sent after it came, before rebuilding it: a frame on its way is
    /// not missing. 1 ms: frames sent together on paths of equal delay arrive microseconds
    /// apart (the parity sent with a group's last payload often overtakes it), and the wait
    /// ends no later than ``fecTimeout`` after the group's first shard came. The receiver
    /// judges that bound by the default `fec-timeout`: mpserver does not know the one in
    /// mpclient.conf.
    public static let fecRebuildMargin = TimeSpan.milliseconds(1)
    /// The longest `fec-timeout` a config may give: past 1 s a rebuilt payload is older than
    /// any retransmission it would spare.
    public static let maximumFECTimeout = TimeSpan.seconds(1)
    /// Groups a receiver keeps while they miss payloads; the oldest is given up (counted
    /// lost) to make room. 64 groups: 256 payloads of `fec 4:2`, tens of milliseconds at
    /// high rates, far more than the few round trips a group needs.
    public static let maximumFECGroups = 64
    /// A group still missing payloads this long after its first parity shard arrived is
    /// given up and counted lost: a few round trips of any path a tunnel would use.
    public static let fecGroupLifetime = TimeSpan.milliseconds(500)
    /// Received payloads a receiver keeps (plaintext, by sequence number) for rebuilding
    /// their groups' missing ones: the parity of a group names sequence numbers up to this
    /// far below the highest received. 512: the span of a `fec 32:16` group and its parity
    /// ten times over; about 600 KB per session with 1,200-byte payloads.
    public static let fecPayloadsKept = 512
}
