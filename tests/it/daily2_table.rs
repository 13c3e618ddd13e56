//! The table fits the terminal (issue 15): with `COLUMNS` below 120 the
//! compact layout, every line (rows, summary, footer, findings, verdict)
//! within the width; with a wide terminal, a pipe or a file, the full
//! layout exactly as before.

use crate::common;
use common::*;
use std::path::PathBuf;

/// Every capture of testdata's captures/, and a few others that make long
/// lines: tunnels, IPv6, several findings per connection.
fn inputs() -> Vec<PathBuf> {
    let mut all = all_captures();
    all.push(testdata("tunnels/vxlan_two_tunnels.pcap"));
    all.push(testdata("merge/tap_c.pcap"));
    all
}

fn table(columns: Option<&str>, args: &[&str], files: &[PathBuf]) -> String {
    let mut cmd = tcpstate();
    cmd.args(["analyze", "--fail-on", "never"])
        .args(args)
        .args(files);
    if let Some(c) = columns {
        cmd.env("COLUMNS", c);
    }
    String::from_utf8(cmd.exits(0).stdout).unwrap()
}

#[track_caller]
fn assert_within(text: &str, width: usize) {
    let long: Vec<(usize, &str)> = text
        .lines()
        .map(|l| (l.chars().count(), l))
        .filter(|(n, _)| *n > width)
        .collect();
    assert!(long.is_empty(), "lines over {width} columns: {long:#?}");
}

#[test]
fn at_80_columns_no_line_is_longer() {
    let files = inputs();
    let text = table(Some("80"), &[], &files);
    assert_within(&text, 80);
    // The compact layout: one connection column, both ends in it.
    assert!(text.contains("┆ connection "), "{text}");
    assert!(text.contains("→ 10.99.0.2:5555"), "{text}");
    assert!(!text.contains("client state"), "{text}");
    // A finding's message longer than the line is wrapped, not cut.
    assert!(text.contains("findings:\n"), "{text}");
    // Each capture's rows, alone and with every packet.
    for f in &files {
        assert_within(&table(Some("80"), &[], std::slice::from_ref(f)), 80);
        assert_within(
            &table(Some("80"), &["--packets"], std::slice::from_ref(f)),
            80,
        );
    }
}

#[test]
fn the_footer_and_long_names_fit_too() {
    let dir = tempfile::tempdir().unwrap();
    let many = generate(dir.path(), 300, 20, 7);
    // A file name longer than the line.
    let long = dir
        .path()
        .join(format!("{}.pcap", "a-very-long-capture-name-".repeat(5)));
    std::fs::copy(&many, &long).unwrap();
    let text = table(Some("80"), &["--limit", "5"], &[long]);
    assert_within(&text, 80);
    assert!(text.contains("more connections not shown"), "{text}");
    assert!(text.contains("busiest servers:"), "{text}");
    // The verdict is the last line, whole when it fits.
    assert!(text.trim_end().lines().last().unwrap().starts_with("PASS"));
}

#[test]
fn merged_and_narrower_terminals_fit() {
    let taps = [testdata("merge/tap_c.pcap"), testdata("merge/tap_s.pcapng")];
    for width in [60, 80, 100, 119] {
        let text = table(Some(&width.to_string()), &["--merge"], &taps);
        assert_within(&text, width);
        assert!(
            text.contains("merged in timestamp order"),
            "{width}: {text}"
        );
    }
}

#[test]
fn the_full_layout_is_unchanged_for_wide_terminals_and_pipes() {
    let files = inputs();
    let piped = table(None, &[], &files);
    assert!(piped.contains("┆ client state ┆ server state ┆"), "{piped}");
    for columns in ["120", "200", "not a number", ""] {
        assert_eq!(
            table(Some(columns), &[], &files),
            piped,
            "COLUMNS={columns}"
        );
    }
}
