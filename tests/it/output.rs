//! The rendered outputs: the table (golden snapshots), JSON Lines, and the
//! JSON document against docs/json-schema.md.

use crate::common;
use common::*;
use std::collections::BTreeSet;

fn table(args: &[&str]) -> String {
    let out = tcpstate().arg("analyze").args(args).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// Runs from the repository root so file names in the output are stable.
fn table_in_repo(args: &[&str]) -> String {
    let out = tcpstate()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("analyze")
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn table_for_a_graceful_close() {
    insta::assert_snapshot!(table_in_repo(&[
        "testdata/captures/graceful_client_close.pcap"
    ]));
}

#[test]
fn table_with_packets_for_a_simultaneous_close() {
    insta::assert_snapshot!(table_in_repo(&[
        "--packets",
        "testdata/captures/simultaneous_close.pcap"
    ]));
}

#[test]
fn table_of_several_captures_with_skipped_frames() {
    insta::assert_snapshot!(table_in_repo(&[
        "testdata/captures/mixed_nontcp.pcap",
        "testdata/captures/port_reuse.pcap",
        "testdata/captures/refused.pcap",
    ]));
}

#[test]
fn table_limit_keeps_totals_and_says_what_is_hidden() {
    let out = table(&[
        "--limit",
        "1",
        testdata("captures/port_reuse.pcap").to_str().unwrap(),
    ]);
    assert!(
        out.contains("2 connections · handshake: complete 2"),
        "{out}"
    );
    assert!(out.contains("… 1 more connections not shown"), "{out}");
    assert_eq!(out.matches("10.99.0.1:").count(), 1, "{out}");
}

#[test]
fn jsonl_is_one_connection_per_line() {
    let out = tcpstate()
        .args(["analyze", "--format", "jsonl"])
        .arg(testdata("captures/port_reuse.pcap"))
        .arg(testdata("captures/refused.pcap"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Connection> = text
        .lines()
        .map(|l| record(l).expect("a connection object"))
        .collect();
    assert_eq!(lines.iter().map(|c| c.id).collect::<Vec<_>>(), [1, 2, 3]);
    // The same connections as in the JSON document.
    let doc = analyze(&[
        &testdata("captures/port_reuse.pcap"),
        &testdata("captures/refused.pcap"),
    ]);
    let without_packets: Vec<Connection> = doc
        .connections
        .into_iter()
        .map(|mut c| {
            c.packets = None;
            c
        })
        .collect();
    assert_eq!(lines, without_packets);
}

/// Every field path in a JSON value, arrays written as `[]`.
fn paths(v: &serde_json::Value, prefix: &str, out: &mut BTreeSet<String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, child) in map {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.insert(p.clone());
                paths(child, &p, out);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                paths(item, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_json_field_is_documented_and_every_documented_field_exists() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/json-schema.md"))
        .unwrap();
    // Documented fields are the first column of the field tables: | `path` | …
    let documented: BTreeSet<String> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect();
    let mut seen = BTreeSet::new();
    let mut all: Vec<_> = std::fs::read_dir(testdata("captures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    // Fields only a tunneled connection has, and only a damaged file.
    all.push(testdata("tunnels/vxlan.pcap"));
    all.push(testdata("damaged/long_epb.pcapng"));
    // Fields only a connection with ICMP errors has (a redirect's gateway).
    all.push(testdata("icmp/frag_needed.pcap"));
    all.push(testdata("icmp/redirect.pcap"));
    // A diagnosis with its ICMP evidence.
    all.push(testdata("icmp/admin_prohibited.pcap"));
    // More Zeek records than a connection keeps (zeek_records_merged).
    all.push(testdata("crafted/zeek_rej_many.pcap"));
    // Diagnoses with TTL and IP ID evidence.
    all.push(testdata("diagnosis/refused_firewall.pcap"));
    all.push(testdata("diagnosis/injected_rst.pcap"));
    // A RST that answered sooner than its claimed sender could (its timing).
    all.push(testdata("diagnosis/injected_rst_fast.pcap"));
    // The transfer diagnoses' evidence (MSS, sizes, keep-alives, back-off).
    all.push(testdata("diagnosis/pmtu_black_hole.pcap"));
    all.push(testdata("diagnosis/keepalive_vanished.pcap"));
    all.push(testdata("diagnosis/peer_vanished.pcap"));
    let refs: Vec<&std::path::Path> = all.iter().map(|p| p.as_path()).collect();
    let out = tcpstate()
        .args([
            "analyze",
            "--format",
            "json",
            "--packets",
            "--fail-on",
            "never",
        ])
        .args(&refs)
        .output()
        .unwrap();
    let v: serde_json::Value = document(&out.stdout).unwrap();
    paths(&v, "", &mut seen);
    // Fields only merged captures and unreadable inputs have.
    let out = tcpstate()
        .args(["analyze", "--format", "json", "--merge"])
        .arg(testdata("merge/rot0.pcap"))
        .arg(testdata("merge/rot1.pcap"))
        .arg(testdata("merge/missing.pcap"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    paths(&v, "", &mut seen);
    // Map keys that are data, not names: skip counts by reason and summary counts.
    let seen: BTreeSet<String> = seen
        .into_iter()
        .filter(|p| {
            let data_keys = [
                "captures[].skipped.",
                "captures[].evicted.",
                "summary.by_handshake.",
                "summary.by_teardown.",
                "summary.by_conn_state.",
                "summary.findings.by_code.",
                "summary.diagnosed_by_server[].by_cause.",
            ];
            !data_keys.iter().any(|prefix| p.starts_with(prefix))
        })
        .collect();
    let undocumented: Vec<_> = seen.difference(&documented).collect();
    let missing: Vec<_> = documented.difference(&seen).collect();
    assert!(
        undocumented.is_empty(),
        "fields missing from docs/json-schema.md: {undocumented:?}"
    );
    assert!(
        missing.is_empty(),
        "documented fields never produced by the testdata: {missing:?}"
    );
    assert_eq!(v["schema"], "tcpstate/1");
}
