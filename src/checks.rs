//! The checks: each deviation from the three-way handshake, the release and
//! the sequence arithmetic becomes a [`Finding`] that names its frames and
//! its rule (see [`crate::rules`]).
//!
//! Per-segment checks run as segments arrive ([`Checker::on_segment`]);
//! checks about how the connection ended run once it is done
//! ([`Checker::finish`]). A check that fires repeatedly (retransmissions,
//! duplicate ACKs…) gives one finding with a count.

use crate::analysis::SegFlags;
use crate::classify::{self, HandshakeStatus, TeardownStatus};
use crate::decode::Segment;
use crate::flow::{At, Connection};
use crate::rules::Check;
use crate::seq::SeqNum;
use crate::state::{Side, State};
use arrayvec::ArrayVec;
use std::num::NonZeroU64;

/// Frames listed per finding at most; `count` has the total.
pub const MAX_FRAMES: usize = 20;
/// Send times remembered per side for back-off intervals.
const MAX_TIMES: usize = 4;

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
    pub at: At,
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

impl Finding {
    /// A finding without frames or message.
    fn counted(check: Check, count: u64) -> Finding {
        Finding {
            check,
            message: String::new(),
            frames: Vec::new(),
            count,
        }
    }
}

/// How much of each finding [`Checker::finish`] builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// The check and its count: what the summary counts. Frames and
    /// message are left empty, so that a connection whose report nobody
    /// wants costs no formatting.
    Counts,
    /// Frames and message too: what a report shows.
    Full,
}

/// The findings [`Checker::finish`] collects.
struct Found {
    detail: Detail,
    findings: Vec<Finding>,
}

impl Found {
    /// Adds a finding; its frames and message are made only for [`Detail::Full`].
    fn add(
        &mut self,
        check: Check,
        count: u64,
        frames: impl FnOnce() -> Vec<u64>,
        message: impl FnOnce() -> String,
    ) {
        self.findings.push(match self.detail {
            Detail::Full => Finding {
                check,
                message: message(),
                frames: frames(),
                count,
            },
            Detail::Counts => Finding::counted(check, count),
        });
    }
}

/// The frames and capture times at which one side sent its opening segment
/// (the client's SYNs, or the server's SYN-ACKs), at most [`MAX_TIMES`].
/// Repeats are rare, so they live in a box made at the first repeat; the
/// first send is kept inline in 16 bytes (frame numbers start at 1).
#[derive(Debug, Clone, Default)]
struct Sends {
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

    fn list(&self) -> ArrayVec<(u64, i64), MAX_TIMES> {
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
        let frame = cx.at.frame;
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
            self.syn_times.push(frame, cx.at.ts_ns);
        }
        // With data on the SYN (RFC 7413) the SYN-ACK may acknowledge the data
        // too, and the client's next segment then starts after it.
        let syn_data = self.syn_data;
        let after_syn = |isn: SeqNum| [isn + 1, isn + 1 + syn_data];
        if f.syn() && f.ack() && cx.side == Side::Server {
            self.syn_ack_times.push(frame, cx.at.ts_ns);
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
                            "frame {frame}: the third ACK has ack={ack}, but the server's ISN is {server_isn}, so it should be {} (= {server_isn} + 1)",
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
                            "frame {frame}: the third ACK has seq={seq}, but the client's SYN used {client_isn}, so it should be {} (= {client_isn} + 1)",
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
                    format!("frame {frame}: the {who} sent {len} bytes at seq={seq} after its FIN at seq={fin}")
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
                        format!("frame {frame}: RST from the {who} with seq={seq} is outside the {peer}'s receive window; the {peer} ({state}) ignores it")
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
        let frame = cx.at.frame;
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

    /// The checks about the connection as a whole; returns every finding,
    /// ordered by first frame, then code, with as much of each as `detail` asks.
    pub fn finish(&self, c: &Connection, detail: Detail) -> Vec<Finding> {
        let mut found = Found {
            detail,
            findings: match detail {
                Detail::Full => self.findings.clone(),
                Detail::Counts => self
                    .findings
                    .iter()
                    .map(|f| Finding::counted(f.check, f.count))
                    .collect(),
            },
        };
        let frames_of = |v: &[(u64, i64)]| {
            v.iter()
                .map(|(f, _)| *f)
                .take(MAX_FRAMES)
                .collect::<Vec<_>>()
        };
        let o = &c.obs;
        let resent = [
            (
                Check::SynRetransmitted,
                o.syn_count,
                &self.syn_times,
                "the client sent its SYN",
            ),
            (
                Check::SynAckRetransmitted,
                o.syn_ack_count,
                &self.syn_ack_times,
                "the server sent its SYN-ACK",
            ),
        ];
        for (check, sent, sends, what) in resent {
            if sent > 1 {
                found.add(
                    check,
                    u64::from(sent - 1),
                    || frames_of(&sends.list()),
                    || format!("{what} {sent} times{}", intervals(&sends.list())),
                );
            }
        }
        let first = |a: Option<At>| a.map(|a| a.frame);
        // The frames of the SYN and the SYN-ACK.
        let opening = || {
            [first(o.syn), first(o.syn_ack)]
                .into_iter()
                .flatten()
                .collect()
        };
        match classify::handshake(c) {
            HandshakeStatus::Refused => {
                let rst = o.rst.map(|(a, _)| a.frame);
                found.add(Check::Refused, 1, || [first(o.syn), rst].into_iter().flatten().collect(), || format!("the server answered the SYN with a RST (frame {}): nothing listens on port {}", rst.unwrap_or(0), c.server.port));
            }
            HandshakeStatus::Unanswered => found.add(
                Check::SynUnanswered,
                1,
                || frames_of(&self.syn_times.list()),
                || {
                    format!(
                        "{} SYN(s) to {} port {} got no answer",
                        o.syn_count, c.server.ip, c.server.port
                    )
                },
            ),
            HandshakeStatus::Incomplete => {
                found.add(Check::HandshakeIncomplete, 1, opening, || {
                    "the server sent a SYN-ACK but the client's final ACK never appeared".into()
                })
            }
            HandshakeStatus::Simultaneous => found.add(Check::SimultaneousOpen, 1, opening, || {
                "both sides sent a SYN: each went SYN-SENT → SYN-RECEIVED → ESTABLISHED".into()
            }),
            HandshakeStatus::Missing => found.add(
                Check::HandshakeNotCaptured,
                1,
                || vec![c.first.frame],
                || {
                    "the capture begins after the handshake: ISNs and window scaling are unknown"
                        .into()
                },
            ),
            HandshakeStatus::Complete => {}
        }
        self.finish_release(c, &mut found);
        let mut findings = found.findings;
        findings.sort_by_key(|f| (f.frames.first().copied().unwrap_or(0), f.check));
        findings
    }

    fn finish_release(&self, c: &Connection, found: &mut Found) {
        let o = &c.obs;
        let (status, _) = classify::teardown(c);
        let fin_frame = |s: Side| o.fin[s as usize].map(|a| a.frame);
        // RL001: a FIN the peer went on past without acknowledging it.
        for side in [Side::Client, Side::Server] {
            let peer = side.peer();
            let (Some(fin_at), Some(peer_fin_at)) = (o.fin[side as usize], o.fin[peer as usize])
            else {
                continue;
            };
            let e = c.tracker.endpoint(side);
            if o.fin_ack[side as usize].is_none()
                && peer_fin_at.frame > fin_at.frame
                && c.tracker.endpoint(peer).last_ack == e.fin_seq
            {
                let u = e.fin_seq.map(|s| s.raw()).unwrap_or(0);
                found.add(Check::FinNotAcked, 1, || vec![fin_at.frame, peer_fin_at.frame], || format!(
                        "the {} sent FIN seq={u} (frame {}); the {} closed too (frame {}) but acknowledges {u}, not {} (= {u} + 1)",
                        side.as_str(),
                        fin_at.frame,
                        peer.as_str(),
                        peer_fin_at.frame,
                        u.wrapping_add(1)
                    ));
            }
        }
        match status {
            TeardownStatus::Incomplete => {
                let unacked = || {
                    [Side::Client, Side::Server]
                        .into_iter()
                        .filter(|s| o.fin_ack[*s as usize].is_none())
                };
                found.add(
                    Check::FinalAckMissing,
                    1,
                    || unacked().filter_map(fin_frame).collect(),
                    || {
                        let names: Vec<&str> = unacked().map(Side::as_str).collect();
                        format!(
                            "the FIN of the {} was never acknowledged in the capture",
                            names.join(" and the ")
                        )
                    },
                );
            }
            TeardownStatus::HalfClosed => {
                let closer = if o.fin[0].is_some() { Side::Client } else { Side::Server };
                let other = c.tracker.endpoint(closer.peer()).state();
                found.add(Check::HalfClosedAtEnd, 1, || fin_frame(closer).into_iter().collect(), || format!(
                        "the {} sent FIN (frame {}) but the {} never closed: it is {} when the capture ends",
                        closer.as_str(),
                        fin_frame(closer).unwrap_or(0),
                        closer.peer().as_str(),
                        other
                    ));
            }
            TeardownStatus::Reset => {
                if let (Some((at, who)), Some((_, state))) = (o.rst, self.abort) {
                    found.add(Check::RstAbort, 1, || vec![at.frame], || format!("the {} aborted the connection with RST in frame {} while {}", who.as_str(), at.frame, state));
                }
            }
            TeardownStatus::Simultaneous => found.add(Check::SimultaneousClose, 1, || [fin_frame(Side::Client), fin_frame(Side::Server)].into_iter().flatten().collect(), || "both sides sent a FIN before receiving the other's: both went FIN-WAIT-1 → CLOSING → TIME-WAIT".into()),
            TeardownStatus::Graceful | TeardownStatus::None => {}
        }
        let in_time_wait = |s: Side| c.tracker.endpoint(s).state() == State::TimeWait;
        let waiting = match (in_time_wait(Side::Client), in_time_wait(Side::Server)) {
            (false, false) => return,
            (true, false) => Some(Side::Client),
            (false, true) => Some(Side::Server),
            (true, true) => None,
        };
        found.add(
            Check::TimeWait,
            1,
            || vec![c.last.frame],
            || match waiting {
                Some(side) => format!(
                    "the {} ends in TIME-WAIT and keeps {}:{} reserved for 2·MSL",
                    side.as_str(),
                    addr_of(c, side),
                    port_of(c, side)
                ),
                None => "both sides end in TIME-WAIT and keep the 4-tuple reserved for 2·MSL"
                    .to_string(),
            },
        );
    }
}

fn addr_of(c: &Connection, s: Side) -> std::net::IpAddr {
    match s {
        Side::Client => c.client.ip,
        Side::Server => c.server.ip,
    }
}

fn port_of(c: &Connection, s: Side) -> u16 {
    match s {
        Side::Client => c.client.port,
        Side::Server => c.server.port,
    }
}

fn is_synchronized(s: State) -> bool {
    !matches!(s, State::Closed | State::Listen | State::SynSent)
}

/// "; intervals 1.0 s, 2.0 s" between successive sends.
fn intervals(times: &[(u64, i64)]) -> String {
    if times.len() < 2 {
        return String::new();
    }
    let gaps: Vec<String> = times
        .windows(2)
        .map(|w| format!("{:.3} s", (w[1].1.saturating_sub(w[0].1)) as f64 / 1e9))
        .collect();
    format!(
        " (frames {}; intervals {})",
        times
            .iter()
            .map(|(f, _)| f.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        gaps.join(", ")
    )
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
