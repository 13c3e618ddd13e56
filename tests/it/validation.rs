//! Validation end to end: every check fires on a capture showing its
//! problem and stays silent on clean traffic; Zeek conn_state and history;
//! Wireshark completeness; exit codes with --fail-on and --allow; and the
//! catalog (`rules`, `explain`, docs/rules.md) in step.

use crate::common;
use common::*;
use std::collections::BTreeMap;

/// (code, capture that shows it). Real recordings where a real stack can
/// produce the situation; crafted/ only for what real stacks do not do.
const FIRES: &[(&str, &str)] = &[
    ("HS001", "crafted/synack_bad_ack.pcap"),
    ("HS002", "crafted/third_ack_bad_ack.pcap"),
    ("HS003", "crafted/third_ack_bad_seq.pcap"),
    ("HS004", "crafted/syn_fin.pcap"),
    ("HS005", "crafted/syn_rst.pcap"),
    ("HS006", "captures/syn_unanswered.pcap"),
    ("HS006", "captures/lost_synack.pcap"),
    ("HS007", "captures/lost_synack.pcap"),
    ("HS008", "captures/tfo_syn_data.pcap"),
    ("HS009", "captures/refused.pcap"),
    ("HS010", "captures/syn_unanswered.pcap"),
    ("HS011", "captures/handshake_no_final_ack.pcap"),
    ("HS012", "captures/simultaneous_open.pcap"),
    ("HS013", "captures/mid_connection.pcap"),
    ("RL001", "crafted/fin_not_acked.pcap"),
    ("RL002", "crafted/data_after_fin.pcap"),
    ("RL003", "captures/final_ack_missing.pcap"),
    ("RL004", "captures/final_ack_missing.pcap"),
    ("RL005", "captures/half_open_end.pcap"),
    ("RL006", "captures/rst_abort.pcap"),
    ("RL006", "captures/server_rst.pcap"),
    ("RL006", "captures/rst_while_closing.pcap"),
    ("RL007", "crafted/rst_out_of_window.pcap"),
    ("RL008", "crafted/segments_after_close.pcap"),
    ("RL009", "captures/graceful_client_close.pcap"),
    ("RL010", "captures/simultaneous_close.pcap"),
    ("DT001", "captures/retransmission.pcap"),
    ("DT001", "captures/many_retrans.pcap"),
    ("DT002", "captures/reordered.pcap"),
    ("DT003", "captures/lost_segment.pcap"),
    ("DT004", "captures/capture_loss.pcap"),
    ("DT005", "captures/lost_segment.pcap"),
    ("DT006", "captures/zero_window.pcap"),
    ("DT007", "crafted/zero_window_probe.pcap"),
    ("DT008", "captures/keepalive.pcap"),
    ("DT009", "captures/zero_window.pcap"),
    ("IC001", "icmp/port_unreachable.pcap"),
    ("IC001", "icmp/host_unreachable.pcap"),
    ("IC002", "icmp/admin_prohibited.pcap"),
    ("IC002", "icmp/admin_prohibited_v6.pcap"),
    ("IC003", "icmp/frag_needed.pcap"),
    ("IC003", "icmp/packet_too_big_v6.pcap"),
    ("IC004", "icmp/ttl_exceeded.pcap"),
    ("IC005", "icmp/redirect.pcap"),
];

/// Clean traffic: only the informational TIME-WAIT note is expected.
const CLEAN: &[&str] = &[
    "captures/graceful_client_close.pcap",
    "captures/graceful_server_close.pcap",
    "captures/three_segment_close.pcap",
    "captures/half_close_data.pcap",
    "captures/ipv6.pcap",
    "captures/pcapng_graceful.pcapng",
    "captures/port_reuse.pcap",
    "crafted/seq_wrap.pcap",
];

fn all_codes(rel: &str) -> Vec<String> {
    analyze_one(rel)
        .connections
        .iter()
        .flat_map(|c| c.findings.iter().map(|f| f.code.clone()))
        .collect()
}

#[test]
fn every_check_fires_on_a_capture_that_shows_it() {
    let mut missing = Vec::new();
    for (code, rel) in FIRES {
        let codes = all_codes(rel);
        if !codes.iter().any(|c| c == code) {
            missing.push(format!("{code} on {rel} (found {codes:?})"));
        }
    }
    assert!(
        missing.is_empty(),
        "checks that did not fire:\n{}",
        missing.join("\n")
    );
    // The catalog is covered.
    let covered: std::collections::BTreeSet<&str> = FIRES.iter().map(|(c, _)| *c).collect();
    let catalog: Vec<String> = rules_json()
        .into_iter()
        .map(|r| r["code"].as_str().unwrap().to_string())
        .collect();
    for code in &catalog {
        assert!(
            covered.contains(code.as_str()),
            "{code} has no capture that makes it fire"
        );
    }
}

#[test]
fn every_check_is_silent_on_clean_traffic() {
    for rel in CLEAN {
        let codes = all_codes(rel);
        assert!(codes.iter().all(|c| c == "RL009"), "{rel}: {codes:?}");
    }
}

#[test]
fn real_captures_of_normal_traffic_have_no_errors() {
    for entry in std::fs::read_dir(testdata("captures")).unwrap() {
        let path = entry.unwrap().path();
        let r = analyze(&[&path]);
        assert_eq!(
            r.summary.findings.error,
            0,
            "{}: {:?}",
            path.display(),
            r.summary.findings.by_code
        );
    }
}

#[test]
fn findings_name_frames_and_explain_the_numbers() {
    let c = only_connection("crafted/synack_bad_ack.pcap");
    let f = c.finding("HS001").unwrap();
    assert_eq!(f.severity, "error");
    assert_eq!(f.frames, [2]);
    let isn = c.client.isn.unwrap();
    assert!(
        f.message
            .contains(&format!("should be {}", isn.wrapping_add(1))),
        "{}",
        f.message
    );

    let c = only_connection("captures/syn_unanswered.pcap");
    let f = c.finding("HS006").unwrap();
    assert_eq!(f.count, 3, "three retransmissions of one SYN");
    assert_eq!(f.frames, [1, 2, 3, 4]);
    assert!(f.message.contains("intervals"), "{}", f.message);

    let c = only_connection("captures/many_retrans.pcap");
    let f = c.finding("DT001").unwrap();
    assert_eq!(f.count, 12);
}

#[test]
fn zeek_conn_state_on_the_real_captures() {
    let expect = [
        ("captures/refused.pcap", "REJ"),
        ("captures/syn_unanswered.pcap", "S0"),
        ("captures/graceful_client_close.pcap", "SF"),
        ("captures/graceful_server_close.pcap", "SF"),
        ("captures/rst_abort.pcap", "RSTO"),
        ("captures/server_rst.pcap", "RSTR"),
        ("captures/still_open.pcap", "S1"),
        // Midstream: both endpoints PARTIAL, then both send FIN → both CLOSED → SF.
        ("captures/mid_connection.pcap", "SF"),
        // SYN and SYN-ACK establish both endpoints in Zeek; the final ACK does not matter.
        ("captures/handshake_no_final_ack.pcap", "S1"),
        // Client FIN, server never closes: originator CLOSED, responder established.
        ("captures/half_open_end.pcap", "S2"),
    ];
    for (rel, state) in expect {
        let c = &analyze_one(rel).connections[0];
        assert_eq!(c.conn_state, state, "{rel}");
    }
}

#[test]
fn zeek_history_on_the_real_captures() {
    let expect = [
        ("captures/graceful_client_close.pcap", "ShADadFf"),
        ("captures/graceful_server_close.pcap", "ShADadfF"),
        ("captures/refused.pcap", "Sr"),
        ("captures/syn_unanswered.pcap", "S"),
        ("captures/rst_abort.pcap", "ShADadR"),
        ("captures/server_rst.pcap", "ShADadr"),
        ("captures/mid_connection.pcap", "DdAFaf"),
        ("captures/simultaneous_open.pcap", "SsAaDdFf"),
        // Twelve retransmissions: 'T' at the 1st and the 10th (logarithmic).
        ("captures/many_retrans.pcap", "ShADTTadFf"),
        ("captures/zero_window.pcap", "ShADadWfF"),
    ];
    for (rel, history) in expect {
        let c = &analyze_one(rel).connections[0];
        assert_eq!(c.history, history, "{rel}");
    }
}

#[test]
fn completeness_agrees_with_wireshark() {
    // testdata/tshark/completeness.tsv.txt: file, tcp.stream, tcp.completeness (tshark -2).
    let text = std::fs::read_to_string(testdata("tshark/completeness.tsv.txt")).unwrap();
    let mut by_file: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        by_file
            .entry(cols[0])
            .or_default()
            .push(cols[2].parse().unwrap());
    }
    assert!(by_file.len() >= 30);
    for (rel, expected) in by_file {
        // Split into more connections than tshark's streams on purpose
        // (tshark_agreement.rs says why, and checks the split).
        if crate::tshark_agreement::SPLIT_ON_PURPOSE
            .iter()
            .any(|(f, ..)| *f == rel)
        {
            continue;
        }
        let got: Vec<u8> = analyze_one(rel)
            .connections
            .iter()
            .map(|c| c.completeness)
            .collect();
        assert_eq!(got, expected, "{rel}");
    }
}

fn exit_code(args: &[&str]) -> i32 {
    tcpstate()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .unwrap()
        .status
        .code()
        .unwrap()
}

#[test]
fn exit_codes_gate_on_findings() {
    let clean = "testdata/captures/graceful_client_close.pcap";
    let warn = "testdata/captures/refused.pcap"; // HS009 warning
    let error = "testdata/crafted/synack_bad_ack.pcap"; // HS001 error
    assert_eq!(exit_code(&["analyze", clean]), 0);
    assert_eq!(
        exit_code(&["analyze", "--fail-on", "info", clean]),
        1,
        "RL009 is info"
    );
    assert_eq!(
        exit_code(&["analyze", "--fail-on", "info", "--allow", "RL009", clean]),
        0
    );
    assert_eq!(
        exit_code(&["analyze", warn]),
        0,
        "default fails on error only"
    );
    assert_eq!(exit_code(&["analyze", "--fail-on", "warning", warn]), 1);
    assert_eq!(
        exit_code(&["analyze", "--fail-on", "warning", "--allow", "hs009", warn]),
        0
    );
    assert_eq!(exit_code(&["analyze", error]), 1);
    assert_eq!(exit_code(&["analyze", "--fail-on", "never", error]), 0);
    let errs = all_codes("crafted/synack_bad_ack.pcap");
    let mut args = vec!["analyze"];
    let allows: Vec<String> = errs.iter().map(|c| format!("--allow={c}")).collect();
    args.extend(allows.iter().map(String::as_str));
    args.push(error);
    assert_eq!(exit_code(&args), 0, "every finding allowed");
    // Input errors win over findings; unknown codes are usage errors.
    assert_eq!(exit_code(&["analyze", error, "testdata/README.md"]), 2);
    assert_eq!(exit_code(&["analyze", "--allow", "XX999", clean]), 2);
    assert_eq!(exit_code(&["analyze", "--fail-on", "sometimes", clean]), 2);
    for format in ["json", "jsonl", "zeek", "table"] {
        assert_eq!(
            exit_code(&["analyze", "--format", format, error]),
            1,
            "{format}"
        );
    }
}

#[test]
fn the_verdict_is_the_last_table_line_and_in_json() {
    let out = tcpstate()
        .args(["analyze", "--fail-on", "warning"])
        .arg(testdata("captures/refused.pcap"))
        .exits(1);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let last = text.lines().last().unwrap();
    assert!(
        last.starts_with("FAIL: 1 finding at or above warning (HS009×1)"),
        "{last}"
    );
    assert!(text.contains("HS009 Connection refused"), "{text}");

    let out = tcpstate()
        .args(["analyze", "--format", "json", "--allow", "RL009"])
        .arg(testdata("captures/graceful_client_close.pcap"))
        .exits(0);
    let r: Report = document(&out.stdout).unwrap();
    assert_eq!(r.summary.verdict.result, "pass");
    assert_eq!(r.summary.verdict.fail_on, "error");
    assert_eq!(r.summary.verdict.allowed, ["RL009"]);
    assert!(
        r.connections[0].findings.is_empty(),
        "allowed findings are not reported"
    );
}

fn rules_json() -> Vec<serde_json::Value> {
    let out = tcpstate()
        .args(["rules", "--format", "json"])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn rules_explain_and_docs_agree() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/rules.md")).unwrap();
    let generated = tcpstate()
        .args(["rules", "--format", "markdown"])
        .output()
        .unwrap()
        .stdout;
    assert_eq!(
        doc,
        String::from_utf8(generated).unwrap(),
        "docs/rules.md is stale: run `cargo run -- rules --format markdown > docs/rules.md`"
    );

    let rules = rules_json();
    assert!(rules.len() >= 30);
    let listing = String::from_utf8(tcpstate().arg("rules").output().unwrap().stdout).unwrap();
    for r in &rules {
        let code = r["code"].as_str().unwrap();
        let title = r["title"].as_str().unwrap();
        assert!(
            listing.contains(code) && listing.contains(title),
            "{code} missing from `tcpstate rules`"
        );
        let explained = tcpstate().args(["explain", code]).exits(0);
        let text = String::from_utf8_lossy(&explained.stdout).to_string();
        assert!(
            text.starts_with(&format!(
                "{code} ({}): {title}",
                r["severity"].as_str().unwrap()
            )),
            "{text}"
        );
        let first_words: String = r["explanation"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .take(5)
            .collect::<Vec<_>>()
            .join(" ");
        assert!(text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .contains(&first_words));
        assert!(doc.contains(&format!("## {code}")));
    }
    let unknown = tcpstate().args(["explain", "XX999"]).exits(2);
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(stderr.contains("unknown check code"), "{stderr}");
}

#[test]
fn zeek_conn_log_is_readable_by_zeek_tooling() {
    let out = tcpstate()
        .args(["analyze", "--format", "zeek"])
        .arg(testdata("captures/refused.pcap"))
        .arg(testdata("captures/graceful_client_close.pcap"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "#separator \\x09");
    let fields: Vec<&str> = lines
        .iter()
        .find(|l| l.starts_with("#fields\t"))
        .unwrap()
        .split('\t')
        .skip(1)
        .collect();
    assert_eq!(
        fields.join(" "),
        "ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration orig_bytes resp_bytes conn_state local_orig local_resp missed_bytes history orig_pkts orig_ip_bytes resp_pkts resp_ip_bytes tunnel_parents"
    );
    let types = lines
        .iter()
        .find(|l| l.starts_with("#types\t"))
        .unwrap()
        .split('\t')
        .count()
        - 1;
    assert_eq!(types, fields.len());
    let rows: Vec<BTreeMap<&str, &str>> = lines
        .iter()
        .filter(|l| !l.starts_with('#'))
        .map(|l| fields.iter().copied().zip(l.split('\t')).collect())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["conn_state"], "REJ");
    assert_eq!(rows[0]["history"], "Sr");
    assert!(rows[0]["duration"].parse::<f64>().is_ok() || rows[0]["duration"] == "-");
    assert_eq!(rows[1]["conn_state"], "SF");
    assert_eq!(rows[1]["proto"], "tcp");
    assert_eq!(rows[1]["orig_bytes"], "26");
    assert_eq!(rows[1]["resp_bytes"], "38");
    // IP bytes as tshark sums ip.len per direction.
    assert_eq!(
        (rows[1]["orig_ip_bytes"], rows[1]["resp_ip_bytes"]),
        ("346", "306")
    );
    assert_ne!(rows[0]["uid"], rows[1]["uid"]);
    assert!(lines.last().unwrap().starts_with("#close\t"));
}
