//! Structure-aware corruption of capture files for the robustness tests:
//! locate pcap records and pcapng blocks, then damage them in named ways.
#![allow(dead_code)]

/// Where one record (pcap) or block (pcapng) lies in the file.
#[derive(Debug, Clone, Copy)]
pub struct Unit {
    pub offset: usize,
    pub len: usize,
    /// pcapng block type (0 for pcap records).
    pub block_type: u32,
}

/// A capture file split into its header and records/blocks.
#[derive(Debug, Clone)]
pub struct Layout {
    pub pcapng: bool,
    pub big_endian: bool,
    /// pcap: the 24-byte header; pcapng: 0 (the SHB is a block).
    pub header_len: usize,
    pub units: Vec<Unit>,
}

fn u32_at(b: &[u8], at: usize, be: bool) -> Option<u32> {
    let x: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(if be {
        u32::from_be_bytes(x)
    } else {
        u32::from_le_bytes(x)
    })
}

pub fn put_u32(b: &mut [u8], at: usize, be: bool, v: u32) {
    if let Some(dst) = b.get_mut(at..at + 4) {
        dst.copy_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
    }
}

impl Layout {
    /// Splits a well-formed capture; `None` for anything else.
    pub fn parse(b: &[u8]) -> Option<Layout> {
        let mut units = Vec::new();
        if b.get(..4)? == [0x0a, 0x0d, 0x0d, 0x0a] {
            let mut at = 0;
            let mut be = false;
            while at + 12 <= b.len() {
                if b[at..at + 4] == [0x0a, 0x0d, 0x0d, 0x0a] {
                    be = b.get(at + 8..at + 12)? == [0x1a, 0x2b, 0x3c, 0x4d];
                }
                let len = u32_at(b, at + 4, be)? as usize;
                if len < 12 || at + len > b.len() {
                    return None;
                }
                units.push(Unit {
                    offset: at,
                    len,
                    block_type: u32_at(b, at, be)?,
                });
                at += len;
            }
            let big_endian = b.get(8..12)? == [0x1a, 0x2b, 0x3c, 0x4d];
            return Some(Layout {
                pcapng: true,
                big_endian,
                header_len: 0,
                units,
            });
        }
        let be = match b.get(..4)? {
            [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => true,
            [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => false,
            _ => return None,
        };
        let mut at = 24;
        while at + 16 <= b.len() {
            let caplen = u32_at(b, at + 8, be)? as usize;
            if at + 16 + caplen > b.len() {
                break;
            }
            units.push(Unit {
                offset: at,
                len: 16 + caplen,
                block_type: 0,
            });
            at += 16 + caplen;
        }
        Some(Layout {
            pcapng: false,
            big_endian: be,
            header_len: 24,
            units,
        })
    }

    /// Units that carry packets (pcap records; pcapng EPBs).
    pub fn packets(&self) -> Vec<Unit> {
        self.units
            .iter()
            .copied()
            .filter(|u| !self.pcapng || u.block_type == 6)
            .collect()
    }

    /// Offset of the packet bytes inside a packet unit.
    pub fn data_offset(&self, u: Unit) -> usize {
        if self.pcapng {
            u.offset + 28
        } else {
            u.offset + 16
        }
    }
}

/// The kinds of damage the harness does; each has a name for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    BitFlips,
    TruncateAtBoundary,
    TruncateInsideHeader,
    TruncateInsideData,
    CorruptLength,
    HugeLength,
    ZeroLengthRecord,
    DuplicateRecord,
    SwapRecords,
    ReorderRecords,
    TimestampsBackwards,
    IpTotalLength,
    Ipv6PayloadLength,
    TcpDataOffset,
    UnknownLinkType,
    InterfaceOutOfRange,
    /// Hostile bytes in a tunnel header (IP-in-IP, GRE, UDP tunnels) and
    /// what follows it: flags, keys, lengths, the inner headers.
    TunnelHeader,
}

impl Kind {
    pub const ALL: [Kind; 17] = [
        Kind::BitFlips,
        Kind::TruncateAtBoundary,
        Kind::TruncateInsideHeader,
        Kind::TruncateInsideData,
        Kind::CorruptLength,
        Kind::HugeLength,
        Kind::ZeroLengthRecord,
        Kind::DuplicateRecord,
        Kind::SwapRecords,
        Kind::ReorderRecords,
        Kind::TimestampsBackwards,
        Kind::IpTotalLength,
        Kind::Ipv6PayloadLength,
        Kind::TcpDataOffset,
        Kind::UnknownLinkType,
        Kind::InterfaceOutOfRange,
        Kind::TunnelHeader,
    ];
}

/// Where the IP header of an Ethernet/raw/SLL frame starts, if recognisable.
pub fn ip_offset(frame: &[u8]) -> Option<usize> {
    // Try Ethernet (with VLAN tags), then raw IP.
    let mut at = 12;
    loop {
        match frame.get(at..at + 2)? {
            [0x81, 0x00] | [0x88, 0xa8] => at += 4,
            [0x08, 0x00] | [0x86, 0xdd] => return Some(at + 2),
            _ => break,
        }
    }
    match frame.first()? >> 4 {
        4 | 6 => Some(0),
        _ => None,
    }
}

/// Applies `kind` to `b` using `r` for the choices; returns false when the
/// kind does not apply to this file (nothing changed).
pub fn mutate(b: &mut Vec<u8>, layout: &Layout, kind: Kind, r: &mut fastrand::Rng) -> bool {
    let packets = layout.packets();
    let pick = |r: &mut fastrand::Rng| packets.get(r.usize(..packets.len().max(1))).copied();
    let be = layout.big_endian;
    match kind {
        Kind::BitFlips => {
            for _ in 0..r.usize(1..16) {
                let i = r.usize(..b.len());
                b[i] ^= 1 << r.u8(..8);
            }
        }
        Kind::TruncateAtBoundary => {
            let Some(u) = layout.units.get(r.usize(..layout.units.len().max(1))) else {
                return false;
            };
            b.truncate(u.offset);
        }
        Kind::TruncateInsideHeader => {
            let Some(u) = pick(r) else { return false };
            b.truncate(u.offset + r.usize(1..if layout.pcapng { 28 } else { 16 }));
        }
        Kind::TruncateInsideData => {
            let Some(u) = pick(r) else { return false };
            let start = layout.data_offset(u);
            let end = u.offset + u.len;
            if end <= start + 1 {
                return false;
            }
            b.truncate(r.usize(start + 1..end));
        }
        Kind::CorruptLength => {
            let Some(u) = layout
                .units
                .get(r.usize(..layout.units.len().max(1)))
                .copied()
            else {
                return false;
            };
            let v = match r.u8(..4) {
                0 => 0,
                1 => r.u32(..),
                2 => (u.len as u32).wrapping_add(r.u32(1..64)),
                _ => (u.len as u32).saturating_sub(r.u32(1..64)),
            };
            if layout.pcapng {
                // The leading or the trailing copy of the block length.
                let at = if r.bool() {
                    u.offset + 4
                } else {
                    u.offset + u.len - 4
                };
                put_u32(b, at, be, v);
            } else {
                put_u32(b, u.offset + 8, be, v);
            }
        }
        Kind::HugeLength => {
            let Some(u) = pick(r) else { return false };
            let v = [u32::MAX, 0x7fff_ffff, 262_145, 1 << 24][r.usize(..4)];
            let at = if layout.pcapng {
                u.offset + 20
            } else {
                u.offset + 8
            };
            put_u32(b, at, be, v);
        }
        Kind::ZeroLengthRecord => {
            if layout.pcapng {
                return false;
            }
            let Some(u) = pick(r) else { return false };
            let mut rec = b[u.offset..u.offset + 8].to_vec();
            rec.extend_from_slice(&[0; 8]);
            b.splice(u.offset..u.offset, rec);
        }
        Kind::DuplicateRecord => {
            let Some(u) = pick(r) else { return false };
            let copy = b[u.offset..u.offset + u.len].to_vec();
            b.splice(u.offset..u.offset, copy);
        }
        Kind::SwapRecords | Kind::ReorderRecords => {
            if packets.len() < 2 {
                return false;
            }
            let first = r.usize(..packets.len() - 1);
            let n = if kind == Kind::SwapRecords {
                2
            } else {
                r.usize(2..=(packets.len() - first).min(8))
            };
            let group = &packets[first..first + n];
            // Only contiguous runs can be rearranged in place.
            if group
                .windows(2)
                .any(|w| w[0].offset + w[0].len != w[1].offset)
            {
                return false;
            }
            let start = group[0].offset;
            let end = group[n - 1].offset + group[n - 1].len;
            let mut pieces: Vec<Vec<u8>> = group
                .iter()
                .map(|u| b[u.offset..u.offset + u.len].to_vec())
                .collect();
            if kind == Kind::SwapRecords {
                pieces.swap(0, 1);
            } else {
                r.shuffle(&mut pieces);
            }
            b.splice(start..end, pieces.concat());
        }
        Kind::TimestampsBackwards => {
            let Some(u) = pick(r) else { return false };
            let at = if layout.pcapng {
                u.offset + 12
            } else {
                u.offset
            };
            let old = u32_at(b, at, be).unwrap_or(0);
            put_u32(b, at, be, old.wrapping_sub(r.u32(1..100_000)));
        }
        Kind::IpTotalLength | Kind::Ipv6PayloadLength | Kind::TcpDataOffset => {
            let Some(u) = pick(r) else { return false };
            let data = layout.data_offset(u);
            let Some(ip) = b.get(data..u.offset + u.len).and_then(ip_offset) else {
                return false;
            };
            let ip = data + ip;
            let version = b.get(ip).map(|v| v >> 4);
            let value = [0u16, 1, 19, 20, 41, 0xffff, r.u16(..)][r.usize(..7)].to_be_bytes();
            match (kind, version) {
                (Kind::IpTotalLength, Some(4)) => b[ip + 2..ip + 4].copy_from_slice(&value),
                (Kind::Ipv6PayloadLength, Some(6)) => b[ip + 4..ip + 6].copy_from_slice(&value),
                (Kind::TcpDataOffset, Some(4)) => {
                    let tcp = ip + usize::from(b[ip] & 0x0f) * 4;
                    let Some(byte) = b.get_mut(tcp + 12) else {
                        return false;
                    };
                    *byte = (r.u8(..16) << 4) | (*byte & 0x0f);
                }
                _ => return false,
            }
        }
        Kind::UnknownLinkType => {
            let v = [2u32, 147, 9999, u32::MAX][r.usize(..4)];
            if layout.pcapng {
                let Some(idb) = layout.units.iter().find(|u| u.block_type == 1) else {
                    return false;
                };
                let bytes = if be {
                    (v as u16).to_be_bytes()
                } else {
                    (v as u16).to_le_bytes()
                };
                b[idb.offset + 8..idb.offset + 10].copy_from_slice(&bytes);
            } else {
                put_u32(b, 20, be, v);
            }
        }
        Kind::TunnelHeader => {
            // A frame of an outer IPv4/IPv6 packet carrying a tunnel.
            let tunneled: Vec<Unit> = packets
                .iter()
                .copied()
                .filter(|u| {
                    let data = layout.data_offset(*u);
                    let Some(ip) = b.get(data..u.offset + u.len).and_then(ip_offset) else {
                        return false;
                    };
                    let ip = data + ip;
                    let proto = match b.get(ip).map(|v| v >> 4) {
                        Some(4) => b.get(ip + 9),
                        Some(6) => b.get(ip + 6),
                        _ => None,
                    };
                    matches!(proto, Some(4 | 17 | 41 | 47))
                })
                .collect();
            let Some(&u) = tunneled.get(r.usize(..tunneled.len().max(1))) else {
                return false;
            };
            let data = layout.data_offset(u);
            let Some(ip) = b.get(data..u.offset + u.len).and_then(ip_offset) else {
                return false;
            };
            let ip = data + ip;
            let header = match b[ip] >> 4 {
                4 => usize::from(b[ip] & 0x0f) * 4,
                _ => 40,
            };
            let end = u.offset + u.len;
            let start = ip + header;
            if start >= end {
                return false;
            }
            // One to four bytes among the first 64 after the outer IP header.
            for _ in 0..r.usize(1..=4) {
                let at = start + r.usize(..64.min(end - start));
                b[at] = [0, 0xff, 0x08, 0x45, 0x60, r.u8(..)][r.usize(..6)];
            }
        }
        Kind::InterfaceOutOfRange => {
            if !layout.pcapng {
                return false;
            }
            let Some(u) = pick(r) else { return false };
            put_u32(b, u.offset + 8, be, [1, 7, u32::MAX][r.usize(..3)]);
        }
    }
    true
}
