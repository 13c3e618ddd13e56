//! Tunnel identity: two tunnels carrying the same inner 4-tuple are two
//! connections, and each connection says how it was carried (JSON
//! `encapsulation`, the table's client cell, Zeek's `tunnel_parents`).

use crate::common;
use common::*;

#[test]
fn two_vxlan_tunnels_with_the_same_inner_4_tuple_are_two_connections() {
    let r = analyze_one("tunnels/vxlan_two_tunnels.pcap");
    assert_eq!(r.connections.len(), 2);
    let mut vnis = Vec::new();
    for c in &r.connections {
        assert_eq!(
            (c.client.addr.as_str(), c.client.port),
            ("10.99.0.1", 40042)
        );
        assert_eq!((c.server.addr.as_str(), c.server.port), ("10.99.0.2", 5555));
        assert_eq!(c.handshake.status, "complete");
        assert_eq!(c.teardown.status, "graceful");
        assert_eq!(c.history, "ShADadFf");
        assert_eq!(c.packets.as_ref().unwrap().len(), 11);
        assert_eq!(c.encapsulation.len(), 1, "{:?}", c.encapsulation);
        vnis.push(c.encapsulation[0].clone());
    }
    vnis.sort();
    assert_eq!(
        vnis,
        [
            "vxlan vni=42 10.98.0.1→10.98.0.2",
            "vxlan vni=43 10.98.0.1→10.98.0.2"
        ]
    );
}

#[test]
fn both_directions_of_a_tunnel_are_one_connection() {
    // GTP-U: each direction has its own TEID; GRE: outer endpoints swap.
    for (rel, layer) in [
        ("tunnels/gtpu.pcap", "gtp-u teid=4096 192.0.2.1→192.0.2.2"),
        (
            "tunnels/gre_csum_key_seq.pcap",
            "gre key=77 192.0.2.1→192.0.2.2",
        ),
        (
            "tunnels/ipip_6in4.pcap",
            "ipip inner=ipv6 192.0.2.1→192.0.2.2",
        ),
        (
            "tunnels/erspan2.pcap",
            "erspan session=5 192.0.2.1→192.0.2.2",
        ),
    ] {
        let c = only_connection(rel);
        assert_eq!(c.encapsulation, [layer], "{rel}");
        assert_eq!(c.packets.as_ref().unwrap().len(), 11, "{rel}");
    }
}

#[test]
fn bare_connections_have_no_encapsulation() {
    let json = analyze_output(
        &["--format", "json"],
        &[testdata("captures/graceful_client_close.pcap")],
    );
    assert!(!String::from_utf8(json).unwrap().contains("encapsulation"));
    // Link layers are not tunnels.
    assert!(only_connection("tunnels/pppoe.pcap")
        .encapsulation
        .is_empty());
}

#[test]
fn the_table_and_the_zeek_log_name_the_tunnel() {
    let file = testdata("tunnels/vxlan_two_tunnels.pcap");
    let table = String::from_utf8(analyze_output(&[], &[&file])).unwrap();
    assert!(table.contains("via vxlan:42"), "{table}");
    assert!(table.contains("via vxlan:43"), "{table}");
    let zeek = String::from_utf8(analyze_output(&["--format", "zeek"], &[&file])).unwrap();
    let parents: Vec<&str> = zeek
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.rsplit('\t').next().unwrap())
        .collect();
    assert_eq!(
        parents,
        [
            "vxlan vni=43 10.98.0.1->10.98.0.2",
            "vxlan vni=42 10.98.0.1->10.98.0.2"
        ]
    );
    let bare = testdata("captures/graceful_client_close.pcap");
    let zeek = String::from_utf8(analyze_output(&["--format", "zeek"], &[&bare])).unwrap();
    assert!(zeek
        .lines()
        .filter(|l| !l.starts_with('#'))
        .all(|l| l.ends_with("\t-")));
}
