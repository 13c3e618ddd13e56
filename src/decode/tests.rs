//! Every encapsulation around the same inner segment decodes to the segment
//! decoded bare, with the tunnels named.

use super::tunnel::MAX_TUNNELS;
use super::*;
use etherparse::{IpNumber, Ipv4Header, Ipv6Header, PacketBuilder};

const V4_A: [u8; 4] = [192, 0, 2, 1];
const V4_B: [u8; 4] = [192, 0, 2, 2];
const V6_A: [u8; 16] = [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const V6_B: [u8; 16] = [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

/// The inner IPv4 packet: a SYN with data, so lengths matter.
fn inner_v4() -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .tcp(40000, 80, 0xffff_fff0, 1024)
        .syn()
        .write(&mut out, &[7; 33])
        .unwrap();
    out
}

fn inner_v6() -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ipv6([0xfd; 16], [0xfe; 16], 64)
        .tcp(40000, 443, 5, 1024)
        .ack(9)
        .write(&mut out, &[1; 10])
        .unwrap();
    out
}

fn bare(ip: &[u8]) -> Segment {
    decode(linktype::RAW, ip, true).unwrap()
}

/// An Ethernet header with the given ethertype in front of `payload`.
fn eth(ether_type: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
    v.extend_from_slice(&ether_type.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn ipv4(proto: u8, payload: &[u8]) -> Vec<u8> {
    let h = Ipv4Header::new(payload.len() as u16, 64, IpNumber(proto), V4_A, V4_B).unwrap();
    let mut v = Vec::new();
    h.write(&mut v).unwrap();
    v.extend_from_slice(payload);
    v
}

fn ipv6(proto: u8, payload: &[u8]) -> Vec<u8> {
    let h = Ipv6Header {
        payload_length: payload.len() as u16,
        next_header: IpNumber(proto),
        hop_limit: 64,
        source: V6_A,
        destination: V6_B,
        ..Default::default()
    };
    let mut v = Vec::new();
    h.write(&mut v).unwrap();
    v.extend_from_slice(payload);
    v
}

fn udp(src: u16, dst: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&src.to_be_bytes());
    v.extend_from_slice(&dst.to_be_bytes());
    v.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(payload);
    v
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Decodes `frame` and checks it is the inner segment, carried as `expect`.
#[track_caller]
fn carried(link_type: u32, frame: &[u8], inner: &[u8], expect: &[&str]) {
    let mut tunnels = Encapsulation::new();
    let seg = decode_carried(link_type, frame, true, &mut tunnels);
    assert_eq!(seg, Ok(bare(inner)));
    let names: Vec<String> = tunnels.iter().map(|t| t.to_string()).collect();
    assert_eq!(names, expect);
}

#[test]
fn ip_in_ip_all_four_ways() {
    let (v4, v6) = (inner_v4(), inner_v6());
    let outer = "192.0.2.1→192.0.2.2";
    let outer6 = "2001:db8::1→2001:db8::2";
    carried(
        1,
        &eth(0x0800, &ipv4(4, &v4)),
        &v4,
        &[&format!("ipip inner=ipv4 {outer}")],
    );
    carried(
        1,
        &eth(0x0800, &ipv4(41, &v6)),
        &v6,
        &[&format!("ipip inner=ipv6 {outer}")],
    );
    carried(
        1,
        &eth(0x86dd, &ipv6(4, &v4)),
        &v4,
        &[&format!("ipip inner=ipv4 {outer6}")],
    );
    carried(
        101,
        &ipv6(41, &v6),
        &v6,
        &[&format!("ipip inner=ipv6 {outer6}")],
    );
}

#[test]
fn gre_with_checksum_key_and_sequence() {
    let v4 = inner_v4();
    let plain = cat(&[&[0, 0, 0x08, 0], &v4]);
    carried(101, &ipv4(47, &plain), &v4, &["gre 192.0.2.1→192.0.2.2"]);
    // C, K and S: checksum+reserved, key 42, sequence.
    let full = cat(&[
        &[0xb0, 0, 0x08, 0],
        &[0; 4],
        &42u32.to_be_bytes(),
        &[0, 0, 0, 9],
        &v4,
    ]);
    carried(
        101,
        &ipv4(47, &full),
        &v4,
        &["gre key=42 192.0.2.1→192.0.2.2"],
    );
    let v6 = inner_v6();
    let gre6 = cat(&[&[0x20, 0, 0x86, 0xdd], &7u32.to_be_bytes(), &v6]);
    carried(
        101,
        &ipv4(47, &gre6),
        &v6,
        &["gre key=7 192.0.2.1→192.0.2.2"],
    );
    // Version 2 does not exist; routing is not read.
    let v2 = cat(&[&[0, 2, 0x08, 0], &v4]);
    assert_eq!(
        decode(101, &ipv4(47, &v2), true),
        Err(SkipReason::UnsupportedEncapsulation(
            "unsupported_encapsulation: GRE version"
        ))
    );
    let cut = cat(&[&[0x20, 0, 0x08, 0], &[0, 0]]);
    assert_eq!(
        decode(101, &ipv4(47, &cut), true),
        Err(SkipReason::TruncatedTunnelHeader)
    );
}

#[test]
fn gre_carrying_ethernet_nvgre_ppp_and_mpls() {
    let v4 = inner_v4();
    let teb = cat(&[
        &[0x20, 0, 0x65, 0x58],
        &0x0001_2301u32.to_be_bytes(),
        &eth(0x0800, &v4),
    ]);
    carried(
        101,
        &ipv4(47, &teb),
        &v4,
        &["gre key=74497 192.0.2.1→192.0.2.2"],
    );
    // PPTP: version 1, key (payload length, call id 5), sequence and acknowledgement.
    let pptp = cat(&[
        &[0x30, 0x81, 0x88, 0x0b],
        &[0, 40, 0, 5],
        &[0, 0, 0, 1],
        &[0, 0, 0, 0],
        &[0xff, 0x03, 0x00, 0x21],
        &v4,
    ]);
    carried(
        101,
        &ipv4(47, &pptp),
        &v4,
        &["pptp call=5 192.0.2.1→192.0.2.2"],
    );
    let mpls = cat(&[&[0, 0, 0x88, 0x47], &[0, 0x01, 0x01, 64], &v4]);
    carried(101, &ipv4(47, &mpls), &v4, &["gre 192.0.2.1→192.0.2.2"]);
}

#[test]
fn erspan_types_one_two_and_three() {
    let v4 = inner_v4();
    let frame = eth(0x0800, &v4);
    let one = cat(&[&[0, 0, 0x88, 0xbe], &frame]);
    carried(101, &ipv4(47, &one), &v4, &["erspan 192.0.2.1→192.0.2.2"]);
    // Type II: GRE with a sequence number, version 1, session 100.
    let two = cat(&[
        &[0x10, 0, 0x88, 0xbe],
        &[0, 0, 0, 1],
        &[0x10, 0, 0, 100],
        &[0; 4],
        &frame,
    ]);
    carried(
        101,
        &ipv4(47, &two),
        &v4,
        &["erspan session=100 192.0.2.1→192.0.2.2"],
    );
    // Type III, session 3, with the 8-byte platform sub-header.
    let three = cat(&[
        &[0x10, 0, 0x22, 0xeb],
        &[0, 0, 0, 1],
        &[0x20, 0, 0, 3],
        &[0; 4],
        &[0, 0, 0, 1],
        &[0; 8],
        &frame,
    ]);
    carried(
        101,
        &ipv4(47, &three),
        &v4,
        &["erspan session=3 192.0.2.1→192.0.2.2"],
    );
}

#[test]
fn udp_tunnels_on_their_ports() {
    let v4 = inner_v4();
    let v6 = inner_v6();
    let frame = eth(0x0800, &v4);
    for port in [4789, 8472] {
        let vx = cat(&[&[0x08, 0, 0, 0, 0, 0, 42, 0], &frame]);
        carried(
            101,
            &ipv4(17, &udp(51000, port, &vx)),
            &v4,
            &["vxlan vni=42 192.0.2.1→192.0.2.2"],
        );
    }
    // Geneve with 8 bytes of options, carrying Ethernet.
    let gen = cat(&[&[0x02, 0, 0x65, 0x58, 0, 0, 7, 0], &[0; 8], &frame]);
    carried(
        101,
        &ipv4(17, &udp(51000, 6081, &gen)),
        &v4,
        &["geneve vni=7 192.0.2.1→192.0.2.2"],
    );
    // GTP-U G-PDU with the E flag and one extension header (PDU session container).
    let mut gtp = vec![0x34, 0xff];
    let body = cat(&[&[0, 0, 0, 0x85], &[1, 0x10, 0x09, 0], &v6]);
    gtp.extend_from_slice(&(body.len() as u16).to_be_bytes());
    gtp.extend_from_slice(&0x1234u32.to_be_bytes());
    gtp.extend_from_slice(&body);
    carried(
        101,
        &ipv4(17, &udp(2152, 2152, &gtp)),
        &v6,
        &["gtp-u teid=4660 192.0.2.1→192.0.2.2"],
    );
    // Teredo with an authentication and an origin indicator, from the server port.
    let ter = cat(&[
        &[0, 1, 2, 1],
        &[9, 9, 8],
        &[0; 9],
        &[0, 0, 0xff, 0xff, 1, 2, 3, 4],
        &v6,
    ]);
    carried(
        101,
        &ipv4(17, &udp(3544, 50000, &ter)),
        &v6,
        &["teredo 192.0.2.1→192.0.2.2"],
    );
}

#[test]
fn ordinary_udp_on_tunnel_ports_stays_udp() {
    let v4 = inner_v4();
    for (port, payload) in [
        (4789u16, vec![0u8; 40]),                                      // no I flag
        (6081, vec![0xc0; 40]),                                        // Geneve version 3
        (2152, cat(&[&[0x32, 0x01, 0, 4, 0, 0, 0, 1], &[0; 4]])),      // echo request
        (3544, cat(&[&[0x45, 0], &v4])),                               // IPv4, not IPv6
        (2152, cat(&[&[0x30, 0xff, 0, 20, 0, 0, 0, 1], &[0x99; 20]])), // G-PDU, not IP
    ] {
        assert_eq!(
            decode(101, &ipv4(17, &udp(1000, port, &payload)), true),
            Err(SkipReason::NotTcp),
            "port {port}"
        );
    }
}

#[test]
fn mpls_stacks_and_pseudowires() {
    let v4 = inner_v4();
    let v6 = inner_v6();
    let stack = [0u8, 0x01, 0x00, 64, 0, 0x02, 0x01, 64];
    carried(1, &eth(0x8847, &cat(&[&stack, &v4])), &v4, &[]);
    carried(1, &eth(0x8848, &cat(&[&stack, &v6])), &v6, &[]);
    carried(219, &cat(&[&stack, &v4]), &v4, &[]);
    // Ethernet pseudowire with and without the control word.
    let pw = eth(0x0800, &v4);
    carried(1, &eth(0x8847, &cat(&[&stack, &[0; 4], &pw])), &v4, &[]);
    carried(1, &eth(0x8847, &cat(&[&stack, &pw])), &v4, &[]);
    // A stack without a bottom entry ends inside the tunnel header.
    assert_eq!(
        decode(1, &eth(0x8847, &[0, 0, 0, 64, 0, 0]), true),
        Err(SkipReason::TruncatedTunnelHeader)
    );
}

#[test]
fn pppoe_ppp_and_cisco_hdlc() {
    let v4 = inner_v4();
    let v6 = inner_v6();
    let pppoe = cat(&[
        &[0x11, 0, 0, 1],
        &((v4.len() + 2) as u16).to_be_bytes(),
        &[0, 0x21],
        &v4,
    ]);
    carried(1, &eth(0x8864, &pppoe), &v4, &[]);
    // Over QinQ.
    carried(
        1,
        &eth(
            0x88a8,
            &cat(&[&[0, 10, 0x81, 0], &[0, 20, 0x88, 0x64], &pppoe]),
        ),
        &v4,
        &[],
    );
    carried(9, &cat(&[&[0xff, 0x03, 0, 0x57], &v6]), &v6, &[]);
    carried(9, &cat(&[&[0x21], &v4]), &v4, &[]);
    carried(50, &cat(&[&[0xff, 0x03, 0, 0x21], &v4]), &v4, &[]);
    carried(104, &cat(&[&[0x0f, 0, 0x08, 0], &v4]), &v4, &[]);
    carried(50, &cat(&[&[0x8f, 0, 0x86, 0xdd], &v6]), &v6, &[]);
    // LCP is PPP's own control protocol.
    assert_eq!(
        decode(9, &[0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4], true),
        Err(SkipReason::NotIp)
    );
}

#[test]
fn provider_and_fabric_tags() {
    let v4 = inner_v4();
    let customer = eth(0x0800, &v4);
    carried(1, &eth(0x88e7, &cat(&[&[0, 0, 0, 1], &customer])), &v4, &[]);
    carried(1, &eth(0x893f, &cat(&[&[0; 6], &[0x08, 0], &v4])), &v4, &[]);
    carried(1, &eth(0x8903, &cat(&[&[0, 0x3f], &customer])), &v4, &[]);
}

/// An 802.11 data frame (ToDS) with an LLC/SNAP body.
fn wlan_data(fc0: u8, fc1: u8, extra: &[u8], ip: &[u8]) -> Vec<u8> {
    let mut v = vec![fc0, fc1, 0, 0];
    v.extend_from_slice(&[1; 18]); // three addresses
    v.extend_from_slice(&[0x10, 0]); // sequence control, fragment 0
    v.extend_from_slice(extra);
    v.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0]);
    v.extend_from_slice(ip);
    v
}

#[test]
fn wireless_link_types() {
    let v4 = inner_v4();
    let data = wlan_data(0x08, 0x01, &[], &v4);
    carried(105, &data, &v4, &[]);
    // QoS data with the HT control field.
    carried(
        105,
        &wlan_data(0x88, 0x81, &[0, 0, 0, 0, 0, 0], &v4),
        &v4,
        &[],
    );
    // Four addresses (ToDS and FromDS).
    carried(105, &wlan_data(0x08, 0x03, &[3; 6], &v4), &v4, &[]);
    // Radiotap: version 0, length 12.
    let rt = cat(&[&[0, 0, 12, 0], &[0x02, 0, 0, 0], &[0x10, 0, 0, 0], &data]);
    carried(127, &rt, &v4, &[]);
    // PPI carrying 802.11.
    let ppi = cat(&[&[0, 0, 8, 0], &105u32.to_le_bytes(), &data]);
    carried(192, &ppi, &v4, &[]);
    // Prism (message length 144, little-endian) and AVS (64 bytes, big-endian).
    let mut prism = vec![0x41, 0, 0, 0, 144, 0, 0, 0];
    prism.resize(144, 0);
    carried(119, &cat(&[&prism, &data]), &v4, &[]);
    let mut avs = vec![0x80, 0x21, 0x10, 0x01, 0, 0, 0, 64];
    avs.resize(64, 0);
    carried(163, &cat(&[&avs, &data]), &v4, &[]);
    // Protected, management and null frames.
    assert_eq!(
        decode(105, &wlan_data(0x08, 0x41, &[], &v4), true),
        Err(SkipReason::Encrypted80211)
    );
    assert_eq!(
        decode(105, &wlan_data(0x80, 0, &[], &v4), true),
        Err(SkipReason::NotIp)
    );
    assert_eq!(
        decode(105, &wlan_data(0x48, 0x01, &[], &v4), true),
        Err(SkipReason::NotIp)
    );
    assert!(SkipReason::Encrypted80211.not_understood());
}

#[test]
fn nflog_ipoib_fddi_arcnet() {
    let v4 = inner_v4();
    let v6 = inner_v6();
    // NFLOG: a prefix TLV (padded), then the payload TLV.
    let mut nf = vec![2, 0, 0, 1];
    nf.extend_from_slice(&7u16.to_le_bytes());
    nf.extend_from_slice(&10u16.to_le_bytes());
    nf.extend_from_slice(&[b'a', b'b', b'c', 0]);
    nf.extend_from_slice(&((4 + v4.len()) as u16).to_le_bytes());
    nf.extend_from_slice(&9u16.to_le_bytes());
    nf.extend_from_slice(&v4);
    carried(239, &nf, &v4, &[]);
    carried(242, &cat(&[&[0; 40], &[0x86, 0xdd, 0, 0], &v6]), &v6, &[]);
    let fddi = cat(&[
        &[0x50],
        &[1; 12],
        &[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0],
        &v4,
    ]);
    carried(10, &fddi, &v4, &[]);
    // ARCNET: RFC 1201 IP (split flag, sequence), RFC 1051 IP, Linux with an offset.
    carried(7, &cat(&[&[1, 2, 212, 0, 0, 1], &v4]), &v4, &[]);
    carried(
        7,
        &cat(&[&[1, 2, 212, 0xff, 0, 0, 0, 0, 0, 1], &v4]),
        &v4,
        &[],
    );
    carried(7, &cat(&[&[1, 2, 240], &v4]), &v4, &[]);
    carried(129, &cat(&[&[1, 2, 0, 0, 0xc4, 0, 0, 1], &v6]), &v6, &[]);
}

#[test]
fn unreadable_link_types_are_named() {
    assert_eq!(
        decode(227, &[0; 40], true),
        Err(SkipReason::UnsupportedLinkType(
            "unsupported_link_type: LINKTYPE_CAN_SOCKETCAN"
        ))
    );
    assert_eq!(linktype::name(127), "IEEE802_11_RADIOTAP");
    // Private-use and unassigned values have no name.
    assert_eq!(
        decode(147, &[0; 40], true),
        Err(SkipReason::UnknownLinkType)
    );
    assert_eq!(linktype::name(147), "LINKTYPE_147");
    assert_eq!(
        decode(60000, &[0; 40], true),
        Err(SkipReason::UnknownLinkType)
    );
}

#[test]
fn nesting_is_bounded() {
    let v4 = inner_v4();
    let mut p = v4.clone();
    for _ in 0..MAX_TUNNELS {
        p = ipv4(4, &p);
    }
    let mut tunnels = Encapsulation::new();
    assert_eq!(decode_carried(101, &p, true, &mut tunnels), Ok(bare(&v4)));
    assert_eq!(tunnels.len(), MAX_TUNNELS);
    assert_eq!(
        decode(101, &ipv4(4, &p), true),
        Err(SkipReason::EncapsulationTooDeep)
    );
    // Ethernet pseudowires in MPLS in Ethernet … with no IP header between.
    let mut f = eth(0x0800, &v4);
    for _ in 0..MAX_LAYERS {
        f = eth(0x8847, &cat(&[&[0, 0, 1, 64], &f]));
    }
    assert_eq!(decode(1, &f, true), Err(SkipReason::EncapsulationTooDeep));
}

#[test]
fn inner_lengths_are_bounded_by_the_outer_packet() {
    let v4 = inner_v4();
    // Header-only capture of a VXLAN frame: the inner segment keeps its
    // true payload length from the inner IP header.
    let vx = cat(&[&[0x08, 0, 0, 0, 0, 0, 1, 0], &eth(0x0800, &v4)]);
    let frame = eth(0x0800, &ipv4(17, &udp(1, 4789, &vx)));
    let cut = &frame[..frame.len() - 33];
    let s = decode(1, cut, false).unwrap();
    assert_eq!(s.payload_len, 33);
    // A whole frame whose inner IP length claims more than the tunnel holds.
    let mut bad = v4.clone();
    bad[2..4].copy_from_slice(&500u16.to_be_bytes());
    assert_eq!(
        decode(101, &ipv4(4, &bad), true),
        Err(SkipReason::IpLengthExceedsFrame)
    );
}

/// Builds a frame around some bytes.
type Wrap = fn(&[u8]) -> Vec<u8>;

#[test]
fn random_bytes_after_every_header_never_panic() {
    let mut rng = fastrand::Rng::with_seed(12);
    let link_types = [
        0, 1, 7, 9, 10, 50, 51, 101, 104, 105, 108, 113, 117, 119, 127, 129, 163, 192, 219, 239,
        242, 276,
    ];
    // Random bytes inside each tunnel header, and after each link header.
    let wraps: [Wrap; 9] = [
        |r| eth(0x0800, &ipv4(47, r)),
        |r| eth(0x86dd, &ipv6(4, r)),
        |r| {
            eth(
                0x0800,
                &ipv4(17, &udp(1, 4789, &cat(&[&[0x08, 0, 0, 0, 0, 0, 1, 0], r]))),
            )
        },
        |r| eth(0x0800, &ipv4(17, &udp(1, 6081, r))),
        |r| {
            eth(
                0x0800,
                &ipv4(17, &udp(1, 2152, &cat(&[&[0x34, 0xff, 0, 200], r]))),
            )
        },
        |r| eth(0x0800, &ipv4(17, &udp(3544, 1, r))),
        |r| eth(0x8847, r),
        |r| eth(0x8864, &cat(&[&[0x11, 0, 0, 1, 0, 0], r])),
        |r| r.to_vec(),
    ];
    for _ in 0..20_000 {
        let lt = link_types[rng.usize(..link_types.len())];
        let n = rng.usize(..120);
        let random: Vec<u8> = (0..n).map(|_| rng.u8(..)).collect();
        let f = wraps[rng.usize(..wraps.len())](&random);
        let _ = decode(lt, &f, rng.bool());
    }
}

#[test]
fn tunnel_chains_are_numbered_by_identity_in_bounded_memory() {
    let t = |kind, id: Option<u32>, a: [u8; 4], b: [u8; 4]| Tunnel {
        kind,
        id,
        src: a.into(),
        dst: b.into(),
    };
    let chain = |tunnels: &[Tunnel]| tunnels.iter().copied().collect::<Encapsulation>();
    let shared = Carriers::default();
    let mut numbers = CarrierNumbers::new(shared.clone());
    assert_eq!(numbers.number(&Encapsulation::new()), 0);
    let there = chain(&[t(TunnelKind::Vxlan, Some(42), V4_A, V4_B)]);
    let back = chain(&[t(TunnelKind::Vxlan, Some(42), V4_B, V4_A)]);
    let other = chain(&[t(TunnelKind::Vxlan, Some(43), V4_A, V4_B)]);
    let n = numbers.number(&there);
    assert_eq!(numbers.number(&back), n, "both directions");
    assert_ne!(numbers.number(&other), n, "another VNI");
    // GTP-U: each direction its own TEID, one tunnel.
    let up = chain(&[t(TunnelKind::GtpU, Some(1), V4_A, V4_B)]);
    let down = chain(&[t(TunnelKind::GtpU, Some(2), V4_B, V4_A)]);
    assert_eq!(numbers.number(&up), numbers.number(&down));
    // The first chain seen names the number.
    assert_eq!(shared.names(n), ["vxlan vni=42 192.0.2.1→192.0.2.2"]);
    assert!(shared.names(0).is_empty());
    assert_eq!(there[0].short(), "vxlan:42");
    // A flood of distinct tunnels shares one number past the limit.
    for vni in 0..Carriers::MAX as u32 + 10 {
        numbers.number(&chain(&[t(
            TunnelKind::Vxlan,
            Some(1000 + vni),
            V4_A,
            V4_B,
        )]));
    }
    let late = chain(&[t(TunnelKind::Vxlan, Some(1), V4_A, V4_B)]);
    assert_eq!(numbers.number(&late), Carriers::OVERFLOW);
    assert_eq!(shared.chain(Carriers::OVERFLOW).len(), 0);
    assert!(shared.names(Carriers::OVERFLOW)[0].contains("not told apart"));
}

#[test]
fn header_only_captures_of_udp_tunnels_keep_their_inner_lengths() {
    let v6 = inner_v6();
    // Teredo, cut after the inner TCP header: the UDP length still fits.
    let frame = ipv4(17, &udp(3544, 40000, &v6));
    let cut = &frame[..frame.len() - 10];
    let s = decode(101, cut, false).unwrap();
    assert_eq!(s.payload_len, 10);
    // A datagram on the Teredo port whose IPv6 length disagrees is UDP.
    let mut bad = v6.clone();
    bad[4..6].copy_from_slice(&100u16.to_be_bytes());
    assert_eq!(
        decode(101, &ipv4(17, &udp(3544, 40000, &bad)), true),
        Err(SkipReason::NotTcp)
    );
}

/// The TTL (hop limit) and IPv4 ID, read alike by the fast path and by
/// the layer walk (here under a VLAN tag).
#[test]
fn ttl_and_ip_id_on_both_paths() {
    let mut v4 = inner_v4();
    v4[4..6].copy_from_slice(&0x3039u16.to_be_bytes());
    v4[8] = 47;
    // The header checksum is not checked.
    let fast = bare(&v4);
    assert_eq!((fast.ttl, fast.ip_id), (47, 0x3039));
    let tagged = eth(0x8100, &cat(&[&[0, 10, 0x08, 0x00], &v4]));
    let walked = decode(linktype::ETHERNET, &tagged, true).unwrap();
    assert_eq!(walked, fast);
    let v6 = inner_v6();
    let s = bare(&v6);
    assert_eq!((s.ttl, s.ip_id), (64, 0));
}
