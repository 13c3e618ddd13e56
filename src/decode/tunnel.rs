//! Layers inside a link: what an ethertype, a PPP protocol, an MPLS stack
//! or an IP protocol number carries, down to the next IP header.
//!
//! Tunnels carried in IP (IP-in-IP, GRE, EtherIP, MPLS-in-IP and the UDP
//! tunnels on their registered ports) are recorded as a [`Tunnel`]: its kind,
//! its identifier and the outer endpoints, so that two tunnels carrying the
//! same inner addresses can be told apart. UDP on a tunnel port is decoded as
//! a tunnel only when the tunnel header and what follows look right (version
//! fields, flags, lengths), as Wireshark's heuristics do; anything else on
//! those ports stays UDP.

use super::{be16, be32, link, Next, SkipReason};
use serde::Serialize;
use std::fmt;
use std::net::IpAddr;

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
pub const ETHERTYPE_VLAN: u16 = 0x8100;
pub const ETHERTYPE_QINQ: u16 = 0x88a8;
pub const ETHERTYPE_QINQ_OLD: u16 = 0x9100;
pub const ETHERTYPE_MPLS: u16 = 0x8847;
pub const ETHERTYPE_MPLS_MULTICAST: u16 = 0x8848;
pub const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;
pub const ETHERTYPE_PPP: u16 = 0x880b;
pub const ETHERTYPE_TEB: u16 = 0x6558;
pub const ETHERTYPE_ERSPAN_II: u16 = 0x88be;
pub const ETHERTYPE_ERSPAN_III: u16 = 0x22eb;
pub const ETHERTYPE_PBB: u16 = 0x88e7;
pub const ETHERTYPE_ETAG: u16 = 0x893f;
pub const ETHERTYPE_FABRICPATH: u16 = 0x8903;
pub const ETHERTYPE_WCCP: u16 = 0x883e;

pub const PORT_VXLAN: u16 = 4789;
pub const PORT_VXLAN_LINUX: u16 = 8472;
pub const PORT_GENEVE: u16 = 6081;
pub const PORT_GTP_U: u16 = 2152;
pub const PORT_TEREDO: u16 = 3544;

/// Tunnels inside one frame at most; one more is `encapsulation_too_deep`.
pub const MAX_TUNNELS: usize = 8;

/// The tunnels a segment was carried in, outermost first.
pub type Encapsulation = arrayvec::ArrayVec<Tunnel, MAX_TUNNELS>;

/// The kinds of tunnel carried in IP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TunnelKind {
    /// IP protocol 4 or 41: the identifier is the inner IP version.
    IpInIp,
    /// GRE; the identifier is the key, when present (NVGRE: VSID and flow id).
    Gre,
    /// PPTP's enhanced GRE (version 1); the identifier is the call id.
    Pptp,
    /// ERSPAN type I, II or III in GRE; the identifier is the session id (none for type I).
    Erspan,
    /// EtherIP (IP protocol 97).
    EtherIp,
    /// MPLS in IP (IP protocol 137).
    MplsInIp,
    /// VXLAN; the identifier is the VNI.
    Vxlan,
    /// Geneve; the identifier is the VNI.
    Geneve,
    /// GTP-U; the identifier is the TEID.
    GtpU,
    /// Teredo.
    Teredo,
}

impl TunnelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TunnelKind::IpInIp => "ipip",
            TunnelKind::Gre => "gre",
            TunnelKind::Pptp => "pptp",
            TunnelKind::Erspan => "erspan",
            TunnelKind::EtherIp => "etherip",
            TunnelKind::MplsInIp => "mpls-in-ip",
            TunnelKind::Vxlan => "vxlan",
            TunnelKind::Geneve => "geneve",
            TunnelKind::GtpU => "gtp-u",
            TunnelKind::Teredo => "teredo",
        }
    }

    /// The name of the identifier in [`Tunnel`]'s display.
    fn id_name(self) -> &'static str {
        match self {
            TunnelKind::IpInIp => "inner=ipv",
            TunnelKind::Gre => "key",
            TunnelKind::Pptp => "call",
            TunnelKind::Erspan => "session",
            TunnelKind::Vxlan | TunnelKind::Geneve => "vni",
            TunnelKind::GtpU => "teid",
            TunnelKind::EtherIp | TunnelKind::MplsInIp | TunnelKind::Teredo => "id",
        }
    }
}

/// One tunnel a segment was carried in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tunnel {
    pub kind: TunnelKind,
    /// VNI, GRE key, TEID, ERSPAN session, PPTP call id.
    pub id: Option<u32>,
    /// The outer source address.
    pub src: IpAddr,
    /// The outer destination address.
    pub dst: IpAddr,
}

impl fmt::Display for Tunnel {
    /// `vxlan vni=42 10.0.0.1→10.0.0.2`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.as_str())?;
        if let Some(id) = self.id {
            let sep = if self.kind == TunnelKind::IpInIp {
                ""
            } else {
                "="
            };
            write!(f, " {}{sep}{id}", self.kind.id_name())?;
        }
        write!(f, " {}→{}", self.src, self.dst)
    }
}

impl Tunnel {
    /// What tells this tunnel from another, whichever way a packet crosses
    /// it: the kind, the identifier and the outer endpoints, in either order.
    /// GTP-U's TEID and PPTP's call id are left out: each direction has its
    /// own, chosen by its receiver, so the two halves of one connection
    /// carry different ones.
    pub fn identity(&self) -> Tunnel {
        let (src, dst) = if self.src <= self.dst {
            (self.src, self.dst)
        } else {
            (self.dst, self.src)
        };
        let id = if matches!(self.kind, TunnelKind::GtpU | TunnelKind::Pptp) {
            None
        } else {
            self.id
        };
        Tunnel {
            kind: self.kind,
            id,
            src,
            dst,
        }
    }

    /// The short form for the table: `vxlan:42`, `ipip`.
    pub fn short(&self) -> String {
        match (self.kind, self.id) {
            (TunnelKind::IpInIp, _) | (_, None) => self.kind.as_str().to_string(),
            (kind, Some(id)) => format!("{}:{id}", kind.as_str()),
        }
    }
}

/// The distinct tunnel chains of one capture, numbered from 1 (0 is a
/// segment captured bare), so that a segment carries only a number and
/// connections are told apart by it. Shared by the stage that decodes (which
/// numbers new chains) and the one that reports (which names them).
/// Bounded: past [`Carriers::MAX`] chains, the rest share one number.
#[derive(Debug, Clone, Default)]
pub struct Carriers {
    chains: std::sync::Arc<std::sync::Mutex<Vec<std::sync::Arc<[Tunnel]>>>>,
}

impl Carriers {
    /// Distinct chains told apart in a capture at most.
    pub const MAX: usize = 4096;
    /// The number shared by the chains past [`Carriers::MAX`].
    pub const OVERFLOW: u16 = u16::MAX;

    /// The tunnels of chain `n`; empty for 0 (and for a number never given).
    pub fn chain(&self, n: u16) -> std::sync::Arc<[Tunnel]> {
        let chains = self.chains.lock().unwrap_or_else(|e| e.into_inner());
        n.checked_sub(1)
            .and_then(|i| chains.get(usize::from(i)).cloned())
            .unwrap_or_else(|| std::sync::Arc::new([]))
    }

    /// The names of the layers of chain `n`, outermost first, for reports.
    pub fn names(&self, n: u16) -> Vec<String> {
        if n == Self::OVERFLOW {
            return vec![format!(
                "tunnel (more than {} distinct tunnels: not told apart)",
                Self::MAX
            )];
        }
        self.chain(n).iter().map(|t| t.to_string()).collect()
    }
}

/// The decoding stage's side of [`Carriers`]: numbers chains, remembering
/// those it has seen so that a segment does not take the lock.
#[derive(Debug, Default)]
pub struct CarrierNumbers {
    shared: Carriers,
    /// Chains as they appeared (each direction, each TEID), for the fast path.
    seen: std::collections::HashMap<Encapsulation, u16>,
    /// Chains by their identity ([`Tunnel::identity`] of each layer).
    numbered: std::collections::HashMap<Encapsulation, u16>,
}

impl CarrierNumbers {
    pub fn new(shared: Carriers) -> CarrierNumbers {
        CarrierNumbers {
            shared,
            seen: std::collections::HashMap::new(),
            numbered: std::collections::HashMap::new(),
        }
    }

    /// The number of `chain` (0 for none): the same for both directions of
    /// a tunnel. The chain first seen names it in reports.
    pub fn number(&mut self, chain: &Encapsulation) -> u16 {
        if chain.is_empty() {
            return 0;
        }
        if let Some(&n) = self.seen.get(chain) {
            return n;
        }
        let identity: Encapsulation = chain.iter().map(Tunnel::identity).collect();
        let n = match self.numbered.get(&identity) {
            Some(&n) => n,
            None if self.numbered.len() >= Carriers::MAX => return Carriers::OVERFLOW,
            None => {
                let mut chains = self.shared.chains.lock().unwrap_or_else(|e| e.into_inner());
                chains.push(chain.as_slice().into());
                let n = chains.len() as u16;
                self.numbered.insert(identity, n);
                n
            }
        };
        if self.seen.len() < 4 * Carriers::MAX {
            self.seen.insert(chain.clone(), n);
        }
        n
    }
}

fn unsupported(what: &'static str) -> SkipReason {
    SkipReason::UnsupportedEncapsulation(what)
}

/// `b` without its first `n` bytes, or a truncated tunnel header.
fn skip(b: &[u8], n: usize) -> Result<&[u8], SkipReason> {
    b.get(n..).ok_or(SkipReason::TruncatedTunnelHeader)
}

/// What an ethertype carries. VLAN tags of any depth are skipped here.
pub(super) fn ether_type(mut t: u16, mut rest: &[u8]) -> Result<Next<'_>, SkipReason> {
    while matches!(t, ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD) {
        t = be16(rest, 2).ok_or(SkipReason::TruncatedLinkHeader)?;
        rest = &rest[4..];
    }
    Ok(match t {
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => Next::Ip(rest),
        ETHERTYPE_MPLS | ETHERTYPE_MPLS_MULTICAST => Next::Mpls(rest),
        ETHERTYPE_PPPOE_SESSION => {
            // Version and type 0x11, code 0 (session data), session id, length.
            match rest {
                [0x11, 0x00, _, _, _, _, ppp @ ..] => Next::Ppp(ppp),
                [0x11, 0x00, ..] => return Err(SkipReason::TruncatedTunnelHeader),
                _ => return Err(unsupported("unsupported_encapsulation: PPPoE version")),
            }
        }
        ETHERTYPE_PPP => Next::Ppp(rest),
        ETHERTYPE_TEB => link::ethernet(rest)?,
        // 802.1ah: a 4-byte I-TAG, then the customer's addresses and ethertype.
        ETHERTYPE_PBB => link::ethernet(skip(rest, 4)?)?,
        // 802.1BR: a 6-byte E-TAG, then the ethertype.
        ETHERTYPE_ETAG => {
            let inner = be16(rest, 6).ok_or(SkipReason::TruncatedLinkHeader)?;
            Next::EtherType(inner, &rest[8..])
        }
        // FabricPath: the outer addresses came before the ethertype; a
        // 2-byte FTag/TTL, then the original frame.
        ETHERTYPE_FABRICPATH => link::ethernet(skip(rest, 2)?)?,
        _ => return Err(SkipReason::NotIp),
    })
}

/// A PPP frame: optional address and control bytes (FF 03), then the
/// protocol, one byte when compressed (odd), else two.
pub(super) fn ppp(b: &[u8]) -> Result<Next<'_>, SkipReason> {
    let b = match b {
        [0xff, 0x03, rest @ ..] => rest,
        _ => b,
    };
    let (proto, rest) = match b {
        [p, rest @ ..] if p & 1 == 1 => (u16::from(*p), rest),
        [p0, p1, rest @ ..] => (u16::from_be_bytes([*p0, *p1]), rest),
        _ => return Err(SkipReason::TruncatedTunnelHeader),
    };
    match proto {
        0x0021 | 0x0057 => Ok(Next::Ip(rest)),
        0x0281 | 0x0283 => Ok(Next::Mpls(rest)),
        0x002d | 0x002f => Err(unsupported(
            "unsupported_encapsulation: PPP Van Jacobson compression",
        )),
        0x00fd | 0x00fb => Err(unsupported(
            "unsupported_encapsulation: PPP compressed datagram",
        )),
        // LCP, IPCP, authentication and the other control protocols.
        _ => Err(SkipReason::NotIp),
    }
}

/// An MPLS label stack down to its bottom, then IPv4 or IPv6 by the first
/// nibble, or an Ethernet pseudowire (with a control word when the nibble is 0).
pub(super) fn mpls(mut b: &[u8]) -> Result<Next<'_>, SkipReason> {
    loop {
        let entry = be32(b, 0).ok_or(SkipReason::TruncatedTunnelHeader)?;
        b = &b[4..];
        if entry & 0x100 != 0 {
            break;
        }
    }
    match b.first().map(|x| x >> 4) {
        None => Err(SkipReason::TruncatedTunnelHeader),
        Some(4 | 6) => Ok(Next::Ip(b)),
        // The pseudowire control word (RFC 4385), then Ethernet; unless the
        // Ethernet header fits at once and not after a control word (a
        // destination address may begin with a 0 nibble too).
        Some(0) => {
            let known = |at| be16(b, at).is_some_and(common_ethertype);
            if known(12) && !known(16) {
                link::ethernet(b)
            } else {
                link::ethernet(skip(b, 4)?)
            }
        }
        // The generic associated channel (RFC 5586) carries no user traffic.
        Some(1) => Err(SkipReason::NotIp),
        // An Ethernet pseudowire without a control word.
        Some(_) => link::ethernet(b),
    }
}

/// Ethertypes common enough to tell an Ethernet header where one is expected.
fn common_ethertype(t: u16) -> bool {
    matches!(
        t,
        ETHERTYPE_IPV4
            | ETHERTYPE_IPV6
            | 0x0806
            | ETHERTYPE_VLAN
            | ETHERTYPE_QINQ
            | ETHERTYPE_QINQ_OLD
            | ETHERTYPE_MPLS
            | ETHERTYPE_MPLS_MULTICAST
            | 0x8863
            | ETHERTYPE_PPPOE_SESSION
    )
}

/// The outer endpoints of a tunnel, from the IP header that carries it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Outer {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// The capture kept the whole frame.
    pub complete: bool,
}

impl Outer {
    fn tunnel(self, kind: TunnelKind, id: Option<u32>) -> Tunnel {
        Tunnel {
            kind,
            id,
            src: self.src,
            dst: self.dst,
        }
    }
}

/// What an IP protocol other than TCP carries: `Ok(None)` when it is no tunnel.
pub(super) fn ip_protocol<'a>(
    proto: u8,
    payload: &'a [u8],
    outer: Outer,
) -> Result<Option<(Tunnel, Next<'a>)>, SkipReason> {
    Ok(Some(match proto {
        4 => (outer.tunnel(TunnelKind::IpInIp, Some(4)), Next::Ip(payload)),
        41 => (outer.tunnel(TunnelKind::IpInIp, Some(6)), Next::Ip(payload)),
        47 => gre(payload, outer)?,
        // EtherIP (RFC 3378): version 3 in the top nibble, then Ethernet.
        97 => match payload {
            [0x30, 0x00, rest @ ..] => (
                outer.tunnel(TunnelKind::EtherIp, None),
                link::ethernet(rest)?,
            ),
            [_, _, ..] => return Err(unsupported("unsupported_encapsulation: EtherIP version")),
            _ => return Err(SkipReason::TruncatedTunnelHeader),
        },
        137 => (
            outer.tunnel(TunnelKind::MplsInIp, None),
            Next::Mpls(payload),
        ),
        17 => return udp(payload, outer),
        _ => return Ok(None),
    }))
}

/// GRE (RFC 2784, 2890; version 1 is PPTP's, RFC 2637).
fn gre(b: &[u8], outer: Outer) -> Result<(Tunnel, Next<'_>), SkipReason> {
    let flags = be16(b, 0).ok_or(SkipReason::TruncatedTunnelHeader)?;
    let proto = be16(b, 2).ok_or(SkipReason::TruncatedTunnelHeader)?;
    let (checksum, routing, key, seq) = (
        flags & 0x8000 != 0,
        flags & 0x4000 != 0,
        flags & 0x2000 != 0,
        flags & 0x1000 != 0,
    );
    let version = flags & 0x7;
    let mut at = 4;
    if checksum || routing {
        at += 4;
    }
    let key_value = if key {
        let k = be32(b, at).ok_or(SkipReason::TruncatedTunnelHeader)?;
        at += 4;
        Some(k)
    } else {
        None
    };
    if seq {
        at += 4;
    }
    let tunnel = match version {
        0 => {
            if routing {
                return Err(unsupported("unsupported_encapsulation: GRE source routing"));
            }
            outer.tunnel(TunnelKind::Gre, key_value)
        }
        1 => {
            // The acknowledgement number, when flagged.
            if flags & 0x0080 != 0 {
                at += 4;
            }
            outer.tunnel(TunnelKind::Pptp, key_value.map(|k| k & 0xffff))
        }
        _ => return Err(unsupported("unsupported_encapsulation: GRE version")),
    };
    let rest = skip(b, at)?;
    let next = match proto {
        ETHERTYPE_ERSPAN_II => {
            if !seq {
                // Type I: no ERSPAN header, the mirrored frame at once.
                return Ok((
                    outer.tunnel(TunnelKind::Erspan, None),
                    link::ethernet(rest)?,
                ));
            }
            // Type II: version 1, then a 10-bit session id; 8 bytes.
            let word = be32(rest, 0).ok_or(SkipReason::TruncatedTunnelHeader)?;
            if word >> 28 != 1 {
                return Err(unsupported("unsupported_encapsulation: ERSPAN version"));
            }
            let session = be16(rest, 2).unwrap_or_default() & 0x3ff;
            return Ok((
                outer.tunnel(TunnelKind::Erspan, Some(u32::from(session))),
                link::ethernet(skip(rest, 8)?)?,
            ));
        }
        ETHERTYPE_ERSPAN_III => {
            // Version 2; 12 bytes, 8 more with the platform sub-header (O bit);
            // frame type 0 is Ethernet, 2 an IP packet.
            let word = be32(rest, 0).ok_or(SkipReason::TruncatedTunnelHeader)?;
            if word >> 28 != 2 {
                return Err(unsupported("unsupported_encapsulation: ERSPAN version"));
            }
            let session = be16(rest, 2).unwrap_or_default() & 0x3ff;
            let last = be16(rest, 10).ok_or(SkipReason::TruncatedTunnelHeader)?;
            let frame_type = (last >> 10) & 0x1f;
            let len = if last & 1 != 0 { 20 } else { 12 };
            let inner = skip(rest, len)?;
            let next = match frame_type {
                0 => link::ethernet(inner)?,
                2 => Next::Ip(inner),
                _ => return Err(unsupported("unsupported_encapsulation: ERSPAN frame type")),
            };
            return Ok((
                outer.tunnel(TunnelKind::Erspan, Some(u32::from(session))),
                next,
            ));
        }
        // WCCP redirection: a 4-byte header unless the IP header follows at once.
        ETHERTYPE_WCCP => match rest.first().map(|x| x >> 4) {
            Some(4) => Next::Ip(rest),
            _ => Next::Ip(skip(rest, 4)?),
        },
        ETHERTYPE_IPV4
        | ETHERTYPE_IPV6
        | ETHERTYPE_TEB
        | ETHERTYPE_PPP
        | ETHERTYPE_MPLS
        | ETHERTYPE_MPLS_MULTICAST => ether_type(proto, rest)?,
        _ => return Err(unsupported("unsupported_encapsulation: GRE protocol type")),
    };
    Ok((tunnel, next))
}

/// UDP: a tunnel on its registered port whose header checks out, else `None`.
fn udp(b: &[u8], outer: Outer) -> Result<Option<(Tunnel, Next<'_>)>, SkipReason> {
    let (Some(src_port), Some(dst_port)) = (be16(b, 0), be16(b, 2)) else {
        return Ok(None);
    };
    let payload = b.get(8..).unwrap_or_default();
    // The datagram's true length, even when the capture kept less of it.
    let declared = be16(b, 4)
        .map(usize::from)
        .filter(|&n| n >= 8)
        .map_or(payload.len(), |n| n - 8);
    // The destination port first, as the sender chose the tunnel by it.
    for port in [dst_port, src_port] {
        let found = match port {
            PORT_VXLAN | PORT_VXLAN_LINUX => vxlan(payload),
            PORT_GENEVE => geneve(payload),
            PORT_GTP_U => gtp_u(payload),
            PORT_TEREDO => teredo(payload, declared),
            _ => continue,
        };
        match found {
            Some((kind, id, next)) => return Ok(Some((outer.tunnel(kind, id), next))),
            // A header cut by the snapshot length might have been a tunnel.
            None if !outer.complete && payload.len() < 48 => {
                return Err(SkipReason::TruncatedTunnelHeader)
            }
            None => {}
        }
    }
    Ok(None)
}

type Found<'a> = Option<(TunnelKind, Option<u32>, Next<'a>)>;

/// Whether `b` can start an IPv4 or IPv6 header: version nibble and the
/// minimum header length.
fn looks_like_ip(b: &[u8]) -> bool {
    match b.first().map(|x| x >> 4) {
        Some(4) => b.len() >= 20 && b[0] & 0x0f >= 5,
        Some(6) => b.len() >= 40,
        _ => false,
    }
}

/// VXLAN (RFC 7348): the I flag, reserved bits clear, a 24-bit VNI, then Ethernet.
fn vxlan(b: &[u8]) -> Found<'_> {
    let flags = *b.first()?;
    if flags & 0x08 == 0 || b.len() < 8 + 14 {
        return None;
    }
    let vni = be32(b, 4)? >> 8;
    let next = link::ethernet(&b[8..]).ok()?;
    Some((TunnelKind::Vxlan, Some(vni), next))
}

/// Geneve (RFC 8926): version 0, options skipped by their length, then the
/// payload named by its protocol type.
fn geneve(b: &[u8]) -> Found<'_> {
    let first = *b.first()?;
    if first >> 6 != 0 {
        return None;
    }
    let options = usize::from(first & 0x3f) * 4;
    let proto = be16(b, 2)?;
    let vni = be32(b, 4)? >> 8;
    let inner = b.get(8 + options..)?;
    let next = match proto {
        ETHERTYPE_TEB => link::ethernet(inner).ok()?,
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 if looks_like_ip(inner) => Next::Ip(inner),
        _ => return None,
    };
    Some((TunnelKind::Geneve, Some(vni), next))
}

/// GTP-U (3GPP TS 29.281): version 1, protocol type 1, a G-PDU (message
/// 0xFF) whose length fits; the optional fields and the chained extension
/// headers skipped; then IPv4 or IPv6.
fn gtp_u(b: &[u8]) -> Found<'_> {
    let flags = *b.first()?;
    if flags >> 5 != 1 || flags & 0x10 == 0 || *b.get(1)? != 0xff {
        return None;
    }
    let length = usize::from(be16(b, 2)?);
    let teid = be32(b, 4)?;
    // The length counts what follows the first 8 bytes.
    let b = b.get(..(8 + length).min(b.len()))?;
    let mut at = 8;
    if flags & 0x07 != 0 {
        // Sequence number, N-PDU number, next extension header type.
        let mut next_type = if flags & 0x04 != 0 {
            *b.get(at + 3)?
        } else {
            0
        };
        at += 4;
        while next_type != 0 {
            // Each extension: its length in 4-byte units (never 0), its
            // content, and the type of the next one in its last byte.
            let units = usize::from(*b.get(at)?);
            if units == 0 {
                return None;
            }
            at += units * 4;
            next_type = *b.get(at - 1)?;
        }
    }
    let inner = b.get(at..)?;
    looks_like_ip(inner).then_some((TunnelKind::GtpU, Some(teid), Next::Ip(inner)))
}

/// Teredo (RFC 4380): an authentication indicator (0x0001) and an origin
/// indicator (0x0000), both optional, then an IPv6 header whose length is
/// what remains of the datagram (`declared` bytes long, however much of it
/// was captured), as Wireshark's heuristic requires.
fn teredo(mut b: &[u8], declared: usize) -> Found<'_> {
    let mut indicators = 0;
    if let [0x00, 0x01, id_len, auth_len, ..] = b {
        // Client identifier, authentication value, nonce (8), confirmation (1).
        let len = 4 + usize::from(*id_len) + usize::from(*auth_len) + 9;
        b = b.get(len..)?;
        indicators += len;
    }
    if let [0x00, 0x00, ..] = b {
        b = b.get(8..)?;
        indicators += 8;
    }
    let payload_len = usize::from(be16(b, 4)?);
    let fits = indicators + 40 + payload_len == declared;
    (b.first()? >> 4 == 6 && b.len() >= 40 && fits).then_some((
        TunnelKind::Teredo,
        None,
        Next::Ip(b),
    ))
}
