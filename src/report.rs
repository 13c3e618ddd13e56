//! The report model: what every renderer receives. Its serde form is the
//! JSON contract `tcpstate/1`, documented field by field in
//! `docs/json-schema.md`.

use crate::capture::{CaptureFormat, ReadStop, ReadSummary};
use crate::checks::Finding;
use crate::connection::{At, Connection, EndedBy, IcmpSeen};
use crate::decode::{linktype, IcmpKind, SkipReason, TcpFlags};
use crate::rules::{Check, Severity};
use crate::state::{Side, State};
use crate::verdict::{self, Assessment, HandshakeStatus, Initiator, TeardownStatus};
use crate::wireshark::SegFlags;
use crate::zeek::ConnState;
use serde::{Serialize, Serializer};
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
    /// Frames that were not TCP segments, by reason.
    pub skipped: Counts<SkipReason>,
    pub truncated: bool,
    /// Where and why reading stopped early, or null.
    pub stopped: Option<ReadStop>,
    pub connections: u64,
    /// TCP segments analyzed although their IPv4 header or TCP checksum is
    /// wrong (without `--verify-checksums`; usually checksum offload on the
    /// capturing host); left out of the JSON when 0.
    #[serde(skip_serializing_if = "is_zero")]
    pub bad_checksums: u64,
    /// Connections handed over early to bound memory, by reason
    /// (`idle_timeout`, `max_connections`); only reasons that occurred.
    pub evicted: Counts<EndedBy>,
    /// Totals of this capture's connections, for the table (the JSON has
    /// the totals over all captures in `summary`).
    #[serde(skip)]
    pub summary: Summary,
    /// Connections with a finding at warning or above, for the table's
    /// footer on the rows it does not show.
    #[serde(skip)]
    pub flagged: u64,
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
            skipped: skipped.iter().map(|(&r, &n)| (r, n)).collect(),
            truncated: read.stop.as_ref().is_some_and(|s| s.truncated),
            stopped: read.stop,
            connections,
            bad_checksums: 0,
            evicted: Counts::default(),
            summary: Summary::new(),
            flagged: 0,
        }
    }

    pub fn skipped_total(&self) -> u64 {
        self.skipped.total()
    }

    /// The skip reasons of frames tcpstate could not read (a link type or an
    /// encapsulation it does not decode), with their counts.
    pub fn not_understood(&self) -> Vec<(&'static str, u64)> {
        self.skipped
            .iter()
            .filter(|(reason, _)| reason.not_understood())
            .map(|(reason, n)| (reason.as_str(), n))
            .collect()
    }
}

impl Report {
    /// Says in the verdict line that frames were skipped because tcpstate
    /// could not read them, so that a PASS never hides a capture that was
    /// not understood (unless `in_verdict` is false: a run that read no TCP
    /// at all says so in its own words); returns one warning line per such
    /// capture.
    pub fn warn_not_understood(&mut self, in_verdict: bool) -> Vec<String> {
        let mut lines = Vec::new();
        let mut total = 0;
        for capture in &self.captures {
            let reasons = capture.not_understood();
            if reasons.is_empty() {
                continue;
            }
            let n: u64 = reasons.iter().map(|(_, n)| n).sum();
            total += n;
            let reasons: Vec<String> = reasons.iter().map(|(k, n)| format!("{k} {n}")).collect();
            lines.push(format!(
                "{}: {n} frame{} not understood ({}); any TCP in them was not analyzed",
                capture.file,
                plural(n),
                reasons.join(", ")
            ));
        }
        if total > 0 && in_verdict {
            let verdict = &mut self.summary.verdict;
            verdict.text = format!(
                "WARNING: {total} frame{} not understood in {} capture{}; {}",
                plural(total),
                lines.len(),
                plural(lines.len() as u64),
                verdict.text
            );
        }
        lines
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
    /// The sender: `c2s` from the client, `s2c` from the server.
    #[serde(serialize_with = "direction")]
    pub dir: Side,
    /// Comma-separated, as `SYN,ACK`.
    #[serde(serialize_with = "display")]
    pub flags: TcpFlags,
    pub seq: u32,
    pub ack: Option<u32>,
    pub rel_seq: u32,
    pub rel_ack: Option<u32>,
    pub len: u32,
    pub window: u16,
    pub client_state: State,
    pub server_state: State,
    /// Wireshark-style analysis flags, serialized as a list of their
    /// names (`tcp.analysis.*`; see [`analysis_flags`]).
    #[serde(serialize_with = "analysis_names")]
    pub analysis: SegFlags,
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
    /// The tunnels that carried the connection, outermost first, each with
    /// its identifier and outer endpoints (`vxlan vni=42 10.0.0.1→10.0.0.2`);
    /// left out for a connection captured bare.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub encapsulation: Vec<String>,
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
    /// The ICMP errors about the connection's segments, in the order they
    /// came (the first 8; the IC findings count them all); left out when
    /// there were none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub icmp: Vec<IcmpReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packets: Option<Vec<PacketReport>>,
}

/// One ICMP or ICMPv6 error about one of a connection's segments.
#[derive(Debug, Clone, Serialize)]
pub struct IcmpReport {
    /// The ICMP packet's frame.
    pub frame: u64,
    /// Seconds since the connection's first frame.
    pub time: f64,
    /// Who reported it: the ICMP packet's source (a router, or the host).
    pub reporter: String,
    /// `icmp` or `icmpv6`.
    pub protocol: &'static str,
    #[serde(rename = "type")]
    pub icmp_type: u8,
    pub code: u8,
    /// `unreachable`, `admin_prohibited`, `packet_too_big`,
    /// `time_exceeded`, `redirect`, `parameter_problem`, `source_quench`.
    #[serde(serialize_with = "icmp_kind")]
    pub kind: IcmpKind,
    /// The type and code in words.
    pub description: &'static str,
    /// The MTU a "fragmentation needed" or "packet too big" gives.
    pub mtu: Option<u32>,
    /// The gateway a redirect names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// The check it is reported under (`IC002`).
    #[serde(serialize_with = "code")]
    pub check: Check,
    pub quoted: QuotedReport,
}

/// The segment an ICMP error quotes.
#[derive(Debug, Clone, Serialize)]
pub struct QuotedReport {
    /// Its sender: `c2s` from the client, `s2c` from the server.
    #[serde(serialize_with = "direction")]
    pub dir: Side,
    /// Its raw and relative sequence numbers, when quoted.
    pub seq: Option<u32>,
    pub rel_seq: Option<u32>,
    /// Its frame, when the capture holds it.
    pub frame: Option<u64>,
    /// Its IP length (the size of the packet that was too big).
    pub ip_len: u32,
    /// The TTL or hop limit it reached the reporter with.
    pub ttl: u8,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn icmp_kind<S: Serializer>(kind: &IcmpKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind.as_str())
}

impl IcmpReport {
    fn of(c: &Connection, i: &IcmpSeen) -> IcmpReport {
        let e = &i.error;
        let q = &e.quoted;
        IcmpReport {
            frame: i.at.frame,
            time: secs(i.at.ts_ns.saturating_sub(c.first.ts_ns)),
            reporter: e.reporter.to_string(),
            protocol: if e.v6 { "icmpv6" } else { "icmp" },
            icmp_type: e.icmp_type,
            code: e.code,
            kind: e.kind,
            description: e.description(),
            mtu: e.mtu,
            gateway: e.gateway.map(|g| g.to_string()),
            check: verdict::icmp_check(e.kind),
            quoted: QuotedReport {
                dir: i.side,
                seq: q.seq.map(|s| s.raw()),
                rel_seq: q.seq.and_then(|s| c.base[i.side].map(|b| s - b)),
                frame: i.quoted_frame,
                ip_len: q.ip_len,
                ttl: q.ttl,
            },
        }
    }
}

/// One finding, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct FindingReport {
    /// The check, by its code (`HS001`).
    #[serde(serialize_with = "code")]
    pub code: Check,
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
            code: f.check,
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
    /// Every status, with the ones that did not occur at 0.
    pub by_handshake: Counts<HandshakeStatus>,
    pub by_teardown: Counts<TeardownStatus>,
    /// The states that occurred.
    pub by_conn_state: Counts<ConnState>,
    pub findings: FindingCounts,
    /// The pass/fail verdict for `--fail-on`.
    pub verdict: VerdictReport,
    /// Connections per server endpoint, for the table's summary of large captures.
    #[serde(skip)]
    pub servers: ServerCounts,
}

/// Connections per server endpoint ("addr:port") with their handshake
/// statuses. At most [`ServerCounts::MAX`] servers are told apart; the rest
/// are counted together.
#[derive(Debug, Clone, Default)]
pub struct ServerCounts {
    pub by_server: HashMap<(IpAddr, u16), Counts<HandshakeStatus>, foldhash::fast::RandomState>,
    pub others: u64,
}

impl ServerCounts {
    pub const MAX: usize = 10_000;

    fn add(&mut self, key: (IpAddr, u16), status: HandshakeStatus) {
        if let Some(m) = self.by_server.get_mut(&key) {
            m.add(status, 1);
        } else if self.by_server.len() < Self::MAX {
            self.by_server.entry(key).or_default().add(status, 1);
        } else {
            self.others += 1;
        }
    }

    fn merge(&mut self, other: &ServerCounts) {
        self.others += other.others;
        for (key, statuses) in &other.by_server {
            if let Some(m) = self.by_server.get_mut(key) {
                m.merge(statuses);
            } else if self.by_server.len() < Self::MAX {
                self.by_server.insert(*key, statuses.clone());
            } else {
                self.others += statuses.total();
            }
        }
    }

    /// The `n` servers with the most connections: ("addr:port", total, by status).
    pub fn top(&self, n: usize) -> Vec<(String, u64, &Counts<HandshakeStatus>)> {
        let mut all: Vec<_> = self
            .by_server
            .iter()
            .map(|(k, m)| (*k, m.total(), m))
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
    /// Keyed by code (`HS001`).
    pub by_code: Counts<Check>,
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

/// The outcome of the `--fail-on` gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    #[default]
    Pass,
    /// Findings at or above `fail_on`, or no TCP segment with
    /// `--fail-on-empty`: exit status 1.
    Fail,
    /// No TCP segment in any capture: exit status 0.
    Empty,
    /// An input could not be read: exit status 2.
    Error,
}

/// Whether the findings pass the `--fail-on` gate.
#[derive(Debug, Clone, Serialize, Default)]
pub struct VerdictReport {
    pub result: Verdict,
    /// The level that fails: `error`, `warning`, `info`, or `never` (None).
    #[serde(serialize_with = "fail_on")]
    pub fail_on: Option<Severity>,
    /// Findings at or above that level.
    pub failing_findings: u64,
    /// Checks ignored with --allow, by code.
    #[serde(serialize_with = "codes")]
    pub allowed: Vec<Check>,
    /// One line for people.
    pub text: String,
}

/// A key of [`Counts`]: its name is the JSON key.
pub trait Named: Copy + Ord {
    fn name(self) -> &'static str;
}

impl Named for HandshakeStatus {
    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl Named for TeardownStatus {
    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl Named for ConnState {
    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl Named for SkipReason {
    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl Named for EndedBy {
    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl Named for Check {
    fn name(self) -> &'static str {
        self.code()
    }
}

/// Counts by key. The keys are typed, but listed ([`Counts::iter`]) and
/// serialized (a JSON object) in the order of their names, as a map keyed
/// by the names would be: the order the JSON contract has always had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts<K>(BTreeMap<K, u64>);

impl<K> Default for Counts<K> {
    fn default() -> Counts<K> {
        Counts(BTreeMap::new())
    }
}

impl<K: Named> Counts<K> {
    /// Every key in `keys` at 0.
    pub fn zeros(keys: impl IntoIterator<Item = K>) -> Counts<K> {
        keys.into_iter().map(|k| (k, 0)).collect()
    }

    pub fn add(&mut self, key: K, n: u64) {
        *self.0.entry(key).or_default() += n;
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &Counts<K>) {
        for (&k, &n) in &other.0 {
            self.add(k, n);
        }
    }

    pub fn get(&self, key: K) -> u64 {
        self.0.get(&key).copied().unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The counts, in no particular order.
    pub fn values(&self) -> impl Iterator<Item = &u64> {
        self.0.values()
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// Every key and its count, in the order of the names.
    pub fn iter(&self) -> impl Iterator<Item = (K, u64)> {
        let mut all: Vec<(K, u64)> = self.0.iter().map(|(&k, &n)| (k, n)).collect();
        all.sort_unstable_by_key(|&(k, _)| k.name());
        all.into_iter()
    }
}

impl<K: Named> FromIterator<(K, u64)> for Counts<K> {
    /// The counts of a key given more than once are added.
    fn from_iter<I: IntoIterator<Item = (K, u64)>>(iter: I) -> Counts<K> {
        let mut counts = Counts::default();
        for (k, n) in iter {
            counts.add(k, n);
        }
        counts
    }
}

impl<K: Named> Serialize for Counts<K> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter().map(|(k, n)| (k.name(), n)))
    }
}

/// `c2s` or `s2c`: the direction of a segment sent by `side`.
pub const fn direction_name(side: Side) -> &'static str {
    match side {
        Side::Client => "c2s",
        Side::Server => "s2c",
    }
}

/// Each analysis flag set, alone, with its name, in the order of the JSON
/// list.
pub fn analysis_flags(flags: SegFlags) -> impl Iterator<Item = (SegFlags, &'static str)> {
    SegFlags::NAMES
        .into_iter()
        .filter(move |&(bit, _)| flags.has(bit))
        .map(|(bit, name)| (SegFlags(bit), name))
}

fn analysis_names<S: Serializer>(flags: &SegFlags, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(analysis_flags(*flags).map(|(_, name)| name))
}

fn direction<S: Serializer>(side: &Side, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(direction_name(*side))
}

fn display<S: Serializer>(v: &impl std::fmt::Display, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

fn code<S: Serializer>(check: &Check, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(check.code())
}

fn codes<S: Serializer>(checks: &[Check], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(checks.iter().map(|c| c.code()))
}

fn fail_on<S: Serializer>(level: &Option<Severity>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(level.map_or("never", Severity::as_str))
}

impl Summary {
    pub fn new() -> Summary {
        Summary {
            by_handshake: Counts::zeros(HandshakeStatus::LISTED),
            by_teardown: Counts::zeros(TeardownStatus::ALL),
            ..Summary::default()
        }
    }

    /// Counts one connection, from its assessment.
    pub fn add(&mut self, a: &Assessment) {
        self.connections += 1;
        self.by_handshake.add(a.handshake, 1);
        self.by_teardown.add(a.teardown, 1);
        self.by_conn_state.add(a.conn_state, 1);
        self.servers.add(a.server, a.handshake);
        for f in &a.findings {
            match f.check.severity() {
                Severity::Error => self.findings.error += 1,
                Severity::Warning => self.findings.warning += 1,
                Severity::Info => self.findings.info += 1,
            }
            self.findings.by_code.add(f.check, 1);
        }
    }

    /// Adds another summary's counts (of other connections) to this one.
    pub fn merge(&mut self, other: &Summary) {
        self.connections += other.connections;
        self.by_handshake.merge(&other.by_handshake);
        self.by_teardown.merge(&other.by_teardown);
        self.by_conn_state.merge(&other.by_conn_state);
        self.findings.by_code.merge(&other.findings.by_code);
        self.findings.error += other.findings.error;
        self.findings.warning += other.findings.warning;
        self.findings.info += other.findings.info;
        self.servers.merge(&other.servers);
    }

    /// Decides the verdict for findings at or above `fail_on` (None: never fail).
    pub fn decide(&mut self, fail_on: Option<Severity>, allowed: &[Check]) {
        let failing = fail_on.map_or(0, |level| self.findings.at_or_above(level));
        let failed = failing > 0;
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
                    .filter(|(check, _)| check.severity() >= level)
                    .map(|(check, n)| format!("{}×{n}", check.code()))
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
        if !allowed.is_empty() {
            let codes: Vec<&str> = allowed.iter().map(|c| c.code()).collect();
            text.push_str(&format!("; ignored: {}", codes.join(", ")));
        }
        self.verdict = VerdictReport {
            result: if failed { Verdict::Fail } else { Verdict::Pass },
            fail_on,
            failing_findings: failing,
            allowed: allowed.to_vec(),
            text,
        };
    }

    pub fn failed(&self) -> bool {
        self.verdict.result == Verdict::Fail
    }

    /// Marks the verdict as an input error: `unreadable` of `inputs` files
    /// could not be read as captures (exit status 2).
    pub fn input_error(&mut self, unreadable: usize, inputs: usize) {
        self.verdict.result = Verdict::Error;
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

impl ConnectionReport {
    /// Builds the report of a finished connection from its assessment.
    pub fn from_assessment(
        c: &Connection,
        file: &std::sync::Arc<str>,
        a: Assessment,
    ) -> ConnectionReport {
        let endpoint = |side: Side| {
            let e = c.tracker.endpoint(side);
            let a = c.addr(side);
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
        let packets = c.packets.as_ref().map(|list| {
            list.iter()
                .map(|p| PacketReport {
                    frame: p.at.frame,
                    time: secs(p.at.ts_ns.saturating_sub(c.first.ts_ns)),
                    dir: p.dir,
                    flags: p.flags,
                    seq: p.seq.raw(),
                    ack: p.flags.ack().then_some(p.ack.raw()),
                    rel_seq: p.rel_seq,
                    rel_ack: p.rel_ack,
                    len: p.len,
                    window: p.window,
                    client_state: p.client_state,
                    server_state: p.server_state,
                    analysis: p.analysis,
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
            encapsulation: Vec::new(),
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
                status: a.teardown,
                initiator: a.initiator,
                frames: verdict::teardown_frames(c),
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
            icmp: c
                .icmp_errors()
                .iter()
                .map(|i| IcmpReport::of(c, i))
                .collect(),
            packets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JSON of `counts` is the JSON of the same counts keyed by name.
    fn same_as_by_name<K: Named>(counts: &Counts<K>) {
        let by_name: BTreeMap<&str, u64> = counts.iter().map(|(k, n)| (k.name(), n)).collect();
        assert_eq!(
            serde_json::to_string(counts).unwrap(),
            serde_json::to_string(&by_name).unwrap()
        );
    }

    fn all<K: Named>(keys: impl IntoIterator<Item = K>) -> Counts<K> {
        let mut counts = Counts::default();
        for (i, k) in keys.into_iter().enumerate() {
            counts.add(k, i as u64);
        }
        counts
    }

    #[test]
    fn counts_list_their_keys_in_name_order() {
        let mut by_handshake = Counts::zeros(HandshakeStatus::LISTED);
        by_handshake.add(HandshakeStatus::Refused, 2);
        assert_eq!(
            serde_json::to_string(&by_handshake).unwrap(),
            r#"{"complete":0,"incomplete":0,"missing":0,"refused":2,"simultaneous":0,"unanswered":0}"#
        );
        same_as_by_name(&all(HandshakeStatus::ALL));
        same_as_by_name(&all(TeardownStatus::ALL));
        same_as_by_name(&all(ConnState::ALL));
        same_as_by_name(&all(Check::ALL));
        same_as_by_name(&all([
            EndedBy::Close,
            EndedBy::Reuse,
            EndedBy::IdleTimeout,
            EndedBy::MaxConnections,
            EndedBy::CaptureEnd,
        ]));
        let names: Vec<&str> = all(Check::ALL).iter().map(|(c, _)| c.code()).collect();
        assert!(names.windows(2).all(|w| w[0] < w[1]), "{names:?}");
    }

    #[test]
    fn counts_add_merge_and_total() {
        let mut a = Counts::default();
        a.add(Check::TimeWait, 2);
        let b: Counts<Check> = [
            (Check::TimeWait, 1),
            (Check::Refused, 3),
            (Check::Refused, 1),
        ]
        .into_iter()
        .collect();
        a.merge(&b);
        assert_eq!(a.get(Check::TimeWait), 3);
        assert_eq!(a.get(Check::Refused), 4);
        assert_eq!(a.get(Check::SynFin), 0);
        assert_eq!(a.total(), 7);
        assert_eq!(a.values().sum::<u64>(), 7);
    }

    #[test]
    fn the_verdict_serializes_as_its_names() {
        let mut s = Summary::new();
        s.decide(Some(Severity::Error), &[Check::TimeWait]);
        assert!(!s.failed());
        let v = serde_json::to_value(&s.verdict).unwrap();
        assert_eq!(v["result"], "pass");
        assert_eq!(v["fail_on"], "error");
        assert_eq!(v["allowed"], serde_json::json!([Check::TimeWait.code()]));

        s.findings.error = 1;
        s.findings.by_code.add(Check::SynFin, 1);
        s.decide(None, &[]);
        let v = serde_json::to_value(&s.verdict).unwrap();
        assert_eq!(
            (v["result"].as_str(), v["fail_on"].as_str()),
            (Some("pass"), Some("never"))
        );

        s.decide(Some(Severity::Warning), &[]);
        assert!(s.failed());
        assert_eq!(serde_json::to_value(&s.verdict).unwrap()["result"], "fail");
        assert!(s
            .verdict
            .text
            .contains(&format!("{}×1", Check::SynFin.code())));

        s.input_error(1, 2);
        assert!(!s.failed());
        assert_eq!(serde_json::to_value(&s.verdict).unwrap()["result"], "error");
    }
}
