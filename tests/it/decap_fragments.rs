//! IP fragment reassembly: a segment split into fragments is analyzed once,
//! at the frame of the fragment that completes it (as tshark does), in
//! bounded memory; inconsistent fragments are a skip reason.

use crate::common;
use common::*;

fn packet(c: &Connection, frame: u64) -> &Packet {
    c.packets
        .as_ref()
        .unwrap()
        .iter()
        .find(|p| p.frame == frame)
        .unwrap_or_else(|| panic!("no segment at frame {frame}"))
}

#[test]
fn a_fragmented_syn_and_a_request_in_three_fragments() {
    let r = analyze_one("tunnels/fragments_ipv4.pcap");
    assert_eq!(r.connections.len(), 1);
    let c = &r.connections[0];
    assert_eq!(c.handshake.status, "complete");
    assert_eq!(c.teardown.status, "graceful");
    // The SYN's two fragments are frames 1 and 2: it is analyzed at frame 2.
    assert_eq!(c.handshake.frames.syn, Some(2));
    assert_eq!(packet(c, 2).flags, "SYN");
    // The request's three fragments are frames 5, 6, 7.
    let req = packet(c, 7);
    assert_eq!((req.rel_seq, req.len), (1, 26));
    assert_eq!(c.packets.as_ref().unwrap().len(), 11);
    assert_eq!(r.captures[0].skipped.get("ip_fragment"), Some(&3));
    assert_eq!(r.captures[0].tcp_segments, 11);
}

#[test]
fn ipv6_fragments_out_of_order_and_fragmented_tunnels() {
    let c = only_connection("tunnels/fragments_ipv6.pcap");
    assert_eq!(c.handshake.status, "complete");
    // Fragments of the request in reverse order: complete at the first one sent.
    assert_eq!(packet(&c, 7).len, 26);
    let c = only_connection("tunnels/gre_fragmented.pcap");
    assert_eq!(c.encapsulation, ["gre 192.0.2.1→192.0.2.2"]);
    assert_eq!(packet(&c, 5).len, 26);
    assert_eq!(packet(&c, 8).len, 38);
}

/// An Ethernet frame holding one IPv4 fragment of a TCP datagram.
fn fragment(id: u16, offset: u16, more: bool, data: &[u8]) -> Vec<u8> {
    let mut ip = etherparse::Ipv4Header::new(
        data.len() as u16,
        64,
        etherparse::IpNumber::TCP,
        [10, 0, 0, 1],
        [10, 0, 0, 2],
    )
    .unwrap();
    ip.identification = id;
    ip.more_fragments = more;
    ip.fragment_offset = etherparse::IpFragOffset::try_new(offset / 8).unwrap();
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0];
    ip.write(&mut f).unwrap();
    f.extend_from_slice(data);
    f
}

fn run_frames(frames: &[Vec<u8>]) -> (Report, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.pcap");
    write_pcap(&path, frames);
    let out = tcpstate()
        .args(["analyze", "--format", "json", "--fail-on", "never"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    (
        document(&out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn a_flood_of_never_completed_fragments_is_bounded_and_reported() {
    // 5000 datagrams whose first fragment never comes.
    let frames: Vec<Vec<u8>> = (0..5000u16)
        .map(|id| fragment(id, 8, true, &[0; 8]))
        .collect();
    let (r, stderr) = run_frames(&frames);
    let skipped = &r.captures[0].skipped;
    assert_eq!(skipped.get("ip_fragment"), Some(&1024));
    assert_eq!(skipped.get("ip_fragment_limit"), Some(&(5000 - 1024)));
    // No TCP came through: the verdict says so, naming the reasons.
    let text = &r.summary.verdict.text;
    assert!(text.starts_with("NO TCP: 5000 frames read"), "{text}");
    assert!(text.contains("ip_fragment_limit 3976"), "{text}");
    assert!(stderr.contains("ip_fragment_limit 3976"), "{stderr}");
}

#[test]
fn overlapping_fragments_are_a_skip_reason_not_a_merge() {
    let syn = syn_frame([10, 0, 0, 1], 40000, 7);
    let tcp = &syn[34..];
    let frames = vec![
        fragment(9, 0, true, &tcp[..16]),
        // Overlaps the first with other bytes.
        fragment(9, 8, false, &[0xff; 12]),
        fragment(9, 16, false, &tcp[16..]),
    ];
    let (r, _) = run_frames(&frames);
    let skipped = &r.captures[0].skipped;
    assert_eq!(skipped.get("ip_fragment_inconsistent"), Some(&1));
    assert_eq!(skipped.get("ip_fragment"), Some(&2));
    assert!(r.connections.is_empty());
}
