//! Issue 13, connection lifecycle: each scenario's crafted capture
//! (testdata/crafted/, made by testdata/tools/lifecycle-craft.py) and what
//! tcpstate answers, as tshark and Zeek do (see testdata/README.md).

use crate::common;
use common::*;

fn frames(c: &Connection) -> Vec<u64> {
    c.packets
        .as_ref()
        .unwrap()
        .iter()
        .map(|p| p.frame)
        .collect()
}

fn packet(c: &Connection, frame: u64) -> &Packet {
    c.packets
        .as_ref()
        .unwrap()
        .iter()
        .find(|p| p.frame == frame)
        .unwrap()
}

/// 1. A SYN with a new ISN after a RST starts a new connection (tshark's
///    second stream), not a SYN retransmission with HS001 against the old ISN.
#[test]
fn a_new_syn_after_a_rst_starts_a_new_connection() {
    let r = analyze_one("crafted/syn_after_rst.pcap");
    assert_eq!(r.connections.len(), 2);
    let (old, new) = (&r.connections[0], &r.connections[1]);
    assert_eq!(frames(old), [1, 2, 3]);
    assert_eq!(old.ended_by, "reuse");
    assert_eq!(old.handshake.status, "incomplete");
    assert_eq!(old.teardown.status, "reset");
    assert_eq!(frames(new), (4..=13).collect::<Vec<_>>());
    assert_eq!(new.client.isn, Some(1_500_000));
    assert_eq!(new.handshake.status, "complete");
    assert_eq!(new.handshake.syn_count, 1);
    assert_eq!(new.teardown.status, "graceful");
    assert_eq!(packet(new, 4).rel_seq, 0);
    for c in [old, new] {
        assert!(
            !c.codes()
                .iter()
                .any(|code| ["HS001", "HS002", "HS003", "HS006"].contains(code)),
            "{:?}",
            c.codes()
        );
    }
    assert_eq!(r.summary.findings.error, 0);
}

/// 2. A RST from SYN-SENT at ISN + 1 gives the attempt up: the client is
///    CLOSED, and its later ACK does not complete the handshake.
#[test]
fn a_rst_from_syn_sent_closes_that_side() {
    let c = only_connection("crafted/rst_from_syn_sent.pcap");
    assert_eq!(c.handshake.status, "incomplete");
    assert_eq!(c.handshake.frames.ack, None);
    assert_eq!(c.teardown.status, "reset");
    assert_eq!(c.teardown.initiator.as_deref(), Some("client"));
    assert_eq!(c.client.states, strs(&["CLOSED", "SYN-SENT", "CLOSED"]));
    assert_eq!(c.client.final_state, "CLOSED");
    assert_eq!(packet(&c, 4).client_state, "CLOSED");
    assert_eq!(c.conn_state, "RSTO");
}

/// 3. A RST outside the receive window (RL007) changes no state: the
///    connection goes on to a graceful close.
#[test]
fn a_rst_outside_the_window_changes_nothing() {
    let c = only_connection("crafted/rst_out_of_window.pcap");
    assert!(c.codes().contains(&"RL007"));
    assert!(!c.codes().contains(&"RL006"));
    assert_eq!(packet(&c, 6).client_state, "ESTABLISHED");
    assert!(packet(&c, 6).transitions.is_empty());
    assert_eq!(c.teardown.status, "graceful");
    assert_eq!(c.teardown.initiator.as_deref(), Some("client"));
    assert_eq!(c.client.final_state, "TIME-WAIT");
    assert_eq!(c.server.final_state, "CLOSED");
    // Zeek does not check the window: its view keeps the RST.
    assert_eq!(c.conn_state, "RSTO");
}

/// 4. A RST after both FINs leaves Zeek's conn_state at SF.
#[test]
fn a_rst_after_both_fins_keeps_zeek_at_sf() {
    let c = only_connection("crafted/rst_after_fins.pcap");
    assert_eq!(c.conn_state, "SF");
    assert!(c.history.ends_with('R'), "{}", c.history);
}

/// 5a. The out-of-order threshold is the initial RTT from the SYN that was
///     answered (the retransmitted one) to the third ACK: 2 ms, so the
///     request sent again 10 ms later is a retransmission.
#[test]
fn the_initial_rtt_is_taken_from_the_last_syn() {
    let c = only_connection("crafted/syn_rtx_rtt.pcap");
    assert_eq!(packet(&c, 6).analysis, strs(&["retransmission"]));
}

/// 5b. A spurious retransmission is a retransmission too.
#[test]
fn a_spurious_retransmission_is_also_a_retransmission() {
    let c = only_connection("crafted/spurious_rtx.pcap");
    assert_eq!(
        packet(&c, 6).analysis,
        strs(&["retransmission", "spurious_retransmission"])
    );
}

/// 5c. An ACK inside a hole the capture missed is "ACKed unseen"; the ACK
///     of a captured FIN after it is not.
#[test]
fn an_ack_inside_a_hole_is_acked_unseen() {
    let c = only_connection("crafted/ack_in_hole.pcap");
    assert_eq!(packet(&c, 5).analysis, strs(&["lost_segment"]));
    assert_eq!(packet(&c, 6).analysis, strs(&["ack_lost_segment"]));
    assert!(packet(&c, 7).analysis.is_empty());
    assert!(packet(&c, 9).analysis.is_empty());
}

/// 5d. Data on a SYN sets completeness's data bit (tshark: 45).
#[test]
fn data_on_a_syn_sets_the_data_bit() {
    let c = only_connection("crafted/syn_data_refused.pcap");
    assert_eq!(c.completeness, 1 | 4 | 8 | 32);
    assert_eq!(c.handshake.status, "refused");
}

/// 7. A client that sent ACKs and data (a capture of one direction) is not
///    an unanswered attempt: the 30 s pause does not split it.
#[test]
fn the_attempt_timeout_ends_only_syns() {
    let r = analyze_one("crafted/one_direction_pause.pcap");
    assert_eq!(r.connections.len(), 1);
    assert_eq!(frames(&r.connections[0]), [1, 2, 3, 4, 5]);
    assert_eq!(r.connections[0].ended_by, "capture_end");
    // A bare SYN alone still is an attempt, given up after the timeout.
    let out = analyze_output(
        &["--format", "json", "--attempt-timeout", "1"],
        &[testdata("captures/syn_unanswered.pcap")],
    );
    let r: Report = document(&out).unwrap();
    assert!(r.connections.len() > 1, "{}", r.connections.len());
    assert!(r
        .connections
        .iter()
        .all(|c| c.handshake.status == "unanswered"));
}

/// 8. An IPv4 header whose option length runs past the header makes the
///    packet malformed: skipped under its own reason, not analyzed with
///    phantom sequence space; the connection goes on without it, and the
///    table names the reason.
#[test]
fn malformed_ipv4_options_skip_the_packet() {
    let r = analyze_one("crafted/ip_options_bad.pcap");
    let cap = &r.captures[0];
    assert_eq!((cap.frames, cap.tcp_segments), (10, 9));
    assert_eq!(cap.skipped.get("malformed_ip_options"), Some(&1));
    let c = &r.connections[0];
    assert_eq!(frames(c), [1, 2, 3, 5, 6, 7, 8, 9, 10]);
    assert_eq!(c.teardown.status, "graceful");
    assert!(
        c.finding("DT004").is_some(),
        "the server ACKs the unseen request"
    );
    let table = tcpstate()
        .args(["analyze", "--fail-on", "never"])
        .arg(testdata("crafted/ip_options_bad.pcap"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("skipped frames: malformed_ip_options 1"),
        "{text}"
    );
}
