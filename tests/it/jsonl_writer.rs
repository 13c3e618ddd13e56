//! The JSON Lines serializer (src/render/jsonl.rs) writes exactly what
//! serde_json makes of the same reports: every connection of every capture
//! in testdata/ and of generated captures, with and without per-packet
//! detail, under a file name that needs escaping too; and each line
//! matches the JSON Lines record schema.

use crate::common;
use common::all_captures;
use std::path::{Path, PathBuf};
use tcpstate::pipeline::{analyze_capture, Options};
use tcpstate::report::ConnectionReport;

/// Compares the two writers on every connection of `bytes`; returns how
/// many connections, with and without packets, were compared.
fn compare(path: &Path, bytes: &[u8]) -> usize {
    let mut compared = 0;
    for packets in [false, true] {
        let options = Options {
            packets,
            ..Options::default()
        };
        for name in [
            path.display().to_string(),
            "odd \"name\"\t\\ é\u{1}".to_string(),
        ] {
            let mut reports: Vec<ConnectionReport> = Vec::new();
            let Ok(_) = analyze_capture(&name, 0, bytes, 1, &options, |c| reports.push(c)) else {
                continue; // not a capture at all (some variants are broken on purpose)
            };
            for c in &reports {
                assert_eq!(c.packets.is_some(), packets);
                let mut ours = Vec::new();
                tcpstate::render::jsonl::write(c, &mut ours);
                let mut serde = serde_json::to_vec(c).unwrap();
                serde.push(b'\n');
                assert_eq!(
                    String::from_utf8_lossy(&ours),
                    String::from_utf8_lossy(&serde),
                    "{} connection {} packets {packets}",
                    path.display(),
                    c.id
                );
                let _: serde_json::Value = common::record(&ours).unwrap();
                compared += 1;
            }
        }
    }
    compared
}

#[test]
fn the_serializer_matches_serde_json_on_every_capture() {
    let files = all_captures();
    assert!(files.len() >= 50, "{} captures", files.len());
    let mut compared = 0;
    for path in &files {
        compared += compare(path, &std::fs::read(path).unwrap());
    }
    assert!(compared > 200, "{compared} connections compared");
}

/// The gen-capture example, built beside the test binaries
/// (`cargo build --example gen-capture` if only this test is built).
fn gen_capture() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    dir.join("examples").join("gen-capture")
}

#[test]
fn the_serializer_matches_serde_json_on_generated_captures() {
    let gen = gen_capture();
    let dir = tempfile::tempdir().unwrap();
    let mut compared = 0;
    for seed in 1..=3u32 {
        let out = dir.path().join(format!("gen-{seed}.pcap"));
        let status = std::process::Command::new(&gen)
            .args(["--connections", "300", "--concurrent", "40", "--seed"])
            .arg(seed.to_string())
            .arg("-o")
            .arg(&out)
            .status()
            .unwrap_or_else(|e| panic!("{}: {e}", gen.display()));
        assert!(status.success());
        compared += compare(&out, &std::fs::read(&out).unwrap());
    }
    // 300 connections a capture, under two names, with and without packets.
    assert_eq!(compared, 3 * 300 * 4);
}
