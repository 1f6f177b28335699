/// A keyless receiver's guard against a single frame that would slide its replay window far
/// ahead: a sequence number more than ``ReplayWindow/size`` above the highest seen moves
/// the window only when a second frame, near it, confirms it (receiver rules R11a, R17a).
///
/// Without a key anyone who can reach the port can send a frame; one with sequence number
/// 2⁶⁴ − 1 would make every later frame of the session too old. With a key no frame gets
/// here without authenticating, so keyed receivers do not use this. A real jump (more than
/// 16,320 frames lost in a row, a long outage) costs the first frame after it.
/// The zero value is ready to use. Not safe for concurrent use.
struct JumpConfirmation {
    /// The unconfirmed far sequence number last seen; zero for none.
    private(set) var candidate: UInt64 = 0

    /// True when `sequence` may go on to the replay window whose highest number is
    /// `highest`; false when it is a far jump not yet confirmed (it becomes the candidate).
    mutating func admits(_ sequence: UInt64, highest: UInt64) -> Bool {
        guard highest != 0, sequence > highest, sequence - highest > ReplayWindow.size else { return true }
        if candidate != 0, sequence != candidate,
            max(sequence, candidate) - min(sequence, candidate) <= ReplayWindow.size
        {
            candidate = 0
            return true
        }
        candidate = sequence
        return false
    }
}
