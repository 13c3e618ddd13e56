//! The Internet checksum (RFC 1071) of an IPv4 header and of a TCP segment
//! with its pseudo-header (RFC 9293 §3.1, RFC 8200 §8.1).
//!
//! A capture taken on the sending host usually holds segments whose TCP
//! checksum the network card was to fill in (checksum offload): bad in the
//! capture, good on the wire. So tcpstate, like tshark, does not verify
//! checksums unless asked (`--verify-checksums`); it counts the bad ones.

use etherparse::ip_number;

/// The ones' complement sum of `data` as big-endian 16-bit words (an odd
/// last byte padded with zero), folded to 16 bits. Summed as 32-bit words
/// in the machine's byte order into a 64-bit sum (which cannot overflow
/// for any packet), a loop the compiler turns into vector additions, then
/// swapped: the sum does not depend on the byte order but for a swap of its
/// two bytes (RFC 1071 §2(B)). This runs on every segment's bytes.
fn sum(data: &[u8]) -> u64 {
    let words = data.chunks_exact(4);
    let rest = words.remainder();
    let mut acc: u64 = words
        .map(|w| u64::from(u32::from_ne_bytes([w[0], w[1], w[2], w[3]])))
        .sum();
    // What is left keeps its 16-bit words where they were.
    match *rest {
        [a, b, c] => {
            acc += u64::from(u16::from_ne_bytes([a, b])) + u64::from(u16::from_ne_bytes([c, 0]))
        }
        [a, b] => acc += u64::from(u16::from_ne_bytes([a, b])),
        // The high byte of a big-endian word: where the machine keeps it.
        [a] => acc += u64::from(u16::from_ne_bytes([a, 0])),
        _ => {}
    }
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
/// `None` when they cannot be checked: not TCP, a fragment, IPv6 extension
/// headers (a routing header changes the destination the checksum uses),
/// or fewer bytes captured than the IP length says. The headers are read
/// by hand: this runs on every segment.
pub fn tcp_packet_ok(packet: &[u8]) -> Option<bool> {
    let (pseudo, tcp) = match packet.first()? >> 4 {
        4 => {
            let header_len = usize::from(packet[0] & 0x0f) * 4;
            let total = usize::from(be16(packet, 2)?);
            let fragment = be16(packet, 6)? & 0x3fff != 0;
            if header_len < 20 || total < header_len || total > packet.len() || fragment {
                return None;
            }
            if *packet.get(9)? != ip_number::TCP.0 {
                return None;
            }
            let header = &packet[..header_len];
            if fold(sum(header)) != 0xffff {
                return Some(false);
            }
            let tcp = &packet[header_len..total];
            // Source and destination, zero, protocol, TCP length.
            let pseudo = sum(&header[12..20]) + u64::from(ip_number::TCP.0) + tcp.len() as u64;
            (pseudo, tcp)
        }
        6 => {
            let payload_len = usize::from(be16(packet, 4)?);
            if *packet.get(6)? != ip_number::TCP.0 || payload_len == 0 {
                return None;
            }
            let tcp = packet.get(40..40 + payload_len)?;
            let pseudo = sum(&packet[8..40]) + u64::from(ip_number::TCP.0) + tcp.len() as u64;
            (pseudo, tcp)
        }
        _ => return None,
    };
    Some(fold(pseudo + sum(tcp)) == 0xffff)
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
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

    /// The sum is the RFC 1071 sum of big-endian 16-bit words, whatever the
    /// length and the bytes.
    #[test]
    fn the_sum_is_the_sum_of_16_bit_words() {
        fn by_words(data: &[u8]) -> u64 {
            let mut acc: u64 = data
                .chunks(2)
                .map(|w| u64::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)])))
                .sum();
            while acc > 0xffff {
                acc = (acc & 0xffff) + (acc >> 16);
            }
            acc
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..200 {
            for fill in [0x00, 0xff, 0x01] {
                let data: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        if fill == 0x01 {
                            x as u8
                        } else {
                            fill
                        }
                    })
                    .collect();
                assert_eq!(sum(&data), by_words(&data), "{len} bytes {data:02x?}");
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
