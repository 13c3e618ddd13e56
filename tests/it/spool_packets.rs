//! `--packets` in the JSON formats: a connection's packet records are
//! encoded compactly, spilled to a temporary file past a bound, and written
//! as they are read back (`connection::PacketList::spilling`,
//! `report::PacketStream`), the connection's text streamed into the
//! id-ordered store or the output. What is written is what the renderers
//! make of the whole report kept in memory, every packet in
//! `ConnectionReport::packets`; one connection of 120,000 segments is
//! written in bounded memory.

use crate::common;
use common::*;
use std::path::PathBuf;
use std::process::Stdio;
use tcpstate::render::{self, Format};
use tcpstate::report::Report;
use tcpstate::run::{self, Options};

/// The report of `options` with every connection kept, each with its
/// packets in memory (the table with no row limit).
fn whole_report(options: &Options) -> Report {
    let mut options = options.clone();
    options.format = Format::Table;
    options.limit = 0;
    options.packets = true;
    run::run(&options, &mut Vec::new(), &mut Vec::new())
        .expect("the run succeeds")
        .report
}

/// What the JSON document of the whole report is.
fn whole_document(report: &Report) -> Vec<u8> {
    let mut out = Vec::new();
    render::json::document(report, &mut out).unwrap();
    out
}

/// The JSON lines of the whole report, sorted (JSON Lines come in the
/// order connections finish).
fn whole_lines(report: &Report) -> Vec<String> {
    let mut out = Vec::new();
    let mut scratch = Vec::new();
    for c in &report.connections {
        assert!(c.packets.is_some() && c.packet_stream.is_none());
        render::json::line(c, &mut scratch, &mut out).unwrap();
    }
    sorted_lines(&out)
}

fn sorted_lines(bytes: &[u8]) -> Vec<String> {
    let mut lines: Vec<String> = std::str::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

/// Runs `options` with `--packets` in `format`; returns the output.
fn streamed(options: &Options, format: Format) -> Vec<u8> {
    let mut options = options.clone();
    options.format = format;
    options.packets = true;
    let mut out = Vec::new();
    let outcome = run::run(&options, &mut out, &mut Vec::new()).expect("the run succeeds");
    assert!(outcome.report.connections.is_empty(), "no report kept");
    out
}

#[test]
fn the_json_formats_write_every_packet_as_the_whole_report_has_them() {
    let dir = tempfile::tempdir().unwrap();
    let long = generate_with(dir.path(), "long.pcap", &["--one-connection", "60000"]);
    let many = generate(dir.path(), 300, 50, 5);
    let inputs: Vec<Vec<PathBuf>> = vec![
        vec![testdata("captures/refused.pcap")],
        vec![testdata("crafted/seed_ftp.pcap")],
        // One connection whose records spill (about 25 bytes each, past 1 MiB).
        vec![long.clone()],
        // Several captures side by side: each held back in a spool, then
        // put in id order, a connection larger than the store's chunk among them.
        vec![
            many.clone(),
            long.clone(),
            testdata("captures/refused.pcap"),
        ],
    ];
    for files in inputs {
        // Several captures run their own pipelines either way: one way is
        // enough. The whole report is made (and rendered) once, the first
        // way: every way of running gives the same one (`equivalence`).
        let ways: &[usize] = if files.len() > 1 { &[3] } else { &[1, 3] };
        let mut whole = None;
        for &jobs in ways {
            let mut options = Options::new(files.clone());
            options.jobs = jobs;
            let what = format!("{files:?}, {jobs} job(s)");
            let (document, lines) = whole.get_or_insert_with(|| {
                let report = whole_report(&options);
                let packets: usize = report
                    .connections
                    .iter()
                    .map(|c| c.packets.as_ref().map_or(0, Vec::len))
                    .sum();
                assert!(packets > 0, "{what}: no packet");
                (whole_document(&report), whole_lines(&report))
            });
            assert!(
                &streamed(&options, Format::Json) == document,
                "{what}: the JSON document differs"
            );
            assert_eq!(
                &sorted_lines(&streamed(&options, Format::Jsonl)),
                lines,
                "{what}: the JSON lines differ"
            );
        }
    }
}

#[test]
fn one_connection_of_120000_segments_with_packets_in_bounded_memory() {
    if !common::alone(
        "spool_packets::one_connection_of_120000_segments_with_packets_in_bounded_memory",
    ) {
        return;
    }
    const SEGMENTS: usize = 120_000;
    let dir = tempfile::tempdir().unwrap();
    let path = generate_with(
        dir.path(),
        "long.pcap",
        &["--one-connection", &SEGMENTS.to_string()],
    );
    // Each run writes to a file, and the whole report is made after them:
    // a child's peak counts what the test process holds when it starts it.
    let mut written = Vec::new();
    for format in ["json", "jsonl"] {
        let file = dir.path().join(format!("out.{format}"));
        let before = children_max_rss();
        let status = tcpstate()
            .arg("analyze")
            .arg(&path)
            .args(["--format", format, "--packets"])
            .stdout(std::fs::File::create(&file).unwrap())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        let peak = children_max_rss().max(before);
        assert!(status.code().is_some_and(|c| c <= 1), "{status:?}");
        let len = std::fs::metadata(&file).unwrap().len();
        eprintln!(
            "--format {format} --packets of one connection of {SEGMENTS} segments \
             ({} MB written): peak RSS {} MB",
            len >> 20,
            peak >> 20
        );
        // The text alone is about 48 MB (JSON) or 27 MB (JSON Lines); with
        // 200,000 segments, before the records spilled and the text was
        // streamed, the peak was 215 and 143 MB (release build; 15 and 10 MB
        // after, 34 MB in the dev build): held whole, 120,000 take about
        // 130 and 85 MB.
        assert!(len > 24 << 20, "{len} bytes");
        assert!(peak < 60 << 20, "peak RSS {} MB", peak >> 20);
        written.push(file);
    }
    let report = whole_report(&Options::new(vec![path.clone()]));
    assert!(
        std::fs::read(&written[0]).unwrap() == whole_document(&report),
        "--format json --packets differs"
    );
    assert_eq!(
        sorted_lines(&std::fs::read(&written[1]).unwrap()),
        whole_lines(&report),
        "--format jsonl --packets differs"
    );
}
