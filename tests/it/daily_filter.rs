//! `--filter EXPR` / `-f` (issue 15): tcpdump's words for addresses and the
//! same grammar over verdicts; the summary says how many connections
//! matched of how many; the verdict and the exit status judge the matched
//! ones only; a bad expression exits 2 with a caret under the offending
//! token.

use crate::common;
use common::*;
use serde_json::Value;

/// Seven connections: seed_ftp (2, port 21, complete/graceful, RL009),
/// refused (REJ, HS009 warning), ipv6 (fd99::, port 5555), half_open_end
/// (CLOSE-WAIT, RL005 warning), rst_abort (reset, RL006 warning),
/// simultaneous_open (HS006 warning, 1.4 s).
const CAPTURES: [&str; 6] = [
    "crafted/seed_ftp.pcap",
    "captures/refused.pcap",
    "captures/ipv6.pcap",
    "captures/half_open_end.pcap",
    "captures/rst_abort.pcap",
    "captures/simultaneous_open.pcap",
];

fn analyze_with(extra: &[&str]) -> std::process::Output {
    tcpstate()
        .arg("analyze")
        .args(extra)
        .args(CAPTURES.iter().map(|c| testdata(c)))
        .output()
        .unwrap()
}

/// The JSON report of the filtered run, with its exit status.
fn json(filter: &str, extra: &[&str]) -> (Option<i32>, Value) {
    let out = analyze_with(&[&["--format", "json", "-f", filter][..], extra].concat());
    let report = document(&out.stdout)
        .unwrap_or_else(|e| panic!("{filter}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), report)
}

/// (file name, client port) of each matched connection.
fn matched(filter: &str) -> Vec<(String, u64)> {
    let (_, report) = json(filter, &["--fail-on", "never"]);
    report["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let file = c["file"].as_str().unwrap();
            let name = file.rsplit('/').next().unwrap().trim_end_matches(".pcap");
            (name.to_string(), c["server"]["port"].as_u64().unwrap())
        })
        .collect()
}

fn names(filter: &str) -> Vec<String> {
    let mut v: Vec<String> = matched(filter).into_iter().map(|(n, _)| n).collect();
    v.dedup();
    v
}

#[test]
fn address_words_select_connections() {
    assert_eq!(names("port 21"), ["seed_ftp"]);
    assert_eq!(matched("port 21").len(), 2);
    assert_eq!(names("tcp port 21"), ["seed_ftp"]);
    assert_eq!(names("dst port 5556"), ["refused"]);
    assert_eq!(names("src port 5556"), ["refused"], "either direction");
    assert_eq!(names("portrange 5556-5600"), ["refused"]);
    assert_eq!(
        names("portrange 40000-40010 or portrange 5556-5556"),
        ["refused", "simultaneous_open"]
    );
    assert_eq!(names("ip6"), ["ipv6"]);
    assert_eq!(names("host fd99::2"), ["ipv6"]);
    assert_eq!(names("net fd99::/16"), ["ipv6"]);
    assert_eq!(names("net 76.88.16.0/24"), ["seed_ftp"]);
    assert_eq!(names("src host 76.88.16.104 and dst port 21").len(), 1);
    assert_eq!(
        names("src host 76.88.16.16 and src port 1038"),
        Vec::<String>::new()
    );
    assert_eq!(
        names("ip and not (port 21 or port 5555)"),
        ["refused", "simultaneous_open"]
    );
    assert_eq!(
        names("host 10.99.0.1 && !port 5555"),
        ["refused", "simultaneous_open"]
    );
}

#[test]
fn verdict_words_select_connections() {
    assert_eq!(names("handshake refused"), ["refused"]);
    assert_eq!(names("conn_state REJ"), ["refused"]);
    assert_eq!(names("teardown reset"), ["rst_abort"]);
    assert_eq!(names("state CLOSE-WAIT"), ["half_open_end"]);
    assert_eq!(
        names("state fin-wait-2"),
        ["half_open_end"],
        "either side, any case"
    );
    assert_eq!(names("finding HS006"), ["simultaneous_open"]);
    assert_eq!(
        names("severity warning"),
        ["refused", "half_open_end", "rst_abort", "simultaneous_open"]
    );
    assert_eq!(names("severity error"), Vec::<String>::new());
    assert_eq!(names("duration > 1s"), ["simultaneous_open"]);
    assert_eq!(names("duration >= 350ms and duration < 1s"), ["ipv6"]);
    assert_eq!(names("bytes > 100"), ["seed_ftp"]);
    assert_eq!(matched("bytes > 100").len(), 1);
    assert_eq!(names("bytes = 0"), ["refused"]);
    assert_eq!(
        names("port 5555 and (teardown reset or severity warning) and not ip6"),
        ["half_open_end", "rst_abort"]
    );
}

#[test]
fn the_summary_counts_and_judges_only_the_matched_connections() {
    // Unfiltered, warnings fail the run.
    let all = analyze_with(&["--fail-on", "warning"]);
    assert_eq!(all.status.code(), Some(1));
    let (code, report) = json("port 21", &["--fail-on", "warning"]);
    assert_eq!(
        code,
        Some(0),
        "the matched connections have info findings only"
    );
    let summary = &report["summary"];
    assert_eq!(summary["connections"], 2);
    assert_eq!(summary["findings"]["warning"], 0);
    let text = summary["verdict"]["text"].as_str().unwrap();
    assert!(text.starts_with("PASS"), "{text}");
    assert!(
        text.contains("filter 'port 21': 2 of 2 connections matched"),
        "{text}"
    );
    assert!(
        text.contains("TCP segments outside it not tracked"),
        "{text}"
    );
    // The segments outside an address filter are counted as skipped.
    let filtered: u64 = report["captures"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["skipped"]["filtered"].as_u64())
        .sum();
    assert!(filtered > 0);

    // A CI gate: fail if anything to port 5556 was refused.
    let (code, report) = json("port 5556 and handshake refused", &["--fail-on", "warning"]);
    assert_eq!(code, Some(1));
    let text = report["summary"]["verdict"]["text"].as_str().unwrap();
    assert!(text.starts_with("FAIL"), "{text}");
    assert!(text.contains("1 of 1 connection matched"), "{text}");

    // A verdict filter tracks every connection and says of how many.
    let (_, report) = json("handshake refused", &["--fail-on", "never"]);
    let text = report["summary"]["verdict"]["text"].as_str().unwrap();
    assert!(text.contains("1 of 7 connections matched"), "{text}");
}

#[test]
fn the_table_and_jsonl_show_the_matched_connections_only() {
    let out = analyze_with(&[
        "--fail-on",
        "never",
        "-f",
        "teardown reset or state CLOSE-WAIT",
    ]);
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("2 of 7 connections matched"), "{table}");
    assert!(table.contains("all captures: 2 connections"), "{table}");
    let out = analyze_with(&[
        "--format",
        "jsonl",
        "-f",
        "teardown reset or state CLOSE-WAIT",
    ]);
    let lines = String::from_utf8(out.stdout).unwrap();
    assert_eq!(lines.lines().count(), 2, "{lines}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 of 7 connections matched"));
}

#[test]
fn filtering_by_address_gives_the_same_connections_as_by_verdicts_after() {
    // The address part drops segments before tracking; the result is the
    // same connections (same reports) as tracking everything and testing
    // the connection's addresses.
    let by_address = matched("port 5555");
    let with_verdict = matched("port 5555 and (severity info or not severity info)");
    assert_eq!(by_address, with_verdict);
    assert_eq!(by_address.len(), 3);
}

#[test]
fn a_bad_expression_exits_2_with_a_caret_under_the_token() {
    // (filter, what the message says, where the caret is: byte offset, length)
    for (filter, message, at, len) in [
        (
            "port 443 and (handshake unanswerd or severity warning)",
            "unknown handshake status 'unanswerd'",
            24,
            9,
        ),
        ("port http", "'http' is not a port number", 5, 4),
        ("host 10.0.0.300", "is not an IPv4 or IPv6 address", 5, 10),
        ("port 80 and", "expected a test", 11, 1),
        ("(port 80", "expected ')'", 8, 1),
        ("port 80 or or port 81", "expected a test", 11, 2),
        ("finding XX001", "unknown check code 'XX001'", 8, 5),
        ("bytes > lots", "'lots' is not a size", 8, 4),
        ("frobnicate", "unknown word 'frobnicate'", 0, 10),
        ("port 80 port 81", "expected 'and', 'or'", 8, 4),
    ] {
        let caret = format!("  {}{}", " ".repeat(at), "^".repeat(len));
        let out = tcpstate()
            .args(["analyze", "-f", filter])
            .arg(testdata("captures/refused.pcap"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{filter}");
        assert!(out.stdout.is_empty());
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains("bad --filter expression"), "{filter}: {err}");
        assert!(err.contains(message), "{filter}: {err}");
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 3, "{err}");
        assert_eq!(lines[1], format!("  {filter}"));
        assert_eq!(lines[2], caret, "{filter}:\n{err}");
    }
}

#[test]
fn captures_side_by_side_filter_alike() {
    for filter in ["finding RL009", "port 5555", "not ip6 and severity warning"] {
        let ids = |jobs: &str| -> Vec<u64> {
            let (_, report) = json(filter, &["--fail-on", "never", "--jobs", jobs]);
            report["connections"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_u64().unwrap())
                .collect()
        };
        assert_eq!(ids("1"), ids("2"), "{filter}");
    }
}

#[test]
fn the_teaching_views_draw_the_matched_connections_only() {
    let out = analyze_with(&[
        "--timeline",
        "--color",
        "never",
        "--lang",
        "en",
        "-f",
        "handshake refused or teardown reset",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.matches("\nconnection ").count(), 2, "{text}");
    assert!(text.contains("10.99.0.2:5556"), "{text}");
    assert!(!text.contains("76.88.16.16"), "{text}");
}
