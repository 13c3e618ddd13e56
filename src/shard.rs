//! `--shard K/N`: one of N disjoint parts of a run, chosen per connection.
//!
//! A connection belongs to shard `h % N`, where `h` is the
//! [shard hash](key_hash) of its key: both endpoints in a canonical order and
//! the identity of the tunnels that carried it, the same key the connection
//! table tells connections apart by. The hash is defined on bytes (FNV-1a 64
//! and MurmurHash3's 64-bit finalizer), so it is the same on every machine,
//! byte order and version; `docs/sharding.md` defines the encoding, and the
//! tests below hold known keys to known hashes.
//!
//! The segments of other shards are dropped right after decoding
//! ([`Sharder::keeps`]), before the connection table. The connections a
//! shard keeps get the ids `K + 1`, `K + 1 + N`, `K + 1 + 2N`, … in
//! first-seen order: `(id − 1) mod N` is the shard, and the ids of different
//! shards never collide ([`Shard::first_id`], [`Shard::step`]).

use crate::decode::{Carriers, Segment, Tunnel, TunnelKind};
use std::fmt;
use std::net::IpAddr;

/// Shard `index` of `count`: `0 ≤ index < count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: u32,
    count: u32,
}

/// Why a `K/N` is not a shard.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    #[error("expected K/N (shard K of N, 0 ≤ K < N), e.g. 0/4")]
    Syntax,
    #[error("N must be at least 1")]
    NoShards,
    #[error("K and N must be less than 2^32")]
    TooLarge,
    #[error("K must be less than N (shards are numbered 0 to {})", .0 - 1)]
    IndexTooLarge(u32),
}

impl Shard {
    /// The whole run: shard 0 of 1.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    pub fn new(index: u32, count: u32) -> Result<Shard, ShardError> {
        if count == 0 {
            return Err(ShardError::NoShards);
        }
        if index >= count {
            return Err(ShardError::IndexTooLarge(count));
        }
        Ok(Shard { index, count })
    }

    /// `K/N`, both decimal.
    pub fn parse(text: &str) -> Result<Shard, ShardError> {
        let (k, n) = text.split_once('/').ok_or(ShardError::Syntax)?;
        let number = |s: &str| {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ShardError::Syntax);
            }
            s.parse::<u32>().map_err(|_| ShardError::TooLarge)
        };
        Shard::new(number(k)?, number(n)?)
    }

    /// K.
    pub fn index(self) -> u32 {
        self.index
    }

    /// N.
    pub fn count(self) -> u32 {
        self.count
    }

    /// The shard of a connection whose key hashes to `hash`: `hash mod N`.
    pub fn of_hash(self, hash: u64) -> u32 {
        (hash % u64::from(self.count)) as u32
    }

    /// Whether a connection whose key hashes to `hash` is in this shard.
    pub fn holds_hash(self, hash: u64) -> bool {
        self.of_hash(hash) == self.index
    }

    /// The distance between two consecutive ids of the shard: N.
    pub fn step(self) -> u64 {
        u64::from(self.count)
    }

    /// The id of the connection that follows `before` connections of this
    /// shard: `K + 1 + N·before` (for the whole run, `before + 1`).
    pub fn first_id(self, before: u64) -> u64 {
        before
            .saturating_mul(self.step())
            .saturating_add(u64::from(self.index) + 1)
    }

    /// Whether `id` is the id of one of the first `connections` connections
    /// of this shard.
    pub fn has_id(self, id: u64, connections: u64) -> bool {
        let Some(i) = id.checked_sub(u64::from(self.index) + 1) else {
            return false;
        };
        i % self.step() == 0 && i / self.step() < connections
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = ShardError;
    fn from_str(s: &str) -> Result<Shard, ShardError> {
        Shard::parse(s)
    }
}

/// FNV-1a, 64 bits: offset basis and prime.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a 64 of `bytes`, continued from `h`.
fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// MurmurHash3's `fmix64`: spreads every bit of FNV's state over all 64, so
/// that `h % N` is even for small N (FNV-1a's low bits alone are weak: its
/// lowest is the parity of the bytes' lowest bits).
fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The chain-length byte of a connection whose tunnels are not told apart
/// (the capture has more than [`Carriers::MAX`] distinct chains).
const UNTOLD_CHAIN: u8 = 0xff;

/// An address: its family (4 or 6), then its bytes in network order.
/// Returns the bytes written into `out`.
fn put_addr(out: &mut [u8], ip: IpAddr) -> usize {
    match ip {
        IpAddr::V4(a) => {
            out[0] = 4;
            out[1..5].copy_from_slice(&a.octets());
            5
        }
        IpAddr::V6(a) => {
            out[0] = 6;
            out[1..17].copy_from_slice(&a.octets());
            17
        }
    }
}

/// The number of a tunnel kind in the shard key (`docs/sharding.md`); fixed
/// forever, whatever order the kinds are declared in.
fn kind_code(kind: TunnelKind) -> u8 {
    match kind {
        TunnelKind::IpInIp => 1,
        TunnelKind::Gre => 2,
        TunnelKind::Pptp => 3,
        TunnelKind::Erspan => 4,
        TunnelKind::EtherIp => 5,
        TunnelKind::MplsInIp => 6,
        TunnelKind::Vxlan => 7,
        TunnelKind::Geneve => 8,
        TunnelKind::GtpU => 9,
        TunnelKind::Teredo => 10,
    }
}

/// The FNV-1a state after the tunnel part of the key: the number of
/// layers, then each layer's identity ([`Tunnel::identity`]), outermost
/// first: kind, identifier (0, or 1 and four bytes), the lower outer
/// address, the higher. `None`: tunnels not told apart.
fn chain_state(chain: Option<&[Tunnel]>) -> u64 {
    let Some(chain) = chain else {
        return fnv1a(FNV_OFFSET, &[UNTOLD_CHAIN]);
    };
    let mut h = fnv1a(
        FNV_OFFSET,
        &[chain.len().min(usize::from(u8::MAX - 1)) as u8],
    );
    for layer in chain {
        let t = layer.identity();
        let mut buf = [0u8; 1 + 5 + 2 * 17];
        buf[0] = kind_code(t.kind);
        let mut n = 1;
        match t.id {
            None => {
                buf[n] = 0;
                n += 1;
            }
            Some(id) => {
                buf[n] = 1;
                buf[n + 1..n + 5].copy_from_slice(&id.to_be_bytes());
                n += 5;
            }
        }
        n += put_addr(&mut buf[n..], t.src);
        n += put_addr(&mut buf[n..], t.dst);
        h = fnv1a(h, &buf[..n]);
    }
    h
}

/// FNV-1a of an IPv4 endpoint: `04`, the address, the port.
#[inline(always)]
fn fnv1a_v4(h: u64, (addr, port): (u32, u16)) -> u64 {
    let h = fnv1a(h, &[4]);
    let h = fnv1a(h, &addr.to_be_bytes());
    fnv1a(h, &port.to_be_bytes())
}

/// The endpoint part of the key, continued from the tunnel part's state:
/// the lower endpoint, then the higher, each its address (family and
/// bytes) and its port (two bytes, big-endian), endpoints compared by
/// family, address bytes and port.
fn endpoints_hash(state: u64, a: (IpAddr, u16), b: (IpAddr, u16)) -> u64 {
    if let (IpAddr::V4(x), IpAddr::V4(y)) = (a.0, b.0) {
        // The common case, without a buffer: an address as a number
        // compares as its bytes do.
        let (x, y) = ((u32::from(x), a.1), (u32::from(y), b.1));
        let (lo, hi) = if x <= y { (x, y) } else { (y, x) };
        return fmix64(fnv1a_v4(fnv1a_v4(state, lo), hi));
    }
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut buf = [0u8; 2 * 19];
    let mut n = put_addr(&mut buf, lo.0);
    buf[n..n + 2].copy_from_slice(&lo.1.to_be_bytes());
    n += 2;
    n += put_addr(&mut buf[n..], hi.0);
    buf[n..n + 2].copy_from_slice(&hi.1.to_be_bytes());
    n += 2;
    fmix64(fnv1a(state, &buf[..n]))
}

/// The shard hash of a connection between endpoints `a` and `b` (either
/// order), carried in `chain` (outermost first; empty: captured bare;
/// `None`: in tunnels the capture does not tell apart).
pub fn key_hash(a: (IpAddr, u16), b: (IpAddr, u16), chain: Option<&[Tunnel]>) -> u64 {
    endpoints_hash(chain_state(chain), a, b)
}

/// Decides, segment by segment, which are of this shard. Keeps the tunnel
/// part of the hash of each tunnel chain of the capture, by its number.
#[derive(Debug)]
pub struct Sharder {
    shard: Shard,
    /// ⌊(2¹²⁸ − 1) / N⌋ + 1, for `hash mod N` without a division
    /// ([`Sharder::of_hash`]).
    magic: u128,
    /// The FNV state after the tunnel part of a bare connection.
    bare: u64,
    /// By `Segment::carried` − 1: the FNV state after the chain, once known.
    chains: Vec<Option<u64>>,
}

impl Sharder {
    pub fn new(shard: Shard) -> Sharder {
        Sharder {
            shard,
            // 0 for N = 1 (2¹²⁸ wraps), which gives 0 for every hash.
            magic: (u128::MAX / u128::from(shard.count)).wrapping_add(1),
            bare: chain_state(Some(&[])),
            chains: Vec::new(),
        }
    }

    /// Whether `seg` is of this shard. `tunnels` are the tunnels that
    /// carried it (`seg.carried` their number in the capture's
    /// [`Carriers`]).
    pub fn keeps(&mut self, seg: &Segment, tunnels: &[Tunnel]) -> bool {
        self.keeps_ends(
            (seg.src, seg.src_port),
            (seg.dst, seg.dst_port),
            seg.carried,
            tunnels,
        )
    }

    /// [`Sharder::keeps`] for the connection between `a` and `b` carried in
    /// the chain numbered `carried` (an ICMP error's quoted ends).
    pub fn keeps_ends(
        &mut self,
        a: (IpAddr, u16),
        b: (IpAddr, u16),
        carried: u16,
        tunnels: &[Tunnel],
    ) -> bool {
        if self.shard.count == 1 {
            return true;
        }
        let state = match carried {
            0 => self.bare,
            Carriers::OVERFLOW => chain_state(None),
            n => {
                let i = usize::from(n - 1);
                if self.chains.len() <= i {
                    // Numbers are given in order: this grows by one at a time.
                    self.chains.resize(i + 1, None);
                }
                *self.chains[i].get_or_insert_with(|| chain_state(Some(tunnels)))
            }
        };
        let hash = endpoints_hash(state, a, b);
        self.of_hash(hash) == self.shard.index
    }

    /// [`Shard::of_hash`], computed as in Lemire, Kaser and Kurz, "Faster
    /// remainder by direct computation" (2019), exact for every 64-bit hash
    /// and 32-bit N: a division per segment would cost more than the hash.
    fn of_hash(&self, hash: u64) -> u32 {
        let low = self.magic.wrapping_mul(u128::from(hash));
        let n = u128::from(self.shard.count);
        // The high 64 bits of the 192-bit product low × n.
        let top = ((low >> 64) * n + ((u128::from(low as u64) * n) >> 64)) >> 64;
        top as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(a: [u8; 4]) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(a))
    }

    #[test]
    fn parses_k_of_n() {
        assert_eq!(Shard::parse("0/1"), Ok(Shard::WHOLE));
        assert_eq!(
            Shard::parse("3/7").map(|s| (s.index(), s.count())),
            Ok((3, 7))
        );
        assert_eq!(Shard::parse("4/4"), Err(ShardError::IndexTooLarge(4)));
        assert_eq!(Shard::parse("0/0"), Err(ShardError::NoShards));
        for bad in [
            "", "1", "1/", "/4", "-1/4", "1/-4", "+1/4", "1/4/2", " 1/4", "a/b",
        ] {
            assert_eq!(Shard::parse(bad), Err(ShardError::Syntax), "{bad}");
        }
        assert_eq!(Shard::parse("1/99999999999"), Err(ShardError::TooLarge));
        assert_eq!(Shard::parse("3/7").unwrap().to_string(), "3/7");
    }

    #[test]
    fn ids_interleave_and_say_their_shard() {
        let s = Shard::new(2, 7).unwrap();
        let ids: Vec<u64> = (0..4).map(|i| s.first_id(i)).collect();
        assert_eq!(ids, [3, 10, 17, 24]);
        assert!(ids.iter().all(|id| (id - 1) % 7 == 2));
        assert!(s.has_id(24, 4) && !s.has_id(31, 4) && !s.has_id(4, 4) && !s.has_id(0, 4));
        assert!(!s.has_id(2, 4) && !s.has_id(1, 4));
        let whole = Shard::WHOLE;
        assert_eq!(whole.first_id(0), 1);
        assert_eq!(whole.first_id(41), 42);
        assert!(whole.has_id(1, 1) && !whole.has_id(2, 1) && !whole.has_id(0, 1));
    }

    /// Known keys and their hashes, worked out independently (Python, from
    /// the encoding in docs/sharding.md): if one of these changes, shards
    /// of the same files no longer agree across versions.
    #[test]
    fn hash_test_vectors() {
        // The empty input: FNV-1a's offset basis, finalized.
        assert_eq!(fmix64(fnv1a(FNV_OFFSET, b"")), VECTOR_EMPTY);
        assert_eq!(fnv1a(FNV_OFFSET, b"a"), 0xaf63_dc4c_8601_ec8c);
        let client = (v4([10, 0, 0, 1]), 40000);
        let server = (v4([10, 0, 0, 2]), 80);
        assert_eq!(key_hash(client, server, Some(&[])), VECTOR_V4);
        assert_eq!(key_hash(server, client, Some(&[])), VECTOR_V4);
        let c6 = (IpAddr::V6("2001:db8::1".parse::<Ipv6Addr>().unwrap()), 443);
        let s6 = (
            IpAddr::V6("2001:db8::2".parse::<Ipv6Addr>().unwrap()),
            51000,
        );
        assert_eq!(key_hash(s6, c6, Some(&[])), VECTOR_V6);
        let vxlan = Tunnel {
            kind: TunnelKind::Vxlan,
            id: Some(42),
            src: v4([192, 0, 2, 2]),
            dst: v4([192, 0, 2, 1]),
        };
        assert_eq!(key_hash(client, server, Some(&[vxlan])), VECTOR_VXLAN);
        // The TEID of GTP-U is not part of the identity (each direction has its own).
        let gtp = |teid| Tunnel {
            kind: TunnelKind::GtpU,
            id: Some(teid),
            src: v4([192, 0, 2, 1]),
            dst: v4([192, 0, 2, 2]),
        };
        assert_eq!(
            key_hash(client, server, Some(&[gtp(1)])),
            key_hash(server, client, Some(&[gtp(2)]))
        );
        assert_eq!(key_hash(client, server, Some(&[gtp(7)])), VECTOR_GTP);
        assert_eq!(key_hash(client, server, None), VECTOR_UNTOLD);
        assert_eq!(VECTOR_V4 % 4, 1);
    }

    const VECTOR_EMPTY: u64 = 0xefd0_1f60_ba99_2926;
    const VECTOR_V4: u64 = 0xf9e6_399c_f120_dc6d;
    const VECTOR_V6: u64 = 0xbca8_f8a0_5c6c_5f45;
    const VECTOR_VXLAN: u64 = 0x50c2_a0db_b6ae_b183;
    const VECTOR_GTP: u64 = 0x4851_d40a_84bc_b171;
    const VECTOR_UNTOLD: u64 = 0xf9f6_3bca_691b_d3c5;

    #[test]
    fn a_tunnel_separates_and_directions_agree() {
        let a = (v4([10, 0, 0, 1]), 40000);
        let b = (v4([10, 0, 0, 2]), 80);
        let gre = |key| Tunnel {
            kind: TunnelKind::Gre,
            id: Some(key),
            src: v4([192, 0, 2, 1]),
            dst: v4([192, 0, 2, 2]),
        };
        let back = |t: Tunnel| Tunnel {
            src: t.dst,
            dst: t.src,
            ..t
        };
        assert_eq!(
            key_hash(a, b, Some(&[gre(5)])),
            key_hash(b, a, Some(&[back(gre(5))]))
        );
        assert_ne!(
            key_hash(a, b, Some(&[gre(5)])),
            key_hash(a, b, Some(&[gre(6)]))
        );
        assert_ne!(key_hash(a, b, Some(&[gre(5)])), key_hash(a, b, Some(&[])));
    }

    #[test]
    fn the_remainder_is_hash_mod_n() {
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        for n in [1u32, 2, 3, 4, 7, 10, 1000, 65_537, u32::MAX - 1, u32::MAX] {
            let shard = Sharder::new(Shard::new(n - 1, n).unwrap());
            for hash in [0, 1, u64::from(n) - 1, u64::from(n), u64::MAX, u64::MAX - 1] {
                assert_eq!(
                    u64::from(shard.of_hash(hash)),
                    hash % u64::from(n),
                    "{hash} mod {n}"
                );
            }
            for _ in 0..10_000 {
                rng = fmix64(rng.wrapping_add(1));
                assert_eq!(
                    u64::from(shard.of_hash(rng)),
                    rng % u64::from(n),
                    "{rng} mod {n}"
                );
            }
        }
        assert_eq!(Sharder::new(Shard::WHOLE).of_hash(u64::MAX), 0);
    }

    #[test]
    fn the_ipv4_path_is_the_general_one() {
        // The key's bytes written out by hand, hashed as bytes.
        let a = (v4([10, 0, 0, 1]), 40000);
        let b = (v4([10, 0, 0, 2]), 80);
        let key = [0u8, 4, 10, 0, 0, 1, 0x9c, 0x40, 4, 10, 0, 0, 2, 0, 0x50];
        assert_eq!(key_hash(a, b, Some(&[])), fmix64(fnv1a(FNV_OFFSET, &key)));
        // Ports decide when the addresses are equal, either way round.
        let c = (v4([10, 0, 0, 1]), 80);
        let key = [0u8, 4, 10, 0, 0, 1, 0, 0x50, 4, 10, 0, 0, 1, 0x9c, 0x40];
        assert_eq!(key_hash(a, c, Some(&[])), fmix64(fnv1a(FNV_OFFSET, &key)));
        assert_eq!(key_hash(c, a, Some(&[])), fmix64(fnv1a(FNV_OFFSET, &key)));
    }

    #[test]
    fn shards_are_even() {
        for n in [2u32, 3, 4, 7] {
            let mut counts = vec![0u32; n as usize];
            for i in 0..7000u32 {
                let a = (v4([10, 1, (i >> 8) as u8, i as u8]), 1024 + (i % 50) as u16);
                let b = (v4([10, 200, 0, 1]), 80);
                counts[(key_hash(a, b, Some(&[])) % u64::from(n)) as usize] += 1;
            }
            let even = 7000 / n;
            assert!(
                counts
                    .iter()
                    .all(|&c| c > even * 9 / 10 && c < even * 11 / 10),
                "{n}: {counts:?}"
            );
        }
    }
}
