//! Real consumers of tcpstate's output, run on shipped captures: DuckDB (its
//! Python package) loads the JSON Lines with `read_json_auto`, by the README's
//! recipe, into one typed row per connection with the table's counts;
//! parsezeeklogs (a Zeek log reader from PyPI) reads `--format zeek` with the
//! right types; `jq` runs the README's examples and gives the answers the
//! README shows; Python's `jsonschema` (the reference implementation of
//! JSON Schema) checks both shipped schemas against draft 2020-12's
//! meta-schema and validates documents and records with them, beside the
//! tests' own validator (`tests/common/schema.rs`).
//!
//! `.ci/run` installs DuckDB, parsezeeklogs and jsonschema into a virtual environment
//! (`.ci/python-setup`, into `.ci/venv/`) and exports its python as
//! `TCPSTATE_PYTHON`; jq comes from Debian. Without them a test says it was
//! skipped; under CI (`CI` set) it fails.

use crate::common;
use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

const HOW: &str = "TCPSTATE_PYTHON=\"$(bash .ci/python-setup)\" cargo test";

/// `CI` set, as CI services set it (`CI=true`), and not to "false" or "0".
fn under_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Says why a test cannot run: a failure under CI, else a skip, on
/// standard error.
fn missing(why: &str) {
    if under_ci() {
        panic!("CI must run this test, but {why}");
    }
    // Past the test harness's capture of eprintln!, so that a passing
    // test's skip is seen.
    let _ = writeln!(std::io::stderr(), "skipped: {why}");
}

/// The python of the virtual environment with DuckDB and parsezeeklogs:
/// `TCPSTATE_PYTHON`, else `.ci/venv/` if it was set up; None after saying
/// why the test is skipped.
fn python(module: &str) -> Option<PathBuf> {
    let python = std::env::var_os("TCPSTATE_PYTHON")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/venv/bin/python"));
    let has = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has {
        missing(&format!(
            "{} cannot import {module} (set up with: {HOW})",
            python.display()
        ));
        return None;
    }
    Some(python)
}

/// Runs `script` with `python` and `args`; what it printed, as JSON.
fn run_python(python: &Path, script: &str, args: &[&Path]) -> Value {
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", python.display()));
    assert!(
        out.status.success(),
        "the script failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the script prints JSON")
}

/// The README's text.
fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// The first fenced block of `lang` after the line holding `marker`.
fn block_after(text: &str, marker: &str, lang: &str) -> String {
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("README.md has no {marker:?}"));
    let fence = format!("```{lang}\n");
    let start = at + text[at..].find(&fence).expect("a block after the marker") + fence.len();
    let end = start + text[start..].find("```").expect("the block ends");
    text[start..end].to_string()
}

/// The shipped real captures (testdata/captures/), sorted.
fn real_captures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(testdata("captures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .collect();
    files.sort();
    files
}

/// The table's totals over all captures: the number of connections and the
/// count per handshake status, from its `all captures:` line.
fn table_totals(files: &[PathBuf]) -> (u64, BTreeMap<String, u64>) {
    let out = analyze_output(&["--limit", "1"], files);
    let text = String::from_utf8(out).unwrap();
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("all captures: "))
        .unwrap_or_else(|| panic!("no totals line in\n{text}"));
    // "35 connections · handshake: complete 30, refused 1 · teardown: …"
    let mut parts = line.split(" · ");
    let total: u64 = parts
        .next()
        .and_then(|p| p.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    let handshake = parts
        .next()
        .and_then(|p| p.strip_prefix("handshake: "))
        .unwrap_or_else(|| panic!("{line}"));
    let by_status = handshake
        .split(", ")
        .map(|s| {
            let (status, n) = s.rsplit_once(' ').unwrap();
            (status.to_string(), n.parse().unwrap())
        })
        .collect();
    (total, by_status)
}

const DUCKDB: &str = r#"
import duckdb, json, sys
path, sql = sys.argv[1], open(sys.argv[2]).read()
con = duckdb.connect()
results = []
for statement in [s for s in sql.split(";") if s.strip()]:
    results.append(con.execute(statement.replace("connections.jsonl", path)).fetchall())
types = {row[0]: row[1] for row in con.execute("DESCRIBE connections").fetchall()}
rows = con.execute("SELECT count(*), count(DISTINCT id) FROM connections").fetchone()
# A TIMESTAMP WITH TIME ZONE comes to Python through pytz, not installed:
# the same instant as a plain TIMESTAMP in UTC.
con.execute("SET TimeZone = 'UTC'")
typed = con.execute(
    "SELECT id, client.port, handshake.rtt_s.total, len(findings), start::TIMESTAMP FROM connections ORDER BY id"
).fetchall()
off = con.execute("SELECT max(abs(epoch(start) - start_ts)) FROM connections").fetchone()[0]
print(json.dumps({"results": results, "types": types, "rows": rows, "start_off": off,
                  "typed": [[type(v).__name__ for v in row] for row in typed]}, default=str))
"#;

#[test]
fn duckdb_reads_the_json_lines_by_the_readme_recipe() {
    let Some(python) = python("duckdb") else {
        return;
    };
    let files = real_captures();
    assert!(files.len() >= 20, "{} captures", files.len());
    let dir = tempfile::tempdir().unwrap();
    let lines = dir.path().join("connections.jsonl");
    std::fs::write(&lines, analyze_output(&["--format", "jsonl"], &files)).unwrap();
    let records: Vec<Connection> = records(std::fs::read(&lines).unwrap());
    let sql = dir.path().join("recipe.sql");
    std::fs::write(&sql, block_after(&readme(), "<!-- DuckDB recipe:", "sql")).unwrap();
    let got = run_python(&python, DUCKDB, &[&lines, &sql]);

    // One row per connection, as many as the table counts.
    let (total, by_status) = table_totals(&files);
    assert_eq!(records.len() as u64, total);
    assert_eq!(got["rows"], serde_json::json!([total, total]), "{got}");
    // Connections per handshake status, as in the table's totals line.
    let per_status: BTreeMap<String, u64> = got["results"][1]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_str().unwrap().to_string(), r[1].as_u64().unwrap()))
        .collect();
    assert_eq!(per_status, by_status);
    assert!(per_status.len() >= 4, "{per_status:?}");
    // Every finding at warning or above, as the JSON Lines have them.
    let mut want: Vec<Value> = Vec::new();
    for c in &records {
        let mut codes: Vec<&str> = c
            .findings
            .iter()
            .filter(|f| f.severity != "info")
            .map(|f| f.code.as_str())
            .collect();
        codes.sort();
        for code in codes {
            want.push(serde_json::json!([
                c.id,
                c.server.addr,
                c.server.port,
                code
            ]));
        }
    }
    want.sort_by_key(|r| r[0].as_u64());
    assert!(want.len() >= 10, "{want:?}");
    assert_eq!(got["results"][2], Value::Array(want));

    // Typed: numbers as numbers, objects as structs, lists as lists.
    let types = &got["types"];
    for (column, want) in [
        ("id", "BIGINT"),
        ("start_ts", "DOUBLE"),
        ("duration_s", "DOUBLE"),
        ("completeness", "BIGINT"),
        ("start", "TIMESTAMP WITH TIME ZONE"),
    ] {
        assert_eq!(types[column], want, "{column}: {types}");
    }
    let struct_of = |column: &str| types[column].as_str().unwrap_or_default().to_string();
    assert!(struct_of("client").starts_with("STRUCT(addr VARCHAR, port BIGINT, isn BIGINT"));
    assert!(struct_of("handshake").contains("rtt_s STRUCT(syn_to_syn_ack DOUBLE"));
    assert!(struct_of("findings").starts_with("STRUCT(code VARCHAR"));
    assert!(struct_of("findings").ends_with("[]"));
    assert!(struct_of("teardown").contains("frames BIGINT[]"));
    // `start` is `start_ts`, to the microsecond.
    assert!(
        got["start_off"].as_f64().unwrap() < 1e-6,
        "{}",
        got["start_off"]
    );
    for row in got["typed"].as_array().unwrap() {
        assert_eq!(row[0], "int");
        assert_eq!(row[1], "int");
        assert!(row[2] == "float" || row[2] == "NoneType", "{row}");
        assert_eq!(row[3], "int");
        assert_eq!(row[4], "datetime");
    }
}

const ZEEK: &str = r#"
import json, sys
from parsezeeklogs import read_zeek
rows = []
for r in read_zeek(sys.argv[1], time_format="datetime"):
    rows.append({
        "types": {k: type(v).__name__ for k, v in r.items()},
        "ts": r["ts"].timestamp(), "utc": r["ts"].utcoffset().total_seconds() == 0,
        "uid": r["uid"], "orig_p": r["id.orig_p"], "resp_p": r["id.resp_p"],
        "orig_h": r["id.orig_h"], "resp_h": r["id.resp_h"],
        "duration": r["duration"], "orig_bytes": r["orig_bytes"], "resp_bytes": r["resp_bytes"],
        "missed_bytes": r["missed_bytes"], "orig_pkts": r["orig_pkts"],
        "orig_ip_bytes": r["orig_ip_bytes"], "resp_pkts": r["resp_pkts"],
        "resp_ip_bytes": r["resp_ip_bytes"], "conn_state": r["conn_state"],
        "history": r["history"], "service": r["service"], "local_orig": r["local_orig"],
        "tunnel_parents": r["tunnel_parents"],
    })
print(json.dumps(rows))
"#;

#[test]
fn a_zeek_log_reader_reads_the_conn_log_with_its_types() {
    let Some(python) = python("parsezeeklogs") else {
        return;
    };
    let mut files = real_captures();
    files.push(testdata("tunnels/vxlan_two_tunnels.pcap"));
    files.push(testdata("tunnels/gre_csum_key_seq.pcap"));
    files.push(testdata("tunnels/geneve.pcap"));
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("conn.log");
    std::fs::write(&log, analyze_output(&["--format", "zeek"], &files)).unwrap();
    let report: Report = document(analyze_output(&["--format", "json"], &files)).unwrap();
    let rows = run_python(&python, ZEEK, &[&log]);
    let rows = rows.as_array().unwrap();
    // One row per Zeek record: a connection whose Zeek view Zeek's timers
    // split (`zeek_records`, listed when there are more than one) has one
    // row for each, the first with the connection's own uid.
    let records: usize = report
        .connections
        .iter()
        .map(|c| c.zeek_records.len().max(1))
        .sum();
    assert!(
        records > report.connections.len(),
        "a split record is read too"
    );
    assert_eq!(rows.len(), records);

    let by_uid: BTreeMap<&str, &Value> = rows
        .iter()
        .map(|r| (r["uid"].as_str().unwrap(), r))
        .collect();
    let mut tunnelled = 0;
    for c in &report.connections {
        // Each Zeek record of the connection: its own uid, times, state,
        // history and counters (`docs/json-schema.md`, zeek_records).
        let records: Vec<(String, f64, f64, &str, &str, &ZeekFields)> = if c.zeek_records.is_empty()
        {
            vec![(
                format!("CT{:016x}", c.id),
                c.start_ts,
                c.duration_s,
                c.conn_state.as_str(),
                c.history.as_str(),
                &c.zeek,
            )]
        } else {
            c.zeek_records
                .iter()
                .map(|z| {
                    let uid = match z.record {
                        1 => format!("CT{:016x}", c.id),
                        n => format!("CT{:016x}r{n}", c.id),
                    };
                    (
                        uid,
                        z.start_ts,
                        z.duration_s,
                        z.conn_state.as_str(),
                        z.history.as_str(),
                        &z.zeek,
                    )
                })
                .collect()
        };
        for (uid, start_ts, duration_s, conn_state, history, z) in records {
            let r = by_uid
                .get(uid.as_str())
                .unwrap_or_else(|| panic!("no row {uid}"));
            let types = &r["types"];
            // Zeek's types as Python's: time, port, count, interval.
            assert_eq!(types["ts"], "datetime", "{uid}");
            assert_eq!(r["utc"], true);
            for port in ["id.orig_p", "id.resp_p"] {
                assert_eq!(types[port], "int", "{uid} {port}");
            }
            for count in [
                "orig_bytes",
                "resp_bytes",
                "missed_bytes",
                "orig_pkts",
                "orig_ip_bytes",
                "resp_pkts",
                "resp_ip_bytes",
            ] {
                assert_eq!(types[count], "int", "{uid} {count}");
            }
            // An interval; unset (`-`, None) for a record of one instant,
            // as Zeek prints it.
            if duration_s == 0.0 {
                assert_eq!(r["duration"], Value::Null, "{uid}");
            } else {
                assert_eq!(types["duration"], "float", "{uid}");
                assert!(
                    (r["duration"].as_f64().unwrap() - duration_s).abs() <= 1e-6,
                    "{uid}"
                );
            }
            // Unset (`-`): None.
            assert_eq!(r["service"], Value::Null, "{uid}");
            assert_eq!(r["local_orig"], Value::Null, "{uid}");
            // The values are the JSON report's.
            assert!((r["ts"].as_f64().unwrap() - start_ts).abs() < 1e-6, "{uid}");
            assert_eq!(r["orig_h"], c.client.addr.as_str());
            assert_eq!(r["resp_h"], c.server.addr.as_str());
            assert_eq!(r["orig_p"], c.client.port);
            assert_eq!(r["resp_p"], c.server.port);
            let counts = [
                ("orig_bytes", z.orig_bytes),
                ("resp_bytes", z.resp_bytes),
                ("missed_bytes", z.missed_bytes),
                ("orig_pkts", z.orig_pkts),
                ("orig_ip_bytes", z.orig_ip_bytes),
                ("resp_pkts", z.resp_pkts),
                ("resp_ip_bytes", z.resp_ip_bytes),
            ];
            for (name, want) in counts {
                assert_eq!(r[name], want, "{uid} {name}");
            }
            assert_eq!(r["conn_state"], conn_state, "{uid}");
            assert_eq!(r["history"], history, "{uid}");
            // A set of strings: a list, one per tunnel; unset for a bare connection.
            if c.encapsulation.is_empty() {
                assert_eq!(r["tunnel_parents"], Value::Null, "{uid}");
            } else {
                tunnelled += 1;
                assert_eq!(types["tunnel_parents"], "list", "{uid}");
                assert_eq!(
                    r["tunnel_parents"].as_array().unwrap().len(),
                    c.encapsulation.len(),
                    "{uid}"
                );
            }
        }
    }
    assert!(tunnelled >= 2, "{tunnelled} connections in tunnels");
}

/// The README's jq examples: `$ command` lines and the output after each.
fn jq_examples() -> Vec<(String, String)> {
    let block = block_after(&readme(), "<!-- jq examples:", "console");
    let mut examples: Vec<(String, String)> = Vec::new();
    for line in block.lines() {
        if let Some(command) = line.strip_prefix("$ ") {
            examples.push((command.to_string(), String::new()));
        } else if let Some((_, output)) = examples.last_mut() {
            output.push_str(line);
            output.push('\n');
        } else {
            panic!("output before any command: {line}");
        }
    }
    examples
}

#[test]
fn the_readme_jq_examples_give_the_answers_it_shows() {
    if !Command::new("jq")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        missing("jq is not installed (apt-get install jq)");
        return;
    }
    let examples = jq_examples();
    assert!(examples.len() >= 5, "{examples:?}");
    assert!(examples
        .iter()
        .all(|(c, _)| c.contains("jq ") || c.starts_with("tcpstate ")));
    // In a directory of their own, where testdata/ is the shipped one and
    // tcpstate the binary under test.
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata"),
        dir.path().join("testdata"),
    )
    .unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_tcpstate")).parent().unwrap();
    let path = std::env::join_paths(std::iter::once(bin.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    for (command, want) in examples {
        let out = Command::new("bash")
            .args(["-o", "pipefail", "-c", &command])
            .current_dir(dir.path())
            .env("PATH", &path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{command}: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), want, "{command}");
    }
    // The report they ran on is a valid document.
    let report: Report = document(std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(report.connections.len(), 4);
}

/// Checks each schema against the meta-schema, then validates the instances
/// (argument pairs: schema file, instance file), formats asserted; prints the
/// errors found, as a JSON list per instance.
const JSONSCHEMA: &str = r#"
import json, sys
from jsonschema import Draft202012Validator, FormatChecker
out = []
args = sys.argv[1:]
for schema_path, instance_path in zip(args[::2], args[1::2]):
    schema = json.load(open(schema_path))
    Draft202012Validator.check_schema(schema)
    v = Draft202012Validator(schema, format_checker=FormatChecker())
    errors = []
    for line in open(instance_path):
        if line.strip():
            errors += [e.message for e in v.iter_errors(json.loads(line))]
    out.append(errors)
print(json.dumps(out))
"#;

/// The reference validator agrees with the tests' own: the shipped schemas
/// are valid draft 2020-12, tcpstate's outputs pass them, and a broken
/// document fails both.
#[test]
fn the_schemas_pass_the_reference_validator() {
    let Some(python) = python("jsonschema") else {
        return;
    };
    let files = real_captures();
    let dir = tempfile::tempdir().unwrap();
    let doc = analyze_output(&["--format", "json", "--packets"], &files);
    let value: Value = serde_json::from_slice(&doc).unwrap();
    Schema::Document.check(&value);
    let mut broken = value.clone();
    broken["connections"][0]["client"]["port"] = serde_json::json!(70000);
    assert!(!Schema::Document.errors(&broken).is_empty());
    let lines = analyze_output(&["--format", "jsonl"], &files);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let (doc_schema, rec_schema) = (
        root.join("tcpstate.schema.json"),
        root.join("tcpstate-record.schema.json"),
    );
    let doc_file = write("doc.json", &serde_json::to_vec(&value).unwrap());
    let broken_file = write("broken.json", &serde_json::to_vec(&broken).unwrap());
    let lines_file = write("lines.jsonl", &lines);
    let found = run_python(
        &python,
        JSONSCHEMA,
        &[
            &doc_schema,
            &doc_file,
            &rec_schema,
            &lines_file,
            &doc_schema,
            &broken_file,
        ],
    );
    let found = found.as_array().unwrap();
    assert_eq!(found[0], serde_json::json!([]), "the document");
    assert_eq!(found[1], serde_json::json!([]), "the records");
    let broken_errors = found[2].as_array().unwrap();
    assert!(
        broken_errors
            .iter()
            .any(|e| e.as_str().unwrap().contains("70000")),
        "{broken_errors:?}"
    );
}
