//! The multi-file engine through the library API (no binary): several
//! captures analyzed as one run, on one thread or side by side.

use crate::common;
use common::testdata;
use std::path::PathBuf;
use tcpstate::render::Format;
use tcpstate::run::{self, Options, Status};

const FTP: &str = "crafted/seed_ftp.pcap";
const REUSE: &str = "captures/port_reuse.pcap";
const REFUSED: &str = "captures/refused.pcap";

fn options(files: &[&str], format: Format, jobs: usize) -> Options {
    let mut options = Options::new(files.iter().map(|f| testdata(f)).collect());
    options.format = format;
    options.jobs = jobs;
    options.fail_on = None;
    options
}

/// Runs; returns the outcome, the output and the messages.
fn run(options: &Options) -> (run::Outcome, Vec<u8>, String) {
    let (mut out, mut messages) = (Vec::new(), Vec::new());
    let outcome = run::run(options, &mut out, &mut messages).expect("the run succeeds");
    (outcome, out, String::from_utf8(messages).unwrap())
}

/// Connections of each capture alone.
fn connections_of(file: &str) -> u64 {
    let (outcome, _, _) = run(&options(&[file], Format::Json, 1));
    outcome.report.captures[0].connections
}

#[test]
fn ids_run_on_across_captures_and_each_report_names_its_capture() {
    let files = [FTP, REUSE, FTP, REFUSED];
    let each: Vec<u64> = files.iter().map(|f| connections_of(f)).collect();
    assert!(each.iter().all(|&n| n > 0), "{each:?}");
    let total: u64 = each.iter().sum();
    for jobs in [1, 2, 4] {
        // The table with no row limit keeps every report; the JSON document
        // keeps none (its connections are written as they come, in order).
        let mut all = options(&files, Format::Table, jobs);
        all.limit = 0;
        let (outcome, _, messages) = run(&all);
        let (streamed, out, _) = run(&options(&files, Format::Json, jobs));
        assert!(streamed.report.connections.is_empty());
        assert_eq!(streamed.report.summary.connections, total);
        assert_eq!(outcome.status(), Status::Passed);
        assert!(messages.is_empty(), "{messages}");
        let report = &outcome.report;
        let counts: Vec<u64> = report.captures.iter().map(|c| c.connections).collect();
        assert_eq!(counts, each, "jobs {jobs}: connections per capture");
        assert_eq!(report.summary.connections, total);
        let ids: Vec<u64> = report.connections.iter().map(|c| c.id).collect();
        assert_eq!(ids, (1..=total).collect::<Vec<_>>(), "jobs {jobs}");
        // Capture k holds the ids after those of the captures before it.
        let mut first = 1;
        for (k, n) in each.iter().enumerate() {
            let of_k: Vec<u64> = report
                .connections
                .iter()
                .filter(|c| c.capture == k)
                .map(|c| c.id)
                .collect();
            assert_eq!(of_k, (first..first + n).collect::<Vec<_>>(), "capture {k}");
            assert!(report.connections[(first - 1) as usize]
                .file
                .ends_with(files[k]));
            first += n;
        }
        // The document written says the same.
        let json: serde_json::Value = common::document(&out).unwrap();
        let written: Vec<u64> = json["connections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_u64().unwrap())
            .collect();
        assert_eq!(written, ids);
        assert_eq!(json["captures"].as_array().unwrap().len(), files.len());
    }
}

#[test]
fn json_lines_side_by_side_are_the_lines_of_one_thread() {
    let files = [REUSE, FTP, REFUSED, FTP];
    let (one, alone, verdict) = run(&options(&files, Format::Jsonl, 1));
    let (_, side_by_side, _) = run(&options(&files, Format::Jsonl, 3));
    assert_eq!(
        String::from_utf8_lossy(&side_by_side),
        String::from_utf8_lossy(&alone)
    );
    let ids: Vec<u64> = alone
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            common::record::<serde_json::Value>(l).unwrap()["id"]
                .as_u64()
                .unwrap()
        })
        .collect();
    let total = one.report.summary.connections;
    assert_eq!(ids, (1..=total).collect::<Vec<_>>());
    // The lines are out; none is kept, and the verdict goes to the messages.
    assert!(one.report.connections.is_empty());
    assert_eq!(
        verdict,
        format!("tcpstate: {}\n", one.report.summary.verdict.text)
    );
}

#[test]
fn an_unreadable_input_is_left_out_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pcap");
    std::fs::write(&junk, b"this is not a capture at all").unwrap();
    for jobs in [1, 2] {
        let mut opts = options(&[FTP], Format::Table, jobs);
        opts.limit = 0;
        opts.files = vec![
            testdata(FTP),
            junk.clone(),
            PathBuf::from("/nonexistent.pcap"),
            testdata(REFUSED),
        ];
        let (outcome, _, messages) = run(&opts);
        assert_eq!(outcome.status(), Status::InputError);
        assert_eq!(outcome.unreadable, 2);
        assert_eq!(messages.lines().count(), 2, "{messages}");
        assert!(messages.contains("junk.pcap"), "{messages}");
        let report = &outcome.report;
        assert_eq!(report.captures.len(), 2);
        let ftp = report.captures[0].connections;
        let last: Vec<(u64, usize)> = report
            .connections
            .iter()
            .filter(|c| c.file.ends_with("refused.pcap"))
            .map(|c| (c.id, c.capture))
            .collect();
        let refused = report.captures[1].connections;
        assert_eq!(
            last,
            (ftp + 1..=ftp + refused)
                .map(|id| (id, 1))
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn the_table_keeps_its_first_rows_per_capture() {
    let mut opts = options(&[FTP, FTP, FTP], Format::Table, 2);
    opts.limit = 1;
    let (outcome, out, _) = run(&opts);
    let kept: Vec<(u64, usize)> = outcome
        .report
        .connections
        .iter()
        .map(|c| (c.id, c.capture))
        .collect();
    assert_eq!(kept, [(1, 0), (3, 1), (5, 2)]);
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.matches("… 1 more connections not shown").count(), 3);
}

#[test]
fn a_teaching_view_shows_the_connection_asked_for_or_fails() {
    let mut opts = options(&[FTP, FTP], Format::Ladder, 2);
    opts.conn = vec![3];
    let (outcome, out, _) = run(&opts);
    // Drawn as it finished, the report is not kept.
    assert!(outcome.report.connections.is_empty());
    // Only the capture that holds it has its header.
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.matches("seed_ftp.pcap (pcap").count(), 1, "{text}");
    assert!(text.contains("connection 3\n"), "{text}");
    assert!(!text.contains("connection 4"), "{text}");

    opts.conn = vec![5];
    let mut out = Vec::new();
    match run::run(&opts, &mut out, &mut Vec::new()) {
        Err(
            e @ run::Error::NoConnection {
                id: 5,
                connections: 4,
            },
        ) => {
            assert_eq!(
                e.to_string(),
                "no connection 5: the input has 4 connections"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(out.is_empty());
}
