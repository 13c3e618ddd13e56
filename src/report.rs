//! The report model: what every renderer receives. Its serde form is the
//! JSON contract `tcpstate/1`, documented field by field in
//! `docs/json-schema.md`; its `JsonSchema` form is that contract as a JSON
//! Schema (`crate::schema` generates it): the `#[schemars]` attributes and
//! the `schema_*` functions below say what the `#[serde]` attributes and
//! the hand-written `Serialize` impls write.

use crate::capture::{CaptureFormat, ReadNotice, ReadStop, ReadSummary};
use crate::checks::Finding;
use crate::connection::{At, Connection, EndedBy, IcmpSeen};
use crate::decode::{linktype, IcmpKind, SkipReason, TcpFlags};
use crate::diagnosis::{Cause, Diagnosis};
use crate::rules::{Check, Severity};
use crate::state::{Side, State};
use crate::verdict::{self, Assessment, HandshakeStatus, Initiator, TeardownStatus};
use crate::wireshark::SegFlags;
use crate::zeek::ConnState;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Serialize, Serializer};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::{Duration, UNIX_EPOCH};

/// The schema identifier. Change it only with a new schema version.
pub const SCHEMA: &str = "tcpstate/1";

/// A `tcpstate/1` document: what `tcpstate analyze --format json` writes.
/// In its JSON form, `captures` lists the inputs that could not be read
/// too, each where it stood among the inputs (a hand-written `Serialize`;
/// the schema says the same with [`CaptureEntry`]).
#[derive(Debug, Clone, JsonSchema)]
pub struct Report {
    /// Always `tcpstate/1`.
    #[schemars(schema_with = "schema_id")]
    pub schema: &'static str,
    pub tool: Tool,
    /// The inputs that could be read, in argument order (in the JSON, with
    /// the unreadable ones among them).
    #[schemars(with = "Vec<CaptureEntry>")]
    pub captures: Vec<CaptureReport>,
    pub connections: Vec<ConnectionReport>,
    pub summary: Summary,
    /// The captures were read as one (`--merge`): the connections are
    /// those of their merged records, held by one of `captures`. In the
    /// JSON only when true.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[schemars(schema_with = "always_true")]
    pub merged: bool,
    /// The inputs that could not be read, in argument order.
    #[serde(skip)]
    pub unreadable: Vec<Unreadable>,
}

/// An element of the document's `captures`, for its schema: a capture that
/// was read, or an input that could not be read (its file and error).
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum CaptureEntry {
    Read(Box<CaptureReport>),
    Unreadable(Unreadable),
}

fn always_true(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "boolean", "const": true })
}

/// The `kind`s of [`InputError`].
pub const INPUT_ERROR_KINDS: &[&str] = &[
    "not_found",
    "permission_denied",
    "is_a_directory",
    "io",
    "empty",
    "not_a_capture",
    "short_header",
    "bad_header",
    "unsupported_compression",
    "compressed_data",
    "no_frame",
];

fn input_error_kind(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "enum": INPUT_ERROR_KINDS })
}

impl Serialize for Report {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Report", 5 + usize::from(self.merged))?;
        st.serialize_field("schema", self.schema)?;
        st.serialize_field("tool", &self.tool)?;
        st.serialize_field("captures", &Inputs(self))?;
        st.serialize_field("connections", &self.connections)?;
        st.serialize_field("summary", &self.summary)?;
        if self.merged {
            st.serialize_field("merged", &true)?;
        }
        st.end()
    }
}

/// The readable captures and the unreadable inputs, in argument order.
struct Inputs<'a>(&'a Report);

impl Serialize for Inputs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let Report {
            captures,
            unreadable,
            ..
        } = self.0;
        let mut seq = s.serialize_seq(Some(captures.len() + unreadable.len()))?;
        let mut bad = unreadable.iter().peekable();
        for (i, capture) in captures.iter().enumerate() {
            while let Some(u) = bad.next_if(|u| u.before <= i) {
                seq.serialize_element(u)?;
            }
            seq.serialize_element(capture)?;
        }
        for u in bad {
            seq.serialize_element(u)?;
        }
        seq.end()
    }
}

/// An input that could not be read as a capture.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Unreadable {
    /// The readable captures before it among the inputs.
    #[serde(skip)]
    pub before: usize,
    pub file: String,
    pub error: InputError,
}

/// Why an input could not be read.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct InputError {
    /// `not_found`, `permission_denied`, `io`, `empty`, `not_a_capture`,
    /// `short_header`, `bad_header`, `unsupported_compression`,
    /// `compressed_data` (a compressed input that does not decompress),
    /// `no_frame` (not one record readable after the header).
    #[schemars(schema_with = "input_error_kind")]
    pub kind: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Tool {
    #[schemars(schema_with = "tool_name")]
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
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CaptureReport {
    pub file: String,
    pub format: CaptureFormat,
    /// The link types of its interfaces, by their registry names without
    /// `LINKTYPE_` (`ETHERNET`), or `LINKTYPE_<n>` for unnamed values.
    #[schemars(schema_with = "link_type_names")]
    pub link_types: Vec<String>,
    pub frames: u64,
    pub tcp_segments: u64,
    /// Frames that were not TCP segments, by reason.
    pub skipped: Counts<SkipReason>,
    pub truncated: bool,
    /// Where and why reading stopped early, or null.
    pub stopped: Option<ReadStop>,
    /// What reading went on past (malformed pcapng blocks skipped,
    /// impossible timestamps); absent when nothing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<ReadNotice>,
    pub connections: u64,
    /// TCP segments analyzed although their IPv4 header or TCP checksum is
    /// wrong (without `--verify-checksums`; usually checksum offload on the
    /// capturing host), among the first [`CaptureReport::checksums_counted`]
    /// if it is set; left out of the JSON when 0.
    #[serde(skip_serializing_if = "is_zero")]
    pub bad_checksums: u64,
    /// Without `--verify-checksums`, only the checksums of the capture's
    /// first segments are computed (65,536): set when it had more.
    #[serde(skip)]
    pub checksums_counted: Option<u64>,
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
            notices: read.notices,
            connections,
            bad_checksums: 0,
            checksums_counted: None,
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

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EndpointReport {
    /// An IPv4 or IPv6 address.
    #[schemars(schema_with = "ip_address")]
    pub addr: String,
    pub port: u16,
    pub isn: Option<u32>,
    pub final_state: State,
    pub states: Vec<State>,
    pub packets: u64,
    pub payload_bytes: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HandshakeFrames {
    pub syn: Option<u64>,
    pub syn_ack: Option<u64>,
    pub ack: Option<u64>,
}

/// Handshake round-trip times in seconds.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HandshakeRtt {
    /// First SYN to first SYN-ACK (the server side of the round trip, as seen here).
    pub syn_to_syn_ack: Option<f64>,
    /// First SYN-ACK to the final ACK (the client side).
    pub syn_ack_to_ack: Option<f64>,
    /// First SYN to the final ACK (Wireshark's tcp.analysis.initial_rtt).
    pub total: Option<f64>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Handshake {
    pub status: HandshakeStatus,
    pub frames: HandshakeFrames,
    pub rtt_s: HandshakeRtt,
    pub syn_count: u32,
    pub syn_ack_count: u32,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Teardown {
    pub status: TeardownStatus,
    pub initiator: Option<Initiator>,
    pub frames: Vec<u64>,
}

/// How the client was told from the server.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
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

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PacketReport {
    pub frame: u64,
    /// Seconds since the connection's first frame (negative when the
    /// capture's timestamps go back).
    pub time: f64,
    /// The sender: `c2s` from the client, `s2c` from the server.
    #[serde(serialize_with = "direction")]
    #[schemars(schema_with = "schema_direction")]
    pub dir: Side,
    /// Flag names joined by commas in Wireshark's order, as `SYN,ACK`;
    /// `NONE` when no flag is set.
    #[serde(serialize_with = "display")]
    #[schemars(schema_with = "schema_tcp_flags")]
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
    #[schemars(
        schema_with = "schema_analysis",
        description = "Wireshark-style analysis flags of this segment, named as tshark's `tcp.analysis.*` fields; empty for an ordinary segment."
    )]
    pub analysis: SegFlags,
    /// The state changes this segment caused, in order.
    pub transitions: Vec<TransitionReport>,
    /// Set when this record stands for a run of ordinary segments collapsed
    /// while reading for the teaching views (`connection::PacketRecord::run`);
    /// never in the JSON outputs, which keep every packet.
    #[serde(skip)]
    #[schemars(skip)]
    pub run: Option<Box<RunReport>>,
}

impl PacketReport {
    /// The report of one packet record of a connection whose first frame
    /// came at `first_ns`.
    fn of(
        p: &crate::connection::PacketRecord,
        run: Option<&crate::connection::RunSummary>,
        first_ns: i64,
    ) -> PacketReport {
        PacketReport {
            frame: p.at.frame,
            time: secs(p.at.ts_ns.saturating_sub(first_ns)),
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
            run: run.map(|run| {
                Box::new(RunReport {
                    last_frame: run.last.frame,
                    last_time: secs(run.last.ts_ns.saturating_sub(first_ns)),
                    segments: run.segments,
                    bytes: run.bytes,
                    analysis: run.analysis.clone(),
                })
            }),
        }
    }
}

/// A run of ordinary segments collapsed while reading, as the teaching
/// views sum it up (`teach::Collapsed`); its first segment is the record's.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    pub last_frame: u64,
    /// Seconds since the connection's first frame.
    pub last_time: f64,
    /// Segments and payload bytes per sender, `[client, server]`.
    pub segments: [u64; 2],
    pub bytes: [u64; 2],
    /// Each set of analysis flags among them, with how many segments had it.
    pub analysis: Vec<(SegFlags, u64)>,
}

/// One state change of one side.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TransitionReport {
    pub side: Side,
    pub from: State,
    pub to: State,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ConnectionReport {
    /// 1, 2, 3… in first-seen order, one sequence over all input files.
    #[schemars(range(min = 1))]
    pub id: u64,
    /// Shared by every connection of the capture.
    #[schemars(
        with = "String",
        description = "The capture it came from, as in `captures[].file`."
    )]
    pub file: FileName,
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
    #[schemars(length(min = 1))]
    pub encapsulation: Vec<String>,
    pub roles_by: RolesBy,
    pub first_frame: u64,
    pub last_frame: u64,
    /// The time of the first segment, RFC 3339 UTC with nanoseconds.
    #[schemars(extend("format" = "date-time"))]
    pub start_time: String,
    /// The same instant in seconds since the Unix epoch.
    pub start_ts: f64,
    /// Seconds from the first to the last segment.
    #[schemars(range(min = 0.0))]
    pub duration_s: f64,
    pub handshake: Handshake,
    pub teardown: Teardown,
    /// Why the connection's report was written: `close`, `reuse`,
    /// `idle_timeout`, `max_connections` or `capture_end`.
    pub ended_by: EndedBy,
    /// Zeek's conn_state, with the client as originator.
    pub conn_state: ConnState,
    /// Zeek's history string.
    #[schemars(regex(pattern = r"^\^?[ACDFGHIQRSTWacdfghiqrstw]*$"))]
    pub history: String,
    /// Wireshark's tcp.completeness bitmask.
    #[schemars(range(max = 63))]
    pub completeness: u8,
    /// The counters of a Zeek conn.log row.
    pub zeek: ZeekFields,
    /// Every Zeek record of the connection, in order, when Zeek's timers
    /// or a reused 4-tuple split it into more than one (left out when it
    /// is one record: `conn_state`, `history` and `zeek` are then the whole
    /// of it). The first is the one `conn_state`, `history` and `zeek`
    /// describe; `docs/json-schema.md` and `docs/zeek.md` say how.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub zeek_records: Vec<ZeekRecordReport>,
    /// Zeek splits not made because the connection had 16 records already
    /// (the last record then goes on to the end); left out when 0.
    #[serde(skip_serializing_if = "is_zero")]
    pub zeek_records_merged: u64,
    /// What the checks found, ordered by first frame.
    pub findings: Vec<FindingReport>,
    /// Why the connection failed or stalled (`docs/diagnosis.md`); left out
    /// for a connection that is fine or whose trouble has no known cause.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<Diagnosis>,
    /// The ICMP errors about the connection's segments, in the order they
    /// came (the first 8; the IC findings count them all); left out when
    /// there were none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub icmp: Vec<IcmpReport>,
    /// Only with `--packets`: every segment of the connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<PacketReport>")]
    pub packets: Option<Vec<PacketReport>>,
    /// Instead of `packets` (then `None`), in the formats that write the
    /// packets as they read them ([`PacketStream`]): not written by this
    /// type's `Serialize`, but after it, as the last field
    /// (`render::json`).
    #[serde(skip)]
    #[schemars(skip)]
    pub packet_stream: Option<PacketStream>,
}

/// A connection's packet records (`connection::PacketList`, spilled to a
/// temporary file past a bound), made [`PacketReport`]s one at a time as
/// they are written: one connection of millions of segments is never
/// held as reports, nor as text.
#[derive(Debug, Clone)]
pub struct PacketStream {
    list: std::sync::Arc<crate::connection::PacketList>,
    /// The connection's first frame's time, that of each packet is from.
    first_ns: i64,
}

impl PacketStream {
    /// The packets of `c`, taken from it.
    pub fn take(c: &mut Connection) -> Option<PacketStream> {
        c.packets.take().map(|list| PacketStream {
            list: std::sync::Arc::new(*list),
            first_ns: c.first.ts_ns,
        })
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Hands each packet's report to `f`, in order. Fails if the records
    /// spilled cannot be read back, or if `f` fails.
    pub fn for_each(
        &self,
        mut f: impl FnMut(&PacketReport) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        self.list
            .for_each(|_, p, run| f(&PacketReport::of(p, run, self.first_ns)))
    }
}

/// One ICMP or ICMPv6 error about one of a connection's segments.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct IcmpReport {
    /// The ICMP packet's frame.
    pub frame: u64,
    /// Seconds since the connection's first frame.
    pub time: f64,
    /// Who reported it: the ICMP packet's source (a router, or the host).
    #[schemars(schema_with = "ip_address")]
    pub reporter: String,
    /// `icmp` or `icmpv6`.
    #[schemars(schema_with = "schema_icmp_protocol")]
    pub protocol: &'static str,
    #[serde(rename = "type")]
    pub icmp_type: u8,
    pub code: u8,
    /// `unreachable`, `admin_prohibited`, `packet_too_big`,
    /// `time_exceeded`, `redirect`, `parameter_problem`, `source_quench`.
    #[serde(serialize_with = "icmp_kind")]
    #[schemars(schema_with = "schema_icmp_kind")]
    pub kind: IcmpKind,
    /// The type and code in words.
    pub description: &'static str,
    /// The MTU a "fragmentation needed" or "packet too big" gives.
    pub mtu: Option<u32>,
    /// The gateway a redirect names.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "ip_address")]
    pub gateway: Option<String>,
    /// The check it is reported under (`IC002`).
    #[serde(serialize_with = "code")]
    pub check: Check,
    pub quoted: QuotedReport,
}

/// The segment an ICMP error quotes.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct QuotedReport {
    /// Its sender: `c2s` from the client, `s2c` from the server.
    #[serde(serialize_with = "direction")]
    #[schemars(schema_with = "schema_direction")]
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

fn schema_icmp_kind(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "enum": IcmpKind::ALL.map(IcmpKind::as_str) })
}

fn schema_icmp_protocol(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "enum": ["icmp", "icmpv6"] })
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
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FindingReport {
    /// The check, by its code (`HS001`).
    #[serde(serialize_with = "code")]
    pub code: Check,
    pub severity: Severity,
    #[serde(serialize_with = "constant")]
    pub title: &'static str,
    pub message: String,
    pub frames: Vec<u64>,
    /// How many times the check fired on this connection.
    #[schemars(range(min = 1))]
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

/// One of the Zeek records a connection was split into: one conn.log row.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ZeekRecordReport {
    /// Its number in the connection, from 1; its conn.log uid is the
    /// connection's with `r<record>` after it from record 2 on.
    #[schemars(range(min = 1))]
    pub record: u32,
    pub first_frame: u64,
    pub last_frame: u64,
    /// The time of its first segment, RFC 3339 UTC with nanoseconds.
    #[schemars(extend("format" = "date-time"))]
    pub start_time: String,
    pub start_ts: f64,
    /// Seconds from its first to its last segment.
    #[schemars(range(min = 0.0))]
    pub duration_s: f64,
    pub conn_state: ConnState,
    #[schemars(regex(pattern = r"^\^?[ACDFGHIQRSTWacdfghiqrstw]*$"))]
    pub history: String,
    pub zeek: ZeekFields,
}

/// The counters of a Zeek conn.log row (originator = client).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ZeekFields {
    pub orig_bytes: u64,
    pub resp_bytes: u64,
    pub missed_bytes: u64,
    pub orig_pkts: u64,
    pub orig_ip_bytes: u64,
    pub resp_pkts: u64,
    pub resp_ip_bytes: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema, Default)]
pub struct Summary {
    pub connections: u64,
    /// Every status, with the ones that did not occur at 0.
    #[schemars(schema_with = "schema_every_handshake")]
    pub by_handshake: Counts<HandshakeStatus>,
    /// Every status, with the ones that did not occur at 0.
    #[schemars(schema_with = "schema_every_teardown")]
    pub by_teardown: Counts<TeardownStatus>,
    /// The states that occurred.
    pub by_conn_state: Counts<ConnState>,
    pub findings: FindingCounts,
    /// The pass/fail verdict for `--fail-on`.
    pub verdict: VerdictReport,
    /// Connections per server endpoint, for the table's summary of large
    /// captures; in the JSON, the servers with diagnosed connections
    /// (`diagnosed_by_server`, left out when there are none).
    #[serde(
        rename = "diagnosed_by_server",
        skip_serializing_if = "ServerCounts::none_diagnosed",
        serialize_with = "ServerCounts::serialize_diagnosed"
    )]
    #[schemars(with = "Vec<ServerDiagnoses>")]
    pub servers: ServerCounts,
}

/// One server's connections, and those diagnosed, by cause.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerTally {
    pub by_handshake: Counts<HandshakeStatus>,
    pub by_cause: Counts<Cause>,
}

impl ServerTally {
    fn merge(&mut self, other: &ServerTally) {
        self.by_handshake.merge(&other.by_handshake);
        self.by_cause.merge(&other.by_cause);
    }
}

/// One server with diagnosed connections, in the JSON summary.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ServerDiagnoses {
    /// `addr:port` (IPv6 in brackets).
    pub server: String,
    #[schemars(range(min = 1))]
    pub connections: u64,
    #[schemars(range(min = 1))]
    pub diagnosed: u64,
    /// The diagnosed connections by cause.
    pub by_cause: Counts<Cause>,
}

/// Connections per server endpoint ("addr:port") with their handshake
/// statuses and the causes of their diagnoses. At most
/// [`ServerCounts::MAX`] servers are told apart; the rest are counted
/// together.
#[derive(Debug, Clone, Default)]
pub struct ServerCounts {
    pub by_server: HashMap<(IpAddr, u16), ServerTally, foldhash::fast::RandomState>,
    pub others: u64,
    /// Diagnosed connections among `others`, by cause.
    pub others_by_cause: Counts<Cause>,
}

impl ServerCounts {
    pub const MAX: usize = 10_000;

    fn add(&mut self, key: (IpAddr, u16), status: HandshakeStatus, cause: Option<Cause>) {
        let tally = if self.by_server.len() < Self::MAX || self.by_server.contains_key(&key) {
            Some(self.by_server.entry(key).or_default())
        } else {
            None
        };
        match tally {
            Some(m) => {
                m.by_handshake.add(status, 1);
                if let Some(cause) = cause {
                    m.by_cause.add(cause, 1);
                }
            }
            None => {
                self.others += 1;
                if let Some(cause) = cause {
                    self.others_by_cause.add(cause, 1);
                }
            }
        }
    }

    fn merge(&mut self, other: &ServerCounts) {
        self.others += other.others;
        self.others_by_cause.merge(&other.others_by_cause);
        for (key, tally) in &other.by_server {
            if let Some(m) = self.by_server.get_mut(key) {
                m.merge(tally);
            } else if self.by_server.len() < Self::MAX {
                self.by_server.insert(*key, tally.clone());
            } else {
                self.others += tally.by_handshake.total();
                self.others_by_cause.merge(&tally.by_cause);
            }
        }
    }

    /// The `n` servers with the most connections: ("addr:port", total, by status).
    pub fn top(&self, n: usize) -> Vec<(String, u64, &Counts<HandshakeStatus>)> {
        let mut all: Vec<_> = self
            .by_server
            .iter()
            .map(|(k, m)| (*k, m.by_handshake.total(), &m.by_handshake))
            .collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        all.truncate(n);
        all.into_iter()
            .map(|((ip, port), total, m)| {
                (std::net::SocketAddr::new(ip, port).to_string(), total, m)
            })
            .collect()
    }

    /// Whether no connection was diagnosed.
    pub fn none_diagnosed(&self) -> bool {
        self.others_by_cause.is_empty() && self.by_server.values().all(|m| m.by_cause.is_empty())
    }

    /// The servers with diagnosed connections, the most diagnosed first
    /// (then by address), at most `n` (0: all).
    pub fn diagnosed(&self, n: usize) -> Vec<ServerDiagnoses> {
        let mut all: Vec<_> = self
            .by_server
            .iter()
            .filter(|(_, m)| !m.by_cause.is_empty())
            .collect();
        all.sort_by(|a, b| {
            b.1.by_cause
                .total()
                .cmp(&a.1.by_cause.total())
                .then(a.0.cmp(b.0))
        });
        if n > 0 {
            all.truncate(n);
        }
        all.into_iter()
            .map(|(&(ip, port), m)| ServerDiagnoses {
                server: std::net::SocketAddr::new(ip, port).to_string(),
                connections: m.by_handshake.total(),
                diagnosed: m.by_cause.total(),
                by_cause: m.by_cause.clone(),
            })
            .collect()
    }

    fn serialize_diagnosed<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.diagnosed(0))
    }
}

/// Findings counted by severity and by code (each finding counts once,
/// whatever its `count`).
#[derive(Debug, Clone, Serialize, JsonSchema, Default)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, JsonSchema)]
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
#[derive(Debug, Clone, Serialize, JsonSchema, Default)]
pub struct VerdictReport {
    pub result: Verdict,
    /// The level that fails: `error`, `warning`, `info`, or `never` (None).
    #[schemars(description = "The level that fails: `error`, `warning`, `info`, or `never`.")]
    #[serde(serialize_with = "fail_on")]
    #[schemars(schema_with = "schema_fail_on")]
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

impl Named for Cause {
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
    s.collect_seq(analysis_flags(*flags).map(|(_, name)| Constant(name)))
}

fn direction<S: Serializer>(side: &Side, s: S) -> Result<S::Ok, S::Error> {
    Constant(direction_name(*side)).serialize(s)
}

fn display<S: Serializer>(v: &impl std::fmt::Display, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// A capture's file name as each of its connections carries it: shared,
/// and, when it is plain JSON text, also a constant (made once per name,
/// for the first [`FileName::CONSTANTS`] names of the process), so that the
/// JSON document's held-back records pack it as a number like the
/// model's words (`render/packed.rs`).
#[derive(Debug, Clone)]
pub struct FileName {
    name: std::sync::Arc<str>,
    constant: Option<&'static str>,
}

impl FileName {
    /// How many names become constants: they are never freed, so there is
    /// a bound (the packed layout numbers at most 128 constants anyway).
    const CONSTANTS: usize = 64;

    pub fn new(name: &str) -> FileName {
        // Written as it is in JSON: no quote, backslash, control character
        // or bidirectional control (whose UTF-8 begins with 0xE2).
        let plain = name
            .bytes()
            .all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b != 0xE2);
        FileName {
            name: name.into(),
            constant: plain.then(|| Self::constant(name)).flatten(),
        }
    }

    fn constant(name: &str) -> Option<&'static str> {
        static MADE: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
        let mut made = MADE.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&known) = made.iter().find(|&&known| known == name) {
            return Some(known);
        }
        if made.len() >= Self::CONSTANTS {
            return None;
        }
        let leaked: &'static str = Box::leak(name.into());
        made.push(leaked);
        Some(leaked)
    }
}

impl std::ops::Deref for FileName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.name
    }
}

impl Serialize for FileName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.constant {
            Some(constant) => Constant(constant).serialize(s),
            None => s.serialize_str(&self.name),
        }
    }
}

/// A constant text of the model (a check's code or title, a direction,
/// an analysis flag's name), written as an enum's word is: the same JSON
/// text in every format, and one the JSON document's held-back records
/// pack as a number (`render/packed.rs`).
struct Constant(&'static str);

impl Serialize for Constant {
    #[inline]
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_unit_variant("", 0, self.0)
    }
}

fn constant<S: Serializer>(text: &&'static str, s: S) -> Result<S::Ok, S::Error> {
    Constant(text).serialize(s)
}

fn code<S: Serializer>(check: &Check, s: S) -> Result<S::Ok, S::Error> {
    Constant(check.code()).serialize(s)
}

fn codes<S: Serializer>(checks: &[Check], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(checks.iter().map(|c| c.code()))
}

fn fail_on<S: Serializer>(level: &Option<Severity>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(level.map_or("never", Severity::as_str))
}

// The JSON Schema of what the hand-written `Serialize` impls and the
// `serialize_with` functions above write, beside them so that the two are
// read together. `crate::schema` puts the schema together.

fn schema_id(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "const": SCHEMA })
}

fn tool_name(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "const": env!("CARGO_PKG_NAME") })
}

fn link_type_names(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "items": { "type": "string", "pattern": "^[A-Z][A-Z0-9_]*$" }
    })
}

fn ip_address(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "anyOf": [{ "format": "ipv4" }, { "format": "ipv6" }]
    })
}

/// [`direction`].
fn schema_direction(_: &mut SchemaGenerator) -> Schema {
    let names = [Side::Client, Side::Server].map(direction_name);
    json_schema!({ "type": "string", "enum": names })
}

/// [`TcpFlags`]' `Display`: its flag names in order, or `NONE`.
fn schema_tcp_flags(_: &mut SchemaGenerator) -> Schema {
    // Each flag alone, by its name (a bit without one shows as NONE).
    let names: Vec<String> = (0..16)
        .map(|bit| TcpFlags(1 << bit).to_string())
        .filter(|name| name != "NONE")
        .collect();
    let one = format!("(?:{})", names.join("|"));
    json_schema!({
        "type": "string",
        "pattern": format!("^(?:NONE|{one}(?:,{one})*)$")
    })
}

/// [`analysis_names`].
fn schema_analysis(_: &mut SchemaGenerator) -> Schema {
    let names: Vec<&str> = SegFlags::NAMES.iter().map(|&(_, name)| name).collect();
    json_schema!({
        "type": "array",
        "items": { "type": "string", "enum": names },
        "uniqueItems": true
    })
}

/// [`fail_on`].
fn schema_fail_on(_: &mut SchemaGenerator) -> Schema {
    let levels = [
        Some(Severity::Error),
        Some(Severity::Warning),
        Some(Severity::Info),
        None,
    ];
    let names = levels.map(|l| l.map_or("never", Severity::as_str));
    json_schema!({ "type": "string", "enum": names })
}

/// `by_handshake`: every status is present (with 0 where none).
fn schema_every_handshake(g: &mut SchemaGenerator) -> Schema {
    // `unreachable` only when it occurred.
    every_key(g, &HandshakeStatus::LISTED)
}

/// `by_teardown`: every status is present.
fn schema_every_teardown(g: &mut SchemaGenerator) -> Schema {
    every_key(g, &TeardownStatus::ALL)
}

fn every_key<K: Named + JsonSchema>(g: &mut SchemaGenerator, all: &[K]) -> Schema {
    let mut schema = Counts::<K>::json_schema(g);
    let names: Vec<&str> = all.iter().map(|&k| k.name()).collect();
    schema.insert("required".into(), names.into());
    schema
}

/// A JSON object: each key one of `K`'s names, each value a count.
impl<K: Named + JsonSchema> JsonSchema for Counts<K> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("Counts_{}", K::schema_name()).into()
    }

    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "propertyNames": g.subschema_for::<K>(),
            "additionalProperties": { "type": "integer", "minimum": 0 }
        })
    }
}

/// Serialized as its code (`code`, `codes`, and the keys of `by_code`).
impl JsonSchema for Check {
    fn schema_name() -> Cow<'static, str> {
        "Check".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let codes: Vec<&str> = Check::ALL.iter().map(|c| c.code()).collect();
        json_schema!({
            "description": "A check's stable code (`tcpstate rules` lists them).",
            "type": "string",
            "enum": codes
        })
    }
}

/// Serialized by its `as_str`.
impl JsonSchema for Initiator {
    fn schema_name() -> Cow<'static, str> {
        "Initiator".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        // A variant added to `Initiator` must be added here: this match
        // does not compile until it is.
        let _every_variant_is_listed = |i: Initiator| match i {
            Initiator::One(Side::Client | Side::Server) | Initiator::Both => (),
        };
        let all = [
            Initiator::One(Side::Client),
            Initiator::One(Side::Server),
            Initiator::Both,
        ];
        json_schema!({
            "description": "Who started the release: `client`, `server`, or `both` (simultaneous close).",
            "type": "string",
            "enum": all.map(Initiator::as_str)
        })
    }
}

/// Serialized by its `as_str`: a name, or for the two reasons that carry
/// what was not supported, a prefix and that.
impl JsonSchema for SkipReason {
    fn schema_name() -> Cow<'static, str> {
        "SkipReason".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        use SkipReason::*;
        // A variant added to `SkipReason` must be added below: this match
        // does not compile until it is.
        let _every_variant_is_listed = |r: SkipReason| match r {
            UnknownLinkType
            | UnsupportedLinkType(_)
            | UnknownInterface
            | TruncatedLinkHeader
            | TruncatedTunnelHeader
            | UnsupportedEncapsulation(_)
            | EncapsulationTooDeep
            | Encrypted80211
            | NotIp
            | NotTcp
            | IpFragment
            | IpFragmentLimit
            | IpFragmentInconsistent
            | IpFragmentTimeout
            | TruncatedIpHeader
            | InvalidIpHeader
            | MalformedIpOptions
            | IpLengthExceedsFrame
            | TruncatedTcpHeader
            | InvalidTcpHeader
            | Filtered
            | OtherShard
            | BadChecksum
            | IcmpAttached
            | IcmpNoConnection
            | IcmpTruncatedQuote => (),
        };
        let named = [
            UnknownLinkType,
            UnknownInterface,
            TruncatedLinkHeader,
            TruncatedTunnelHeader,
            EncapsulationTooDeep,
            Encrypted80211,
            NotIp,
            NotTcp,
            IpFragment,
            IpFragmentLimit,
            IpFragmentInconsistent,
            IpFragmentTimeout,
            TruncatedIpHeader,
            InvalidIpHeader,
            MalformedIpOptions,
            IpLengthExceedsFrame,
            TruncatedTcpHeader,
            InvalidTcpHeader,
            Filtered,
            OtherShard,
            BadChecksum,
            IcmpAttached,
            IcmpNoConnection,
            IcmpTruncatedQuote,
        ];
        json_schema!({
            "description": "Why frames were not analyzed.",
            "type": "string",
            "anyOf": [
                { "enum": named.map(SkipReason::as_str) },
                { "pattern": "^unsupported_link_type: LINKTYPE_[A-Z0-9_]+$" },
                { "pattern": "^unsupported_encapsulation: [^\\n]+$" }
            ]
        })
    }
}

impl Summary {
    pub fn new() -> Summary {
        Summary {
            by_handshake: Counts::zeros(HandshakeStatus::LISTED),
            by_teardown: Counts::zeros(TeardownStatus::ALL),
            ..Summary::default()
        }
    }

    /// Counts one connection, from its assessment and the cause of its
    /// diagnosis.
    pub fn add(&mut self, a: &Assessment, cause: Option<Cause>) {
        self.connections += 1;
        self.by_handshake.add(a.handshake, 1);
        self.by_teardown.add(a.teardown, 1);
        self.by_conn_state.add(a.conn_state, 1);
        self.servers.add(a.server, a.handshake, cause);
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
    /// Makes the verdict an error: `unreadable` of the `inputs` could not
    /// be read, for the reasons in `why` (`file: reason; …`). With none
    /// read it says that nothing was analyzed; otherwise it says what the
    /// verdict on the others is.
    pub fn input_error(&mut self, unreadable: usize, inputs: usize, why: &str) {
        self.verdict.result = Verdict::Error;
        let read = inputs.saturating_sub(unreadable);
        let rest = match read {
            0 => "nothing was analyzed".to_string(),
            1 => format!("the other input was read: {}", self.verdict.text),
            n => format!("the {n} other inputs were read: {}", self.verdict.text),
        };
        self.verdict.text = format!(
            "ERROR: {unreadable} of {inputs} input{} could not be read ({why}); {rest}",
            plural(inputs as u64),
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
        file: &FileName,
        a: Assessment,
        diagnosis: Option<Diagnosis>,
    ) -> ConnectionReport {
        let endpoint = |side: Side| {
            let e = c.tracker.endpoint(side);
            let a = c.addr(side);
            let st = c.stats(side);
            EndpointReport {
                addr: crate::connection::ip_text(a.ip),
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
            let mut packets = Vec::with_capacity(list.len());
            // In memory (only a list that spills can fail to read back,
            // and such a list is a `PacketStream`'s).
            let read = list.for_each(|_, p, run| {
                packets.push(PacketReport::of(p, run, c.first.ts_ns));
                Ok(())
            });
            debug_assert!(read.is_ok(), "{read:?}");
            packets
        });
        ConnectionReport {
            id: c.id,
            file: file.clone(),
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
                    syn: o.syn.get().map(|a| a.frame),
                    syn_ack: o.syn_ack.get().map(|a| a.frame),
                    ack: o.hs_ack.get().map(|a| a.frame),
                },
                rtt_s: HandshakeRtt {
                    syn_to_syn_ack: between(o.syn.get(), o.syn_ack.get()),
                    syn_ack_to_ack: between(o.syn_ack.get(), o.hs_ack.get()),
                    total: between(o.syn.get(), o.hs_ack.get()),
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
            zeek_records: c
                .zeek
                .records(c.last.mark())
                .iter()
                .zip(1u32..)
                .map(|(r, record)| ZeekRecordReport {
                    record,
                    first_frame: r.first.frame,
                    last_frame: r.last.frame,
                    start_time: rfc3339(r.first.ts_ns),
                    start_ts: secs(r.first.ts_ns),
                    duration_s: elapsed(r.first.ts_ns, r.last.ts_ns),
                    conn_state: r.conn_state,
                    history: r.history.to_string(),
                    zeek: ZeekFields {
                        orig_bytes: r.orig.bytes,
                        resp_bytes: r.resp.bytes,
                        missed_bytes: r.missed_bytes,
                        orig_pkts: r.orig.pkts,
                        orig_ip_bytes: r.orig.ip_bytes,
                        resp_pkts: r.resp.pkts,
                        resp_ip_bytes: r.resp.ip_bytes,
                    },
                })
                .collect(),
            zeek_records_merged: c.zeek.merged_splits(),
            findings: a.findings.into_iter().map(FindingReport::from).collect(),
            diagnosis,
            icmp: c
                .icmp_errors()
                .iter()
                .map(|i| IcmpReport::of(c, i))
                .collect(),
            packets,
            packet_stream: None,
        }
    }
}

/// The integration tests' JSON Schema validator, for the unit tests of the
/// hand-written schemas below.
#[cfg(test)]
#[path = "../tests/common/schema.rs"]
mod schema_check;

#[cfg(test)]
mod tests {
    use super::*;

    /// A file name is written as the string it is, plain or not, and only a
    /// plain one is a constant.
    #[test]
    fn file_names_are_their_text() {
        for name in [
            "capture.pcap",
            "we\"ird\\name.pcap",
            "tab\there.pcap",
            "bidi\u{202e}name.pcap",
            "点.pcap",
        ] {
            let file = FileName::new(name);
            assert_eq!(&*file, name);
            assert_eq!(
                serde_json::to_string(&file).unwrap(),
                serde_json::to_string(name).unwrap()
            );
            let plain = !name.contains(['"', '\\', '\t', '\u{202e}']);
            assert_eq!(file.constant.is_some(), plain, "{name:?}");
        }
        // The same name, the same constant (made once).
        let (a, b) = (FileName::new("twice.pcap"), FileName::new("twice.pcap"));
        assert!(std::ptr::eq(a.constant.unwrap(), b.constant.unwrap()));
    }

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

    /// A validator of `schema` (a function of the model's `schema_*`).
    fn validator(schema: fn(&mut SchemaGenerator) -> Schema) -> super::schema_check::Validator {
        let mut g = schemars::generate::SchemaSettings::draft2020_12().into_generator();
        let mut value = schema(&mut g).to_value();
        // The definitions it refers to (enums of other types).
        let defs: serde_json::Map<String, serde_json::Value> = g.take_definitions(true);
        value["$defs"] = defs.into();
        super::schema_check::Validator::new(value).unwrap()
    }

    #[track_caller]
    fn valid(v: &super::schema_check::Validator, value: serde_json::Value) {
        assert!(v.is_valid(&value), "{value} does not match {:?}", v);
    }

    /// Each hand-written serialization writes only what its schema allows,
    /// for every value it can be given, and the schema refuses others.
    #[test]
    fn the_hand_written_schemas_match_what_is_written() {
        #[derive(Serialize)]
        struct Packet {
            #[serde(serialize_with = "direction")]
            dir: Side,
            #[serde(serialize_with = "display")]
            flags: TcpFlags,
            #[serde(serialize_with = "analysis_names")]
            analysis: SegFlags,
        }
        let (dir, flags, analysis) = (
            validator(schema_direction),
            validator(schema_tcp_flags),
            validator(schema_analysis),
        );
        for bits in 0..0x200u16 {
            let side = if bits % 2 == 0 {
                Side::Client
            } else {
                Side::Server
            };
            let p = serde_json::to_value(Packet {
                dir: side,
                flags: TcpFlags(bits),
                analysis: SegFlags(bits.rotate_left(bits as u32 % 16)),
            })
            .unwrap();
            valid(&dir, p["dir"].clone());
            valid(&flags, p["flags"].clone());
            valid(&analysis, p["analysis"].clone());
        }
        for wrong in ["", "SYN|ACK", "syn", "NONE,SYN", "SYN,", "PUSH"] {
            assert!(!flags.is_valid(&wrong.into()), "{wrong}");
        }

        #[derive(Serialize)]
        struct Gate {
            #[serde(serialize_with = "fail_on")]
            fail_on: Option<Severity>,
            #[serde(serialize_with = "codes")]
            allowed: Vec<Check>,
        }
        let fail_on_schema = validator(schema_fail_on);
        let check_schema = validator(Check::json_schema);
        for level in [
            None,
            Some(Severity::Info),
            Some(Severity::Warning),
            Some(Severity::Error),
        ] {
            let g = serde_json::to_value(Gate {
                fail_on: level,
                allowed: Check::ALL.to_vec(),
            })
            .unwrap();
            valid(&fail_on_schema, g["fail_on"].clone());
            for code in g["allowed"].as_array().unwrap() {
                valid(&check_schema, code.clone());
            }
        }
        assert!(!check_schema.is_valid(&"HS000".into()));

        let initiator = validator(Initiator::json_schema);
        for i in [
            Initiator::One(Side::Client),
            Initiator::One(Side::Server),
            Initiator::Both,
        ] {
            valid(&initiator, serde_json::to_value(i).unwrap());
        }

        // Every skip reason: the named ones, and every registered link type
        // tcpstate does not decode.
        let skipped = validator(Counts::<SkipReason>::json_schema);
        let mut reasons: Counts<SkipReason> = [
            SkipReason::UnknownLinkType,
            SkipReason::UnknownInterface,
            SkipReason::TruncatedLinkHeader,
            SkipReason::TruncatedTunnelHeader,
            SkipReason::UnsupportedEncapsulation("unsupported_encapsulation: GRE version"),
            SkipReason::EncapsulationTooDeep,
            SkipReason::Encrypted80211,
            SkipReason::NotIp,
            SkipReason::NotTcp,
            SkipReason::IpFragment,
            SkipReason::IpFragmentLimit,
            SkipReason::IpFragmentInconsistent,
            SkipReason::IpFragmentTimeout,
            SkipReason::TruncatedIpHeader,
            SkipReason::InvalidIpHeader,
            SkipReason::IpLengthExceedsFrame,
            SkipReason::TruncatedTcpHeader,
            SkipReason::InvalidTcpHeader,
            SkipReason::Filtered,
        ]
        .into_iter()
        .map(|r| (r, 1))
        .collect();
        let mut unsupported = 0;
        for lt in 0..=u16::MAX as u32 {
            if let Some(key) = linktype::unsupported_key(lt) {
                reasons.add(SkipReason::UnsupportedLinkType(key), 1);
                unsupported += 1;
            }
        }
        assert!(unsupported > 50, "{unsupported}");
        valid(&skipped, serde_json::to_value(&reasons).unwrap());
        assert!(!skipped.is_valid(&serde_json::json!({ "not_udp": 1 })));
        assert!(!skipped.is_valid(&serde_json::json!({ "not_tcp": -1 })));

        // Counts of every status name every status.
        let mut every = validator(schema_every_handshake);
        valid(
            &every,
            serde_json::to_value(Summary::new().by_handshake).unwrap(),
        );
        assert!(!every.is_valid(&serde_json::json!({ "complete": 1 })));
        every = validator(schema_every_teardown);
        valid(
            &every,
            serde_json::to_value(Summary::new().by_teardown).unwrap(),
        );
        let by_state = validator(Counts::<ConnState>::json_schema);
        valid(
            &by_state,
            serde_json::to_value(all(ConnState::ALL)).unwrap(),
        );
        assert!(!by_state.is_valid(&serde_json::json!({ "S4": 1 })));
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

        s.input_error(1, 2, "x.pcap: the file is empty");
        assert!(s.verdict.text.starts_with(
            "ERROR: 1 of 2 inputs could not be read (x.pcap: the file is empty); \
             the other input was read: FAIL: "
        ));
        assert!(!s.failed());
        assert_eq!(serde_json::to_value(&s.verdict).unwrap()["result"], "error");
    }
}
