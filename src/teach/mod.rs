//! The teaching view of one connection: its segments split into phases
//! (opening, data transfer, release), each handshake and release step named,
//! and the seq/ack arithmetic worth showing ("ack = client ISN + 1").
//!
//! A [`Lesson`] is built from the finished report model alone (a
//! [`ConnectionReport`] with its `packets`), never from the state machine.
//! The words live in [`text`] (English and Chinese); the layouts in
//! `render::{timeline, ladder, mermaid}`.

pub mod text;

use crate::decode::TcpFlags;
use crate::report::{
    analysis_flags, ConnectionReport, FindingReport, Handshake, PacketReport, TransitionReport,
};
use crate::state::Side;
use crate::verdict::{HandshakeStatus, Initiator, TeardownStatus};
use std::collections::BTreeMap;

/// Which sequence numbers to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Numbers {
    /// As carried in the headers (as a Sniffer-style walkthrough quotes them).
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
/// (The same bound collapses them while reading: `connection::PacketList`.)
pub const COLLAPSE_OVER: usize = crate::connection::ORDINARY_RUN_OVER;

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
    /// Flags as course texts write them: `SYN+ACK`.
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
        let names: Vec<String> = analysis_flags(self.p.analysis)
            .map(|(_, name)| text.analysis(name))
            .collect();
        format!(" [{}]", names.join(", "))
    }

    /// The words a ladder writes above this segment's arrow: its step's
    /// name, then its analysis flags, except the retransmission flags of a
    /// repeated SYN, SYN-ACK or FIN, which its step names already.
    pub fn labels(&self, text: &text::Text) -> Vec<String> {
        let mut parts = Vec::new();
        if let Some(step) = self.step {
            parts.push(text.step(step));
        }
        let repeat = matches!(
            self.step,
            Some(Step::SynAgain | Step::SynAckAgain | Step::FinAgain)
        );
        for (flag, name) in analysis_flags(self.p.analysis) {
            if !(repeat && flag.is_retransmission()) {
                parts.push(text.analysis(name));
            }
        }
        parts
    }

    /// The segments it stands for: 1, or those of a run collapsed while
    /// reading (`PacketReport::run`).
    fn weight(&self) -> usize {
        self.p.run.as_ref().map_or(1, |run| {
            usize::try_from(run.segments[0] + run.segments[1]).unwrap_or(usize::MAX)
        })
    }

    /// Ordinary: nothing to teach on its own, so it may be collapsed. A run
    /// collapsed while reading is.
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
        self.segments.iter().sum()
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
    /// Per side, `[client, server]`.
    pub isn: [Option<u32>; 2],
    pub fin: [Option<u32>; 2],
}

impl Facts {
    pub fn isn(&self, side: Side) -> Option<u32> {
        self.isn[side]
    }
    pub fn fin(&self, side: Side) -> Option<u32> {
        self.fin[side]
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

/// `SYN+ACK`: the flags as course texts write them; `NONE` without flags.
pub fn course_flags(flags: TcpFlags) -> String {
    let names: Vec<&str> = flags.names().collect();
    if names.is_empty() {
        "NONE".into()
    } else {
        names.join("+")
    }
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

/// Names the steps of a connection's segments, one segment after the other,
/// and gathers the [`Facts`] on the way.
struct StepNamer<'a> {
    numbers: Numbers,
    handshake: &'a Handshake,
    /// Each side's ISN, absolute.
    isn: [Option<u32>; 2],
    simultaneous_open: bool,
    simultaneous_close: bool,
    /// Per side, `[client, server]`.
    seen: [SideSeen; 2],
    facts: Facts,
}

impl<'a> StepNamer<'a> {
    fn new(conn: &'a ConnectionReport, numbers: Numbers) -> StepNamer<'a> {
        let isn = [conn.client.isn, conn.server.isn];
        let shown_isn = isn.map(|i| i.map(|abs| shown(numbers, abs, 0)));
        StepNamer {
            numbers,
            handshake: &conn.handshake,
            isn,
            simultaneous_open: conn.handshake.status == HandshakeStatus::Simultaneous,
            simultaneous_close: conn.teardown.status == TeardownStatus::Simultaneous,
            seen: [SideSeen::default(); 2],
            facts: Facts {
                isn: shown_isn,
                fin: [None, None],
            },
        }
    }

    /// One segment, its step named and its acknowledgement explained.
    fn seg(&mut self, p: &'a PacketReport) -> Seg<'a> {
        let from = p.dir;
        let (mut note, acks_peer_fin) = self.ack_note(p);
        let step = self.opening_step(p);
        // The passive closer's FIN repeats the ACK of the active closer's
        // FIN: the walkthrough quotes that arithmetic again (line 19).
        let seen = self.seen[from];
        if p.flags.fin() && note.is_none() && seen.acked_peer_fin && seen.fin.is_none() {
            note = self.fin_ack_note(p);
        }
        let step = self.release_step(p, step, acks_peer_fin);
        Seg {
            p,
            from,
            seq: shown(self.numbers, p.seq, p.rel_seq),
            ack: match self.numbers {
                Numbers::Absolute => p.ack,
                Numbers::Relative => p.rel_ack,
            },
            flags: course_flags(p.flags),
            step,
            note,
            findings: Vec::new(),
        }
    }

    /// The arithmetic of the sender's first acknowledgement of the peer's
    /// SYN, or of its FIN; and whether the segment acknowledges the peer's
    /// FIN for the first time.
    fn ack_note(&mut self, p: &PacketReport) -> (Option<AckNote>, bool) {
        let (from, peer) = (p.dir, p.dir.peer());
        if !p.flags.ack() {
            return (None, false);
        }
        let mut note = None;
        if !self.seen[from].acked_peer_syn {
            if let Some(isn) = self.isn[peer] {
                let expected = isn.wrapping_add(1);
                let frames = &self.handshake.frames;
                let is_handshake_frame =
                    Some(p.frame) == frames.syn_ack || Some(p.frame) == frames.ack;
                if p.ack == Some(expected) || (is_handshake_frame && p.ack.is_some()) {
                    note = Some(AckNote {
                        of: peer,
                        control: Control::Syn,
                        base: shown(self.numbers, isn, 0),
                        ok: p.ack == Some(expected),
                    });
                    self.seen[from].acked_peer_syn = p.ack == Some(expected);
                }
            }
        }
        let mut acks_peer_fin = false;
        if !self.seen[from].acked_peer_fin {
            if let Some(fin_note) = self.fin_ack_note(p) {
                acks_peer_fin = true;
                self.seen[from].acked_peer_fin = true;
                note = Some(fin_note);
            }
        }
        (note, acks_peer_fin)
    }

    /// "ack = the peer's FIN + 1", when the segment acknowledges the peer's FIN.
    fn fin_ack_note(&self, p: &PacketReport) -> Option<AckNote> {
        let peer = p.dir.peer();
        let (fin_abs, fin_shown) = self.seen[peer].fin?;
        (p.ack? == fin_abs.wrapping_add(1)).then_some(AckNote {
            of: peer,
            control: Control::Fin,
            base: fin_shown,
            ok: true,
        })
    }

    /// The step of the opening (or the RST) a segment is, if any.
    fn opening_step(&mut self, p: &PacketReport) -> Option<Step> {
        let f = p.flags;
        let hs = self.handshake;
        let simultaneous_open = self.simultaneous_open;
        let no_fin_yet = self.seen.iter().all(|s| s.fin.is_none());
        let seen = &mut self.seen[p.dir];
        if f.rst() {
            Some(if hs.status == HandshakeStatus::Refused {
                Step::Refused
            } else {
                Step::Reset
            })
        } else if f.syn() {
            let first = !seen.sent_syn;
            seen.sent_syn = true;
            seen.sent_syn_ack |= f.ack();
            Some(if simultaneous_open {
                match (f.ack(), first) {
                    (true, _) => Step::SimOpenSynAck,
                    (false, true) => Step::SimOpenSyn,
                    (false, false) => Step::SynAgain,
                }
            } else if Some(p.frame) == hs.frames.syn {
                Step::Handshake(1)
            } else if Some(p.frame) == hs.frames.syn_ack {
                Step::Handshake(2)
            } else if f.ack() {
                Step::SynAckAgain
            } else {
                Step::SynAgain
            })
        } else if simultaneous_open
            && is_pure_ack(p)
            && seen.sent_syn_ack
            && !seen.sent_open_ack
            && no_fin_yet
        {
            // Each side acknowledges the other's SYN+ACK.
            seen.sent_open_ack = true;
            Some(Step::SimOpenAck)
        } else if Some(p.frame) == hs.frames.ack && !simultaneous_open {
            Some(Step::Handshake(3))
        } else {
            None
        }
    }

    /// The step of the release a segment is, given the `step` it was named
    /// so far and whether it `acks_peer_fin`; notes the sender's first FIN.
    fn release_step(
        &mut self,
        p: &PacketReport,
        step: Option<Step>,
        acks_peer_fin: bool,
    ) -> Option<Step> {
        let (from, peer) = (p.dir, p.dir.peer());
        let f = p.flags;
        let peer_fin = self.seen[peer].fin;
        let seen = &mut self.seen[from];
        if f.fin() && !f.rst() {
            let syn = u32::from(f.syn());
            let fin_abs = p.seq.wrapping_add(p.len).wrapping_add(syn);
            let fin_shown = shown(self.numbers, fin_abs, p.rel_seq.wrapping_add(p.len + syn));
            match seen.fin {
                Some((earlier, _)) if earlier == fin_abs => Some(Step::FinAgain),
                Some(_) => step,
                None => {
                    seen.fin = Some((fin_abs, fin_shown));
                    self.facts.fin[from] = Some(fin_shown);
                    let first = peer_fin.is_none();
                    Some(if self.simultaneous_close {
                        Step::SimCloseFin { first }
                    } else if first {
                        Step::Release(1)
                    } else if acks_peer_fin {
                        Step::ReleaseCombined
                    } else if seen.acked_peer_fin {
                        Step::Release(3)
                    } else {
                        Step::SimCloseFin { first }
                    })
                }
            }
        } else if acks_peer_fin && step.is_none() {
            Some(if self.simultaneous_close {
                Step::SimCloseAck
            } else if seen.fin.is_none() {
                Step::Release(2)
            } else {
                Step::Release(4)
            })
        } else if step.is_none() && p.len > 0 && peer_fin.is_some() && seen.fin.is_none() {
            Some(Step::HalfCloseData)
        } else {
            step
        }
    }
}

/// A sequence number in the lesson's numbers.
fn shown(numbers: Numbers, abs: u32, rel: u32) -> u32 {
    match numbers {
        Numbers::Absolute => abs,
        Numbers::Relative => rel,
    }
}

/// An ACK and nothing else: no SYN, FIN or RST, no payload.
fn is_pure_ack(p: &PacketReport) -> bool {
    let f = p.flags;
    f.ack() && !f.syn() && !f.fin() && !f.rst() && p.len == 0
}

impl<'a> Lesson<'a> {
    /// The lesson of one connection. Without packets in the report (analyze
    /// ran without keeping them) it has no phases.
    pub fn new(conn: &'a ConnectionReport, opts: LessonOptions) -> Lesson<'a> {
        let packets: &[PacketReport] = conn.packets.as_deref().unwrap_or(&[]);
        let mut namer = StepNamer::new(conn, opts.numbers);
        let segs: Vec<Seg<'a>> = packets.iter().map(|p| namer.seg(p)).collect();
        let mut phases = phases(conn, segs, opts.full);
        let loose_findings = place_findings(&conn.findings, &mut phases);
        Lesson {
            conn,
            numbers: opts.numbers,
            phases,
            facts: namer.facts,
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

/// The segments split into phases (opening, data, release), each with its
/// runs of ordinary segments collapsed unless `full`.
fn phases<'a>(conn: &'a ConnectionReport, segs: Vec<Seg<'a>>, full: bool) -> Vec<Phase<'a>> {
    let hs = &conn.handshake;
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
    phases
        .into_iter()
        .map(|(kind, segs)| Phase {
            kind,
            items: collapse(segs, full),
        })
        .collect()
}

/// Gives each finding to the last of its frames that is shown: the
/// retransmission, the RST that refused, the segment that completed what
/// the finding describes. Returns the findings none of whose frames is shown.
fn place_findings<'a>(
    findings: &'a [FindingReport],
    phases: &mut [Phase<'a>],
) -> Vec<&'a FindingReport> {
    let mut loose = Vec::new();
    for f in findings {
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
            None => loose.push(f),
        }
    }
    loose
}

/// Where the opening ends and the release begins (indices into `segs`).
///
/// The opening runs to the last of: the handshake's frames, the last SYN, and
/// the segment after which both sides are synchronized. When the opening
/// failed (refused, unanswered, unreachable) every segment belongs to it. The release
/// begins with the first FIN or RST after the opening.
fn boundaries(conn: &ConnectionReport, segs: &[Seg<'_>]) -> (usize, usize) {
    use crate::state::State;
    let n = segs.len();
    let hs = &conn.handshake;
    let opening_end = match hs.status {
        HandshakeStatus::Missing => 0,
        HandshakeStatus::Refused | HandshakeStatus::Unanswered | HandshakeStatus::Unreachable => n,
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
                if hs_frame || p.flags.syn() || opening_step {
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
                if both_synchronized && (p.len > 0 || p.flags.fin() || p.flags.rst()) {
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
        .find(|(_, s)| s.p.flags.fin() || s.p.flags.rst())
        .map_or(n, |(i, _)| i);
    (opening_end, release_start.max(opening_end))
}

/// Collapses each run of more than [`COLLAPSE_OVER`] ordinary segments into
/// one summary (unless `full`).
fn collapse(segs: Vec<Seg<'_>>, full: bool) -> Vec<Item<'_>> {
    if full {
        return segs.into_iter().map(Item::Seg).collect();
    }
    /// `weight`: the segments of the run (a run collapsed while reading is
    /// one `Seg` of more than `COLLAPSE_OVER`).
    fn flush<'a>(run: &mut Vec<Seg<'a>>, weight: &mut usize, items: &mut Vec<Item<'a>>) {
        if *weight > COLLAPSE_OVER {
            items.push(Item::Collapsed(summarize(run)));
            run.clear();
        } else {
            items.extend(run.drain(..).map(Item::Seg));
        }
        *weight = 0;
    }
    let mut items = Vec::new();
    let mut run = Vec::new();
    let mut weight = 0usize;
    for s in segs {
        if s.is_ordinary() {
            weight = weight.saturating_add(s.weight());
            run.push(s);
        } else {
            flush(&mut run, &mut weight, &mut items);
            items.push(Item::Seg(s));
        }
    }
    flush(&mut run, &mut weight, &mut items);
    items
}

fn summarize(run: &[Seg<'_>]) -> Collapsed {
    let mut c = Collapsed {
        first_frame: run.first().map_or(0, |s| s.p.frame),
        last_frame: run
            .last()
            .map_or(0, |s| s.p.run.as_ref().map_or(s.p.frame, |r| r.last_frame)),
        first_time: run.first().map_or(0.0, |s| s.p.time),
        last_time: run
            .last()
            .map_or(0.0, |s| s.p.run.as_ref().map_or(s.p.time, |r| r.last_time)),
        ..Collapsed::default()
    };
    for s in run {
        if let Some(r) = &s.p.run {
            for side in [Side::Client, Side::Server] {
                c.segments[side] += r.segments[side];
                c.bytes[side] += r.bytes[side];
            }
            for &(flags, n) in &r.analysis {
                for (_, name) in analysis_flags(flags) {
                    *c.analysis.entry(name).or_default() += n;
                }
            }
            continue;
        }
        c.segments[s.from] += 1;
        c.bytes[s.from] += u64::from(s.p.len);
        for (_, name) in analysis_flags(s.p.analysis) {
            *c.analysis.entry(name).or_default() += 1;
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn course_flags_joins_with_plus() {
        let flags = |bits| course_flags(TcpFlags(bits));
        assert_eq!(flags(TcpFlags::SYN | TcpFlags::ACK), "SYN+ACK");
        assert_eq!(
            flags(TcpFlags::FIN | TcpFlags::PSH | TcpFlags::ACK),
            "FIN+PSH+ACK"
        );
        assert_eq!(flags(0), "NONE");
    }
}
