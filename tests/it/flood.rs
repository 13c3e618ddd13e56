//! A SYN flood — one million SYNs from distinct sources — is analyzed in
//! bounded memory and summarized in a few lines, not a million rows.

use crate::common;
use common::*;
use std::io::Write;

#[test]
fn a_million_syns_in_bounded_memory() {
    if !common::alone("flood::a_million_syns_in_bounded_memory") {
        return;
    }
    const SYNS: u32 = 1_000_000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flood.pcap");
    let template = syn_frame([100, 0, 0, 0], 1024, 0);
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    for x in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 1] {
        out.write_all(&x.to_le_bytes()).unwrap();
    }
    let mut frame = template.clone();
    for i in 0..SYNS {
        // Distinct source address and port, a new ISN; checksums are not checked.
        frame[26..30].copy_from_slice(&[
            100 + (i >> 24) as u8,
            (i >> 16) as u8,
            (i >> 8) as u8,
            i as u8,
        ]);
        frame[34..36].copy_from_slice(&(1024 + (i % 60_000) as u16).to_be_bytes());
        frame[38..42].copy_from_slice(&i.wrapping_mul(2_654_435_761).to_be_bytes());
        for x in [
            1_700_000_000 + i / 100_000,
            (i % 100_000) * 10,
            frame.len() as u32,
            frame.len() as u32,
        ] {
            out.write_all(&x.to_le_bytes()).unwrap();
        }
        out.write_all(&frame).unwrap();
    }
    drop(out);

    let before = children_max_rss();
    let output = tcpstate().arg("analyze").arg(&path).output().unwrap();
    let peak = children_max_rss().max(before);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    // Attempts that are only SYNs are kept packed (conntable's
    // `PACK_ABOVE`): about 190 MB before, at 1.1 KB a connection.
    assert!(peak < 100 << 20, "peak RSS {} MB", peak >> 20);
    eprintln!("1,000,000 SYNs: peak RSS {} MB", peak >> 20);

    // A few lines say what happened.
    assert!(
        text.contains("1000000 connections · handshake: unanswered 1000000"),
        "{text}"
    );
    assert!(
        text.contains("10.9.9.9:80")
            && text.contains("1000000 connections (handshake: unanswered 1000000)"),
        "{text}"
    );
    assert!(
        text.contains("HS010   1000000  SYN never answered"),
        "{text}"
    );
    assert!(
        text.contains("evicted early to bound memory: max_connections 900000"),
        "{text}"
    );
    assert!(text.lines().count() < 80, "{} lines", text.lines().count());
}
