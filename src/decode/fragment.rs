//! Reading an IPv4 or IPv6 fragment for [`super::defrag`]: which datagram,
//! where its bytes go, and the headers the whole datagram keeps.

use super::defrag::{Fragment, Key};
use super::{be16, be32};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IP protocols whose datagrams may carry TCP, and so are reassembled: TCP,
/// UDP (the UDP tunnels), IP-in-IP, GRE, EtherIP, MPLS in IP.
fn may_carry_tcp(proto: u8) -> bool {
    matches!(proto, 4 | 6 | 17 | 41 | 47 | 97 | 137)
}

/// The fragment in `packet`, when its bytes were all captured and its
/// datagram may carry TCP.
pub(super) fn parse(packet: &[u8]) -> Option<Fragment<'_>> {
    match packet.first()? >> 4 {
        4 => v4(packet),
        6 => v6(packet),
        _ => None,
    }
}

fn v4(p: &[u8]) -> Option<Fragment<'_>> {
    let header_len = usize::from(p[0] & 0x0f) * 4;
    let total = usize::from(be16(p, 2)?);
    let flags = be16(p, 6)?;
    let proto = *p.get(9)?;
    if header_len < 20 || total < header_len || !may_carry_tcp(proto) {
        return None;
    }
    let src: [u8; 4] = p.get(12..16)?.try_into().ok()?;
    let dst: [u8; 4] = p.get(16..20)?.try_into().ok()?;
    Some(Fragment {
        key: Key {
            src: IpAddr::V4(Ipv4Addr::from(src)),
            dst: IpAddr::V4(Ipv4Addr::from(dst)),
            id: u32::from(be16(p, 4)?),
            proto,
        },
        offset: usize::from(flags & 0x1fff) * 8,
        more: flags & 0x2000 != 0,
        data: p.get(header_len..total)?,
        header: &p[..header_len],
        patch: None,
        rebuild: |whole| {
            // The whole length, no fragment flags or offset.
            let len = u16::try_from(whole.len()).unwrap_or(u16::MAX);
            whole[2..4].copy_from_slice(&len.to_be_bytes());
            whole[6..8].copy_from_slice(&[0, 0]);
        },
    })
}

fn v6(p: &[u8]) -> Option<Fragment<'_>> {
    let payload_len = usize::from(be16(p, 4)?);
    let end = 40 + payload_len;
    // The extension headers before the fragment header stay in the whole.
    let mut next = *p.get(6)?;
    let mut next_at = 6;
    let mut at = 40;
    while matches!(next, 0 | 43 | 60) {
        let len = (usize::from(*p.get(at + 1)?) + 1) * 8;
        next_at = at;
        next = p[at];
        at += len;
    }
    if next != 44 {
        return None;
    }
    let proto = *p.get(at)?;
    let offset_flags = be16(p, at + 2)?;
    if !may_carry_tcp(proto) {
        return None;
    }
    let src: [u8; 16] = p.get(8..24)?.try_into().ok()?;
    let dst: [u8; 16] = p.get(24..40)?.try_into().ok()?;
    Some(Fragment {
        key: Key {
            src: IpAddr::V6(Ipv6Addr::from(src)),
            dst: IpAddr::V6(Ipv6Addr::from(dst)),
            id: be32(p, at + 4)?,
            proto,
        },
        offset: usize::from(offset_flags & 0xfff8),
        more: offset_flags & 1 != 0,
        data: p.get(at + 8..end)?,
        header: &p[..at],
        patch: Some((next_at, proto)),
        rebuild: |whole| {
            let len = u16::try_from(whole.len() - 40).unwrap_or(u16::MAX);
            whole[4..6].copy_from_slice(&len.to_be_bytes());
        },
    })
}
