//! The verdicts Zeek users know: `conn_state` and `history`, computed the
//! way Zeek's TCP analyzer and `base/protocols/conn/main.zeek` compute them
//! (`docs/zeek.md`), plus the counters of a Zeek conn.log row.
//!
//! The originator is tcpstate's client. Deliberate differences from Zeek are
//! listed in docs/zeek.md.

use crate::decode::Segment;
use crate::seq::SeqNum;
use crate::state::Side;
use crate::wireshark::SegFlags;
use arrayvec::ArrayString;
use serde::Serialize;

/// Zeek's TCP endpoint states (`TCP_ENDPOINT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum EndpointState {
    #[default]
    Inactive,
    SynSent,
    SynAckSent,
    Partial,
    Established,
    Closed,
    Reset,
}

impl EndpointState {
    fn inactive(self) -> bool {
        matches!(self, EndpointState::Inactive | EndpointState::Partial)
    }
}

/// Zeek's connection states.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, schemars::JsonSchema,
)]
pub enum ConnState {
    S0,
    S1,
    SF,
    REJ,
    S2,
    S3,
    RSTO,
    RSTR,
    RSTOS0,
    RSTRH,
    SH,
    SHR,
    OTH,
}

impl ConnState {
    pub const ALL: [ConnState; 13] = [
        ConnState::S0,
        ConnState::S1,
        ConnState::SF,
        ConnState::REJ,
        ConnState::S2,
        ConnState::S3,
        ConnState::RSTO,
        ConnState::RSTR,
        ConnState::RSTOS0,
        ConnState::RSTRH,
        ConnState::SH,
        ConnState::SHR,
        ConnState::OTH,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            ConnState::S0 => "S0",
            ConnState::S1 => "S1",
            ConnState::SF => "SF",
            ConnState::REJ => "REJ",
            ConnState::S2 => "S2",
            ConnState::S3 => "S3",
            ConnState::RSTO => "RSTO",
            ConnState::RSTR => "RSTR",
            ConnState::RSTOS0 => "RSTOS0",
            ConnState::RSTRH => "RSTRH",
            ConnState::SH => "SH",
            ConnState::SHR => "SHR",
            ConnState::OTH => "OTH",
        }
    }
}

// History bits seen once per direction (Zeek's HIST_* masks).
const HIST_SYN: u8 = 1 << 0;
const HIST_FIN: u8 = 1 << 1;
const HIST_RST: u8 = 1 << 2;
const HIST_ACK: u8 = 1 << 3;
const HIST_DATA: u8 = 1 << 4;
const HIST_MULTI_FLAG: u8 = 1 << 5;
const HIST_FIN_RST: u8 = 1 << 6;

/// A counter whose letter is recorded at 1, 10, 100, … occurrences.
#[derive(Debug, Clone, Copy, Default)]
struct Scaled {
    count: u64,
}

impl Scaled {
    /// Counts one occurrence; true when the letter is due.
    fn bump(&mut self) -> bool {
        self.count = self.count.saturating_add(1);
        self.count == 10u64.pow(self.count.ilog10())
    }
}

#[derive(Debug, Clone, Default)]
struct Endpoint {
    state: EndpointState,
    hist: u8,
    last_syn: Option<SeqNum>,
    last_fin: Option<SeqNum>,
    last_rst: Option<SeqNum>,
    rxmit: Scaled,
    zero_window: Scaled,
    gap: Scaled,
    /// First sequence number (ISN, or first seq seen) and the highest end.
    start: Option<SeqNum>,
    top: Option<SeqNum>,
    syn_seen: bool,
    fin_seen: bool,
    pkts: u64,
    ip_bytes: u64,
    missed: u64,
}

impl Endpoint {
    /// Zeek's payload size from sequence numbers: top − start, less the SYN and FIN.
    fn size(&self) -> u64 {
        match (self.start, self.top) {
            (Some(s), Some(t)) => {
                let span = u64::from(t - s);
                span.saturating_sub(u64::from(self.syn_seen) + u64::from(self.fin_seen))
            }
            _ => 0,
        }
    }
}

/// The Zeek view of one connection.
#[derive(Debug, Clone, Default)]
pub struct ZeekObserver {
    ends: [Endpoint; 2],
    history: ArrayString<HISTORY_MAX>,
    started: bool,
}

/// The counters of a Zeek conn.log row, per direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ZeekCounts {
    pub bytes: u64,
    pub pkts: u64,
    pub ip_bytes: u64,
}

/// History letters kept per connection (inline, no allocation).
const HISTORY_MAX: usize = 48;

impl ZeekObserver {
    fn add(&mut self, from: Side, code: char) {
        // Longer histories are cut: they are rare, and the letters so far tell the story.
        let _ = self.history.try_push(match from {
            Side::Client => code.to_ascii_uppercase(),
            Side::Server => code.to_ascii_lowercase(),
        });
    }

    /// Records `code` the first time `mask` is seen in this direction;
    /// true when it had been seen before.
    fn check(&mut self, from: Side, mask: u8, code: char) -> bool {
        let e = &mut self.ends[from];
        if e.hist & mask != 0 {
            return true;
        }
        e.hist |= mask;
        self.add(from, code);
        false
    }

    /// Feeds one segment sent by `from`, with its analysis flags.
    pub fn on_segment(&mut self, from: Side, seg: &Segment, analysis: SegFlags) {
        if !self.started {
            self.started = true;
            // Zeek makes the sender of the first packet the originator and flips
            // the roles when it learns better; the flip is marked with '^'.
            if from == Side::Server {
                let _ = self.history.try_push('^');
            }
        }
        self.update_history(from, seg);
        self.update_state(from, seg);
        let f = seg.flags;
        let e = &mut self.ends[from];
        e.pkts += 1;
        e.ip_bytes += u64::from(seg.ip_len);
        if f.syn() {
            e.syn_seen = true;
            e.start = Some(seg.seq);
        } else if e.start.is_none() {
            e.start = Some(seg.seq);
        }
        if f.fin() {
            e.fin_seen = true;
        }
        if !f.rst() {
            let end = seg.seq_end();
            e.top = Some(e.top.map_or(end, |t| t.max_serial(end)));
        }
        // 'T' retransmitted payload, 'W' zero window, 'G' content gap (logarithmic).
        if seg.payload_len > 0
            && (analysis.is_retransmission() || analysis.has(SegFlags::OUT_OF_ORDER))
            && e.rxmit.bump()
        {
            self.add(from, 'T');
        }
        let e = &mut self.ends[from];
        if seg.window == 0 && !f.syn() && !f.fin() && !f.rst() && e.zero_window.bump() {
            self.add(from, 'W');
        }
        if analysis.has(SegFlags::ACKED_UNSEEN) {
            // The peer acknowledged data of ours that was never seen: a gap in our stream.
            let peer = from.peer();
            let p = &mut self.ends[peer];
            if let Some(top) = p.top {
                p.missed += u64::from(seg.ack - top);
            }
            if p.gap.bump() {
                self.add(peer, 'G');
            }
        }
    }

    /// Zeek's `update_history`.
    fn update_history(&mut self, from: Side, seg: &Segment) {
        let f = seg.flags;
        let bits = u8::from(f.syn()) + u8::from(f.fin()) + u8::from(f.rst());
        if bits > 1 {
            if f.fin() && f.rst() {
                self.check(from, HIST_FIN_RST, 'I');
            } else {
                self.check(from, HIST_MULTI_FLAG, 'Q');
            }
        } else if bits == 1 {
            let e = from;
            if f.syn() {
                let code = if f.ack() { 'H' } else { 'S' };
                if self.check(from, HIST_SYN, code) && self.ends[e].last_syn != Some(seg.seq) {
                    self.add(from, code);
                }
                self.ends[e].last_syn = Some(seg.seq);
            }
            if f.fin() {
                // A FIN's number is where it ends, after any data.
                let at = seg.seq + seg.payload_len;
                if self.check(from, HIST_FIN, 'F') && self.ends[e].last_fin != Some(at) {
                    self.add(from, 'F');
                }
                self.ends[e].last_fin = Some(at);
            }
            if f.rst() {
                if self.check(from, HIST_RST, 'R') && self.ends[e].last_rst != Some(seg.seq) {
                    self.add(from, 'R');
                }
                self.ends[e].last_rst = Some(seg.seq);
            }
        } else if seg.payload_len > 0 {
            self.check(from, HIST_DATA, 'D');
        } else if f.ack() {
            self.check(from, HIST_ACK, 'A');
        }
    }

    /// Zeek's endpoint state machine, as far as conn_state needs it.
    fn update_state(&mut self, from: Side, seg: &Segment) {
        use EndpointState::*;
        let f = seg.flags;
        let (me, peer) = (from, from.peer());
        let state = self.ends[me].state;
        if f.rst() {
            // UpdateClosedState: after a FIN exchange (both sides CLOSED)
            // a RST changes no state, and the record stays SF.
            if !(state == Closed && self.ends[peer].state == Closed) {
                self.ends[me].state = Reset;
            }
            return;
        }
        if f.syn() {
            if state == Inactive || state == SynSent {
                match from {
                    Side::Client => {
                        self.ends[me].state = if f.ack() { SynAckSent } else { SynSent };
                    }
                    Side::Server => {
                        // The responder's SYN (normally a SYN-ACK) establishes both.
                        if self.ends[peer].state == SynSent {
                            self.ends[peer].state = Established;
                        }
                        self.ends[me].state = Established;
                    }
                }
            }
        } else if state == Inactive {
            self.ends[me].state = Partial;
        } else if from == Side::Client && state == SynAckSent {
            self.ends[me].state = Established;
        }
        if f.fin() && self.ends[me].state != Reset {
            self.ends[me].state = Closed;
        }
    }

    /// Zeek's `conn_state()`, in its decision order.
    pub fn conn_state(&self) -> ConnState {
        use EndpointState::*;
        let (o, r) = (&self.ends[Side::Client], &self.ends[Side::Server]);
        let (os, rs) = (o.state, r.state);
        if rs == Reset {
            if os == SynSent || os == SynAckSent || (os == Reset && o.size() == 0 && r.size() == 0)
            {
                ConnState::REJ
            } else if os.inactive() {
                ConnState::RSTRH
            } else {
                ConnState::RSTR
            }
        } else if os == Reset {
            if rs.inactive() {
                if rstos0_history(&self.history) {
                    ConnState::RSTOS0
                } else {
                    ConnState::OTH
                }
            } else {
                ConnState::RSTO
            }
        } else if rs == Closed && os == Closed {
            ConnState::SF
        } else if os == Closed {
            if rs.inactive() {
                ConnState::SH
            } else {
                ConnState::S2
            }
        } else if rs == Closed {
            if os.inactive() {
                ConnState::SHR
            } else {
                ConnState::S3
            }
        } else if os == SynSent && rs == Inactive {
            ConnState::S0
        } else if os == Established && rs == Established {
            ConnState::S1
        } else {
            ConnState::OTH
        }
    }

    pub fn history(&self) -> &str {
        &self.history
    }

    /// conn.log counters of one side (client = originator).
    pub fn counts(&self, side: Side) -> ZeekCounts {
        let e = &self.ends[side];
        ZeekCounts {
            bytes: e.size(),
            pkts: e.pkts,
            ip_bytes: e.ip_bytes,
        }
    }

    /// Bytes the capture missed (acknowledged but never seen), both directions.
    pub fn missed_bytes(&self) -> u64 {
        self.ends.iter().map(|e| e.missed).sum()
    }
}

/// Whether the history matches Zeek's `/^\^?S[^HAFGIQ]*R.*/` (RSTOS0).
fn rstos0_history(h: &str) -> bool {
    let h = h.strip_prefix('^').unwrap_or(h);
    let Some(rest) = h.strip_prefix('S') else {
        return false;
    };
    for c in rest.chars() {
        match c {
            'R' => return true,
            'H' | 'A' | 'F' | 'G' | 'I' | 'Q' => return false,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rstos0_pattern() {
        assert!(rstos0_history("SR"));
        assert!(rstos0_history("^SsR"));
        assert!(rstos0_history("SDR"));
        // The pattern is case-sensitive: only the originator's letters exclude.
        assert!(rstos0_history("ShR"));
        assert!(!rstos0_history("SHR"));
        assert!(!rstos0_history("R"));
    }

    #[test]
    fn scaled_counter_fires_at_powers_of_ten() {
        let mut s = Scaled::default();
        let mut at = Vec::new();
        for n in 1..=1000u64 {
            if s.bump() {
                at.push(n);
            }
        }
        assert_eq!(at, [1, 10, 100, 1000]);
    }
}
