//! The table's default `--limit` (issue 15): the connections with the most
//! severe findings are kept first, and the footer says how many were not
//! shown and how many of those have warnings or errors.

use crate::common;
use common::*;
use std::path::Path;

/// seed_ftp (connections 1 and 2, info only), then refused (3, a warning),
/// then rst_abort (4, a warning), as one capture: their records one after
/// the other under seed_ftp's header (all three are microsecond Ethernet).
fn mixed(dir: &Path) -> std::path::PathBuf {
    let mut bytes = std::fs::read(testdata("crafted/seed_ftp.pcap")).unwrap();
    for more in ["captures/refused.pcap", "captures/rst_abort.pcap"] {
        bytes.extend_from_slice(&std::fs::read(testdata(more)).unwrap()[24..]);
    }
    let path = dir.join("mixed.pcap");
    std::fs::write(&path, bytes).unwrap();
    path
}

fn row_ids(table: &str) -> Vec<u64> {
    table
        .lines()
        .filter_map(|l| l.strip_prefix("│"))
        .filter_map(|row| row.split('┆').next()?.trim().parse().ok())
        .collect()
}

fn table(args: &[&str], file: &Path) -> String {
    String::from_utf8(analyze_output(args, &[file])).unwrap()
}

#[test]
fn rows_with_findings_are_kept_first() {
    let dir = tempfile::tempdir().unwrap();
    let cap = mixed(dir.path());
    assert_eq!(row_ids(&table(&["--limit", "0"], &cap)), [1, 2, 3, 4]);
    let out = table(&["--limit", "2"], &cap);
    assert_eq!(row_ids(&out), [3, 4], "{out}");
    assert!(
        out.contains("… 2 more connections not shown, 0 of them with warnings or errors (--limit 0 shows all)"),
        "{out}"
    );
    let out = table(&["--limit", "3"], &cap);
    assert_eq!(row_ids(&out), [1, 3, 4], "{out}");
    let out = table(&["--limit", "1"], &cap);
    assert_eq!(row_ids(&out), [3], "{out}");
    assert!(
        out.contains("… 3 more connections not shown, 1 of them with warnings or errors"),
        "{out}"
    );
    // The same with a filter that judges verdicts.
    let out = table(&["--limit", "1", "-f", "not handshake simultaneous"], &cap);
    assert_eq!(row_ids(&out), [3], "{out}");
    assert!(out.contains("1 of them with warnings or errors"), "{out}");
}

#[test]
fn other_formats_keep_every_connection() {
    let dir = tempfile::tempdir().unwrap();
    let cap = mixed(dir.path());
    let report: Report = document(analyze_output(
        &["--format", "json", "--limit", "1"],
        &[&cap],
    ))
    .unwrap();
    let ids: Vec<u64> = report.connections.iter().map(|c| c.id).collect();
    assert_eq!(ids, [1, 2, 3, 4]);
}
