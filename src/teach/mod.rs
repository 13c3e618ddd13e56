//! The teaching view of one connection: its segments split into phases
//! (opening, data transfer, release), each handshake and release step named,
//! and the seq/ack arithmetic worth showing ("ack = client ISN + 1").
//!
//! A [`Lesson`] is built from the finished report model alone (a
//! [`ConnectionReport`] with its `packets`), never from the state machine.
//! The words live in [`text`] (English and Chinese); the layouts in
//! `render::{timeline, ladder, mermaid}`.

pub mod text;

use crate::classify::{HandshakeStatus, Initiator, TeardownStatus};
use crate::report::{ConnectionReport, FindingReport, PacketReport, TransitionReport};
use crate::state::Side;
use std::collections::BTreeMap;

/// Which sequence numbers to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Numbers {
    /// As carried in the headers (the seeds' walkthrough quotes these).
    #[default]
    Absolute,
    /// Relative to each side's ISN, as Wireshark shows them.
    Relative,
}

/// How a lesson is built.
#[derive(Debug, Clone, Copy, Default)]
pub struct LessonOptions {
    pub numbers: Numbers,
    /// Show every segment: never collapse a run of ordinary segments.
    pub full: bool,
}

/// A run of more than this many ordinary segments collapses into one
/// summary line unless `full` is set.
pub const COLLAPSE_OVER: usize = 12;

/// A named step of the opening or the release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Step 1, 2 or 3 of the three-way handshake.
    Handshake(u8),
    /// The client's SYN again.
    SynAgain,
    /// The server's SYN-ACK again.
    SynAckAgain,
    /// Simultaneous open: a side's bare SYN, its SYN+ACK, the final ACK.
    SimOpenSyn,
    SimOpenSynAck,
    SimOpenAck,
    /// A RST answers the SYN.
    Refused,
    /// Step 1, 2, 3 or 4 of the four-way release.
    Release(u8),
    /// Steps 2 and 3 of the release in one segment (ACK of the FIN + own FIN).
    ReleaseCombined,
    /// Simultaneous close: a FIN sent before the peer's FIN arrived; `first`
    /// when the peer has not sent its FIN yet either.
    SimCloseFin {
        first: bool,
    },
    /// Simultaneous close: the ACK of the peer's FIN.
    SimCloseAck,
    /// A FIN again.
    FinAgain,
    /// A RST ends the connection.
    Reset,
    /// Data from the side that has not closed, after the peer's FIN.
    HalfCloseData,
}

/// Which control segment an acknowledgement answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Syn,
    Fin,
}

/// "ack = the client's ISN + 1": the arithmetic behind an acknowledgement
/// number, in the lesson's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckNote {
    /// Whose SYN or FIN is acknowledged.
    pub of: Side,
    pub control: Control,
    /// The sequence number of that SYN (the ISN) or FIN.
    pub base: u32,
    /// Whether the ack is base + 1, as it must be; if not, the note shows
    /// what was expected.
    pub ok: bool,
}

impl AckNote {
    pub fn expected(&self) -> u32 {
        self.base.wrapping_add(1)
    }
}

/// One segment as the lesson shows it.
#[derive(Debug, Clone)]
pub struct Seg<'a> {
    pub p: &'a PacketReport,
    pub from: Side,
    /// Sequence and acknowledgement numbers in the lesson's numbers.
    pub seq: u32,
    pub ack: Option<u32>,
    /// Flags as the seeds write them: `SYN+ACK`.
    pub flags: String,
    pub step: Option<Step>,
    pub note: Option<AckNote>,
    /// Findings shown with this segment (it is the first of their frames shown).
    pub findings: Vec<&'a FindingReport>,
}

impl Seg<'_> {
    pub fn transitions(&self) -> &[TransitionReport] {
        &self.p.transitions
    }

    /// ` ack=…` with its note (` (= x + 1)`…), or nothing without ACK.
    pub fn ack_text(&self, text: &text::Text) -> String {
        let Some(ack) = self.ack else {
            return String::new();
        };
        match &self.note {
            Some(note) => format!(" ack={ack} {}", text.ack_note(note)),
            None => format!(" ack={ack}"),
        }
    }

    /// ` [retransmission, …]`: the analysis flags, or nothing.
    pub fn analysis_text(&self, text: &text::Text) -> String {
        if self.p.analysis.is_empty() {
            return String::new();
        }
        let names: Vec<String> = self.p.analysis.iter().map(|a| text.analysis(a)).collect();
        format!(" [{}]", names.join(", "))
    }

    /// Ordinary: nothing to teach on its own, so it may be collapsed.
    fn is_ordinary(&self) -> bool {
        let repeat = matches!(
            self.step,
            None | Some(Step::SynAgain | Step::SynAckAgain | Step::FinAgain)
        );
        repeat && self.note.is_none() && self.p.transitions.is_empty()
    }
}

/// Segments left out of the lesson, summed up.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Collapsed {
    pub first_frame: u64,
    pub last_frame: u64,
    /// Seconds since the connection's first frame.
    pub first_time: f64,
    pub last_time: f64,
    /// Segments and payload bytes per sender: `[client, server]`.
    pub segments: [u64; 2],
    pub bytes: [u64; 2],
    /// Analysis flags among them, with counts.
    pub analysis: BTreeMap<&'static str, u64>,
}

impl Collapsed {
    pub fn total(&self) -> u64 {
        self.segments[0] + self.segments[1]
    }
}

#[derive(Debug, Clone)]
pub enum Item<'a> {
    Seg(Seg<'a>),
    Collapsed(Collapsed),
}

/// What a phase of the connection was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseKind {
    /// The opening, with how it went.
    Opening(HandshakeStatus),
    /// The capture began after the opening.
    NotCaptured,
    /// Data transfer.
    Data,
    /// The release, with how it went and who began it; `combined` when the
    /// passive closer's ACK and FIN travelled in one segment.
    Release {
        status: TeardownStatus,
        initiator: Option<Initiator>,
        combined: bool,
    },
}

#[derive(Debug, Clone)]
pub struct Phase<'a> {
    pub kind: PhaseKind,
    pub items: Vec<Item<'a>>,
}

/// The numbers a narration quotes: each side's ISN and FIN sequence number,
/// in the lesson's numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Facts {
    pub isn: [Option<u32>; 2],
    pub fin: [Option<u32>; 2],
}

impl Facts {
    pub fn isn(&self, side: Side) -> Option<u32> {
        self.isn[idx(side)]
    }
    pub fn fin(&self, side: Side) -> Option<u32> {
        self.fin[idx(side)]
    }
}

/// One connection, ready to be told.
#[derive(Debug, Clone)]
pub struct Lesson<'a> {
    pub conn: &'a ConnectionReport,
    pub numbers: Numbers,
    pub phases: Vec<Phase<'a>>,
    pub facts: Facts,
    /// Findings none of whose frames is shown (or that name no frame).
    pub loose_findings: Vec<&'a FindingReport>,
}

const fn idx(side: Side) -> usize {
    match side {
        Side::Client => 0,
        Side::Server => 1,
    }
}

fn has_flag(p: &PacketReport, name: &str) -> bool {
    p.flags.split(',').any(|f| f == name)
}

/// `SYN,ACK` → `SYN+ACK`.
pub fn seed_flags(flags: &str) -> String {
    flags.replace(',', "+")
}

/// Per-side bookkeeping while the steps are named.
#[derive(Debug, Clone, Copy, Default)]
struct SideSeen {
    /// This side's first FIN: its sequence number, absolute and shown.
    fin: Option<(u32, u32)>,
    acked_peer_syn: bool,
    acked_peer_fin: bool,
    sent_syn: bool,
    sent_syn_ack: bool,
    sent_open_ack: bool,
}

impl<'a> Lesson<'a> {
    /// The lesson of one connection. Without packets in the report (analyze
    /// ran without keeping them) it has no phases.
    pub fn new(conn: &'a ConnectionReport, opts: LessonOptions) -> Lesson<'a> {
        let numbers = opts.numbers;
        let packets: &[PacketReport] = conn.packets.as_deref().unwrap_or(&[]);
        let shown = |abs: u32, rel: u32| match numbers {
            Numbers::Absolute => abs,
            Numbers::Relative => rel,
        };
        let isn_abs = [conn.client.isn, conn.server.isn];
        let mut facts = Facts {
            isn: isn_abs.map(|i| i.map(|abs| shown(abs, 0))),
            fin: [None, None],
        };
        let hs = &conn.handshake;
        let simultaneous_open = hs.status == HandshakeStatus::Simultaneous;
        let simultaneous_close = conn.teardown.status == TeardownStatus::Simultaneous;

        let mut seen = [SideSeen::default(); 2];
        let mut segs: Vec<Seg<'a>> = Vec::with_capacity(packets.len());
        for p in packets {
            let from = if p.dir == "c2s" {
                Side::Client
            } else {
                Side::Server
            };
            let (me, peer) = (idx(from), idx(from.peer()));
            let (syn, fin, rst, ack) = (
                has_flag(p, "SYN"),
                has_flag(p, "FIN"),
                has_flag(p, "RST"),
                has_flag(p, "ACK"),
            );
            let mut step = None;
            let mut note = None;

            // The arithmetic: the first acknowledgement of the peer's SYN.
            if ack && !seen[me].acked_peer_syn {
                if let Some(isn) = isn_abs[peer] {
                    let expected = isn.wrapping_add(1);
                    let is_handshake_frame =
                        Some(p.frame) == hs.frames.syn_ack || Some(p.frame) == hs.frames.ack;
                    if p.ack == Some(expected) || (is_handshake_frame && p.ack.is_some()) {
                        note = Some(AckNote {
                            of: from.peer(),
                            control: Control::Syn,
                            base: shown(isn, 0),
                            ok: p.ack == Some(expected),
                        });
                        seen[me].acked_peer_syn = p.ack == Some(expected);
                    }
                }
            }
            // ... and of the peer's FIN.
            let mut acks_peer_fin = false;
            if ack && !seen[me].acked_peer_fin {
                if let (Some((fin_abs, fin_shown)), Some(a)) = (seen[peer].fin, p.ack) {
                    if a == fin_abs.wrapping_add(1) {
                        acks_peer_fin = true;
                        seen[me].acked_peer_fin = true;
                        note = Some(AckNote {
                            of: from.peer(),
                            control: Control::Fin,
                            base: fin_shown,
                            ok: true,
                        });
                    }
                }
            }

            let pure_ack = ack && !syn && !fin && !rst && p.len == 0;
            if rst {
                step = Some(if hs.status == HandshakeStatus::Refused {
                    Step::Refused
                } else {
                    Step::Reset
                });
            } else if syn {
                let first = !seen[me].sent_syn;
                seen[me].sent_syn = true;
                seen[me].sent_syn_ack |= ack;
                step = Some(if simultaneous_open {
                    match (ack, first) {
                        (true, _) => Step::SimOpenSynAck,
                        (false, true) => Step::SimOpenSyn,
                        (false, false) => Step::SynAgain,
                    }
                } else if Some(p.frame) == hs.frames.syn {
                    Step::Handshake(1)
                } else if Some(p.frame) == hs.frames.syn_ack {
                    Step::Handshake(2)
                } else if ack {
                    Step::SynAckAgain
                } else {
                    Step::SynAgain
                });
            } else if simultaneous_open
                && pure_ack
                && seen[me].sent_syn_ack
                && !seen[me].sent_open_ack
                && seen[0].fin.is_none()
                && seen[1].fin.is_none()
            {
                // Each side acknowledges the other's SYN+ACK.
                seen[me].sent_open_ack = true;
                step = Some(Step::SimOpenAck);
            } else if Some(p.frame) == hs.frames.ack && !simultaneous_open {
                step = Some(Step::Handshake(3));
            }

            // The passive closer's FIN repeats the ACK of the active closer's
            // FIN: the walkthrough quotes that arithmetic again (line 19).
            if fin && note.is_none() && seen[me].acked_peer_fin && seen[me].fin.is_none() {
                if let (Some((fin_abs, fin_shown)), Some(a)) = (seen[peer].fin, p.ack) {
                    if a == fin_abs.wrapping_add(1) {
                        note = Some(AckNote {
                            of: from.peer(),
                            control: Control::Fin,
                            base: fin_shown,
                            ok: true,
                        });
                    }
                }
            }

            if fin && !rst {
                let fin_abs = p.seq.wrapping_add(p.len).wrapping_add(u32::from(syn));
                let fin_shown = shown(fin_abs, p.rel_seq.wrapping_add(p.len + u32::from(syn)));
                match seen[me].fin {
                    Some((earlier, _)) if earlier == fin_abs => step = Some(Step::FinAgain),
                    Some(_) => {}
                    None => {
                        seen[me].fin = Some((fin_abs, fin_shown));
                        facts.fin[me] = Some(fin_shown);
                        let first = seen[peer].fin.is_none();
                        step = Some(if simultaneous_close {
                            Step::SimCloseFin { first }
                        } else if first {
                            Step::Release(1)
                        } else if acks_peer_fin {
                            Step::ReleaseCombined
                        } else if seen[me].acked_peer_fin {
                            Step::Release(3)
                        } else {
                            Step::SimCloseFin { first }
                        });
                    }
                }
            } else if acks_peer_fin && step.is_none() {
                step = Some(if simultaneous_close {
                    Step::SimCloseAck
                } else if seen[me].fin.is_none() {
                    Step::Release(2)
                } else {
                    Step::Release(4)
                });
            } else if step.is_none()
                && p.len > 0
                && seen[peer].fin.is_some()
                && seen[me].fin.is_none()
            {
                step = Some(Step::HalfCloseData);
            }

            segs.push(Seg {
                p,
                from,
                seq: shown(p.seq, p.rel_seq),
                ack: match numbers {
                    Numbers::Absolute => p.ack,
                    Numbers::Relative => p.rel_ack,
                },
                flags: seed_flags(&p.flags),
                step,
                note,
                findings: Vec::new(),
            });
        }

        let (opening_end, release_start) = boundaries(conn, &segs);
        let combined = segs.iter().any(|s| s.step == Some(Step::ReleaseCombined));
        let mut phases = Vec::new();
        let mut rest = segs;
        let release = rest.split_off(release_start.min(rest.len()));
        let data = rest.split_off(opening_end.min(rest.len()));
        let opening = rest;
        if hs.status == HandshakeStatus::Missing {
            phases.push((PhaseKind::NotCaptured, opening));
        } else if !opening.is_empty() {
            phases.push((PhaseKind::Opening(hs.status), opening));
        }
        if !data.is_empty() {
            phases.push((PhaseKind::Data, data));
        }
        if !release.is_empty() {
            phases.push((
                PhaseKind::Release {
                    status: conn.teardown.status,
                    initiator: conn.teardown.initiator,
                    combined,
                },
                release,
            ));
        }

        let mut phases: Vec<Phase<'a>> = phases
            .into_iter()
            .map(|(kind, segs)| Phase {
                kind,
                items: collapse(segs, opts.full),
            })
            .collect();

        // Each finding goes with the last of its frames that is shown: the
        // retransmission, the RST that refused, the segment that completed
        // what the finding describes.
        let mut loose_findings = Vec::new();
        for f in &conn.findings {
            let target = phases
                .iter_mut()
                .flat_map(|ph| ph.items.iter_mut())
                .filter_map(|item| match item {
                    Item::Seg(s) if f.frames.contains(&s.p.frame) => Some(s),
                    _ => None,
                })
                .last();
            match target {
                Some(s) => s.findings.push(f),
                None => loose_findings.push(f),
            }
        }

        Lesson {
            conn,
            numbers,
            phases,
            facts,
            loose_findings,
        }
    }

    /// Every segment shown, in order.
    pub fn segments(&self) -> impl Iterator<Item = &Seg<'a>> {
        self.phases
            .iter()
            .flat_map(|ph| ph.items.iter())
            .filter_map(|item| match item {
                Item::Seg(s) => Some(s),
                Item::Collapsed(_) => None,
            })
    }
}

/// Where the opening ends and the release begins (indices into `segs`).
///
/// The opening runs to the last of: the handshake's frames, the last SYN, and
/// the segment after which both sides are synchronized. When the opening
/// failed (refused, unanswered) every segment belongs to it. The release
/// begins with the first FIN or RST after the opening.
fn boundaries(conn: &ConnectionReport, segs: &[Seg<'_>]) -> (usize, usize) {
    use crate::state::State;
    let n = segs.len();
    let hs = &conn.handshake;
    let opening_end = match hs.status {
        HandshakeStatus::Missing => 0,
        HandshakeStatus::Refused | HandshakeStatus::Unanswered => n,
        _ => {
            let synchronized = |s: State| {
                !matches!(
                    s,
                    State::Closed | State::Listen | State::SynSent | State::SynReceived
                )
            };
            let mut end = 0;
            let mut both_synchronized = false;
            for (i, s) in segs.iter().enumerate() {
                let p = s.p;
                let hs_frame =
                    [hs.frames.syn, hs.frames.syn_ack, hs.frames.ack].contains(&Some(p.frame));
                let opening_step = matches!(
                    s.step,
                    Some(
                        Step::Handshake(_)
                            | Step::SynAgain
                            | Step::SynAckAgain
                            | Step::SimOpenSyn
                            | Step::SimOpenSynAck
                            | Step::SimOpenAck
                    )
                );
                if hs_frame || has_flag(p, "SYN") || opening_step {
                    end = i + 1;
                }
                if !both_synchronized
                    && synchronized(p.client_state)
                    && synchronized(p.server_state)
                {
                    both_synchronized = true;
                    end = end.max(i + 1);
                }
                // Data or a release ends the opening.
                if both_synchronized && (p.len > 0 || has_flag(p, "FIN") || has_flag(p, "RST")) {
                    break;
                }
            }
            // The handshake's final ACK may come after both sides are synchronized.
            if let Some(ack) = hs.frames.ack {
                if let Some(i) = segs.iter().position(|s| s.p.frame == ack) {
                    end = end.max(i + 1);
                }
            }
            end
        }
    };
    let release_start = segs
        .iter()
        .enumerate()
        .skip(opening_end)
        .find(|(_, s)| has_flag(s.p, "FIN") || has_flag(s.p, "RST"))
        .map_or(n, |(i, _)| i);
    (opening_end, release_start.max(opening_end))
}

/// Collapses each run of more than [`COLLAPSE_OVER`] ordinary segments into
/// one summary (unless `full`).
fn collapse(segs: Vec<Seg<'_>>, full: bool) -> Vec<Item<'_>> {
    if full {
        return segs.into_iter().map(Item::Seg).collect();
    }
    fn flush<'a>(run: &mut Vec<Seg<'a>>, items: &mut Vec<Item<'a>>) {
        if run.len() > COLLAPSE_OVER {
            items.push(Item::Collapsed(summarize(run)));
            run.clear();
        } else {
            items.extend(run.drain(..).map(Item::Seg));
        }
    }
    let mut items = Vec::new();
    let mut run = Vec::new();
    for s in segs {
        if s.is_ordinary() {
            run.push(s);
        } else {
            flush(&mut run, &mut items);
            items.push(Item::Seg(s));
        }
    }
    flush(&mut run, &mut items);
    items
}

fn summarize(run: &[Seg<'_>]) -> Collapsed {
    let mut c = Collapsed {
        first_frame: run.first().map_or(0, |s| s.p.frame),
        last_frame: run.last().map_or(0, |s| s.p.frame),
        first_time: run.first().map_or(0.0, |s| s.p.time),
        last_time: run.last().map_or(0.0, |s| s.p.time),
        ..Collapsed::default()
    };
    for s in run {
        c.segments[idx(s.from)] += 1;
        c.bytes[idx(s.from)] += u64::from(s.p.len);
        for a in &s.p.analysis {
            *c.analysis.entry(*a).or_default() += 1;
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_flags_joins_with_plus() {
        assert_eq!(seed_flags("SYN,ACK"), "SYN+ACK");
        assert_eq!(seed_flags("FIN,PSH,ACK"), "FIN+PSH+ACK");
    }
}
