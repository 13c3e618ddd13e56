//! `--conn ID[,ID…]` in every format (issue 15): only those connections are
//! shown; the summary still counts all; an id that is not there is an error.

use crate::common;
use common::*;

/// seed_ftp.pcap twice: connections 1 and 2 in the first capture, 3 and 4
/// in the second.
fn run(args: &[&str]) -> std::process::Output {
    let ftp = testdata("crafted/seed_ftp.pcap");
    tcpstate()
        .args(["analyze", "--fail-on", "never"])
        .args(args)
        .arg(&ftp)
        .arg(&ftp)
        .output()
        .unwrap()
}

fn stdout(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const SELECTIONS: [&[&str]; 3] = [
    &["--conn", "1,4"],
    &["--conn", "4", "--conn", "1"],
    &["--conn", "4,1,4"],
];

#[test]
fn json_lists_only_the_connections_asked_for() {
    for jobs in ["1", "2"] {
        for sel in SELECTIONS {
            let args = [&["--format", "json", "--jobs", jobs][..], sel].concat();
            let report: Report = document(stdout(&args)).unwrap();
            let ids: Vec<u64> = report.connections.iter().map(|c| c.id).collect();
            assert_eq!(ids, [1, 4], "{args:?}");
            assert_eq!(report.summary.connections, 4, "the summary counts all");
            assert_eq!(report.captures.len(), 2);
        }
    }
}

#[test]
fn jsonl_writes_only_the_connections_asked_for() {
    for jobs in ["1", "2"] {
        let out = stdout(&["--format", "jsonl", "--jobs", jobs, "--conn", "4,1"]);
        let ids: Vec<u64> = out
            .lines()
            .map(|l| record::<Connection>(l).unwrap().id)
            .collect();
        assert_eq!(ids, [1, 4]);
    }
}

#[test]
fn zeek_writes_only_the_connections_asked_for() {
    let all = stdout(&["--format", "zeek"]);
    let out = stdout(&["--format", "zeek", "--conn", "2"]);
    let rows: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(rows.len(), 1, "{out}");
    assert!(rows[0].contains(&format!("CT{:016x}", 2)), "{out}");
    let row_in_all = all.lines().find(|l| l.contains(&format!("CT{:016x}", 2)));
    assert_eq!(row_in_all, Some(rows[0]));
}

/// The ids of the table rows.
fn row_ids(table: &str) -> Vec<u64> {
    table
        .lines()
        .filter_map(|l| l.strip_prefix("│"))
        .filter_map(|row| row.split('┆').next()?.trim().parse().ok())
        .collect()
}

#[test]
fn the_table_shows_only_the_rows_asked_for_and_no_false_footer() {
    let all = stdout(&[]);
    assert_eq!(row_ids(&all), [1, 2, 3, 4]);
    let out = stdout(&["--conn", "1,4"]);
    assert_eq!(row_ids(&out), [1, 4], "{out}");
    assert!(!out.contains("not shown"), "{out}");
    // The totals still count every connection of each capture.
    assert_eq!(out.matches("2 connections · ").count(), 2, "{out}");
}

#[test]
fn the_packet_listing_is_of_the_connections_asked_for() {
    let out = stdout(&["--packets", "--conn", "3"]);
    assert_eq!(out.matches("\nconnection ").count(), 1, "{out}");
    assert!(out.contains("\nconnection 3: "), "{out}");
}

#[test]
fn an_id_that_is_not_there_fails_in_every_format() {
    for format in ["table", "json", "jsonl", "zeek", "ladder", "mermaid"] {
        for conn in ["5", "1,5", "0"] {
            let out = run(&["--format", format, "--conn", conn]);
            assert_eq!(out.status.code(), Some(2), "{format} {conn}");
            let err = String::from_utf8_lossy(&out.stderr);
            let id = conn.rsplit(',').next().unwrap();
            assert!(
                err.contains(&format!("no connection {id}: the input has 4 connections")),
                "{format} {conn}: {err}"
            );
        }
    }
    let out = run(&["--conn", "x"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_teaching_view_draws_several_connections_asked_for() {
    let out = stdout(&[
        "--timeline",
        "--color",
        "never",
        "--lang",
        "en",
        "--conn",
        "2,3",
    ]);
    assert!(out.contains("connection 2"), "{out}");
    assert!(out.contains("connection 3"), "{out}");
    assert!(!out.contains("connection 1"), "{out}");
    assert!(!out.contains("connection 4"), "{out}");
}
