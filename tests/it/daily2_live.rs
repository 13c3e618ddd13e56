//! Live pipes (issue 15): when standard input is a pipe that stays quiet,
//! a connection that finished is written (JSON Lines, Zeek) within about
//! 2 s of wall-clock time, not when the next packet or the end of input
//! comes; what is written is what a later packet would have caused.

use crate::common;
use common::*;
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The capture's header and its first `n` records, and the rest.
fn split_pcap(bytes: &[u8], n: usize) -> (Vec<u8>, Vec<u8>) {
    let mut at = 24;
    for _ in 0..n {
        let len = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        at += 16 + len;
    }
    (bytes[..at].to_vec(), bytes[at..].to_vec())
}

/// Starts `tcpstate analyze --format FORMAT -`; its lines arrive on the
/// receiver as they are written, with when.
fn start(format: &str) -> (std::process::Child, mpsc::Receiver<(Instant, String)>) {
    let mut child = tcpstate()
        .args(["analyze", "--format", format, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// The JSON Lines records of the file itself, by id.
fn records_of_file(path: &std::path::Path) -> Vec<serde_json::Value> {
    let out = tcpstate()
        .args(["analyze", "--format", "jsonl"])
        .arg(path)
        .exits(0);
    let mut records: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for r in &mut records {
        r["file"] = "-".into();
    }
    records
}

#[test]
fn a_finished_connection_is_written_while_the_pipe_is_quiet() {
    let path = testdata("merge/whole.pcap");
    let bytes = std::fs::read(&path).unwrap();
    let (mut child, lines) = start("jsonl");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&bytes).unwrap();
    stdin.flush().unwrap();
    let written = Instant::now();
    // Both connections end in the capture: each is written before the
    // input ends, the first within about 2 s.
    let (first_at, first) = lines
        .recv_timeout(Duration::from_secs(8))
        .expect("a record before the input ends");
    assert!(
        first_at.duration_since(written) < Duration::from_secs(3),
        "first record after {:?}",
        first_at.duration_since(written)
    );
    let (_, second) = lines
        .recv_timeout(Duration::from_secs(6))
        .expect("the second record before the input ends");
    // Nothing more while the pipe stays quiet (past another quiet spell
    // of the tracking stage, 1 s, and its clock's ticks).
    assert!(
        lines.recv_timeout(Duration::from_secs(3)).is_err(),
        "a third record while the pipe is quiet"
    );
    drop(stdin);
    assert!(child.wait().unwrap().success());
    assert!(
        lines.recv_timeout(Duration::from_secs(5)).is_err(),
        "no more records"
    );
    // The same records as the file gives (they came as each connection's
    // linger ended, not in id order).
    let mut got: Vec<serde_json::Value> = [first, second]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    got.sort_by_key(|r| r["id"].as_u64());
    assert_eq!(got, records_of_file(&path));
}

#[test]
fn packets_after_a_quiet_spell_continue_the_open_connections() {
    // Frames 1–29: connection 2 ends (frame 29), connection 1 is still
    // open; after a pause, the rest: connection 1 goes on and closes.
    let path = testdata("merge/whole.pcap");
    let bytes = std::fs::read(&path).unwrap();
    let (head, tail) = split_pcap(&bytes, 29);
    for format in ["jsonl", "zeek"] {
        let (mut child, lines) = start(format);
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&head).unwrap();
        stdin.flush().unwrap();
        let written = Instant::now();
        let mut early = Vec::new();
        while let Ok((at, line)) = lines.recv_timeout(Duration::from_millis(3500)) {
            if !line.starts_with('#') {
                early.push((at.duration_since(written), line));
                break;
            }
        }
        assert_eq!(
            early.len(),
            1,
            "{format}: connection 2 while the pipe is quiet"
        );
        assert!(early[0].0 < Duration::from_secs(3), "{format}: {early:?}");
        if format == "jsonl" {
            let r: serde_json::Value = serde_json::from_str(&early[0].1).unwrap();
            assert_eq!(r["id"], 2);
        }
        stdin.write_all(&tail).unwrap();
        drop(stdin);
        assert!(child.wait().unwrap().success());
        let rest: Vec<String> = lines
            .iter()
            .map(|(_, l)| l)
            .filter(|l| !l.starts_with('#'))
            .collect();
        assert_eq!(rest.len(), 1, "{format}: {rest:?}");
        if format == "jsonl" {
            let mut got: Vec<serde_json::Value> = [&early[0].1, &rest[0]]
                .iter()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            got.sort_by_key(|r| r["id"].as_u64());
            assert_eq!(got, records_of_file(&path));
        }
    }
}
