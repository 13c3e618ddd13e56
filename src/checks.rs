//! The per-segment checks: each deviation from the three-way handshake, the
//! release and the sequence arithmetic seen in one segment becomes a
//! [`Finding`] that names its frames and its rule (see [`crate::rules`]).
//!
//! [`Checker::on_segment`] runs as segments arrive, on what it is told about
//! each ([`SegmentContext`]); it knows nothing of the connection around it.
//! A check that fires repeatedly (retransmissions, duplicate ACKs…) gives
//! one finding with a count. The checks about how the connection ended run
//! once it is done, in [`crate::verdict`], from what the checker recorded.

use crate::decode::Segment;
use crate::rules::Check;
use crate::seq::SeqNum;
use crate::state::{Side, State};
use crate::wireshark::SegFlags;
use arrayvec::ArrayVec;
use std::num::NonZeroU64;

/// Frames listed per finding at most; `count` has the total.
pub const MAX_FRAMES: usize = 20;
/// Send times remembered per side for back-off intervals.
pub const MAX_TIMES: usize = 4;

/// One finding about one connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub check: Check,
    /// What happened, with the numbers (the first occurrence when repeated).
    pub message: String,
    /// Frames involved, ascending, at most [`MAX_FRAMES`].
    pub frames: Vec<u64>,
    /// How many times the check fired.
    pub count: u64,
}

/// What the checks need to know about one segment, beyond the segment itself.
#[derive(Debug, Clone, Copy)]
pub struct SegmentContext {
    pub side: Side,
    /// The segment's frame number and capture time.
    pub frame: u64,
    pub ts_ns: i64,
    pub analysis: SegFlags,
    /// States of the sender and the receiver before this segment.
    pub sender_before: State,
    pub receiver_before: State,
    /// The sender's FIN sequence number before this segment, if it had sent one.
    pub fin_before: Option<SeqNum>,
    /// Both sides had finished before this segment.
    pub finished_before: bool,
    /// For a RST: whether its receiver accepted it, and whether it closed a side.
    pub rst_accepted: Option<bool>,
    pub rst_closed: bool,
    pub client_isn: Option<SeqNum>,
    pub server_isn: Option<SeqNum>,
    /// A SYN-ACK from the server had been seen before this segment.
    pub syn_ack_seen: bool,
    /// The server sent a bare SYN (simultaneous open).
    pub simultaneous_open: bool,
}

/// The frames and capture times at which one side sent its opening segment
/// (the client's SYNs, or the server's SYN-ACKs), at most [`MAX_TIMES`].
/// Repeats are rare, so they live in a box made at the first repeat; the
/// first send is kept inline in 16 bytes (frame numbers start at 1).
#[derive(Debug, Clone, Default)]
pub struct Sends {
    first: Option<(NonZeroU64, i64)>,
    repeats: Option<Box<ArrayVec<(u64, i64), { MAX_TIMES - 1 }>>>,
}

impl Sends {
    fn push(&mut self, frame: u64, ts_ns: i64) {
        if self.first.is_none() {
            self.first = NonZeroU64::new(frame).map(|f| (f, ts_ns));
            return;
        }
        let repeats = self.repeats.get_or_insert_with(Box::default);
        if !repeats.is_full() {
            repeats.push((frame, ts_ns));
        }
    }

    /// (frame, capture time) of each send remembered, in order.
    pub fn list(&self) -> ArrayVec<(u64, i64), MAX_TIMES> {
        let first = self.first.map(|(f, t)| (f.get(), t));
        let repeats = self.repeats.iter().flat_map(|r| r.iter().copied());
        first.into_iter().chain(repeats).collect()
    }
}

/// The findings of one connection, as they accumulate.
#[derive(Debug, Clone, Default)]
pub struct Checker {
    findings: Vec<Finding>,
    third_ack_checked: bool,
    syn_times: Sends,
    /// Payload carried by the client's SYN (TCP Fast Open).
    syn_data: u32,
    syn_ack_times: Sends,
    /// The first RST that ended the connection: sender and its state then.
    abort: Option<(Side, State)>,
}

fn side_name(s: Side) -> &'static str {
    s.as_str()
}

impl Checker {
    /// The findings so far, in the order their checks first fired.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// When the client sent its bare SYNs.
    pub fn syn_sends(&self) -> &Sends {
        &self.syn_times
    }

    /// When the server sent its SYN-ACKs.
    pub fn syn_ack_sends(&self) -> &Sends {
        &self.syn_ack_times
    }

    /// The side whose RST ended the connection, and its state when it sent it.
    pub fn abort(&self) -> Option<(Side, State)> {
        self.abort
    }

    /// Records one occurrence of `check` at `frame`; `message` describes it
    /// and is kept for the first occurrence only.
    fn note(&mut self, check: Check, frame: u64, message: impl FnOnce() -> String) {
        if let Some(f) = self.findings.iter_mut().find(|f| f.check == check) {
            f.count += 1;
            if f.frames.len() < MAX_FRAMES && f.frames.last() != Some(&frame) {
                f.frames.push(frame);
            }
        } else {
            self.findings.push(Finding {
                check,
                message: message(),
                frames: vec![frame],
                count: 1,
            });
        }
    }

    pub fn on_segment(&mut self, seg: &Segment, cx: &SegmentContext) {
        let f = seg.flags;
        let frame = cx.frame;
        let who = side_name(cx.side);

        if f.syn() && f.fin() {
            self.note(Check::SynFin, frame, || {
                format!("frame {frame}: the {who} sent a segment with both SYN and FIN")
            });
        }
        if f.syn() && f.rst() {
            self.note(Check::SynRst, frame, || {
                format!("frame {frame}: the {who} sent a segment with both SYN and RST")
            });
        }
        if f.syn() && seg.payload_len > 0 {
            let len = seg.payload_len;
            self.note(Check::SynData, frame, || {
                format!("frame {frame}: the {who}'s SYN carries {len} bytes of data")
            });
        }
        if f.syn() && !f.ack() && cx.side == Side::Client {
            self.syn_data = self.syn_data.max(seg.payload_len);
            self.syn_times.push(frame, cx.ts_ns);
        }
        // With data on the SYN (RFC 7413) the SYN-ACK may acknowledge the data
        // too, and the client's next segment then starts after it.
        let syn_data = self.syn_data;
        let after_syn = |isn: SeqNum| [isn + 1, isn + 1 + syn_data];
        if f.syn() && f.ack() && cx.side == Side::Server {
            self.syn_ack_times.push(frame, cx.ts_ns);
            // HS001: the SYN-ACK must acknowledge client ISN + 1.
            if let Some(isn) = cx.client_isn {
                if !after_syn(isn).contains(&seg.ack) {
                    let ack = seg.ack;
                    self.note(Check::SynAckBadAck, frame, || {
                        format!(
                            "frame {frame}: SYN-ACK ack={ack}, but the client's ISN is {isn}, so it should be {} (= {isn} + 1)",
                            isn + 1
                        )
                    });
                }
            }
        }
        // HS002/HS003: the client's first ACK after the SYN-ACK.
        if cx.side == Side::Client
            && f.ack()
            && !f.syn()
            && !f.rst()
            && cx.syn_ack_seen
            && !cx.simultaneous_open
            && !self.third_ack_checked
        {
            self.third_ack_checked = true;
            if let Some(server_isn) = cx.server_isn {
                if seg.ack != server_isn + 1 {
                    let ack = seg.ack;
                    self.note(Check::ThirdAckBadAck, frame, || {
                        format!(
                            "frame {frame}: the third ACK has ack={ack}, but the server's ISN is \
                             {server_isn}, so it should be {} (= {server_isn} + 1)",
                            server_isn + 1
                        )
                    });
                }
            }
            if let Some(client_isn) = cx.client_isn {
                if !after_syn(client_isn).contains(&seg.seq) {
                    let seq = seg.seq;
                    self.note(Check::ThirdAckBadSeq, frame, || {
                        format!(
                            "frame {frame}: the third ACK has seq={seq}, but the client's SYN used \
                             {client_isn}, so it should be {} (= {client_isn} + 1)",
                            client_isn + 1
                        )
                    });
                }
            }
        }
        // RL002 / RL003: after the sender's own FIN.
        if let Some(fin) = cx.fin_before {
            if seg.payload_len > 0 && seg.seq + seg.payload_len > fin {
                let (seq, len) = (seg.seq, seg.payload_len);
                self.note(Check::DataAfterFin, frame, || {
                    format!(
                        "frame {frame}: the {who} sent {len} bytes at seq={seq} \
                         after its FIN at seq={fin}"
                    )
                });
            }
            if f.fin() && seg.seq + seg.payload_len == fin {
                self.note(Check::FinRetransmitted, frame, || {
                    format!("frame {frame}: the {who} sent its FIN (seq={fin}) again")
                });
            }
        }
        if f.rst() {
            match cx.rst_accepted {
                Some(false) if is_synchronized(cx.receiver_before) => {
                    let (seq, state) = (seg.seq, cx.receiver_before);
                    let peer = side_name(cx.side.peer());
                    self.note(Check::RstOutOfWindow, frame, || {
                        format!(
                            "frame {frame}: RST from the {who} with seq={seq} is outside the \
                             {peer}'s receive window; the {peer} ({state}) ignores it"
                        )
                    });
                }
                _ if cx.rst_closed && self.abort.is_none() => {
                    self.abort = Some((cx.side, cx.sender_before))
                }
                _ => {}
            }
        }
        if cx.finished_before {
            let flags = seg.flags;
            self.note(Check::SegmentsAfterClose, frame, || {
                format!("frame {frame}: the {who} sent {flags} after both sides had closed")
            });
        }
        self.note_analysis(seg, cx);
    }

    /// The data-phase checks, from Wireshark-style analysis flags.
    fn note_analysis(&mut self, seg: &Segment, cx: &SegmentContext) {
        let a = cx.analysis;
        if a.is_empty() {
            return;
        }
        let frame = cx.frame;
        let who = side_name(cx.side);
        let (seq, len, ack) = (seg.seq, seg.payload_len, seg.ack);
        // SYN and FIN retransmissions have their own checks.
        if a.is_retransmission() && !seg.flags.syn() && !(seg.flags.fin() && len == 0) {
            let kind = if a.has(SegFlags::FAST_RETRANSMISSION) {
                "fast retransmission"
            } else if a.has(SegFlags::SPURIOUS_RETRANSMISSION) {
                "spurious retransmission (already acknowledged)"
            } else {
                "retransmission"
            };
            self.note(Check::Retransmission, frame, || {
                format!("frame {frame}: {kind} by the {who} of {len} bytes at seq={seq}")
            });
        }
        let simple = [
            (
                SegFlags::OUT_OF_ORDER,
                Check::OutOfOrder,
                "arrived out of order",
            ),
            (
                SegFlags::LOST_SEGMENT,
                Check::LostSegment,
                "follows a gap: the previous segment was not captured",
            ),
            (
                SegFlags::ACKED_UNSEEN,
                Check::AckedUnseen,
                "acknowledges data that was not captured",
            ),
            (SegFlags::DUP_ACK, Check::DupAck, "is a duplicate ACK"),
            (
                SegFlags::ZERO_WINDOW,
                Check::ZeroWindow,
                "advertises a zero window",
            ),
            (
                SegFlags::ZERO_WINDOW_PROBE,
                Check::ZeroWindowProbe,
                "probes a zero window",
            ),
            (SegFlags::KEEP_ALIVE, Check::KeepAlive, "is a keep-alive"),
            (
                SegFlags::WINDOW_FULL,
                Check::WindowFull,
                "fills the receiver's window",
            ),
        ];
        for (bit, check, what) in simple {
            if a.has(bit) {
                self.note(check, frame, || format!("frame {frame}: the {who}'s segment (seq={seq}, ack={ack}, len={len}) {what}"));
            }
        }
    }
}

fn is_synchronized(s: State) -> bool {
    !matches!(s, State::Closed | State::Listen | State::SynSent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_keep_the_first_inline_and_at_most_max_times() {
        let mut sends = Sends::default();
        assert!(sends.list().is_empty());
        sends.push(7, 1_000);
        assert!(sends.repeats.is_none(), "no box for a single send");
        assert_eq!(sends.list().as_slice(), [(7, 1_000)]);
        for (i, frame) in (8..14u64).enumerate() {
            sends.push(frame, 2_000 * (i as i64 + 1));
        }
        assert_eq!(
            sends.list().as_slice(),
            [(7, 1_000), (8, 2_000), (9, 4_000), (10, 6_000)]
        );
        assert_eq!(sends.list().len(), MAX_TIMES);
    }
}
