//! `--verify-checksums` (issue 13): off by default, as in tshark, with the
//! segments whose checksum is wrong counted; on, they are skipped as Zeek
//! skips them. The real recordings of testdata/captures/ were taken on the
//! sending hosts' veth, so most of their segments carry the unfinished
//! checksums of checksum offload; the crafted captures carry right ones.

use crate::common;
use common::*;
use serde_json::Value;

fn json(args: &[&str], rel: &str) -> Value {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    serde_json::from_slice(&analyze_output(&all, &[testdata(rel)])).unwrap()
}

const LINE: &str = "TCP segments analyzed anyway (usually checksum offload on the capturing host; \
                    --verify-checksums skips them)";

#[test]
fn bad_checksums_are_counted_by_default_and_skipped_on_request() {
    // 10 of its 11 segments were captured before the veth filled in their
    // checksums (tshark, with its checksum checks on, says the same).
    let rel = "captures/graceful_client_close.pcap";
    let plain = json(&[], rel);
    let cap = &plain["captures"][0];
    assert_eq!(cap["tcp_segments"], 11);
    assert_eq!(cap["bad_checksums"], 10);
    assert_eq!(cap["skipped"], serde_json::json!({}));
    assert_eq!(plain["connections"][0]["handshake"]["status"], "complete");

    let verified = json(&["--verify-checksums"], rel);
    let cap = &verified["captures"][0];
    assert_eq!(cap["tcp_segments"], 1);
    assert_eq!(cap["skipped"]["bad_checksum"], 10);
    assert!(cap.get("bad_checksums").is_none(), "{cap}");
    // frames = segments + skipped, still.
    assert_eq!(cap["frames"], 11);

    let table = String::from_utf8(analyze_output(&[], &[testdata(rel)])).unwrap();
    assert_eq!(table.matches(LINE).count(), 1, "{table}");
    assert!(
        table.contains(&format!("bad checksums: 10 {LINE}")),
        "{table}"
    );
    let table =
        String::from_utf8(analyze_output(&["--verify-checksums"], &[testdata(rel)])).unwrap();
    assert!(!table.contains("bad checksums"), "{table}");
    assert!(table.contains("bad_checksum 10"), "{table}");
}

/// Right checksums (the crafted captures are written by scapy, which
/// computes them): nothing is said, nothing is skipped, and the JSON has no
/// new field.
#[test]
fn right_checksums_change_nothing() {
    for rel in ["crafted/seed_ftp.pcap", "icmp/redirect.pcap"] {
        let plain = json(&[], rel);
        let verified = json(&["--verify-checksums"], rel);
        assert!(plain["captures"][0].get("bad_checksums").is_none(), "{rel}");
        assert_eq!(plain, verified, "{rel}");
        let table = String::from_utf8(analyze_output(&[], &[testdata(rel)])).unwrap();
        assert!(!table.contains("bad checksums"), "{rel}: {table}");
    }
}

/// A header-only capture cannot be checked: nothing is counted or skipped.
#[test]
fn frames_not_captured_whole_are_not_judged() {
    let rel = "captures/snaplen54.pcap";
    let verified = json(&["--verify-checksums"], rel);
    let plain = json(&[], rel);
    assert!(plain["captures"][0].get("bad_checksums").is_none());
    assert!(verified["captures"][0]["skipped"]
        .get("bad_checksum")
        .is_none());
    assert_eq!(
        plain["captures"][0]["tcp_segments"],
        verified["captures"][0]["tcp_segments"]
    );
}

/// Inside a tunnel the inner segment is checked; both ways of running a
/// capture's stages agree.
#[test]
fn tunnelled_segments_and_both_pipelines() {
    let rel = "tunnels/vxlan.pcap";
    for jobs in ["1", "3"] {
        let v = json(&["--jobs", jobs], rel);
        let n = v["captures"][0]["bad_checksums"].as_u64().unwrap_or(0);
        let skipped = json(&["--verify-checksums", "--jobs", jobs], rel)["captures"][0]["skipped"]
            ["bad_checksum"]
            .as_u64()
            .unwrap_or(0);
        assert_eq!(n, skipped, "jobs {jobs}");
        assert!(
            n > 0,
            "the VXLAN recording's inner checksums were offloaded"
        );
    }
}

/// Without `--verify-checksums` only a capture's first 65,536 segments are
/// summed (enough to tell checksum offload), and the table says so; with
/// it, every segment is checked.
#[test]
fn by_default_the_first_segments_are_checked_and_on_request_all() {
    const SYNS: u32 = 70_000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.pcap");
    let frames: Vec<Vec<u8>> = (0..SYNS)
        .map(|i| {
            let mut f = syn_frame([100, (i >> 16) as u8, (i >> 8) as u8, i as u8], 40_000, i);
            // The TCP checksum (Ethernet 14 + IPv4 20 + 16), made wrong.
            f[50] ^= 0x5a;
            f
        })
        .collect();
    write_pcap(&path, &frames);
    let table = tcpstate().arg("analyze").arg(&path).output().unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains(
            "bad checksums: 65536 TCP segments of the first 65536 checked analyzed anyway"
        ),
        "{text}"
    );
    // The capture's counts, with one connection of the 70,000 shown: the
    // document of them all is 150 MB, which says nothing more here.
    let plain: Value = serde_json::from_slice(&analyze_output(
        &["--format", "json", "--conn", "1"],
        &[&path],
    ))
    .unwrap();
    assert_eq!(plain["connections"].as_array().map(Vec::len), Some(1));
    assert_eq!(plain["captures"][0]["bad_checksums"], 65_536);
    assert_eq!(plain["captures"][0]["tcp_segments"], SYNS);
    let verified: Value = serde_json::from_slice(&analyze_output(
        &["--format", "json", "--verify-checksums"],
        &[&path],
    ))
    .unwrap();
    assert_eq!(verified["captures"][0]["skipped"]["bad_checksum"], SYNS);
    assert_eq!(verified["captures"][0]["tcp_segments"], 0);
}
