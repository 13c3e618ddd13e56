//! Ctrl-C on an endless input (`tcpdump -w - | tcpstate analyze -`): the
//! reading stops as if the input ended there, and the results of what was
//! read are written as usual, with the exit status they call for.
#![cfg(target_os = "linux")]

use crate::common;
use common::*;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Bytes the process `pid` has read so far (`rchar` of /proc/PID/io).
fn bytes_read(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/io"))
        .ok()
        .and_then(|io| {
            io.lines()
                .find_map(|l| l.strip_prefix("rchar: "))
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Feeds `input` to `tcpstate analyze ARGS -` through a pipe that stays
/// open, interrupts it once it has read everything, and returns its exit
/// status, output and messages.
fn interrupted(args: &[&str], input: &[u8]) -> (Option<i32>, Vec<u8>, String) {
    let exe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_tcpstate"));
    let mut child = Command::new(exe)
        .args(["analyze", "--fail-on", "never"])
        .args(args)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input).unwrap();
    stdin.flush().unwrap();
    let pid = child.id();
    let started = Instant::now();
    while bytes_read(pid) < input.len() as u64 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the input is never read"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The pipe is still open: without the interruption, this never ends.
    std::thread::sleep(Duration::from_millis(200));
    assert!(child.try_wait().unwrap().is_none(), "ended on its own");
    // SAFETY: sends a signal to our own child.
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, libc::SIGINT) }, 0);
    let (mut out, mut messages) = (Vec::new(), String::new());
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reading = std::thread::spawn(move || {
        stdout.read_to_end(&mut out).unwrap();
        out
    });
    stderr.read_to_string(&mut messages).unwrap();
    let out = reading.join().unwrap();
    let status = child.wait().unwrap();
    drop(stdin);
    (status.code(), out, messages)
}

#[test]
fn ctrl_c_writes_the_results_of_what_was_read() {
    let capture = std::fs::read(testdata("crafted/seed_ftp.pcap")).unwrap();
    // The JSON document, once interrupted: both connections, and the
    // capture says where reading stopped.
    let (code, out, messages) = interrupted(&["--format", "json"], &capture);
    assert_eq!(code, Some(0), "{messages}");
    let report: Report = document(&out).expect("a whole document");
    assert_eq!(report.connections.len(), 2);
    let capture_report = &report.captures[0];
    let stop = capture_report.stopped.as_ref().expect("a stop");
    assert_eq!(stop.message, "interrupted");
    assert_eq!(stop.offset, capture.len() as u64);
    assert_eq!(stop.frame, capture_report.frames + 1);
    assert!(!capture_report.truncated);
    assert!(
        messages.contains("-: interrupted at byte offset"),
        "{messages}"
    );
    assert!(
        messages.contains("warning: interrupted: the results are those of what was read"),
        "{messages}"
    );

    // Stopped inside a record: the frames before it are analyzed.
    let cut = &capture[..capture.len() - 5];
    let (code, out, messages) = interrupted(&["--format", "json"], cut);
    assert_eq!(code, Some(0), "{messages}");
    let report: Report = document(&out).unwrap();
    let capture_report = &report.captures[0];
    let stop = capture_report.stopped.as_ref().unwrap();
    assert_eq!(stop.message, "interrupted");
    assert_eq!(stop.frame, capture_report.frames + 1);
    assert!(stop.offset < cut.len() as u64);

    // The conn.log: its rows, then #close; the table, its rows.
    let (code, out, _) = interrupted(&["--format", "zeek"], &capture);
    assert_eq!(code, Some(0));
    let log = String::from_utf8(out).unwrap();
    assert_eq!(log.lines().filter(|l| !l.starts_with('#')).count(), 2);
    assert!(log.lines().last().unwrap().starts_with("#close\t"), "{log}");
    let (code, out, _) = interrupted(&[], &capture);
    assert_eq!(code, Some(0));
    let table = String::from_utf8(out).unwrap();
    assert!(table.contains("76.88.16.104:1038"), "{table}");
}
