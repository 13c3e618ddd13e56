//! The teaching views draw each connection as it finishes and drop its
//! report: a timeline of a SYN flood runs in bounded memory, and the
//! streamed views are what the whole report draws.

use crate::common;
use common::*;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tcpstate::render::Format;
use tcpstate::run::{self, Options};
use tcpstate::teach::text::Lang;

/// `n` unanswered SYNs from distinct sources, by the gen-capture example.
fn syn_flood(dir: &Path, n: u32) -> PathBuf {
    generate_with(dir, "flood.pcap", &["--syn-flood", &n.to_string()])
}

#[test]
fn a_timeline_of_200000_syns_in_bounded_memory() {
    if !common::alone("teachstream_memory::a_timeline_of_200000_syns_in_bounded_memory") {
        return;
    }
    const SYNS: u32 = 200_000;
    let dir = tempfile::tempdir().unwrap();
    let path = syn_flood(dir.path(), SYNS);
    let shown = dir.path().join("timeline.txt");
    let before = children_max_rss();
    let status = tcpstate()
        .arg("analyze")
        .arg(&path)
        .arg("--timeline")
        .stdout(std::fs::File::create(&shown).unwrap())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    let peak = children_max_rss().max(before);
    assert!(status.success());
    eprintln!("--timeline of {SYNS} SYNs: peak RSS {} MB", peak >> 20);
    // Every report kept to the end took about 300 MB (1.5 KB each).
    assert!(peak < 100 << 20, "peak RSS {} MB", peak >> 20);

    // The header, then every connection in id order.
    let lines = std::io::BufReader::new(std::fs::File::open(&shown).unwrap()).lines();
    let mut next = 1u32;
    let mut first = None;
    for line in lines {
        let line = line.unwrap();
        if first.is_none() {
            first = Some(line.clone());
        }
        if let Some(rest) = line.strip_prefix("connection ") {
            let id = rest.split(':').next().unwrap();
            assert_eq!(id, next.to_string(), "{line}");
            next += 1;
        }
    }
    assert_eq!(next, SYNS + 1);
    let first = first.unwrap();
    assert!(
        first.ends_with(&format!(
            "(pcap, ETHERNET): {SYNS} frames, {SYNS} TCP segments, {SYNS} connections"
        )),
        "{first}"
    );
}

const FTP: &str = "crafted/seed_ftp.pcap";
const REUSE: &str = "captures/port_reuse.pcap";
const REFUSED: &str = "captures/refused.pcap";
const CLOSE: &str = "captures/graceful_client_close.pcap";

fn options(files: &[&str], format: Format) -> Options {
    let mut options = Options::new(files.iter().map(|f| testdata(f)).collect());
    options.format = format;
    options.fail_on = None;
    options
}

/// What the run writes, if it succeeds (`--conn` may name a connection
/// the input does not have).
fn output(options: &Options) -> Option<String> {
    let mut out = Vec::new();
    run::run(options, &mut out, &mut Vec::new()).ok()?;
    Some(String::from_utf8(out).unwrap())
}

#[test]
fn streamed_teaching_views_are_what_the_whole_report_draws() {
    let inputs: [&[&str]; 5] = [
        &[CLOSE],
        &[REUSE],
        &[FTP, REUSE, REFUSED],
        &[REFUSED, "captures/syn_unanswered.pcap", FTP],
        &[REUSE, FTP],
    ];
    let mut compared = 0;
    let mut failed = Vec::new();
    for (input, files) in inputs.into_iter().enumerate() {
        if files.iter().any(|f| !testdata(f).exists()) {
            panic!("missing testdata among {files:?}");
        }
        for format in [Format::Timeline, Format::Ladder, Format::Mermaid] {
            for variant in 0..7 {
                let mut opts = options(files, format);
                match variant {
                    0 => {}
                    1 => opts.teach.explain = true,
                    2 => opts.teach.lang = Lang::Zh,
                    3 => {
                        opts.teach.ascii = true;
                        opts.teach.color = true;
                        opts.teach.width = Some(60);
                    }
                    4 => opts.conn = vec![2],
                    5 => opts.conn = vec![1, 3],
                    _ => opts.merge = true,
                }
                for jobs in [1, 2] {
                    opts.jobs = jobs;
                    let streamed = output(&opts);
                    let whole = drawn_whole(&opts);
                    assert_eq!(
                        streamed, whole,
                        "{files:?} {format:?} variant {variant} --jobs {jobs}"
                    );
                    match streamed {
                        Some(text) => {
                            assert!(!text.is_empty());
                            compared += 1;
                        }
                        None => failed.push((input, variant, jobs)),
                    }
                }
            }
        }
    }
    // `--conn` names a connection the input does not have: both fail
    // (in each of the three views).
    failed.sort_unstable();
    let mut expected = Vec::new();
    for (input, variant) in [(0, 4), (0, 5), (1, 5)] {
        for jobs in [1, 2] {
            expected.extend([(input, variant, jobs); 3]);
        }
    }
    assert_eq!(failed, expected);
    assert_eq!(compared, (5 * 7 - 3) * 3 * 2);
}
