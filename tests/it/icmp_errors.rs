//! ICMP errors tied to the connections they report on (issue 13, "ICMP
//! explains failed connections"), on the captures of testdata/icmp/: the
//! recorded ones (a Linux namespace router, testdata/tools/record-icmp.sh)
//! and the crafted ones (testdata/tools/record-icmp.py).

use crate::common;
use common::*;
use serde_json::Value;

/// The JSON report of one capture, as a value (the `icmp` list is not in
/// the typed model of tests/common).
fn json(rel: &str) -> Value {
    let out = analyze_output(&["--format", "json"], &[testdata(rel)]);
    serde_json::from_slice(&out).unwrap()
}

fn table(rel: &str) -> String {
    String::from_utf8(analyze_output(&[], &[testdata(rel)])).unwrap()
}

/// What one recorded capture must show: the connection's handshake status,
/// the finding, and its first ICMP error.
struct Expect {
    rel: &'static str,
    status: &'static str,
    code: &'static str,
    reporter: &'static str,
    protocol: &'static str,
    icmp: (u64, u64),
    kind: &'static str,
    mtu: Option<u64>,
    errors: u64,
}

const RECORDED: &[Expect] = &[
    Expect {
        rel: "icmp/admin_prohibited.pcap",
        status: "unreachable",
        code: "IC002",
        reporter: "10.97.1.254",
        protocol: "icmp",
        icmp: (3, 13),
        kind: "admin_prohibited",
        mtu: None,
        errors: 1,
    },
    Expect {
        rel: "icmp/port_unreachable.pcap",
        status: "unreachable",
        code: "IC001",
        reporter: "10.97.1.254",
        protocol: "icmp",
        icmp: (3, 3),
        kind: "unreachable",
        mtu: None,
        errors: 1,
    },
    Expect {
        rel: "icmp/host_unreachable.pcap",
        status: "unreachable",
        code: "IC001",
        reporter: "10.97.1.254",
        protocol: "icmp",
        icmp: (3, 1),
        kind: "unreachable",
        mtu: None,
        errors: 1,
    },
    Expect {
        rel: "icmp/admin_prohibited_v6.pcap",
        status: "unreachable",
        code: "IC002",
        reporter: "fd97:1::fe",
        protocol: "icmpv6",
        icmp: (1, 1),
        kind: "admin_prohibited",
        mtu: None,
        errors: 2,
    },
    Expect {
        rel: "icmp/ttl_exceeded.pcap",
        status: "unreachable",
        code: "IC004",
        reporter: "10.97.1.254",
        protocol: "icmp",
        icmp: (11, 0),
        kind: "time_exceeded",
        mtu: None,
        errors: 1,
    },
    Expect {
        rel: "icmp/frag_needed.pcap",
        status: "complete",
        code: "IC003",
        reporter: "10.97.1.254",
        protocol: "icmp",
        icmp: (3, 4),
        kind: "packet_too_big",
        mtu: Some(1280),
        errors: 5,
    },
    Expect {
        rel: "icmp/packet_too_big_v6.pcap",
        status: "complete",
        code: "IC003",
        reporter: "fd97:1::fe",
        protocol: "icmpv6",
        icmp: (2, 0),
        kind: "packet_too_big",
        mtu: Some(1280),
        errors: 5,
    },
];

#[test]
fn each_recorded_error_is_attached_with_its_router_code_and_mtu() {
    for e in RECORDED {
        let v = json(e.rel);
        let conns = v["connections"].as_array().unwrap();
        assert_eq!(conns.len(), 1, "{}", e.rel);
        let c = &conns[0];
        assert_eq!(c["handshake"]["status"], e.status, "{}", e.rel);
        let icmp = c["icmp"].as_array().unwrap();
        assert_eq!(icmp.len() as u64, e.errors, "{}", e.rel);
        let first = &icmp[0];
        assert_eq!(first["reporter"], e.reporter, "{}", e.rel);
        assert_eq!(first["protocol"], e.protocol, "{}", e.rel);
        assert_eq!(
            (first["type"].as_u64(), first["code"].as_u64()),
            (Some(e.icmp.0), Some(e.icmp.1)),
            "{}",
            e.rel
        );
        assert_eq!(first["kind"], e.kind, "{}", e.rel);
        assert_eq!(first["mtu"].as_u64(), e.mtu, "{}", e.rel);
        assert_eq!(first["check"], e.code, "{}", e.rel);
        // The quoted segment is the client's, and it is in the capture: the
        // frame before the error, with the sequence number the error quotes.
        let q = &first["quoted"];
        assert_eq!(q["dir"], "c2s", "{}", e.rel);
        let quoted_frame = q["frame"].as_u64().expect("quoted frame found");
        assert!(quoted_frame < first["frame"].as_u64().unwrap(), "{}", e.rel);
        let finding = c["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == e.code)
            .unwrap_or_else(|| panic!("{}: no {}", e.rel, e.code));
        assert_eq!(finding["count"].as_u64(), Some(e.errors), "{}", e.rel);
        let message = finding["message"].as_str().unwrap();
        assert!(message.contains(e.reporter), "{}: {message}", e.rel);
        let (t, code) = e.icmp;
        assert!(
            message.contains(&format!("type {t} code {code}")),
            "{}: {message}",
            e.rel
        );
        assert!(
            message.contains(&format!("(frame {quoted_frame})")),
            "{message}"
        );
        if let Some(mtu) = e.mtu {
            assert!(message.contains(&format!("MTU {mtu}")), "{message}");
            // The packet that was too big: a full-size segment.
            assert_eq!(q["ip_len"].as_u64(), Some(1500), "{}", e.rel);
        }
        let frames: Vec<u64> = finding["frames"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_u64().unwrap())
            .collect();
        assert!(
            frames.contains(&quoted_frame) && frames.contains(&first["frame"].as_u64().unwrap())
        );
        // Attached errors are counted, not lost.
        assert_eq!(
            v["captures"][0]["skipped"]["icmp_attached"].as_u64(),
            Some(e.errors),
            "{}",
            e.rel
        );
        // A SYN answered by ICMP is not also called unanswered.
        let codes: Vec<&str> = c["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap())
            .collect();
        assert!(!codes.contains(&"HS010"), "{}: {codes:?}", e.rel);
        // The summary lists the status.
        assert_eq!(v["summary"]["by_handshake"][e.status], 1, "{}", e.rel);

        // The table says the same.
        let t = table(e.rel);
        assert!(t.contains(&format!("handshake: {} 1", e.status)), "{t}");
        assert!(t.contains(e.code) && t.contains(e.reporter), "{t}");
        assert!(t.contains(&format!("icmp_attached {}", e.errors)), "{t}");
        if let Some(mtu) = e.mtu {
            assert!(t.contains(&format!("MTU {mtu}")), "{t}");
        }
    }
}

/// Linux lowers its segment size after "fragmentation needed": the errors
/// quote the full-size segments, and the data still arrives.
#[test]
fn path_mtu_errors_quote_the_full_size_segments() {
    for rel in ["icmp/frag_needed.pcap", "icmp/packet_too_big_v6.pcap"] {
        let c = &json(rel)["connections"][0];
        assert_eq!(c["teardown"]["status"], "graceful", "{rel}");
        for e in c["icmp"].as_array().unwrap() {
            assert_eq!(e["mtu"], 1280, "{rel}");
            assert_eq!(e["quoted"]["ip_len"], 1500, "{rel}");
            assert!(e["quoted"]["rel_seq"].as_u64().unwrap() >= 1, "{rel}");
        }
        assert!(
            c["client"]["payload_bytes"].as_u64().unwrap() >= 6000,
            "{rel}"
        );
    }
}

#[test]
fn an_error_about_no_connection_is_counted_under_its_reason() {
    let v = json("icmp/unmatched.pcap");
    let skipped = &v["captures"][0]["skipped"];
    assert_eq!(skipped["icmp_no_connection"], 1, "{skipped}");
    assert!(skipped.get("icmp_attached").is_none(), "{skipped}");
    let c = &v["connections"][0];
    assert_eq!(c["handshake"]["status"], "complete");
    assert!(c.get("icmp").is_none(), "{c}");
    assert!(table("icmp/unmatched.pcap").contains("icmp_no_connection 1"));
}

/// Quotes cut short, a sequence number never sent, an error about UDP, and
/// the tunnel an error came through.
#[test]
fn odd_quotes_and_tunnels() {
    let v = json("icmp/quotes.pcap");
    let skipped = &v["captures"][0]["skipped"];
    assert_eq!(skipped["icmp_truncated_quote"], 1, "{skipped}");
    assert_eq!(skipped["not_tcp"], 1, "{skipped}");
    assert_eq!(skipped["icmp_attached"], 3, "{skipped}");
    assert_eq!(skipped["icmp_no_connection"], 1, "{skipped}");
    let conns = v["connections"].as_array().unwrap();
    assert_eq!(conns.len(), 2);
    let bare = &conns[0];
    assert!(bare.get("encapsulation").is_none());
    let icmp = bare["icmp"].as_array().unwrap();
    assert_eq!(icmp.len(), 2);
    // Ports but no sequence number: attached, no segment named.
    assert_eq!(icmp[0]["quoted"]["seq"], Value::Null);
    assert_eq!(icmp[0]["quoted"]["frame"], Value::Null);
    // A sequence number the client never sent: no frame for it.
    assert_eq!(icmp[1]["quoted"]["rel_seq"], 999);
    assert_eq!(icmp[1]["quoted"]["frame"], Value::Null);
    let message = bare["findings"][0]["message"].as_str().unwrap();
    assert!(message.contains("sequence number not quoted"), "{message}");
    // The tunnelled SYN's error came through the same tunnel; the one in
    // VNI 43 found no connection there.
    let tunnelled = &conns[1];
    assert_eq!(
        tunnelled["encapsulation"][0],
        "vxlan vni=42 192.168.0.1→192.168.0.2"
    );
    let icmp = tunnelled["icmp"].as_array().unwrap();
    assert_eq!(icmp.len(), 1);
    assert_eq!(
        (
            icmp[0]["frame"].as_u64(),
            icmp[0]["quoted"]["frame"].as_u64()
        ),
        (Some(7), Some(6))
    );
    assert_eq!(tunnelled["handshake"]["status"], "unreachable");
}

#[test]
fn redirects_and_parameter_problems_are_other_errors() {
    let v = json("icmp/redirect.pcap");
    let c = &v["connections"][0];
    assert_eq!(c["handshake"]["status"], "complete");
    let icmp = c["icmp"].as_array().unwrap();
    assert_eq!(icmp[0]["kind"], "redirect");
    assert_eq!(icmp[0]["gateway"], "10.1.0.253");
    assert_eq!(icmp[0]["quoted"]["frame"], 1);
    assert_eq!(icmp[1]["kind"], "parameter_problem");
    assert_eq!(icmp[1]["quoted"]["frame"], 5);
    assert!(icmp[1].get("gateway").is_none());
    let f = c["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "IC005")
        .unwrap();
    assert_eq!(f["count"], 2);
    assert_eq!(f["frames"], serde_json::json!([1, 2, 5, 6]));
}

#[test]
fn the_filter_word_and_the_teaching_views_know_unreachable() {
    let files = [
        testdata("icmp/admin_prohibited.pcap"),
        testdata("icmp/frag_needed.pcap"),
        testdata("captures/syn_unanswered.pcap"),
    ];
    let out = analyze_output(
        &["--format", "json", "--filter", "handshake unreachable"],
        &files,
    );
    let v: Value = serde_json::from_slice(&out).unwrap();
    let statuses: Vec<&str> = v["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["handshake"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["unreachable"]);

    let en = analyze_output(&["--timeline"], &[testdata("icmp/admin_prohibited.pcap")]);
    let en = String::from_utf8(en).unwrap();
    assert!(
        en.contains("opening unreachable: an ICMP error answers the SYN"),
        "{en}"
    );
    assert!(en.contains("handshake unreachable"), "{en}");
    let zh = analyze_output(
        &["--timeline", "--lang", "zh"],
        &[testdata("icmp/admin_prohibited.pcap")],
    );
    let zh = String::from_utf8(zh).unwrap();
    assert!(zh.contains("SYN 被 ICMP 差错回答"), "{zh}");
    assert!(zh.contains("ICMP 管理性禁止"), "{zh}");
}

/// Zeek logs ICMP apart from TCP: its view of the attempt stays `S0`.
#[test]
fn the_zeek_view_is_unchanged() {
    let out = analyze_output(
        &["--format", "zeek"],
        &[testdata("icmp/admin_prohibited.pcap")],
    );
    let out = String::from_utf8(out).unwrap();
    let row = out.lines().find(|l| !l.starts_with('#')).unwrap();
    let fields: Vec<&str> = row.split('\t').collect();
    assert!(fields.contains(&"S0") && fields.contains(&"S"), "{row}");
}

#[test]
fn explain_knows_the_icmp_checks() {
    for code in ["IC001", "IC002", "IC003", "IC004", "IC005"] {
        let out = tcpstate().args(["explain", code]).output().unwrap();
        assert!(out.status.success(), "{code}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("ICMP"), "{code}: {text}");
    }
}

/// One thread or a pipeline of three: the errors reach the same connections.
#[test]
fn both_ways_of_running_a_capture_attach_the_same_errors() {
    for rel in [
        "icmp/frag_needed.pcap",
        "icmp/quotes.pcap",
        "icmp/unmatched.pcap",
    ] {
        let one = analyze_output(&["--format", "json", "--jobs", "1"], &[testdata(rel)]);
        let three = analyze_output(&["--format", "json", "--jobs", "3"], &[testdata(rel)]);
        assert_eq!(one, three, "{rel}");
    }
}
