//! One test per real capture in testdata/captures: the JSON the binary
//! prints for it — statuses, initiator, each side's state sequence and
//! relative numbers.

use crate::common;
use common::*;

const ACTIVE_OPEN_CLOSE: &[&str] = &[
    "CLOSED",
    "SYN-SENT",
    "ESTABLISHED",
    "FIN-WAIT-1",
    "FIN-WAIT-2",
    "TIME-WAIT",
];
const PASSIVE_OPEN_CLOSE: &[&str] = &[
    "LISTEN",
    "SYN-RECEIVED",
    "ESTABLISHED",
    "CLOSE-WAIT",
    "LAST-ACK",
    "CLOSED",
];
const ACTIVE_OPEN_PASSIVE_CLOSE: &[&str] = &[
    "CLOSED",
    "SYN-SENT",
    "ESTABLISHED",
    "CLOSE-WAIT",
    "LAST-ACK",
    "CLOSED",
];
const PASSIVE_OPEN_ACTIVE_CLOSE: &[&str] = &[
    "LISTEN",
    "SYN-RECEIVED",
    "ESTABLISHED",
    "FIN-WAIT-1",
    "FIN-WAIT-2",
    "TIME-WAIT",
];

#[track_caller]
fn assert_rel(c: &Connection, frame: u64, rel_seq: u32, rel_ack: Option<u32>) {
    let p = c
        .packets
        .as_ref()
        .unwrap()
        .iter()
        .find(|p| p.frame == frame)
        .expect("frame present");
    assert_eq!((p.rel_seq, p.rel_ack), (rel_seq, rel_ack), "frame {frame}");
}

#[track_caller]
fn assert_graceful(rel: &str, initiator: &str) -> Connection {
    let c = only_connection(rel);
    assert_eq!(c.handshake.status, "complete");
    assert_eq!(c.handshake.frames.syn, Some(1));
    assert_eq!(c.handshake.frames.syn_ack, Some(2));
    assert_eq!(c.teardown.status, "graceful");
    assert_eq!(c.teardown.initiator.as_deref(), Some(initiator));
    assert_eq!(c.roles_by, "syn");
    // The handshake in relative numbers: SYN 0; SYN-ACK 0/1; ACK 1/1.
    assert_rel(&c, 1, 0, None);
    assert_rel(&c, 2, 0, Some(1));
    c
}

#[test]
fn graceful_close_started_by_the_client() {
    let c = assert_graceful("captures/graceful_client_close.pcap", "client");
    assert_eq!(c.client.states, strs(ACTIVE_OPEN_CLOSE));
    assert_eq!(c.server.states, strs(PASSIVE_OPEN_CLOSE));
    assert_eq!(c.handshake.frames.ack, Some(3));
    assert!(c.handshake.rtt_s.total.unwrap() >= 0.0);
}

#[test]
fn graceful_close_started_by_the_server() {
    let c = assert_graceful("captures/graceful_server_close.pcap", "server");
    assert_eq!(c.client.states, strs(ACTIVE_OPEN_PASSIVE_CLOSE));
    assert_eq!(c.server.states, strs(PASSIVE_OPEN_ACTIVE_CLOSE));
}

#[test]
fn three_segment_close_goes_straight_to_time_wait() {
    let c = assert_graceful("captures/three_segment_close.pcap", "client");
    assert_eq!(
        c.client.states,
        strs(&[
            "CLOSED",
            "SYN-SENT",
            "ESTABLISHED",
            "FIN-WAIT-1",
            "TIME-WAIT"
        ])
    );
    assert_eq!(c.server.states, strs(PASSIVE_OPEN_CLOSE));
    // FIN, FIN+ACK, ACK: three frames in the release.
    assert_eq!(c.teardown.frames.len(), 3);
    let flags: Vec<&str> = c
        .packets
        .as_ref()
        .unwrap()
        .iter()
        .rev()
        .take(3)
        .map(|p| p.flags.as_str())
        .collect();
    assert_eq!(flags, ["ACK", "FIN,ACK", "FIN,ACK"]);
}

#[test]
fn half_close_keeps_data_flowing_after_the_first_fin() {
    let c = assert_graceful("captures/half_close_data.pcap", "client");
    assert_eq!(c.client.states, strs(ACTIVE_OPEN_CLOSE));
    assert_eq!(c.server.states, strs(PASSIVE_OPEN_CLOSE));
    let packets = c.packets.as_ref().unwrap();
    let client_fin = c.teardown.frames[0];
    let server_data_after_fin = packets
        .iter()
        .filter(|p| p.frame > client_fin && p.dir == "s2c" && p.len > 0)
        .count();
    assert!(
        server_data_after_fin >= 2,
        "server keeps sending after the client's FIN"
    );
    // While the server sends, the client sits in FIN-WAIT-2 and the server in CLOSE-WAIT.
    let during = packets
        .iter()
        .find(|p| p.frame > client_fin && p.dir == "s2c" && p.len > 0)
        .unwrap();
    assert_eq!(
        (during.client_state.as_str(), during.server_state.as_str()),
        ("FIN-WAIT-2", "CLOSE-WAIT")
    );
}

#[test]
fn refused_connection() {
    let c = only_connection("captures/refused.pcap");
    assert_eq!(c.handshake.status, "refused");
    assert_eq!(c.teardown.status, "none");
    assert_eq!(c.teardown.initiator, None);
    assert_eq!(c.client.states, strs(&["CLOSED", "SYN-SENT", "CLOSED"]));
    assert_eq!(
        c.server.states,
        strs(&["CLOSED"]),
        "a port that answers RST had no listener"
    );
    // RST,ACK acknowledges the SYN: relative ack 1. With no SYN from the
    // server its base is seq - 1, so tshark shows seq 1 too.
    assert_rel(&c, 2, 1, Some(1));
}

#[test]
fn rst_abort_by_the_client() {
    let c = only_connection("captures/rst_abort.pcap");
    assert_eq!(c.handshake.status, "complete");
    assert_eq!(c.teardown.status, "reset");
    assert_eq!(c.teardown.initiator.as_deref(), Some("client"));
    assert_eq!(c.client.final_state, "CLOSED");
    assert_eq!(c.server.final_state, "CLOSED");
    assert_eq!(
        c.server.states,
        strs(&["LISTEN", "SYN-RECEIVED", "ESTABLISHED", "CLOSED"])
    );
}

#[test]
fn rst_abort_by_the_server() {
    let c = only_connection("captures/server_rst.pcap");
    assert_eq!(c.teardown.status, "reset");
    assert_eq!(c.teardown.initiator.as_deref(), Some("server"));
    assert_eq!(
        c.client.states,
        strs(&["CLOSED", "SYN-SENT", "ESTABLISHED", "CLOSED"])
    );
}

#[test]
fn syns_with_no_answer() {
    let c = only_connection("captures/syn_unanswered.pcap");
    assert_eq!(c.handshake.status, "unanswered");
    assert!(c.handshake.syn_count >= 3, "the SYN is retransmitted");
    assert_eq!(c.server.packets, 0);
    assert_eq!(c.client.states, strs(&["CLOSED", "SYN-SENT"]));
    assert_eq!(c.teardown.status, "none");
    // Retransmitted SYNs keep relative seq 0.
    for p in c.packets.as_ref().unwrap() {
        assert_eq!((p.flags.as_str(), p.rel_seq), ("SYN", 0));
    }
}

#[test]
fn lost_syn_ack_is_retransmitted_and_the_connection_completes() {
    let c = only_connection("captures/lost_synack.pcap");
    assert_eq!(c.handshake.status, "complete");
    assert!(c.handshake.syn_ack_count >= 2, "SYN-ACK retransmitted");
    // The client never got the first SYN-ACK: it stays in SYN-SENT until it acknowledges one.
    assert_eq!(c.client.states, strs(ACTIVE_OPEN_CLOSE));
    let packets = c.packets.as_ref().unwrap();
    let first_syn_ack = c.handshake.frames.syn_ack.unwrap();
    let hs_ack = c.handshake.frames.ack.unwrap();
    for p in packets
        .iter()
        .filter(|p| p.frame >= first_syn_ack && p.frame < hs_ack)
    {
        assert_eq!(p.client_state, "SYN-SENT", "frame {}", p.frame);
    }
}

#[test]
fn simultaneous_open_passes_both_sides_through_syn_received() {
    let c = only_connection("captures/simultaneous_open.pcap");
    assert_eq!(c.handshake.status, "simultaneous");
    let open = strs(&["CLOSED", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED"]);
    assert_eq!(c.client.states[..4], open[..]);
    assert_eq!(c.server.states[..4], open[..]);
}

#[test]
fn simultaneous_close_passes_both_sides_through_closing() {
    let c = only_connection("captures/simultaneous_close.pcap");
    assert_eq!(c.teardown.status, "simultaneous");
    assert_eq!(c.teardown.initiator.as_deref(), Some("both"));
    let close = strs(&["FIN-WAIT-1", "CLOSING", "TIME-WAIT"]);
    assert_eq!(c.client.states[3..], close[..]);
    assert_eq!(c.server.states[3..], close[..]);
}

#[test]
fn port_reuse_starts_a_second_connection() {
    let r = analyze_one("captures/port_reuse.pcap");
    assert_eq!(r.connections.len(), 2);
    let (a, b) = (&r.connections[0], &r.connections[1]);
    assert_eq!((a.id, b.id), (1, 2));
    assert_eq!(
        (&a.client.addr, a.client.port),
        (&b.client.addr, b.client.port)
    );
    assert_eq!(a.server.port, b.server.port);
    assert_ne!(a.client.isn, b.client.isn);
    assert!(a.last_frame < b.first_frame);
    for c in &r.connections {
        assert_eq!(c.handshake.status, "complete");
        assert_eq!(c.teardown.status, "graceful");
        assert_rel(c, c.first_frame, 0, None);
    }
}

#[test]
fn capture_begun_mid_connection() {
    let c = only_connection("captures/mid_connection.pcap");
    assert_eq!(c.handshake.status, "missing");
    assert_eq!(c.client.isn, None);
    assert_eq!(c.server.isn, None);
    assert_eq!(c.client.states[0], "ESTABLISHED");
    assert_eq!(c.server.states[0], "ESTABLISHED");
    assert_eq!(c.teardown.status, "graceful");
    // Without a SYN the first segment of each direction shows seq 1.
    let packets = c.packets.as_ref().unwrap();
    let first_c2s = packets.iter().find(|p| p.dir == "c2s").unwrap();
    let first_s2c = packets.iter().find(|p| p.dir == "s2c").unwrap();
    assert_eq!(first_c2s.rel_seq, 1);
    assert_eq!(first_s2c.rel_seq, 1);
}

#[test]
fn connection_still_open_at_the_end() {
    let c = only_connection("captures/still_open.pcap");
    assert_eq!(c.handshake.status, "complete");
    assert_eq!(c.teardown.status, "none");
    assert_eq!(c.client.final_state, "ESTABLISHED");
    assert_eq!(c.server.final_state, "ESTABLISHED");
}

#[test]
fn ipv6_connection() {
    let c = assert_graceful("captures/ipv6.pcap", "client");
    assert!(c.client.addr.contains(':'));
}

#[test]
fn pcapng_capture() {
    let r = analyze_one("captures/pcapng_graceful.pcapng");
    assert_eq!(r.captures[0].format, "pcapng");
    assert_eq!(r.connections.len(), 1);
    assert_eq!(r.connections[0].teardown.status, "graceful");
}

#[test]
fn linux_cooked_v2_capture() {
    let r = analyze_one("captures/sll2_any.pcap");
    assert_eq!(r.captures[0].link_types, ["LINUX_SLL2"]);
    assert_eq!(r.connections.len(), 1);
    assert_eq!(r.connections[0].handshake.status, "complete");
    assert_eq!(r.connections[0].teardown.status, "graceful");
}

#[test]
fn vlan_tagged_captures() {
    for rel in ["captures/vlan_8021q.pcap", "captures/vlan_qinq.pcap"] {
        let r = analyze_one(rel);
        assert_eq!(r.captures[0].skipped_total(), 0, "{rel}");
        assert_eq!(r.connections.len(), 1, "{rel}");
        assert_eq!(r.connections[0].handshake.status, "complete", "{rel}");
        assert_eq!(r.connections[0].teardown.status, "graceful", "{rel}");
    }
}

#[test]
fn non_tcp_frames_are_counted_by_reason() {
    let r = analyze_one("captures/mixed_nontcp.pcap");
    let cap = &r.captures[0];
    assert!(cap.frames > cap.tcp_segments);
    assert_eq!(cap.frames - cap.tcp_segments, cap.skipped_total());
    assert!(
        cap.skipped.get("not_tcp").copied().unwrap_or(0) > 0,
        "{:?}",
        cap.skipped
    );
    assert!(
        cap.skipped.get("ip_fragment").copied().unwrap_or(0) > 0,
        "{:?}",
        cap.skipped
    );
}

impl Capture {
    fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }
}

#[test]
fn many_retransmissions_do_not_disturb_the_state_machines() {
    let c = assert_graceful("captures/many_retrans.pcap", "client");
    assert_eq!(c.client.states, strs(ACTIVE_OPEN_CLOSE));
    assert_eq!(c.server.states, strs(PASSIVE_OPEN_CLOSE));
    let packets = c.packets.as_ref().unwrap();
    // The same data segment sent more than ten times.
    let resent = packets
        .iter()
        .filter(|p| p.dir == "c2s" && p.len > 0 && p.rel_seq == 1)
        .count();
    assert!(resent > 10, "{resent}");
    // Payload bytes count every transmission, as sent.
    let sent: u64 = packets
        .iter()
        .filter(|p| p.dir == "c2s")
        .map(|p| u64::from(p.len))
        .sum();
    assert_eq!(c.client.payload_bytes, sent);
    // The FIN was retransmitted too; the release is still the first FIN and its ACK.
    assert_eq!(
        packets
            .iter()
            .filter(|p| p.dir == "c2s" && p.flags.contains("FIN"))
            .count(),
        2
    );
}
