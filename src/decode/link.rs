//! Link layers: from the first byte of a frame to the layer it carries.
//!
//! Each function reads one fixed or self-describing header and names what
//! follows ([`Next`]); the loop in [`super::decode_carried`] goes on from there.

use super::{be16, Next, SkipReason};

/// Link types (pcap `LINKTYPE_*` values) and their names.
pub mod linktype {
    pub const NULL: u32 = 0;
    pub const ETHERNET: u32 = 1;
    pub const ARCNET_BSD: u32 = 7;
    pub const PPP: u32 = 9;
    pub const FDDI: u32 = 10;
    pub const RAW_12: u32 = 12;
    pub const RAW_14: u32 = 14;
    pub const PPP_HDLC: u32 = 50;
    pub const PPP_ETHER: u32 = 51;
    pub const RAW: u32 = 101;
    pub const C_HDLC: u32 = 104;
    pub const IEEE802_11: u32 = 105;
    pub const LOOP: u32 = 108;
    pub const LINUX_SLL: u32 = 113;
    pub const PFLOG: u32 = 117;
    pub const IEEE802_11_PRISM: u32 = 119;
    pub const IEEE802_11_RADIOTAP: u32 = 127;
    pub const ARCNET_LINUX: u32 = 129;
    pub const IEEE802_11_AVS: u32 = 163;
    pub const PPI: u32 = 192;
    pub const MPLS: u32 = 219;
    pub const IPV4: u32 = 228;
    pub const IPV6: u32 = 229;
    pub const NFLOG: u32 = 239;
    pub const IPOIB: u32 = 242;
    pub const LINUX_SLL2: u32 = 276;

    /// Link types of the tcpdump.org registry that are named in reports:
    /// (value, name, the skip reason of a frame of that type tcpstate does
    /// not decode). Private-use values (USER0–USER15) have no name.
    macro_rules! registry {
        ($($value:literal $name:ident),* $(,)?) => {
            const REGISTRY: &[(u32, &str, &str)] = &[$((
                $value,
                stringify!($name),
                concat!("unsupported_link_type: LINKTYPE_", stringify!($name)),
            )),*];
        };
    }
    registry! {
        0 NULL, 1 ETHERNET, 3 AX25, 6 IEEE802_5, 7 ARCNET_BSD, 8 SLIP, 9 PPP, 10 FDDI,
        50 PPP_HDLC, 51 PPP_ETHER, 100 ATM_RFC1483, 101 RAW, 104 C_HDLC, 105 IEEE802_11,
        107 FRELAY, 108 LOOP, 113 LINUX_SLL, 114 LTALK, 117 PFLOG, 119 IEEE802_11_PRISM,
        122 IP_OVER_FC, 123 SUNATM, 127 IEEE802_11_RADIOTAP, 129 ARCNET_LINUX,
        138 APPLE_IP_OVER_IEEE1394, 139 MTP2_WITH_PHDR, 140 MTP2, 141 MTP3, 142 SCCP,
        143 DOCSIS, 144 LINUX_IRDA, 163 IEEE802_11_AVS, 165 BACNET_MS_TP, 166 PPP_PPPD,
        169 GPRS_LLC, 177 LINUX_LAPD, 187 BLUETOOTH_HCI_H4, 189 USB_LINUX, 192 PPI,
        195 IEEE802_15_4_WITHFCS, 197 ERF, 201 BLUETOOTH_HCI_H4_WITH_PHDR, 203 LAPD,
        204 PPP_WITH_DIR, 205 C_HDLC_WITH_DIR, 206 FRELAY_WITH_DIR, 209 IPMB_LINUX,
        215 IEEE802_15_4_NONASK_PHY, 219 MPLS, 220 USB_LINUX_MMAPPED, 224 FC_2, 226 IPNET,
        227 CAN_SOCKETCAN, 228 IPV4, 229 IPV6, 230 IEEE802_15_4_NOFCS, 231 DBUS, 239 NFLOG,
        240 NETANALYZER, 241 NETANALYZER_TRANSPARENT, 242 IPOIB, 243 MPEG_2_TS, 247 INFINIBAND,
        248 SCTP, 249 USBPCAP, 251 BLUETOOTH_LE_LL, 253 NETLINK, 254 BLUETOOTH_LINUX_MONITOR,
        256 BLUETOOTH_LE_LL_WITH_PHDR, 258 PKTAP, 259 EPON, 264 ISO_14443, 266 USB_DARWIN,
        270 LORATAP, 271 VSOCK, 272 NORDIC_BLE, 274 ETHERNET_MPACKET, 276 LINUX_SLL2,
        279 EBHSCR, 280 VPP_DISPATCH, 281 DSA_TAG_BRCM, 282 DSA_TAG_BRCM_PREPEND,
        283 IEEE802_15_4_TAP, 284 DSA_TAG_DSA, 285 DSA_TAG_EDSA, 288 USB_2_0,
    }

    fn entry(lt: u32) -> Option<&'static (u32, &'static str, &'static str)> {
        REGISTRY.iter().find(|(value, _, _)| *value == lt)
    }

    /// The name used in reports for a link type.
    pub fn name(lt: u32) -> String {
        match lt {
            RAW_12 | RAW_14 => "RAW".into(),
            _ => match entry(lt) {
                Some((_, name, _)) => (*name).into(),
                None => format!("LINKTYPE_{lt}"),
            },
        }
    }

    /// The skip-reason key of a frame of a registered link type tcpstate
    /// does not decode, e.g. `unsupported_link_type: LINKTYPE_CAN_SOCKETCAN`;
    /// `None` for a value the registry does not name.
    pub fn unsupported_key(lt: u32) -> Option<&'static str> {
        entry(lt).map(|(_, _, key)| *key)
    }
}

use linktype::*;

/// The first layer of a frame of the given link type.
pub(super) fn payload(link_type: u32, frame: &[u8]) -> Result<Next<'_>, SkipReason> {
    Ok(match link_type {
        ETHERNET => ethernet(frame)?,
        NULL | LOOP => {
            let af = frame.get(..4).ok_or(SkipReason::TruncatedLinkHeader)?;
            let af = [af[0], af[1], af[2], af[3]];
            // NULL is in the capturing host's byte order, LOOP in network order;
            // accept either, as Wireshark does.
            let af = if link_type == LOOP {
                u32::from_be_bytes(af)
            } else if u32::from_le_bytes(af) < 0x100 {
                u32::from_le_bytes(af)
            } else {
                u32::from_be_bytes(af)
            };
            match af {
                // AF_INET; AF_INET6 on NetBSD/OpenBSD, FreeBSD, macOS and Linux.
                2 | 10 | 24 | 28 | 30 => Next::Ip(&frame[4..]),
                _ => return Err(SkipReason::NotIp),
            }
        }
        RAW | RAW_12 | RAW_14 | IPV4 | IPV6 => Next::Ip(frame),
        LINUX_SLL => {
            let proto = be16(frame, 14).ok_or(SkipReason::TruncatedLinkHeader)?;
            Next::EtherType(proto, frame.get(16..).unwrap_or_default())
        }
        LINUX_SLL2 => {
            let proto = be16(frame, 0).ok_or(SkipReason::TruncatedLinkHeader)?;
            if frame.len() < 20 {
                return Err(SkipReason::TruncatedLinkHeader);
            }
            Next::EtherType(proto, &frame[20..])
        }
        PPP | PPP_HDLC => match frame.first() {
            // Cisco HDLC framing in a PPP_HDLC file, as Wireshark accepts.
            Some(0x0f | 0x8f) => cisco_hdlc(frame)?,
            _ => Next::Ppp(frame),
        },
        PPP_ETHER => Next::EtherType(super::tunnel::ETHERTYPE_PPPOE_SESSION, frame),
        C_HDLC => cisco_hdlc(frame)?,
        MPLS => Next::Mpls(frame),
        IEEE802_11 => Next::Wlan(frame),
        IEEE802_11_RADIOTAP => {
            // Version 0, a pad byte, then the little-endian header length.
            let len = le16(frame, 2).ok_or(SkipReason::TruncatedLinkHeader)?;
            Next::Wlan(skip(frame, usize::from(len))?)
        }
        IEEE802_11_PRISM | IEEE802_11_AVS => Next::Wlan(prism_or_avs(frame)?),
        PPI => {
            // Version, flags, little-endian header length, then the link
            // type of what follows (802.11 or Ethernet; no nesting).
            let len = le16(frame, 2).ok_or(SkipReason::TruncatedLinkHeader)?;
            let dlt = le32(frame, 4).ok_or(SkipReason::TruncatedLinkHeader)?;
            let inner = skip(frame, usize::from(len).max(8))?;
            match dlt {
                IEEE802_11 => Next::Wlan(inner),
                ETHERNET => ethernet(inner)?,
                other => {
                    return Err(unsupported_link_type(other));
                }
            }
        }
        PFLOG => {
            // Header length (padded to 4 bytes by BPF), then the address family.
            let len = *frame.first().ok_or(SkipReason::TruncatedLinkHeader)?;
            let af = *frame.get(1).ok_or(SkipReason::TruncatedLinkHeader)?;
            let len = (usize::from(len) + 3) & !3;
            match af {
                2 | 10 | 24 | 28 | 30 => Next::Ip(skip(frame, len.max(4))?),
                _ => return Err(SkipReason::NotIp),
            }
        }
        NFLOG => nflog(frame)?,
        IPOIB => {
            // A 40-byte pseudo global route header (source and destination
            // addresses), then RFC 4391 §6: a 2-byte ethertype and 2 reserved bytes.
            let proto = be16(frame, 40).ok_or(SkipReason::TruncatedLinkHeader)?;
            Next::EtherType(proto, skip(frame, 44)?)
        }
        FDDI => {
            // Frame control, destination and source addresses, then LLC.
            Next::Llc(skip(frame, 13)?)
        }
        ARCNET_BSD | ARCNET_LINUX => arcnet(frame, link_type == ARCNET_LINUX)?,
        other => return Err(unsupported_link_type(other)),
    })
}

/// The skip reason of a frame of a link type tcpstate does not decode.
fn unsupported_link_type(lt: u32) -> SkipReason {
    match unsupported_key(lt) {
        Some(key) => SkipReason::UnsupportedLinkType(key),
        None => SkipReason::UnknownLinkType,
    }
}

pub(super) fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// `b` without its first `n` bytes, or a truncated link header.
fn skip(b: &[u8], n: usize) -> Result<&[u8], SkipReason> {
    b.get(n..).ok_or(SkipReason::TruncatedLinkHeader)
}

/// An Ethernet II or 802.3 frame, from its destination address.
pub(super) fn ethernet(frame: &[u8]) -> Result<Next<'_>, SkipReason> {
    let ether_type = be16(frame, 12).ok_or(SkipReason::TruncatedLinkHeader)?;
    let rest = frame.get(14..).unwrap_or_default();
    // Values up to 1500 are an 802.3 length: an LLC header follows.
    Ok(if ether_type <= 1500 {
        Next::Llc(rest)
    } else {
        Next::EtherType(ether_type, rest)
    })
}

/// An 802.2 LLC header; only SNAP with an ethertype (RFC 1042 / 802.1H) carries IP here.
pub(super) fn llc(b: &[u8]) -> Result<Next<'_>, SkipReason> {
    match b {
        [0xaa, 0xaa, 0x03, 0, 0, 0 | 0xf8, t0, t1, rest @ ..] => {
            Ok(Next::EtherType(u16::from_be_bytes([*t0, *t1]), rest))
        }
        [0xaa, 0xaa, 0x03, ..] if b.len() < 8 => Err(SkipReason::TruncatedLinkHeader),
        _ => Err(SkipReason::NotIp),
    }
}

/// Cisco HDLC: address, control, then an ethertype.
fn cisco_hdlc(frame: &[u8]) -> Result<Next<'_>, SkipReason> {
    let proto = be16(frame, 2).ok_or(SkipReason::TruncatedLinkHeader)?;
    Ok(Next::EtherType(proto, &frame[4..]))
}

/// The 802.11 frame after a Prism or an AVS capture header.
fn prism_or_avs(frame: &[u8]) -> Result<&[u8], SkipReason> {
    let magic = super::be32(frame, 0).ok_or(SkipReason::TruncatedLinkHeader)?;
    let len = if magic & 0xffff_fff0 == 0x8021_1000 {
        // AVS: version, then the big-endian header length.
        super::be32(frame, 4).ok_or(SkipReason::TruncatedLinkHeader)?
    } else {
        // Prism: message code, then the message length in the capturing
        // host's byte order (little-endian unless that is impossible).
        let le = le32(frame, 4).ok_or(SkipReason::TruncatedLinkHeader)?;
        if (8..=frame.len() as u32).contains(&le) {
            le
        } else {
            le.swap_bytes()
        }
    };
    let len = usize::try_from(len).map_err(|_| SkipReason::TruncatedLinkHeader)?;
    skip(frame, len.max(8))
}

/// An 802.11 frame: data and QoS-data frames with an LLC/SNAP body.
pub(super) fn wlan(f: &[u8]) -> Result<Next<'_>, SkipReason> {
    let (fc0, fc1) = match f {
        [a, b, ..] => (*a, *b),
        _ => return Err(SkipReason::TruncatedLinkHeader),
    };
    let (version, kind, subtype) = (fc0 & 3, (fc0 >> 2) & 3, fc0 >> 4);
    // Management, control and extension frames carry no IP; neither do
    // the null-data subtypes (bit 2 of the subtype).
    if version != 0 || kind != 2 || subtype & 0x4 != 0 {
        return Err(SkipReason::NotIp);
    }
    let (to_ds, from_ds) = (fc1 & 0x01 != 0, fc1 & 0x02 != 0);
    let (more_fragments, protected, order) = (fc1 & 0x04 != 0, fc1 & 0x40 != 0, fc1 & 0x80 != 0);
    let qos = subtype & 0x8 != 0;
    let mut len = 24;
    if to_ds && from_ds {
        len += 6;
    }
    if qos {
        len += 2;
        // A QoS data frame with the order bit carries an HT control field.
        if order {
            len += 4;
        }
    }
    if f.len() < len {
        return Err(SkipReason::TruncatedLinkHeader);
    }
    if protected {
        return Err(SkipReason::Encrypted80211);
    }
    let fragment_number = f[22] & 0x0f;
    if more_fragments || fragment_number != 0 {
        return Err(SkipReason::UnsupportedEncapsulation(
            "unsupported_encapsulation: 802.11 fragment",
        ));
    }
    if qos && f[len - if order { 6 } else { 2 }] & 0x80 != 0 {
        return Err(SkipReason::UnsupportedEncapsulation(
            "unsupported_encapsulation: 802.11 A-MSDU",
        ));
    }
    llc(&f[len..])
}

/// NFLOG: family, version and resource id, then TLVs (length including the
/// 4-byte TLV header, in the capturing host's byte order, padded to 4 bytes);
/// TLV type 9 is the packet.
fn nflog(frame: &[u8]) -> Result<Next<'_>, SkipReason> {
    let family = *frame.first().ok_or(SkipReason::TruncatedLinkHeader)?;
    if frame.len() < 4 {
        return Err(SkipReason::TruncatedLinkHeader);
    }
    const NFULA_PAYLOAD: u16 = 9;
    let mut rest = &frame[4..];
    while rest.len() >= 4 {
        let mut len = le16(rest, 0).unwrap_or_default();
        let mut kind = le16(rest, 2).unwrap_or_default();
        if usize::from(len) < 4 || usize::from(len) > rest.len() {
            // A big-endian capture.
            len = len.swap_bytes();
            kind = kind.swap_bytes();
        }
        let len = usize::from(len);
        if len < 4 || len > rest.len() {
            return Err(SkipReason::TruncatedLinkHeader);
        }
        // The top bits flag nested and network-order attributes.
        if kind & 0x3fff == NFULA_PAYLOAD {
            return match family {
                2 | 10 => Ok(Next::Ip(&rest[4..len])),
                _ => Err(SkipReason::NotIp),
            };
        }
        rest = rest.get((len + 3) & !3..).unwrap_or_default();
    }
    Err(SkipReason::NotIp)
}

/// ARCNET (BSD: source, destination, protocol; Linux: with a 2-byte offset
/// before the protocol); RFC 1201 protocols add a split flag and a sequence
/// number, and on BSD an exception packet (flag 0xff) 4 bytes more.
fn arcnet(frame: &[u8], linux: bool) -> Result<Next<'_>, SkipReason> {
    const IP_RFC1051: u8 = 240;
    const ARP_RFC1051: u8 = 241;
    const DIAGNOSE: u8 = 0x80;
    const IP_RFC1201: u8 = 212;
    const INET6: u8 = 0xc4;
    let at = if linux { 4 } else { 2 };
    let proto = *frame.get(at).ok_or(SkipReason::TruncatedLinkHeader)?;
    let mut len = at + 1;
    if !matches!(proto, IP_RFC1051 | ARP_RFC1051 | DIAGNOSE) {
        let flag = *frame.get(len).ok_or(SkipReason::TruncatedLinkHeader)?;
        len += 3;
        if !linux && flag == 0xff {
            len += 4;
        }
    }
    let rest = skip(frame, len)?;
    match proto {
        IP_RFC1051 | IP_RFC1201 | INET6 => Ok(Next::Ip(rest)),
        _ => Err(SkipReason::NotIp),
    }
}
