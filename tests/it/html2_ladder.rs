//! The terminal ladder within a width (`COLUMNS`, or the terminal's): every
//! line fits, no word is cut (each label's numbers and each state appear
//! whole, as many times as in the full-width ladder), the header names the
//! link type; and a segment that moves a side through two states shows the
//! whole chain.

use crate::common;
use common::*;
use std::collections::BTreeMap;
use unicode_width::UnicodeWidthStr;

const CAPTURES: &[&str] = &[
    "crafted/seed_ftp.pcap",
    "captures/simultaneous_open.pcap",
    "captures/simultaneous_close.pcap",
    "captures/three_segment_close.pcap",
    "captures/many_retrans.pcap",
    "captures/refused.pcap",
    "captures/ipv6.pcap",
];

/// The ladder of `capture`, with `COLUMNS` set to `columns` (or unset).
fn ladder(capture: &str, columns: Option<usize>, args: &[&str]) -> String {
    let mut cmd = tcpstate();
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("LC_ALL", "C.UTF-8")
        .env_remove("COLUMNS")
        .args(["analyze", "--format", "ladder"])
        .args(args)
        .arg(format!("testdata/{capture}"));
    if let Some(n) = columns {
        cmd.env("COLUMNS", n.to_string());
    }
    let out = cmd.exits(0);
    String::from_utf8(out.stdout).unwrap()
}

/// How often each word that must stay whole occurs: the numbers of the
/// labels and the states.
fn words(text: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    // Chinese text runs into the words: `TIME-WAIT（等待` is TIME-WAIT.
    let pieces = text.split(|c: char| c.is_whitespace() || !c.is_ascii());
    for w in pieces.filter(|w| !w.is_empty()) {
        let numbers = ["seq=", "ack=", "len="].iter().any(|p| w.starts_with(p));
        let state = w.len() > 3
            && w.starts_with(|c: char| c.is_ascii_uppercase())
            && w.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
        if numbers || state {
            *counts.entry(w.to_string()).or_default() += 1;
        }
    }
    counts
}

#[test]
fn the_ladder_fits_the_width_and_cuts_no_word() {
    for capture in CAPTURES {
        for args in [&["--lang", "en"][..], &["--lang", "zh"], &["--ascii"]] {
            let wide = ladder(capture, None, args);
            for columns in [80, 72] {
                let narrow = ladder(capture, Some(columns), args);
                for line in narrow.lines() {
                    assert!(
                        line.width() <= columns,
                        "{capture} {args:?} at {columns}: {} columns:\n{line}\n{narrow}",
                        line.width()
                    );
                }
                assert_eq!(
                    words(&narrow),
                    words(&wide),
                    "{capture} {args:?} at {columns}: a word was cut or lost:\n{narrow}"
                );
            }
        }
    }
    // At 80 columns the seed replica's data segments wrap their label: the
    // length goes under the arrow.
    let seed = ladder("crafted/seed_ftp.pcap", Some(80), &["--lang", "en"]);
    assert!(
        seed.lines()
            .any(|l| l.contains('│') && l.trim_matches([' ', '│']).starts_with("len=")),
        "{seed}"
    );
    // Wide enough, COLUMNS changes nothing.
    let wide = ladder("captures/refused.pcap", None, &[]);
    assert_eq!(ladder("captures/refused.pcap", Some(200), &[]), wide);
}

#[test]
fn the_ladder_header_names_the_link_type() {
    let out = ladder("captures/refused.pcap", None, &[]);
    let header = out.lines().next().unwrap();
    assert_eq!(
        header,
        "testdata/captures/refused.pcap (pcap, ETHERNET): 2 frames, 2 TCP segments, 1 connection"
    );
    // As the table names it.
    let table = tcpstate()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["analyze", "testdata/captures/refused.pcap"])
        .exits(0);
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.contains("(pcap, ETHERNET)"), "{table}");
}

#[test]
fn a_chain_of_states_on_one_segment_shows_whole() {
    // The simultaneous close's last ACK moves the server FIN-WAIT-1 →
    // CLOSING → TIME-WAIT: CLOSING on the arrow's row, `→ TIME-WAIT` under it.
    let out = ladder("captures/simultaneous_close.pcap", None, &[]);
    let lines: Vec<&str> = out.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("13 "))
        .expect("frame 13's arrow");
    assert!(lines[at].ends_with("│ CLOSING"), "{}", lines[at]);
    assert!(
        lines[at + 1].ends_with("│ → TIME-WAIT"),
        "{}",
        lines[at + 1]
    );
    assert!(
        lines[at].contains("TIME-WAIT │"),
        "the client: {}",
        lines[at]
    );
    // The simultaneous open's SYN+ACK: the server SYN-RECEIVED → ESTABLISHED,
    // the client column widened for `→ ESTABLISHED`.
    let out = ladder("captures/simultaneous_open.pcap", None, &["--ascii"]);
    let lines: Vec<&str> = out.lines().collect();
    let at = lines.iter().position(|l| l.starts_with(" 6 ")).unwrap();
    assert!(lines[at].ends_with("| SYN-RECEIVED"), "{}", lines[at]);
    assert!(
        lines[at + 1].ends_with("| -> ESTABLISHED"),
        "{}",
        lines[at + 1]
    );
    // Every state a segment enters is drawn, as many times as the JSON says.
    for capture in CAPTURES {
        let report = analyze_output(&["--format", "json", "--packets"], &[testdata(capture)]);
        let report: serde_json::Value = serde_json::from_slice(&report).unwrap();
        let mut entered = 0;
        for c in report["connections"].as_array().unwrap() {
            for p in c["packets"].as_array().into_iter().flatten() {
                entered += p["transitions"].as_array().map_or(0, Vec::len);
            }
        }
        let drawn: usize = ladder(capture, None, &["--full"])
            .lines()
            .filter(|l| l.contains('│'))
            .map(|l| {
                let (left, right) = (l.split('│').next().unwrap(), l.rsplit('│').next().unwrap());
                let left = left.split_whitespace().filter(|w| words(w).len() == 1);
                let right = right.split_whitespace().filter(|w| words(w).len() == 1);
                left.count() + right.count()
            })
            .sum();
        // Less the initial states of each connection (two per connection).
        let initial = 2 * report["connections"].as_array().unwrap().len();
        assert_eq!(drawn - initial, entered, "{capture}");
    }
}
