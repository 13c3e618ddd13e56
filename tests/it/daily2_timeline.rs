//! The timeline and `--explain` fit the terminal (issue 15): with
//! `COLUMNS`, every line is broken at token boundaries within the width (a
//! state such as `SYN-RECEIVED` is never cut); the capture's header names
//! its link types as the table does. Without a width (a pipe, a file) the
//! lines are as long as they are, as the snapshots in `teach.rs` keep them.

use crate::common;
use common::*;
use std::path::PathBuf;
use unicode_width::UnicodeWidthStr;

fn view(columns: Option<&str>, args: &[&str], file: &PathBuf) -> String {
    let mut cmd = tcpstate();
    cmd.args(["analyze", "--fail-on", "never"])
        .args(args)
        .arg(file);
    if let Some(c) = columns {
        cmd.env("COLUMNS", c);
    }
    String::from_utf8(cmd.exits(0).stdout).unwrap()
}

fn captures() -> Vec<PathBuf> {
    let mut all = all_captures();
    all.push(testdata("crafted/seed_ftp.pcap"));
    all
}

#[test]
fn every_line_fits_and_only_spaces_change() {
    for file in captures() {
        for args in [
            &["--timeline"][..],
            &["--explain"],
            &["--timeline", "--relative"],
            &["--explain", "--lang", "zh"],
        ] {
            let whole = view(None, args, &file);
            let width = 80;
            let wrapped = view(Some(&width.to_string()), args, &file);
            let long: Vec<&str> = wrapped
                .lines()
                .filter(|l| UnicodeWidthStr::width(*l) > width)
                .collect();
            assert!(long.is_empty(), "{file:?} {args:?} at {width}: {long:#?}");
            if args.contains(&"zh") {
                // Chinese text may break between two characters.
                let ink = |t: &str| t.split_whitespace().collect::<String>();
                assert_eq!(ink(&wrapped), ink(&whole), "{file:?} {args:?}");
            } else {
                // Only where the lines break changed: the same tokens.
                let tokens = |t: &str| t.split_whitespace().map(str::to_string).collect::<Vec<_>>();
                assert_eq!(tokens(&wrapped), tokens(&whole), "{file:?} {args:?}");
            }
        }
    }
}

#[test]
fn a_wrapped_segment_continues_under_its_time_column() {
    let file = testdata("captures/graceful_client_close.pcap");
    let text = view(Some("80"), &["--timeline"], &file);
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.trim_start().starts_with("line 2 "))
        .unwrap_or_else(|| panic!("{text}"));
    // `line 2  handshake 2 of 3  0.000…  server … →` then the rest, indented
    // as the state changes under it are.
    let time_column = lines[at].find("0.0").unwrap();
    let next = lines[at + 1];
    assert_eq!(next.len() - next.trim_start().len(), time_column, "{text}");
    assert!(text.contains("SYN-RECEIVED"), "{text}");
}

#[test]
fn the_header_names_the_link_type() {
    for (file, linked) in [
        ("captures/refused.pcap", "(pcap, ETHERNET)"),
        ("variants/gcc_sll2.pcap", "(pcap, LINUX_SLL2)"),
        ("variants/gcc_multi.pcapng", "(pcapng, "),
    ] {
        let path = testdata(file);
        for args in [&["--timeline"][..], &["--explain"]] {
            let text = view(None, args, &path);
            let first = text.lines().next().unwrap();
            assert!(first.contains(linked), "{file} {args:?}: {first}");
        }
    }
    // Merged captures: each file named, the connections drawn once.
    let text = tcpstate()
        .args(["analyze", "--merge", "--timeline"])
        .arg(testdata("merge/tap_c.pcap"))
        .arg(testdata("merge/tap_s.pcapng"))
        .exits(0)
        .stdout;
    let text = String::from_utf8(text).unwrap();
    let mut lines = text.lines();
    assert!(lines
        .next()
        .unwrap()
        .contains("tap_c.pcap (pcap, ETHERNET): 26 frames"));
    assert!(lines
        .next()
        .unwrap()
        .contains("tap_s.pcapng (pcapng, LINUX_SLL): 15 frames"));
    assert_eq!(text.matches("\nconnection ").count(), 2, "{text}");
}
