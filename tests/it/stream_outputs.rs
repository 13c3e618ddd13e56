//! `--format zeek` and `--format json` keep no report: Zeek rows are
//! written as connections finish, as JSON Lines are, and the JSON
//! document's connections are held back in bounded memory (spilling to a
//! temporary file) and put in id order. Both are compared here with what
//! the renderers make of the whole report model, kept in memory (the table
//! with no row limit keeps every report): the way these formats were
//! written before they streamed.

use crate::common;
use common::*;
use std::path::PathBuf;
use tcpstate::render::{self, Format};
use tcpstate::report::Report;
use tcpstate::run::{self, Options};

/// Runs `options` in `format`; returns the output.
fn output(options: &Options, format: Format) -> Vec<u8> {
    let mut options = options.clone();
    options.format = format;
    let mut out = Vec::new();
    let outcome = run::run(&options, &mut out, &mut Vec::new()).expect("the run succeeds");
    if matches!(format, Format::Json | Format::Zeek | Format::Jsonl) {
        assert!(
            outcome.report.connections.is_empty(),
            "{format:?} keeps no report"
        );
    }
    out
}

/// The report of `options` with every connection kept.
fn whole_report(options: &Options) -> Report {
    let mut options = options.clone();
    options.format = Format::Table;
    options.limit = 0;
    run::run(&options, &mut Vec::new(), &mut Vec::new())
        .expect("the run succeeds")
        .report
}

fn old_json(report: &Report) -> Vec<u8> {
    let mut out = Vec::new();
    render::json::document(report, &mut out).unwrap();
    out
}

fn old_zeek(report: &Report) -> Vec<u8> {
    let mut out = Vec::new();
    render::zeek::render(report, &mut out).unwrap();
    out
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap()
}

/// The uids of the rows of a conn.log, in order.
fn zeek_uids(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').nth(1).unwrap())
        .collect()
}

/// The ids of JSON Lines, in order, as Zeek uids: one per Zeek record
/// (`r<n>` after the uid from a connection's second record on).
fn jsonl_uids(lines: &[u8]) -> Vec<String> {
    text(lines)
        .lines()
        .flat_map(|l| {
            let v: serde_json::Value = record(l).unwrap();
            let uid = format!("CT{:016x}", v["id"].as_u64().unwrap());
            let n = v["zeek_records"].as_array().map_or(1, Vec::len);
            (1..=n)
                .map(|k| match k {
                    1 => uid.clone(),
                    k => format!("{uid}r{k}"),
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Asserts the streamed conn.log is the whole report's, its rows in the
/// order JSON Lines come and `#open` the start of its first row.
#[track_caller]
fn assert_zeek_streams(options: &Options, report: &Report, what: &str) {
    let streamed = output(options, Format::Zeek);
    let (streamed, old) = (text(&streamed), old_zeek(report));
    let old = text(&old);
    assert_eq!(
        zeek_uids(streamed),
        jsonl_uids(&output(options, Format::Jsonl)),
        "{what}: rows in the order connections finish"
    );
    let sorted = |log: &str| {
        let mut rows: Vec<String> = log
            .lines()
            .filter(|l| !l.starts_with('#') || l.starts_with("#close"))
            .map(str::to_string)
            .collect();
        rows.sort();
        rows
    };
    assert_eq!(sorted(streamed), sorted(old), "{what}: rows and #close");
    let header = |log: &str| -> Vec<String> {
        log.lines()
            .take_while(|l| l.starts_with('#'))
            .filter(|l| !l.starts_with("#open"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(header(streamed), header(old), "{what}: header");
    let open = streamed
        .lines()
        .find_map(|l| l.strip_prefix("#open\t"))
        .unwrap();
    match report
        .connections
        .iter()
        .find(|c| format!("CT{:016x}", c.id) == zeek_uids(streamed)[0])
    {
        Some(first) => assert_eq!(
            open,
            first.start_time[..19].replace(['T', ':'], "-"),
            "{what}: #open"
        ),
        None => assert_eq!(open, "1970-01-01-00-00-00"),
    }
}

#[test]
fn every_capture_in_testdata_is_written_as_before() {
    let captures = all_captures();
    assert!(captures.len() > 50);
    for path in &captures {
        let options = Options::new(vec![path.clone()]);
        let report = whole_report(&options);
        let what = path.display().to_string();
        assert!(
            output(&options, Format::Json) == old_json(&report),
            "{what}: the JSON document differs"
        );
        // Each capture's connections finish in id order: the conn.log is
        // the same byte for byte.
        assert_eq!(
            text(&output(&options, Format::Zeek)),
            text(&old_zeek(&report)),
            "{what}"
        );
    }
    // All of them as one run, one at a time and side by side.
    for jobs in [1, 2] {
        let mut options = Options::new(captures.clone());
        options.jobs = jobs;
        let report = whole_report(&options);
        assert!(
            output(&options, Format::Json) == old_json(&report),
            "every capture, {jobs} job(s): the JSON document differs"
        );
        assert_zeek_streams(&options, &report, &format!("every capture, {jobs} job(s)"));
    }
}

#[test]
fn generated_captures_are_written_as_before_in_every_way_they_run() {
    let dir = tempfile::tempdir().unwrap();
    let a = generate(dir.path(), 1200, 200, 1);
    let b = generate(dir.path(), 600, 100, 2);
    let junk = dir.path().join("junk.pcap");
    std::fs::write(&junk, b"not a capture").unwrap();
    let runs: [(&[&PathBuf], Option<usize>); 3] = [
        (&[&a], None),
        (&[&a, &junk, &b], None),
        // A small table: connections finish far from id order.
        (&[&b, &a], Some(200)),
    ];
    for (files, max) in runs {
        // One whole report for both ways of running: they give the same one.
        let mut whole = None;
        for jobs in [1, 2] {
            let mut options = Options::new(files.iter().map(|f| f.to_path_buf()).collect());
            options.jobs = jobs;
            if let Some(max) = max {
                options.limits.max_connections = max;
            }
            let what = format!("{} file(s), {jobs} job(s), max {max:?}", files.len());
            let (report, json) = whole.get_or_insert_with(|| {
                let report = whole_report(&options);
                let json = old_json(&report);
                (report, json)
            });
            assert!(report.connections.len() >= 1200, "{what}");
            assert!(
                &output(&options, Format::Json) == json,
                "{what}: the JSON document differs"
            );
            assert_zeek_streams(&options, report, &what);
        }
    }
}

#[test]
fn a_document_larger_than_memory_holds_is_sorted_through_a_file() {
    // With every packet, the connections of this capture take tens of
    // megabytes: more than the bound in memory, so they are sorted in runs
    // on disk and merged.
    let dir = tempfile::tempdir().unwrap();
    let a = generate(dir.path(), 1000, 300, 3);
    for (jobs, max) in [(1, 100_000), (2, 150)] {
        let mut options = Options::new(vec![a.clone(), a.clone()]);
        options.packets = true;
        options.jobs = jobs;
        options.limits.max_connections = max;
        let report = whole_report(&options);
        let old = old_json(&report);
        // More than the 8 MiB held in memory.
        assert!(old.len() > 9 << 20, "{} bytes", old.len());
        assert!(
            output(&options, Format::Json) == old,
            "{jobs} job(s): the JSON document differs"
        );
    }
}

#[test]
fn the_binary_streams_zeek_rows_and_a_document_that_parses() {
    let ftp = testdata("crafted/seed_ftp.pcap");
    let refused = testdata("captures/refused.pcap");
    let out = analyze_output(&["--format", "json", "--jobs", "2"], &[&ftp, &refused]);
    let report: common::Report = document(&out).unwrap();
    let ids: Vec<u64> = report.connections.iter().map(|c| c.id).collect();
    assert_eq!(ids, [1, 2, 3]);
    let log = analyze_output(&["--format", "zeek"], &[&ftp, &refused]);
    let log = text(&log);
    assert_eq!(zeek_uids(log).len(), 3);
    assert!(log.lines().last().unwrap().starts_with("#close\t"));
    // No connection: the header and #close, at the epoch.
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pcap");
    write_pcap(&empty, &[]);
    let log = analyze_output(&["--format", "zeek"], &[&empty]);
    let lines: Vec<&str> = text(&log).lines().collect();
    assert_eq!(lines.len(), 9, "{lines:?}");
    assert_eq!(lines[5], "#open\t1970-01-01-00-00-00");
    assert_eq!(lines[8], "#close\t1970-01-01-00-00-00");
    let doc: serde_json::Value =
        document(analyze_output(&["--format", "json"], &[&empty])).unwrap();
    assert_eq!(doc["connections"], serde_json::json!([]));
}
