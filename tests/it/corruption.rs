//! One test per kind of corruption: the binary names what is wrong and
//! where, and still reports everything that could be read.

use crate::common;
use common::pcapmut::{put_u32, Layout};
use common::*;

/// Runs `analyze --format json` on bytes; returns (exit code, stderr, report).
fn run(bytes: &[u8], name: &str) -> (i32, String, Report) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let out = tcpstate()
        .args(["analyze", "--format", "json", "--fail-on", "never"])
        .arg(&path)
        .output()
        .unwrap();
    let report = document(&out.stdout).expect("a report even for a damaged file");
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        report,
    )
}

fn original(rel: &str) -> (Vec<u8>, Layout) {
    let bytes = std::fs::read(testdata(rel)).unwrap();
    let layout = Layout::parse(&bytes).unwrap();
    (bytes, layout)
}

const GCC: &str = "captures/graceful_client_close.pcap";

/// The first five frames of GCC hold the handshake and the request.
#[track_caller]
fn assert_first_five_frames_analyzed(r: &Report) {
    assert_eq!(r.captures[0].frames, 5);
    assert_eq!(r.connections.len(), 1);
    assert_eq!(r.connections[0].handshake.status, "complete");
    assert_eq!(r.connections[0].last_frame, 5);
}

#[test]
fn truncated_inside_a_record_header() {
    let (b, l) = original(GCC);
    let sixth = l.units[5].offset;
    let (code, err, r) = run(&b[..sixth + 10], "cut-header.pcap");
    assert_eq!(code, 0);
    assert!(err.contains(&format!("cut-header.pcap: reading stopped at byte offset {sixth} (frame 6): the file ends inside a record")), "{err}");
    assert!(r.captures[0].truncated);
    assert_first_five_frames_analyzed(&r);
}

#[test]
fn truncated_inside_record_data() {
    let (b, l) = original(GCC);
    let sixth = l.units[5];
    let (code, err, r) = run(&b[..sixth.offset + 16 + 20], "cut-data.pcap");
    assert_eq!(code, 0);
    assert!(
        err.contains(&format!("byte offset {} (frame 6)", sixth.offset)),
        "{err}"
    );
    assert_eq!(
        r.captures[0].stopped.as_ref().unwrap().offset,
        sixth.offset as u64
    );
    assert_first_five_frames_analyzed(&r);
}

#[test]
fn huge_record_length() {
    let (mut b, l) = original(GCC);
    put_u32(&mut b, l.units[5].offset + 8, false, u32::MAX);
    let (code, err, r) = run(&b, "huge.pcap");
    assert_eq!(code, 0);
    assert!(
        err.contains("claims 4294967295 bytes") && err.contains("corrupt length field"),
        "{err}"
    );
    let stop = r.captures[0].stopped.as_ref().unwrap();
    assert!(!stop.truncated && !r.captures[0].truncated);
    assert_eq!((stop.offset, stop.frame), (l.units[5].offset as u64, 6));
    assert_first_five_frames_analyzed(&r);
}

#[test]
fn record_length_too_small_desynchronises_and_is_reported() {
    let (mut b, l) = original(GCC);
    put_u32(&mut b, l.units[5].offset + 8, false, 10);
    let (code, err, r) = run(&b, "short.pcap");
    assert_eq!(code, 0);
    let cap = &r.captures[0];
    // The 10-byte record is too short for Ethernet; what follows is garbage.
    assert_eq!(
        cap.skipped.get("truncated_link_header"),
        Some(&1),
        "{:?}",
        cap.skipped
    );
    assert!(cap.stopped.is_some(), "reading stops at the garbage: {err}");
    assert!(
        err.contains("short.pcap: reading stopped at byte offset"),
        "{err}"
    );
    assert_eq!(r.connections[0].handshake.status, "complete");
}

#[test]
fn pcapng_block_length_corrupt() {
    let (mut b, l) = original("variants/gcc.pcapng");
    let epbs = l.packets();
    let sixth = epbs[5];
    put_u32(&mut b, sixth.offset + 4, l.big_endian, 13);
    let (code, err, r) = run(&b, "block.pcapng");
    assert_eq!(code, 0);
    let stop = r.captures[0].stopped.as_ref().unwrap();
    assert_eq!((stop.offset, stop.frame), (sixth.offset as u64, 6), "{err}");
    assert!(
        err.contains("block.pcapng: reading stopped at byte offset"),
        "{err}"
    );
    assert_first_five_frames_analyzed(&r);
}

/// An EPB whose captured length runs past its block, in a file that goes
/// on: a malformed block at its offset, named on stderr, in the table and
/// in the JSON; the frames after it are analyzed (the connection is whole
/// but for that one segment).
#[test]
fn pcapng_packet_longer_than_its_block_is_skipped() {
    let (mut b, l) = original("variants/gcc.pcapng");
    let sixth = l.packets()[5];
    // The EPB's caplen, after type, length, interface and timestamp.
    put_u32(&mut b, sixth.offset + 20, l.big_endian, 5000);
    let (code, err, r) = run(&b, "long.pcapng");
    assert_eq!(code, 0);
    let cap = &r.captures[0];
    assert_eq!(cap.stopped, None, "{err}");
    assert_eq!(cap.frames, 10, "every other packet of the 11 is read");
    assert_eq!(cap.notices.len(), 1, "{:?}", cap.notices);
    let notice = &cap.notices[0];
    assert_eq!((notice.offset, notice.frame), (sixth.offset as u64, 6));
    let line = format!(
        "long.pcapng: at byte offset {} (frame 6): malformed pcapng block",
        sixth.offset
    );
    assert!(err.contains(&line), "{err}");
    assert!(err.contains("reading resumed at the next block"), "{err}");
    assert_eq!(r.connections.len(), 1);
    assert_eq!(r.connections[0].teardown.status, "graceful");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.pcapng");
    std::fs::write(&path, &b).unwrap();
    let table = tcpstate().arg("analyze").arg(&path).output().unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains(&format!(
            "warning: at byte offset {} (frame 6): malformed pcapng block",
            sixth.offset
        )),
        "{text}"
    );
}

#[test]
fn zero_length_record() {
    let (mut b, l) = original(GCC);
    let at = l.units[3].offset;
    let mut empty = b[at..at + 8].to_vec();
    empty.extend_from_slice(&[0; 8]);
    b.splice(at..at, empty);
    let (code, _, r) = run(&b, "empty-record.pcap");
    assert_eq!(code, 0);
    assert_eq!(r.captures[0].frames, 12);
    assert_eq!(r.captures[0].skipped.get("truncated_link_header"), Some(&1));
    assert_eq!(
        r.connections[0].teardown.status, "graceful",
        "the other frames are whole"
    );
}

/// Frame 4 of GCC (the request): offset of its IP header.
fn request_ip(l: &Layout) -> usize {
    l.units[3].offset + 16 + 14
}

#[test]
fn ip_total_length_corrupt() {
    let (b, l) = original(GCC);
    let ip = request_ip(&l);
    let mut longer = b.clone();
    longer[ip + 2..ip + 4].copy_from_slice(&0xffffu16.to_be_bytes());
    let (_, _, r) = run(&longer, "ip-long.pcap");
    assert_eq!(
        r.captures[0].skipped.get("ip_length_exceeds_frame"),
        Some(&1)
    );
    assert_eq!(r.captures[0].tcp_segments, 10);
    let mut impossible = b.clone();
    impossible[ip + 2..ip + 4].copy_from_slice(&19u16.to_be_bytes());
    let (_, _, r) = run(&impossible, "ip-short.pcap");
    // Shorter than its own header: the captured bytes are used instead.
    assert_eq!(r.connections[0].client.payload_bytes, 26);
}

#[test]
fn ipv6_payload_length_corrupt() {
    let (mut b, l) = original("captures/ipv6.pcap");
    let ip = l.units[3].offset + 16 + 14;
    assert_eq!(b[ip] >> 4, 6);
    b[ip + 4..ip + 6].copy_from_slice(&5u16.to_be_bytes());
    let (code, _, r) = run(&b, "v6.pcap");
    assert_eq!(code, 0);
    // The IPv6 header says the packet ends 5 bytes into the TCP header.
    assert_eq!(
        r.captures[0].skipped.get("truncated_tcp_header"),
        Some(&1),
        "{:?}",
        r.captures[0].skipped
    );
    assert_eq!(r.connections.len(), 1);
}

#[test]
fn tcp_data_offset_corrupt() {
    let (mut b, l) = original(GCC);
    let tcp = request_ip(&l) + 20;
    b[tcp + 12] = (2 << 4) | (b[tcp + 12] & 0x0f);
    let (_, _, r) = run(&b, "doff.pcap");
    assert_eq!(r.captures[0].skipped.get("invalid_tcp_header"), Some(&1));
    assert_eq!(r.connections[0].teardown.status, "graceful");
}

#[test]
fn duplicated_records() {
    let (mut b, l) = original(GCC);
    let u = l.units[3];
    let copy = b[u.offset..u.offset + u.len].to_vec();
    b.splice(u.offset..u.offset, copy);
    let (_, _, r) = run(&b, "dup.pcap");
    let c = &r.connections[0];
    assert_eq!(r.captures[0].frames, 12);
    assert_eq!(c.teardown.status, "graceful");
    assert!(
        c.codes().contains(&"DT001"),
        "the copy is a retransmission: {:?}",
        c.codes()
    );
}

#[test]
fn swapped_and_reordered_records() {
    let (b, l) = original(GCC);
    // Swap the server's FIN and the client's ACK of it (frames 10 and 11).
    let (x, y) = (l.units[9], l.units[10]);
    let mut swapped = b[..x.offset].to_vec();
    swapped.extend_from_slice(&b[y.offset..y.offset + y.len]);
    swapped.extend_from_slice(&b[x.offset..x.offset + x.len]);
    let (code, _, r) = run(&swapped, "swap.pcap");
    assert_eq!(code, 0);
    let c = &r.connections[0];
    // The client acknowledges a FIN not yet seen: tcpstate says so, and the
    // release still completes once the FIN shows up.
    assert!(c.codes().contains(&"DT004"), "{:?}", c.codes());
    assert_eq!(
        c.server.final_state, "LAST-ACK",
        "the final ACK came before the FIN it acknowledges"
    );
}

#[test]
fn timestamps_going_backwards() {
    let (mut b, l) = original(GCC);
    let last = l.units[10].offset;
    put_u32(&mut b, last, false, 1_000_000); // 1970
    let (code, _, r) = run(&b, "time.pcap");
    assert_eq!(code, 0);
    let c = &r.connections[0];
    assert!(c.duration_s >= 0.0);
    assert_eq!(c.teardown.status, "graceful");
}

#[test]
fn unknown_link_type() {
    let (mut b, _) = original(GCC);
    put_u32(&mut b, 20, false, 147);
    let (code, _, r) = run(&b, "link.pcap");
    assert_eq!(code, 0);
    assert_eq!(r.captures[0].link_types, ["LINKTYPE_147"]);
    assert_eq!(r.captures[0].skipped.get("unknown_link_type"), Some(&11));
    assert!(r.connections.is_empty());
}

#[test]
fn pcapng_interface_id_out_of_range() {
    let (mut b, l) = original("variants/gcc.pcapng");
    let third = l.packets()[2];
    put_u32(&mut b, third.offset + 8, l.big_endian, 5);
    let (code, _, r) = run(&b, "iface.pcapng");
    assert_eq!(code, 0);
    assert_eq!(r.captures[0].skipped.get("unknown_interface"), Some(&1));
    assert_eq!(r.connections.len(), 1);
    assert_eq!(r.captures[0].frames, 11);
}

#[test]
fn odd_file_names_print_safely() {
    let dir = tempfile::tempdir().unwrap();
    let evil = dir.path().join("x\u{1b}[2J\u{1b}[31mred.pcap");
    std::fs::copy(testdata("captures/truncated.pcap"), &evil).unwrap();
    let out = tcpstate().arg("analyze").arg(&evil).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for text in [&stdout, &stderr] {
        assert!(
            !text.contains('\u{1b}'),
            "an escape sequence got through: {text:?}"
        );
        assert!(text.contains("x\\u{1b}[2J\\u{1b}[31mred.pcap"), "{text}");
    }
}
