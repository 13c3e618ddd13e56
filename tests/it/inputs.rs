//! Input handling end to end: every container format and link type gives
//! the same connections; header-only captures give the same results;
//! broken and foreign files are reported, never fatal to what was readable.

use crate::common;
use common::*;

/// A connection with everything that does not depend on how it was stored.
fn comparable(mut c: Connection) -> Connection {
    c.file = String::new();
    c
}

#[test]
fn every_format_and_link_type_gives_identical_connections() {
    let reference: Vec<Connection> = analyze_one("captures/graceful_client_close.pcap")
        .connections
        .into_iter()
        .map(comparable)
        .collect();
    assert_eq!(reference.len(), 1);
    let variants = [
        ("variants/gcc_nsec.pcap", "pcap", "ETHERNET"),
        ("variants/gcc_be.pcap", "pcap", "ETHERNET"),
        ("variants/gcc.pcapng", "pcapng", "ETHERNET"),
        // Several sections and interfaces, each with its own link type and resolution.
        ("variants/gcc_multi.pcapng", "pcapng", "LINUX_SLL"),
        ("variants/gcc_raw.pcap", "pcap", "RAW"),
        ("variants/gcc_raw12.pcap", "pcap", "RAW"),
        ("variants/gcc_ipv4.pcap", "pcap", "IPV4"),
        ("variants/gcc_null.pcap", "pcap", "NULL"),
        ("variants/gcc_loop.pcap", "pcap", "LOOP"),
        ("variants/gcc_sll.pcap", "pcap", "LINUX_SLL"),
        ("variants/gcc_sll2.pcap", "pcap", "LINUX_SLL2"),
        ("variants/gcc_vlan.pcap", "pcap", "ETHERNET"),
        ("variants/gcc_qinq.pcap", "pcap", "ETHERNET"),
    ];
    for (rel, format, link) in variants {
        let r = analyze_one(rel);
        assert_eq!(r.captures[0].format, format, "{rel}");
        assert!(
            r.captures[0].link_types.iter().any(|l| l == link),
            "{rel}: {:?}",
            r.captures[0].link_types
        );
        let got: Vec<Connection> = r.connections.into_iter().map(comparable).collect();
        assert_eq!(got, reference, "{rel} differs from the Ethernet pcap");
    }
}

#[test]
fn ipv6_raw_link_type_matches_ethernet() {
    let a: Vec<Connection> = analyze_one("captures/ipv6.pcap")
        .connections
        .into_iter()
        .map(comparable)
        .collect();
    let b: Vec<Connection> = analyze_one("variants/ipv6_raw.pcap")
        .connections
        .into_iter()
        .map(comparable)
        .collect();
    assert_eq!(a, b);
}

#[test]
fn header_only_capture_gives_the_same_results() {
    let full = only_connection("captures/graceful_client_close.pcap");
    let cut = only_connection("captures/snaplen54.pcap");
    assert_eq!(cut.handshake, full.handshake);
    assert_eq!(cut.teardown, full.teardown);
    assert_eq!(
        cut.client, full.client,
        "states, ISN, packets and payload bytes"
    );
    assert_eq!(cut.server, full.server);
    assert_eq!(cut.packets, full.packets);
}

#[test]
fn file_cut_short_warns_and_keeps_every_complete_frame() {
    let out = tcpstate()
        .args(["analyze", "--format", "json"])
        .arg(testdata("captures/truncated.pcap"))
        .exits(0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("truncated.pcap") && stderr.contains("byte offset"),
        "{stderr}"
    );
    let r: Report = document(&out.stdout).unwrap();
    let cap = &r.captures[0];
    assert!(cap.truncated);
    let stop = cap.stopped.as_ref().unwrap();
    assert_eq!(
        stop.frame,
        cap.frames + 1,
        "stops at the first incomplete frame"
    );
    assert!(cap.frames >= 3);
    // The complete frames are analyzed: the handshake is there.
    assert_eq!(r.connections.len(), 1);
    assert_eq!(r.connections[0].handshake.status, "complete");
    assert_eq!(r.connections[0].last_frame, cap.frames);
}

#[test]
fn a_file_that_is_not_a_capture_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "this is not a packet capture\n").unwrap();
    let out = tcpstate().arg("analyze").arg(&path).exits(2);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("notes.txt") && stderr.contains("not a pcap or pcapng file"),
        "{stderr}"
    );
}

#[test]
fn missing_and_empty_files_exit_2_but_other_files_are_still_analyzed() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    let out = tcpstate()
        .args(["analyze", "--format", "json"])
        .arg(dir.path().join("missing.pcap"))
        .arg(&empty)
        .arg(testdata("captures/refused.pcap"))
        .exits(2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("missing.pcap") && stderr.contains("empty.pcap: the file is empty"),
        "{stderr}"
    );
    // The unreadable inputs are in `captures` with their error (issue 15).
    let r: serde_json::Value = document(&out.stdout).unwrap();
    let kinds: Vec<&str> = r["captures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["error"]["kind"].as_str().unwrap_or("read"))
        .collect();
    assert_eq!(kinds, ["not_found", "empty", "read"]);
    assert_eq!(r["connections"][0]["handshake"]["status"], "refused");
}

#[test]
fn standard_input_is_read_with_a_dash() {
    let bytes = std::fs::read(testdata("captures/graceful_client_close.pcap")).unwrap();
    let out = tcpstate()
        .args(["analyze", "--format", "json", "-"])
        .exits_with_stdin(&bytes, 0);
    let r: Report = document(&out.stdout).unwrap();
    assert_eq!(r.captures[0].file, "-");
    assert_eq!(r.connections.len(), 1);
    assert_eq!(r.connections[0].teardown.status, "graceful");
}

#[test]
fn several_files_share_one_id_sequence_in_argument_order() {
    let r = analyze(&[
        &testdata("captures/refused.pcap"),
        &testdata("captures/port_reuse.pcap"),
    ]);
    assert_eq!(r.captures.len(), 2);
    let ids: Vec<u64> = r.connections.iter().map(|c| c.id).collect();
    assert_eq!(ids, [1, 2, 3]);
    assert!(r.connections[0].file.ends_with("refused.pcap"));
    assert!(r.connections[2].file.ends_with("port_reuse.pcap"));
    assert_eq!(r.summary.connections, 3);
}

#[test]
fn usage_errors_exit_2() {
    tcpstate().arg("analyze").exits(2);
    tcpstate()
        .args(["analyze", "--format", "xml", "x.pcap"])
        .exits(2);
    tcpstate().arg("frobnicate").exits(2);
}
