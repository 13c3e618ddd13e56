//! `--format jsonl` writes a connection as soon as it is done, while the
//! input is still open: a pipeline can act on it without waiting for the end.

use crate::common;
use common::*;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Byte offset just past frame `n` of a little-endian pcap.
fn end_of_frame(bytes: &[u8], n: usize) -> usize {
    let mut at = 24;
    for _ in 0..n {
        let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        at += 16 + caplen;
    }
    at
}

#[test]
fn jsonl_emits_a_finished_connection_before_the_input_ends() {
    let bytes = std::fs::read(testdata("captures/port_reuse.pcap")).unwrap();
    // Frame 11 is the SYN that reuses the 4-tuple: it finishes connection 1.
    let cut = end_of_frame(&bytes, 11);
    let mut child = Command::new(env!("CARGO_BIN_EXE_tcpstate"))
        .args(["analyze", "--format", "jsonl", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&bytes[..cut]).unwrap();
    stdin.flush().unwrap();

    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let first = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("a line before the input ends");
    let c: Connection = record(&first).unwrap();
    assert_eq!((c.id, c.teardown.status.as_str()), (1, "graceful"));

    stdin.write_all(&bytes[cut..]).unwrap();
    drop(stdin);
    let second = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the second connection at the end");
    let c: Connection = record(&second).unwrap();
    assert_eq!(c.id, 2);
    assert!(child.wait().unwrap().success());
}
