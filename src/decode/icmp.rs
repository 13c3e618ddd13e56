//! ICMP and ICMPv6 errors about TCP: the message (type, code, the MTU of a
//! "fragmentation needed" or "packet too big", the gateway of a redirect)
//! and the header it quotes, down to the TCP ports and sequence number.
//!
//! An ICMP error quotes the IP header of the packet it reports on and at
//! least its first 8 bytes (RFC 792; ICMPv6 as much as fits in 1280 bytes,
//! RFC 4443 §2.4): for TCP, the ports and the sequence number. The quote
//! comes from the network and may be cut anywhere; what is missing is
//! `None`, never read.

use super::{be16, be32};
use crate::seq::SeqNum;
use etherparse::{ip_number, LaxIpSlice};
use std::net::IpAddr;

/// The IP protocol numbers of ICMP and ICMPv6.
pub const PROTO_ICMP: u8 = 1;
pub const PROTO_ICMPV6: u8 = 58;

/// What an ICMP error says happened, whichever the IP version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IcmpKind {
    /// Destination unreachable for a routing or addressing reason (net,
    /// host, protocol, port, …; the code says which).
    Unreachable,
    /// Destination unreachable: administratively prohibited (a filter).
    AdminProhibited,
    /// IPv4 "fragmentation needed and DF set" or ICMPv6 "packet too big".
    PacketTooBig,
    /// Time (TTL / hop limit) exceeded in transit, or in reassembly.
    TimeExceeded,
    /// A redirect (IPv4 type 5): the sender should use another gateway.
    Redirect,
    /// Parameter problem: a header field the receiver could not process.
    ParameterProblem,
    /// IPv4 source quench (deprecated by RFC 6633).
    SourceQuench,
}

impl IcmpKind {
    /// Every kind, in order (`kind as usize` is its index).
    pub const ALL: [IcmpKind; 7] = [
        IcmpKind::Unreachable,
        IcmpKind::AdminProhibited,
        IcmpKind::PacketTooBig,
        IcmpKind::TimeExceeded,
        IcmpKind::Redirect,
        IcmpKind::ParameterProblem,
        IcmpKind::SourceQuench,
    ];

    /// The JSON name.
    pub const fn as_str(self) -> &'static str {
        match self {
            IcmpKind::Unreachable => "unreachable",
            IcmpKind::AdminProhibited => "admin_prohibited",
            IcmpKind::PacketTooBig => "packet_too_big",
            IcmpKind::TimeExceeded => "time_exceeded",
            IcmpKind::Redirect => "redirect",
            IcmpKind::ParameterProblem => "parameter_problem",
            IcmpKind::SourceQuench => "source_quench",
        }
    }

    /// Whether the error says the packet was not delivered, and will not
    /// be (a SYN answered so did not reach the server): every kind but a
    /// redirect (which forwards the packet) and a "packet too big" (which
    /// asks for smaller packets).
    pub const fn rejects(self) -> bool {
        !matches!(self, IcmpKind::Redirect | IcmpKind::PacketTooBig)
    }
}

/// The TCP segment an ICMP error quotes: the addresses of its IP header
/// and the first bytes of its TCP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quoted {
    pub src: IpAddr,
    pub src_port: u16,
    pub dst: IpAddr,
    pub dst_port: u16,
    /// The sequence number, when the quote holds it (bytes 4–7).
    pub seq: Option<SeqNum>,
    /// The quoted packet's IP length (its header's total length), which
    /// says how big the packet that was too big was.
    pub ip_len: u32,
    /// The quoted packet's TTL or hop limit, as the reporter received it.
    pub ttl: u8,
}

/// One ICMP or ICMPv6 error about a TCP segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpError {
    /// Who reported it: the source of the ICMP packet (a router, or the
    /// destination host itself).
    pub reporter: IpAddr,
    /// The destination of the ICMP packet (normally the quoted source).
    pub to: IpAddr,
    pub v6: bool,
    /// The raw type and code.
    pub icmp_type: u8,
    pub code: u8,
    pub kind: IcmpKind,
    /// The next-hop MTU of a "fragmentation needed" (0 from routers that
    /// predate RFC 1191: `None`) or the MTU of a "packet too big".
    pub mtu: Option<u32>,
    /// The gateway a redirect names.
    pub gateway: Option<IpAddr>,
    pub quoted: Quoted,
    /// The tunnels that carried the ICMP packet, by their number in the
    /// capture's carriers (as [`super::Segment::carried`]).
    pub carried: u16,
}

impl IcmpError {
    /// The name of the type and code, as the RFCs word them
    /// ("destination unreachable: communication administratively prohibited").
    pub fn description(&self) -> &'static str {
        describe(self.v6, self.icmp_type, self.code)
    }
}

/// Why an ICMP packet is not an error about TCP that can be matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotAbout {
    /// Not an error (echo, neighbour discovery, …), an error type tcpstate
    /// does not read, or an error about another protocol than TCP.
    Other,
    /// An error quoting TCP, cut before the quoted ports.
    TruncatedQuote,
}

/// The kind of a type and code, if it is an error tcpstate reads.
fn kind(v6: bool, icmp_type: u8, code: u8) -> Option<IcmpKind> {
    Some(match (v6, icmp_type, code) {
        // RFC 792, RFC 1812 §5.2.7.1: 9, 10 and 13 are filters.
        (false, 3, 4) => IcmpKind::PacketTooBig,
        (false, 3, 9 | 10 | 13) => IcmpKind::AdminProhibited,
        (false, 3, _) => IcmpKind::Unreachable,
        (false, 4, _) => IcmpKind::SourceQuench,
        (false, 5, _) => IcmpKind::Redirect,
        (false, 11, _) => IcmpKind::TimeExceeded,
        (false, 12, _) => IcmpKind::ParameterProblem,
        // RFC 4443 §3: code 1 is a filter; 5 (RFC 4443: ingress/egress
        // policy) and 6 (reject route) are policies too.
        (true, 1, 1 | 5 | 6) => IcmpKind::AdminProhibited,
        (true, 1, _) => IcmpKind::Unreachable,
        (true, 2, _) => IcmpKind::PacketTooBig,
        (true, 3, _) => IcmpKind::TimeExceeded,
        (true, 4, _) => IcmpKind::ParameterProblem,
        _ => return None,
    })
}

/// The RFCs' names of the types and codes tcpstate reads.
pub fn describe(v6: bool, icmp_type: u8, code: u8) -> &'static str {
    match (v6, icmp_type, code) {
        (false, 3, 0) => "destination unreachable: net unreachable",
        (false, 3, 1) => "destination unreachable: host unreachable",
        (false, 3, 2) => "destination unreachable: protocol unreachable",
        (false, 3, 3) => "destination unreachable: port unreachable",
        (false, 3, 4) => "destination unreachable: fragmentation needed and DF set",
        (false, 3, 5) => "destination unreachable: source route failed",
        (false, 3, 6) => "destination unreachable: destination network unknown",
        (false, 3, 7) => "destination unreachable: destination host unknown",
        (false, 3, 8) => "destination unreachable: source host isolated",
        (false, 3, 9) => "destination unreachable: network administratively prohibited",
        (false, 3, 10) => "destination unreachable: host administratively prohibited",
        (false, 3, 11) => "destination unreachable: network unreachable for type of service",
        (false, 3, 12) => "destination unreachable: host unreachable for type of service",
        (false, 3, 13) => "destination unreachable: communication administratively prohibited",
        (false, 3, 14) => "destination unreachable: host precedence violation",
        (false, 3, 15) => "destination unreachable: precedence cutoff in effect",
        (false, 3, _) => "destination unreachable",
        (false, 4, _) => "source quench",
        (false, 5, 0) => "redirect datagrams for the network",
        (false, 5, 1) => "redirect datagrams for the host",
        (false, 5, 2) => "redirect datagrams for the type of service and network",
        (false, 5, 3) => "redirect datagrams for the type of service and host",
        (false, 5, _) => "redirect",
        (false, 11, 0) => "time exceeded: time to live exceeded in transit",
        (false, 11, 1) => "time exceeded: fragment reassembly time exceeded",
        (false, 11, _) => "time exceeded",
        (false, 12, 1) => "parameter problem: missing a required option",
        (false, 12, 2) => "parameter problem: bad length",
        (false, 12, _) => "parameter problem: pointer indicates the error",
        (true, 1, 0) => "destination unreachable: no route to destination",
        (true, 1, 1) => {
            "destination unreachable: communication with destination administratively prohibited"
        }
        (true, 1, 2) => "destination unreachable: beyond scope of source address",
        (true, 1, 3) => "destination unreachable: address unreachable",
        (true, 1, 4) => "destination unreachable: port unreachable",
        (true, 1, 5) => "destination unreachable: source address failed ingress/egress policy",
        (true, 1, 6) => "destination unreachable: reject route to destination",
        (true, 1, 7) => "destination unreachable: error in source routing header",
        (true, 1, _) => "destination unreachable",
        (true, 2, _) => "packet too big",
        (true, 3, 0) => "time exceeded: hop limit exceeded in transit",
        (true, 3, 1) => "time exceeded: fragment reassembly time exceeded",
        (true, 3, _) => "time exceeded",
        (true, 4, 0) => "parameter problem: erroneous header field encountered",
        (true, 4, 1) => "parameter problem: unrecognized next header type encountered",
        (true, 4, 2) => "parameter problem: unrecognized IPv6 option encountered",
        (true, 4, _) => "parameter problem",
        _ => "ICMP error",
    }
}

/// Reads the ICMP (`v6` false) or ICMPv6 message `icmp`, carried from
/// `reporter` to `to`: an error about a TCP segment, or why not.
pub fn parse(icmp: &[u8], v6: bool, reporter: IpAddr, to: IpAddr) -> Result<IcmpError, NotAbout> {
    let (&icmp_type, &code) = match icmp {
        [t, c, ..] => (t, c),
        _ => return Err(NotAbout::Other),
    };
    let kind = kind(v6, icmp_type, code).ok_or(NotAbout::Other)?;
    // Type, code, checksum, 4 bytes of type-specific data, then the quote.
    let quote = icmp.get(8..).ok_or(NotAbout::Other)?;
    let quoted = quoted_tcp(quote, v6)?;
    let word = be32(icmp, 4);
    let mtu = match (kind, v6) {
        // RFC 1191: the next-hop MTU in the low 16 bits; 0 from old routers.
        (IcmpKind::PacketTooBig, false) => be16(icmp, 6).filter(|&m| m != 0).map(u32::from),
        // RFC 4443 §3.2: the whole word.
        (IcmpKind::PacketTooBig, true) => word,
        _ => None,
    };
    let gateway = match kind {
        IcmpKind::Redirect => word.map(|w| IpAddr::V4(w.into())),
        _ => None,
    };
    Ok(IcmpError {
        reporter,
        to,
        v6,
        icmp_type,
        code,
        kind,
        mtu,
        gateway,
        quoted,
        carried: 0,
    })
}

/// The quoted IP header and the start of the TCP header after it.
fn quoted_tcp(quote: &[u8], v6: bool) -> Result<Quoted, NotAbout> {
    // The lax slicer reads a header whose payload was cut, as a quote's is.
    let (ip, _) = LaxIpSlice::from_slice(quote).map_err(|_| NotAbout::Other)?;
    if matches!(ip, LaxIpSlice::Ipv6(_)) != v6 {
        return Err(NotAbout::Other);
    }
    let payload = ip.payload();
    if payload.ip_number != ip_number::TCP {
        return Err(NotAbout::Other);
    }
    // A fragment after the first carries no TCP header.
    if ip.is_fragmenting_payload() && !starts_datagram(&ip) {
        return Err(NotAbout::Other);
    }
    let tcp = payload.payload;
    let (Some(src_port), Some(dst_port)) = (be16(tcp, 0), be16(tcp, 2)) else {
        return Err(NotAbout::TruncatedQuote);
    };
    let (ip_len, ttl) = match &ip {
        LaxIpSlice::Ipv4(v4) => (u32::from(v4.header().total_len()), v4.header().ttl()),
        LaxIpSlice::Ipv6(v6) => (
            40 + u32::from(v6.header().payload_length()),
            v6.header().hop_limit(),
        ),
    };
    Ok(Quoted {
        src: ip.source_addr(),
        src_port,
        dst: ip.destination_addr(),
        dst_port,
        seq: be32(tcp, 4).map(SeqNum),
        ip_len,
        ttl,
    })
}

/// Whether a fragmenting packet is the first fragment, which holds the
/// TCP header: an IPv4 fragment at offset 0. A quoted IPv6 fragment is not
/// read (the slicer does not say its offset; routers seldom quote one).
fn starts_datagram(ip: &LaxIpSlice<'_>) -> bool {
    match ip {
        LaxIpSlice::Ipv4(v4) => v4.header().fragments_offset().value() == 0,
        LaxIpSlice::Ipv6(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const ROUTER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 1, 254));
    const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 1, 1));

    /// An IPv4 SYN from 10.0.1.1:40000 to 10.0.2.1:443, seq 0xfffffff0.
    fn syn_v4() -> Vec<u8> {
        let mut out = Vec::new();
        PacketBuilder::ipv4([10, 0, 1, 1], [10, 0, 2, 1], 63)
            .tcp(40000, 443, 0xffff_fff0, 64240)
            .syn()
            .write(&mut out, &[])
            .unwrap();
        out
    }

    fn syn_v6() -> Vec<u8> {
        let mut out = Vec::new();
        let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
        a[0] = 0xfd;
        a[15] = 1;
        b[0] = 0xfd;
        b[15] = 2;
        PacketBuilder::ipv6(a, b, 64)
            .tcp(40000, 443, 7, 64240)
            .syn()
            .write(&mut out, &[1; 20])
            .unwrap();
        out
    }

    fn icmp(t: u8, c: u8, word: [u8; 4], quote: &[u8]) -> Vec<u8> {
        let mut m = vec![t, c, 0, 0];
        m.extend_from_slice(&word);
        m.extend_from_slice(quote);
        m
    }

    #[test]
    fn reads_an_admin_prohibited_error_and_its_quote() {
        let m = icmp(3, 13, [0; 4], &syn_v4()[..28]);
        let e = parse(&m, false, ROUTER, CLIENT).unwrap();
        assert_eq!(e.kind, IcmpKind::AdminProhibited);
        assert_eq!((e.icmp_type, e.code, e.mtu), (3, 13, None));
        assert_eq!(e.reporter, ROUTER);
        let q = e.quoted;
        assert_eq!((q.src, q.src_port, q.dst_port), (CLIENT, 40000, 443));
        assert_eq!(q.seq, Some(SeqNum(0xffff_fff0)));
        assert_eq!((q.ip_len, q.ttl), (40, 63));
        assert!(e.description().contains("administratively prohibited"));
    }

    #[test]
    fn every_code_has_a_kind_and_a_name() {
        for (v6, t) in [(false, 3), (false, 11), (false, 12), (true, 1), (true, 3)] {
            for c in 0..=16 {
                assert!(kind(v6, t, c).is_some());
                assert!(!describe(v6, t, c).is_empty());
            }
        }
        assert_eq!(kind(false, 3, 3), Some(IcmpKind::Unreachable));
        assert_eq!(kind(false, 3, 10), Some(IcmpKind::AdminProhibited));
        assert_eq!(kind(true, 1, 4), Some(IcmpKind::Unreachable));
        assert_eq!(kind(true, 1, 1), Some(IcmpKind::AdminProhibited));
        // Echo, router advertisement, neighbour solicitation: not errors.
        assert_eq!(kind(false, 0, 0), None);
        assert_eq!(kind(false, 8, 0), None);
        assert_eq!(kind(true, 128, 0), None);
        assert_eq!(kind(true, 135, 0), None);
    }

    #[test]
    fn fragmentation_needed_carries_the_next_hop_mtu() {
        let m = icmp(3, 4, [0, 0, 0x05, 0x00], &syn_v4()[..28]);
        let e = parse(&m, false, ROUTER, CLIENT).unwrap();
        assert_eq!((e.kind, e.mtu), (IcmpKind::PacketTooBig, Some(1280)));
        // An RFC 792 router leaves it 0: unknown, not zero.
        let m = icmp(3, 4, [0; 4], &syn_v4()[..28]);
        assert_eq!(parse(&m, false, ROUTER, CLIENT).unwrap().mtu, None);
    }

    #[test]
    fn icmpv6_packet_too_big_and_unreachable() {
        let (r, c) = (
            IpAddr::V6(Ipv6Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        );
        let m = icmp(2, 0, 1280u32.to_be_bytes(), &syn_v6());
        let e = parse(&m, true, r, c).unwrap();
        assert_eq!((e.kind, e.mtu), (IcmpKind::PacketTooBig, Some(1280)));
        assert_eq!(e.quoted.seq, Some(SeqNum(7)));
        assert_eq!(e.quoted.ip_len, 40 + 20 + 20);
        let m = icmp(1, 1, [0; 4], &syn_v6()[..48]);
        assert_eq!(
            parse(&m, true, r, c).unwrap().kind,
            IcmpKind::AdminProhibited
        );
        // An IPv4 quote in an ICMPv6 error is not believed.
        let m = icmp(1, 1, [0; 4], &syn_v4());
        assert_eq!(parse(&m, true, r, c), Err(NotAbout::Other));
    }

    #[test]
    fn a_redirect_names_its_gateway() {
        let m = icmp(5, 1, [10, 0, 1, 253], &syn_v4()[..28]);
        let e = parse(&m, false, ROUTER, CLIENT).unwrap();
        assert_eq!(e.kind, IcmpKind::Redirect);
        assert_eq!(e.gateway, Some(IpAddr::V4(Ipv4Addr::new(10, 0, 1, 253))));
        assert!(!e.kind.rejects());
    }

    #[test]
    fn a_quote_cut_short_gives_what_it_holds() {
        let syn = syn_v4();
        // Ports but no sequence number.
        let e = parse(&icmp(3, 3, [0; 4], &syn[..24]), false, ROUTER, CLIENT).unwrap();
        assert_eq!((e.quoted.dst_port, e.quoted.seq), (443, None));
        // Not even the ports.
        assert_eq!(
            parse(&icmp(3, 3, [0; 4], &syn[..22]), false, ROUTER, CLIENT),
            Err(NotAbout::TruncatedQuote)
        );
        // Not the whole IP header.
        assert_eq!(
            parse(&icmp(3, 3, [0; 4], &syn[..12]), false, ROUTER, CLIENT),
            Err(NotAbout::Other)
        );
    }

    #[test]
    fn errors_about_other_protocols_are_not_read() {
        let mut udp = Vec::new();
        PacketBuilder::ipv4([10, 0, 1, 1], [10, 0, 2, 1], 63)
            .udp(5000, 53)
            .write(&mut udp, &[0; 8])
            .unwrap();
        assert_eq!(
            parse(&icmp(3, 3, [0; 4], &udp), false, ROUTER, CLIENT),
            Err(NotAbout::Other)
        );
    }

    /// An ICMP error packet from the router to the client about `quoted`.
    fn icmp_packet(quoted: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        PacketBuilder::ipv4([10, 0, 1, 254], [10, 0, 1, 1], 64)
            .icmpv4_raw(3, 13, [0; 4])
            .write(&mut out, quoted)
            .unwrap();
        out
    }

    /// Through the decoder: bare, in an 802.1Q tag, in IP-in-IP (a tunnel
    /// the connection table tells apart), and cut in two IP fragments (not
    /// reassembled: ICMP is not a protocol that may carry TCP).
    #[test]
    fn the_decoder_finds_errors_inside_encapsulations() {
        use super::super::{decode_packet, defrag, linktype, Encapsulation, Packet, SkipReason};
        let packet = icmp_packet(&syn_v4()[..28]);
        let decode = |lt, frame: &[u8]| {
            let mut tunnels = Encapsulation::new();
            let mut defrag = defrag::Reassembler::new(defrag::Limits::default());
            let got = decode_packet(lt, frame, true, 0, &mut tunnels, &mut defrag, &mut None);
            (got, tunnels.len())
        };
        let want = |got: Result<Packet, SkipReason>| match got {
            Ok(Packet::Icmp(e)) => {
                assert_eq!((e.kind, e.reporter), (IcmpKind::AdminProhibited, ROUTER));
                assert_eq!(e.quoted.seq, Some(SeqNum(0xffff_fff0)));
            }
            other => panic!("{other:?}"),
        };
        let (got, tunnels) = decode(linktype::RAW, &packet);
        want(got);
        assert_eq!(tunnels, 0);
        let mut tagged = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x81, 0, 0, 7, 0x08, 0];
        tagged.extend_from_slice(&packet);
        let (got, tunnels) = decode(linktype::ETHERNET, &tagged);
        want(got);
        assert_eq!(tunnels, 0);
        let mut ipip = Vec::new();
        PacketBuilder::ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64)
            .write(&mut ipip, etherparse::IpNumber::IPV4, &packet)
            .unwrap();
        let (got, tunnels) = decode(linktype::RAW, &ipip);
        want(got);
        assert_eq!(tunnels, 1);
        // The first fragment of an ICMP error: held for nobody.
        let mut first = packet.clone();
        first[6] = 0x20; // more fragments
        let (got, _) = decode(linktype::RAW, &first);
        assert_eq!(got, Err(SkipReason::IpFragment));
    }

    /// Every cut and every byte value at every position of a quote: no
    /// panic, and whatever is read lies inside the message.
    #[test]
    fn hostile_quotes_do_not_panic() {
        let mut read = 0;
        for (v6, t, c, quote) in [(false, 3, 13, syn_v4()), (true, 2, 0, syn_v6())] {
            let m = icmp(t, c, [0, 0, 5, 0], &quote);
            for cut in 0..=m.len() {
                for at in 0..cut {
                    for value in [0u8, 1, 0x0f, 0x40, 0x45, 0x4f, 0x60, 0x86, 0xff] {
                        let mut bad = m[..cut].to_vec();
                        bad[at] = value;
                        if parse(&bad, v6, ROUTER, CLIENT).is_ok() {
                            read += 1;
                        }
                    }
                }
            }
        }
        assert!(read > 1000, "{read}");
    }
}
