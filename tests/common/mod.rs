//! Shared helpers for the integration tests: run the real binary and parse
//! its JSON into typed structs (unknown fields are an error, so the types
//! here double as a check of the `tcpstate/1` contract), each document and
//! line validated first against the shipped JSON Schemas ([`document`],
//! [`record`]).
#![allow(dead_code)]

pub mod pcapmut;
pub mod schema;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel)
}

/// Every capture (.pcap, .pcapng) under testdata/, at any depth, sorted.
pub fn all_captures() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path
                .extension()
                .is_some_and(|e| e == "pcap" || e == "pcapng")
            {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata"),
        &mut files,
    );
    files.sort();
    files
}

/// Runs the test named `test` (its path in the test crate, as `cargo test`
/// lists it) again, alone, in a new process of this test binary, for
/// measurements that tests running beside it in one process would spoil,
/// such as process-wide heap counters. Returns true in that new process,
/// where the caller then does its work; in the calling process it waits,
/// fails unless the test ran there and passed, relays what it printed, and
/// returns false.
pub fn alone(test: &str) -> bool {
    const MARK: &str = "TCPSTATE_TEST_ALONE";
    if std::env::var_os(MARK).is_some_and(|v| v == test) {
        return true;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let out = std::process::Command::new(&exe)
        .args([test, "--exact", "--test-threads=1", "--nocapture"])
        .env(MARK, test)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", exe.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("test result: ok. 1 passed"),
        "{test}, run alone, did not pass ({}):\n{stdout}\n{stderr}",
        out.status
    );
    eprint!("{stderr}");
    false
}

/// The tcpstate binary cargo built for these tests.
pub fn tcpstate() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tcpstate"));
    // The table and the timeline fit a width given in COLUMNS: the tests
    // that want one set it.
    cmd.env_remove("COLUMNS");
    cmd
}

/// A capture written into `dir` as `name` by the gen-capture example with
/// `args` (and `--seed 1`).
pub fn generate_with(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let gen = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("examples")
        .join("gen-capture");
    let out = dir.join(name);
    let status = Command::new(&gen)
        .args(args)
        .args(["--seed", "1", "-o"])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("{}: {e}", gen.display()));
    assert!(status.success());
    out
}

/// Generates a capture with the gen-capture example (built by `cargo test`
/// beside the test binaries) into `dir`.
pub fn generate(dir: &Path, connections: u32, concurrent: u32, seed: u32) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let gen = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join("gen-capture");
    let out = dir.join(format!("gen-{seed}.pcap"));
    let status = Command::new(&gen)
        .args([
            "--connections",
            &connections.to_string(),
            "--concurrent",
            &concurrent.to_string(),
            "--seed",
            &seed.to_string(),
            "-o",
        ])
        .arg(&out)
        .stdout(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("{}: {e}", gen.display()));
    assert!(status.success());
    out
}

/// Running a command to its end and checking how it exited.
pub trait Run {
    /// Runs the command (standard input empty, output captured) and asserts
    /// that it exited with `code`.
    fn exits(&mut self, code: i32) -> Output;
    /// The same, with `stdin` as its standard input.
    fn exits_with_stdin(&mut self, stdin: &[u8], code: i32) -> Output;
    /// Runs the command with `stdin` as its standard input, however it
    /// exits (a command that stops reading early is not an error here).
    fn output_with_stdin(&mut self, stdin: &[u8]) -> Output;
}

impl Run for Command {
    fn exits(&mut self, code: i32) -> Output {
        let out = self
            .output()
            .unwrap_or_else(|e| panic!("{self:?} does not run: {e}"));
        check_exit(self, out, code)
    }

    fn exits_with_stdin(&mut self, stdin: &[u8], code: i32) -> Output {
        let (out, written) = with_stdin(self, stdin);
        written.expect("standard input is written");
        check_exit(self, out, code)
    }

    fn output_with_stdin(&mut self, stdin: &[u8]) -> Output {
        // A broken pipe only means the command stopped reading.
        with_stdin(self, stdin).0
    }
}

/// Runs `cmd` with `stdin` as its standard input; also says whether all of
/// it was written.
fn with_stdin(cmd: &mut Command, stdin: &[u8]) -> (Output, std::io::Result<()>) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?} does not run: {e}"));
    let mut input = child.stdin.take().expect("stdin is piped");
    let stdin = stdin.to_vec();
    // Written from a thread, so a child that writes before it has read
    // everything cannot block on a full pipe.
    let writer = std::thread::spawn(move || input.write_all(&stdin));
    let out = child.wait_with_output().expect("the command ends");
    let written = writer.join().expect("the writer does not panic");
    (out, written)
}

fn check_exit(cmd: &Command, out: Output, code: i32) -> Output {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{cmd:?}\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub schema: String,
    pub tool: Tool,
    pub captures: Vec<Capture>,
    pub connections: Vec<Connection>,
    pub summary: Summary,
}

#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Capture {
    pub file: String,
    pub format: String,
    pub link_types: Vec<String>,
    pub frames: u64,
    pub tcp_segments: u64,
    pub skipped: BTreeMap<String, u64>,
    pub truncated: bool,
    pub stopped: Option<Stopped>,
    #[serde(default)]
    pub notices: Vec<Notice>,
    pub connections: u64,
    /// Left out of the JSON when 0.
    #[serde(default)]
    pub bad_checksums: u64,
    pub evicted: BTreeMap<String, u64>,
}

/// Something reading went on past (a malformed block, impossible timestamps).
#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Notice {
    pub offset: u64,
    pub frame: u64,
    pub message: String,
}

#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Stopped {
    pub offset: u64,
    pub frame: u64,
    pub truncated: bool,
    pub message: String,
}

#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    pub addr: String,
    pub port: u16,
    pub isn: Option<u32>,
    pub final_state: String,
    pub states: Vec<String>,
    pub packets: u64,
    pub payload_bytes: u64,
}

#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HandshakeFrames {
    pub syn: Option<u64>,
    pub syn_ack: Option<u64>,
    pub ack: Option<u64>,
}

#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rtt {
    pub syn_to_syn_ack: Option<f64>,
    pub syn_ack_to_ack: Option<f64>,
    pub total: Option<f64>,
}

#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Handshake {
    pub status: String,
    pub frames: HandshakeFrames,
    pub rtt_s: Rtt,
    pub syn_count: u32,
    pub syn_ack_count: u32,
}

#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Teardown {
    pub status: String,
    pub initiator: Option<String>,
    pub frames: Vec<u64>,
}

#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Packet {
    pub frame: u64,
    pub time: f64,
    pub dir: String,
    pub flags: String,
    pub seq: u32,
    pub ack: Option<u32>,
    pub rel_seq: u32,
    pub rel_ack: Option<u32>,
    pub len: u32,
    pub window: u16,
    pub client_state: String,
    pub server_state: String,
    pub analysis: Vec<String>,
    pub transitions: Vec<Transition>,
}

#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    pub side: String,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    pub id: u64,
    pub file: String,
    pub client: Endpoint,
    pub server: Endpoint,
    /// Left out of the JSON for a connection captured bare.
    #[serde(default)]
    pub encapsulation: Vec<String>,
    pub roles_by: String,
    pub first_frame: u64,
    pub last_frame: u64,
    pub start_time: String,
    pub start_ts: f64,
    pub duration_s: f64,
    pub handshake: Handshake,
    pub teardown: Teardown,
    pub ended_by: String,
    pub conn_state: String,
    pub history: String,
    pub completeness: u8,
    pub zeek: ZeekFields,
    /// Left out of the JSON for a connection that is one Zeek record.
    #[serde(default)]
    pub zeek_records: Vec<ZeekRecord>,
    #[serde(default)]
    pub zeek_records_merged: u64,
    pub findings: Vec<Finding>,
    /// Left out of the JSON for a connection that is fine.
    #[serde(default)]
    pub diagnosis: Option<Diagnosis>,
    /// Left out of the JSON for a connection no ICMP error was about.
    #[serde(default)]
    pub icmp: Vec<Icmp>,
    pub packets: Option<Vec<Packet>>,
}

#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Diagnosis {
    pub cause: String,
    pub confidence: String,
    pub evidence: BTreeMap<String, serde_json::Value>,
    pub text: String,
}

#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServerDiagnoses {
    pub server: String,
    pub connections: u64,
    pub diagnosed: u64,
    pub by_cause: BTreeMap<String, u64>,
}

#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Icmp {
    pub frame: u64,
    pub time: f64,
    pub reporter: String,
    pub protocol: String,
    #[serde(rename = "type")]
    pub icmp_type: u8,
    pub code: u8,
    pub kind: String,
    pub description: String,
    pub mtu: Option<u32>,
    #[serde(default)]
    pub gateway: Option<String>,
    pub check: String,
    pub quoted: IcmpQuoted,
}

#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IcmpQuoted {
    pub dir: String,
    pub seq: Option<u32>,
    pub rel_seq: Option<u32>,
    pub frame: Option<u64>,
    pub ip_len: u32,
    pub ttl: u8,
}

/// One of the Zeek records a connection was split into.
#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ZeekRecord {
    pub record: u32,
    pub first_frame: u64,
    pub last_frame: u64,
    pub start_time: String,
    pub start_ts: f64,
    pub duration_s: f64,
    pub conn_state: String,
    pub history: String,
    pub zeek: ZeekFields,
}

#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ZeekFields {
    pub orig_bytes: u64,
    pub resp_bytes: u64,
    pub missed_bytes: u64,
    pub orig_pkts: u64,
    pub orig_ip_bytes: u64,
    pub resp_pkts: u64,
    pub resp_ip_bytes: u64,
}

#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    pub code: String,
    pub severity: String,
    pub title: String,
    pub message: String,
    pub frames: Vec<u64>,
    pub count: u64,
}

impl Connection {
    /// The codes of its findings, in report order.
    pub fn codes(&self) -> Vec<&str> {
        self.findings.iter().map(|f| f.code.as_str()).collect()
    }

    pub fn finding(&self, code: &str) -> Option<&Finding> {
        self.findings.iter().find(|f| f.code == code)
    }
}

#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub connections: u64,
    pub by_handshake: BTreeMap<String, u64>,
    pub by_teardown: BTreeMap<String, u64>,
    pub by_conn_state: BTreeMap<String, u64>,
    pub findings: FindingCounts,
    pub verdict: Verdict,
    /// Left out of the JSON when no connection was diagnosed.
    #[serde(default)]
    pub diagnosed_by_server: Vec<ServerDiagnoses>,
}

#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FindingCounts {
    pub error: u64,
    pub warning: u64,
    pub info: u64,
    pub by_code: BTreeMap<String, u64>,
}

#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    pub result: String,
    pub fail_on: String,
    pub failing_findings: u64,
    pub allowed: Vec<String>,
    pub text: String,
}

/// The two JSON Schemas shipped in docs/ (`tcpstate schema`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// docs/tcpstate.schema.json: the document of `--format json`.
    Document,
    /// docs/tcpstate-record.schema.json: one line of `--format jsonl`.
    Record,
}

impl Schema {
    /// The shipped file's text.
    pub fn text(self) -> &'static str {
        match self {
            Schema::Document => include_str!("../../docs/tcpstate.schema.json"),
            Schema::Record => include_str!("../../docs/tcpstate-record.schema.json"),
        }
    }

    /// Its validator, built once: draft 2020-12, formats (date-time, ipv4,
    /// ipv6) checked too (`schema.rs`).
    pub fn validator(self) -> &'static schema::Validator {
        static DOCUMENT: std::sync::OnceLock<schema::Validator> = std::sync::OnceLock::new();
        static RECORD: std::sync::OnceLock<schema::Validator> = std::sync::OnceLock::new();
        let cell = match self {
            Schema::Document => &DOCUMENT,
            Schema::Record => &RECORD,
        };
        cell.get_or_init(|| {
            let schema: serde_json::Value =
                serde_json::from_str(self.text()).expect("the shipped schema is JSON");
            schema::Validator::new(schema)
                .unwrap_or_else(|e| panic!("{self:?}: the shipped schema does not compile: {e}"))
        })
    }

    /// What is wrong with `value` by this schema, one line per error
    /// (where in `value`, then what); empty when it is valid.
    pub fn errors(self, value: &serde_json::Value) -> Vec<String> {
        self.validator().errors(value)
    }

    /// Panics, saying why and showing the start of `value`, unless it is
    /// valid.
    #[track_caller]
    pub fn check(self, value: &serde_json::Value) {
        let errors = self.errors(value);
        if !errors.is_empty() {
            let mut shown = value.to_string();
            if shown.len() > 2000 {
                let mut end = 2000;
                while !shown.is_char_boundary(end) {
                    end -= 1;
                }
                shown.truncate(end);
                shown.push('…');
            }
            panic!(
                "output does not match the {self:?} schema:\n  {}\nin: {shown}",
                errors.join("\n  ")
            );
        }
    }

    /// Parses `json`, checks it against this schema (panicking if it does
    /// not match), then reads it as a `T`: the JSON error if it is not JSON
    /// or not a `T`.
    #[track_caller]
    pub fn parse<T: DeserializeOwned + 'static>(
        self,
        json: impl AsRef<[u8]>,
    ) -> serde_json::Result<T> {
        let value = parse_value(json.as_ref())?;
        self.check(&value);
        // A `Value` is wanted as it is: not rebuilt by deserializing it.
        let mut value = Some(value);
        if let Some(same) = (&mut value as &mut dyn std::any::Any).downcast_mut::<Option<T>>() {
            return Ok(same.take().expect("just put there"));
        }
        T::deserialize(value.expect("not taken"))
    }
}

/// `json` parsed as a [`serde_json::Value`], by serde_json's own (optimized)
/// parser of text: the tests' copy of `from_slice::<Value>` is compiled
/// unoptimized with them, and takes several times as long on the large
/// outputs some tests read.
pub fn parse_value(json: &[u8]) -> serde_json::Result<serde_json::Value> {
    match std::str::from_utf8(json) {
        Ok(text) => text.parse(),
        // Not UTF-8: serde_json's error, as from_slice gives it.
        Err(_) => serde_json::from_slice(json),
    }
}

/// Reads a `tcpstate/1` document (`--format json`), validated against the
/// document schema first.
#[track_caller]
pub fn document<T: DeserializeOwned + 'static>(json: impl AsRef<[u8]>) -> serde_json::Result<T> {
    Schema::Document.parse(json)
}

/// Reads one JSON Lines record (`--format jsonl`), validated against the
/// record schema first.
#[track_caller]
pub fn record<T: DeserializeOwned + 'static>(line: impl AsRef<[u8]>) -> serde_json::Result<T> {
    Schema::Record.parse(line)
}

/// Reads every line of `--format jsonl` output, each validated.
#[track_caller]
pub fn records<T: DeserializeOwned + 'static>(lines: impl AsRef<[u8]>) -> Vec<T> {
    let text = std::str::from_utf8(lines.as_ref()).expect("JSON Lines are UTF-8");
    text.lines()
        .map(|l| record(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Runs `tcpstate analyze --fail-on never ARGS… FILE…`, expecting success;
/// returns what it printed.
pub fn analyze_output<P: AsRef<std::ffi::OsStr>>(args: &[&str], files: &[P]) -> Vec<u8> {
    let out = tcpstate()
        .args(["analyze", "--fail-on", "never"])
        .args(args)
        .args(files)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "tcpstate {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs `tcpstate analyze --format json --packets FILE…`, expecting success.
pub fn analyze(files: &[&Path]) -> Report {
    let out = analyze_output(&["--format", "json", "--packets"], files);
    document(&out).expect("output parses as tcpstate/1")
}

pub fn analyze_one(rel: &str) -> Report {
    analyze(&[&testdata(rel)])
}

/// The single connection of a one-connection capture.
pub fn only_connection(rel: &str) -> Connection {
    let r = analyze_one(rel);
    assert_eq!(r.connections.len(), 1, "{rel}: expected one connection");
    r.connections.into_iter().next().unwrap()
}

pub fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// An Ethernet frame carrying a bare SYN from `src`:`port` to 10.9.9.9:80.
pub fn syn_frame(src: [u8; 4], port: u16, seq: u32) -> Vec<u8> {
    let builder = etherparse::PacketBuilder::ethernet2([2; 6], [4; 6])
        .ipv4(src, [10, 9, 9, 9], 64)
        .tcp(port, 80, seq, 64240)
        .syn();
    let mut frame = Vec::new();
    builder.write(&mut frame, &[]).unwrap();
    frame
}

/// Writes Ethernet frames as a microsecond pcap, one millisecond apart.
pub fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        let us = 1000 * i as u32;
        for x in [1_700_000_000, us, f.len() as u32, f.len() as u32] {
            out.extend_from_slice(&u32::to_le_bytes(x));
        }
        out.extend_from_slice(f);
    }
    std::fs::write(path, out).unwrap();
}

/// Peak resident set size of the largest child waited for, in bytes. Every
/// child counts, so a test that measures it runs alone in a process of its
/// own (`alone`): the other tests' children (mmdc's Chromium among them)
/// are not its children there.
pub fn children_max_rss() -> u64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr());
        usage.assume_init()
    };
    u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024
}

/// The whole report of the run `options` describe, every connection with
/// its packets (as the table keeps them without a limit), drawn by the
/// renderer of `options.format` (a teaching view): what the streamed view
/// must print. `None` if the run fails.
pub fn drawn_whole(options: &tcpstate::run::Options) -> Option<String> {
    use tcpstate::render::{self, teaching::TeachOptions, Format};
    use tcpstate::report::Report;
    let draw: fn(&Report, &TeachOptions, &mut dyn std::io::Write) -> std::io::Result<()> =
        match options.format {
            Format::Timeline => render::timeline::render,
            Format::Ladder => render::ladder::render,
            Format::Mermaid => render::mermaid::render,
            _ => unreachable!(),
        };
    let mut whole = options.clone();
    whole.format = Format::Table;
    whole.limit = 0;
    whole.packets = true;
    let outcome = tcpstate::run::run(&whole, &mut Vec::new(), &mut Vec::new()).ok()?;
    let mut out = Vec::new();
    draw(&outcome.report, &options.teach, &mut out).unwrap();
    Some(String::from_utf8(out).unwrap())
}
