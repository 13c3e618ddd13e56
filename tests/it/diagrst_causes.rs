//! Resets told apart by their IP headers (docs/diagnosis.md): a RST
//! injected by a router on the path (`reset_by_middlebox`), a firewall's
//! `reject with tcp reset` against a closed port (`refused`, `firewall`),
//! a real one-way capture of an asymmetric route (`capture_problem`), each
//! in the table (en, zh) and the JSON; and the diagnosis line in every
//! teaching view and the HTML report, for diagnosed connections only.

use crate::common::{self, analyze_output, tcpstate, testdata};
use serde_json::{json, Value};
use std::path::Path;

const FIREWALL: &str = "diagnosis/refused_firewall.pcap";
const INJECTED: &str = "diagnosis/injected_rst.pcap";
const RACE: &str = "diagnosis/injected_rst_race.pcap";
const HANDSHAKE_RACE: &str = "diagnosis/handshake_rst_race.pcap";
const FAST: &str = "diagnosis/injected_rst_fast.pcap";
const FAST_CLIENT: &str = "diagnosis/injected_rst_fast_client.pcap";
const ASYMMETRIC: &str = "diagnosis/asymmetric.pcap";

/// The JSON document of `file`, validated against the shipped schema.
fn json(file: &Path) -> Value {
    common::document(analyze_output(&["--format", "json"], &[file])).expect("valid tcpstate/1")
}

fn diagnoses(file: &Path) -> Vec<Value> {
    let doc = json(file);
    doc["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["diagnosis"].clone())
        .collect()
}

/// The output of `tcpstate analyze ARGS FILE`.
fn run(args: &[&str], file: &Path) -> String {
    String::from_utf8(analyze_output(args, &[file])).unwrap()
}

/// The table's `diagnosis:` line of connection `id`.
fn table_line(file: &Path, lang: &str, id: u64) -> String {
    let t = run(&["--lang", lang], file);
    let prefix = format!("  #{id} diagnosis: ");
    t.lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no diagnosis line for #{id}:\n{t}"))
        .to_string()
}

fn has_all(line: &str, words: &[&str]) {
    for w in words {
        assert!(line.contains(w), "{w:?} not in {line:?}");
    }
}

#[test]
fn a_firewall_reset_is_told_from_a_closed_port_by_its_ttl() {
    let file = testdata(FIREWALL);
    let d = diagnoses(&file);
    assert_eq!(d.len(), 3);
    // The open port: a healthy connection, which gives the server's TTL.
    assert!(d[0].is_null(), "{}", d[0]);
    // The closed port: the server's kernel answered, with its TTL.
    assert_eq!(d[1]["cause"], "refused");
    assert_eq!(d[1]["confidence"], "certain");
    let e = &d[1]["evidence"];
    assert_eq!(e["port"], 5556);
    assert_eq!(e["frames"], json!([11, 12]));
    assert_eq!(
        (&e["rst_ttl"], &e["ttl_range"], &e["firewall"]),
        (&json!(63), &json!([63, 63]), &json!(false))
    );
    // The router's reject: one hop nearer, TTL 64.
    assert_eq!(d[2]["cause"], "refused");
    let e = &d[2]["evidence"];
    assert_eq!(e["port"], 5557);
    assert_eq!(
        (&e["rst_ttl"], &e["ttl_range"], &e["firewall"]),
        (&json!(64), &json!([63, 63]), &json!(true))
    );
    let text = d[2]["text"].as_str().unwrap();
    has_all(
        text,
        &["TTL 64", "not the TTL 63", "a firewall on the path"],
    );
    let en = table_line(&file, "en", 2);
    has_all(
        &en,
        &[
            "refused (certain)",
            "nothing listens on port 5556",
            "TTL 63",
        ],
    );
    assert!(!en.contains("firewall"), "{en}");
    let en = table_line(&file, "en", 3);
    has_all(&en, &["refused (certain)", "TTL 64", "firewall", "5557"]);
    assert!(en.ends_with(text), "{en}");
    let zh = table_line(&file, "zh", 3);
    has_all(&zh, &["连接被拒绝 (确定)", "TTL 为 64", "防火墙", "5557"]);
    let zh = table_line(&file, "zh", 2);
    has_all(&zh, &["没有程序监听", "TTL 63"]);
}

#[test]
fn a_refused_connection_alone_cannot_name_the_firewall() {
    // No SYN-ACK of that server earlier in the capture: nothing to compare
    // the RST's TTL with, so no `firewall`, and the sentence says both.
    let d = diagnoses(&testdata("captures/refused.pcap"));
    let e = &d[0]["evidence"];
    assert_eq!(d[0]["cause"], "refused");
    assert!(e["rst_ttl"].is_u64(), "{e}");
    assert!(
        e.get("firewall").is_none() && e.get("ttl_range").is_none(),
        "{e}"
    );
    assert!(
        d[0]["text"]
            .as_str()
            .unwrap()
            .ends_with("or a firewall rejects with a reset"),
        "{}",
        d[0]
    );
    // The closed port of the capture, read alone (`--conn` chooses what is
    // reported, not what the table sees): still compared.
    let doc: Value = common::document(analyze_output(
        &["--format", "json", "--conn", "2"],
        &[testdata(FIREWALL)],
    ))
    .unwrap();
    assert_eq!(
        doc["connections"][0]["diagnosis"]["evidence"]["firewall"],
        false
    );
}

/// The one diagnosis of a capture of `record-diagrst.sh`'s injections: a
/// RST "from the server" (frame 8) whose server (TTL 63) went on sending
/// (frame 9, at the RST's sequence number).
fn injected_diagnosis(file: &Path) -> Value {
    let d = diagnoses(file);
    assert_eq!(d.len(), 1);
    let d = d[0].clone();
    assert_eq!(d["cause"], "reset_by_middlebox", "{d}");
    assert_eq!(d["confidence"], "likely");
    let e = &d["evidence"];
    assert_eq!(e["frames"], json!([8, 9]));
    assert_eq!(e["side"], "server");
    assert_eq!(e["ttl_range"], json!([63, 63]));
    let race = e["race_s"].as_f64().unwrap();
    assert!(race > 0.0 && race < 0.3, "{e}");
    d
}

#[test]
fn an_injected_reset_does_not_match_its_claimed_sender() {
    let file = testdata(INJECTED);
    let d = &injected_diagnosis(&file);
    let e = &d["evidence"];
    assert_eq!(e["rst_ttl"], 47);
    assert_eq!(e["rst_ip_id"], 0x3039);
    assert_eq!(e["last_ip_id"], 0x6ed8);
    assert_eq!(e["ip_ids_increase"], true);
    assert_eq!(
        (&e["client_bytes"], &e["server_bytes"]),
        (&json!(6), &json!(800))
    );
    let en = table_line(&file, "en", 1);
    has_all(
        &en,
        &[
            "reset by a middlebox (likely)",
            "from the server (frame 8)",
            "TTL 47 against 63",
            "IP ID 0x3039 against a counter at 0x6ed8",
            "the server's own data followed it",
            "(frame 9)",
            "injected",
        ],
    );
    assert!(en.ends_with(d["text"].as_str().unwrap()), "{en}");
    let zh = table_line(&file, "zh", 1);
    has_all(
        &zh,
        &[
            "被中间设备复位 (很可能)",
            "服务器",
            "第8行",
            "TTL 47",
            "0x3039",
            "伪造",
        ],
    );
}

#[test]
fn real_resets_are_not_called_forged() {
    // Linux RSTs from the socket (its TTL, its ID counter) and from the
    // control socket (ID 0) stay application aborts. A real RST ends its
    // side's sending: a segment of that side's that arrives after it is
    // older (below the RST's sequence number), or there is none: no race.
    for file in ["captures/rst_abort.pcap", "captures/server_rst.pcap"] {
        let d = diagnoses(&testdata(file));
        assert_eq!(d[0]["cause"], "application_abort", "{file}: {}", d[0]);
        assert!(d[0]["evidence"].get("race_s").is_none(), "{file}: {}", d[0]);
    }
}

#[test]
fn a_reset_raced_by_its_claimed_senders_data_is_injected() {
    // The forged RST (frame 8) has the server's TTL (63) and IP ID 0, as
    // Linux's own RSTs: only the server's next chunk (frame 9, at the
    // RST's sequence number) shows that the server never reset.
    let file = testdata(RACE);
    let d = &injected_diagnosis(&file);
    let e = &d["evidence"];
    assert_eq!(e["rst_ttl"], 63);
    assert_eq!(e["rst_ip_id"], 0);
    let en = table_line(&file, "en", 1);
    has_all(
        &en,
        &[
            "reset by a middlebox (likely)",
            "from the server (frame 8)",
            "by the server's own data (frame 9)",
            "the server never reset the connection",
        ],
    );
    assert!(!en.contains("TTL"), "{en}");
    assert!(en.ends_with(d["text"].as_str().unwrap()), "{en}");
    let zh = table_line(&file, "zh", 1);
    has_all(
        &zh,
        &[
            "被中间设备复位 (很可能)",
            "第8行",
            "第9行",
            "并没有复位连接",
            "伪造",
        ],
    );
}

#[test]
fn a_refusal_the_server_then_answers_was_injected() {
    // The router answered the SYN with a RST/ACK "from the server" (frame
    // 2, the server's TTL, IP ID 0) and held back the server's SYN-ACK; the
    // server's SYN-ACK again (frame 3) shows it was listening.
    let file = testdata(HANDSHAKE_RACE);
    let d = diagnoses(&file);
    assert_eq!(d.len(), 1);
    let d = &d[0];
    assert_eq!(d["cause"], "reset_by_middlebox", "{d}");
    assert_eq!(d["confidence"], "likely");
    let e = &d["evidence"];
    assert_eq!(e["frames"], json!([2, 3]));
    assert_eq!(e["side"], "server");
    assert_eq!(e["state"], "SYN-SENT");
    assert_eq!(e["port"], 5555);
    let race = e["race_s"].as_f64().unwrap();
    assert!((0.9..1.1).contains(&race), "{e}");
    let en = table_line(&file, "en", 1);
    has_all(
        &en,
        &[
            "reset by a middlebox (likely)",
            "(frame 2) refused the connection",
            "a SYN-ACK",
            "(frame 3)",
            "it was listening",
        ],
    );
    assert!(en.ends_with(d["text"].as_str().unwrap()), "{en}");
    let zh = table_line(&file, "zh", 1);
    has_all(
        &zh,
        &["被中间设备复位 (很可能)", "第2行", "第3行", "确实在监听"],
    );
    // A refusal the server never takes back stays a refusal.
    let d = diagnoses(&testdata(FIREWALL));
    let causes: Vec<_> = d.iter().map(|d| &d["cause"]).collect();
    assert_eq!(causes, [&Value::Null, &json!("refused"), &json!("refused")]);
}

/// The one diagnosis of a capture of `record-diagrst.sh`'s relay: a RST
/// (frame `rst`) "from" `side` that acknowledged the other side's data
/// within 10 ms, against a handshake round trip of about 0.3 s, and that
/// nothing of `side`'s raced.
fn timed_diagnosis(file: &Path, rst: u64, side: &str) -> Value {
    let d = diagnoses(file);
    assert_eq!(d.len(), 1);
    let d = d[0].clone();
    assert_eq!(d["cause"], "reset_by_middlebox", "{d}");
    assert_eq!(d["confidence"], "likely");
    let e = &d["evidence"];
    assert_eq!((&e["frames"], &e["side"]), (&json!([rst]), &json!(side)));
    assert!(e.get("race_s").is_none(), "{e}");
    let answered = e["answered_s"].as_f64().unwrap();
    let rtt = e["rtt_s"].as_f64().unwrap();
    assert!(answered < 0.01 && (0.25..0.4).contains(&rtt), "{e}");
    d
}

#[test]
fn a_reset_sooner_than_its_sender_could_answer_was_injected() {
    // The router holds each frame 150 ms each way (the server answered the
    // SYN after 0.302 s) but answered the client's request (frame 4) at
    // once with a RST/ACK "from the server" (frame 5: the server's TTL, IP
    // ID 0) acknowledging it. Nothing the server sent follows with data.
    let file = testdata(FAST);
    let d = &timed_diagnosis(&file, 5, "server");
    let e = &d["evidence"];
    // The server's TTL; IP ID 0 (left out: the server's IDs are 0 too).
    assert_eq!(e["rst_ttl"], 63);
    assert!(e.get("rst_ip_id").is_none(), "{e}");
    let en = table_line(&file, "en", 1);
    has_all(
        &en,
        &[
            "reset by a middlebox (likely)",
            "from the server (frame 5) acknowledged the client's data",
            "less than half the 0.302",
            "cannot have received that data yet",
        ],
    );
    assert!(!en.contains("TTL"), "{en}");
    assert!(en.ends_with(d["text"].as_str().unwrap()), "{en}");
    let zh = table_line(&file, "zh", 1);
    has_all(
        &zh,
        &[
            "被中间设备复位 (很可能)",
            "第5行",
            "确认了客户端的数据",
            "伪造",
        ],
    );
}

#[test]
fn a_reset_sooner_than_the_client_could_answer_was_injected() {
    // Seen from the server: the client answered the SYN-ACK after 0.301 s
    // (a bare ACK, frame 3); a RST/ACK "from the client" (frame 7)
    // acknowledged the server's first chunk (frame 6) 0.17 ms after it.
    let file = testdata(FAST_CLIENT);
    timed_diagnosis(&file, 7, "client");
    let en = table_line(&file, "en", 1);
    has_all(
        &en,
        &[
            "from the client (frame 7) acknowledged the server's data",
            "the client took to answer in the handshake",
        ],
    );
    let zh = table_line(&file, "zh", 1);
    has_all(&zh, &["确认了服务器的数据", "握手时客户端应答"]);
}

/// `FAST` with its RST (frame 5) moved to `after_us` microseconds after the
/// client's request (frame 4).
fn rst_moved(dir: &Path, after_us: u32) -> std::path::PathBuf {
    let mut bytes = std::fs::read(testdata(FAST)).unwrap();
    let mut at = 24;
    let mut stamps = Vec::new();
    for _ in 0..5 {
        stamps.push(at);
        let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap());
        at += 16 + caplen as usize;
    }
    let word = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let request =
        u64::from(word(&bytes, stamps[3])) * 1_000_000 + u64::from(word(&bytes, stamps[3] + 4));
    let rst = request + u64::from(after_us);
    let (sec, usec) = ((rst / 1_000_000) as u32, (rst % 1_000_000) as u32);
    bytes[stamps[4]..stamps[4] + 4].copy_from_slice(&sec.to_le_bytes());
    bytes[stamps[4] + 4..stamps[4] + 8].copy_from_slice(&usec.to_le_bytes());
    let path = dir.join(format!("rst_after_{after_us}.pcap"));
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn half_the_handshake_round_trip_decides() {
    // The server took 0.302 s to answer the SYN: a RST acknowledging the
    // request less than half that after it cannot be the server's; one
    // later can (an application that reset on reading it).
    let dir = tempfile::tempdir().unwrap();
    for (after_us, want) in [
        (140_000, "reset_by_middlebox"),
        (160_000, "application_abort"),
        (290_000, "application_abort"),
    ] {
        let d = &diagnoses(&rst_moved(dir.path(), after_us))[0];
        assert_eq!(d["cause"], want, "RST {after_us} us after the request: {d}");
    }
}

/// `INJECTED` with the forged RST's (frame 8) TTL and IP ID replaced, cut
/// after it (the server's data that raced it is a sign of its own).
fn forged(dir: &Path, ttl: u8, ip_id: u16) -> std::path::PathBuf {
    let mut bytes = std::fs::read(testdata(INJECTED)).unwrap();
    // pcap: a 24-byte file header, then 16 bytes before each frame.
    let mut at = 24;
    for _ in 1..8 {
        let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap());
        at += 16 + caplen as usize;
    }
    let ip = at + 16 + 14;
    assert_eq!(bytes[ip + 8], 47, "frame 8 is the forged RST");
    bytes[ip + 4..ip + 6].copy_from_slice(&ip_id.to_be_bytes());
    bytes[ip + 8] = ttl;
    let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap());
    bytes.truncate(at + 16 + caplen as usize);
    let path = dir.join(format!("forged_{ttl}_{ip_id}.pcap"));
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn the_ttl_margin_and_the_id_counter_decide() {
    let dir = tempfile::tempdir().unwrap();
    // The server's packets: TTL 63, IP IDs counting up to 0x6ed8 before the
    // RST. The next ID is 0x6ed9.
    for (ttl, id, want) in [
        // One hop off, its counter: a route change, not a forgery.
        (62, 0x6ed9, "application_abort"),
        (64, 0x6ed9, "application_abort"),
        // Two hops off.
        (61, 0x6ed9, "reset_by_middlebox"),
        (65, 0x6ed9, "reset_by_middlebox"),
        // The right TTL but an ID off the counter (behind it, or far ahead).
        (63, 0x6ed8, "reset_by_middlebox"),
        (63, 0x6ed9 + 1024, "reset_by_middlebox"),
        (63, 0x6ed8 + 1024, "application_abort"),
        // ID 0: what Linux's control socket sends, so no evidence.
        (63, 0, "application_abort"),
    ] {
        let d = &diagnoses(&forged(dir.path(), ttl, id))[0];
        assert_eq!(d["cause"], want, "TTL {ttl}, ID {id:#x}: {d}");
    }
}

#[test]
fn a_real_asymmetric_route_is_a_capture_problem() {
    let d = diagnoses(&testdata(ASYMMETRIC));
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["cause"], "capture_problem");
    assert_eq!(d[0]["confidence"], "certain");
    assert_eq!(d[0]["evidence"]["side"], "server");
    assert_eq!(d[0]["evidence"]["client_bytes"], 6);
    let en = table_line(&testdata(ASYMMETRIC), "en", 1);
    has_all(&en, &["no packet from the server", "asymmetric routing"]);
}

/// The views and how each shows the line, per language.
const VIEWS: &[&[&str]] = &[
    &["--timeline"],
    &["--timeline", "--explain"],
    &["--format", "ladder"],
    &["--format", "mermaid"],
];

#[test]
fn every_teaching_view_shows_the_diagnosis_of_diagnosed_connections_only() {
    let file = testdata(FIREWALL);
    let texts: Vec<Value> = diagnoses(&file);
    for view in VIEWS {
        for (lang, label) in [("en", "diagnosis: "), ("zh", "诊断：")] {
            let args = [*view, &["--lang", lang, "--color", "never"]].concat();
            // Connection by connection: the healthy one has no line.
            for (id, d) in texts.iter().enumerate() {
                let id = (id + 1).to_string();
                let out = run(&[&args[..], &["--conn", &id]].concat(), &file);
                let lines: Vec<&str> = out.lines().filter(|l| l.contains(label)).collect();
                if d.is_null() {
                    assert!(lines.is_empty(), "{view:?} {lang} #{id}:\n{out}");
                    continue;
                }
                assert_eq!(lines.len(), 1, "{view:?} {lang} #{id}:\n{out}");
                let cause = if lang == "en" {
                    "refused (certain)"
                } else {
                    "连接被拒绝（确定）"
                };
                assert!(lines[0].contains(cause), "{view:?} {lang}: {}", lines[0]);
                // After the result.
                let result = out.find(if lang == "en" { "result:" } else { "结果：" });
                let line = out.find(label);
                assert!(result.is_some() && result < line, "{view:?} {lang}:\n{out}");
            }
        }
    }
    // The ladder wraps the line; its words are all there.
    let out = run(
        &["--format", "ladder", "--conn", "3", "--color", "never"],
        &file,
    );
    let at = out.find("diagnosis: refused").expect(&out);
    let joined: String = out[at..].split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        joined.contains(texts[2]["text"].as_str().unwrap()),
        "{joined}"
    );
    // Mermaid: a note across both lifelines, in the diagram.
    let out = run(&["--format", "mermaid", "--conn", "1"], &testdata(INJECTED));
    assert!(
        out.lines()
            .any(|l| l.starts_with("    Note over C,S: diagnosis: reset by a middlebox (likely)")),
        "{out}"
    );
    // A healthy capture: no line in any view.
    for view in VIEWS {
        let out = run(view, &testdata("captures/graceful_client_close.pcap"));
        assert!(!out.contains("diagnosis"), "{view:?}:\n{out}");
    }
}

#[test]
fn the_html_report_shows_the_diagnosis_in_each_detail() {
    let file = testdata(FIREWALL);
    for (lang, label) in [("en", "diagnosis: "), ("zh", "诊断：")] {
        let html = run(&["--format", "html", "--lang", lang], &file);
        let lines: Vec<&str> = html
            .lines()
            .filter(|l| l.starts_with("<p class=\"diagnosis\""))
            .collect();
        assert_eq!(lines.len(), 2, "{lang}: {lines:?}");
        for l in &lines {
            assert!(l.contains("data-cause=\"refused\""), "{l}");
            assert!(l.contains("data-confidence=\"certain\""), "{l}");
            assert!(l.contains(label), "{l}");
        }
        // The firewall's is connection 3's, after its result.
        let c3 = html.find("id=\"c3\"").unwrap();
        let d3 = c3 + html[c3..].find("<p class=\"diagnosis\"").unwrap();
        assert!(html[c3..d3].contains("<p class=\"result\">"));
        let word = if lang == "en" {
            "firewall"
        } else {
            "防火墙"
        };
        assert!(html[d3..].lines().next().unwrap().contains(word));
    }
    let html = run(
        &["--format", "html"],
        &testdata("captures/graceful_client_close.pcap"),
    );
    assert!(!html.contains("<p class=\"diagnosis\""));
}

#[test]
fn the_new_causes_filter_and_count_by_server() {
    let files = [testdata(FIREWALL), testdata(INJECTED)];
    let out = tcpstate()
        .args([
            "analyze",
            "--format",
            "json",
            "-f",
            "diagnosis reset-by-middlebox",
        ])
        .args(&files)
        .output()
        .unwrap();
    let doc: Value = common::document(out.stdout).unwrap();
    let conns = doc["connections"].as_array().unwrap();
    assert_eq!(conns.len(), 1);
    assert_eq!(conns[0]["diagnosis"]["cause"], "reset_by_middlebox");
    let doc: Value = common::document(analyze_output(&["--format", "json"], &files)).unwrap();
    assert_eq!(
        doc["summary"]["diagnosed_by_server"],
        json!([
            {"server": "10.96.2.1:5555", "connections": 2, "diagnosed": 1,
             "by_cause": {"reset_by_middlebox": 1}},
            {"server": "10.96.2.1:5556", "connections": 1, "diagnosed": 1,
             "by_cause": {"refused": 1}},
            {"server": "10.96.2.1:5557", "connections": 1, "diagnosed": 1,
             "by_cause": {"refused": 1}},
        ])
    );
}

#[test]
fn each_shard_compares_with_the_server_ttls_of_the_whole_capture() {
    // The open port's SYN-ACK may fall in another shard than the refused
    // connections: each shard still notes it, so the shards together say
    // what the whole run says.
    let file = testdata(FIREWALL);
    let whole: Vec<(u64, Value)> = firewall_by_port(&json(&file));
    let mut union = Vec::new();
    for k in 0..3 {
        let shard = format!("{k}/3");
        let doc: Value = common::document(analyze_output(
            &["--format", "json", "--shard", &shard],
            &[&file],
        ))
        .unwrap();
        union.extend(firewall_by_port(&doc));
    }
    union.sort_by_key(|(port, _)| *port);
    assert_eq!(union, whole);
    assert_eq!(whole.len(), 2);
}

/// The `firewall` evidence of each refused connection, by server port.
fn firewall_by_port(doc: &Value) -> Vec<(u64, Value)> {
    let mut out: Vec<(u64, Value)> = doc["connections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["diagnosis"]["cause"] == "refused")
        .map(|c| {
            let e = &c["diagnosis"]["evidence"];
            (e["port"].as_u64().unwrap(), e["firewall"].clone())
        })
        .collect();
    out.sort_by_key(|(port, _)| *port);
    out
}
