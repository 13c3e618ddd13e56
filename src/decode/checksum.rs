//! The Internet checksum (RFC 1071) of an IPv4 header and of a TCP segment
//! with its pseudo-header (RFC 9293 §3.1, RFC 8200 §8.1).
//!
//! A capture taken on the sending host usually holds segments whose TCP
//! checksum the network card was to fill in (checksum offload): bad in the
//! capture, good on the wire. So tcpstate, like tshark, does not verify
//! checksums unless asked (`--verify-checksums`); it counts the bad ones.

use etherparse::{ip_number, LaxIpSlice};

/// The ones' complement sum of `data` as big-endian 16-bit words (an odd
/// last byte padded with zero), folded to 16 bits. Summed 8 bytes at a time
/// in the machine's byte order, then swapped: the sum does not depend on
/// the byte order but for a swap of its two bytes (RFC 1071 §2(B)).
fn sum(data: &[u8]) -> u64 {
    let mut acc: u64 = 0;
    let mut words = data.chunks_exact(8);
    for w in &mut words {
        let v = u64::from_ne_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        acc += (v & 0xffff_ffff) + (v >> 32);
    }
    let rest = words.remainder();
    let mut tail = [0u8; 8];
    tail[..rest.len()].copy_from_slice(rest);
    let v = u64::from_ne_bytes(tail);
    acc += (v & 0xffff_ffff) + (v >> 32);
    u64::from(u16::from_be(fold(acc)))
}

/// Folds a sum to 16 bits, carries added back.
fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// Whether the IP packet `packet` (captured whole) carries a TCP segment
/// whose checksums are right: the IPv4 header checksum and the TCP checksum.
/// `None` when they cannot be checked: not TCP, a fragment, or fewer bytes
/// captured than the IP length says.
pub fn tcp_packet_ok(packet: &[u8]) -> Option<bool> {
    let (ip, _) = LaxIpSlice::from_slice(packet).ok()?;
    if ip.is_fragmenting_payload() {
        return None;
    }
    let payload = ip.payload();
    if payload.ip_number != ip_number::TCP || payload.incomplete {
        return None;
    }
    let tcp = payload.payload;
    let len = u32::try_from(tcp.len()).ok()?;
    let pseudo = match &ip {
        LaxIpSlice::Ipv4(v4) => {
            let header = v4.header().slice();
            if fold(sum(header)) != 0xffff {
                return Some(false);
            }
            // Source and destination (8 bytes), zero, protocol, TCP length.
            sum(&header[12..20]) + u64::from(ip_number::TCP.0) + u64::from(len)
        }
        LaxIpSlice::Ipv6(v6) => {
            // A routing header would change the destination the checksum
            // uses; such segments are left unchecked.
            if v6.extensions().first_header().is_some() {
                return None;
            }
            sum(&v6.header().slice()[8..40]) + u64::from(ip_number::TCP.0) + u64::from(len)
        }
    };
    Some(fold(pseudo + sum(tcp)) == 0xffff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn v4(payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(40000, 80, 7, 1000)
            .ack(9)
            .write(&mut out, payload)
            .unwrap();
        out
    }

    fn v6(payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
        a[0] = 0xfd;
        a[15] = 1;
        b[0] = 0xfd;
        b[15] = 2;
        PacketBuilder::ipv6(a, b, 64)
            .tcp(40000, 80, 7, 1000)
            .syn()
            .write(&mut out, payload)
            .unwrap();
        out
    }

    #[test]
    fn good_checksums_are_good_and_any_flipped_bit_is_bad() {
        for p in [
            v4(&[]),
            v4(&[1, 2, 3]),
            v4(&[0xff; 1001]),
            v6(&[]),
            v6(&[9; 7]),
        ] {
            assert_eq!(tcp_packet_ok(&p), Some(true), "{p:02x?}");
            let ip_header = if p[0] >> 4 == 4 { 20 } else { 40 };
            // Flip a bit in the TCP header and payload, and in the IPv4
            // header's TTL, checksum and addresses (not its lengths or
            // protocol, which change what is read).
            let v4_fields = if ip_header == 20 { 10..20 } else { 8..8 };
            for at in (ip_header..p.len()).chain(v4_fields).chain([8]) {
                let mut bad = p.clone();
                bad[at] ^= 0x10;
                assert_eq!(tcp_packet_ok(&bad), Some(false), "byte {at}");
            }
        }
    }

    #[test]
    fn what_cannot_be_checked_is_not_judged() {
        let p = v4(&[5; 100]);
        // Cut short: the IP length claims more than the bytes.
        assert_eq!(tcp_packet_ok(&p[..p.len() - 1]), None);
        assert_eq!(tcp_packet_ok(&[]), None);
        let mut udp = Vec::new();
        PacketBuilder::ipv4([1, 1, 1, 1], [2, 2, 2, 2], 5)
            .udp(1, 2)
            .write(&mut udp, &[1])
            .unwrap();
        assert_eq!(tcp_packet_ok(&udp), None);
    }
}
