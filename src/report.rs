//! The report model: what every renderer receives. Its serde form is the
//! JSON contract `tcpstate/1`, documented field by field in
//! `docs/json-schema.md`.

use crate::analysis::SegFlags;
use crate::capture::{CaptureFormat, ReadStop, ReadSummary};
use crate::classify::{self, HandshakeStatus, Initiator, TeardownStatus};
use crate::decode::{linktype, SkipReason};
use crate::flow::{At, Connection};
use crate::state::{Side, State};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

/// The schema identifier. Change it only with a new schema version.
pub const SCHEMA: &str = "tcpstate/1";

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub tool: Tool,
    pub captures: Vec<CaptureReport>,
    pub connections: Vec<ConnectionReport>,
    pub summary: Summary,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

impl Tool {
    pub fn current() -> Tool {
        Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// One input file.
#[derive(Debug, Clone, Serialize)]
pub struct CaptureReport {
    pub file: String,
    pub format: CaptureFormat,
    pub link_types: Vec<String>,
    pub frames: u64,
    pub tcp_segments: u64,
    pub skipped: BTreeMap<&'static str, u64>,
    pub truncated: bool,
    /// Where and why reading stopped early, or null.
    pub stopped: Option<ReadStop>,
    pub connections: u64,
}

impl CaptureReport {
    pub fn new(
        file: String,
        read: ReadSummary,
        tcp_segments: u64,
        skipped: &BTreeMap<SkipReason, u64>,
        connections: u64,
    ) -> CaptureReport {
        CaptureReport {
            file,
            format: read.format,
            link_types: read.link_types.iter().map(|&l| linktype::name(l)).collect(),
            frames: read.frames,
            tcp_segments,
            skipped: skipped.iter().map(|(r, n)| (r.as_str(), *n)).collect(),
            truncated: read.stop.as_ref().is_some_and(|s| s.truncated),
            stopped: read.stop,
            connections,
        }
    }

    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct EndpointReport {
    pub addr: String,
    pub port: u16,
    pub isn: Option<u32>,
    pub final_state: State,
    pub states: Vec<State>,
    pub packets: u64,
    pub payload_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct HandshakeFrames {
    pub syn: Option<u64>,
    pub syn_ack: Option<u64>,
    pub ack: Option<u64>,
}

/// Handshake round-trip times in seconds.
#[derive(Debug, Clone, Serialize)]
pub struct HandshakeRtt {
    /// First SYN to first SYN-ACK (the server side of the round trip, as seen here).
    pub syn_to_syn_ack: Option<f64>,
    /// First SYN-ACK to the final ACK (the client side).
    pub syn_ack_to_ack: Option<f64>,
    /// First SYN to the final ACK (Wireshark's tcp.analysis.initial_rtt).
    pub total: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Handshake {
    pub status: HandshakeStatus,
    pub frames: HandshakeFrames,
    pub rtt_s: HandshakeRtt,
    pub syn_count: u32,
    pub syn_ack_count: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Teardown {
    pub status: TeardownStatus,
    pub initiator: Option<Initiator>,
    pub frames: Vec<u64>,
}

/// How the client was told from the server.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RolesBy {
    /// The sender of the first SYN (or the receiver of the first SYN-ACK).
    Syn,
    /// No SYN seen: the lower port is the server's.
    Ports,
}

#[derive(Debug, Clone, Serialize)]
pub struct PacketReport {
    pub frame: u64,
    /// Seconds since the connection's first frame.
    pub time: f64,
    pub dir: &'static str,
    pub flags: String,
    pub seq: u32,
    pub ack: Option<u32>,
    pub rel_seq: u32,
    pub rel_ack: Option<u32>,
    pub len: u32,
    pub window: u16,
    pub client_state: State,
    pub server_state: State,
    /// Wireshark-style analysis flags (`tcp.analysis.*` names).
    pub analysis: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConnectionReport {
    pub id: u64,
    pub file: String,
    pub client: EndpointReport,
    pub server: EndpointReport,
    pub roles_by: RolesBy,
    pub first_frame: u64,
    pub last_frame: u64,
    pub start_time: String,
    pub duration_s: f64,
    pub handshake: Handshake,
    pub teardown: Teardown,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packets: Option<Vec<PacketReport>>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Summary {
    pub connections: u64,
    pub by_handshake: BTreeMap<&'static str, u64>,
    pub by_teardown: BTreeMap<&'static str, u64>,
}

impl Summary {
    pub fn new() -> Summary {
        Summary {
            connections: 0,
            by_handshake: HandshakeStatus::ALL
                .iter()
                .map(|s| (s.as_str(), 0))
                .collect(),
            by_teardown: TeardownStatus::ALL
                .iter()
                .map(|s| (s.as_str(), 0))
                .collect(),
        }
    }

    pub fn add(&mut self, c: &ConnectionReport) {
        self.connections += 1;
        *self
            .by_handshake
            .entry(c.handshake.status.as_str())
            .or_default() += 1;
        *self
            .by_teardown
            .entry(c.teardown.status.as_str())
            .or_default() += 1;
    }
}

fn secs(ns: i64) -> f64 {
    ns as f64 / 1e9
}

fn between(a: Option<At>, b: Option<At>) -> Option<f64> {
    Some(secs(b?.ts_ns.saturating_sub(a?.ts_ns)))
}

/// RFC 3339 with nanoseconds, UTC.
pub fn rfc3339(ts_ns: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_nanos(u64::try_from(ts_ns).unwrap_or(0));
    humantime::format_rfc3339_nanos(t).to_string()
}

impl ConnectionReport {
    pub fn from_connection(c: &Connection, file: &str) -> ConnectionReport {
        let endpoint = |side: Side| {
            let e = c.tracker.endpoint(side);
            let a = match side {
                Side::Client => c.client,
                Side::Server => c.server,
            };
            let st = c.stats(side);
            EndpointReport {
                addr: a.ip.to_string(),
                port: a.port,
                isn: e.isn.map(|s| s.raw()),
                final_state: e.state(),
                states: e.history().to_vec(),
                packets: st.packets,
                payload_bytes: st.payload_bytes,
            }
        };
        let o = &c.obs;
        let (status, initiator) = classify::teardown(c);
        let packets = c.packets.as_ref().map(|list| {
            list.iter()
                .map(|p| PacketReport {
                    frame: p.at.frame,
                    time: secs(p.at.ts_ns.saturating_sub(c.first.ts_ns)),
                    dir: match p.dir {
                        Side::Client => "c2s",
                        Side::Server => "s2c",
                    },
                    flags: p.flags.to_string(),
                    seq: p.seq.raw(),
                    ack: p.flags.ack().then_some(p.ack.raw()),
                    rel_seq: p.rel_seq,
                    rel_ack: p.rel_ack,
                    len: p.len,
                    window: p.window,
                    client_state: p.client_state,
                    server_state: p.server_state,
                    analysis: SegFlags::NAMES
                        .iter()
                        .filter(|(b, _)| p.analysis.has(*b))
                        .map(|(_, n)| *n)
                        .collect(),
                })
                .collect()
        });
        ConnectionReport {
            id: c.id,
            file: file.to_string(),
            client: endpoint(Side::Client),
            server: endpoint(Side::Server),
            roles_by: if c.roles_from_syn {
                RolesBy::Syn
            } else {
                RolesBy::Ports
            },
            first_frame: c.first.frame,
            last_frame: c.last.frame,
            start_time: rfc3339(c.first.ts_ns),
            duration_s: secs(c.last.ts_ns.saturating_sub(c.first.ts_ns)),
            handshake: Handshake {
                status: classify::handshake(c),
                frames: HandshakeFrames {
                    syn: o.syn.map(|a| a.frame),
                    syn_ack: o.syn_ack.map(|a| a.frame),
                    ack: o.hs_ack.map(|a| a.frame),
                },
                rtt_s: HandshakeRtt {
                    syn_to_syn_ack: between(o.syn, o.syn_ack),
                    syn_ack_to_ack: between(o.syn_ack, o.hs_ack),
                    total: between(o.syn, o.hs_ack),
                },
                syn_count: o.syn_count,
                syn_ack_count: o.syn_ack_count,
            },
            teardown: Teardown {
                status,
                initiator,
                frames: classify::teardown_frames(c),
            },
            packets,
        }
    }
}
