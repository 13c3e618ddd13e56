//! The teaching views collapse a connection's long runs of ordinary
//! segments while reading: one connection of 200,000 segments is drawn in
//! bounded memory, and what is drawn is what the whole report (every packet
//! kept) draws.

use crate::common;
use common::*;
use std::path::Path;
use std::process::Stdio;
use tcpstate::render::Format;
use tcpstate::run::{self, Options};
use tcpstate::teach::text::Lang;
use tcpstate::teach::Numbers;

#[test]
fn a_ladder_of_one_connection_of_200000_segments_in_bounded_memory() {
    if !common::alone(
        "bounded_long::a_ladder_of_one_connection_of_200000_segments_in_bounded_memory",
    ) {
        return;
    }
    const SEGMENTS: u64 = 200_000;
    let dir = tempfile::tempdir().unwrap();
    let path = generate_with(
        dir.path(),
        "long.pcap",
        &["--one-connection", &SEGMENTS.to_string()],
    );
    let before = children_max_rss();
    let out = tcpstate()
        .arg("analyze")
        .arg(&path)
        .args(["--format", "ladder"])
        .stderr(Stdio::null())
        .output()
        .unwrap();
    let peak = children_max_rss().max(before);
    assert!(out.status.success());
    eprintln!(
        "--format ladder of one connection of {SEGMENTS} segments: peak RSS {} MB",
        peak >> 20
    );
    // Every packet kept took about 95 MB (release build); 20 MB measured.
    assert!(peak < 60 << 20, "peak RSS {} MB", peak >> 20);
    let text = String::from_utf8(out.stdout).unwrap();
    // The handshake, one summary of the data transfer, the release: the
    // segments not shown are all but the 3 of the opening and the 4 of
    // the close.
    let summary = text
        .lines()
        .find(|l| l.contains("segments not shown"))
        .unwrap_or_else(|| panic!("no summary line in:\n{text}"));
    assert!(
        summary.contains(&format!("{} segments not shown", SEGMENTS - 7)),
        "{summary}"
    );
    assert_eq!(
        text.lines().filter(|l| l.contains("not shown")).count(),
        1,
        "{text}"
    );
}

fn options(file: &Path, format: Format) -> Options {
    let mut options = Options::new(vec![file.to_path_buf()]);
    options.format = format;
    options.fail_on = None;
    options
}

/// What the run writes.
fn output(options: &Options) -> String {
    let mut out = Vec::new();
    run::run(options, &mut out, &mut Vec::new()).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn runs_collapsed_while_reading_draw_what_every_packet_draws() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = [
        generate_with(dir.path(), "long.pcap", &["--one-connection", "3000"]),
        generate_with(dir.path(), "reuse.pcap", &["--reuse", "30"]),
        generate_with(
            dir.path(),
            "mixed.pcap",
            &["--connections", "300", "--concurrent", "40"],
        ),
    ];
    let mut collapsed = 0;
    for path in &inputs {
        for format in [Format::Timeline, Format::Ladder, Format::Mermaid] {
            for variant in 0..4 {
                let mut opts = options(path, format);
                match variant {
                    0 => {}
                    1 => opts.teach.explain = true,
                    2 => {
                        opts.teach.lang = Lang::Zh;
                        opts.teach.lesson.numbers = Numbers::Relative;
                    }
                    _ => opts.teach.lesson.full = true,
                }
                let streamed = output(&opts);
                let whole = drawn_whole(&opts).unwrap();
                assert!(
                    streamed == whole,
                    "{} {format:?} variant {variant}: the views differ",
                    path.display()
                );
                if streamed.contains("2997") || streamed.contains("2993") {
                    collapsed += 1;
                }
            }
        }
    }
    // The long connection's data transfer was collapsed in every view but
    // --full (its summary counts 2993 segments).
    assert!(collapsed >= 3, "{collapsed}");
}
