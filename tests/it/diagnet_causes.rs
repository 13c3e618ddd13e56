//! The diagnosis causes that rest on transfer evidence (docs/diagnosis.md):
//! receiver not reading, path-MTU black hole, peer vanished — each on a
//! real Linux recording in testdata/diagnosis (testdata/tools/record-diagnet.sh),
//! in the JSON and in the table (English and Chinese).

use crate::common::{self, analyze_output, testdata};
use serde_json::{json, Value};

/// The diagnosis of the only connection of `file`, from the JSON document
/// validated against the shipped schema.
fn diagnosis(file: &str) -> Value {
    let doc: Value = common::document(analyze_output(&["--format", "json"], &[testdata(file)]))
        .expect("valid tcpstate/1");
    let conns = doc["connections"].as_array().unwrap();
    assert_eq!(conns.len(), 1, "{file}");
    conns[0]["diagnosis"].clone()
}

/// The `diagnosis:` line of connection #1 in the table in `lang`.
fn table_line(file: &str, lang: &str) -> String {
    let t = String::from_utf8(analyze_output(&["--lang", lang], &[testdata(file)])).unwrap();
    t.lines()
        .find(|l| l.starts_with("  #1 diagnosis: "))
        .unwrap_or_else(|| panic!("no diagnosis line:\n{t}"))
        .to_string()
}

/// Checks cause and confidence, and the words of both table lines; the
/// English line ends with the JSON's text. Returns the evidence.
fn check(file: &str, cause: &str, confidence: &str, en: &[&str], zh: &[&str]) -> Value {
    let d = diagnosis(file);
    assert_eq!(d["cause"], cause, "{file}: {d}");
    assert_eq!(d["confidence"], confidence, "{file}: {d}");
    for (lang, words) in [("en", en), ("zh", zh)] {
        let line = table_line(file, lang);
        for w in words {
            assert!(line.contains(w), "{file} ({lang}): {w:?} not in {line:?}");
        }
        if lang == "en" {
            assert!(
                line.ends_with(d["text"].as_str().unwrap()),
                "{line:?} vs {d}"
            );
        }
    }
    d["evidence"].clone()
}

fn near(v: &Value, want: f64, tol: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - want).abs() <= tol)
}

#[test]
fn path_mtu_black_hole_names_the_sizes_and_the_mss() {
    let e = check(
        "diagnosis/pmtu_black_hole.pcap",
        "path_mtu_black_hole",
        "likely",
        &[
            "path-MTU black hole (likely)",
            "server's 1448-byte segments were sent again 5 times",
            "100-byte ones got through",
            "MSS client 1460, server 1460",
        ],
        &[
            "路径 MTU 黑洞 (很可能)",
            "1448 字节分段被重传 5 次",
            "100 字节",
        ],
    );
    assert_eq!(e["side"], "server");
    assert_eq!(e["client_mss"], 1460);
    assert_eq!(e["server_mss"], 1460);
    assert_eq!(e["segment_size"], 1448);
    assert_eq!(e["largest_acked"], 100);
    assert_eq!(e["retransmissions"], 5);
    // The retransmissions of the first full-size segment, backing off.
    assert_eq!(e["frames"], json!([16, 17, 18, 19, 20]));
    assert_eq!(e["retry_pattern"], "doubling");
    let gaps = e["intervals_s"].as_array().unwrap();
    assert_eq!(gaps.len(), 4);
    assert!(
        near(&gaps[0], 0.416, 0.01) && near(&gaps[3], 3.488, 0.01),
        "{e}"
    );
}

#[test]
fn receiver_not_reading_that_resumed_is_not_fine() {
    let e = check(
        "diagnosis/zero_window_resumed.pcap",
        "receiver_not_reading",
        "certain",
        &[
            "receiver not reading (certain)",
            "client's receive window was shut (zero) for 3.912 s from frame 14",
            "4 probe(s) from the server",
            "then it reopened",
        ],
        &["接收方不读数据 (确定)", "3.912 秒", "之后窗口重新打开"],
    );
    assert_eq!(e["side"], "client");
    assert_eq!(e["ended"], "resumed");
    assert_eq!(e["probes"], 4);
    assert_eq!(e["frames"], json!([14, 22]));
    assert!(near(&e["zero_window_s"], 3.912, 0.001), "{e}");
    assert!(near(&e["zero_window_total_s"], 3.912, 0.001), "{e}");
    // The whole response got through in the end.
    assert_eq!(e["server_bytes"], 20024);
}

#[test]
fn receiver_not_reading_until_the_reset() {
    let e = check(
        "diagnosis/zero_window_reset.pcap",
        "receiver_not_reading",
        "certain",
        &[
            "shut (zero) for 5.507 s from frame 14",
            "still shut when a RST ended the connection",
        ],
        &["5.507 秒", "直到 RST 结束连接时窗口仍为零"],
    );
    assert_eq!(e["side"], "client");
    assert_eq!(e["ended"], "reset");
    assert_eq!(e["probes"], 4);
    // The first zero window and the RST.
    assert_eq!(e["frames"], json!([14, 22]));
    assert!(near(&e["zero_window_s"], 5.507, 0.001), "{e}");
}

#[test]
fn a_short_stall_is_diagnosed_too() {
    // The client of captures/zero_window.pcap does not read for 1.5 s: its
    // window stays shut 1.035 s, over the 1 s of the rule.
    let d = diagnosis("captures/zero_window.pcap");
    assert_eq!(d["cause"], "receiver_not_reading", "{d}");
    assert_eq!(d["evidence"]["ended"], "resumed");
    assert_eq!(d["evidence"]["frames"], json!([14, 18]));
    assert!(near(&d["evidence"]["zero_window_s"], 1.035, 0.001), "{d}");
}

#[test]
fn peer_vanished_mid_transfer() {
    let e = check(
        "diagnosis/peer_vanished.pcap",
        "peer_vanished",
        "likely",
        &[
            "peer vanished (likely)",
            "the server went silent after frame 25 (0.516 s into the connection)",
            "the client's 5 retransmission(s) got no answer over 3.192 s",
            "doubling, the retransmission timer backing off",
            "until the capture ends",
        ],
        &["对端消失 (很可能)", "第25行", "5 次重传", "直到抓包结束"],
    );
    assert_eq!(e["side"], "server");
    assert_eq!(e["retransmissions"], 5);
    assert!(e.get("keepalives").is_none(), "{e}");
    assert_eq!(e["ended"], "capture_end");
    assert_eq!(e["retry_pattern"], "doubling");
    assert_eq!(e["frames"], json!([25, 28, 32, 33, 34, 35]));
    assert!(near(&e["last_seen_s"], 0.516, 0.001), "{e}");
    let gaps: Vec<f64> = e["intervals_s"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_f64().unwrap())
        .collect();
    assert_eq!(gaps.len(), 4);
    for w in gaps.windows(2) {
        assert!(w[1] > 1.5 * w[0], "{gaps:?}");
    }
}

#[test]
fn peer_vanished_keepalives_unanswered() {
    let e = check(
        "diagnosis/keepalive_vanished.pcap",
        "peer_vanished",
        "likely",
        &[
            "the server went silent after frame 6",
            "the client's 3 keep-alive(s) got no answer",
            "the keep-alive interval (TCP_KEEPINTVL)",
            "until the client gave up with a RST",
        ],
        &["3 个保活探测", "直到客户端用 RST 放弃"],
    );
    assert_eq!(e["side"], "server");
    assert_eq!(e["keepalives"], 3);
    assert!(e.get("retransmissions").is_none(), "{e}");
    assert_eq!(e["ended"], "reset");
    assert_eq!(e["retry_pattern"], "linear");
    // The server's last segment, the three keep-alives, the RST.
    assert_eq!(e["frames"], json!([6, 8, 9, 10, 11]));
}

#[test]
fn a_healthy_keepalive_is_not_a_vanished_peer() {
    // captures/keepalive.pcap: every keep-alive answered, then a close.
    let d = diagnosis("captures/keepalive.pcap");
    assert!(d.is_null(), "{d}");
}

#[test]
fn the_filter_selects_the_new_causes() {
    let files: Vec<_> = [
        "diagnosis/pmtu_black_hole.pcap",
        "diagnosis/zero_window_reset.pcap",
        "diagnosis/peer_vanished.pcap",
        "diagnosis/keepalive_vanished.pcap",
    ]
    .iter()
    .map(|f| testdata(f))
    .collect();
    for (cause, want) in [
        ("path-mtu-black-hole", 1),
        ("receiver_not_reading", 1),
        ("peer_vanished", 2),
    ] {
        let filter = format!("diagnosis {cause}");
        let out = analyze_output(&["--format", "jsonl", "--filter", &filter], &files);
        let n = String::from_utf8(out).unwrap().lines().count();
        assert_eq!(n, want, "{cause}");
    }
}
