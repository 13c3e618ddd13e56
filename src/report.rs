//! The report model: what every renderer receives. Its serde form is the
//! JSON contract `tcpstate/1`, documented field by field in
//! `docs/json-schema.md`.

use crate::analysis::SegFlags;
use crate::capture::{CaptureFormat, ReadStop, ReadSummary};
use crate::checks::{Detail, Finding};
use crate::classify::{self, HandshakeStatus, Initiator, TeardownStatus};
use crate::decode::{linktype, SkipReason};
use crate::flow::{At, Connection, EndedBy};
use crate::rules::{Check, Severity};
use crate::state::{Side, State};
use crate::zeek::ConnState;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
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
    /// Connections handed over early to bound memory, by reason
    /// (`idle_timeout`, `max_connections`); only reasons that occurred.
    pub evicted: BTreeMap<&'static str, u64>,
    /// Totals of this capture's connections, for the table (the JSON has
    /// the totals over all captures in `summary`).
    #[serde(skip)]
    pub summary: Summary,
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
            evicted: BTreeMap::new(),
            summary: Summary::new(),
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

impl RolesBy {
    pub const fn as_str(self) -> &'static str {
        match self {
            RolesBy::Syn => "syn",
            RolesBy::Ports => "ports",
        }
    }
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
    /// The state changes this segment caused, in order.
    pub transitions: Vec<TransitionReport>,
}

/// One state change of one side.
#[derive(Debug, Clone, Serialize)]
pub struct TransitionReport {
    pub side: Side,
    pub from: State,
    pub to: State,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConnectionReport {
    pub id: u64,
    /// Shared by every connection of the capture.
    pub file: std::sync::Arc<str>,
    /// Which capture of [`Report::captures`] the connection is from (file
    /// names need not differ). Not in the JSON: `file` says it there.
    #[serde(skip)]
    pub capture: usize,
    pub client: EndpointReport,
    pub server: EndpointReport,
    pub roles_by: RolesBy,
    pub first_frame: u64,
    pub last_frame: u64,
    pub start_time: String,
    /// The same instant in seconds since the Unix epoch.
    pub start_ts: f64,
    pub duration_s: f64,
    pub handshake: Handshake,
    pub teardown: Teardown,
    /// Why the connection's report was written: `close`, `reuse`,
    /// `idle_timeout`, `max_connections` or `capture_end`.
    pub ended_by: EndedBy,
    /// Zeek's conn_state, with the client as originator.
    pub conn_state: ConnState,
    /// Zeek's history string.
    pub history: String,
    /// Wireshark's tcp.completeness bitmask.
    pub completeness: u8,
    /// The counters of a Zeek conn.log row.
    pub zeek: ZeekFields,
    /// What the checks found, ordered by first frame.
    pub findings: Vec<FindingReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packets: Option<Vec<PacketReport>>,
}

/// One finding, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct FindingReport {
    pub code: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    pub message: String,
    pub frames: Vec<u64>,
    pub count: u64,
}

impl From<Finding> for FindingReport {
    fn from(f: Finding) -> FindingReport {
        let rule = f.check.rule();
        FindingReport {
            code: rule.code,
            severity: rule.severity,
            title: rule.title,
            message: f.message,
            frames: f.frames,
            count: f.count,
        }
    }
}

/// The counters of a Zeek conn.log row (originator = client).
#[derive(Debug, Clone, Serialize)]
pub struct ZeekFields {
    pub orig_bytes: u64,
    pub resp_bytes: u64,
    pub missed_bytes: u64,
    pub orig_pkts: u64,
    pub orig_ip_bytes: u64,
    pub resp_pkts: u64,
    pub resp_ip_bytes: u64,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Summary {
    pub connections: u64,
    pub by_handshake: BTreeMap<&'static str, u64>,
    pub by_teardown: BTreeMap<&'static str, u64>,
    pub by_conn_state: BTreeMap<&'static str, u64>,
    pub findings: FindingCounts,
    /// The pass/fail verdict for `--fail-on`.
    pub verdict: Verdict,
    /// Connections per server endpoint, for the table's summary of large captures.
    #[serde(skip)]
    pub servers: ServerCounts,
}

/// Connections per server endpoint ("addr:port") with their handshake
/// statuses. At most [`ServerCounts::MAX`] servers are told apart; the rest
/// are counted together.
#[derive(Debug, Clone, Default)]
pub struct ServerCounts {
    pub by_server: HashMap<(IpAddr, u16), BTreeMap<&'static str, u64>, foldhash::fast::RandomState>,
    pub others: u64,
}

impl ServerCounts {
    pub const MAX: usize = 10_000;

    fn add(&mut self, key: (IpAddr, u16), status: HandshakeStatus) {
        if let Some(m) = self.by_server.get_mut(&key) {
            *m.entry(status.as_str()).or_default() += 1;
        } else if self.by_server.len() < Self::MAX {
            self.by_server
                .entry(key)
                .or_default()
                .insert(status.as_str(), 1);
        } else {
            self.others += 1;
        }
    }

    fn merge(&mut self, other: &ServerCounts) {
        self.others += other.others;
        for (key, statuses) in &other.by_server {
            if let Some(m) = self.by_server.get_mut(key) {
                for (k, n) in statuses {
                    *m.entry(k).or_default() += n;
                }
            } else if self.by_server.len() < Self::MAX {
                self.by_server.insert(*key, statuses.clone());
            } else {
                self.others += statuses.values().sum::<u64>();
            }
        }
    }

    /// The `n` servers with the most connections: ("addr:port", total, by status).
    pub fn top(&self, n: usize) -> Vec<(String, u64, &BTreeMap<&'static str, u64>)> {
        let mut all: Vec<_> = self
            .by_server
            .iter()
            .map(|(k, m)| (*k, m.values().sum::<u64>(), m))
            .collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        all.truncate(n);
        all.into_iter()
            .map(|((ip, port), total, m)| {
                (std::net::SocketAddr::new(ip, port).to_string(), total, m)
            })
            .collect()
    }
}

/// Findings counted by severity and by code (each finding counts once,
/// whatever its `count`).
#[derive(Debug, Clone, Serialize, Default)]
pub struct FindingCounts {
    pub error: u64,
    pub warning: u64,
    pub info: u64,
    pub by_code: BTreeMap<&'static str, u64>,
}

impl FindingCounts {
    fn at_or_above(&self, level: Severity) -> u64 {
        match level {
            Severity::Error => self.error,
            Severity::Warning => self.error + self.warning,
            Severity::Info => self.error + self.warning + self.info,
        }
    }
}

/// Whether the findings pass the `--fail-on` gate.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Verdict {
    /// `pass`, `fail` (findings at or above `fail_on`: exit status 1) or
    /// `error` (an input could not be read: exit status 2).
    pub result: &'static str,
    /// The level that fails: `error`, `warning`, `info` or `never`.
    pub fail_on: &'static str,
    /// Findings at or above that level.
    pub failing_findings: u64,
    /// Codes ignored with --allow.
    pub allowed: Vec<&'static str>,
    /// One line for people.
    pub text: String,
}

impl Summary {
    pub fn new() -> Summary {
        Summary {
            by_handshake: HandshakeStatus::ALL
                .iter()
                .map(|s| (s.as_str(), 0))
                .collect(),
            by_teardown: TeardownStatus::ALL
                .iter()
                .map(|s| (s.as_str(), 0))
                .collect(),
            ..Summary::default()
        }
    }

    /// Counts one connection, from its assessment.
    pub fn add(&mut self, a: &Assessment) {
        self.connections += 1;
        *self.by_handshake.entry(a.handshake.as_str()).or_default() += 1;
        *self.by_teardown.entry(a.teardown.0.as_str()).or_default() += 1;
        *self.by_conn_state.entry(a.conn_state.as_str()).or_default() += 1;
        self.servers.add(a.server, a.handshake);
        for f in &a.findings {
            let rule = f.check.rule();
            match rule.severity {
                Severity::Error => self.findings.error += 1,
                Severity::Warning => self.findings.warning += 1,
                Severity::Info => self.findings.info += 1,
            }
            *self.findings.by_code.entry(rule.code).or_default() += 1;
        }
    }

    /// Adds another summary's counts (of other connections) to this one.
    pub fn merge(&mut self, other: &Summary) {
        self.connections += other.connections;
        for (mine, theirs) in [
            (&mut self.by_handshake, &other.by_handshake),
            (&mut self.by_teardown, &other.by_teardown),
            (&mut self.by_conn_state, &other.by_conn_state),
            (&mut self.findings.by_code, &other.findings.by_code),
        ] {
            for (k, n) in theirs {
                *mine.entry(k).or_default() += n;
            }
        }
        self.findings.error += other.findings.error;
        self.findings.warning += other.findings.warning;
        self.findings.info += other.findings.info;
        self.servers.merge(&other.servers);
    }

    /// Decides the verdict for findings at or above `fail_on` (None: never fail).
    pub fn decide(&mut self, fail_on: Option<Severity>, allowed: &[Check]) {
        let failing = fail_on.map_or(0, |level| self.findings.at_or_above(level));
        let failed = failing > 0;
        let fail_on_name = fail_on.map_or("never", Severity::as_str);
        let counts = format!(
            "{} error{}, {} warning{}, {} info",
            self.findings.error,
            plural(self.findings.error),
            self.findings.warning,
            plural(self.findings.warning),
            self.findings.info
        );
        let mut text = match fail_on {
            Some(level) if failed => {
                let codes: Vec<String> = self
                    .findings
                    .by_code
                    .iter()
                    .filter(|(code, _)| {
                        Check::from_code(code).is_some_and(|c| c.severity() >= level)
                    })
                    .map(|(code, n)| format!("{code}×{n}"))
                    .collect();
                format!(
                    "FAIL: {failing} finding{} at or above {level} ({}); {counts}",
                    plural(failing),
                    codes.join(", ")
                )
            }
            Some(level) => format!("PASS: no finding at or above {level}; {counts}"),
            None => format!("PASS (--fail-on never); {counts}"),
        };
        let allowed: Vec<&'static str> = allowed.iter().map(|c| c.code()).collect();
        if !allowed.is_empty() {
            text.push_str(&format!("; ignored: {}", allowed.join(", ")));
        }
        self.verdict = Verdict {
            result: if failed { "fail" } else { "pass" },
            fail_on: fail_on_name,
            failing_findings: failing,
            allowed,
            text,
        };
    }

    pub fn failed(&self) -> bool {
        self.verdict.result == "fail"
    }

    /// Marks the verdict as an input error: `unreadable` of `inputs` files
    /// could not be read as captures (exit status 2).
    pub fn input_error(&mut self, unreadable: usize, inputs: usize) {
        self.verdict.result = "error";
        self.verdict.text = format!(
            "ERROR: {unreadable} of {inputs} input{} could not be read; {}",
            plural(inputs as u64),
            self.verdict.text
        );
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn secs(ns: i64) -> f64 {
    ns as f64 / 1e9
}

/// Seconds from `a` to `b`; 0 when the capture's clock went backwards.
fn elapsed(a: i64, b: i64) -> f64 {
    secs(b.saturating_sub(a).max(0))
}

fn between(a: Option<At>, b: Option<At>) -> Option<f64> {
    Some(elapsed(a?.ts_ns, b?.ts_ns))
}

/// RFC 3339 with nanoseconds, UTC.
pub fn rfc3339(ts_ns: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_nanos(u64::try_from(ts_ns).unwrap_or(0));
    humantime::format_rfc3339_nanos(t).to_string()
}

/// The verdicts on a finished connection: what the summary counts, and the
/// part of its report that takes judgment rather than copying.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub handshake: HandshakeStatus,
    pub teardown: (TeardownStatus, Option<Initiator>),
    pub conn_state: ConnState,
    /// The server's address and port.
    pub server: (IpAddr, u16),
    /// What the checks found, except the checks in `allow`.
    pub findings: Vec<Finding>,
}

impl Assessment {
    /// Judges `c`. With [`Detail::Counts`], findings carry no frames or
    /// message: enough for [`Summary::add`], not for
    /// [`ConnectionReport::from_assessment`].
    pub fn of(c: &Connection, allow: &[Check], detail: Detail) -> Assessment {
        let mut findings = c.checker.finish(c, detail);
        findings.retain(|f| !allow.contains(&f.check));
        Assessment {
            handshake: classify::handshake(c),
            teardown: classify::teardown(c),
            conn_state: c.zeek.conn_state(),
            server: (c.server.ip, c.server.port),
            findings,
        }
    }
}

impl ConnectionReport {
    /// Builds the report of a finished connection from its assessment.
    pub fn from_assessment(
        c: &Connection,
        file: &std::sync::Arc<str>,
        a: Assessment,
    ) -> ConnectionReport {
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
        let (status, initiator) = a.teardown;
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
                    transitions: p
                        .transitions
                        .iter()
                        .map(|t| TransitionReport {
                            side: t.side,
                            from: t.from,
                            to: t.to,
                        })
                        .collect(),
                })
                .collect()
        });
        ConnectionReport {
            id: c.id,
            file: std::sync::Arc::clone(file),
            capture: 0,
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
            start_ts: secs(c.first.ts_ns),
            duration_s: elapsed(c.first.ts_ns, c.last.ts_ns),
            handshake: Handshake {
                status: a.handshake,
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
            ended_by: c.ended_by,
            conn_state: a.conn_state,
            history: c.zeek.history().to_string(),
            completeness: c.completeness,
            zeek: {
                let (o, r) = (c.zeek.counts(Side::Client), c.zeek.counts(Side::Server));
                ZeekFields {
                    orig_bytes: o.bytes,
                    resp_bytes: r.bytes,
                    missed_bytes: c.zeek.missed_bytes(),
                    orig_pkts: o.pkts,
                    orig_ip_bytes: o.ip_bytes,
                    resp_pkts: r.pkts,
                    resp_ip_bytes: r.ip_bytes,
                }
            },
            findings: a.findings.into_iter().map(FindingReport::from).collect(),
            packets,
        }
    }
}
