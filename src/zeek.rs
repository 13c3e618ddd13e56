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
    count: u32,
}

impl Scaled {
    /// Counts one occurrence; true when the letter is due.
    fn bump(&mut self) -> bool {
        self.count = self.count.saturating_add(1);
        self.count == 10u32.pow(self.count.ilog10())
    }
}

#[derive(Debug, Clone, Default)]
struct Endpoint {
    state: EndpointState,
    /// The state before the last change (Zeek's `prev_state`).
    prev_state: EndpointState,
    hist: u8,
    /// Zeek's `did_close`: the endpoint's FIN or RST was reported as a close.
    did_close: bool,
    /// A payload of this endpoint's was cut by the snaplen: its gaps come
    /// from [`Endpoint::reassem`] from then on.
    cut_seen: bool,
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
    /// Sets the state, remembering the one before (Zeek's `SetState`).
    fn set_state(&mut self, state: EndpointState) {
        if state != self.state {
            self.prev_state = self.state;
            self.state = state;
        }
    }

    /// Zeek's `is_clean`: established, or closed after being established.
    fn is_clean(&self) -> bool {
        self.state == EndpointState::Established
            || (self.state == EndpointState::Closed
                && self.prev_state == EndpointState::Established)
    }

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

/// One Zeek record as it is being built: its endpoints and history.
#[derive(Debug, Clone, Default)]
struct Live {
    ends: [Endpoint; 2],
    history: ArrayString<HISTORY_MAX>,
    started: bool,
    /// The timer that may end the record (beside `started`, in padding).
    timer: Timer,
}

/// A frame's number and time, as the Zeek view is told them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mark {
    pub frame: u64,
    pub ts_ns: i64,
}

/// Zeek's timer defaults (`scripts/base/init-bare.zeek`).
pub const ATTEMPT_DELAY_NS: i64 = 5_000_000_000;
pub const CLOSE_DELAY_NS: i64 = 5_000_000_000;
pub const RESET_DELAY_NS: i64 = 5_000_000_000;
pub const PARTIAL_CLOSE_DELAY_NS: i64 = 3_000_000_000;
pub const INACTIVITY_TIMEOUT_NS: i64 = 300_000_000_000;

/// Zeek records one connection carries at most; a split after that is
/// not made (the last record goes on) and counted instead.
pub const MAX_RECORDS: usize = 16;

/// The Zeek timer that may end the current record, checked at each
/// segment (Zeek's timers fire once network time reaches them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Timer {
    #[default]
    None,
    /// `AttemptTimer`: ends the record if the originator is still in
    /// SYN_SENT and the responder inactive.
    Attempt,
    /// `ConnDeleteTimer` (`tcp_close_delay`) or `ResetTimer`
    /// (`tcp_reset_delay`): ends the record.
    Delete,
    /// `PartialCloseTimer`: ends it unless a side is inactive or reset,
    /// or both closed.
    PartialClose,
}

/// One finished Zeek record (a row of conn.log).
#[derive(Debug, Clone)]
pub struct ZeekRecord {
    /// Its first and last segment.
    pub first: Mark,
    pub last: Mark,
    pub conn_state: ConnState,
    pub history: ArrayString<HISTORY_MAX>,
    pub orig: ZeekCounts,
    pub resp: ZeekCounts,
    pub missed_bytes: u64,
}

/// What only some connections need: the records already closed, and the
/// reassembly point of endpoints whose payload the snaplen cut.
#[derive(Debug, Clone, Default)]
struct Extra {
    /// The records closed so far, in order (at most `MAX_RECORDS - 1`).
    closed: Vec<ZeekRecord>,
    /// The current record's first segment (when `closed` is not empty).
    start: Mark,
    /// Splits not made because `MAX_RECORDS` was reached.
    merged: u64,
    /// Zeek's `last_reassem_seq` per endpoint, once a payload was cut.
    reassem: [Option<SeqNum>; 2],
}

/// The Zeek view of one connection: the Zeek record being built, the
/// timer that may end it, and (boxed, for the few that need it) the
/// records Zeek's timers and connection reuse split off before it.
#[derive(Debug, Clone)]
pub struct ZeekObserver {
    live: Live,
    /// When `live.timer` fires (capture time, ns).
    deadline: i64,
    extra: Option<Box<Extra>>,
}

impl Default for ZeekObserver {
    fn default() -> ZeekObserver {
        ZeekObserver {
            live: Live::default(),
            deadline: i64::MAX,
            extra: None,
        }
    }
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

impl Live {
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

    /// Applies one segment sent by `from`, with its analysis flags, to the
    /// record; `reassem` is the reassembly point of cut payloads.
    fn apply(
        &mut self,
        from: Side,
        seg: &Segment,
        analysis: SegFlags,
        reassem: Option<&mut [Option<SeqNum>; 2]>,
    ) {
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
        if let Some(reassem) = reassem {
            self.reassemble(from, seg, reassem);
        }
        if analysis.has(SegFlags::ACKED_UNSEEN) && !self.ends[from.peer()].cut_seen {
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
                self.ends[me].set_state(Reset);
            }
            return;
        }
        if f.syn() {
            if state == Inactive || state == SynSent {
                match from {
                    Side::Client => {
                        self.ends[me].set_state(if f.ack() { SynAckSent } else { SynSent });
                    }
                    Side::Server => {
                        // The responder's SYN (normally a SYN-ACK) establishes both.
                        if self.ends[peer].state == SynSent {
                            self.ends[peer].set_state(Established);
                        }
                        self.ends[me].set_state(Established);
                    }
                }
            }
        } else if state == Inactive {
            self.ends[me].set_state(Partial);
        } else if from == Side::Client && state == SynAckSent {
            self.ends[me].set_state(Established);
        }
        if f.fin() && self.ends[me].state != Reset {
            self.ends[me].set_state(Closed);
        }
    }

    /// Zeek's `conn_state()`, in its decision order.
    fn conn_state(&self) -> ConnState {
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

    fn history(&self) -> &str {
        &self.history
    }

    /// Zeek's reassembler as far as cut payloads need it
    /// (`TCP_Endpoint::DataSent`, `TCP_Reassembler::AckReceived` and
    /// `Undelivered`): a payload the capture cut is never delivered, and
    /// an ACK past the delivered data declares the rest a content gap,
    /// counted ('G', `missed_bytes`) when both ends are established or
    /// closing cleanly (`TCP_Reassembler::Gap`).
    fn reassemble(&mut self, from: Side, seg: &Segment, reassem: &mut [Option<SeqNum>; 2]) {
        let f = seg.flags;
        if seg.payload_len > 0 && !f.rst() {
            let data = if f.syn() { seg.seq + 1 } else { seg.seq };
            let end = data + seg.payload_len;
            let point = &mut reassem[from];
            if seg.payload_cut {
                self.ends[from].cut_seen = true;
                point.get_or_insert(data);
            } else if let Some(r) = *point {
                if r.diff(data) >= 0 && end.diff(r) > 0 {
                    *point = Some(end);
                }
            }
        }
        let peer = from.peer();
        let Some(r) = reassem[peer] else {
            return;
        };
        if !f.ack() {
            return;
        }
        // An ACK of the peer's FIN stops at the FIN.
        let mut ack = seg.ack;
        if let Some(fin) = self.ends[peer].last_fin {
            if ack.diff(fin) > 0 {
                ack = fin;
            }
        }
        if ack.diff(r) <= 0 {
            return;
        }
        reassem[peer] = Some(ack);
        if self.ends[peer].is_clean() && self.ends[from].is_clean() {
            let p = &mut self.ends[peer];
            p.missed += u64::from(ack - r);
            if p.gap.bump() {
                self.add(peer, 'G');
            }
        }
    }

    fn record(&self, first: Mark, last: Mark) -> ZeekRecord {
        let (o, r) = (self.counts(Side::Client), self.counts(Side::Server));
        ZeekRecord {
            first,
            last,
            conn_state: self.conn_state(),
            history: self.history,
            orig: o,
            resp: r,
            missed_bytes: self.missed_bytes(),
        }
    }

    /// Whether `timer` ends the record when it fires.
    fn fires(&self, timer: Timer) -> bool {
        use EndpointState::*;
        let (o, r) = (&self.ends[Side::Client], &self.ends[Side::Server]);
        match timer {
            Timer::None => false,
            // TCPSessionAdapter::AttemptTimer
            Timer::Attempt => matches!(o.state, SynSent | SynAckSent) && r.state == Inactive,
            // TCPSessionAdapter::ConnDeleteTimer, ResetTimer
            Timer::Delete => true,
            // TCPSessionAdapter::PartialCloseTimer
            Timer::PartialClose => {
                o.state != Inactive
                    && r.state != Inactive
                    && !(o.did_close && r.did_close)
                    && o.state != Reset
                    && r.state != Reset
            }
        }
    }

    /// Whether a segment begins a new record before it is applied
    /// (`TCPSessionAdapter::IsReuse`): an originator's bare SYN once
    /// either side closed, or with another sequence number than its first.
    fn reused_by(&self, from: Side, seg: &Segment) -> bool {
        let f = seg.flags;
        if from != Side::Client || !f.syn() || f.ack() || !self.started {
            return false;
        }
        let (o, r) = (&self.ends[Side::Client], &self.ends[Side::Server]);
        if o.did_close || r.did_close {
            return true;
        }
        o.syn_seen && o.start.is_some_and(|s| s != seg.seq)
    }

    /// conn.log counters of one side (client = originator).
    fn counts(&self, side: Side) -> ZeekCounts {
        let e = &self.ends[side];
        ZeekCounts {
            bytes: e.size(),
            pkts: e.pkts,
            ip_bytes: e.ip_bytes,
        }
    }

    /// Bytes the capture missed (acknowledged but never seen), both directions.
    fn missed_bytes(&self) -> u64 {
        self.ends.iter().map(|e| e.missed).sum()
    }
}

impl ZeekObserver {
    /// Feeds one segment sent by `from`, with its analysis flags: `now` is
    /// its frame, `prev` the connection's segment before it (`now` for the
    /// first) and `first` the connection's first. Zeek's timers are
    /// checked first: one that fired (or a reused 4-tuple) ends the record,
    /// and the segment begins the next.
    pub fn on_segment(
        &mut self,
        from: Side,
        seg: &Segment,
        analysis: SegFlags,
        now: Mark,
        prev: Mark,
        first: Mark,
    ) {
        let live = &self.live;
        // Connection::InactivityTimer: expired when last_time + timeout <= t.
        let idle = live.started && now.ts_ns.saturating_sub(prev.ts_ns) >= INACTIVITY_TIMEOUT_NS;
        if idle
            || (now.ts_ns >= self.deadline && live.fires(self.live.timer))
            || live.reused_by(from, seg)
        {
            self.split(now, prev, first);
        }
        let me = from;
        let before = self.live.ends[me].state;
        let did_close = self.live.ends[me].did_close;
        if seg.payload_cut && seg.payload_len > 0 && self.extra.is_none() {
            self.extra = Some(Box::default());
        }
        let reassem = self.extra.as_deref_mut().map(|e| &mut e.reassem);
        self.live.apply(from, seg, analysis, reassem);
        self.arm(me, seg, before, did_close, now.ts_ns);
    }

    /// Arms the timers Zeek arms for a segment that moved `me` out of
    /// `before` (`UpdateInactiveState`, `UpdateClosedState`,
    /// `ConnectionClosed`).
    fn arm(&mut self, me: Side, seg: &Segment, before: EndpointState, did_close: bool, t: i64) {
        use EndpointState::*;
        let f = seg.flags;
        let ends = &mut self.live.ends;
        let after = ends[me].state;
        if me == Side::Client
            && f.syn()
            && before == Inactive
            && matches!(after, SynSent | SynAckSent)
        {
            if self.live.timer == Timer::None {
                self.live.timer = Timer::Attempt;
                self.deadline = t.saturating_add(ATTEMPT_DELAY_NS);
            }
            return;
        }
        if after == before || !matches!(after, Closed | Reset) {
            return;
        }
        if before == Closed {
            // A RST after our FIN while the peer is open: ResetTimer.
            self.live.timer = Timer::Delete;
            self.deadline = t.saturating_add(RESET_DELAY_NS);
            return;
        }
        if did_close {
            return;
        }
        // ConnectionClosed.
        ends[me].did_close = true;
        let peer = &ends[me.peer()];
        if after == Reset || peer.did_close || peer.state == Inactive {
            // CancelTimers, then ConnDeleteTimer at tcp_close_delay.
            self.live.timer = Timer::Delete;
            self.deadline = t.saturating_add(CLOSE_DELAY_NS);
        } else if before == Inactive {
            // The first we saw of this side was its close.
            self.live.timer = Timer::PartialClose;
            self.deadline = t.saturating_add(PARTIAL_CLOSE_DELAY_NS);
        }
    }

    /// Ends the current record (its last segment was `prev`) and begins
    /// the next at `now`; past `MAX_RECORDS` the record goes on instead.
    fn split(&mut self, now: Mark, prev: Mark, first: Mark) {
        self.live.timer = Timer::None;
        self.deadline = i64::MAX;
        let extra = self.extra.get_or_insert_with(Box::default);
        if extra.closed.len() + 1 >= MAX_RECORDS {
            extra.merged = extra.merged.saturating_add(1);
            return;
        }
        let start = if extra.closed.is_empty() {
            first
        } else {
            extra.start
        };
        extra.closed.push(self.live.record(start, prev));
        extra.start = now;
        extra.reassem = [None, None];
        self.live = Live::default();
    }

    /// The first Zeek record's conn_state (the one the connection is
    /// labelled with).
    pub fn conn_state(&self) -> ConnState {
        match self.first_closed() {
            Some(r) => r.conn_state,
            None => self.live.conn_state(),
        }
    }

    /// The first Zeek record's history.
    pub fn history(&self) -> &str {
        match self.first_closed() {
            Some(r) => &r.history,
            None => self.live.history(),
        }
    }

    /// The first Zeek record's counters of one side (client = originator).
    pub fn counts(&self, side: Side) -> ZeekCounts {
        match self.first_closed() {
            Some(r) if side == Side::Client => r.orig,
            Some(r) => r.resp,
            None => self.live.counts(side),
        }
    }

    /// The first Zeek record's missed bytes, both directions.
    pub fn missed_bytes(&self) -> u64 {
        match self.first_closed() {
            Some(r) => r.missed_bytes,
            None => self.live.missed_bytes(),
        }
    }

    fn first_closed(&self) -> Option<&ZeekRecord> {
        self.extra.as_deref().and_then(|e| e.closed.first())
    }

    /// How many Zeek records the connection carries.
    pub fn record_count(&self) -> usize {
        self.extra.as_deref().map_or(1, |e| e.closed.len() + 1)
    }

    /// Splits not made because the connection had `MAX_RECORDS` already.
    pub fn merged_splits(&self) -> u64 {
        self.extra.as_deref().map_or(0, |e| e.merged)
    }

    /// Every Zeek record, in order, when there is more than one (else
    /// none: the connection's own fields are its one record); `last` is
    /// the connection's last segment.
    pub fn records(&self, last: Mark) -> Vec<ZeekRecord> {
        match self.extra.as_deref() {
            Some(e) if !e.closed.is_empty() => {
                let mut all = e.closed.clone();
                all.push(self.live.record(e.start, last));
                all
            }
            _ => Vec::new(),
        }
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

    use crate::decode::TcpFlags;
    use std::net::{IpAddr, Ipv4Addr};

    fn seg(flags: u16, seq: u32, ack: u32, len: u32) -> Segment {
        Segment {
            src: IpAddr::V4(Ipv4Addr::LOCALHOST),
            src_port: 40000,
            dst: IpAddr::V4(Ipv4Addr::LOCALHOST),
            dst_port: 80,
            seq: SeqNum(seq),
            ack: SeqNum(ack),
            flags: TcpFlags(flags),
            window: 502,
            payload_len: len,
            wscale: None,
            ip_len: 40 + len,
            carried: 0,
            payload_cut: false,
            mss: None,
            ip_id: 0,
            ttl: 64,
        }
    }

    const FIN: u16 = 0x01;
    const SYN: u16 = 0x02;
    const ACK: u16 = 0x10;

    /// Feeds (side, segment, seconds) in order, as the connection does.
    fn feed(steps: &[(Side, Segment, f64)]) -> ZeekObserver {
        let mut z = ZeekObserver::default();
        let mark = |i: usize, t: f64| Mark {
            frame: i as u64 + 1,
            ts_ns: (t * 1e9) as i64,
        };
        let first = mark(0, steps[0].2);
        let mut prev = first;
        for (i, (side, s, t)) in steps.iter().enumerate() {
            let now = mark(i, *t);
            z.on_segment(*side, s, SegFlags::default(), now, prev, first);
            prev = now;
        }
        z
    }

    /// `PartialCloseTimer`: a side whose first packet is its FIN, the
    /// other side open: 3 s later the record ends.
    #[test]
    fn partial_close_ends_the_record_after_3_s() {
        use Side::*;
        let z = feed(&[
            (Server, seg(ACK, 500, 100, 10), 0.0),
            (Client, seg(FIN | ACK, 100, 510, 0), 1.0),
            (Server, seg(ACK, 510, 101, 0), 3.999),
            (Server, seg(ACK, 510, 101, 5), 4.0),
        ]);
        assert_eq!(z.record_count(), 2);
        let r = z.records(Mark::default());
        assert_eq!((r[0].first.frame, r[0].last.frame), (1, 3));
        assert_eq!(r[1].first.frame, 4);
    }

    /// An answered SYN disarms `AttemptTimer`: the responder is no longer
    /// inactive, and a long pause (under the inactivity timeout) keeps one
    /// record.
    #[test]
    fn an_answered_attempt_is_not_split() {
        use Side::*;
        let z = feed(&[
            (Client, seg(SYN, 99, 0, 0), 0.0),
            (Server, seg(SYN | ACK, 499, 100, 0), 0.001),
            (Client, seg(ACK, 100, 500, 0), 0.002),
            (Client, seg(ACK, 100, 500, 10), 60.0),
        ]);
        assert_eq!(z.record_count(), 1);
        assert_eq!(z.conn_state(), ConnState::S1);
        assert_eq!(z.history(), "ShAD");
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
