//! `--merge` (issue 15): several files read as one capture in timestamp
//! order. The captures in `testdata/merge/` are one real recording
//! (`whole.pcap`: two interleaved connections) split as a `tcpdump -C`
//! rotation would (`rot0.pcap`, `rot1.pcap`) and as two taps that each saw
//! one direction would (`tap_c.pcap`, Ethernet; `tap_s.pcapng`, Linux
//! cooked frames in pcapng). Merged, each split gives what the whole file
//! gives; without `--merge`, each file is analyzed alone.

use crate::common;
use common::*;
use serde_json::Value;

fn merge_file(name: &str) -> String {
    testdata(&format!("merge/{name}"))
        .to_string_lossy()
        .into_owned()
}

/// The JSON document of `args` on the files of testdata/merge/.
fn json(args: &[&str], files: &[&str]) -> Value {
    let mut cmd = tcpstate();
    cmd.args(["analyze", "--format", "json"]).args(args);
    cmd.args(files.iter().map(|f| merge_file(f)));
    let out = cmd.exits(0);
    serde_json::from_slice(&out.stdout).expect("a JSON document")
}

/// The analysis without what says which files were read: `captures`,
/// `merged` and each connection's `file`.
fn analysis(mut doc: Value) -> Value {
    let obj = doc.as_object_mut().expect("an object");
    obj.remove("captures");
    obj.remove("merged");
    for c in obj["connections"].as_array_mut().expect("connections") {
        c.as_object_mut().expect("a connection").remove("file");
    }
    doc
}

#[test]
fn a_rotation_merged_is_the_whole_recording() {
    let whole = json(&[], &["whole.pcap"]);
    assert_eq!(whole["connections"].as_array().unwrap().len(), 2);
    let merged = json(&["--merge"], &["rot0.pcap", "rot1.pcap"]);
    assert_eq!(merged["merged"], true);
    assert_eq!(analysis(merged.clone()), analysis(whole));
    // Each file says what was read of it; the merged analysis is counted once.
    let captures = merged["captures"].as_array().unwrap();
    assert_eq!(captures.len(), 2);
    assert_eq!(captures[0]["file"], merge_file("rot0.pcap"));
    assert_eq!(captures[0]["frames"], 24);
    assert_eq!(captures[1]["frames"], 17);
    let connections: u64 = captures
        .iter()
        .map(|c| c["connections"].as_u64().unwrap())
        .sum();
    assert_eq!(connections, 2);
    // On one thread as on several.
    let inline = json(&["--merge", "--jobs", "1"], &["rot0.pcap", "rot1.pcap"]);
    assert_eq!(inline, merged);
}

#[test]
fn two_taps_of_different_link_types_merged_are_the_whole_recording() {
    let whole = json(&[], &["whole.pcap"]);
    let merged = json(&["--merge"], &["tap_c.pcap", "tap_s.pcapng"]);
    assert_eq!(analysis(merged.clone()), analysis(whole));
    let captures = merged["captures"].as_array().unwrap();
    assert_eq!(captures[0]["link_types"], serde_json::json!(["ETHERNET"]));
    assert_eq!(captures[1]["link_types"], serde_json::json!(["LINUX_SLL"]));
    assert_eq!(captures[1]["format"], "pcapng");
    assert_eq!(captures[0]["tcp_segments"], 26);
    assert_eq!(captures[1]["tcp_segments"], 15);
    // The file order does not change the analysis: timestamps decide.
    let reversed = json(&["--merge"], &["tap_s.pcapng", "tap_c.pcap"]);
    assert_eq!(analysis(reversed), analysis(merged));
}

#[test]
fn without_merge_each_file_is_half_a_connection() {
    let doc = json(&["--fail-on", "never"], &["tap_c.pcap", "tap_s.pcapng"]);
    assert!(doc.get("merged").is_none());
    let conns = doc["connections"].as_array().unwrap();
    assert_eq!(conns.len(), 4);
    let statuses: Vec<&str> = conns
        .iter()
        .map(|c| c["handshake"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["unanswered", "unanswered", "incomplete", "incomplete"]
    );
    let rotation = json(&[], &["rot0.pcap", "rot1.pcap"]);
    let first: Vec<&str> = rotation["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["handshake"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(first, ["complete", "complete", "missing", "missing"]);
}

#[test]
fn streamed_formats_merge_too() {
    for format in ["jsonl", "zeek"] {
        let run = |args: &[&str], files: &[&str]| {
            let mut cmd = tcpstate();
            cmd.args(["analyze", "--format", format]).args(args);
            cmd.args(files.iter().map(|f| merge_file(f)));
            String::from_utf8(cmd.exits(0).stdout).unwrap()
        };
        let whole = run(&[], &["whole.pcap"]);
        let merged = run(&["--merge"], &["rot0.pcap", "rot1.pcap"]);
        let strip = |text: &str| -> Vec<String> {
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .map(|l| match serde_json::from_str::<Value>(l) {
                    Ok(mut v) => {
                        v.as_object_mut().unwrap().remove("file");
                        v.to_string()
                    }
                    Err(_) => l.to_string(),
                })
                .collect()
        };
        assert_eq!(strip(&merged), strip(&whole), "{format}");
        assert_eq!(strip(&whole).len(), 2, "{format}");
    }
}

#[test]
fn the_table_shows_each_file_then_the_merged_connections_once() {
    let out = tcpstate()
        .args(["analyze", "--merge"])
        .arg(merge_file("tap_c.pcap"))
        .arg(merge_file("tap_s.pcapng"))
        .exits(0);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("tap_c.pcap (pcap, ETHERNET): 26 frames, 26 TCP segments\n"),
        "{text}"
    );
    assert!(
        text.contains("tap_s.pcapng (pcapng, LINUX_SLL): 15 frames, 15 TCP segments\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "merged in timestamp order: 2 connections · handshake: complete 2 · teardown: graceful 2\n"
        ),
        "{text}"
    );
    assert_eq!(text.matches("graceful (client)").count(), 2, "{text}");
    assert!(!text.contains("all captures:"), "{text}");
}

#[test]
fn an_unreadable_file_is_left_out_of_the_merge() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.pcap");
    std::fs::write(&bad, b"this is not a capture").unwrap();
    let out = tcpstate()
        .args(["analyze", "--merge", "--format", "json"])
        .arg(merge_file("rot0.pcap"))
        .arg(&bad)
        .arg(merge_file("rot1.pcap"))
        .exits(2);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let whole = json(&[], &["whole.pcap"]);
    let mut got = analysis(doc);
    let mut want = analysis(whole);
    // Only the verdict says that an input could not be read.
    got["summary"]["verdict"] = Value::Null;
    want["summary"]["verdict"] = Value::Null;
    assert_eq!(got, want);
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.pcap"));
}
