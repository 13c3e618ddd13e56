//! The diagnosis (docs/diagnosis.md): each cause on a capture that shows
//! it, in the JSON and in the table (English and Chinese); every connection
//! that is fine stays undiagnosed; the per-server aggregate.

use crate::common::{self, all_captures, analyze_output, tcpstate, testdata};
use serde_json::Value;

/// The JSON document of `files`, validated against the shipped schema.
fn json(files: &[&str]) -> Value {
    let paths: Vec<_> = files.iter().map(|f| testdata(f)).collect();
    common::document(analyze_output(&["--format", "json"], &paths)).expect("valid tcpstate/1")
}

/// The diagnosis of the only connection of `file`.
fn diagnosis(file: &str) -> Value {
    let doc = json(&[file]);
    let conns = doc["connections"].as_array().unwrap();
    assert_eq!(conns.len(), 1, "{file}");
    conns[0]["diagnosis"].clone()
}

/// The table of `file` in `lang`.
fn table(file: &str, lang: &str) -> String {
    String::from_utf8(analyze_output(&["--lang", lang], &[testdata(file)])).unwrap()
}

/// The `diagnosis:` line of the table's connection `id`.
fn table_line(table: &str, id: u64) -> &str {
    let prefix = format!("  #{id} diagnosis: ");
    table
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no diagnosis line for #{id}:\n{table}"))
}

/// Checks the cause and confidence in the JSON and both tables, and that
/// each table line contains the words given; returns the diagnosis.
fn check(file: &str, cause: &str, confidence: &str, en: &[&str], zh: &[&str]) -> Value {
    let d = diagnosis(file);
    assert_eq!(d["cause"], cause, "{file}: {d}");
    assert_eq!(d["confidence"], confidence, "{file}: {d}");
    let text = d["text"].as_str().unwrap();
    for (lang, words) in [("en", en), ("zh", zh)] {
        let t = table(file, lang);
        let line = table_line(&t, 1);
        for w in words {
            assert!(line.contains(w), "{file} ({lang}): {w:?} not in {line:?}");
        }
        if lang == "en" {
            assert!(line.ends_with(text), "{line:?} vs {text:?}");
        }
    }
    d
}

#[test]
fn refused_by_a_closed_port() {
    let d = check(
        "captures/refused.pcap",
        "refused",
        "certain",
        &["refused (certain)", "RST (frame 2)", "port 5556"],
        &[
            "连接被拒绝 (确定)",
            "用 RST 回答了 SYN（第2行）",
            "端口 5556",
        ],
    );
    assert_eq!(d["evidence"]["frames"], serde_json::json!([1, 2]));
    assert_eq!(d["evidence"]["port"], 5556);
}

#[test]
fn rejected_by_icmp_names_the_router_and_the_firewall() {
    let d = check(
        "icmp/admin_prohibited.pcap",
        "rejected_by_icmp",
        "certain",
        &["10.97.1.254", "type 3 code 13", "a firewall"],
        &["10.97.1.254", "类型 3 代码 13", "防火墙"],
    );
    let e = &d["evidence"];
    assert_eq!(e["reporter"], "10.97.1.254");
    assert_eq!(
        (e["icmp_type"].as_u64(), e["icmp_code"].as_u64()),
        (Some(3), Some(13))
    );
    assert_eq!(e["firewall"], true);
    // A host unreachable from the same router is no firewall.
    let d = diagnosis("icmp/host_unreachable.pcap");
    assert_eq!(d["cause"], "rejected_by_icmp");
    assert_eq!(d["evidence"]["firewall"], false);
    assert_eq!(d["evidence"]["icmp_code"], 1);
}

#[test]
fn silent_drop_names_the_linux_doubling() {
    let d = check(
        "captures/syn_unanswered.pcap",
        "silent_drop",
        "likely",
        &[
            "4 SYNs to port 5555",
            "doubling from 1 s",
            "tcp_syn_retries",
        ],
        &["4 个 SYN", "从 1 秒起逐次加倍"],
    );
    let e = &d["evidence"];
    assert_eq!(e["syn_count"], 4);
    assert_eq!(e["frames"], serde_json::json!([1, 2, 3, 4]));
    assert_eq!(e["retry_pattern"], "doubling_from_1s");
    let gaps: Vec<f64> = e["intervals_s"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(gaps.len(), 3);
    for (gap, want) in gaps.iter().zip([1.0, 2.0, 4.0]) {
        assert!((gap - want).abs() < 0.25 * want, "{gaps:?}");
    }
    assert!(e["waited_s"].as_f64().unwrap() > 7.0);
}

#[test]
fn synack_lost_on_the_way_back() {
    let d = check(
        "captures/lost_synack.pcap",
        "synack_lost_or_not_accepted",
        "likely",
        &[
            "SYN-ACK 4 times",
            "repeated its SYN",
            "lost on the way back",
        ],
        &["4 次 SYN+ACK", "重传了 SYN", "丢失"],
    );
    assert_eq!(d["evidence"]["client_ack_seen"], false);
    assert_eq!(d["evidence"]["syn_ack_count"], 4);
    assert_eq!(d["evidence"]["syn_count"], 3);
    // SYN-ACKs never acknowledged, on the server's own timer (1 s, 2 s).
    let d = diagnosis("captures/handshake_no_final_ack.pcap");
    assert_eq!(d["cause"], "synack_lost_or_not_accepted");
    assert_eq!(d["evidence"]["retry_pattern"], "doubling_from_1s");
    let text = d["text"].as_str().unwrap();
    assert!(
        text.contains("SYN-ACK 3 times and the client did not acknowledge it"),
        "{d}"
    );
}

#[test]
fn application_abort_by_either_side() {
    let d = check(
        "captures/rst_abort.pcap",
        "application_abort",
        "certain",
        &["the client aborted", "frame 8", "ESTABLISHED", "26 bytes"],
        &["客户端", "第8行", "ESTABLISHED", "SO_LINGER 0"],
    );
    assert_eq!(d["evidence"]["side"], "client");
    assert_eq!(d["evidence"]["state"], "ESTABLISHED");
    assert_eq!(d["evidence"]["client_bytes"], 26);
    assert_eq!(d["evidence"]["server_bytes"], 38);
    let d = diagnosis("captures/server_rst.pcap");
    assert_eq!(d["cause"], "application_abort");
    assert_eq!(d["evidence"]["side"], "server");
}

#[test]
fn half_open_says_who_never_closed() {
    let d = check(
        "captures/half_open_end.pcap",
        "half_open",
        "likely",
        &[
            "the client closed (FIN, frame 6)",
            "the server never did",
            "CLOSE-WAIT",
        ],
        &[
            "客户端已关闭（FIN，第6行）",
            "服务器始终没有关闭",
            "CLOSE-WAIT",
        ],
    );
    assert_eq!(d["evidence"]["side"], "client");
    assert_eq!(d["evidence"]["state"], "CLOSE-WAIT");
    assert!(d["evidence"]["open_for_s"].as_f64().unwrap() >= 0.0);
}

#[test]
fn capture_problems_are_not_network_faults() {
    // The capture dropped the request: the server's ACK covers it.
    let d = check(
        "captures/capture_loss.pcap",
        "capture_problem",
        "certain",
        &["cover data the capture never showed", "not the network"],
        &["抓包丢了包"],
    );
    assert_eq!(d["evidence"]["acked_unseen"], 2);
    // A tap that saw only the server's direction, and one that saw only
    // the client's (which goes on past its SYN: it was answered).
    for (file, missing) in [
        ("merge/tap_s.pcapng", "client"),
        ("merge/tap_c.pcap", "server"),
    ] {
        let doc = json(&[file]);
        for c in doc["connections"].as_array().unwrap() {
            let d = &c["diagnosis"];
            assert_eq!(d["cause"], "capture_problem", "{file}: {d}");
            assert_eq!(d["confidence"], "certain", "{file}: {d}");
            assert_eq!(d["evidence"]["side"], missing, "{file}: {d}");
        }
    }
    // Merged, the two taps make whole connections: nothing to diagnose.
    let merged = analyze_output(
        &["--format", "json", "--merge"],
        &[testdata("merge/tap_c.pcap"), testdata("merge/tap_s.pcapng")],
    );
    let doc: Value = common::document(merged).unwrap();
    for c in doc["connections"].as_array().unwrap() {
        assert!(c.get("diagnosis").is_none(), "{c}");
    }
}

/// Fine: complete handshake, graceful (or simultaneous) release or none
/// yet, no warning or error.
fn is_fine(c: &Value) -> bool {
    c["handshake"]["status"] == "complete"
        && ["graceful", "simultaneous", "none"]
            .iter()
            .any(|t| c["teardown"]["status"] == *t)
        && c["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] == "info")
}

#[test]
fn every_fine_connection_in_testdata_is_undiagnosed() {
    let (mut fine, mut diagnosed) = (0, 0);
    for file in all_captures() {
        let out = tcpstate()
            .args(["analyze", "--format", "jsonl", "--fail-on", "never"])
            .arg(&file)
            .output()
            .unwrap();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let c: Value = serde_json::from_str(line).unwrap();
            if is_fine(&c) {
                fine += 1;
                assert!(c.get("diagnosis").is_none(), "{}: {c}", file.display());
            } else if c.get("diagnosis").is_some() {
                diagnosed += 1;
            }
        }
    }
    // Not vacuous: the testdata has both kinds.
    assert!(fine >= 50, "{fine} fine connections");
    assert!(diagnosed >= 20, "{diagnosed} diagnosed connections");
}

#[test]
fn the_aggregate_groups_diagnoses_by_server_and_cause() {
    let files = [
        "captures/graceful_client_close.pcap",
        "captures/syn_unanswered.pcap",
        "captures/rst_abort.pcap",
        "captures/server_rst.pcap",
        "captures/refused.pcap",
    ];
    let doc = json(&files);
    let by_server = doc["summary"]["diagnosed_by_server"].as_array().unwrap();
    assert_eq!(
        by_server,
        &vec![
            serde_json::json!({
                "server": "10.99.0.2:5555",
                "connections": 4,
                "diagnosed": 3,
                "by_cause": {"application_abort": 2, "silent_drop": 1}
            }),
            serde_json::json!({
                "server": "10.99.0.2:5556",
                "connections": 1,
                "diagnosed": 1,
                "by_cause": {"refused": 1}
            }),
        ]
    );
    let paths: Vec<_> = files.iter().map(|f| testdata(f)).collect();
    let t = String::from_utf8(analyze_output(&[], &paths)).unwrap();
    // Each capture's, then all of them together.
    assert_eq!(t.matches("diagnosis by server:\n").count(), 5, "{t}");
    let all = t.find("\nall captures: ").expect(&t);
    let block: Vec<&str> = t[all..].lines().skip(2).take(3).collect();
    assert_eq!(
        block,
        [
            "diagnosis by server:",
            "  10.99.0.2:5555                   4 connections, 3 diagnosed: application abort 2, silent drop 1",
            "  10.99.0.2:5556                   1 connection, 1 diagnosed: refused 1",
        ],
        "{t}"
    );
    // A healthy capture has no aggregate, in the table or the JSON.
    let doc = json(&["captures/graceful_client_close.pcap"]);
    assert!(doc["summary"].get("diagnosed_by_server").is_none());
    let t = table("captures/graceful_client_close.pcap", "en");
    assert!(
        !t.contains("diagnosis:") && !t.contains("diagnosis by server"),
        "{t}"
    );
}

#[test]
fn the_filter_selects_by_cause() {
    let files: Vec<_> = [
        "captures/graceful_client_close.pcap",
        "captures/syn_unanswered.pcap",
        "captures/rst_abort.pcap",
        "captures/refused.pcap",
    ]
    .iter()
    .map(|f| testdata(f))
    .collect();
    let ids = |expr: &str| -> Vec<(u64, String)> {
        let doc: Value =
            common::document(analyze_output(&["--format", "json", "-f", expr], &files)).unwrap();
        doc["connections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let cause = c["diagnosis"]["cause"].as_str().unwrap_or("-");
                (c["id"].as_u64().unwrap(), cause.to_string())
            })
            .collect()
    };
    assert_eq!(ids("diagnosis silent_drop"), [(2, "silent_drop".into())]);
    assert_eq!(
        ids("diagnosis any"),
        [
            (2, "silent_drop".into()),
            (3, "application_abort".into()),
            (4, "refused".into())
        ]
    );
    assert_eq!(ids("not diagnosis any"), [(1, "-".into())]);
    assert_eq!(ids("diagnosis half-open"), []);
    let out = tcpstate()
        .args(["analyze", "-f", "diagnosis firewall_drop"])
        .args(&files)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown diagnosis cause 'firewall_drop' (any, refused,"),
        "{err}"
    );
}
