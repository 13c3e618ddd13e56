//! The JSON Schemas of the `tcpstate/1` output (`tcpstate schema`,
//! docs/json-schema.md): the shipped files are what the binary prints, they
//! are valid draft 2020-12 schemas, every JSON and JSON Lines output of every
//! capture in testdata/ matches them, and outputs broken in the ways a
//! consumer would trip over do not.
//!
//! `UPDATE_SCHEMA=1 cargo test --test it schema_outputs` rewrites the shipped
//! files from the binary (as `tcpstate schema > docs/tcpstate.schema.json`
//! and `tcpstate schema record > docs/tcpstate-record.schema.json` do).

use crate::common;
use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn shipped(schema: Schema) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join(match schema {
            Schema::Document => "tcpstate.schema.json",
            Schema::Record => "tcpstate-record.schema.json",
        })
}

fn printed(args: &[&str]) -> String {
    let out = tcpstate().arg("schema").args(args).exits(0);
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_shipped_schemas_are_what_the_binary_prints() {
    let update = std::env::var_os("UPDATE_SCHEMA").is_some_and(|v| v == "1");
    for (schema, args) in [
        (Schema::Document, &[][..]),
        (Schema::Record, &["record"][..]),
    ] {
        let now = printed(args);
        let path = shipped(schema);
        if update {
            std::fs::write(&path, &now).unwrap();
            eprintln!("wrote {}", path.display());
            continue;
        }
        let file = std::fs::read_to_string(&path).unwrap();
        assert!(
            file == now,
            "{} is not what `tcpstate schema {}` prints: regenerate it with \
             UPDATE_SCHEMA=1 cargo test --test it schema_outputs",
            path.display(),
            args.join(" ")
        );
        // The validators of the tests are built from the same text.
        assert_eq!(schema.text(), file, "rebuild the tests");
    }
    // The other names of the two.
    assert_eq!(printed(&["document"]), printed(&[]));
    assert_eq!(printed(&["json"]), printed(&[]));
    assert_eq!(printed(&["jsonl"]), printed(&["record"]));
    let out = tcpstate().args(["schema", "table"]).exits(2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value"));
}

#[test]
fn the_schemas_are_valid_draft_2020_12() {
    for schema in [Schema::Document, Schema::Record] {
        let v: Value = serde_json::from_str(schema.text()).unwrap();
        assert_eq!(v["$schema"], "https://json-schema.org/draft/2020-12/schema");
        // Every keyword one the tests' validator checks (or an annotation),
        // every `$ref` resolved, every pattern a regular expression; the
        // schemas are checked against the draft's own meta-schema by
        // `schema_consumers::the_schemas_pass_the_reference_validator`.
        schema.validator();
    }
}

/// The captures of testdata/, compressed ones too.
fn inputs() -> Vec<PathBuf> {
    let mut files = all_captures();
    for entry in std::fs::read_dir(testdata("compressed")).unwrap() {
        files.push(entry.unwrap().path());
    }
    files.sort();
    files
}

/// Runs `tcpstate analyze ARGS FILES` however it exits; its standard output.
fn run(args: &[&str], files: &[&Path]) -> Vec<u8> {
    tcpstate()
        .arg("analyze")
        .args(args)
        .args(files)
        .output()
        .unwrap()
        .stdout
}

/// Checks the document in `out` and each of its connections as a record;
/// returns how many connections it had.
#[track_caller]
fn check_document(out: &[u8], what: &str) -> usize {
    let v = parse_value(out).unwrap_or_else(|e| panic!("{what}: not JSON: {e}"));
    assert!(
        Schema::Document.errors(&v).is_empty(),
        "{what}: {:#?}",
        Schema::Document.errors(&v)
    );
    let conns = v["connections"].as_array().unwrap();
    for c in conns {
        // A document's connection is what a JSON line holds.
        assert!(
            Schema::Record.errors(c).is_empty(),
            "{what}: {:#?}",
            Schema::Record.errors(c)
        );
    }
    conns.len()
}

#[track_caller]
fn check_lines(out: &[u8], what: &str) -> usize {
    let text = std::str::from_utf8(out).unwrap();
    for line in text.lines() {
        let v: Value = line
            .parse()
            .unwrap_or_else(|e| panic!("{what}: not JSON: {e}"));
        let errors = Schema::Record.errors(&v);
        assert!(errors.is_empty(), "{what}: {errors:#?}\n{line}");
    }
    text.lines().count()
}

#[test]
fn every_output_of_every_capture_matches_the_schema() {
    let files = inputs();
    assert!(files.len() >= 100, "{} inputs", files.len());
    // Plain, with every packet, and with the options that fill in what is
    // otherwise empty or left out: allowed checks, a verdict that fails,
    // connections evicted early.
    let variants: [&[&str]; 5] = [
        &[],
        &["--packets"],
        &["--allow", "RL009,DT005", "--fail-on", "info"],
        &[
            "--packets",
            "--max-connections",
            "1",
            "--idle-timeout",
            "0.5",
        ],
        &["--lang", "zh", "--fail-on", "never", "--jobs", "1"],
    ];
    let (mut documents, mut lines, mut connections) = (0, 0, 0);
    for file in &files {
        for extra in variants {
            let what = format!("{} {extra:?}", file.display());
            let json = run(&[&["--format", "json"][..], extra].concat(), &[file]);
            if !json.is_empty() {
                connections += check_document(&json, &format!("json {what}"));
                documents += 1;
            }
            lines += check_lines(
                &run(&[&["--format", "jsonl"][..], extra].concat(), &[file]),
                &format!("jsonl {what}"),
            );
        }
    }
    // Every input is a capture, if a damaged one: each gives a document.
    assert_eq!(documents, 5 * files.len(), "{documents} documents");
    assert!(connections > 5 * 100, "{connections} connections");
    assert_eq!(lines, connections, "as many lines as connections");

    // All of them in one run: one id sequence over many captures.
    let all: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let one = check_document(&run(&["--format", "json", "--packets"], &all), "all");
    assert!(one > 100, "{one}");
    assert_eq!(check_lines(&run(&["--format", "jsonl"], &all), "all"), one);
}

/// What `change` does to `v` makes it invalid by `schema`, and the error
/// names `at`.
#[track_caller]
fn breaks(schema: Schema, v: &Value, at: &str, change: impl FnOnce(&mut Value)) {
    let mut broken = v.clone();
    change(&mut broken);
    assert_ne!(&broken, v, "{at}: nothing changed");
    let errors = schema.errors(&broken);
    assert!(!errors.is_empty(), "{at}: still valid");
    assert!(
        errors.iter().any(|e| e.contains(at)),
        "{at} not in {errors:#?}"
    );
}

fn object(v: &mut Value) -> &mut serde_json::Map<String, Value> {
    v.as_object_mut().unwrap()
}

#[test]
fn broken_outputs_do_not_match() {
    // One connection refused (a finding), one ended by a reset, with packets.
    let out = run(
        &["--format", "json", "--packets", "--allow", "RL009"],
        &[
            &testdata("captures/refused.pcap"),
            &testdata("captures/rst_abort.pcap"),
        ],
    );
    let doc: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(Schema::Document.errors(&doc), Vec::<String>::new());
    let c0 = "/connections/0";
    assert!(!doc["connections"][0]["findings"]
        .as_array()
        .unwrap()
        .is_empty());

    // A required field left out, at each level.
    breaks(Schema::Document, &doc, "''", |d| {
        object(d).remove("summary");
    });
    breaks(Schema::Document, &doc, &format!("{c0}/handshake'"), |d| {
        object(&mut d["connections"][0]["handshake"]).remove("status");
    });
    breaks(Schema::Document, &doc, &format!("{c0}/packets/0'"), |d| {
        object(&mut d["connections"][0]["packets"][0]).remove("client_state");
    });
    breaks(Schema::Document, &doc, "/summary/by_handshake'", |d| {
        object(&mut d["summary"]["by_handshake"]).remove("missing");
    });
    breaks(Schema::Document, &doc, "/captures/0'", |d| {
        object(&mut d["captures"][0]).remove("stopped");
    });
    // A string where a number goes, and the other way round.
    breaks(Schema::Document, &doc, &format!("{c0}/id'"), |d| {
        d["connections"][0]["id"] = json!("1");
    });
    breaks(
        Schema::Document,
        &doc,
        &format!("{c0}/zeek/orig_pkts'"),
        |d| {
            d["connections"][0]["zeek"]["orig_pkts"] = json!(-1);
        },
    );
    breaks(Schema::Document, &doc, &format!("{c0}/client/port'"), |d| {
        d["connections"][0]["client"]["port"] = json!(70000);
    });
    breaks(Schema::Document, &doc, &format!("{c0}/history'"), |d| {
        d["connections"][0]["history"] = json!(3);
    });
    // Values outside their sets.
    breaks(
        Schema::Document,
        &doc,
        &format!("{c0}/handshake/status'"),
        |d| {
            d["connections"][0]["handshake"]["status"] = json!("sideways");
        },
    );
    breaks(
        Schema::Document,
        &doc,
        &format!("{c0}/client/final_state'"),
        |d| {
            d["connections"][0]["client"]["final_state"] = json!("SYN_SENT");
        },
    );
    breaks(Schema::Document, &doc, &format!("{c0}/conn_state'"), |d| {
        d["connections"][0]["conn_state"] = json!("S4");
    });
    breaks(
        Schema::Document,
        &doc,
        &format!("{c0}/findings/0/code'"),
        |d| {
            d["connections"][0]["findings"][0]["code"] = json!("HS999");
        },
    );
    breaks(
        Schema::Document,
        &doc,
        &format!("{c0}/findings/0/severity'"),
        |d| {
            d["connections"][0]["findings"][0]["severity"] = json!("fatal");
        },
    );
    breaks(Schema::Document, &doc, "/summary/verdict/result'", |d| {
        d["summary"]["verdict"]["result"] = json!("maybe");
    });
    breaks(Schema::Document, &doc, "/summary/verdict/allowed/0'", |d| {
        d["summary"]["verdict"]["allowed"][0] = json!("rl009");
    });
    breaks(Schema::Document, &doc, "/summary/findings/by_code'", |d| {
        d["summary"]["findings"]["by_code"]["XX001"] = json!(1);
    });
    breaks(
        Schema::Document,
        &doc,
        &format!("{c0}/packets/0/dir'"),
        |d| {
            d["connections"][0]["packets"][0]["dir"] = json!("client");
        },
    );
    breaks(
        Schema::Document,
        &doc,
        &format!("{c0}/packets/0/flags'"),
        |d| {
            d["connections"][0]["packets"][0]["flags"] = json!("SYN|ACK");
        },
    );
    breaks(
        Schema::Document,
        &doc,
        &format!("{c0}/packets/0/analysis/0'"),
        |d| {
            d["connections"][0]["packets"][0]["analysis"] = json!(["retransmitted"]);
        },
    );
    breaks(Schema::Document, &doc, "/schema'", |d| {
        d["schema"] = json!("tcpstate/2");
    });
    // An element of `captures` is a capture read or an unreadable input
    // (anyOf): the error names the element.
    breaks(Schema::Document, &doc, "/captures/0'", |d| {
        d["captures"][0]["skipped"]["not_udp"] = json!(1);
    });
    // Formats.
    breaks(Schema::Document, &doc, &format!("{c0}/client/addr'"), |d| {
        d["connections"][0]["client"]["addr"] = json!("10.99.0.256");
    });
    breaks(Schema::Document, &doc, &format!("{c0}/start_time'"), |d| {
        d["connections"][0]["start_time"] = json!("yesterday");
    });
    // A field the model does not have.
    breaks(Schema::Document, &doc, &format!("{c0}/teardown'"), |d| {
        d["connections"][0]["teardown"]["reason"] = json!("bored");
    });
    breaks(Schema::Document, &doc, "''", |d| {
        d["extra"] = json!({});
    });
    // Null where the output never writes one.
    breaks(Schema::Document, &doc, &format!("{c0}/packets'"), |d| {
        d["connections"][0]["packets"] = Value::Null;
    });

    // The same of one JSON line.
    let lines = run(
        &["--format", "jsonl"],
        &[&testdata("captures/graceful_client_close.pcap")],
    );
    let line: Value = serde_json::from_slice(&lines).unwrap();
    assert_eq!(Schema::Record.errors(&line), Vec::<String>::new());
    breaks(Schema::Record, &line, "''", |l| {
        object(l).remove("teardown");
    });
    breaks(Schema::Record, &line, "/duration_s'", |l| {
        l["duration_s"] = json!("0.3");
    });
    breaks(Schema::Record, &line, "/teardown/initiator'", |l| {
        l["teardown"]["initiator"] = json!("nobody");
    });
    breaks(Schema::Record, &line, "/ended_by'", |l| {
        l["ended_by"] = json!("boredom");
    });
    breaks(Schema::Record, &line, "/encapsulation'", |l| {
        l["encapsulation"] = json!([]);
    });
    // A document is not a line, nor a line a document.
    assert!(!Schema::Record.errors(&doc).is_empty());
    assert!(!Schema::Document.errors(&line).is_empty());
}

/// The helpers every other test reads the output with check it.
#[test]
#[should_panic(expected = "does not match the Record schema")]
fn the_test_helpers_refuse_a_broken_line() {
    let lines = run(
        &["--format", "jsonl"],
        &[&testdata("captures/graceful_client_close.pcap")],
    );
    let mut line: Value = serde_json::from_slice(&lines).unwrap();
    line["handshake"]["status"] = json!("sideways");
    let _: Connection = record(line.to_string()).unwrap();
}
