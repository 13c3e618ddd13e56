//! Decoding one captured frame into a TCP segment: link layer → IP → TCP.
//!
//! The true segment length always comes from the IP length fields, never
//! from the number of captured bytes, so header-only captures (snaplen
//! 54–96) give the same results as full ones. Only the first 20 bytes of
//! the TCP header are required; options are read where they were captured.
//!
//! Link layers are peeled here by hand because they are a few fixed-size
//! headers and etherparse covers neither SLL2, BSD NULL/LOOP nor more than
//! three VLAN tags; IP (with IPv4 options and IPv6 extension headers) is
//! left to etherparse's lax slicer, which tolerates snaplen truncation.

use crate::seq::SeqNum;
use etherparse::{ip_number, LaxIpSlice, TcpOptionElement, TcpOptionsIterator};
use serde::Serialize;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

pub mod checksum;
pub mod defrag;
mod fragment;
pub mod icmp;
pub mod link;
pub mod tunnel;

use defrag::{Outcome, Reassembler};

pub use icmp::{IcmpError, IcmpKind};
pub use link::linktype;
pub use tunnel::{CarrierNumbers, Carriers, Encapsulation, Tunnel, TunnelKind};

/// Headers one frame may nest at most (link, tag, tunnel and IP headers,
/// VLAN tags not counted); a frame with more is `encapsulation_too_deep`.
pub const MAX_LAYERS: usize = 32;

/// TCP control bits, with the ECN bits and the AE/NS bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u16);

impl TcpFlags {
    pub const FIN: u16 = 0x001;
    pub const SYN: u16 = 0x002;
    pub const RST: u16 = 0x004;
    pub const PSH: u16 = 0x008;
    pub const ACK: u16 = 0x010;
    pub const URG: u16 = 0x020;
    pub const ECE: u16 = 0x040;
    pub const CWR: u16 = 0x080;
    pub const AE: u16 = 0x100;

    /// Wireshark's order, as in its Info column: `[FIN, SYN, RST, PSH, ACK, URG, ECE, CWR, AE]`.
    const NAMES: [(u16, &'static str); 9] = [
        (Self::FIN, "FIN"),
        (Self::SYN, "SYN"),
        (Self::RST, "RST"),
        (Self::PSH, "PSH"),
        (Self::ACK, "ACK"),
        (Self::URG, "URG"),
        (Self::ECE, "ECE"),
        (Self::CWR, "CWR"),
        (Self::AE, "AE"),
    ];

    pub fn has(self, bit: u16) -> bool {
        self.0 & bit != 0
    }
    /// The names of the flags set, in Wireshark's order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::NAMES
            .into_iter()
            .filter(move |&(bit, _)| self.has(bit))
            .map(|(_, name)| name)
    }
    pub fn syn(self) -> bool {
        self.has(Self::SYN)
    }
    pub fn ack(self) -> bool {
        self.has(Self::ACK)
    }
    pub fn fin(self) -> bool {
        self.has(Self::FIN)
    }
    pub fn rst(self) -> bool {
        self.has(Self::RST)
    }
}

impl fmt::Display for TcpFlags {
    /// Comma-separated names, e.g. `SYN,ACK`; `NONE` for a segment with no flags.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (bit, name) in Self::NAMES {
            if self.has(bit) {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("NONE")?;
        }
        Ok(())
    }
}

/// The fields of one TCP segment that the analysis uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub src: IpAddr,
    pub src_port: u16,
    pub dst: IpAddr,
    pub dst_port: u16,
    pub seq: SeqNum,
    pub ack: SeqNum,
    pub flags: TcpFlags,
    pub window: u16,
    /// Payload length from the IP length fields (true length, even when the
    /// capture kept only the headers).
    pub payload_len: u32,
    /// Window scale option, when present and captured (SYN segments).
    pub wscale: Option<u8>,
    /// Maximum segment size option, when present and captured (SYN
    /// segments): the largest payload the sender will accept.
    pub mss: Option<u16>,
    /// Length of the whole IP packet (headers included), from the IP header.
    pub ip_len: u32,
    /// The tunnels that carried the segment, by their number in the
    /// capture's [`Carriers`]; 0 for a segment captured bare.
    pub carried: u16,
    /// The capture kept less than the whole payload (a short snaplen):
    /// Zeek does not deliver such a payload to its reassembler.
    pub payload_cut: bool,
    /// The IPv4 identification field (0 for IPv6, which has none outside a
    /// fragment header).
    pub ip_id: u16,
    /// The IPv4 TTL or the IPv6 hop limit, as captured.
    pub ttl: u8,
}

impl Segment {
    /// Sequence space the segment occupies: payload plus one for SYN and one for FIN.
    pub fn seq_len(&self) -> u32 {
        self.payload_len
            .saturating_add(u32::from(self.flags.syn()))
            .saturating_add(u32::from(self.flags.fin()))
    }

    /// The sequence number just after this segment.
    pub fn seq_end(&self) -> SeqNum {
        self.seq + self.seq_len()
    }
}

/// Why a frame was not analyzed as a TCP segment. Every skipped frame is
/// counted under one of these reasons; the names are part of the JSON contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// The file's link type is not in the link-type registry (a private-use
    /// or unassigned value).
    UnknownLinkType,
    /// A registered link type tcpstate does not decode; holds the whole key,
    /// `unsupported_link_type: LINKTYPE_…`.
    UnsupportedLinkType(&'static str),
    /// A pcapng packet names an interface that was never described.
    UnknownInterface,
    /// The frame ends inside its link-layer header.
    TruncatedLinkHeader,
    /// The frame ends inside a tunnel header (GRE, MPLS, PPPoE, VXLAN, …).
    TruncatedTunnelHeader,
    /// A layer tcpstate recognises but cannot read further; holds the whole
    /// key, `unsupported_encapsulation: …`.
    UnsupportedEncapsulation(&'static str),
    /// More nested headers or tunnels than [`MAX_LAYERS`] / [`tunnel::MAX_TUNNELS`].
    EncapsulationTooDeep,
    /// An 802.11 data frame with the protected bit: its body is encrypted.
    Encrypted80211,
    /// Not IPv4 or IPv6 (ARP, LLDP, …).
    NotIp,
    /// IP, but not TCP (UDP, ICMP, …).
    NotTcp,
    /// An IP fragment that yields no segment (yet): held until its datagram
    /// is complete, or of a datagram that carries no TCP.
    IpFragment,
    /// A fragment not held: reassembly's memory limits were reached.
    IpFragmentLimit,
    /// A fragment that overlaps other bytes of its datagram, or disagrees
    /// about its end: the datagram is dropped.
    IpFragmentInconsistent,
    /// A fragment of a datagram not completed within the reassembly timeout.
    IpFragmentTimeout,
    /// The frame ends inside the IP header.
    TruncatedIpHeader,
    /// An IP header with invalid contents.
    InvalidIpHeader,
    /// An IPv4 header whose options are malformed: an option length below 2
    /// or running past the header. The packet is malformed; where its TCP
    /// header starts cannot be trusted.
    MalformedIpOptions,
    /// The IP length claims more bytes than the frame had on the wire.
    IpLengthExceedsFrame,
    /// The packet ends inside the first 20 bytes of the TCP header (as
    /// captured, or as its IP length says).
    TruncatedTcpHeader,
    /// A TCP header whose data offset is impossible.
    InvalidTcpHeader,
    /// A TCP segment whose addresses and ports `--filter` rules out: it is
    /// not tracked.
    Filtered,
    /// A TCP segment of a connection in another shard than `--shard`'s: it
    /// is not tracked.
    OtherShard,
    /// A TCP segment whose IPv4 header or TCP checksum is wrong, skipped
    /// with `--verify-checksums`.
    BadChecksum,
    /// An ICMP error about a TCP segment, attached to that segment's
    /// connection (it shows in the connection's report).
    IcmpAttached,
    /// An ICMP error about a TCP segment of no connection in the capture.
    IcmpNoConnection,
    /// An ICMP error whose quote of a TCP header is cut before the ports:
    /// its connection cannot be told.
    IcmpTruncatedQuote,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::UnknownLinkType => "unknown_link_type",
            SkipReason::UnsupportedLinkType(key) => key,
            SkipReason::UnknownInterface => "unknown_interface",
            SkipReason::TruncatedLinkHeader => "truncated_link_header",
            SkipReason::TruncatedTunnelHeader => "truncated_tunnel_header",
            SkipReason::UnsupportedEncapsulation(key) => key,
            SkipReason::EncapsulationTooDeep => "encapsulation_too_deep",
            SkipReason::Encrypted80211 => "encrypted_802_11",
            SkipReason::NotIp => "not_ip",
            SkipReason::NotTcp => "not_tcp",
            SkipReason::IpFragment => "ip_fragment",
            SkipReason::IpFragmentLimit => "ip_fragment_limit",
            SkipReason::IpFragmentInconsistent => "ip_fragment_inconsistent",
            SkipReason::IpFragmentTimeout => "ip_fragment_timeout",
            SkipReason::TruncatedIpHeader => "truncated_ip_header",
            SkipReason::InvalidIpHeader => "invalid_ip_header",
            SkipReason::MalformedIpOptions => "malformed_ip_options",
            SkipReason::IpLengthExceedsFrame => "ip_length_exceeds_frame",
            SkipReason::TruncatedTcpHeader => "truncated_tcp_header",
            SkipReason::InvalidTcpHeader => "invalid_tcp_header",
            SkipReason::Filtered => "filtered",
            SkipReason::OtherShard => "other_shard",
            SkipReason::BadChecksum => "bad_checksum",
            SkipReason::IcmpAttached => "icmp_attached",
            SkipReason::IcmpNoConnection => "icmp_no_connection",
            SkipReason::IcmpTruncatedQuote => "icmp_truncated_quote",
        }
    }

    /// Whether frames skipped for this reason may hide TCP that tcpstate did
    /// not understand (a link type or an encapsulation it cannot read), so
    /// that the verdict must say so.
    pub fn not_understood(self) -> bool {
        matches!(
            self,
            SkipReason::UnknownLinkType
                | SkipReason::UnsupportedLinkType(_)
                | SkipReason::UnknownInterface
                | SkipReason::UnsupportedEncapsulation(_)
                | SkipReason::EncapsulationTooDeep
                | SkipReason::Encrypted80211
                | SkipReason::IpFragmentLimit
        )
    }
}

impl Serialize for SkipReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

/// What a frame holds that the analysis uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    Segment(Segment),
    /// An ICMP or ICMPv6 error about a TCP segment. Boxed: rare, and
    /// larger than a segment, which every frame would otherwise copy.
    Icmp(Box<IcmpError>),
}

impl Packet {
    /// The segment; an ICMP error is `not_tcp`, as to a decoder of TCP only.
    fn segment(self) -> Result<Segment, SkipReason> {
        match self {
            Packet::Segment(seg) => Ok(seg),
            Packet::Icmp(_) => Err(SkipReason::NotTcp),
        }
    }
}

/// Decodes a frame of the given link type into a TCP segment. `complete`
/// says the capture kept the whole frame: then an IP length claiming more
/// than the frame holds is a corrupt field, not a header-only capture.
pub fn decode(link_type: u32, frame: &[u8], complete: bool) -> Result<Segment, SkipReason> {
    let mut tunnels = Encapsulation::new();
    decode_carried(link_type, frame, complete, &mut tunnels)
}

/// What one layer leads to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Next<'a> {
    /// A payload named by an ethertype (an Ethernet header is peeled at
    /// once by [`link::ethernet`]).
    EtherType(u16, &'a [u8]),
    /// An IPv4 or IPv6 packet.
    Ip(&'a [u8]),
    /// A PPP frame.
    Ppp(&'a [u8]),
    /// An MPLS label stack.
    Mpls(&'a [u8]),
    /// An 802.2 LLC header.
    Llc(&'a [u8]),
    /// An 802.11 frame.
    Wlan(&'a [u8]),
}

/// [`decode`], also saying in `tunnels` which tunnels carried the segment
/// (outermost first; empty for a segment captured bare).
pub fn decode_carried(
    link_type: u32,
    frame: &[u8],
    complete: bool,
    tunnels: &mut Encapsulation,
) -> Result<Segment, SkipReason> {
    tunnels.clear();
    if let Some(decoded) = plain_ipv4_tcp(link_type, frame) {
        return decoded;
    }
    let next = link::payload(link_type, frame)?;
    walk(next, complete, tunnels, None, &mut None).and_then(Packet::segment)
}

/// [`decode_carried`], with IP fragments reassembled by `defrag` (the frame
/// captured at `ts_ns`): a fragment that completes its datagram yields the
/// datagram's segment; the others are `ip_fragment`.
pub fn decode_reassembling(
    link_type: u32,
    frame: &[u8],
    complete: bool,
    ts_ns: i64,
    tunnels: &mut Encapsulation,
    defrag: &mut Reassembler,
) -> Result<Segment, SkipReason> {
    decode_packet(
        link_type, frame, complete, ts_ns, tunnels, defrag, &mut None,
    )
    .and_then(Packet::segment)
}

/// [`decode_reassembling`], also giving the ICMP errors about TCP segments
/// (inside whatever encapsulation; `tunnels` says which, as for a segment),
/// and in `ip` the IP packet that carried a segment (for its checksums;
/// `None` for a datagram reassembled from fragments).
pub fn decode_packet<'a>(
    link_type: u32,
    frame: &'a [u8],
    complete: bool,
    ts_ns: i64,
    tunnels: &mut Encapsulation,
    defrag: &mut Reassembler,
    ip: &mut Option<&'a [u8]>,
) -> Result<Packet, SkipReason> {
    tunnels.clear();
    *ip = None;
    if let Some(decoded) = plain_ipv4_tcp(link_type, frame) {
        *ip = match link_type {
            linktype::ETHERNET => frame.get(14..),
            _ => Some(frame),
        };
        return decoded.map(Packet::Segment);
    }
    let next = link::payload(link_type, frame)?;
    walk(next, complete, tunnels, Some((defrag, ts_ns)), ip)
}

/// The common case read at once: Ethernet II (or a raw IP link type) →
/// IPv4, not a fragment and whole as its total length says → TCP. `None`
/// for anything else, left to [`walk`]; otherwise exactly what `walk` gives
/// (no tunnel, no fragment, and the IP length within the frame, so that
/// neither `complete` nor reassembly can matter).
#[inline]
fn plain_ipv4_tcp(link_type: u32, frame: &[u8]) -> Option<Result<Segment, SkipReason>> {
    let packet = match link_type {
        linktype::ETHERNET => match frame {
            [_, _, _, _, _, _, _, _, _, _, _, _, 0x08, 0x00, rest @ ..] => rest,
            _ => return None,
        },
        linktype::RAW | linktype::RAW_12 | linktype::RAW_14 | linktype::IPV4 => frame,
        _ => return None,
    };
    let [vihl, _, t0, t1, i0, i1, f0, f1, ttl, protocol, _, _, s0, s1, s2, s3, d0, d1, d2, d3, ..] =
        *packet
    else {
        return None;
    };
    let header_len = usize::from(vihl & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([t0, t1]));
    // Version 4, TCP, neither more fragments nor an offset, and a total
    // length that holds the header and fits in the frame (as etherparse's
    // lax slicer then takes it: the payload ends where the length says).
    if vihl >> 4 != 4
        || protocol != ip_number::TCP.0
        || u16::from_be_bytes([f0, f1]) & 0x3fff != 0
        || header_len < 20
        || total < header_len
        || total > packet.len()
    {
        return None;
    }
    if header_len > 20 && !ipv4_options_sound(&packet[20..header_len]) {
        return Some(Err(SkipReason::MalformedIpOptions));
    }
    let src = IpAddr::V4(Ipv4Addr::new(s0, s1, s2, s3));
    let dst = IpAddr::V4(Ipv4Addr::new(d0, d1, d2, d3));
    Some(
        decode_tcp(src, dst, &packet[header_len..total], total - header_len).map(|mut seg| {
            seg.ip_len = u32::try_from(total).unwrap_or(u32::MAX);
            seg.ttl = ttl;
            seg.ip_id = u16::from_be_bytes([i0, i1]);
            seg
        }),
    )
}

/// Whether IPv4 options parse (RFC 791 3.1): end of list and no-operation
/// are one byte; every other option has a length byte of at least 2 that
/// stays inside the options.
fn ipv4_options_sound(options: &[u8]) -> bool {
    let mut at = 0;
    while let Some(&kind) = options.get(at) {
        match kind {
            0 => return true,
            1 => at += 1,
            _ => match options.get(at + 1) {
                Some(&len) if len >= 2 && at + usize::from(len) <= options.len() => {
                    at += usize::from(len)
                }
                _ => return false,
            },
        }
    }
    true
}

/// Peels layers from `next` down to the TCP segment.
fn walk<'a>(
    mut next: Next<'a>,
    complete: bool,
    tunnels: &mut Encapsulation,
    mut defrag: Option<(&mut Reassembler, i64)>,
    ip: &mut Option<&'a [u8]>,
) -> Result<Packet, SkipReason> {
    for _ in 0..MAX_LAYERS {
        next = match next {
            Next::Ip(packet) => match decode_ip(packet, complete)? {
                Ip::Segment(seg) => {
                    *ip = Some(packet);
                    return Ok(Packet::Segment(seg));
                }
                Ip::Icmp(error) => return Ok(Packet::Icmp(Box::new(error))),
                Ip::Tunnel(tunnel, inner) => {
                    tunnels
                        .try_push(tunnel)
                        .map_err(|_| SkipReason::EncapsulationTooDeep)?;
                    inner
                }
                Ip::Fragment => {
                    let Some((reassembler, ts_ns)) = defrag.take() else {
                        return Err(SkipReason::IpFragment);
                    };
                    let Some(fragment) = fragment::parse(packet) else {
                        return Err(SkipReason::IpFragment);
                    };
                    return match reassembler.add(fragment, ts_ns) {
                        Outcome::Held => Err(SkipReason::IpFragment),
                        Outcome::Skipped(reason) => Err(reason),
                        // The whole datagram, decoded on (a fragment inside
                        // it is not reassembled again); a datagram without
                        // TCP leaves its fragments what they were.
                        Outcome::Complete(whole) => {
                            walk(Next::Ip(&whole), true, tunnels, None, &mut None).map_err(|e| {
                                match e {
                                    SkipReason::NotTcp | SkipReason::NotIp => {
                                        SkipReason::IpFragment
                                    }
                                    e => e,
                                }
                            })
                        }
                    };
                }
            },
            Next::EtherType(t, rest) => tunnel::ether_type(t, rest)?,
            Next::Ppp(b) => tunnel::ppp(b)?,
            Next::Mpls(b) => tunnel::mpls(b)?,
            Next::Llc(b) => link::llc(b)?,
            Next::Wlan(b) => link::wlan(b)?,
        };
    }
    Err(SkipReason::EncapsulationTooDeep)
}

/// What an IP packet holds.
enum Ip<'a> {
    Segment(Segment),
    Icmp(IcmpError),
    Tunnel(Tunnel, Next<'a>),
    /// A fragment of a datagram.
    Fragment,
}

fn decode_ip(packet: &[u8], complete: bool) -> Result<Ip<'_>, SkipReason> {
    use etherparse::err::ip::LaxHeaderSliceError;
    let (ip, _ext_err) = LaxIpSlice::from_slice(packet).map_err(|e| match e {
        LaxHeaderSliceError::Len(_) => SkipReason::TruncatedIpHeader,
        LaxHeaderSliceError::Content(_) => SkipReason::InvalidIpHeader,
    })?;
    if let LaxIpSlice::Ipv4(v4) = &ip {
        if !ipv4_options_sound(v4.header().options()) {
            return Err(SkipReason::MalformedIpOptions);
        }
    }
    if ip.is_fragmenting_payload() {
        return Ok(Ip::Fragment);
    }
    let payload = ip.payload();
    let v6 = matches!(ip, LaxIpSlice::Ipv6(_));
    let icmp_number = if v6 {
        icmp::PROTO_ICMPV6
    } else {
        icmp::PROTO_ICMP
    };
    if payload.ip_number.0 == icmp_number {
        let (from, to) = (ip.source_addr(), ip.destination_addr());
        return match icmp::parse(payload.payload, v6, from, to) {
            Ok(error) => Ok(Ip::Icmp(error)),
            Err(icmp::NotAbout::TruncatedQuote) => Err(SkipReason::IcmpTruncatedQuote),
            Err(icmp::NotAbout::Other) => Err(SkipReason::NotTcp),
        };
    }
    if payload.ip_number != ip_number::TCP {
        let outer = tunnel::Outer {
            src: ip.source_addr(),
            dst: ip.destination_addr(),
            complete,
        };
        return match tunnel::ip_protocol(payload.ip_number.0, payload.payload, outer)? {
            Some((tunnel, inner)) => Ok(Ip::Tunnel(tunnel, inner)),
            None => Err(SkipReason::NotTcp),
        };
    }
    // Where the payload starts inside the packet, to turn the IP length
    // fields into the true payload length.
    let header_bytes = (payload.payload.as_ptr() as usize).saturating_sub(packet.as_ptr() as usize);
    // The IP length fields give the true length even when the capture kept
    // only the headers. A zero or impossible length (segmentation offload,
    // IPv6 jumbograms) leaves only the captured bytes to go by.
    let declared_total = match &ip {
        LaxIpSlice::Ipv4(v4) => usize::from(v4.header().total_len()),
        LaxIpSlice::Ipv6(v6) => match v6.header().payload_length() {
            0 => 0,
            n => 40 + usize::from(n),
        },
    };
    // Ethernet pads short frames, so a complete frame may hold more than the
    // IP length, never less.
    if complete && declared_total > packet.len() {
        return Err(SkipReason::IpLengthExceedsFrame);
    }
    let ip_payload_len = if declared_total > header_bytes {
        declared_total - header_bytes
    } else {
        payload.payload.len()
    };
    let mut seg = decode_tcp(
        ip.source_addr(),
        ip.destination_addr(),
        payload.payload,
        ip_payload_len,
    )?;
    seg.ip_len = u32::try_from(header_bytes + ip_payload_len).unwrap_or(u32::MAX);
    (seg.ttl, seg.ip_id) = match &ip {
        LaxIpSlice::Ipv4(v4) => (v4.header().ttl(), v4.header().identification()),
        LaxIpSlice::Ipv6(v6) => (v6.header().hop_limit(), 0),
    };
    Ok(Ip::Segment(seg))
}

fn decode_tcp(
    src: IpAddr,
    dst: IpAddr,
    tcp: &[u8],
    ip_payload_len: usize,
) -> Result<Segment, SkipReason> {
    if tcp.len() < 20 {
        return Err(SkipReason::TruncatedTcpHeader);
    }
    let header_len = usize::from(tcp[12] >> 4) * 4;
    if header_len < 20 || header_len > ip_payload_len {
        return Err(SkipReason::InvalidTcpHeader);
    }
    let flags = TcpFlags((u16::from(tcp[12] & 1) << 8) | u16::from(tcp[13]));
    let mut wscale = None;
    let mut mss = None;
    if header_len > 20 {
        let captured = &tcp[20..header_len.min(tcp.len())];
        for option in TcpOptionsIterator::from_slice(captured) {
            match option {
                Ok(TcpOptionElement::WindowScale(s)) => wscale = Some(s),
                Ok(TcpOptionElement::MaximumSegmentSize(m)) => mss = Some(m),
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }
    let field = |at| be32(tcp, at).unwrap_or_default();
    Ok(Segment {
        src,
        src_port: be16(tcp, 0).unwrap_or_default(),
        dst,
        dst_port: be16(tcp, 2).unwrap_or_default(),
        seq: SeqNum(field(4)),
        ack: SeqNum(field(8)),
        flags,
        window: be16(tcp, 14).unwrap_or_default(),
        payload_len: u32::try_from(ip_payload_len - header_len).unwrap_or(u32::MAX),
        wscale,
        mss,
        ip_len: 0,
        carried: 0,
        payload_cut: tcp.len() < ip_payload_len,
        ip_id: 0,
        ttl: 0,
    })
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod bare_tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn ethernet_syn(payload: &[u8]) -> Vec<u8> {
        let builder = PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(40000, 80, 0xffff_fff0, 1024)
            .syn();
        let mut out = Vec::new();
        builder.write(&mut out, payload).unwrap();
        out
    }

    #[test]
    fn decodes_an_ethernet_ipv4_segment() {
        let f = ethernet_syn(&[]);
        let s = decode(linktype::ETHERNET, &f, true).unwrap();
        assert_eq!(s.src_port, 40000);
        assert_eq!(s.dst_port, 80);
        assert_eq!(s.seq, SeqNum(0xffff_fff0));
        assert!(s.flags.syn() && !s.flags.ack());
        assert_eq!(s.flags.to_string(), "SYN");
        assert_eq!(s.seq_len(), 1);
    }

    #[test]
    fn payload_length_comes_from_ip_header_not_capture() {
        let f = ethernet_syn(&[7; 100]);
        let cut = &f[..54];
        let s = decode(linktype::ETHERNET, cut, false).unwrap();
        assert_eq!(s.payload_len, 100);
        assert_eq!(s.seq_end(), SeqNum(0xffff_fff0) + 101);
    }

    #[test]
    fn frame_cut_inside_tcp_header_is_skipped() {
        let f = ethernet_syn(&[]);
        assert_eq!(
            decode(linktype::ETHERNET, &f[..14 + 20 + 19], false),
            Err(SkipReason::TruncatedTcpHeader)
        );
        assert_eq!(
            decode(linktype::ETHERNET, &f[..20], false),
            Err(SkipReason::TruncatedIpHeader)
        );
        assert_eq!(
            decode(linktype::ETHERNET, &f[..10], false),
            Err(SkipReason::TruncatedLinkHeader)
        );
    }

    #[test]
    fn vlan_tags_of_any_depth_are_skipped() {
        let f = ethernet_syn(&[]);
        let mut tagged = f[..12].to_vec();
        for tpid in [0x88a8u16, 0x8100, 0x8100, 0x8100] {
            tagged.extend_from_slice(&tpid.to_be_bytes());
            tagged.extend_from_slice(&[0, 10]);
        }
        tagged.extend_from_slice(&f[12..]);
        assert_eq!(
            decode(linktype::ETHERNET, &tagged, true),
            decode(linktype::ETHERNET, &f, true)
        );
    }

    #[test]
    fn ip_length_beyond_a_complete_frame_is_corrupt() {
        let f = ethernet_syn(&[7; 10]);
        let mut bad = f.clone();
        bad[16..18].copy_from_slice(&0xffffu16.to_be_bytes());
        assert_eq!(
            decode(linktype::ETHERNET, &bad, true),
            Err(SkipReason::IpLengthExceedsFrame)
        );
        // The same bytes from a header-only capture are a cut frame, not a corrupt one.
        assert!(decode(linktype::ETHERNET, &bad, false).is_ok());
    }

    #[test]
    fn unknown_link_type_and_non_tcp_are_reasons() {
        assert_eq!(
            decode(9999, &[0; 60], true),
            Err(SkipReason::UnknownLinkType)
        );
        let mut udp = Vec::new();
        PacketBuilder::ipv4([1, 1, 1, 1], [2, 2, 2, 2], 5)
            .udp(1, 2)
            .write(&mut udp, &[1])
            .unwrap();
        assert_eq!(decode(linktype::RAW, &udp, true), Err(SkipReason::NotTcp));
    }

    /// Every frame's decoding returns a `Packet`: an ICMP error (rare) must
    /// not make it larger than a segment.
    #[test]
    fn a_packet_is_the_size_of_a_segment() {
        use std::mem::size_of;
        assert_eq!(
            size_of::<Result<Packet, SkipReason>>(),
            size_of::<Result<Segment, SkipReason>>()
        );
    }

    #[test]
    fn ipv4_options_are_checked() {
        assert!(ipv4_options_sound(&[]));
        assert!(ipv4_options_sound(&[1, 1, 0, 0]), "NOPs, end of list");
        assert!(
            ipv4_options_sound(&[0, 99, 99, 99]),
            "after the end: padding"
        );
        assert!(
            ipv4_options_sound(&[7, 7, 4, 0, 0, 0, 0, 1]),
            "record route"
        );
        assert!(!ipv4_options_sound(&[7, 48, 4, 0]), "runs past the header");
        assert!(!ipv4_options_sound(&[7, 1, 0, 0]), "length below 2");
        assert!(!ipv4_options_sound(&[1, 1, 1, 68]), "no length byte");
        assert!(!ipv4_options_sound(&[68, 0, 0, 0]), "length 0");
    }

    #[test]
    fn malformed_ipv4_options_make_the_packet_malformed() {
        use etherparse::{IpHeaders, IpNumber, Ipv4Extensions, Ipv4Header};
        let mut v4 = Ipv4Header::new(0, 64, IpNumber::TCP, [10, 0, 0, 1], [10, 0, 0, 2]).unwrap();
        v4.options = [1u8, 1, 1, 1].into();
        let builder = PacketBuilder::ip(IpHeaders::Ipv4(v4, Ipv4Extensions::default()))
            .tcp(1000, 80, 1, 1000);
        let mut packet = Vec::new();
        builder.write(&mut packet, &[]).unwrap();
        // A record-route option claiming 48 bytes in a 4-byte option area.
        packet[20..24].copy_from_slice(&[7, 48, 4, 0]);
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x08, 0x00]);
        frame.extend_from_slice(&packet);
        for (link, bytes) in [
            (linktype::ETHERNET, &frame[..]),
            (linktype::RAW, &packet[..]),
        ] {
            assert_eq!(
                decode(link, bytes, true).unwrap_err(),
                SkipReason::MalformedIpOptions,
                "link type {link}"
            );
        }
        // Behind a VLAN tag (not the fast path), the same.
        let mut tagged = vec![0u8; 12];
        tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x0a, 0x08, 0x00]);
        tagged.extend_from_slice(&packet);
        assert_eq!(
            decode(linktype::ETHERNET, &tagged, true).unwrap_err(),
            SkipReason::MalformedIpOptions
        );
    }

    #[test]
    fn ipv4_options_are_skipped() {
        use etherparse::{IpHeaders, IpNumber, Ipv4Extensions, Ipv4Header};
        let mut v4 = Ipv4Header::new(0, 64, IpNumber::TCP, [10, 0, 0, 1], [10, 0, 0, 2]).unwrap();
        // Two NOPs and an end-of-options list, padded to 8 bytes.
        v4.options = [1u8, 1, 0, 0, 0, 0, 0, 0].into();
        let builder = PacketBuilder::ip(IpHeaders::Ipv4(v4, Ipv4Extensions::default()))
            .tcp(40000, 80, 7, 100)
            .ack(9);
        let mut frame = Vec::new();
        builder.write(&mut frame, &[1; 30]).unwrap();
        assert_eq!(frame[0] & 0x0f, 7, "IHL 7: 8 bytes of options");
        let s = decode(linktype::RAW, &frame, true).unwrap();
        assert_eq!(
            (s.src_port, s.dst_port, s.seq, s.ack),
            (40000, 80, SeqNum(7), SeqNum(9))
        );
        assert_eq!(s.payload_len, 30);
        assert_eq!(s.ip_len, 28 + 20 + 30);
    }

    #[test]
    fn ipv6_extension_headers_are_skipped() {
        use etherparse::{IpHeaders, IpNumber, Ipv6Extensions, Ipv6Header, Ipv6RawExtHeader};
        let v6 = Ipv6Header {
            next_header: IpNumber::IPV6_HEADER_HOP_BY_HOP,
            hop_limit: 64,
            source: [0xfd, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            destination: [0xfd, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
            ..Default::default()
        };
        let exts = Ipv6Extensions {
            hop_by_hop_options: Some(
                Ipv6RawExtHeader::new_raw(IpNumber::IPV6_DESTINATION_OPTIONS, &[1, 4, 0, 0, 0, 0])
                    .unwrap(),
            ),
            destination_options: Some(
                Ipv6RawExtHeader::new_raw(IpNumber::TCP, &[1, 4, 0, 0, 0, 0]).unwrap(),
            ),
            ..Default::default()
        };
        let builder = PacketBuilder::ip(IpHeaders::Ipv6(v6, exts))
            .tcp(40000, 443, 5, 100)
            .syn();
        let mut frame = Vec::new();
        builder.write(&mut frame, &[]).unwrap();
        let s = decode(linktype::IPV6, &frame, true).unwrap();
        assert_eq!((s.src_port, s.dst_port, s.seq), (40000, 443, SeqNum(5)));
        assert!(s.flags.syn());
        assert_eq!(s.payload_len, 0);
        // Header-only copy: the extension headers and 20 TCP bytes are enough.
        let s2 = decode(linktype::IPV6, &frame[..40 + 16 + 20], false).unwrap();
        assert_eq!(s2, s);
    }

    /// The fast path gives what the layered walk gives, whenever it answers.
    #[test]
    fn the_plain_path_agrees_with_the_walk() {
        let mut answered = 0;
        for payload in [&[][..], &[7; 9][..]] {
            let f = ethernet_syn(payload);
            for at in 12..f.len().min(14 + 20 + 14) {
                for value in [0u8, 1, 4, 5, 6, 0x20, 0x40, 0x45, 0x46, 0x4f, 0x80, 0xff] {
                    let mut m = f.clone();
                    m[at] = value;
                    for cut in [m.len(), m.len() - 1, 14 + 20 + 20, 14 + 21, 20] {
                        let frame = &m[..cut.min(m.len())];
                        for (lt, frame) in [
                            (linktype::ETHERNET, frame),
                            (linktype::RAW, &frame[14.min(frame.len())..]),
                        ] {
                            let Some(fast) = plain_ipv4_tcp(lt, frame) else {
                                continue;
                            };
                            answered += 1;
                            for complete in [true, false] {
                                let mut tunnels = Encapsulation::new();
                                let slow = link::payload(lt, frame)
                                    .and_then(|next| {
                                        walk(next, complete, &mut tunnels, None, &mut None)
                                    })
                                    .and_then(Packet::segment);
                                assert_eq!(fast, slow, "{lt} {frame:02x?}");
                            }
                        }
                    }
                }
            }
        }
        assert!(answered > 100, "{answered}");
    }

    #[test]
    fn flags_print_in_wireshark_order() {
        assert_eq!(
            TcpFlags(TcpFlags::SYN | TcpFlags::ACK).to_string(),
            "SYN,ACK"
        );
        assert_eq!(
            TcpFlags(TcpFlags::FIN | TcpFlags::PSH | TcpFlags::ACK).to_string(),
            "FIN,PSH,ACK"
        );
        assert_eq!(TcpFlags(0).to_string(), "NONE");
    }
}
