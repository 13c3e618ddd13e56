//! Verdicts that never mislead a CI gate (issue 15): a run whose captures
//! yield no TCP segment is never a plain PASS, and `--fail-on-empty` makes
//! it exit 1.

use crate::common;
use common::*;
use std::path::Path;

/// A microsecond pcap of `link_type` with `frames` records of 60 zero bytes.
fn pcap_with(path: &Path, link_type: u32, frames: usize) {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&link_type.to_le_bytes());
    for i in 0..frames {
        for x in [1_700_000_000, i as u32, 60, 60] {
            out.extend_from_slice(&u32::to_le_bytes(x));
        }
        out.extend_from_slice(&[0; 60]);
    }
    std::fs::write(path, out).unwrap();
}

fn run(args: &[&str], files: &[&Path]) -> (Option<i32>, serde_json::Value) {
    let out = tcpstate()
        .args(["analyze", "--format", "json"])
        .args(args)
        .args(files)
        .output()
        .unwrap();
    let report = document(&out.stdout).unwrap();
    (out.status.code(), report)
}

fn verdict(report: &serde_json::Value) -> (&str, &str) {
    let v = &report["summary"]["verdict"];
    (v["result"].as_str().unwrap(), v["text"].as_str().unwrap())
}

#[test]
fn unknown_link_types_only_are_named_not_passed() {
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("unknown.pcap");
    pcap_with(&cap, 147, 11);
    let (code, report) = run(&[], &[&cap]);
    assert_eq!(code, Some(0));
    let (result, text) = verdict(&report);
    assert_eq!(result, "empty");
    assert!(
        text.starts_with("NO TCP: 11 frames read, none TCP (unknown_link_type 11); PASS"),
        "{text}"
    );
    let (code, report) = run(&["--fail-on-empty"], &[&cap]);
    assert_eq!(code, Some(1));
    let (result, text) = verdict(&report);
    assert_eq!(result, "fail");
    assert!(text.starts_with("NO TCP: 11 frames read"), "{text}");
    assert!(text.contains("--fail-on-empty"), "{text}");
}

#[test]
fn a_capture_empty_after_its_header_is_no_tcp() {
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("header_only.pcap");
    pcap_with(&cap, 1, 0);
    let out = tcpstate().arg("analyze").arg(&cap).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let table = String::from_utf8(out.stdout).unwrap();
    let last = table.lines().last().unwrap();
    assert!(
        last.starts_with("NO TCP: 0 frames read, none TCP; PASS"),
        "{last}"
    );
    let out = tcpstate()
        .args(["analyze", "--fail-on-empty", "--format", "jsonl"])
        .arg(&cap)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NO TCP: 0 frames read"));
}

#[test]
fn everything_filtered_out_is_no_tcp() {
    let cap = testdata("captures/refused.pcap");
    let (code, report) = run(&["-f", "port 80", "--fail-on-empty"], &[&cap]);
    assert_eq!(code, Some(1));
    let (_, text) = verdict(&report);
    assert!(
        text.starts_with("NO TCP: 2 frames read, none TCP (filtered 2)"),
        "{text}"
    );
}

#[test]
fn a_run_with_tcp_somewhere_is_judged_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("unknown.pcap");
    pcap_with(&cap, 147, 3);
    let tcp = testdata("captures/graceful_client_close.pcap");
    let (code, report) = run(&["--fail-on-empty"], &[&cap, &tcp]);
    assert_eq!(code, Some(0));
    let (result, text) = verdict(&report);
    // The capture of unknown frames is still named: no silent PASS.
    assert_eq!(result, "pass");
    assert!(
        text.starts_with("WARNING: 3 frames not understood in 1 capture; PASS"),
        "{text}"
    );
}
