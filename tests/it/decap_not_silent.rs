//! Nothing silent: frames of a link type or an encapsulation tcpstate
//! cannot read are counted under a reason that names it, and the verdict
//! line and standard error say so, so that "PASS" never hides them.

use crate::common;
use common::*;

/// A microsecond pcap of `link_type` holding `frames`.
fn pcap(link_type: u32, frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&link_type.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        for x in [
            1_700_000_000,
            1000 * i as u32,
            f.len() as u32,
            f.len() as u32,
        ] {
            out.extend_from_slice(&x.to_le_bytes());
        }
        out.extend_from_slice(f);
    }
    out
}

/// Runs the binary on `bytes` in `format`; (exit code, stdout, stderr).
fn run(bytes: &[u8], format: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("capture.pcap");
    std::fs::write(&path, bytes).unwrap();
    let out = tcpstate()
        .args(["analyze", "--format", format])
        .arg(&path)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn an_unsupported_link_type_is_named_and_warned_about() {
    // SocketCAN frames: no IP in them that tcpstate could read.
    let bytes = pcap(227, &[vec![0; 16], vec![0; 16], vec![0; 16]]);
    let (code, json, stderr) = run(&bytes, "json");
    assert_eq!(code, 0);
    let r: Report = document(&json).unwrap();
    let c = &r.captures[0];
    assert_eq!(c.link_types, ["CAN_SOCKETCAN"]);
    assert_eq!(
        c.skipped
            .get("unsupported_link_type: LINKTYPE_CAN_SOCKETCAN"),
        Some(&3)
    );
    assert!(
        r.summary
            .verdict
            .text
            // Nothing was TCP: the verdict says so and names the reason.
            .starts_with(
                "NO TCP: 3 frames read, none TCP \
                 (unsupported_link_type: LINKTYPE_CAN_SOCKETCAN 3); PASS"
            ),
        "{}",
        r.summary.verdict.text
    );
    assert!(
        stderr.contains("warning:") && stderr.contains("3 frames not understood"),
        "{stderr}"
    );

    let (_, table, _) = run(&bytes, "table");
    let last = table.lines().rev().find(|l| !l.is_empty()).unwrap();
    assert!(last.starts_with("NO TCP: 3 frames read"), "{last}");
}

#[test]
fn an_unreadable_encapsulation_is_named_and_warned_about() {
    // GRE version 2 (there is none) around a SYN, on Ethernet.
    let syn = syn_frame([10, 0, 0, 1], 40000, 1);
    let inner = &syn[14..];
    let mut gre = vec![0, 2, 0x08, 0];
    gre.extend_from_slice(inner);
    let mut outer = Vec::new();
    etherparse::PacketBuilder::ethernet2([2; 6], [4; 6])
        .ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64)
        .write(&mut outer, etherparse::IpNumber(47), &gre)
        .unwrap();
    let (code, json, stderr) = run(&pcap(1, &[outer, syn]), "json");
    assert_eq!(code, 0);
    let r: Report = document(&json).unwrap();
    assert_eq!(
        r.captures[0]
            .skipped
            .get("unsupported_encapsulation: GRE version"),
        Some(&1)
    );
    assert_eq!(r.connections.len(), 1);
    assert!(r
        .summary
        .verdict
        .text
        .starts_with("WARNING: 1 frame not understood"));
    assert!(
        stderr.contains("unsupported_encapsulation: GRE version 1"),
        "{stderr}"
    );
}

#[test]
fn ordinary_skips_do_not_warn() {
    // ARP and UDP are understood: skipped, but nothing hides in them.
    let (code, json, stderr) = run(
        &std::fs::read(testdata("captures/mixed_nontcp.pcap")).unwrap(),
        "json",
    );
    assert_eq!(code, 0);
    let r: Report = document(&json).unwrap();
    assert!(r.summary.verdict.text.starts_with("PASS"));
    assert!(!stderr.contains("warning"), "{stderr}");
}
