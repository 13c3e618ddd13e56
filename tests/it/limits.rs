//! The connection-table limits that bound memory: --max-connections,
//! --idle-timeout and --attempt-timeout hand connections over early, say
//! so, and count them.

use crate::common;
use common::*;

fn analyze_with(args: &[&str], rel: &str) -> Report {
    let args: Vec<&str> = ["--format", "json"].iter().chain(args).copied().collect();
    document(analyze_output(&args, &[testdata(rel)])).unwrap()
}

#[test]
fn without_limits_nothing_is_evicted() {
    let r = analyze_with(&[], "captures/tfo_syn_data.pcap");
    assert!(r.captures[0].evicted.is_empty());
    let ended: Vec<&str> = r.connections.iter().map(|c| c.ended_by.as_str()).collect();
    assert_eq!(
        ended,
        ["close", "close"],
        "both closed; the first lingered until the end"
    );
}

#[test]
fn max_connections_hands_over_finished_connections_first() {
    // Two connections one after the other on different ports: with room for
    // one, the first (finished, lingering) is handed over as closed when the
    // second starts; that is no eviction.
    let r = analyze_with(&["--max-connections", "1"], "captures/tfo_syn_data.pcap");
    assert_eq!(r.connections.len(), 2);
    assert_eq!(r.connections[0].ended_by, "close");
    assert_eq!(r.connections[0].teardown.status, "graceful");
    assert!(r.captures[0].evicted.is_empty());
}

#[test]
fn max_connections_evicts_the_least_recently_active_open_one() {
    // Three unanswered SYNs from distinct sources, room for two: the first,
    // least recently active, is evicted when the third arrives.
    let frames: Vec<Vec<u8>> = (1..=3u8)
        .map(|i| syn_frame([10, 0, 0, i], 40000, 1000 * u32::from(i)))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("syns.pcap");
    write_pcap(&path, &frames);
    let out = tcpstate()
        .args([
            "analyze",
            "--format",
            "json",
            "--fail-on",
            "never",
            "--max-connections",
            "2",
        ])
        .arg(&path)
        .output()
        .unwrap();
    let r: Report = document(&out.stdout).unwrap();
    let ended: Vec<&str> = r.connections.iter().map(|c| c.ended_by.as_str()).collect();
    assert_eq!(ended, ["max_connections", "capture_end", "capture_end"]);
    assert_eq!(r.captures[0].evicted.get("max_connections"), Some(&1));
    assert_eq!(
        r.connections[0].handshake.status, "unanswered",
        "its results so far are reported"
    );
}

#[test]
fn idle_timeout_hands_over_silent_connections() {
    // SYNs at about 0, 1, 3 and 7 s: with a 0.5 s timeout each retransmission
    // finds its connection already handed over and starts a new record.
    let r = analyze_with(&["--idle-timeout", "0.5"], "captures/syn_unanswered.pcap");
    assert_eq!(r.connections.len(), 4);
    let ended: Vec<&str> = r.connections.iter().map(|c| c.ended_by.as_str()).collect();
    assert_eq!(
        ended,
        [
            "idle_timeout",
            "idle_timeout",
            "idle_timeout",
            "capture_end"
        ]
    );
    assert_eq!(r.captures[0].evicted.get("idle_timeout"), Some(&3));
    // Long enough, and the connection stays whole.
    let r = analyze_with(&["--idle-timeout", "10"], "captures/syn_unanswered.pcap");
    assert_eq!(r.connections.len(), 1);
    assert_eq!(r.connections[0].handshake.syn_count, 4);
}

#[test]
fn attempt_timeout_gives_up_on_unanswered_syns() {
    // SYNs at about 0, 1, 3 and 7 s, never answered. With 1.5 s, the pause
    // before the third (2 s) and the fourth (4 s) each end an attempt.
    let r = analyze_with(
        &["--attempt-timeout", "1.5"],
        "captures/syn_unanswered.pcap",
    );
    let seen: Vec<(&str, u32)> = r
        .connections
        .iter()
        .map(|c| (c.ended_by.as_str(), c.handshake.syn_count))
        .collect();
    assert_eq!(
        seen,
        [("idle_timeout", 2), ("idle_timeout", 1), ("capture_end", 1)]
    );
    assert_eq!(r.captures[0].evicted.get("idle_timeout"), Some(&2));
    // The default (5 s, Zeek's tcp_attempt_delay) keeps Linux's first
    // retries (1, 2 and 4 s apart) in one connection; 0 turns it off.
    for args in [&[][..], &["--attempt-timeout", "0"]] {
        let r = analyze_with(args, "captures/syn_unanswered.pcap");
        assert_eq!(r.connections.len(), 1);
        assert_eq!(r.connections[0].handshake.syn_count, 4);
    }
}

#[test]
fn attempt_timeout_leaves_answered_connections_alone() {
    // A keep-alive capture has long silences after a complete handshake:
    // only an attempt (nothing from the server) is subject to the timeout.
    for rel in [
        "captures/graceful_client_close.pcap",
        "captures/refused.pcap",
        "captures/keepalive.pcap",
    ] {
        let short = analyze_with(&["--attempt-timeout", "0.001"], rel);
        let default = analyze_with(&[], rel);
        assert!(short.captures[0].evicted.is_empty(), "{rel}");
        assert_eq!(
            format!("{:?}", short.connections),
            format!("{:?}", default.connections),
            "{rel}"
        );
    }
}

#[test]
fn bad_limits_are_usage_errors() {
    for args in [
        ["--max-connections", "0"],
        ["--idle-timeout", "-1"],
        ["--idle-timeout", "soon"],
        ["--attempt-timeout", "-5"],
    ] {
        tcpstate()
            .arg("analyze")
            .args(args)
            .arg(testdata("captures/refused.pcap"))
            .exits(2);
    }
}
