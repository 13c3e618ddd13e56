//! Wireshark's view of a connection: per-direction sequence analysis in
//! the manner of its TCP analysis (`tcp.analysis.*`): retransmissions,
//! out-of-order segments, segments the capture missed, duplicate ACKs, zero
//! windows, keep-alives, window updates and full windows; and the bits of
//! its conversation completeness (`tcp.completeness`).
//!
//! The rules and their order follow Wireshark's `tcp_analyze_sequence_number`
//! so that users comparing with tshark see the same frames flagged;
//! `tests/tshark_agreement.rs` holds every capture in testdata/ to that.

use crate::decode::Segment;
use crate::seq::SeqNum;
use crate::state::Side;
use std::fmt;

/// Analysis flags of one segment (a small bit set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct SegFlags(pub u16);

impl SegFlags {
    pub const RETRANSMISSION: u16 = 1 << 0;
    pub const FAST_RETRANSMISSION: u16 = 1 << 1;
    pub const SPURIOUS_RETRANSMISSION: u16 = 1 << 2;
    pub const OUT_OF_ORDER: u16 = 1 << 3;
    pub const LOST_SEGMENT: u16 = 1 << 4;
    pub const ACKED_UNSEEN: u16 = 1 << 5;
    pub const DUP_ACK: u16 = 1 << 6;
    pub const ZERO_WINDOW: u16 = 1 << 7;
    pub const ZERO_WINDOW_PROBE: u16 = 1 << 8;
    pub const KEEP_ALIVE: u16 = 1 << 9;
    pub const KEEP_ALIVE_ACK: u16 = 1 << 10;
    pub const WINDOW_UPDATE: u16 = 1 << 11;
    pub const WINDOW_FULL: u16 = 1 << 12;
    pub const ZERO_WINDOW_PROBE_ACK: u16 = 1 << 13;

    /// Names as in Wireshark's `tcp.analysis.<name>` fields.
    pub const NAMES: [(u16, &'static str); 14] = [
        (Self::RETRANSMISSION, "retransmission"),
        (Self::FAST_RETRANSMISSION, "fast_retransmission"),
        (Self::SPURIOUS_RETRANSMISSION, "spurious_retransmission"),
        (Self::OUT_OF_ORDER, "out_of_order"),
        (Self::LOST_SEGMENT, "lost_segment"),
        (Self::ACKED_UNSEEN, "ack_lost_segment"),
        (Self::DUP_ACK, "duplicate_ack"),
        (Self::ZERO_WINDOW, "zero_window"),
        (Self::ZERO_WINDOW_PROBE, "zero_window_probe"),
        (Self::KEEP_ALIVE, "keep_alive"),
        (Self::KEEP_ALIVE_ACK, "keep_alive_ack"),
        (Self::WINDOW_UPDATE, "window_update"),
        (Self::WINDOW_FULL, "window_full"),
        (Self::ZERO_WINDOW_PROBE_ACK, "zero_window_probe_ack"),
    ];

    pub fn has(self, bit: u16) -> bool {
        self.0 & bit != 0
    }
    fn set(&mut self, bit: u16) {
        self.0 |= bit;
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// Any kind of retransmission (plain, fast or spurious).
    pub fn is_retransmission(self) -> bool {
        self.has(Self::RETRANSMISSION | Self::FAST_RETRANSMISSION | Self::SPURIOUS_RETRANSMISSION)
    }
}

impl fmt::Display for SegFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Self::NAMES
            .iter()
            .filter(|(b, _)| self.has(*b))
            .map(|(_, n)| *n)
            .collect();
        f.write_str(&names.join(","))
    }
}

/// What is known of one direction (Wireshark's `tcp_flow_t`).
#[derive(Debug, Clone, Copy, Default)]
struct Flow {
    /// The sequence number expected next: the highest seq_end seen.
    next_seq: Option<SeqNum>,
    /// The highest sequence number the other side may acknowledge.
    max_seq_to_be_acked: Option<SeqNum>,
    /// Last acknowledgement number and window (scaled when the scale is known) sent.
    last_ack: Option<SeqNum>,
    /// At most 65,535 << 14, so it fits 32 bits.
    window: Option<u32>,
    /// Time of the last acknowledgement, and of the segment that last advanced `next_seq`.
    last_ack_ts: i64,
    next_seq_ts: i64,
    /// Duplicate ACKs in a row; -1 after an ACKed-lost signal, as in
    /// Wireshark, so the same hole is reported once until the ACK moves.
    dup_acks: i32,
    last_flags: SegFlags,
    /// This direction's window scale as an earlier connection of the same
    /// 4-tuple (tshark's same stream) negotiated it, for a connection opened
    /// without a SYN (`conntable/ended.rs`): used while the connection's own
    /// handshake does not tell. In what was padding.
    carried_shift: Option<u8>,
}

/// Wireshark's default out-of-order threshold when no RTT is known.
const OOO_THRESHOLD_NS: i64 = 3_000_000;
/// A retransmission this soon after dup ACKs is a fast retransmission.
const FAST_RETRANS_NS: i64 = 20_000_000;

/// The sequence analysis of one connection.
#[derive(Debug, Clone, Default)]
pub struct SeqAnalysis {
    flows: [Flow; 2],
    /// Time of the most recent bare SYN (Wireshark's `ts_mru_syn`).
    mru_syn_ns: Option<i64>,
    /// Handshake round-trip time (`tcp.analysis.initial_rtt`), used as the
    /// out-of-order threshold; always above zero (so 8 bytes).
    first_rtt_ns: Option<std::num::NonZeroI64>,
}

impl SeqAnalysis {
    /// The same analysis with the two directions exchanged (for a
    /// connection whose client is the other end).
    pub fn swapped(&self) -> SeqAnalysis {
        let [a, b] = self.flows;
        SeqAnalysis {
            flows: [b, a],
            ..self.clone()
        }
    }

    /// The sequence number `side` has sent up to (the highest end of its
    /// segments) and when the segment that reached it was seen.
    pub fn sent_up_to(&self, side: Side) -> Option<(SeqNum, i64)> {
        let flow = &self.flows[side as usize];
        flow.next_seq.map(|n| (n, flow.next_seq_ts))
    }

    /// Keeps each direction's window scale (`[client, server]`), for the
    /// analysis to go on in a connection opened without a SYN.
    pub fn carry_window_shifts(&mut self, shifts: [Option<u8>; 2]) {
        for (flow, known) in self.flows.iter_mut().zip(shifts) {
            flow.carried_shift = known.or(flow.carried_shift);
        }
    }

    /// Wireshark's initial RTT: from the most recent bare SYN (the one that
    /// was answered, when it was sent again) to the first segment with ACK
    /// and without SYN, in either direction (the handshake's third ACK); a
    /// zero delta leaves it unset, to be taken again.
    fn note_initial_rtt(&mut self, seg: &Segment, ts_ns: i64) {
        let f = seg.flags;
        if f.syn() && !f.ack() {
            self.mru_syn_ns = Some(ts_ns);
        } else if !f.syn() && f.ack() && self.first_rtt_ns.is_none() {
            if let Some(syn) = self.mru_syn_ns {
                let rtt = ts_ns.saturating_sub(syn);
                self.first_rtt_ns = std::num::NonZeroI64::new(rtt).filter(|_| rtt > 0);
            }
        }
    }

    /// Analyzes one segment sent by `from`; `shift` is the window scale of
    /// that side's advertisements (None when unknown).
    pub fn on_segment(
        &mut self,
        from: Side,
        seg: &Segment,
        ts_ns: i64,
        shift: Option<u8>,
    ) -> SegFlags {
        let shift = shift.or(self.flows[from as usize].carried_shift);
        self.note_initial_rtt(seg, ts_ns);
        let [client, server] = &mut self.flows;
        let (fwd, rev) = match from {
            Side::Client => (client, server),
            Side::Server => (server, client),
        };
        let mut flags = SegFlags::default();
        let f = seg.flags;
        let control = f.syn() || f.fin() || f.rst();
        let seglen = seg.payload_len;
        let seq = seg.seq;
        let ack = seg.ack;
        let window = u32::from(seg.window) << shift.unwrap_or(0).min(14);

        // ZERO WINDOW PROBE: one byte at the next seq into a zero window.
        let zwp = seglen == 1 && fwd.next_seq == Some(seq) && rev.window == Some(0);
        if zwp {
            flags.set(SegFlags::ZERO_WINDOW_PROBE);
        } else {
            // ZERO WINDOW: advertising a zero window.
            if seg.window == 0 && !control {
                flags.set(SegFlags::ZERO_WINDOW);
            }
            // LOST SEGMENT: a gap before this segment.
            if fwd.next_seq.is_some_and(|n| seq > n) && !f.rst() {
                flags.set(SegFlags::LOST_SEGMENT);
            }
        }
        // KEEP ALIVE: 0 or 1 byte at next_seq - 1.
        if seglen <= 1 && !control && fwd.next_seq.is_some_and(|n| seq + 1 == n) {
            flags.set(SegFlags::KEEP_ALIVE);
        }
        let same_position = seglen == 0
            && !control
            && fwd.next_seq == Some(seq)
            && fwd.last_ack == Some(ack)
            && f.ack();
        // WINDOW UPDATE: only the window changed.
        if same_position && window != 0 && fwd.window.is_some_and(|w| w != window) {
            flags.set(SegFlags::WINDOW_UPDATE);
        }
        // WINDOW FULL: the segment fills the receiver's advertised window.
        if seglen > 0 && !control && shift.is_some() {
            if let (Some(rack), Some(rwin)) = (rev.last_ack, rev.window) {
                if rwin > 0 && seg.seq_end() - rack == rwin {
                    flags.set(SegFlags::WINDOW_FULL);
                }
            }
        }
        let same_window = fwd.window == Some(window);
        if same_position && same_window && window != 0 && rev.last_flags.has(SegFlags::KEEP_ALIVE) {
            // KEEP ALIVE ACK.
            flags.set(SegFlags::KEEP_ALIVE_ACK);
        } else if same_position
            && same_window
            && window == 0
            && rev.last_flags.has(SegFlags::ZERO_WINDOW_PROBE)
        {
            // ZERO WINDOW PROBE ACK.
            flags.set(SegFlags::ZERO_WINDOW_PROBE_ACK);
        } else if same_position && same_window && window != 0 && !flags.has(SegFlags::WINDOW_UPDATE)
        {
            // DUPLICATE ACK: nothing new at all.
            fwd.dup_acks = fwd.dup_acks.saturating_add(1);
            flags.set(SegFlags::DUP_ACK);
        }
        // ACKED UNSEEN: acknowledging data the capture never showed.
        if f.ack() && rev.max_seq_to_be_acked.is_some_and(|m| ack > m) {
            match (rev.max_seq_to_be_acked, rev.next_seq) {
                (Some(m), Some(n)) if m > n => {
                    // Not again for the same hole.
                    rev.max_seq_to_be_acked = Some(n);
                    flags.set(SegFlags::ACKED_UNSEEN);
                }
                _ => {
                    // The other side is stalled: signal once until its ACK moves.
                    if rev.dup_acks == 0 {
                        flags.set(SegFlags::ACKED_UNSEEN);
                    }
                    rev.dup_acks = -1;
                }
            }
        }
        // RETRANSMISSION, FAST RETRANSMISSION, OUT-OF-ORDER, SPURIOUS.
        let occupies = seglen > 0 || f.syn() || f.fin();
        if occupies && !flags.has(SegFlags::KEEP_ALIVE) {
            let mut not_advanced = fwd.next_seq.is_some_and(|n| seq < n);
            // More than one byte just below next_seq is new data after a
            // possible zero-window probe, not a retransmission.
            if seglen > 1 && fwd.next_seq.is_some_and(|n| seq + 1 == n) {
                not_advanced = false;
            }
            let since_dup_acks = ts_ns.saturating_sub(rev.last_ack_ts);
            let since_advance = ts_ns.saturating_sub(fwd.next_seq_ts);
            let ooo = self.first_rtt_ns.map_or(OOO_THRESHOLD_NS, |rtt| rtt.get());
            if seglen > 0 && rev.last_ack.is_some_and(|a| seq + seglen <= a) {
                // SPURIOUS: the data was already acknowledged. Wireshark
                // marks it as a retransmission too.
                flags.set(SegFlags::SPURIOUS_RETRANSMISSION | SegFlags::RETRANSMISSION);
            } else if not_advanced
                && rev.dup_acks >= 2
                && rev.last_ack == Some(seq)
                && since_dup_acks < FAST_RETRANS_NS
            {
                // Wireshark marks a fast retransmission as a retransmission too.
                flags.set(SegFlags::FAST_RETRANSMISSION | SegFlags::RETRANSMISSION);
            } else if not_advanced && since_advance < ooo && fwd.next_seq != Some(seg.seq_end()) {
                flags.set(SegFlags::OUT_OF_ORDER);
            } else if not_advanced {
                flags.set(SegFlags::RETRANSMISSION);
            }
        }

        // Update what is known of this direction. A zero-window probe does
        // not advance next_seq; 'max seq to be acked' advances only while the
        // stream is continuous, so an ACK beyond a hole is noticed.
        if !flags.has(SegFlags::ZERO_WINDOW_PROBE) {
            let end = seg.seq_end();
            if fwd.next_seq.is_none_or(|n| end > n) {
                fwd.next_seq = Some(end);
                fwd.next_seq_ts = ts_ns;
            }
            if fwd.max_seq_to_be_acked.is_none_or(|m| m == seq) {
                fwd.max_seq_to_be_acked = fwd.next_seq;
            }
        }
        if f.ack() {
            if fwd.last_ack != Some(ack) {
                fwd.dup_acks = 0;
            }
            fwd.last_ack = Some(ack);
            fwd.last_ack_ts = ts_ns;
        }
        fwd.window = Some(window);
        fwd.last_flags = flags;
        flags
    }
}

/// Wireshark's conversation completeness bits for one segment: SYN 1,
/// SYN-ACK 2, ACK 4 (an ACK without payload), DATA 8, FIN 16, RST 32.
pub fn completeness_bits(seg: &Segment) -> u8 {
    let f = seg.flags;
    // A SYN counts as SYN or SYN-ACK (not as an ACK), and as data if it
    // carries some (TCP Fast Open), whatever else it carries.
    if f.syn() {
        let syn = if f.ack() { 2 } else { 1 };
        return if seg.payload_len > 0 { syn | 8 } else { syn };
    }
    let mut bits = 0;
    if f.ack() && seg.payload_len == 0 {
        bits |= 4;
    }
    if seg.payload_len > 0 {
        bits |= 8;
    }
    if f.fin() {
        bits |= 16;
    }
    if f.rst() {
        bits |= 32;
    }
    bits
}
