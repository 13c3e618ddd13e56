//! The command line over several captures: each capture's rows under its
//! own header, and file names that cannot reorder what is shown.

use crate::common;
use common::*;

/// The ids of the table rows after each capture header.
fn rows_per_capture(table: &str) -> Vec<Vec<u64>> {
    let mut captures: Vec<Vec<u64>> = Vec::new();
    for line in table.lines() {
        if line.contains(" frames, ") && line.contains(" TCP segments") {
            captures.push(Vec::new());
        } else if let Some(row) = line.strip_prefix("│") {
            if let Some(Ok(id)) = row.split('┆').next().map(|c| c.trim().parse()) {
                captures.last_mut().expect("a header first").push(id);
            }
        }
    }
    captures
}

#[test]
fn a_capture_given_twice_lists_only_its_own_rows() {
    let ftp = testdata("crafted/seed_ftp.pcap");
    for jobs in ["1", "2"] {
        let out = analyze_output(&["--jobs", jobs], &[&ftp, &ftp]);
        let table = String::from_utf8(out).unwrap();
        assert_eq!(
            rows_per_capture(&table),
            [vec![1, 2], vec![3, 4]],
            "--jobs {jobs}:\n{table}"
        );
    }
}

#[test]
fn a_teaching_view_draws_a_connection_under_its_own_capture_only() {
    let ftp = testdata("crafted/seed_ftp.pcap");
    let out = analyze_output(&["--timeline", "--conn", "3"], &[&ftp, &ftp]);
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.matches("connection 3:").count(), 1, "{text}");
    assert_eq!(
        text.matches("seed_ftp.pcap (pcap, ETHERNET)").count(),
        1,
        "{text}"
    );
}

#[test]
fn a_file_name_with_a_bidirectional_override_is_escaped_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let name = "evil\u{202e}gnp.pcap";
    let path = dir.path().join(name);
    std::fs::copy(testdata("captures/graceful_client_close.pcap"), &path).unwrap();
    let expected = path.display().to_string();

    for args in [
        &["--format", "json"][..],
        &["--format", "json", "--packets"],
        &["--format", "jsonl"],
        &["--format", "jsonl", "--packets"],
    ] {
        let out = String::from_utf8(analyze_output(args, &[&path])).unwrap();
        assert!(!out.contains('\u{202e}'), "{args:?}: raw U+202E in\n{out}");
        assert!(out.contains("evil\\u202egnp.pcap"), "{args:?}:\n{out}");
        // Still JSON, and the same name once decoded.
        let first = out.lines().next().unwrap();
        let files: Vec<String> = if args[1] == "json" {
            let report: Report = document(&out).unwrap();
            let mut files = vec![report.captures[0].file.clone()];
            files.extend(report.connections.iter().map(|c| c.file.clone()));
            files
        } else {
            let c: serde_json::Value = record(first).unwrap();
            vec![c["file"].as_str().unwrap().to_string()]
        };
        assert!(files.iter().all(|f| *f == expected), "{args:?}: {files:?}");
    }

    // For people: the table and the teaching views show it escaped.
    for args in [&[][..], &["--timeline"], &["--format", "ladder"]] {
        let out = String::from_utf8(analyze_output(args, &[&path])).unwrap();
        assert!(!out.contains('\u{202e}'), "{args:?}");
        assert!(out.contains("evil\\u{202e}gnp.pcap"), "{args:?}:\n{out}");
    }
}

#[test]
fn messages_about_a_file_escape_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad\u{200f}\u{1b}[2J.pcap");
    std::fs::write(&path, b"not a capture").unwrap();
    let out = tcpstate().arg("analyze").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("bad\\u{200f}\\u{1b}[2J.pcap"), "{stderr}");
    assert!(!stderr.contains('\u{200f}') && !stderr.contains('\u{1b}'));
}
