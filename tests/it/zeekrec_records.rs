//! Issue 13, Zeek's own records: one tcpstate connection (tshark's stream)
//! that Zeek's timers or a reused 4-tuple split into several conn.log
//! records, and payloads cut by the snaplen as content gaps. The captures
//! are made by testdata/tools/zeekrec-craft.py (testdata/README.md); the
//! expected values come from Zeek's source, cited per test
//! (`src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc`,
//! `src/analyzer/protocol/tcp/TCP_Reassembler.cc`, `TCP_Endpoint.cc`,
//! `scripts/base/init-bare.zeek` for the timer defaults).

use crate::common;
use common::*;
use serde_json::Value;

/// The conn.log rows of `--format zeek`, each split into its fields
/// (ts, uid, …, history at 15, …).
fn rows(rel: &str, args: &[&str]) -> Vec<Vec<String>> {
    let mut all = vec!["--format", "zeek"];
    all.extend_from_slice(args);
    let out = analyze_output(&all, &[testdata(rel)]);
    String::from_utf8(out)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// (uid, duration, conn_state, missed_bytes, history, orig_pkts, resp_pkts) of each row.
fn summary(rows: &[Vec<String>]) -> Vec<(String, String, String, String, String, String, String)> {
    rows.iter()
        .map(|r| {
            (
                r[1].clone(),
                r[8].clone(),
                r[11].clone(),
                r[14].clone(),
                r[15].clone(),
                r[16].clone(),
                r[18].clone(),
            )
        })
        .collect()
}

fn row(
    uid: &str,
    duration: &str,
    state: &str,
    missed: &str,
    history: &str,
    orig_pkts: u64,
    resp_pkts: u64,
) -> (String, String, String, String, String, String, String) {
    (
        uid.into(),
        duration.into(),
        state.into(),
        missed.into(),
        history.into(),
        orig_pkts.to_string(),
        resp_pkts.to_string(),
    )
}

/// The JSON document (validated against the schema).
fn json(rel: &str, args: &[&str]) -> Value {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    document(analyze_output(&all, &[testdata(rel)])).unwrap()
}

/// (record, first_frame, last_frame, conn_state, history) of each of the
/// connection's `zeek_records`.
fn records(c: &Value) -> Vec<(u64, u64, u64, String, String)> {
    c["zeek_records"]
        .as_array()
        .expect("zeek_records")
        .iter()
        .map(|r| {
            (
                r["record"].as_u64().unwrap(),
                r["first_frame"].as_u64().unwrap(),
                r["last_frame"].as_u64().unwrap(),
                r["conn_state"].as_str().unwrap().to_string(),
                r["history"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn rec(
    n: u64,
    first: u64,
    last: u64,
    state: &str,
    history: &str,
) -> (u64, u64, u64, String, String) {
    (n, first, last, state.into(), history.into())
}

/// tcp_attempt_delay (5 s) is armed by the originator's SYN
/// (`TCPSessionAdapter::UpdateInactiveState`); at 30 s `AttemptTimer` finds
/// the originator still in SYN_SENT (its ACK and data leave it there:
/// `UpdateSYN_SentState`) and the responder inactive, and removes the
/// connection: S0 `SAD`. The data at 30 s begins a new connection without
/// SYN (`D`), then the FIN with ACK (`F`: `update_history` records only the
/// FIN of a packet with one of SYN/FIN/RST): SH `DF`.
#[test]
fn the_attempt_timer_splits_a_one_direction_capture() {
    let rows = rows("crafted/one_direction_pause.pcap", &[]);
    assert_eq!(
        summary(&rows),
        [
            row("CT0000000000000001", "0.003000", "S0", "0", "SAD", 3, 0),
            row("CT0000000000000001r2", "0.001000", "SH", "0", "DF", 2, 0),
        ]
    );
    // Each row has its own ts, and its own bytes: 26 each.
    assert_eq!(rows[0][0], "1704067200.000000");
    assert_eq!(rows[1][0], "1704067230.000000");
    assert_eq!((rows[0][9].as_str(), rows[1][9].as_str()), ("26", "26"));

    let doc = json("crafted/one_direction_pause.pcap", &[]);
    let conns = doc["connections"].as_array().unwrap();
    assert_eq!(conns.len(), 1, "one tcpstate connection (tshark's stream)");
    let c = &conns[0];
    // The first record is the connection's own conn_state and history.
    assert_eq!(c["conn_state"], "S0");
    assert_eq!(c["history"], "SAD");
    assert_eq!(c["zeek"]["orig_pkts"], 3);
    assert_eq!(
        records(c),
        [rec(1, 1, 3, "S0", "SAD"), rec(2, 4, 5, "SH", "DF")]
    );
    assert_eq!(
        c["zeek_records"][1]["start_time"],
        "2024-01-01T00:00:30.000000000Z"
    );
    assert_eq!(doc["summary"]["by_conn_state"]["S0"], 1);
}

/// A SYN answered by RST-ACK: the RST closes the record
/// (`UpdateInactiveState`: `is_reject`, `ConnectionClosed`), and a SYN
/// once either side closed is a reuse (`TCPSessionAdapter::IsReuse`: the
/// `IsClosed()` branch returns true even with the same ISN): every re-sent
/// SYN is a record of its own, REJ `Sr`, while tcpstate (and tshark) keep
/// one stream.
#[test]
fn each_syn_resent_after_a_rst_is_a_record() {
    let rows = rows("crafted/zeek_rej_retry.pcap", &[]);
    assert_eq!(
        summary(&rows),
        [
            row("CT0000000000000001", "0.001000", "REJ", "0", "Sr", 1, 1),
            row("CT0000000000000001r2", "0.001000", "REJ", "0", "Sr", 1, 1),
            row("CT0000000000000001r3", "0.001000", "REJ", "0", "Sr", 1, 1),
        ]
    );
    let doc = json("crafted/zeek_rej_retry.pcap", &[]);
    let c = &doc["connections"][0];
    assert_eq!(doc["connections"].as_array().unwrap().len(), 1);
    assert_eq!(c["handshake"]["syn_count"], 3);
    assert_eq!(
        records(c),
        [
            rec(1, 1, 2, "REJ", "Sr"),
            rec(2, 3, 4, "REJ", "Sr"),
            rec(3, 5, 6, "REJ", "Sr")
        ]
    );
}

/// A RST from the client after the SYN-ACK closes the record at once
/// (`ConnectionClosed`: the endpoint is RESET, so the close is complete)
/// and arms `ConnDeleteTimer` at tcp_close_delay, 5 s. The ACK 6 s later
/// finds no connection: a new record, partial, `A` (OTH). Within the 5 s
/// (crafted/rst_from_syn_sent.pcap, the ACK 1 ms after the RST) it stays in
/// the record: RSTO `ShRA`, one row.
#[test]
fn a_packet_after_the_close_delay_begins_a_record() {
    assert_eq!(
        summary(&rows("crafted/zeek_rst_late_ack.pcap", &[])),
        [
            row("CT0000000000000001", "0.002000", "RSTO", "0", "ShR", 2, 1),
            row("CT0000000000000001r2", "-", "OTH", "0", "A", 1, 0),
        ]
    );
    assert_eq!(
        summary(&rows("crafted/rst_from_syn_sent.pcap", &[])),
        [row(
            "CT0000000000000001",
            "0.003000",
            "RSTO",
            "0",
            "ShRA",
            3,
            1
        )]
    );
    let doc = json("crafted/rst_from_syn_sent.pcap", &[]);
    assert!(doc["connections"][0].get("zeek_records").is_none());
}

/// The FIN of an originator whose responder is inactive completes the
/// close (`ConnectionClosed`: `peer->state == TCP_ENDPOINT_INACTIVE`);
/// `ConnDeleteTimer` comes tcp_close_delay (5 s) after it, and a timer
/// fires once network time reaches it: the FIN re-sent 4 s later is in the
/// record, the one exactly 5 s later begins the next (SH `F`).
#[test]
fn the_close_delay_expires_at_exactly_its_value() {
    assert_eq!(
        summary(&rows("crafted/zeek_close_delay.pcap", &[])),
        [
            row("CT0000000000000001", "4.003000", "SH", "0", "SADF", 5, 0),
            row("CT0000000000000001r2", "-", "SH", "0", "F", 1, 0),
        ]
    );
}

/// A RST from an endpoint that sent its FIN while its peer is still open
/// (`UpdateClosedState`) arms `ResetTimer` at tcp_reset_delay (5 s). Zeek
/// does not check the RST against the window; tcpstate's own view ignores
/// it (RL007) and keeps one connection. The server's data 6 s later begins
/// a record of its own, flipped (`^`: the responder sent first).
#[test]
fn the_reset_delay_ends_the_record() {
    assert_eq!(
        summary(&rows("crafted/zeek_reset_delay.pcap", &[])),
        [
            row(
                "CT0000000000000001",
                "0.005000",
                "RSTO",
                "0",
                "ShAFaR",
                4,
                2
            ),
            row("CT0000000000000001r2", "0.001000", "OTH", "0", "^dR", 1, 1),
        ]
    );
    let doc = json("crafted/zeek_reset_delay.pcap", &[]);
    assert_eq!(doc["connections"].as_array().unwrap().len(), 1);
    assert!(doc["connections"][0].codes_contain("RL007"));
}

trait Codes {
    fn codes_contain(&self, code: &str) -> bool;
}

impl Codes for Value {
    fn codes_contain(&self, code: &str) -> bool {
        self["findings"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f["code"] == code))
    }
}

/// tcp_inactivity_timeout (5 min): `Connection::InactivityTimer` expires
/// the connection when `last_time + inactivity_timeout <= t`, so a gap of
/// 299.999 s keeps the record and a gap of exactly 300 s ends it. With
/// `--idle-timeout 0` tcpstate keeps one connection; with its default
/// (also 300 s) it ends its own connection there too.
#[test]
fn the_inactivity_timeout_expires_at_exactly_its_value() {
    let split = rows("crafted/zeek_inactivity.pcap", &["--idle-timeout", "0"]);
    assert_eq!(
        summary(&split),
        [
            row("CT0000000000000001", "300.002000", "S1", "0", "ShADa", 3, 2),
            row("CT0000000000000001r2", "0.004000", "SF", "0", "^dAFf", 3, 2),
        ]
    );
    let doc = json("crafted/zeek_inactivity.pcap", &["--idle-timeout", "0"]);
    let c = &doc["connections"][0];
    assert_eq!(
        records(c),
        [rec(1, 1, 5, "S1", "ShADa"), rec(2, 6, 10, "SF", "^dAFf")]
    );
    // The record's counters are its own: the response is in the second.
    assert_eq!(c["zeek_records"][0]["zeek"]["resp_bytes"], 0);
    assert_eq!(c["zeek_records"][1]["zeek"]["resp_bytes"], 38);
    assert_eq!(c["zeek"]["resp_bytes"], 0);
}

/// A payload the snaplen cut is never given to Zeek's reassembler
/// (`TCP_Endpoint::DataSent`: `caplen >= len` or Weird
/// `truncated_tcp_payload`); the peer's ACK past it trims the reassembler
/// (`TCP_Reassembler::AckReceived` → `Undelivered` → `Gap`), which records
/// `G`/`g` (`TCP_Endpoint::Gap`, both ends established) and `content_gap`
/// (conn.log `missed_bytes`). testdata/captures/snaplen54.pcap, a real
/// header-only recording: 26 request and 38 response bytes missed, while
/// tcpstate's own analysis sees a complete, clean connection.
#[test]
fn snaplen_cut_payloads_are_content_gaps_for_zeek() {
    assert_eq!(
        summary(&rows("captures/snaplen54.pcap", &[])),
        [row(
            "CT0000000000000001",
            "0.401009",
            "SF",
            "64",
            "ShADaGdgFf",
            6,
            5
        )]
    );
    let c = only_connection("captures/snaplen54.pcap");
    assert_eq!(c.history, "ShADaGdgFf");
    assert_eq!(c.teardown.status, "graceful");
    assert_eq!(c.handshake.status, "complete");
    assert!(
        !c.codes().iter().any(|code| code.starts_with("DT")),
        "tcpstate's own analysis treats the header-only capture as complete: {:?}",
        c.codes()
    );
}

/// The records of one connection are bounded: twenty refused SYNs would be
/// twenty Zeek records; the first 16 are kept, the 16th goes on to the
/// end of the connection, and the splits not made are counted.
#[test]
fn the_records_of_one_connection_are_bounded() {
    let rows = rows("crafted/zeek_rej_many.pcap", &[]);
    assert_eq!(rows.len(), 16);
    for (i, r) in rows.iter().enumerate().take(15) {
        let uid = if i == 0 {
            "CT0000000000000001".to_string()
        } else {
            format!("CT0000000000000001r{}", i + 1)
        };
        assert_eq!(
            (r[1].as_str(), r[11].as_str(), r[15].as_str()),
            (uid.as_str(), "REJ", "Sr")
        );
    }
    // The 16th holds the last five attempts: ten packets.
    assert_eq!(rows[15][1], "CT0000000000000001r16");
    assert_eq!((rows[15][16].as_str(), rows[15][18].as_str()), ("5", "5"));
    let doc = json("crafted/zeek_rej_many.pcap", &[]);
    let c = &doc["connections"][0];
    assert_eq!(c["zeek_records"].as_array().unwrap().len(), 16);
    assert_eq!(c["zeek_records_merged"], 4);
    assert_eq!(c["zeek_records"][15]["first_frame"], 31);
    assert_eq!(c["zeek_records"][15]["last_frame"], 40);
}
