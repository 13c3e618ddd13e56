//! What a connection's data did, for the diagnoses that need transfer
//! evidence (`docs/diagnosis.md`: path-MTU black hole, receiver not
//! reading, peer vanished): per side its MSS option, the largest payload it
//! sent and the largest the peer acknowledged, and — boxed, made on the
//! first retransmission, zero window or keep-alive — the retransmissions
//! and keep-alives nobody answered, the last few of them, and how long each
//! side's receive window stayed shut. Fixed size whatever the capture's
//! length.

use super::{At, Stamp};
use crate::decode::Segment;
use crate::seq::SeqNum;
use crate::state::Side;
use crate::wireshark::SegFlags;

/// Segments kept per side while not acknowledged, the largest ones.
const PENDING: usize = 4;
/// Retransmissions and keep-alives whose times are kept.
pub const RECENT: usize = 6;

/// What one side sent, and what of it the peer acknowledged.
#[derive(Debug, Clone, Copy, Default)]
pub struct SideTransfer {
    /// Its MSS option (RFC 9293 §3.7.1), on its SYN.
    pub mss: Option<u16>,
    /// The largest payload it sent.
    pub max_payload: u32,
    /// The largest payload of one of its segments that the peer's ACKs
    /// covered entirely.
    pub max_acked: u32,
    /// Its segments larger than `max_acked` not yet acknowledged: (the
    /// sequence number after the segment, payload), the largest kept.
    pending: [(SeqNum, u32); PENDING],
    /// The largest payload in `pending` (0: none), so that an ACK while
    /// nothing is pending, as most are, costs one comparison.
    pending_max: u32,
    /// Its last segment.
    pub last: Stamp,
}

impl SideTransfer {
    /// A segment of `len` bytes ending at `end` sent.
    fn sent(&mut self, end: SeqNum, len: u32) {
        self.max_payload = self.max_payload.max(len);
        if len <= self.max_acked {
            return;
        }
        self.pending_max = self.pending_max.max(len);
        if let Some(p) = self.pending.iter_mut().find(|p| p.1 > 0 && p.0 == end) {
            p.1 = p.1.max(len);
            return;
        }
        // A free slot, else the smallest one if it is smaller.
        let slot = self
            .pending
            .iter_mut()
            .min_by_key(|p| p.1)
            .filter(|p| p.1 < len);
        if let Some(p) = slot {
            *p = (end, len);
        }
    }

    /// The peer acknowledged everything before `ack`.
    fn acked(&mut self, ack: SeqNum) {
        if self.pending_max == 0 {
            return;
        }
        for p in self.pending.iter_mut().filter(|p| p.1 > 0) {
            if p.0 <= ack {
                self.max_acked = self.max_acked.max(p.1);
                *p = (SeqNum(0), 0);
            }
        }
        let max = self.max_acked;
        for p in self.pending.iter_mut().filter(|p| p.1 <= max) {
            *p = (SeqNum(0), 0);
        }
        self.pending_max = self.pending.iter().map(|p| p.1).max().unwrap_or(0);
    }

    /// The largest payload sent and never acknowledged (of those kept).
    pub fn largest_unacked(&self) -> u32 {
        self.pending_max
    }
}

/// How long one side's receive window stayed shut (it advertised zero).
#[derive(Debug, Clone, Copy, Default)]
pub struct ZeroWindow {
    /// Its first zero window.
    pub first: Option<At>,
    /// Shut since (None: open).
    pub since: Option<At>,
    /// Times it closed.
    pub closes: u32,
    /// Closed stretches that ended, in nanoseconds.
    pub total_ns: i64,
    pub longest_ns: i64,
    /// The frame that reopened the longest stretch that ended.
    pub reopened: Option<u64>,
    /// Segments the peer sent while it was shut (its probes).
    pub probes: u32,
}

impl ZeroWindow {
    /// The longest stretch and the total, the one still shut counted to
    /// `end` (capture time).
    pub fn shut_ns(&self, end: i64) -> (i64, i64) {
        let open = self.since.map_or(0, |s| end.saturating_sub(s.ts_ns).max(0));
        (
            self.longest_ns.max(open),
            self.total_ns.saturating_add(open),
        )
    }
}

/// One side's stalls.
#[derive(Debug, Clone, Copy, Default)]
pub struct SideStalls {
    /// Its data retransmissions (Wireshark's retransmission, fast and
    /// spurious retransmission).
    pub retransmissions: u32,
    /// Its retransmissions since the peer's last segment.
    pub unanswered: u32,
    /// Its keep-alives since the peer's last segment.
    pub keepalives_unanswered: u32,
    /// Its retransmissions of segments larger than any of its segments
    /// acknowledged before, and the largest such payload.
    pub big_retransmissions: u32,
    pub big_payload: u32,
    /// Its receive window.
    pub zero: ZeroWindow,
}

/// Retransmissions or keep-alives of one side, the last [`RECENT`].
#[derive(Debug, Clone, Copy)]
pub struct Recent {
    pub side: Side,
    /// Sent in all by `side` since the other side last retransmitted.
    pub count: u32,
    ring: [At; RECENT],
}

impl Recent {
    fn push(&mut self, side: Side, at: At) {
        if side != self.side {
            self.side = side;
            self.count = 0;
        }
        self.ring[self.count as usize % RECENT] = at;
        self.count = self.count.saturating_add(1);
    }

    /// The kept ones, oldest first.
    pub fn list(&self) -> Vec<At> {
        let n = (self.count as usize).min(RECENT);
        let start = self.count as usize - n;
        (start..self.count as usize)
            .map(|i| self.ring[i % RECENT])
            .collect()
    }
}

/// The stalls of a connection (boxed in [`Transfer`]).
#[derive(Debug, Clone, Copy)]
pub struct Stalls {
    pub side: [SideStalls; 2],
    /// The last retransmissions and keep-alives.
    pub recent: Recent,
}

/// The transfer evidence of a connection.
#[derive(Debug, Clone, Default)]
pub struct Transfer {
    pub side: [SideTransfer; 2],
    pub stalls: Option<Box<Stalls>>,
}

impl Transfer {
    fn stalls(&mut self) -> &mut Stalls {
        self.stalls.get_or_insert_with(|| {
            Box::new(Stalls {
                side: Default::default(),
                recent: Recent {
                    side: Side::Client,
                    count: 0,
                    ring: [At::default(); RECENT],
                },
            })
        })
    }

    pub fn stalls_of(&self, side: Side) -> SideStalls {
        self.stalls
            .as_ref()
            .map(|s| s.side[side])
            .unwrap_or_default()
    }

    /// One segment sent by `from`, with its sequence analysis.
    pub(super) fn on_segment(&mut self, from: Side, seg: &Segment, at: At, analysis: SegFlags) {
        let peer = from.peer();
        let f = seg.flags;
        if f.syn() {
            if let Some(m) = seg.mss {
                self.side[from].mss = Some(m);
            }
        }
        self.side[from].last = Stamp::of(at);
        if let Some(s) = self.stalls.as_deref_mut() {
            // The peer's retransmissions and keep-alives got an answer.
            s.side[peer].unanswered = 0;
            s.side[peer].keepalives_unanswered = 0;
            // A segment into the peer's shut window: a probe.
            if s.side[peer].zero.since.is_some() {
                s.side[peer].zero.probes = s.side[peer].zero.probes.saturating_add(1);
            }
        }
        if f.ack() && !f.rst() {
            self.side[peer].acked(seg.ack);
        }
        let len = seg.payload_len;
        if len > 0 {
            let bigger = len > self.side[from].max_acked;
            self.side[from].sent(seg.seq_end(), len);
            if analysis.is_retransmission() {
                let s = self.stalls();
                let me = &mut s.side[from];
                me.retransmissions = me.retransmissions.saturating_add(1);
                me.unanswered = me.unanswered.saturating_add(1);
                if bigger {
                    me.big_retransmissions = me.big_retransmissions.saturating_add(1);
                    me.big_payload = me.big_payload.max(len);
                }
                s.recent.push(from, at);
            }
        }
        if analysis.has(SegFlags::KEEP_ALIVE) && !analysis.is_retransmission() {
            let s = self.stalls();
            let me = &mut s.side[from];
            me.keepalives_unanswered = me.keepalives_unanswered.saturating_add(1);
            s.recent.push(from, at);
        }
        // The sender's own receive window.
        if !f.syn() && !f.rst() {
            if seg.window == 0 {
                let open = self
                    .stalls
                    .as_ref()
                    .is_none_or(|s| s.side[from].zero.since.is_none());
                if open {
                    let z = &mut self.stalls().side[from].zero;
                    z.since = Some(at);
                    z.first.get_or_insert(at);
                    z.closes = z.closes.saturating_add(1);
                }
            } else if let Some(s) = self.stalls.as_deref_mut() {
                let z = &mut s.side[from].zero;
                if let Some(since) = z.since.take() {
                    let d = at.ts_ns.saturating_sub(since.ts_ns).max(0);
                    z.total_ns = z.total_ns.saturating_add(d);
                    if d >= z.longest_ns {
                        z.longest_ns = d;
                        z.reopened = Some(at.frame);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_acknowledged_payload() {
        let mut t = SideTransfer::default();
        t.sent(SeqNum(101), 100);
        t.acked(SeqNum(101));
        assert_eq!(t.max_acked, 100);
        // Full-size segments never acknowledged, one sent again.
        t.sent(SeqNum(1549), 1448);
        t.sent(SeqNum(2997), 1448);
        t.sent(SeqNum(1549), 1448);
        t.acked(SeqNum(101));
        assert_eq!(
            (t.max_acked, t.largest_unacked(), t.max_payload),
            (100, 1448, 1448)
        );
        t.acked(SeqNum(1549));
        assert_eq!((t.max_acked, t.largest_unacked()), (1448, 0));
        // Smaller segments are no longer kept.
        t.sent(SeqNum(3000), 3);
        assert_eq!(t.largest_unacked(), 0);
    }

    proptest::proptest! {
        /// `pending_max` is always the largest payload kept, whatever the
        /// order of segments and ACKs.
        #[test]
        fn the_kept_maximum_follows_the_pending_segments(
            ops in proptest::collection::vec((proptest::bool::ANY, 0u32..5000, 0u32..2000), 0..60)
        ) {
            let mut t = SideTransfer::default();
            for (is_ack, at, len) in ops {
                if is_ack {
                    t.acked(SeqNum(at));
                } else {
                    t.sent(SeqNum(at), len);
                }
                let scanned = t.pending.iter().map(|p| p.1).max().unwrap_or(0);
                proptest::prop_assert_eq!(t.largest_unacked(), scanned);
            }
        }
    }

    #[test]
    fn recent_keeps_the_last() {
        let mut r = Recent {
            side: Side::Client,
            count: 0,
            ring: [At::default(); RECENT],
        };
        for i in 1..=8u64 {
            r.push(Side::Server, At { frame: i, ts_ns: 0 });
        }
        let frames: Vec<u64> = r.list().iter().map(|a| a.frame).collect();
        assert_eq!(frames, vec![3, 4, 5, 6, 7, 8]);
        r.push(Side::Client, At { frame: 9, ts_ns: 0 });
        assert_eq!(r.list().len(), 1);
    }
}
