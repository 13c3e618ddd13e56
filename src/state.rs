//! Per-side TCP state machines as seen by a passive observer.
//!
//! Each endpoint's RFC 9293 state is inferred from what it sent and what it
//! evidently received. The capture point may sit anywhere between the two
//! hosts, so seeing a segment does not prove its receiver got it. The rules:
//!
//! * A side **receives the peer's SYN or FIN** only when its own ACK covers
//!   it: such segments wait in a per-direction queue until that evidence
//!   appears (an unanswered SYN or FIN is never assumed to have arrived).
//! * A side **learns that its own SYN or FIN was acknowledged** when the
//!   peer's acknowledgement appears in the capture (nothing answers an ACK,
//!   so there can be no better evidence), but never before the peer's
//!   earlier SYN or FIN: delivery is in order.
//! * A RST takes effect at once: the sender is CLOSED, and the receiver too
//!   when the RST is acceptable (RFC 9293 §3.10.7: in its receive window, or
//!   in SYN-SENT acknowledging its SYN).
//!
//! Every state change goes through `Endpoint::set_state`, which records it,
//! so reports and timelines are built from the recorded transitions.

use crate::decode::Segment;
use crate::seq::SeqNum;
use arrayvec::ArrayVec;
use serde::Serialize;
use std::fmt;

/// The eleven RFC 9293 connection states, spelt as in the RFC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
pub enum State {
    #[serde(rename = "CLOSED")]
    Closed,
    #[serde(rename = "LISTEN")]
    Listen,
    #[serde(rename = "SYN-SENT")]
    SynSent,
    #[serde(rename = "SYN-RECEIVED")]
    SynReceived,
    #[serde(rename = "ESTABLISHED")]
    Established,
    #[serde(rename = "FIN-WAIT-1")]
    FinWait1,
    #[serde(rename = "FIN-WAIT-2")]
    FinWait2,
    #[serde(rename = "CLOSING")]
    Closing,
    #[serde(rename = "TIME-WAIT")]
    TimeWait,
    #[serde(rename = "CLOSE-WAIT")]
    CloseWait,
    #[serde(rename = "LAST-ACK")]
    LastAck,
}

impl State {
    pub const ALL: [State; 11] = [
        State::Closed,
        State::Listen,
        State::SynSent,
        State::SynReceived,
        State::Established,
        State::FinWait1,
        State::FinWait2,
        State::Closing,
        State::TimeWait,
        State::CloseWait,
        State::LastAck,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            State::Closed => "CLOSED",
            State::Listen => "LISTEN",
            State::SynSent => "SYN-SENT",
            State::SynReceived => "SYN-RECEIVED",
            State::Established => "ESTABLISHED",
            State::FinWait1 => "FIN-WAIT-1",
            State::FinWait2 => "FIN-WAIT-2",
            State::Closing => "CLOSING",
            State::TimeWait => "TIME-WAIT",
            State::CloseWait => "CLOSE-WAIT",
            State::LastAck => "LAST-ACK",
        }
    }

    /// States in which the connection is over for this side.
    pub const fn is_closed(self) -> bool {
        matches!(self, State::Closed | State::TimeWait)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The two ends of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Client,
    Server,
}

impl Side {
    pub const fn peer(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }
    pub const fn as_str(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }
}

/// A pair of values, one per side, `[client, server]`, indexed by [`Side`]:
/// `stats[side]`. Side-indexed arrays are always indexed this way.
impl<T> std::ops::Index<Side> for [T; 2] {
    type Output = T;
    fn index(&self, side: Side) -> &T {
        &self[side as usize]
    }
}

impl<T> std::ops::IndexMut<Side> for [T; 2] {
    fn index_mut(&mut self, side: Side) -> &mut T {
        &mut self[side as usize]
    }
}

/// One recorded state change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub side: Side,
    pub from: State,
    pub to: State,
}

/// What the observer knows about one endpoint.
#[derive(Debug, Clone)]
pub struct Endpoint {
    state: State,
    /// Every state entered, in order (the first is the assumed initial state).
    history: History,
    /// Whether this side has sent anything yet; until it has, its initial
    /// state is an assumption that its first segment may revise.
    sent_any: bool,
    /// Sequence number of this side's SYN.
    pub isn: Option<SeqNum>,
    /// Sequence number of this side's first FIN.
    pub fin_seq: Option<SeqNum>,
    /// Facts learnt so far.
    pub peer_syn_received: bool,
    pub syn_acked: bool,
    pub peer_fin_received: bool,
    pub fin_acked: bool,
    /// This side sent its FIN before it had received the peer's.
    pub active_close: bool,
    /// Highest sequence number this side has sent up to (exclusive).
    pub snd_nxt: Option<SeqNum>,
    /// Last acknowledgement number and window this side advertised.
    pub last_ack: Option<SeqNum>,
    pub window: u16,
    pub wscale: Option<u8>,
    /// This side aborted the connection with a RST.
    pub sent_rst: bool,
    /// An acceptable RST from the peer closed this side.
    pub reset_by_peer: bool,
}

/// States recorded per side at most; the normal paths need 7.
pub const MAX_HISTORY: usize = 16;

/// The states one side entered, in order, at most [`MAX_HISTORY`] (later
/// ones are not recorded): four bits each, in 9 bytes rather than the 20 of
/// an `ArrayVec` (docs/performance.md, "Session 15"). Never empty.
#[derive(Clone, Copy, PartialEq, Eq)]
struct History {
    /// State `i` in bits `4 * i` of this little-endian word, as its index
    /// in [`State::ALL`] (bytes, so that the whole takes 9 bytes unpadded).
    packed: [u8; 8],
    len: u8,
}

impl History {
    fn of(first: State) -> History {
        History {
            packed: u64::from(first as u8).to_le_bytes(),
            len: 1,
        }
    }

    fn len(&self) -> usize {
        usize::from(self.len)
    }

    fn push(&mut self, state: State) {
        let i = self.len();
        if i < MAX_HISTORY {
            let word = u64::from_le_bytes(self.packed) | u64::from(state as u8) << (4 * i);
            self.packed = word.to_le_bytes();
            self.len += 1;
        }
    }

    fn get(&self, i: usize) -> State {
        let nibble = (u64::from_le_bytes(self.packed) >> (4 * (i % MAX_HISTORY))) & 0xf;
        State::ALL
            .get(nibble as usize)
            .copied()
            .unwrap_or(State::Closed)
    }

    fn first(&self) -> State {
        self.get(0)
    }

    fn states(&self) -> ArrayVec<State, MAX_HISTORY> {
        (0..self.len()).map(|i| self.get(i)).collect()
    }
}

impl fmt::Debug for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.states()).finish()
    }
}

impl Endpoint {
    fn new(initial: State) -> Endpoint {
        Endpoint {
            state: initial,
            history: History::of(initial),
            sent_any: false,
            isn: None,
            fin_seq: None,
            peer_syn_received: false,
            syn_acked: false,
            peer_fin_received: false,
            fin_acked: false,
            active_close: false,
            snd_nxt: None,
            last_ack: None,
            window: 0,
            wscale: None,
            sent_rst: false,
            reset_by_peer: false,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// Every state entered, in order.
    pub fn history(&self) -> ArrayVec<State, MAX_HISTORY> {
        self.history.states()
    }

    /// The one place where a state changes; it records the change.
    fn set_state(&mut self, side: Side, to: State, out: &mut Vec<Transition>) {
        if to == self.state {
            return;
        }
        out.push(Transition {
            side,
            from: self.state,
            to,
        });
        self.state = to;
        // A side that keeps cycling (RST back to LISTEN) stops being recorded.
        self.history.push(to);
    }

    /// Replaces an assumed initial state, before this side has sent anything.
    fn revise_initial(&mut self, initial: State) {
        if !self.sent_any && self.history.len() == 1 {
            self.state = initial;
            self.history = History::of(initial);
        }
    }

    /// The state this side moves to on what it has learnt, if any: the
    /// receive half of the RFC 9293 state diagram.
    fn next_on_facts(&self) -> Option<State> {
        use State::*;
        match self.state {
            // LISTEN: rcv SYN, snd SYN,ACK.
            Listen if self.peer_syn_received => Some(SynReceived),
            // SYN-SENT: rcv SYN,ACK, snd ACK.
            SynSent if self.peer_syn_received && self.syn_acked => Some(Established),
            // SYN-SENT: rcv SYN (simultaneous open), snd SYN,ACK.
            SynSent if self.peer_syn_received => Some(SynReceived),
            // SYN-RECEIVED: rcv ACK of SYN.
            SynReceived if self.syn_acked => Some(Established),
            // ESTABLISHED: rcv FIN, snd ACK.
            Established if self.peer_fin_received => Some(CloseWait),
            // FIN-WAIT-1: rcv FIN together with the ACK of our FIN.
            FinWait1 if self.peer_fin_received && self.fin_acked => Some(TimeWait),
            // FIN-WAIT-1: rcv FIN (simultaneous close), snd ACK.
            FinWait1 if self.peer_fin_received => Some(Closing),
            // FIN-WAIT-1: rcv ACK of FIN.
            FinWait1 if self.fin_acked => Some(FinWait2),
            // FIN-WAIT-2: rcv FIN, snd ACK.
            FinWait2 if self.peer_fin_received => Some(TimeWait),
            // CLOSING: rcv ACK of FIN.
            Closing if self.fin_acked => Some(TimeWait),
            // LAST-ACK: rcv ACK of FIN.
            LastAck if self.fin_acked => Some(Closed),
            _ => None,
        }
    }

    fn settle(&mut self, side: Side, out: &mut Vec<Transition>) {
        // Each step moves forward in the diagram; a handful always suffices.
        for _ in 0..4 {
            match self.next_on_facts() {
                Some(next) => self.set_state(side, next, out),
                None => break,
            }
        }
    }

    /// Whether `ack` acknowledges this side's SYN / FIN: each occupies one
    /// sequence number, so the ACK must reach past it (ack ≥ seq + 1).
    fn acks_syn(&self, ack: SeqNum) -> bool {
        self.isn.is_some_and(|isn| ack > isn)
    }
    fn acks_fin(&self, ack: SeqNum) -> bool {
        self.fin_seq.is_some_and(|fin| ack > fin)
    }

    /// Receive-window check for a RST arriving at this side (RFC 9293 §3.10.7).
    /// `shift` is the window scale of this side's advertised windows.
    fn accepts_rst(&self, rst: &Segment, shift: u8) -> bool {
        match self.state {
            State::Listen | State::Closed => false,
            // SYN-SENT: acceptable if its ACK acknowledges our SYN, and no
            // more than was sent (SND.UNA < SEG.ACK ≤ SND.NXT: data on the
            // SYN counts).
            State::SynSent => {
                rst.flags.ack()
                    && self.isn.is_some_and(|isn| {
                        let nxt = self.snd_nxt.filter(|n| *n > isn).unwrap_or(isn + 1);
                        rst.ack > isn && rst.ack <= nxt
                    })
            }
            _ => {
                let Some(rcv_nxt) = self.last_ack else {
                    return true;
                };
                let wnd = (u32::from(self.window) << shift.min(14)).max(1);
                let off = rst.seq.diff(rcv_nxt);
                off >= 0 && (off as u32) < wnd
            }
        }
    }
}

/// A segment on its way to the other side, waiting for its effect.
#[derive(Debug, Clone, Copy)]
struct InFlight {
    seq: SeqNum,
    seq_end: SeqNum,
    /// The acknowledgement number, if `has_ack` (kept apart from the flag so
    /// that an entry takes 16 bytes, not 20).
    ack: SeqNum,
    has_ack: bool,
    syn: bool,
    fin: bool,
}

impl InFlight {
    fn ack(&self) -> Option<SeqNum> {
        self.has_ack.then_some(self.ack)
    }

    /// SYN and FIN arrive only on evidence (the receiver's ACK covering them).
    fn needs_evidence(&self) -> bool {
        self.syn || self.fin
    }
}

/// Queue cap per direction: past it the oldest segment is assumed delivered.
const MAX_IN_FLIGHT: usize = 4;

fn pop_front<T: Copy, const N: usize>(queue: &mut ArrayVec<T, N>) -> Option<T> {
    if queue.is_empty() {
        None
    } else {
        Some(queue.remove(0))
    }
}

/// The state machines of both endpoints of one connection.
#[derive(Debug, Clone)]
pub struct Tracker {
    ends: [Endpoint; 2],
    /// Segments sent by side i not yet delivered to its peer.
    in_flight: [ArrayVec<InFlight, MAX_IN_FLIGHT>; 2],
    /// How far side i's peer has received side i's sequence space.
    delivered_end: [Option<SeqNum>; 2],
}

/// What one segment did, besides state transitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StepOutcome {
    /// For a RST: whether the receiver accepted it.
    pub rst_accepted: Option<bool>,
    /// For a RST: whether it closed either side (an abort, not a rejected segment).
    pub rst_closed: bool,
}

impl Tracker {
    /// A connection whose opening SYN is seen: the client is CLOSED, the
    /// server assumed to be LISTENing (revised if its first segment says otherwise).
    pub fn new_opening() -> Tracker {
        Tracker::with_states(State::Closed, State::Listen)
    }

    /// A connection first seen after its handshake: both sides assumed ESTABLISHED.
    pub fn new_midstream() -> Tracker {
        let mut t = Tracker::with_states(State::Established, State::Established);
        for e in &mut t.ends {
            e.peer_syn_received = true;
            e.syn_acked = true;
        }
        t
    }

    fn with_states(client: State, server: State) -> Tracker {
        Tracker {
            ends: [Endpoint::new(client), Endpoint::new(server)],
            in_flight: [ArrayVec::new(), ArrayVec::new()],
            delivered_end: [None, None],
        }
    }

    pub fn endpoint(&self, side: Side) -> &Endpoint {
        &self.ends[side]
    }

    /// The window scale of `side`'s advertised windows (RFC 7323 §2.2): its
    /// own shift if both SYNs carried the option, 0 if both SYNs were seen
    /// and one did not, unknown (None) without the SYNs.
    pub fn window_shift(&self, side: Side) -> Option<u8> {
        let (me, peer) = (&self.ends[side], &self.ends[side.peer()]);
        match (me.isn, peer.isn, me.wscale, peer.wscale) {
            (Some(_), Some(_), Some(ws), Some(_)) => Some(ws.min(14)),
            (Some(_), Some(_), _, _) => Some(0),
            _ => None,
        }
    }

    /// Both sides are done: CLOSED or TIME-WAIT, or reset.
    pub fn is_finished(&self) -> bool {
        self.ends.iter().all(|e| e.state.is_closed())
    }

    /// Feeds one segment sent by `from`; state changes are appended to `out`.
    pub fn on_segment(
        &mut self,
        from: Side,
        seg: &Segment,
        out: &mut Vec<Transition>,
    ) -> StepOutcome {
        let to = from.peer();
        if seg.flags.rst() {
            return self.on_rst(from, seg, out);
        }
        // 1. What this segment's ACK proves `from` has received.
        if seg.flags.ack() {
            self.deliver_evidenced(to, seg.ack, out);
        }
        // 2. What sending it does to `from` (the send half of the diagram).
        self.on_send(from, seg, out);
        // 3. What was waiting for `from` only because it had to be sent
        //    first (a SYN,ACK repeating a SYN already delivered) arrives now.
        self.release_repeats(to, out);
        // 4. Queue it for the peer, and deliver what needs no evidence.
        self.enqueue(from, seg, out);
        self.deliver_ready(from, out);
        StepOutcome::default()
    }

    fn on_send(&mut self, from: Side, seg: &Segment, out: &mut Vec<Transition>) {
        use State::*;
        let end = &mut self.ends[from];
        if seg.flags.syn() {
            if end.isn.is_none() {
                end.isn = Some(seg.seq);
            }
            if let Some(ws) = seg.wscale {
                end.wscale = Some(ws);
            }
            if !seg.flags.ack() {
                // A bare SYN is an active open: this side was CLOSED, not listening.
                if end.state == Listen {
                    end.revise_initial(Closed);
                }
                // CLOSED: active OPEN, snd SYN.
                if end.state == Closed {
                    end.set_state(from, SynSent, out);
                }
            } else if matches!(end.state, Listen | SynSent) {
                // SYN,ACK sent: the peer's SYN arrived even if the capture missed it.
                end.peer_syn_received = true;
                end.settle(from, out);
                if end.state != SynReceived && end.state != Established {
                    end.set_state(from, SynReceived, out);
                }
            }
        }
        if seg.flags.fin() && end.fin_seq.is_none() {
            end.fin_seq = Some(seg.seq + seg.payload_len + u32::from(seg.flags.syn()));
            end.active_close = !end.peer_fin_received;
            match end.state {
                // ESTABLISHED / SYN-RECEIVED: CLOSE, snd FIN.
                Established | SynReceived => end.set_state(from, FinWait1, out),
                // CLOSE-WAIT: CLOSE, snd FIN.
                CloseWait => end.set_state(from, LastAck, out),
                _ => {}
            }
        }
        end.sent_any = true;
        let seq_end = seg.seq_end();
        end.snd_nxt = Some(end.snd_nxt.map_or(seq_end, |n| n.max_serial(seq_end)));
        if seg.flags.ack() {
            end.last_ack = Some(seg.ack);
        }
        end.window = seg.window;
    }

    fn on_rst(&mut self, from: Side, seg: &Segment, out: &mut Vec<Transition>) -> StepOutcome {
        let to = from.peer();
        let receiver_before = self.ends[to].state;
        {
            let sender = &mut self.ends[from];
            // A RST in answer to a SYN from a side that has sent nothing: no listener.
            sender.revise_initial(State::Closed);
            sender.sent_any = true;
        }
        // Everything sent before the RST is taken to have arrived before it.
        while let Some(seg) = pop_front(&mut self.in_flight[from]) {
            self.deliver(from, seg, out);
        }
        // Without the SYNs the scale is unknown: assume the largest, so that
        // no RST is wrongly called out of window.
        let shift = self.window_shift(to).unwrap_or(14);
        let accepted = self.ends[to].accepts_rst(seg, shift);
        // A synchronized receiver ignores a RST outside its window (RFC 9293
        // §3.10.7.4, RFC 5961 §3): it changes nothing, and the connection
        // goes on as the following segments show.
        if !accepted
            && !matches!(
                receiver_before,
                State::Closed | State::Listen | State::SynSent
            )
        {
            return StepOutcome {
                rst_accepted: Some(false),
                rst_closed: false,
            };
        }
        let mut closed = false;
        {
            let sender = &mut self.ends[from];
            sender.sent_rst = true;
            // SYN-SENT: a RST with seq = SEG.ACK answers an unacceptable ACK
            // and the connection attempt goes on (RFC 9293 §3.10.7.3). One
            // from its own sequence space (ISN + 1) gives the attempt up, as
            // does any RST elsewhere: the sender aborts.
            let answers_bad_ack =
                sender.state == State::SynSent && sender.isn.is_none_or(|isn| seg.seq != isn + 1);
            if !answers_bad_ack {
                closed |= sender.state != State::Closed;
                sender.set_state(from, State::Closed, out);
            }
        }
        let receiver = &mut self.ends[to];
        if accepted {
            receiver.reset_by_peer = true;
            // SYN-RECEIVED from a passive OPEN returns to LISTEN (RFC 9293 §3.10.7.4).
            let back_to = if receiver.state == State::SynReceived
                && receiver.history.first() == State::Listen
            {
                State::Listen
            } else {
                State::Closed
            };
            closed |= back_to == State::Closed && receiver.state != State::Closed;
            if back_to == State::Listen {
                receiver.peer_syn_received = false;
            }
            receiver.set_state(to, back_to, out);
        }
        StepOutcome {
            rst_accepted: Some(accepted),
            rst_closed: closed,
        }
    }

    /// Queues the parts of a segment that tell its receiver something new.
    fn enqueue(&mut self, from: Side, seg: &Segment, out: &mut Vec<Transition>) {
        let to = from.peer();
        let receiver = &self.ends[to];
        let already = self.delivered_end[from];
        let dup = already.is_some_and(|d| seg.seq_end() <= d);
        let syn = seg.flags.syn() && !dup;
        let fin = seg.flags.fin() && !dup;
        let acks_news = seg.flags.ack()
            && ((!receiver.syn_acked && receiver.acks_syn(seg.ack))
                || (!receiver.fin_acked && receiver.acks_fin(seg.ack)));
        if !(syn || fin || acks_news) {
            return;
        }
        let item = InFlight {
            seq: seg.seq,
            seq_end: seg.seq_end(),
            ack: seg.ack,
            has_ack: seg.flags.ack(),
            syn,
            fin,
        };
        let queue = &mut self.in_flight[from];
        let same = |q: &InFlight| {
            q.seq == item.seq && q.syn == item.syn && q.fin == item.fin && q.ack() == item.ack()
        };
        if queue.iter().any(same) {
            return; // a retransmission of something already on its way
        }
        if queue.is_full() {
            // Past the cap the oldest is taken as delivered.
            if let Some(oldest) = pop_front(queue) {
                self.deliver(from, oldest, out);
            }
        }
        self.in_flight[from].push(item);
    }

    /// Delivers queued segments from `from` that need no evidence.
    fn deliver_ready(&mut self, from: Side, out: &mut Vec<Transition>) {
        while let Some(head) = self.in_flight[from].first().copied() {
            if head.needs_evidence() {
                break;
            }
            pop_front(&mut self.in_flight[from]);
            self.deliver(from, head, out);
        }
    }

    /// Delivers queued segments of `from` that add no new sequence space: their
    /// SYN or FIN already arrived, only their ACK is news.
    fn release_repeats(&mut self, from: Side, out: &mut Vec<Transition>) {
        while let Some(head) = self.in_flight[from].first().copied() {
            let repeat = self.delivered_end[from].is_some_and(|d| head.seq_end <= d);
            if !repeat {
                break;
            }
            pop_front(&mut self.in_flight[from]);
            self.deliver(from, head, out);
        }
    }

    /// `receiver` sent an ACK of `ack`: deliver the queued segments of its
    /// peer that this ACK proves arrived, in order.
    fn deliver_evidenced(&mut self, sender_of_queue: Side, ack: SeqNum, out: &mut Vec<Transition>) {
        let from = sender_of_queue;
        let mut delivered_any = false;
        while let Some(head) = self.in_flight[from].first().copied() {
            if head.needs_evidence() {
                if ack < head.seq_end && ack != head.seq_end {
                    break;
                }
                // A segment that adds no new sequence space (a SYN,ACK
                // repeating a SYN) is not explained by this ACK if another
                // segment was just delivered; it waits for the next one.
                let advances = self.delivered_end[from].is_none_or(|d| head.seq_end > d);
                if !advances && delivered_any {
                    break;
                }
            }
            pop_front(&mut self.in_flight[from]);
            self.deliver(from, head, out);
            delivered_any = true;
        }
    }

    /// The peer of `from` receives `seg`.
    fn deliver(&mut self, from: Side, seg: InFlight, out: &mut Vec<Transition>) {
        let to = from.peer();
        let d = &mut self.delivered_end[from];
        *d = Some(d.map_or(seg.seq_end, |x| x.max_serial(seg.seq_end)));
        let receiver = &mut self.ends[to];
        if seg.syn {
            receiver.peer_syn_received = true;
        }
        if let Some(ack) = seg.ack() {
            if receiver.acks_syn(ack) {
                receiver.syn_acked = true;
            }
            if receiver.acks_fin(ack) {
                receiver.fin_acked = true;
            }
        }
        if seg.fin {
            receiver.peer_fin_received = true;
        }
        receiver.settle(to, out);
    }
}

#[cfg(test)]
mod tests {
    //! smoltcp-style scenario tests. ISNs sit just below 2^32 so every test
    //! crosses the wrap.
    use super::State::*;
    use super::*;

    #[test]
    fn a_history_keeps_the_first_sixteen_states_in_order() {
        let mut h = History::of(State::Listen);
        assert_eq!(h.states().as_slice(), [State::Listen]);
        let more: Vec<State> = State::ALL
            .iter()
            .chain(State::ALL.iter())
            .copied()
            .collect();
        for &s in &more {
            h.push(s);
        }
        let mut want = vec![State::Listen];
        want.extend(&more[..MAX_HISTORY - 1]);
        assert_eq!(h.states().as_slice(), want.as_slice());
        assert_eq!(h.first(), State::Listen);
        assert_eq!(format!("{h:?}"), format!("{want:?}"));
        assert_eq!(std::mem::size_of::<History>(), 9);
    }
    use crate::decode::TcpFlags;
    use std::net::{IpAddr, Ipv4Addr};

    const CLIENT_ISN: SeqNum = SeqNum(u32::MAX - 1);
    const SERVER_ISN: SeqNum = SeqNum(u32::MAX);

    const SEG: Segment = Segment {
        src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        src_port: 0,
        dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        dst_port: 0,
        seq: SeqNum(0),
        ack: SeqNum(0),
        flags: TcpFlags(TcpFlags::ACK),
        window: 1000,
        payload_len: 0,
        wscale: None,
        mss: None,
        ip_len: 40,
        carried: 0,
        payload_cut: false,
        ip_id: 0,
        ttl: 0,
    };

    fn flags(bits: u16) -> TcpFlags {
        TcpFlags(bits)
    }
    const S: u16 = TcpFlags::SYN;
    const A: u16 = TcpFlags::ACK;
    const F: u16 = TcpFlags::FIN;
    const R: u16 = TcpFlags::RST;

    struct Run {
        t: Tracker,
        out: Vec<Transition>,
    }

    impl Run {
        fn opening() -> Run {
            Run {
                t: Tracker::new_opening(),
                out: Vec::new(),
            }
        }
        #[track_caller]
        fn send(&mut self, from: Side, seg: Segment) -> StepOutcome {
            self.t.on_segment(from, &seg, &mut self.out)
        }
        fn states(&self) -> (State, State) {
            (
                self.t.endpoint(Side::Client).state(),
                self.t.endpoint(Side::Server).state(),
            )
        }
        fn history(&self, side: Side) -> Vec<State> {
            self.t.endpoint(side).history().to_vec()
        }
        /// Three-way handshake; returns (client next seq, server next seq).
        fn handshake(&mut self) -> (SeqNum, SeqNum) {
            use Side::*;
            self.send(
                Client,
                Segment {
                    seq: CLIENT_ISN,
                    flags: flags(S),
                    ..SEG
                },
            );
            self.send(
                Server,
                Segment {
                    seq: SERVER_ISN,
                    ack: CLIENT_ISN + 1,
                    flags: flags(S | A),
                    ..SEG
                },
            );
            self.send(
                Client,
                Segment {
                    seq: CLIENT_ISN + 1,
                    ack: SERVER_ISN + 1,
                    ..SEG
                },
            );
            (CLIENT_ISN + 1, SERVER_ISN + 1)
        }
    }

    use Side::{Client, Server};

    #[test]
    fn three_way_handshake() {
        let mut r = Run::opening();
        r.send(
            Client,
            Segment {
                seq: CLIENT_ISN,
                flags: flags(S),
                ..SEG
            },
        );
        assert_eq!(r.states(), (SynSent, Listen));
        r.send(
            Server,
            Segment {
                seq: SERVER_ISN,
                ack: CLIENT_ISN + 1,
                flags: flags(S | A),
                ..SEG
            },
        );
        assert_eq!(
            r.states(),
            (SynSent, SynReceived),
            "client has not shown it received the SYN,ACK yet"
        );
        r.send(
            Client,
            Segment {
                seq: CLIENT_ISN + 1,
                ack: SERVER_ISN + 1,
                ..SEG
            },
        );
        assert_eq!(r.states(), (Established, Established));
        assert_eq!(r.history(Client), vec![Closed, SynSent, Established]);
        assert_eq!(r.history(Server), vec![Listen, SynReceived, Established]);
    }

    #[test]
    fn four_way_release_client_first() {
        let mut r = Run::opening();
        let (c, s) = r.handshake();
        r.send(
            Client,
            Segment {
                seq: c,
                ack: s,
                flags: flags(F | A),
                ..SEG
            },
        );
        assert_eq!(r.states(), (FinWait1, Established));
        r.send(
            Server,
            Segment {
                seq: s,
                ack: c + 1,
                ..SEG
            },
        );
        assert_eq!(r.states(), (FinWait2, CloseWait));
        r.send(
            Server,
            Segment {
                seq: s,
                ack: c + 1,
                flags: flags(F | A),
                ..SEG
            },
        );
        assert_eq!(r.states(), (FinWait2, LastAck));
        r.send(
            Client,
            Segment {
                seq: c + 1,
                ack: s + 1,
                ..SEG
            },
        );
        assert_eq!(r.states(), (TimeWait, Closed));
        assert_eq!(
            r.history(Client),
            vec![Closed, SynSent, Established, FinWait1, FinWait2, TimeWait]
        );
        assert_eq!(
            r.history(Server),
            vec![Listen, SynReceived, Established, CloseWait, LastAck, Closed]
        );
        assert!(r.t.is_finished());
    }

    #[test]
    fn three_segment_close_goes_from_fin_wait_1_to_time_wait() {
        let mut r = Run::opening();
        let (c, s) = r.handshake();
        r.send(
            Client,
            Segment {
                seq: c,
                ack: s,
                flags: flags(F | A),
                ..SEG
            },
        );
        r.send(
            Server,
            Segment {
                seq: s,
                ack: c + 1,
                flags: flags(F | A),
                ..SEG
            },
        );
        assert_eq!(r.states(), (FinWait1, LastAck));
        r.send(
            Client,
            Segment {
                seq: c + 1,
                ack: s + 1,
                ..SEG
            },
        );
        assert_eq!(r.states(), (TimeWait, Closed));
        assert_eq!(r.history(Client)[3..], [FinWait1, TimeWait]);
    }

    #[test]
    fn simultaneous_close_passes_through_closing_on_both_sides() {
        let mut r = Run::opening();
        let (c, s) = r.handshake();
        r.send(
            Client,
            Segment {
                seq: c,
                ack: s,
                flags: flags(F | A),
                ..SEG
            },
        );
        r.send(
            Server,
            Segment {
                seq: s,
                ack: c,
                flags: flags(F | A),
                ..SEG
            },
        ); // crossed
        assert_eq!(r.states(), (FinWait1, FinWait1));
        r.send(
            Client,
            Segment {
                seq: c + 1,
                ack: s + 1,
                ..SEG
            },
        );
        r.send(
            Server,
            Segment {
                seq: s + 1,
                ack: c + 1,
                ..SEG
            },
        );
        assert_eq!(r.states(), (TimeWait, TimeWait));
        for side in [Client, Server] {
            assert_eq!(
                r.history(side)[r.history(side).len() - 3..],
                [FinWait1, Closing, TimeWait]
            );
        }
    }

    #[test]
    fn simultaneous_open_passes_through_syn_received_on_both_sides() {
        let mut r = Run::opening();
        r.send(
            Client,
            Segment {
                seq: CLIENT_ISN,
                flags: flags(S),
                ..SEG
            },
        );
        r.send(
            Server,
            Segment {
                seq: SERVER_ISN,
                flags: flags(S),
                ..SEG
            },
        );
        assert_eq!(r.states(), (SynSent, SynSent));
        r.send(
            Client,
            Segment {
                seq: CLIENT_ISN,
                ack: SERVER_ISN + 1,
                flags: flags(S | A),
                ..SEG
            },
        );
        assert_eq!(r.states(), (SynReceived, SynSent));
        r.send(
            Server,
            Segment {
                seq: SERVER_ISN,
                ack: CLIENT_ISN + 1,
                flags: flags(S | A),
                ..SEG
            },
        );
        // Each SYN,ACK acknowledges the other's SYN: once both are out, both are open.
        assert_eq!(r.states(), (Established, Established));
        for side in [Client, Server] {
            assert_eq!(
                r.history(side),
                vec![Closed, SynSent, SynReceived, Established]
            );
        }
    }

    #[test]
    fn refused_connection_closes_both_and_server_never_listened() {
        let mut r = Run::opening();
        r.send(
            Client,
            Segment {
                seq: CLIENT_ISN,
                flags: flags(S),
                ..SEG
            },
        );
        let o = r.send(
            Server,
            Segment {
                seq: SeqNum(0),
                ack: CLIENT_ISN + 1,
                flags: flags(R | A),
                window: 0,
                ..SEG
            },
        );
        assert_eq!(o.rst_accepted, Some(true));
        assert_eq!(r.states(), (Closed, Closed));
        assert_eq!(r.history(Server), vec![Closed]);
        assert_eq!(r.history(Client), vec![Closed, SynSent, Closed]);
    }

    #[test]
    fn lost_syn_ack_keeps_client_in_syn_sent_until_it_acks() {
        let mut r = Run::opening();
        r.send(
            Client,
            Segment {
                seq: CLIENT_ISN,
                flags: flags(S),
                ..SEG
            },
        );
        r.send(
            Server,
            Segment {
                seq: SERVER_ISN,
                ack: CLIENT_ISN + 1,
                flags: flags(S | A),
                ..SEG
            },
        );
        r.send(
            Client,
            Segment {
                seq: CLIENT_ISN,
                flags: flags(S),
                ..SEG
            },
        ); // SYN retransmitted
        r.send(
            Server,
            Segment {
                seq: SERVER_ISN,
                ack: CLIENT_ISN + 1,
                flags: flags(S | A),
                ..SEG
            },
        );
        assert_eq!(r.states(), (SynSent, SynReceived));
        r.send(
            Client,
            Segment {
                seq: CLIENT_ISN + 1,
                ack: SERVER_ISN + 1,
                ..SEG
            },
        );
        assert_eq!(r.states(), (Established, Established));
        assert_eq!(r.history(Client), vec![Closed, SynSent, Established]);
    }

    #[test]
    fn half_close_with_data_after_fin() {
        let mut r = Run::opening();
        let (c, s) = r.handshake();
        r.send(
            Client,
            Segment {
                seq: c,
                ack: s,
                flags: flags(F | A),
                ..SEG
            },
        );
        r.send(
            Server,
            Segment {
                seq: s,
                ack: c + 1,
                payload_len: 100,
                ..SEG
            },
        );
        assert_eq!(r.states(), (FinWait2, CloseWait));
        r.send(
            Client,
            Segment {
                seq: c + 1,
                ack: s + 100,
                ..SEG
            },
        );
        r.send(
            Server,
            Segment {
                seq: s + 100,
                ack: c + 1,
                payload_len: 100,
                ..SEG
            },
        );
        assert_eq!(r.states(), (FinWait2, CloseWait));
        r.send(
            Server,
            Segment {
                seq: s + 200,
                ack: c + 1,
                flags: flags(F | A),
                ..SEG
            },
        );
        r.send(
            Client,
            Segment {
                seq: c + 1,
                ack: s + 201,
                ..SEG
            },
        );
        assert_eq!(r.states(), (TimeWait, Closed));
    }

    #[test]
    fn rst_outside_the_window_is_ignored() {
        let mut r = Run::opening();
        let (c, s) = r.handshake();
        // Neither SYN had a window scale, so the server's window is 1000
        // bytes from c: a RST far beyond it is not acceptable.
        let o = r.send(
            Client,
            Segment {
                seq: c + 50_000,
                flags: flags(R),
                ..SEG
            },
        );
        assert_eq!(o.rst_accepted, Some(false));
        assert!(!o.rst_closed);
        // The ignored RST changes no state, not even its sender's.
        assert_eq!(r.states(), (Established, Established));
        let _ = s;
    }

    #[test]
    fn rst_abort_in_window_closes_both() {
        let mut r = Run::opening();
        let (c, s) = r.handshake();
        let o = r.send(
            Client,
            Segment {
                seq: c,
                ack: s,
                flags: flags(R | A),
                ..SEG
            },
        );
        assert_eq!(o.rst_accepted, Some(true));
        assert_eq!(r.states(), (Closed, Closed));
        assert!(r.t.is_finished());
    }

    #[test]
    fn rst_from_syn_sent_rejects_a_bad_syn_ack_without_closing() {
        let mut r = Run::opening();
        r.send(
            Client,
            Segment {
                seq: CLIENT_ISN,
                flags: flags(S),
                ..SEG
            },
        );
        // A SYN-ACK acknowledging the wrong number: the client answers RST seq=ack.
        r.send(
            Server,
            Segment {
                seq: SERVER_ISN,
                ack: CLIENT_ISN,
                flags: flags(S | A),
                ..SEG
            },
        );
        let o = r.send(
            Client,
            Segment {
                seq: CLIENT_ISN,
                flags: flags(R),
                ..SEG
            },
        );
        assert!(!o.rst_closed);
        assert_eq!(r.states().0, SynSent, "the connection attempt goes on");
        // The client retries; the server now answers correctly.
        r.send(
            Client,
            Segment {
                seq: CLIENT_ISN,
                flags: flags(S),
                ..SEG
            },
        );
        r.send(
            Server,
            Segment {
                seq: SERVER_ISN,
                ack: CLIENT_ISN + 1,
                flags: flags(S | A),
                ..SEG
            },
        );
        r.send(
            Client,
            Segment {
                seq: CLIENT_ISN + 1,
                ack: SERVER_ISN + 1,
                ..SEG
            },
        );
        assert_eq!(r.states(), (Established, Established));
    }

    #[test]
    fn rst_from_syn_sent_at_isn_plus_one_gives_the_attempt_up() {
        let mut r = Run::opening();
        r.send(
            Client,
            Segment {
                seq: CLIENT_ISN,
                flags: flags(S),
                ..SEG
            },
        );
        r.send(
            Server,
            Segment {
                seq: SERVER_ISN,
                ack: CLIENT_ISN + 1,
                flags: flags(S | A),
                ..SEG
            },
        );
        // The client gave up before the SYN-ACK arrived: RST seq=ISN+1.
        let o = r.send(
            Client,
            Segment {
                seq: CLIENT_ISN + 1,
                flags: flags(R),
                ..SEG
            },
        );
        assert!(o.rst_closed);
        assert_eq!(r.states(), (Closed, Listen));
        // A later ACK from the client does not complete the handshake.
        r.send(
            Client,
            Segment {
                seq: CLIENT_ISN + 1,
                ack: SERVER_ISN + 1,
                ..SEG
            },
        );
        assert_eq!(r.states(), (Closed, Listen));
    }

    #[test]
    fn midstream_connection_starts_established() {
        let mut r = Run {
            t: Tracker::new_midstream(),
            out: Vec::new(),
        };
        let (c, s) = (SeqNum(5), SeqNum(9));
        r.send(
            Server,
            Segment {
                seq: s,
                ack: c,
                flags: flags(F | A),
                ..SEG
            },
        );
        r.send(
            Client,
            Segment {
                seq: c,
                ack: s + 1,
                flags: flags(F | A),
                ..SEG
            },
        );
        r.send(
            Server,
            Segment {
                seq: s + 1,
                ack: c + 1,
                ..SEG
            },
        );
        assert_eq!(r.states(), (Closed, TimeWait));
        assert_eq!(r.history(Server), vec![Established, FinWait1, TimeWait]);
        assert_eq!(
            r.history(Client),
            vec![Established, CloseWait, LastAck, Closed]
        );
    }
}
