//! Issue 13, agreement with tshark on real recordings (testdata/agree/,
//! testdata/tools/record-agree.sh): a segment of a 4-tuple whose connection
//! was already written (here 2.7 s after it was reset; also after the idle
//! timeout or an eviction) opens a new tcpstate connection without a SYN,
//! and is numbered on from the old connection's relative-number bases, as
//! tshark numbers it in the same stream (`tcp.seq`/`tcp.ack`), and its
//! sequence analysis goes on from the old one's (`tcp.analysis.*`).

use crate::common;
use common::*;

#[test]
fn a_segment_after_a_written_connection_keeps_its_relative_numbers() {
    let report = analyze_one("agree/reject_mid_s.pcap");
    assert_eq!(report.connections.len(), 2, "split after the 2 s linger");
    let (old, late) = (&report.connections[0], &report.connections[1]);
    assert_eq!(
        (
            &old.client.addr,
            old.client.port,
            &old.server.addr,
            old.server.port
        ),
        (
            &late.client.addr,
            late.client.port,
            &late.server.addr,
            late.server.port
        )
    );
    let old_packets = old.packets.as_ref().unwrap();
    let late_packets = late.packets.as_ref().unwrap();
    // The client's last segment of the old connection (its ACK before the
    // server's RST) and the client's FIN that opens the late one: the same
    // sequence and acknowledgement numbers, so the same relative ones.
    let last_client = old_packets
        .iter()
        .rev()
        .find(|p| p.dir == "c2s" && p.rel_ack.is_some())
        .unwrap();
    let fin = &late_packets[0];
    assert!(fin.flags.contains("FIN"), "{}", fin.flags);
    assert_eq!((fin.seq, fin.ack), (last_client.seq, last_client.ack));
    assert!(
        fin.rel_seq > 1,
        "numbered from the old ISN, not as a new base"
    );
    assert_eq!(
        (fin.rel_seq, fin.rel_ack),
        (last_client.rel_seq, last_client.rel_ack)
    );
    // The server's RSTs answering the late FINs: numbered from the
    // server's ISN too, at the sequence number it had reached.
    let rst = &late_packets[1];
    assert_eq!(rst.dir, "s2c");
    assert!(rst.flags.contains("RST"), "{}", rst.flags);
    assert_eq!(Some(rst.rel_seq), fin.rel_ack);
}

#[test]
fn a_syn_after_a_written_connection_starts_its_own_numbering() {
    // reuse_s.pcap: five connections of one 4-tuple, each opened by a SYN:
    // each numbers from its own ISN (seq 0 on its SYN), as tshark's streams.
    let report = analyze_one("agree/reuse_s.pcap");
    assert_eq!(report.connections.len(), 5);
    for c in &report.connections {
        let first = &c.packets.as_ref().unwrap()[0];
        assert!(first.flags.starts_with("SYN"), "{}", first.flags);
        assert_eq!(first.rel_seq, 0, "connection {}", c.id);
    }
}

#[test]
fn keep_alives_after_the_idle_timeout_are_still_keep_alives() {
    // keepalive_idle_split.pcap: keepalive_s.pcap with frames 8-16 (the
    // keep-alives, their ACKs and the close) 400 s later (tools/retime.py).
    let report = analyze_one("agree/keepalive_idle_split.pcap");
    assert_eq!(report.connections.len(), 2);
    assert_eq!(report.connections[0].ended_by, "idle_timeout");
    let old = report.connections[0].packets.as_ref().unwrap();
    let late = report.connections[1].packets.as_ref().unwrap();
    // Frame 8: the client's keep-alive, one byte below what it sent last.
    let last_client = old.iter().rev().find(|p| p.dir == "c2s").unwrap();
    assert_eq!(late[0].frame, 8);
    assert_eq!(late[0].rel_seq + 1, last_client.rel_seq + last_client.len);
    assert_eq!(late[0].analysis, ["keep_alive"]);
    // Frame 9, the server's ACK of it: nothing unseen is acknowledged, and
    // the window, scaled as the handshake of the old connection said, has
    // not changed.
    assert_eq!(late[1].analysis, ["keep_alive_ack"]);
}
