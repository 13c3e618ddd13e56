//! Why a connection that is not simply fine failed or stalled: one cause
//! from the catalog of `docs/diagnosis.md`, how sure it is, and the
//! evidence, read from the finished connection and its [`Assessment`]
//! (never from strings). A connection that is fine gets no diagnosis.
//!
//! The words are not made here: the teaching texts
//! ([`crate::teach::text`]) word a [`Diagnosis`] in each language, and the
//! report carries the English one (`text`).

use crate::checks::MAX_FRAMES;
use crate::connection::{At, Connection, IdPattern};
use crate::decode::IcmpKind;
use crate::rules::Check;
use crate::state::{Side, State};
use crate::verdict::{Assessment, HandshakeStatus, TeardownStatus};
use schemars::JsonSchema;
use serde::Serialize;

/// The causes the diagnosis knows, in the order they are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// A RST answered the SYN: nothing listens on the port.
    Refused,
    /// An ICMP error answered the SYN (a router, a firewall, the host).
    RejectedByIcmp,
    /// One direction of the connection is missing from the capture, or
    /// acknowledgements cover data it never showed.
    CaptureProblem,
    /// SYNs with nothing back.
    SilentDrop,
    /// The server sent its SYN-ACK more than once.
    SynackLostOrNotAccepted,
    /// A RST whose IP header does not match its claimed sender's other
    /// packets ended an open connection: injected on the path.
    ResetByMiddlebox,
    /// A RST ended an open connection.
    ApplicationAbort,
    /// One side closed, the other never did.
    HalfOpen,
    /// A receive window shut (zero) for a second or more: the receiving
    /// application did not read.
    ReceiverNotReading,
    /// Small segments got through, the full-size ones were retransmitted
    /// and never acknowledged, and no ICMP "fragmentation needed" came.
    PathMtuBlackHole,
    /// One side went silent: the other's retransmissions or keep-alives
    /// got no answer until the capture ends or a RST.
    PeerVanished,
}

impl Cause {
    pub const ALL: [Cause; 11] = [
        Cause::Refused,
        Cause::RejectedByIcmp,
        Cause::CaptureProblem,
        Cause::SilentDrop,
        Cause::SynackLostOrNotAccepted,
        Cause::ResetByMiddlebox,
        Cause::ApplicationAbort,
        Cause::HalfOpen,
        Cause::ReceiverNotReading,
        Cause::PathMtuBlackHole,
        Cause::PeerVanished,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Cause::Refused => "refused",
            Cause::RejectedByIcmp => "rejected_by_icmp",
            Cause::CaptureProblem => "capture_problem",
            Cause::SilentDrop => "silent_drop",
            Cause::SynackLostOrNotAccepted => "synack_lost_or_not_accepted",
            Cause::ResetByMiddlebox => "reset_by_middlebox",
            Cause::ApplicationAbort => "application_abort",
            Cause::HalfOpen => "half_open",
            Cause::ReceiverNotReading => "receiver_not_reading",
            Cause::PathMtuBlackHole => "path_mtu_black_hole",
            Cause::PeerVanished => "peer_vanished",
        }
    }

    /// The cause named `name` (its JSON name; `-` may stand for `_`).
    pub fn from_name(name: &str) -> Option<Cause> {
        let name = name.replace('-', "_").to_ascii_lowercase();
        Cause::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

/// How sure a diagnosis is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// The capture proves it.
    Certain,
    /// It fits a known pattern; the capture does not exclude another cause.
    Likely,
}

impl Confidence {
    pub const fn as_str(self) -> &'static str {
        match self {
            Confidence::Certain => "certain",
            Confidence::Likely => "likely",
        }
    }
}

/// The retry schedule the intervals between repeated SYNs (or SYN-ACKs)
/// follow (each interval within 25 % of the schedule's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RetryPattern {
    /// 1 s, 2 s, 4 s, 8 s…: an initial RTO of 1 s (RFC 6298) doubled at
    /// each retry, Linux's `tcp_syn_retries` schedule.
    #[serde(rename = "doubling_from_1s")]
    DoublingFrom1s,
    /// 3 s, 6 s…: the 3 s initial RTO of RFC 1122, Windows' schedule.
    #[serde(rename = "doubling_from_3s")]
    DoublingFrom3s,
    /// Equal intervals: Linux's `tcp_syn_linear_timeouts` (6.x) retries,
    /// or keep-alives every `TCP_KEEPINTVL`.
    Linear,
    /// Each interval 1.5 to 3 times the one before, from any first
    /// interval: the retransmission timer backing off (RFC 6298 §5.5).
    Doubling,
    /// None of the above.
    Irregular,
}

impl RetryPattern {
    pub const fn as_str(self) -> &'static str {
        match self {
            RetryPattern::DoublingFrom1s => "doubling_from_1s",
            RetryPattern::DoublingFrom3s => "doubling_from_3s",
            RetryPattern::Linear => "linear",
            RetryPattern::Doubling => "doubling",
            RetryPattern::Irregular => "irregular",
        }
    }

    /// The schedule of `gaps` (seconds), if there is at least one gap.
    pub fn of(gaps: &[f64]) -> Option<RetryPattern> {
        let first = *gaps.first()?;
        let near = |x: f64, want: f64| (x - want).abs() <= want * 0.25;
        let doubling_from = |start: f64| {
            gaps.iter()
                .enumerate()
                .all(|(i, &g)| near(g, start * f64::from(1u32 << i.min(20))))
        };
        Some(if doubling_from(1.0) && gaps.len() >= 2 {
            RetryPattern::DoublingFrom1s
        } else if doubling_from(3.0) {
            RetryPattern::DoublingFrom3s
        } else if first > 0.0 && gaps.iter().all(|&g| near(g, first)) {
            RetryPattern::Linear
        } else if doubling_from(1.0) {
            RetryPattern::DoublingFrom1s
        } else {
            RetryPattern::Irregular
        })
    }
}

impl RetryPattern {
    /// The back-off of data retransmissions or keep-alives `gaps` apart
    /// (seconds): a schedule of [`RetryPattern::of`] when one fits, else
    /// [`RetryPattern::Doubling`] when each gap is 1.5 to 3 times the one
    /// before (at least two gaps).
    pub fn backoff(gaps: &[f64]) -> Option<RetryPattern> {
        let known = RetryPattern::of(gaps)?;
        if known != RetryPattern::Irregular {
            return Some(known);
        }
        let doubling = gaps.len() >= 2
            && gaps
                .windows(2)
                .all(|w| w[0] > 0.0 && (1.5..=3.0).contains(&(w[1] / w[0])));
        Some(if doubling {
            RetryPattern::Doubling
        } else {
            RetryPattern::Irregular
        })
    }
}

/// How a stall ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StallEnd {
    /// The window reopened and the transfer went on.
    Resumed,
    /// A RST ended the connection while it was stalled.
    Reset,
    /// A FIN closed it while it was stalled.
    Closed,
    /// The capture ends first.
    CaptureEnd,
}

impl StallEnd {
    pub const fn as_str(self) -> &'static str {
        match self {
            StallEnd::Resumed => "resumed",
            StallEnd::Reset => "reset",
            StallEnd::Closed => "closed",
            StallEnd::CaptureEnd => "capture_end",
        }
    }
}

/// What a diagnosis rests on. Each cause fills the fields it needs; the
/// others are left out of the JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct Evidence {
    /// The frames that show it, ascending (at most 20).
    pub frames: Vec<u64>,
    /// The server's port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The client's SYNs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syn_count: Option<u32>,
    /// The server's SYN-ACKs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syn_ack_count: Option<u32>,
    /// Seconds between successive sends of the SYN (or of the SYN-ACK),
    /// for the first four sends.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub intervals_s: Vec<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_pattern: Option<RetryPattern>,
    /// Seconds from the first SYN to the connection's last segment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waited_s: Option<f64>,
    /// Whether the client's ACK of the SYN-ACK was seen before the server
    /// sent its SYN-ACK again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ack_seen: Option<bool>,
    /// The address that sent the ICMP error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reporter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp_type: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp_code: Option<u8>,
    /// The ICMP error says a filter rejected the packet (administratively
    /// prohibited); for a refused connection, the RST's TTL differs from
    /// the server's (left out when the capture holds no TTL of the server
    /// to compare with).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firewall: Option<bool>,
    /// The IP TTL (IPv6 hop limit) of the RST.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rst_ttl: Option<u8>,
    /// The lowest and highest TTL of the RST's sender's other segments
    /// (for a refused connection: of the server's SYN-ACKs on earlier
    /// connections in the capture).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl_range: Option<[u8; 2]>,
    /// The IPv4 ID of the RST.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rst_ip_id: Option<u16>,
    /// The last nonzero IPv4 ID of the RST's sender before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_ip_id: Option<u16>,
    /// Whether the sender's nonzero IPv4 IDs went up one counter (each 1
    /// to 1024 above the last) before the RST.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_ids_increase: Option<bool>,
    /// The side the cause is about: the one that sent the RST, the one that
    /// closed, or the one never captured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub side: Option<Side>,
    /// That side's state when it sent the RST; for a half-open
    /// connection, the state the other side is left in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
    /// Payload bytes each side sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_bytes: Option<u64>,
    /// Seconds from the FIN to the end of the connection in the capture.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_for_s: Option<f64>,
    /// Seconds from a RST to the data its claimed sender sent after it,
    /// at or beyond its sequence number, or to the server's SYN-ACK after
    /// a RST that refused the connection (the second of `frames`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub race_s: Option<f64>,
    /// Seconds from the other side's data (the segment that brought it to
    /// the end the RST acknowledges) to the RST.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered_s: Option<f64>,
    /// Seconds the RST's claimed sender took to answer in the handshake,
    /// seen from the capture point: SYN to SYN-ACK for the server, SYN-ACK
    /// to the client's ACK for the client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtt_s: Option<f64>,
    /// Acknowledgements of data the capture never showed (DT004).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acked_unseen: Option<u64>,
    /// The MSS option of each side's SYN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_mss: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_mss: Option<u16>,
    /// The payload of the segments that never got through (bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment_size: Option<u32>,
    /// The largest payload of one of that side's segments that was
    /// acknowledged (bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub largest_acked: Option<u32>,
    /// Retransmissions: of the segments that never got through, or sent
    /// after the vanished side's last segment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retransmissions: Option<u32>,
    /// Keep-alives sent after the vanished side's last segment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keepalives: Option<u32>,
    /// Seconds from the connection's first segment to the vanished side's
    /// last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen_s: Option<f64>,
    /// The longest time the window stayed shut, and the total (seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zero_window_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zero_window_total_s: Option<f64>,
    /// Segments the other side sent into the shut window (its
    /// zero-window probes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probes: Option<u32>,
    /// How the stall ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended: Option<StallEnd>,
}

/// Why one connection failed or stalled.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Diagnosis {
    pub cause: Cause,
    pub confidence: Confidence,
    pub evidence: Evidence,
    /// The diagnosis in one English sentence (the teaching texts word it;
    /// empty until the report is made).
    pub text: String,
}

/// The evidence that the capture holds no segment from `missing`.
fn one_way(c: &Connection, missing: Side) -> Evidence {
    let client = c.stats(Side::Client);
    let server = c.stats(Side::Server);
    Evidence {
        frames: frames([Some(c.first.frame), Some(c.last.frame)]),
        side: Some(missing),
        syn_count: Some(c.obs.syn_count),
        client_bytes: Some(client.payload_bytes),
        server_bytes: Some(server.payload_bytes),
        ..Evidence::default()
    }
}

/// Seconds between two capture times.
fn secs(from: i64, to: i64) -> f64 {
    let ns = to.saturating_sub(from).max(0);
    // Rounded to the microsecond, as the capture's times are.
    (ns as f64 / 1e3).round() / 1e6
}

/// The intervals between successive sends.
fn gaps(sends: &[(u64, i64)]) -> Vec<f64> {
    sends.windows(2).map(|w| secs(w[0].1, w[1].1)).collect()
}

fn frames(list: impl IntoIterator<Item = Option<u64>>) -> Vec<u64> {
    let mut frames: Vec<u64> = list.into_iter().flatten().collect();
    frames.sort_unstable();
    frames.dedup();
    frames.truncate(MAX_FRAMES);
    frames
}

fn frame(a: Option<At>) -> Option<u64> {
    a.map(|a| a.frame)
}

/// Whether the connection is fine: complete handshake, a graceful release
/// (or none yet), no warning or error among its findings.
pub fn is_fine(a: &Assessment) -> bool {
    a.handshake == HandshakeStatus::Complete
        && matches!(
            a.teardown,
            TeardownStatus::Graceful | TeardownStatus::Simultaneous | TeardownStatus::None
        )
        && a.findings
            .iter()
            .all(|f| f.check.severity() < crate::rules::Severity::Warning)
}

/// The diagnosis of a finished connection, or `None` when none of the
/// causes fits (every connection that [`is_fine`] among them). Its `text`
/// is left empty.
pub fn diagnose(c: &Connection, a: &Assessment) -> Option<Diagnosis> {
    if is_fine(a) {
        return None;
    }
    let found = |cause, confidence, evidence| {
        Some(Diagnosis {
            cause,
            confidence,
            evidence,
            text: String::new(),
        })
    };
    let o = &c.obs;
    let client = c.stats(Side::Client);
    let server = c.stats(Side::Server);
    let waited = || o.syn.get().map(|s| secs(s.ts_ns, c.last.ts_ns));
    match a.handshake {
        HandshakeStatus::Refused => {
            if let Some(d) = injected_refusal(c) {
                return Some(d);
            }
            let rst = c.ip.rst;
            let known = c.ip.server_elsewhere;
            let evidence = Evidence {
                frames: frames([frame(o.syn.get()), o.rst.get().map(|r| r.0.frame)]),
                port: Some(c.server.port),
                syn_count: Some(o.syn_count),
                rst_ttl: rst.map(|r| r.ttl),
                ttl_range: known.map(|(lo, hi)| [lo, hi]),
                firewall: rst
                    .zip(known)
                    .map(|(r, (lo, hi))| !(lo..=hi).contains(&r.ttl)),
                ..Evidence::default()
            };
            return found(Cause::Refused, Confidence::Certain, evidence);
        }
        HandshakeStatus::Unreachable => {
            let errors = c.icmp_errors();
            // The error about the SYN, else the first one.
            let isn = c.tracker.endpoint(Side::Client).isn;
            let e = errors
                .iter()
                .find(|i| i.side == Side::Client && i.error.quoted.seq == isn)
                .or(errors.first())?;
            let evidence = Evidence {
                frames: frames(
                    std::iter::once(frame(o.syn.get()))
                        .chain(errors.iter().map(|i| Some(i.at.frame))),
                ),
                port: Some(c.server.port),
                syn_count: Some(o.syn_count),
                reporter: Some(e.error.reporter.to_string()),
                icmp_type: Some(e.error.icmp_type),
                icmp_code: Some(e.error.code),
                firewall: Some(e.error.kind == IcmpKind::AdminProhibited),
                ..Evidence::default()
            };
            return found(Cause::RejectedByIcmp, Confidence::Certain, evidence);
        }
        HandshakeStatus::Unanswered => {
            if server.packets == 0 && client.packets > u64::from(o.syn_count) {
                // The client went on past its SYN: it got an answer the
                // capture does not hold.
                return found(
                    Cause::CaptureProblem,
                    Confidence::Certain,
                    one_way(c, Side::Server),
                );
            }
            let malformed = a
                .findings
                .iter()
                .any(|f| matches!(f.check, Check::SynRst | Check::SynFin));
            if malformed {
                // A SYN no stack should answer: not a drop.
                return None;
            }
            let sends = c.checker.syn_sends().list();
            let intervals_s = gaps(&sends);
            let evidence = Evidence {
                frames: frames(sends.iter().map(|s| Some(s.0))),
                port: Some(c.server.port),
                syn_count: Some(o.syn_count),
                retry_pattern: RetryPattern::of(&intervals_s),
                intervals_s,
                waited_s: waited(),
                ..Evidence::default()
            };
            return found(Cause::SilentDrop, Confidence::Likely, evidence);
        }
        HandshakeStatus::Missing
        | HandshakeStatus::Complete
        | HandshakeStatus::Simultaneous
        | HandshakeStatus::Incomplete => {
            if let Some(side) = [Side::Client, Side::Server]
                .into_iter()
                .find(|&s| c.stats(s).packets == 0)
            {
                // Segments one way only, and some of them show that the
                // other way was answering: that way took another path.
                let peer = c.stats(side.peer());
                let answered = a.handshake == HandshakeStatus::Incomplete || peer.payload_bytes > 0;
                let confidence = if answered {
                    Confidence::Certain
                } else {
                    Confidence::Likely
                };
                return found(Cause::CaptureProblem, confidence, one_way(c, side));
            }
        }
    }
    if let Some(f) = a.findings.iter().find(|f| f.check == Check::AckedUnseen) {
        let evidence = Evidence {
            frames: f.frames.clone(),
            acked_unseen: Some(f.count),
            ..Evidence::default()
        };
        return found(Cause::CaptureProblem, Confidence::Certain, evidence);
    }
    // A SYN-ACK sent again, or never acknowledged (unless the client
    // gave the attempt up with a RST).
    let gave_up = o.rst.get().is_some_and(|(_, who)| who == Side::Client);
    if o.syn_ack_count >= 2 || (a.handshake == HandshakeStatus::Incomplete && !gave_up) {
        let sends = c.checker.syn_ack_sends().list();
        // The client's ACK came, and the server still sent its SYN-ACK
        // again: the ACK was not accepted (a full accept queue drops it).
        let ack_seen = o
            .hs_ack
            .get()
            .is_some_and(|ack| sends.iter().any(|&(f, _)| f > ack.frame));
        let intervals_s = gaps(&sends);
        let evidence = Evidence {
            frames: frames(
                sends
                    .iter()
                    .map(|s| Some(s.0))
                    .chain([frame(o.syn.get()), frame(o.hs_ack.get())]),
            ),
            port: Some(c.server.port),
            syn_count: Some(o.syn_count),
            syn_ack_count: Some(o.syn_ack_count),
            retry_pattern: RetryPattern::of(&intervals_s),
            intervals_s,
            client_ack_seen: Some(ack_seen),
            ..Evidence::default()
        };
        return found(Cause::SynackLostOrNotAccepted, Confidence::Likely, evidence);
    }
    if let Some(d) = diagnose_transfer(c, a) {
        return Some(d);
    }
    let opened = matches!(
        a.handshake,
        HandshakeStatus::Complete | HandshakeStatus::Simultaneous | HandshakeStatus::Missing
    );
    if a.teardown == TeardownStatus::Reset && opened {
        if let Some(d) = injected_reset(c) {
            return Some(d);
        }
    }
    if a.teardown == TeardownStatus::Reset && opened {
        let (at, who) = o.rst.get()?;
        let abort = c.checker.abort();
        let certain = a.findings.iter().any(|f| f.check == Check::RstAbort);
        let evidence = Evidence {
            frames: vec![at.frame],
            side: Some(who),
            state: abort.map(|(_, state)| state),
            client_bytes: Some(client.payload_bytes),
            server_bytes: Some(server.payload_bytes),
            ..Evidence::default()
        };
        let confidence = if certain {
            Confidence::Certain
        } else {
            Confidence::Likely
        };
        return found(Cause::ApplicationAbort, confidence, evidence);
    }
    if a.teardown == TeardownStatus::HalfClosed {
        let closer = if o.fin[Side::Client].get().is_some() {
            Side::Client
        } else {
            Side::Server
        };
        let fin = o.fin[closer].get()?;
        let evidence = Evidence {
            frames: frames([Some(fin.frame), Some(c.last.frame)]),
            side: Some(closer),
            state: Some(c.tracker.endpoint(closer.peer()).state()),
            open_for_s: Some(secs(fin.ts_ns, c.last.ts_ns)),
            ..Evidence::default()
        };
        return found(Cause::HalfOpen, Confidence::Likely, evidence);
    }
    None
}

/// How many hops a RST's TTL may lie outside the TTLs of its sender's other
/// segments and still be its sender's (a route that changed by a hop).
pub const TTL_MARGIN: u8 = 1;

/// How far `ttl` lies outside `lo..=hi`.
impl Evidence {
    /// For `reset_by_middlebox`: whether the RST's IP header gave it away
    /// (its TTL off the side's range, or its IPv4 ID off the side's
    /// counter) rather than only the data that followed it.
    pub fn rst_header_off(&self) -> bool {
        let ttl_off = match (self.rst_ttl, self.ttl_range) {
            (Some(ttl), Some([lo, hi])) => ttl_distance(ttl, (lo, hi)) > TTL_MARGIN,
            _ => false,
        };
        let id_off = match (self.rst_ip_id, self.last_ip_id, self.ip_ids_increase) {
            (Some(id), Some(last), Some(true)) => {
                id != 0 && !(1..=crate::connection::IP_ID_STEP).contains(&id.wrapping_sub(last))
            }
            _ => false,
        };
        ttl_off || id_off
    }
}

fn ttl_distance(ttl: u8, (lo, hi): (u8, u8)) -> u8 {
    lo.saturating_sub(ttl).max(ttl.saturating_sub(hi))
}

/// A round trip shorter than this (seen in the handshake) says nothing of
/// where a RST came from: the capture point is next to the host.
pub const RTT_MIN_NS: i64 = 1_000_000;

/// The handshake's round trip from the capture point to `side` and back,
/// when one SYN (for the server) or one SYN-ACK (for the client) makes it
/// unambiguous: SYN to SYN-ACK, or SYN-ACK to the client's ACK, if that
/// ACK carried no data (an ACK with data may have waited for the
/// application, or followed a bare ACK the capture missed).
fn handshake_rtt_ns(c: &Connection, side: Side) -> Option<i64> {
    let o = &c.obs;
    let (sent, answer) = match side {
        Side::Server => (o.syn.get().filter(|_| o.syn_count == 1)?, o.syn_ack.get()?),
        Side::Client => (
            o.syn_ack.get().filter(|_| o.syn_ack_count == 1)?,
            o.hs_ack.get().filter(|_| o.hs_ack_bare)?,
        ),
    };
    Some(answer.ts_ns - sent.ts_ns).filter(|&rtt| rtt > 0)
}

/// The RST of `c` and its claimed sender's round trip, if the RST
/// acknowledged the other side's data sooner after it than half that round
/// trip: the sender cannot have received the data yet.
fn answered_too_soon(c: &Connection, who: Side) -> Option<(i64, i64)> {
    let answered = i64::from(c.obs.rst_answered_ns()?);
    let rtt = handshake_rtt_ns(c, who).filter(|&rtt| rtt >= RTT_MIN_NS)?;
    (answered.saturating_mul(2) < rtt).then_some((answered, rtt))
}

/// The RST that ended `c`, if another host sent it: its TTL more than
/// [`TTL_MARGIN`] outside the TTLs of every other segment of the side it
/// claims to come from, a nonzero IPv4 ID off the counter that side's IDs
/// followed, data from that side after it, at or beyond its sequence
/// number, which the host that reset the connection would not have sent
/// (Weaver, Sommer, Paxson, NDSS 2009), or an acknowledgement of the other
/// side's data sent sooner after that data than half the round trip the
/// side took in the handshake ([`answered_too_soon`]).
fn injected_reset(c: &Connection) -> Option<Diagnosis> {
    let (at, who) = c.obs.rst.get()?;
    let rst = c.ip.rst?;
    let range = c.ip.sides[who].ttl_range()?;
    let before = rst.before;
    let increasing = before.ids == IdPattern::Increasing;
    let racing = c.obs.racing.get();
    let has_ids = before.ids != IdPattern::Unknown;
    let too_soon = answered_too_soon(c, who);
    let evidence = Evidence {
        frames: std::iter::once(at.frame)
            .chain(racing.map(|r| r.frame))
            .collect(),
        race_s: racing.map(|r| secs(at.ts_ns, r.ts_ns)),
        answered_s: too_soon.map(|(answered, _)| secs(0, answered)),
        rtt_s: too_soon.map(|(_, rtt)| secs(0, rtt)),
        side: Some(who),
        rst_ttl: Some(rst.ttl),
        ttl_range: Some([range.0, range.1]),
        rst_ip_id: (rst.ip_id != 0 || has_ids).then_some(rst.ip_id),
        last_ip_id: has_ids.then_some(before.last_id),
        ip_ids_increase: has_ids.then_some(increasing),
        client_bytes: Some(c.stats(Side::Client).payload_bytes),
        server_bytes: Some(c.stats(Side::Server).payload_bytes),
        ..Evidence::default()
    };
    // The header's signs are judged from the evidence, as its text is.
    if !(evidence.rst_header_off() || racing.is_some() || too_soon.is_some()) {
        return None;
    }
    Some(Diagnosis {
        cause: Cause::ResetByMiddlebox,
        confidence: Confidence::Likely,
        evidence,
        text: String::new(),
    })
}

/// The RST that refused `c`, if the server it claims to come from answered
/// the same SYN with a SYN-ACK after it: the server was listening, so
/// another host sent the RST (an injected reset during the handshake; the
/// RST–data race of [`injected_reset`], with the SYN-ACK as the data).
fn injected_refusal(c: &Connection) -> Option<Diagnosis> {
    let (at, who) = c.obs.rst.get()?;
    let syn_ack = c
        .obs
        .syn_ack
        .get()
        .filter(|s| s.frame > at.frame && who == Side::Server)?;
    let rst = c.ip.rst;
    let evidence = Evidence {
        frames: vec![at.frame, syn_ack.frame],
        port: Some(c.server.port),
        side: Some(who),
        state: Some(State::SynSent),
        rst_ttl: rst.map(|r| r.ttl),
        ttl_range: c.ip.sides[who].ttl_range().map(|(lo, hi)| [lo, hi]),
        race_s: Some(secs(at.ts_ns, syn_ack.ts_ns)),
        ..Evidence::default()
    };
    Some(Diagnosis {
        cause: Cause::ResetByMiddlebox,
        confidence: Confidence::Likely,
        evidence,
        text: String::new(),
    })
}

/// A window shut this long (in one stretch) is a receiver not reading
/// rather than flow control at work.
pub const STALL_NS: i64 = 1_000_000_000;

/// The causes that rest on the transfer (`Connection::transfer`): a
/// receiver not reading, a path-MTU black hole, a peer that vanished — for
/// an opened connection, tried in that order.
fn diagnose_transfer(c: &Connection, a: &Assessment) -> Option<Diagnosis> {
    let opened = matches!(
        a.handshake,
        HandshakeStatus::Complete | HandshakeStatus::Simultaneous | HandshakeStatus::Missing
    );
    if !opened {
        return None;
    }
    let t = &c.transfer;
    let o = &c.obs;
    let found = |cause, confidence, evidence| {
        Some(Diagnosis {
            cause,
            confidence,
            evidence,
            text: String::new(),
        })
    };
    let end = c.last.ts_ns;
    let ns = |d: i64| secs(0, d);
    let rst_by = |s: Side| o.rst.get().is_some_and(|(_, who)| who == s);

    // The receive window shut for a second or more.
    let shut = [Side::Client, Side::Server]
        .into_iter()
        .filter_map(|s| {
            let z = t.stalls_of(s).zero;
            let (longest, total) = z.shut_ns(end);
            Some((s, z, longest, total)).filter(|_| z.first.is_some() && longest >= STALL_NS)
        })
        .max_by_key(|&(_, _, longest, _)| longest);
    if let Some((side, z, longest, total)) = shut {
        let ended = if z.since.is_none() {
            StallEnd::Resumed
        } else if o.rst.get().is_some() {
            StallEnd::Reset
        } else if o.fin[Side::Client].get().is_some() || o.fin[Side::Server].get().is_some() {
            StallEnd::Closed
        } else {
            StallEnd::CaptureEnd
        };
        let evidence = Evidence {
            frames: frames([
                frame(z.first),
                z.reopened,
                o.rst.get().map(|r| r.0.frame),
                frame(z.since),
            ]),
            side: Some(side),
            zero_window_s: Some(ns(longest)),
            zero_window_total_s: Some(ns(total)),
            probes: Some(z.probes),
            ended: Some(ended),
            client_bytes: Some(c.stats(Side::Client).payload_bytes),
            server_bytes: Some(c.stats(Side::Server).payload_bytes),
            ..Evidence::default()
        };
        return found(Cause::ReceiverNotReading, Confidence::Certain, evidence);
    }

    let recent_of = |s: Side, after: i64| -> Vec<At> {
        t.stalls
            .as_ref()
            .filter(|st| st.recent.side == s)
            .map(|st| st.recent.list())
            .unwrap_or_default()
            .into_iter()
            .filter(|at| at.ts_ns > after)
            .collect()
    };
    let times =
        |sends: &[At]| -> Vec<(u64, i64)> { sends.iter().map(|a| (a.frame, a.ts_ns)).collect() };

    // Full-size segments never acknowledged, smaller ones acknowledged.
    for side in [Side::Server, Side::Client] {
        let st = t.stalls_of(side);
        let tr = t.side[side];
        let unacked = tr.largest_unacked();
        let told = c
            .icmp_errors()
            .iter()
            .any(|i| i.side == side && i.error.kind == IcmpKind::PacketTooBig);
        // Full-size: within 40 bytes (room for TCP options) of what the
        // peer's MSS allows, or (MSS not captured) the largest it sent.
        let full = t.side[side.peer()]
            .mss
            .map_or(unacked >= tr.max_payload, |m| {
                unacked.saturating_add(40) >= u32::from(m)
            });
        if st.big_retransmissions >= 2
            && tr.max_acked > 0
            && unacked > tr.max_acked
            && full
            && !told
        {
            let sends = recent_of(side, i64::MIN);
            let intervals_s = gaps(&times(&sends));
            let evidence = Evidence {
                frames: frames(sends.iter().map(|a| Some(a.frame))),
                side: Some(side),
                client_mss: t.side[Side::Client].mss,
                server_mss: t.side[Side::Server].mss,
                segment_size: Some(unacked),
                largest_acked: Some(tr.max_acked),
                retransmissions: Some(st.big_retransmissions),
                retry_pattern: RetryPattern::backoff(&intervals_s),
                intervals_s,
                ..Evidence::default()
            };
            return found(Cause::PathMtuBlackHole, Confidence::Likely, evidence);
        }
    }

    // Retransmissions or keep-alives with no answer, to the end.
    for side in [Side::Client, Side::Server] {
        let st = t.stalls_of(side);
        let peer = side.peer();
        let Some(last) = t.side[peer].last.get() else {
            continue;
        };
        let unanswered = st.unanswered >= 2 || st.keepalives_unanswered >= 2;
        let ended = if rst_by(side) {
            StallEnd::Reset
        } else if a.teardown == TeardownStatus::None {
            StallEnd::CaptureEnd
        } else {
            continue;
        };
        if !unanswered {
            continue;
        }
        let sends = recent_of(side, last.ts_ns);
        let intervals_s = gaps(&times(&sends));
        let evidence = Evidence {
            frames: frames(
                std::iter::once(Some(last.frame))
                    .chain(sends.iter().map(|a| Some(a.frame)))
                    .chain([o.rst.get().map(|r| r.0.frame)]),
            ),
            side: Some(peer),
            last_seen_s: Some(secs(c.first.ts_ns, last.ts_ns)),
            retransmissions: (st.unanswered > 0).then_some(st.unanswered),
            keepalives: (st.keepalives_unanswered > 0).then_some(st.keepalives_unanswered),
            retry_pattern: RetryPattern::backoff(&intervals_s),
            intervals_s,
            waited_s: Some(secs(last.ts_ns, end)),
            ended: Some(ended),
            ..Evidence::default()
        };
        return found(Cause::PeerVanished, Confidence::Likely, evidence);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_patterns() {
        use RetryPattern::*;
        assert_eq!(RetryPattern::of(&[]), None);
        assert_eq!(RetryPattern::of(&[1.0, 2.0, 4.0]), Some(DoublingFrom1s));
        assert_eq!(RetryPattern::of(&[1.02, 2.1, 3.9]), Some(DoublingFrom1s));
        assert_eq!(RetryPattern::of(&[3.0, 6.0]), Some(DoublingFrom3s));
        assert_eq!(RetryPattern::of(&[1.0, 1.0, 1.0]), Some(Linear));
        assert_eq!(RetryPattern::of(&[1.0]), Some(Linear));
        assert_eq!(RetryPattern::of(&[0.2, 5.0]), Some(Irregular));
        assert_eq!(RetryPattern::of(&[0.0, 0.0]), Some(Irregular));
    }

    #[test]
    fn ttl_distances() {
        assert_eq!(ttl_distance(63, (63, 63)), 0);
        assert_eq!(ttl_distance(64, (63, 63)), 1);
        assert_eq!(ttl_distance(47, (63, 64)), 16);
        assert_eq!(ttl_distance(255, (0, 3)), 252);
        assert_eq!(ttl_distance(0, (255, 255)), 255);
    }

    #[test]
    fn backoff_patterns() {
        use RetryPattern::*;
        // Data retransmissions from a 0.2 s RTO, after a tail-loss probe.
        assert_eq!(
            RetryPattern::backoff(&[0.16, 0.42, 0.83, 1.67]),
            Some(Doubling)
        );
        assert_eq!(
            RetryPattern::backoff(&[1.0, 2.0, 4.0]),
            Some(DoublingFrom1s)
        );
        // Keep-alives every second.
        assert_eq!(RetryPattern::backoff(&[1.03, 1.02]), Some(Linear));
        assert_eq!(RetryPattern::backoff(&[0.2, 5.0]), Some(Irregular));
        assert_eq!(RetryPattern::backoff(&[0.0, 0.0]), Some(Irregular));
        assert_eq!(RetryPattern::backoff(&[]), None);
    }

    #[test]
    fn causes_by_name() {
        for c in Cause::ALL {
            assert_eq!(Cause::from_name(c.as_str()), Some(c));
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
        }
        assert_eq!(Cause::from_name("silent-drop"), Some(Cause::SilentDrop));
        assert_eq!(Cause::from_name("nothing"), None);
    }
}
