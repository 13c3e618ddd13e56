//! The verdict on a finished connection, reached once: how it opened and
//! how it was released (from the observations [`crate::connection`] made), the
//! checks about the connection as a whole, and the [`Assessment`] that the
//! summary counts and the report model shows.
//!
//! The per-segment checks ([`crate::checks`]) ran while the connection was
//! tracked; their findings join the ones made here.

use crate::checks::{Checker, Finding, Sends, MAX_FRAMES};
use crate::connection::{push_ip, At, Connection, IcmpSeen};
use crate::decode::IcmpKind;
use crate::rules::Check;
use crate::state::{Side, State};
use crate::zeek::ConnState;
use serde::{Serialize, Serializer};
use std::net::IpAddr;

/// How the connection was opened.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum HandshakeStatus {
    /// SYN, SYN-ACK and the final ACK all seen.
    Complete,
    /// Both sides sent a bare SYN (simultaneous open).
    Simultaneous,
    /// A RST answered the SYN.
    Refused,
    /// SYNs only: no answer.
    Unanswered,
    /// An ICMP error (destination unreachable, administratively prohibited,
    /// time exceeded…) answered the SYN instead of a SYN-ACK.
    Unreachable,
    /// SYN-ACK seen, the final ACK never.
    Incomplete,
    /// The capture began after the handshake.
    Missing,
}

impl HandshakeStatus {
    pub const ALL: [HandshakeStatus; 7] = [
        HandshakeStatus::Complete,
        HandshakeStatus::Simultaneous,
        HandshakeStatus::Refused,
        HandshakeStatus::Unanswered,
        HandshakeStatus::Unreachable,
        HandshakeStatus::Incomplete,
        HandshakeStatus::Missing,
    ];
    /// The statuses a summary lists even when none occurred: every one but
    /// `unreachable`, which is listed only when it occurred (so that the
    /// summaries of captures without ICMP errors stay what they were).
    pub const LISTED: [HandshakeStatus; 6] = [
        HandshakeStatus::Complete,
        HandshakeStatus::Simultaneous,
        HandshakeStatus::Refused,
        HandshakeStatus::Unanswered,
        HandshakeStatus::Incomplete,
        HandshakeStatus::Missing,
    ];
    pub const fn as_str(self) -> &'static str {
        match self {
            HandshakeStatus::Complete => "complete",
            HandshakeStatus::Simultaneous => "simultaneous",
            HandshakeStatus::Refused => "refused",
            HandshakeStatus::Unanswered => "unanswered",
            HandshakeStatus::Unreachable => "unreachable",
            HandshakeStatus::Incomplete => "incomplete",
            HandshakeStatus::Missing => "missing",
        }
    }
}

/// How the connection was released.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TeardownStatus {
    /// Both FINs sent and acknowledged.
    Graceful,
    /// The FINs crossed: each side sent its FIN before receiving the other's.
    Simultaneous,
    /// Ended by an acceptable RST.
    Reset,
    /// One FIN only.
    HalfClosed,
    /// Both FINs sent, the last ACK not seen.
    Incomplete,
    /// No FIN and no RST.
    None,
}

impl TeardownStatus {
    pub const ALL: [TeardownStatus; 6] = [
        TeardownStatus::Graceful,
        TeardownStatus::Simultaneous,
        TeardownStatus::Reset,
        TeardownStatus::HalfClosed,
        TeardownStatus::Incomplete,
        TeardownStatus::None,
    ];
    pub const fn as_str(self) -> &'static str {
        match self {
            TeardownStatus::Graceful => "graceful",
            TeardownStatus::Simultaneous => "simultaneous",
            TeardownStatus::Reset => "reset",
            TeardownStatus::HalfClosed => "half_closed",
            TeardownStatus::Incomplete => "incomplete",
            TeardownStatus::None => "none",
        }
    }
}

/// Who started the release: one side, or both at once (simultaneous close).
/// Serialized as `client`, `server` or `both`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Initiator {
    One(Side),
    Both,
}

impl Initiator {
    pub const fn as_str(self) -> &'static str {
        match self {
            Initiator::One(side) => side.as_str(),
            Initiator::Both => "both",
        }
    }

    /// The side that started the release, unless both did.
    pub const fn side(self) -> Option<Side> {
        match self {
            Initiator::One(side) => Some(side),
            Initiator::Both => None,
        }
    }
}

impl Serialize for Initiator {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// How the connection opened, from the frames observed.
pub fn handshake(c: &Connection) -> HandshakeStatus {
    let o = &c.obs;
    if o.server_bare_syn && o.syn.get().is_some() {
        HandshakeStatus::Simultaneous
    } else if o.refused {
        HandshakeStatus::Refused
    } else if o.syn.get().is_some() && o.syn_ack.get().is_none() && c.syn_rejected_by_icmp() {
        HandshakeStatus::Unreachable
    } else if o.syn.get().is_none() && o.syn_ack.get().is_none() {
        HandshakeStatus::Missing
    } else if o.hs_ack.get().is_some() {
        HandshakeStatus::Complete
    } else if o.syn_ack.get().is_some() {
        HandshakeStatus::Incomplete
    } else {
        HandshakeStatus::Unanswered
    }
}

/// How the connection was released, and who began the release.
pub fn teardown(c: &Connection) -> (TeardownStatus, Option<Initiator>) {
    let o = &c.obs;
    let client = c.tracker.endpoint(Side::Client);
    let server = c.tracker.endpoint(Side::Server);
    let fins_done_at = match (o.fin_ack[Side::Client].get(), o.fin_ack[Side::Server].get()) {
        (Some(a), Some(b)) => Some(a.frame.max(b.frame)),
        _ => None,
    };
    if let Some((at, who)) = o.rst.get() {
        let after_release = fins_done_at.is_some_and(|done| at.frame > done);
        if o.refused {
            return (TeardownStatus::None, None);
        }
        if !after_release {
            return (TeardownStatus::Reset, Some(Initiator::One(who)));
        }
    }
    match (o.fin[Side::Client].get(), o.fin[Side::Server].get()) {
        (Some(_), Some(_)) => {
            if client.active_close && server.active_close {
                (TeardownStatus::Simultaneous, Some(Initiator::Both))
            } else {
                let first = if client.active_close {
                    Side::Client
                } else {
                    Side::Server
                };
                let status = if fins_done_at.is_some() {
                    TeardownStatus::Graceful
                } else {
                    TeardownStatus::Incomplete
                };
                (status, Some(Initiator::One(first)))
            }
        }
        (Some(_), None) => (
            TeardownStatus::HalfClosed,
            Some(Initiator::One(Side::Client)),
        ),
        (None, Some(_)) => (
            TeardownStatus::HalfClosed,
            Some(Initiator::One(Side::Server)),
        ),
        (None, None) => (TeardownStatus::None, None),
    }
}

/// Frames involved in the release: the FINs, the ACKs of the FINs and the RST.
pub fn teardown_frames(c: &Connection) -> Vec<u64> {
    let o = &c.obs;
    let mut frames: Vec<u64> = [
        o.fin[Side::Client].get(),
        o.fin[Side::Server].get(),
        o.fin_ack[Side::Client].get(),
        o.fin_ack[Side::Server].get(),
        o.rst.get().map(|r| r.0),
    ]
    .into_iter()
    .flatten()
    .map(|at: At| at.frame)
    .collect();
    frames.sort_unstable();
    frames.dedup();
    frames
}

/// How much of each finding an [`Assessment`] builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// The check and its count: what the summary counts. Frames and
    /// message are left empty, so that a connection whose report nobody
    /// wants costs no formatting.
    Counts,
    /// Frames and message too: what a report shows.
    Full,
}

/// The verdicts on a finished connection: what the summary counts, and the
/// part of its report that takes judgment rather than copying.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub handshake: HandshakeStatus,
    pub teardown: TeardownStatus,
    pub initiator: Option<Initiator>,
    pub conn_state: ConnState,
    /// The server's address and port.
    pub server: (IpAddr, u16),
    /// What the checks found, except the checks in `allow`, ordered by
    /// first frame, then check.
    pub findings: Vec<Finding>,
}

impl Assessment {
    /// Judges `c`, once. With [`Detail::Counts`], findings carry no frames
    /// or message: enough for the summary, not for a report.
    pub fn of(c: &Connection, allow: &[Check], detail: Detail) -> Assessment {
        let handshake = handshake(c);
        let (teardown, initiator) = teardown(c);
        let mut found = Found::new(&c.checker, detail);
        found.resent(c);
        found.opening(c, handshake);
        found.icmp(c);
        found.unacked_fins(c);
        found.release(c, teardown);
        found.time_wait(c);
        let mut findings = found.findings;
        findings.sort_by_key(|f| (f.frames.first().copied().unwrap_or(0), f.check));
        findings.retain(|f| !allow.contains(&f.check));
        Assessment {
            handshake,
            teardown,
            initiator,
            conn_state: c.zeek.conn_state(),
            server: (c.server.ip, c.server.port),
            findings,
        }
    }
}

/// A finding without frames or message.
fn counted(check: Check, count: u64) -> Finding {
    Finding {
        check,
        message: String::new(),
        frames: Vec::new(),
        count,
    }
}

/// The findings of one connection, as the checks about the whole of it are
/// added to the per-segment ones.
struct Found<'a> {
    checker: &'a Checker,
    detail: Detail,
    findings: Vec<Finding>,
}

impl<'a> Found<'a> {
    /// Starts from the per-segment findings, with as much of each as
    /// `detail` asks.
    fn new(checker: &'a Checker, detail: Detail) -> Found<'a> {
        let findings = match detail {
            Detail::Full => checker.findings().to_vec(),
            Detail::Counts => checker
                .findings()
                .iter()
                .map(|f| counted(f.check, f.count))
                .collect(),
        };
        Found {
            checker,
            detail,
            findings,
        }
    }

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
            Detail::Counts => counted(check, count),
        });
    }

    /// SYNs and SYN-ACKs sent more than once.
    fn resent(&mut self, c: &Connection) {
        let o = &c.obs;
        let checker = self.checker;
        let resent = [
            (
                Check::SynRetransmitted,
                o.syn_count,
                checker.syn_sends(),
                "the client sent its SYN",
            ),
            (
                Check::SynAckRetransmitted,
                o.syn_ack_count,
                checker.syn_ack_sends(),
                "the server sent its SYN-ACK",
            ),
        ];
        for (check, sent, sends, what) in resent {
            if sent > 1 {
                self.add(
                    check,
                    u64::from(sent - 1),
                    || frames_of(sends),
                    || format!("{what} {sent} times{}", intervals(&sends.list())),
                );
            }
        }
    }

    /// How the handshake went (`status`), when it did not go as it should.
    fn opening(&mut self, c: &Connection, status: HandshakeStatus) {
        let o = &c.obs;
        let checker = self.checker;
        let first = |a: Option<At>| a.map(|a| a.frame);
        // The frames of the SYN and the SYN-ACK.
        let opening = || {
            [first(o.syn.get()), first(o.syn_ack.get())]
                .into_iter()
                .flatten()
                .collect()
        };
        match status {
            HandshakeStatus::Refused => {
                let rst = o.rst.get().map(|(a, _)| a.frame);
                let frames = || [first(o.syn.get()), rst].into_iter().flatten().collect();
                let port = c.server.port;
                self.add(Check::Refused, 1, frames, || {
                    format!(
                        "the server answered the SYN with a RST (frame {}): \
                         nothing listens on port {port}",
                        rst.unwrap_or(0)
                    )
                });
            }
            HandshakeStatus::Unanswered => self.add(
                Check::SynUnanswered,
                1,
                || frames_of(checker.syn_sends()),
                || {
                    // Every connection of a SYN flood or a scan says this.
                    let mut text = String::with_capacity(48);
                    text.push_str(itoa::Buffer::new().format(o.syn_count));
                    text.push_str(" SYN(s) to ");
                    push_ip(&mut text, c.server.ip);
                    text.push_str(" port ");
                    text.push_str(itoa::Buffer::new().format(c.server.port));
                    text.push_str(" got no answer");
                    text
                },
            ),
            HandshakeStatus::Incomplete => self.add(Check::HandshakeIncomplete, 1, opening, || {
                "the server sent a SYN-ACK but the client's final ACK never appeared".into()
            }),
            HandshakeStatus::Simultaneous => self.add(Check::SimultaneousOpen, 1, opening, || {
                "both sides sent a SYN: each went SYN-SENT → SYN-RECEIVED → ESTABLISHED".into()
            }),
            HandshakeStatus::Missing => self.add(
                Check::HandshakeNotCaptured,
                1,
                || vec![c.first.frame],
                || {
                    "the capture begins after the handshake: ISNs and window scaling are unknown"
                        .into()
                },
            ),
            // The ICMP findings say it (`Found::icmp`).
            HandshakeStatus::Complete | HandshakeStatus::Unreachable => {}
        }
    }

    /// IC001–IC005: the ICMP errors about the connection's segments, one
    /// finding per kind of check, counting every error of that kind.
    fn icmp(&mut self, c: &Connection) {
        let Some(all) = c.icmp.as_deref() else {
            return;
        };
        for check in [
            Check::IcmpUnreachable,
            Check::IcmpAdminProhibited,
            Check::IcmpPacketTooBig,
            Check::IcmpTimeExceeded,
            Check::IcmpOther,
        ] {
            let count: u64 = IcmpKind::ALL
                .into_iter()
                .filter(|&k| icmp_check(k) == check)
                .map(|k| all.count(k))
                .sum();
            if count == 0 {
                continue;
            }
            let of_check = || {
                all.kept
                    .iter()
                    .filter(move |i| icmp_check(i.error.kind) == check)
            };
            let frames = || {
                let mut frames: Vec<u64> = of_check()
                    .flat_map(|i| [Some(i.at.frame), i.quoted_frame])
                    .flatten()
                    .collect();
                frames.sort_unstable();
                frames.dedup();
                frames.truncate(MAX_FRAMES);
                frames
            };
            self.add(check, count, frames, || {
                let first = of_check().next();
                let mut text = first.map_or_else(String::new, |i| icmp_message(c, i));
                if count > 1 {
                    let frames: Vec<String> =
                        of_check().skip(1).map(|i| i.at.frame.to_string()).collect();
                    text.push_str(&format!(
                        "; {} more such error{}",
                        count - 1,
                        if count == 2 { "" } else { "s" }
                    ));
                    if !frames.is_empty() {
                        text.push_str(&format!(" (frame {})", frames.join(", ")));
                    }
                }
                text
            });
        }
    }

    /// RL001: a FIN the peer went on past without acknowledging it.
    fn unacked_fins(&mut self, c: &Connection) {
        let o = &c.obs;
        for side in [Side::Client, Side::Server] {
            let peer = side.peer();
            let (Some(fin_at), Some(peer_fin_at)) = (o.fin[side].get(), o.fin[peer].get()) else {
                continue;
            };
            let e = c.tracker.endpoint(side);
            if o.fin_ack[side].get().is_none()
                && peer_fin_at.frame > fin_at.frame
                && c.tracker.endpoint(peer).last_ack == e.fin_seq
            {
                let u = e.fin_seq.map(|s| s.raw()).unwrap_or(0);
                let frames = || vec![fin_at.frame, peer_fin_at.frame];
                self.add(Check::FinNotAcked, 1, frames, || {
                    format!(
                        "the {} sent FIN seq={u} (frame {}); the {} closed too (frame {}) \
                         but acknowledges {u}, not {} (= {u} + 1)",
                        side.as_str(),
                        fin_at.frame,
                        peer.as_str(),
                        peer_fin_at.frame,
                        u.wrapping_add(1)
                    )
                });
            }
        }
    }

    /// How the release went (`status`), when it did not go as it should.
    fn release(&mut self, c: &Connection, status: TeardownStatus) {
        let o = &c.obs;
        let fin_frame = |s: Side| o.fin[s].get().map(|a| a.frame);
        match status {
            TeardownStatus::Incomplete => {
                let unacked = || {
                    [Side::Client, Side::Server]
                        .into_iter()
                        .filter(|s| o.fin_ack[*s].get().is_none())
                };
                self.add(
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
                let closer = if o.fin[Side::Client].get().is_some() {
                    Side::Client
                } else {
                    Side::Server
                };
                let other = c.tracker.endpoint(closer.peer()).state();
                let frames = || fin_frame(closer).into_iter().collect();
                self.add(Check::HalfClosedAtEnd, 1, frames, || {
                    format!(
                        "the {} sent FIN (frame {}) but the {} never closed: \
                         it is {} when the capture ends",
                        closer.as_str(),
                        fin_frame(closer).unwrap_or(0),
                        closer.peer().as_str(),
                        other
                    )
                });
            }
            TeardownStatus::Reset => {
                if let (Some((at, who)), Some((_, state))) = (o.rst.get(), self.checker.abort()) {
                    self.add(
                        Check::RstAbort,
                        1,
                        || vec![at.frame],
                        || {
                            let who = who.as_str();
                            format!(
                            "the {who} aborted the connection with RST in frame {} while {state}",
                            at.frame
                        )
                        },
                    );
                }
            }
            TeardownStatus::Simultaneous => {
                let frames = || {
                    [fin_frame(Side::Client), fin_frame(Side::Server)]
                        .into_iter()
                        .flatten()
                        .collect()
                };
                self.add(Check::SimultaneousClose, 1, frames, || {
                    "both sides sent a FIN before receiving the other's: \
                     both went FIN-WAIT-1 → CLOSING → TIME-WAIT"
                        .into()
                });
            }
            TeardownStatus::Graceful | TeardownStatus::None => {}
        }
    }

    /// RL009: a side that ends in TIME-WAIT.
    fn time_wait(&mut self, c: &Connection) {
        let in_time_wait = |s: Side| c.tracker.endpoint(s).state() == State::TimeWait;
        let waiting = match (in_time_wait(Side::Client), in_time_wait(Side::Server)) {
            (false, false) => return,
            (true, false) => Some(Side::Client),
            (false, true) => Some(Side::Server),
            (true, true) => None,
        };
        self.add(
            Check::TimeWait,
            1,
            || vec![c.last.frame],
            || match waiting {
                Some(side) => {
                    // The commonest message of all, written without `format!`.
                    let addr = c.addr(side);
                    let mut text = String::with_capacity(80);
                    text.push_str("the ");
                    text.push_str(side.as_str());
                    text.push_str(" ends in TIME-WAIT and keeps ");
                    push_ip(&mut text, addr.ip);
                    text.push(':');
                    text.push_str(itoa::Buffer::new().format(addr.port));
                    text.push_str(" reserved for 2·MSL");
                    text
                }
                None => "both sides end in TIME-WAIT and keep the 4-tuple reserved for 2·MSL"
                    .to_string(),
            },
        );
    }
}

/// The check an ICMP error of `kind` is reported under.
pub fn icmp_check(kind: IcmpKind) -> Check {
    match kind {
        IcmpKind::Unreachable => Check::IcmpUnreachable,
        IcmpKind::AdminProhibited => Check::IcmpAdminProhibited,
        IcmpKind::PacketTooBig => Check::IcmpPacketTooBig,
        IcmpKind::TimeExceeded => Check::IcmpTimeExceeded,
        IcmpKind::Redirect | IcmpKind::ParameterProblem | IcmpKind::SourceQuench => {
            Check::IcmpOther
        }
    }
}

/// One ICMP error in words: who reported what, about which segment.
/// "10.0.1.254 reported destination unreachable: communication
/// administratively prohibited (ICMP type 3 code 13) in frame 2, about the
/// client's SYN seq=… (frame 1)".
fn icmp_message(c: &Connection, i: &IcmpSeen) -> String {
    let e = &i.error;
    let q = &e.quoted;
    let proto = if e.v6 { "ICMPv6" } else { "ICMP" };
    let isn = c.tracker.endpoint(i.side).isn;
    let what = match q.seq {
        Some(seq) if Some(seq) == isn => {
            let syn = if i.side == Side::Client {
                "SYN"
            } else {
                "SYN-ACK"
            };
            format!("{syn} seq={}", seq.raw())
        }
        Some(seq) => {
            let rel = c.base[i.side].map(|b| seq - b);
            match rel {
                Some(rel) => format!("segment seq={} (relative {rel})", seq.raw()),
                None => format!("segment seq={}", seq.raw()),
            }
        }
        None => "segment (sequence number not quoted)".to_string(),
    };
    let mut text = format!(
        "{} reported {} ({proto} type {} code {}) in frame {}, about the {}'s {what}",
        e.reporter,
        e.description(),
        e.icmp_type,
        e.code,
        i.at.frame,
        i.side.as_str(),
    );
    match (i.quoted_frame, q.seq) {
        (Some(frame), _) => text.push_str(&format!(" (frame {frame})")),
        (None, Some(_)) => text.push_str(" (not among the segments captured)"),
        (None, None) => {}
    }
    if let Some(mtu) = e.mtu {
        text.push_str(&format!("; MTU {mtu}, the packet was {} bytes", q.ip_len));
    }
    if let Some(gateway) = e.gateway {
        text.push_str(&format!("; gateway {gateway}"));
    }
    if e.kind == IcmpKind::TimeExceeded {
        text.push_str(&format!("; it arrived with TTL {}", q.ttl));
    }
    text
}

/// The frames of the sends, at most [`MAX_FRAMES`].
fn frames_of(sends: &Sends) -> Vec<u64> {
    sends
        .list()
        .iter()
        .map(|(f, _)| *f)
        .take(MAX_FRAMES)
        .collect()
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
