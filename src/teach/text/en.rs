//! The teaching views in English.

use super::{Messages, Narration};
use crate::diagnosis::{Cause, Confidence, Diagnosis, RetryPattern, StallEnd};
use crate::report::{CaptureReport, FindingReport};
use crate::rules::{Rule, Severity};
use crate::state::{Side, State};
use crate::teach::{AckNote, Collapsed, Control, Numbers, PhaseKind, Step};
use crate::verdict::{HandshakeStatus, TeardownStatus};

pub(super) struct En;

/// First letter in upper case ("the client" → "The client").
fn cap(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

impl Messages for En {
    fn side(&self, side: Side) -> &'static str {
        match side {
            Side::Client => "client",
            Side::Server => "server",
        }
    }

    fn the(&self, side: Side) -> String {
        format!("the {}", self.side(side))
    }

    fn line(&self, frame: u64) -> String {
        format!("line {frame}")
    }

    fn frame(&self, frame: u64) -> String {
        format!("frame {frame}")
    }

    fn capture_header(&self, c: &CaptureReport, file: &str, format: &str) -> String {
        format!(
            "{file} ({format}): {} frames, {} TCP segments, {} connection{}",
            c.frames,
            c.tcp_segments,
            c.connections,
            if c.connections == 1 { "" } else { "s" }
        )
    }

    fn connection_title(&self, id: u64, client: &str, server: &str, arrow: &str) -> String {
        format!("connection {id}: client {client} {arrow} server {server}")
    }

    fn connection(&self, id: u64) -> String {
        format!("connection {id}")
    }

    fn isn_unknown(&self) -> &'static str {
        "ISN: unknown (the handshake was not captured)"
    }

    fn isn(&self, side: Side, isn: Option<u32>) -> String {
        match isn {
            Some(v) => format!("{} {v}", self.side(side)),
            None => format!("{} none (sent no SYN)", self.side(side)),
        }
    }

    fn isn_line(&self, numbers: Numbers, [c, s]: [&str; 2], [abs_c, abs_s]: [&str; 2]) -> String {
        match numbers {
            Numbers::Absolute => {
                format!("ISN: {c}, {s} · absolute numbers (--relative: relative to each ISN)")
            }
            Numbers::Relative => format!(
                "ISN: {c}, {s} (relative numbers; absolute ISN: client {abs_c}, server {abs_s})"
            ),
        }
    }

    fn states_caveat(&self) -> &'static str {
        "Note: each side's state is inferred as seen at the capture point, from what it sent and \
         what its acknowledgements show it has received."
    }

    fn phase(&self, kind: PhaseKind, who: &str) -> String {
        let (status, combined) = match kind {
            PhaseKind::Opening(status) => return opening(status).into(),
            PhaseKind::NotCaptured => {
                return "handshake not captured: the capture begins mid-connection".into()
            }
            PhaseKind::Data => return "data transfer".into(),
            PhaseKind::Release {
                status, combined, ..
            } => (status, combined),
        };
        match status {
            TeardownStatus::Graceful if combined => {
                format!("four-way release in three segments — the {who} closes first")
            }
            TeardownStatus::Graceful => format!("four-way release — the {who} closes first"),
            TeardownStatus::Simultaneous => "simultaneous close — the FINs cross".into(),
            TeardownStatus::Reset => format!("reset — the {who} aborts the connection with RST"),
            TeardownStatus::HalfClosed => format!("half-close — only the {who} sent FIN"),
            TeardownStatus::Incomplete => {
                format!("four-way release, final ACK not captured — the {who} closes first")
            }
            TeardownStatus::None => "release".into(),
        }
    }

    fn step(&self, step: Step) -> String {
        match step {
            Step::Handshake(n) => format!("handshake {n} of 3"),
            Step::Release(n) => format!("release {n} of 4"),
            Step::ReleaseCombined => "release 2+3 of 4".into(),
            Step::SynAgain => "SYN again".into(),
            Step::SynAckAgain => "SYN+ACK again".into(),
            Step::SimOpenSyn => "simultaneous SYN".into(),
            Step::SimOpenSynAck => "simultaneous SYN+ACK".into(),
            Step::SimOpenAck => "ACK of the SYN+ACK".into(),
            Step::Refused => "refused".into(),
            Step::SimCloseFin { .. } => "simultaneous FIN".into(),
            Step::SimCloseAck => "ACK of the FIN".into(),
            Step::FinAgain => "FIN again".into(),
            Step::Reset => "reset".into(),
            Step::HalfCloseData => "half-close data".into(),
        }
    }

    fn ack_note(&self, note: &AckNote) -> String {
        let who = self.side(note.of);
        let what = match note.control {
            Control::Syn => format!("{who} ISN {}", note.base),
            Control::Fin => format!("{who} FIN seq {}", note.base),
        };
        if note.ok {
            format!("(= {what} + 1)")
        } else {
            format!("(expected {what} + 1 = {})", note.expected())
        }
    }

    fn analysis(&self, flag: &str) -> Option<&'static str> {
        Some(match flag {
            "retransmission" => "retransmission",
            "fast_retransmission" => "fast retransmission",
            "spurious_retransmission" => "spurious retransmission",
            "out_of_order" => "out-of-order",
            "lost_segment" => "previous segment not captured",
            "ack_lost_segment" => "ACKed unseen segment",
            "duplicate_ack" => "duplicate ACK",
            "zero_window" => "zero window",
            "zero_window_probe" => "zero-window probe",
            "zero_window_probe_ack" => "zero-window probe ACK",
            "keep_alive" => "keep-alive",
            "keep_alive_ack" => "keep-alive ACK",
            "window_update" => "window update",
            "window_full" => "window full",
            _ => return None,
        })
    }

    fn collapsed(&self, c: &Collapsed, flags: &[String]) -> String {
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!("; {}", flags.join(", "))
        };
        let span = c.last_time - c.first_time;
        format!(
            "… {} segments not shown (lines {}–{}, {span:.3} s): client → server {} segments, {} \
             bytes; server → client {} segments, {} bytes{flags} (--full shows them)",
            c.total(),
            c.first_frame,
            c.last_frame,
            c.segments[Side::Client],
            c.bytes[Side::Client],
            c.segments[Side::Server],
            c.bytes[Side::Server]
        )
    }

    fn collapsed_short(&self, c: &Collapsed) -> String {
        format!(
            "{} segments not shown (lines {}–{})",
            c.total(),
            c.first_frame,
            c.last_frame
        )
    }

    fn severity(&self, s: Severity) -> &'static str {
        s.as_str()
    }

    fn finding(&self, f: &FindingReport, severity: &str, title: &str) -> String {
        let times = if f.count > 1 {
            format!(" (×{})", f.count)
        } else {
            String::new()
        };
        format!("{} ({severity}) {title}{times} — {}", f.code, f.message)
    }

    fn finding_title(&self, rule: &Rule) -> &'static str {
        rule.title
    }

    /// The explanation's first sentence.
    fn finding_why(&self, rule: &Rule) -> String {
        let first = rule
            .explanation
            .split(". ")
            .next()
            .unwrap_or(rule.explanation);
        format!("{}.", first.trim_end_matches('.'))
    }

    fn handshake_status(&self, s: HandshakeStatus) -> &'static str {
        s.as_str()
    }

    fn teardown_status(&self, s: TeardownStatus) -> &'static str {
        match s {
            TeardownStatus::HalfClosed => "half-closed",
            other => other.as_str(),
        }
    }

    fn first_to_close(&self, side: Side) -> String {
        format!(", the {} first", self.side(side))
    }

    fn time_wait(&self) -> &'static str {
        " (waits 2·MSL)"
    }

    fn result(&self, handshake: &str, teardown: &str, first: &str, [c, s]: [&str; 2]) -> String {
        format!(
            "result: handshake {handshake} · release {teardown}{first} · final states: {c}, {s}"
        )
    }

    fn phase_narration(&self, kind: PhaseKind) -> Option<&'static str> {
        match kind {
            PhaseKind::NotCaptured => Some(
                "The capture begins in the middle of the connection: the handshake was not \
                 captured, so the ISNs are unknown; both sides are taken to be ESTABLISHED, and \
                 relative numbers count from the first segment seen.",
            ),
            PhaseKind::Data => Some(
                "Data transfer: seq numbers every byte a side sends, and ack names the next byte \
                 a side expects, acknowledging everything before it.",
            ),
            _ => None,
        }
    }

    fn narration(&self, step: Step, n: &Narration) -> String {
        let Narration {
            me,
            other,
            seq,
            ack,
            fin,
            ..
        } = n;
        let me_cap = cap(me);
        match step {
            Step::Handshake(1) => format!(
                "Handshake 1 of 3: the client asks to open a connection. Its SYN carries its \
                 initial sequence number x = {seq}. A SYN carries no data but consumes one \
                 sequence number, so the client's first data byte will be numbered x + 1. The \
                 client is now in SYN-SENT, waiting for an answer."
            ),
            Step::Handshake(2) => {
                let ack_part = if n.ack_ok {
                    format!(
                        "ACK with ack = x + 1 = {ack}, which says \"I received your SYN; the \
                         next number I expect from you is x + 1\""
                    )
                } else {
                    format!(
                        "ACK with ack = {ack} — but it should be x + 1 = {}",
                        n.x_plus_1
                    )
                };
                format!(
                    "Handshake 2 of 3: the server agrees. Its SYN+ACK does two things at once: \
                     SYN with its own initial sequence number y = {seq}, and {ack_part}. The \
                     server is now in SYN-RECEIVED. When the client receives this it knows its \
                     SYN arrived; the server does not know yet whether its own SYN will."
                )
            }
            Step::Handshake(_) => {
                let ack_part = if n.ack_ok {
                    format!("ack = y + 1 = {ack}")
                } else {
                    format!("ack = {ack} — but it should be y + 1 = {}", n.y_plus_1)
                };
                format!(
                    "Handshake 3 of 3: the client acknowledges the server's SYN: seq = x + 1 = \
                     {seq}, {ack_part}. Both sides are now ESTABLISHED: each knows that the \
                     other's SYN arrived and that both directions work. Why a third segment: \
                     without it, an old duplicate SYN still wandering in the network could make \
                     the server open a connection the client never asked for, and wait on it in \
                     vain; the client's ACK proves the request is current."
                )
            }
            Step::SynAgain => format!(
                "{me_cap} sends its SYN again, with the same ISN: no answer came back in time, so \
                 its retransmission timer fired (the wait doubles each time)."
            ),
            Step::SynAckAgain => format!(
                "{me_cap} sends its SYN+ACK again: its SYN has not been acknowledged yet \
                 ({other}'s ACK did not arrive in time, or {other} repeated its SYN)."
            ),
            Step::SimOpenSyn => format!(
                "Simultaneous open: {me} actively sends a SYN with ISN {seq} and enters SYN-SENT. \
                 The other side does the same; neither is a listening server."
            ),
            Step::SimOpenSynAck => format!(
                "{me_cap} received the other side's SYN while in SYN-SENT, so it answers with \
                 SYN+ACK: its own SYN again (seq = its ISN {seq}) and the acknowledgement of the \
                 other's SYN (ack = the other's ISN + 1 = {ack}). It enters SYN-RECEIVED; each \
                 side becomes ESTABLISHED once its own SYN is acknowledged."
            ),
            Step::SimOpenAck => format!(
                "{me_cap} acknowledges the other side's SYN+ACK (ack = {ack}): the simultaneous \
                 open is complete and both sides are ESTABLISHED. It took two SYNs and two \
                 SYN+ACKs instead of three segments."
            ),
            Step::Refused => format!(
                "{me_cap} answers the SYN with RST: nothing listens on port {port}. The RST \
                 acknowledges the SYN (ack = x + 1 = {ack}), which is what makes the client \
                 accept it; the client gives up and is CLOSED, and its application sees \
                 \"connection refused\". No handshake, so no release either.",
                port = n.port
            ),
            Step::Release(1) => format!(
                "Release 1 of 4: {me} has no more data to send and closes its direction with a \
                 FIN, seq = u = {fin}. Like a SYN, a FIN consumes one sequence number, so that it \
                 can be acknowledged (ack = u + 1) and retransmitted if lost. {me_cap} is the \
                 active closer and enters FIN-WAIT-1."
            ),
            Step::Release(2) => {
                let rides = if n.data {
                    " This ACK rides on a data segment."
                } else {
                    ""
                };
                format!(
                    "Release 2 of 4: {me} acknowledges the FIN: ack = u + 1 = {ack}. {me_cap} is \
                     the passive closer and enters CLOSE-WAIT; {other}, seeing its FIN \
                     acknowledged, enters FIN-WAIT-2.{rides} The connection is now half-closed: \
                     {other} will send no more data, but {me} still may, and {other} still \
                     receives."
                )
            }
            Step::Release(3) => {
                let ack_part = if n.acks_peer_fin {
                    format!("still ack = u + 1 = {ack}")
                } else {
                    format!("ack = {ack}")
                };
                format!(
                    "Release 3 of 4: {me} has finished too and sends its own FIN: seq = w = \
                     {fin}, {ack_part}. It enters LAST-ACK and waits for the last \
                     acknowledgement."
                )
            }
            Step::Release(_) => format!(
                "Release 4 of 4: {me} acknowledges that FIN: ack = w + 1 = {ack}. {} receives it \
                 and is CLOSED. {me_cap}, the active closer, enters TIME-WAIT and waits 2·MSL \
                 (twice the maximum segment lifetime) before CLOSED: if this last ACK is lost, \
                 {other} retransmits its FIN and {me} must still be there to acknowledge it again; \
                 the wait also lets old duplicate segments of this connection die out before the \
                 same pair of addresses and ports can be used again.",
                cap(other)
            ),
            Step::ReleaseCombined => format!(
                "Release steps 2 and 3 in one segment: {me} acknowledges the FIN (ack = u + 1 = \
                 {ack}) and, having nothing left to send, sends its own FIN in the same segment \
                 (seq = w = {fin}). It passes through CLOSE-WAIT straight to LAST-ACK. That is \
                 why this release takes three segments instead of four."
            ),
            Step::SimCloseFin { first: true } => {
                format!("{me_cap} closes its direction: FIN, seq = {fin}; it enters FIN-WAIT-1.")
            }
            Step::SimCloseFin { first: false } => format!(
                "{me_cap} sends its own FIN (seq = {fin}) before the other side's FIN has reached \
                 it: the two FINs cross. This is a simultaneous close: each side receives a FIN \
                 while still in FIN-WAIT-1 and goes to CLOSING; once its own FIN is acknowledged, \
                 each enters TIME-WAIT — both are active closers."
            ),
            Step::SimCloseAck => {
                format!("{me_cap} acknowledges {other}'s FIN: ack = its FIN's seq + 1 = {ack}.")
            }
            Step::FinAgain => {
                format!("{me_cap} sends its FIN again: it was not acknowledged in time.")
            }
            Step::Reset => format!(
                "{me_cap} aborts the connection with RST. Unlike a FIN, a RST waits for nothing \
                 and is not acknowledged: the side that accepts it drops the connection at once \
                 (CLOSED, no TIME-WAIT), and data still in flight is lost."
            ),
            Step::HalfCloseData => format!(
                "Half-close: {other} has closed its sending direction with a FIN, but {me} may \
                 still send data — as it does here — and {other}, in FIN-WAIT-2, still receives \
                 and acknowledges it."
            ),
        }
    }

    fn cause(&self, c: Cause) -> &'static str {
        match c {
            Cause::Refused => "refused",
            Cause::RejectedByIcmp => "rejected by ICMP",
            Cause::CaptureProblem => "capture problem",
            Cause::SilentDrop => "silent drop",
            Cause::SynackLostOrNotAccepted => "SYN-ACK lost or not accepted",
            Cause::ResetByMiddlebox => "reset by a middlebox",
            Cause::ApplicationAbort => "application abort",
            Cause::HalfOpen => "half-open",
            Cause::ReceiverNotReading => "receiver not reading",
            Cause::PathMtuBlackHole => "path-MTU black hole",
            Cause::PeerVanished => "peer vanished",
        }
    }

    fn confidence(&self, c: Confidence) -> &'static str {
        c.as_str()
    }

    fn retry_pattern(&self, p: RetryPattern) -> &'static str {
        match p {
            RetryPattern::DoublingFrom1s => "doubling from 1 s, the Linux tcp_syn_retries schedule",
            RetryPattern::DoublingFrom3s => "doubling from 3 s, the Windows schedule",
            RetryPattern::Linear => "equal intervals, Linux's tcp_syn_linear_timeouts",
            RetryPattern::Doubling => "doubling, the retransmission timer backing off",
            RetryPattern::Irregular => "no known schedule",
        }
    }

    fn diagnosis(&self, d: &Diagnosis, intervals: &str) -> String {
        let e = &d.evidence;
        let port = e.port.unwrap_or(0);
        let first = e.frames.first().copied().unwrap_or(0);
        let last = e.frames.last().copied().unwrap_or(0);
        let side = |s: Option<Side>| s.map_or("?", Side::as_str);
        let state = e.state.map_or_else(|| "?".to_string(), |s| s.to_string());
        match d.cause {
            Cause::Refused => {
                let ttl = e.rst_ttl.unwrap_or(0);
                let range = e.ttl_range.map_or_else(String::new, ttl_range);
                match e.firewall {
                    Some(true) => format!(
                        "a RST answered the SYN (frame {last}) with TTL {ttl}, not the TTL \
                         {range} of the server's SYN-ACKs earlier in the capture: a firewall \
                         on the path rejected the connection to port {port} with a reset (the \
                         server may never have seen the SYN)"
                    ),
                    Some(false) => format!(
                        "the server answered the SYN with a RST (frame {last}): nothing listens \
                         on port {port} (the RST's TTL {ttl} is that of the server's SYN-ACKs \
                         earlier in the capture)"
                    ),
                    None => format!(
                        "the server answered the SYN with a RST (frame {last}): nothing listens \
                         on port {port}, or a firewall rejects with a reset"
                    ),
                }
            }
            Cause::RejectedByIcmp => {
                let what = if e.firewall == Some(true) {
                    ": a firewall (administratively prohibited)"
                } else {
                    ""
                };
                format!(
                    "{} answered the SYN with ICMP type {} code {} (frame {last}){what}; \
                     no SYN-ACK came",
                    e.reporter.as_deref().unwrap_or("?"),
                    e.icmp_type.unwrap_or(0),
                    e.icmp_code.unwrap_or(0)
                )
            }
            Cause::SilentDrop => {
                let n = e.syn_count.unwrap_or(1);
                let waited = e.waited_s.unwrap_or(0.0);
                if n <= 1 {
                    format!(
                        "1 SYN to port {port} (frame {first}) got no answer in the {waited:.3} s \
                         before the capture ends: dropped on the way, or the capture ended too soon"
                    )
                } else {
                    let pattern = e
                        .retry_pattern
                        .map_or(String::new(), |p| format!(": {}", self.retry_pattern(p)));
                    format!(
                        "{n} SYNs to port {port} over {waited:.3} s got no answer (intervals \
                         {intervals}{pattern}): a firewall or the path drops them silently"
                    )
                }
            }
            Cause::SynackLostOrNotAccepted => {
                let n = e.syn_ack_count.unwrap_or(1);
                let n = if n == 1 {
                    "once".to_string()
                } else {
                    format!("{n} times")
                };
                if e.client_ack_seen == Some(true) {
                    format!(
                        "the server sent its SYN-ACK {n} although the client's ACK was \
                         captured: the server did not accept the ACK (a full accept queue, \
                         or a problem on the server)"
                    )
                } else {
                    format!(
                        "the server sent its SYN-ACK {n} and the client {}: the SYN-ACKs \
                         were lost on the way back to the client",
                        if e.syn_count.unwrap_or(1) > 1 {
                            "repeated its SYN"
                        } else {
                            "did not acknowledge it"
                        }
                    )
                }
            }
            Cause::CaptureProblem => match (e.acked_unseen, e.side) {
                (Some(n), _) => format!(
                    "{n} acknowledgement(s) cover data the capture never showed (frame {first}): \
                     the capture dropped packets, not the network"
                ),
                (None, s) => format!(
                    "the capture holds no packet from the {}: asymmetric routing or a tap on \
                     one direction, not a network fault",
                    side(s)
                ),
            },
            Cause::ResetByMiddlebox => {
                let who = side(e.side);
                let range = e.ttl_range.map_or_else(String::new, ttl_range);
                let ids = match (e.rst_ip_id, e.last_ip_id, e.ip_ids_increase) {
                    (Some(id), Some(last), Some(true)) => {
                        format!(", IP ID {id:#06x} against a counter at {last:#06x}")
                    }
                    (Some(id), Some(last), _) => format!(", IP ID {id:#06x} after {last:#06x}"),
                    _ => String::new(),
                };
                let race = match (e.race_s, e.frames.get(1)) {
                    (Some(s), Some(n)) => Some((s, n)),
                    _ => None,
                };
                let soon = e.answered_s.zip(e.rtt_s);
                let peer = side(e.side.map(Side::peer));
                let bytes = format!(
                    "the client sent {} bytes and the server {} in all",
                    e.client_bytes.unwrap_or(0),
                    e.server_bytes.unwrap_or(0)
                );
                match race {
                    Some((s, n)) if e.state == Some(State::SynSent) => format!(
                        "a RST said to be from the {who} (frame {first}) refused the connection, \
                         but the {who} answered the same SYN with a SYN-ACK {s:.6} s later \
                         (frame {n}): it was listening, so a device on the path (a firewall, an \
                         IDS, a censor) most likely injected the RST"
                    ),
                    Some((s, n)) if !e.rst_header_off() => format!(
                        "a RST said to be from the {who} (frame {first}) was followed {s:.6} s \
                         later by the {who}'s own data (frame {n}), at or beyond the RST's \
                         sequence number: the {who} never reset the connection, so a device on \
                         the path (a firewall, an IDS, a censor) most likely injected the RST; \
                         {bytes}"
                    ),
                    None if !e.rst_header_off() => {
                        let (answered, rtt) = soon.unwrap_or_default();
                        format!(
                            "a RST said to be from the {who} (frame {first}) acknowledged the \
                             {peer}'s data {answered:.6} s after the capture saw it, less than \
                             half the {rtt:.6} s the {who} took to answer in the handshake: the \
                             {who} cannot have received that data yet, so a device on the path \
                             (a firewall, an IDS, a censor) most likely injected the RST; {bytes}"
                        )
                    }
                    _ => {
                        let raced = race.map_or_else(String::new, |(s, n)| {
                            format!(
                                ", and the {who}'s own data followed it {s:.6} s later (frame {n})"
                            )
                        });
                        let hasty = soon.map_or_else(String::new, |(answered, rtt)| {
                            format!(
                                ", and it acknowledged the {peer}'s data {answered:.6} s after \
                                 it, against a handshake round trip of {rtt:.6} s"
                            )
                        });
                        format!(
                            "a RST said to be from the {who} (frame {first}) does not match the \
                             {who}'s other segments (TTL {} against {range}{ids}{raced}{hasty}): \
                             a device on the path (a firewall, an IDS, a censor) most likely \
                             injected it; {bytes}",
                            e.rst_ttl.unwrap_or(0),
                        )
                    }
                }
            }
            Cause::ApplicationAbort => format!(
                "the {} aborted the connection with a RST in frame {first} while {state}, \
                 after {} bytes from the client and {} from the server: the application \
                 closed with unread data or with SO_LINGER 0",
                side(e.side),
                e.client_bytes.unwrap_or(0),
                e.server_bytes.unwrap_or(0)
            ),
            Cause::HalfOpen => {
                let closer = e.side.unwrap_or(Side::Client);
                format!(
                    "the {} closed (FIN, frame {first}) but the {} never did: it is still \
                     in {state} {:.3} s later, at the connection's last captured segment \
                     (frame {last})",
                    closer.as_str(),
                    closer.peer().as_str(),
                    e.open_for_s.unwrap_or(0.0)
                )
            }
            Cause::ReceiverNotReading => {
                let who = side(e.side);
                let other = e.side.map_or("?", |s| s.peer().as_str());
                let ended = match e.ended {
                    Some(StallEnd::Resumed) => "then it reopened",
                    Some(StallEnd::Reset) => "it was still shut when a RST ended the connection",
                    Some(StallEnd::Closed) => "it was still shut when the connection closed",
                    _ => "it is still shut when the capture ends",
                };
                format!(
                    "the {who}'s receive window was shut (zero) for {:.3} s from frame {first} \
                     ({:.3} s in all, {} probe(s) from the {other}), and {ended}: the {who}'s \
                     application did not read its data",
                    e.zero_window_s.unwrap_or(0.0),
                    e.zero_window_total_s.unwrap_or(0.0),
                    e.probes.unwrap_or(0)
                )
            }
            Cause::PathMtuBlackHole => {
                let mss = |m: Option<u16>| m.map_or_else(|| "?".to_string(), |m| m.to_string());
                format!(
                    "the {}'s {}-byte segments were sent again {} times (frames {first}-{last}) \
                     and never acknowledged while {}-byte ones got through (MSS client {}, \
                     server {}), and no ICMP \"fragmentation needed\" came: a path-MTU black \
                     hole drops the full-size packets",
                    side(e.side),
                    e.segment_size.unwrap_or(0),
                    e.retransmissions.unwrap_or(0),
                    e.largest_acked.unwrap_or(0),
                    mss(e.client_mss),
                    mss(e.server_mss)
                )
            }
            Cause::PeerVanished => {
                let other = e.side.map_or("?", |s| s.peer().as_str());
                let mut sent = Vec::new();
                if let Some(n) = e.retransmissions {
                    sent.push(format!("{n} retransmission(s)"));
                }
                if let Some(n) = e.keepalives {
                    sent.push(format!("{n} keep-alive(s)"));
                }
                let pattern = match e.retry_pattern {
                    Some(RetryPattern::Linear) if e.keepalives.is_some() => {
                        ": equal intervals, the keep-alive interval (TCP_KEEPINTVL)".to_string()
                    }
                    p => p.map_or(String::new(), |p| format!(": {}", self.retry_pattern(p))),
                };
                let ended = match e.ended {
                    Some(StallEnd::Reset) => format!("until the {other} gave up with a RST"),
                    _ => "until the capture ends".to_string(),
                };
                format!(
                    "the {} went silent after frame {first} ({:.3} s into the connection): \
                     the {other}'s {} got no answer over {:.3} s (intervals \
                     {intervals}{pattern}), {ended}",
                    side(e.side),
                    e.last_seen_s.unwrap_or(0.0),
                    sent.join(" and "),
                    e.waited_s.unwrap_or(0.0)
                )
            }
        }
    }
}

/// A TTL range, one number when it is one.
fn ttl_range([lo, hi]: [u8; 2]) -> String {
    if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}-{hi}")
    }
}

/// The opening phase's heading.
fn opening(status: HandshakeStatus) -> &'static str {
    match status {
        HandshakeStatus::Simultaneous => "simultaneous open",
        HandshakeStatus::Refused => "opening refused: the SYN is answered by RST",
        HandshakeStatus::Unanswered => "opening: the SYN is never answered",
        HandshakeStatus::Unreachable => {
            "opening unreachable: an ICMP error answers the SYN, no SYN-ACK comes"
        }
        HandshakeStatus::Incomplete => "three-way handshake, never completed",
        _ => "three-way handshake",
    }
}
