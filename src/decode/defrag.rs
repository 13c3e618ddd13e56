//! IPv4 and IPv6 fragment reassembly, in bounded memory.
//!
//! A datagram split into fragments is put back together and decoded once,
//! at the frame of the fragment that completes it, as tshark does; the
//! frames of the other fragments are skipped (`ip_fragment`). Only
//! datagrams that may carry TCP are held (TCP, UDP for the UDP tunnels, and
//! the IP tunnel protocols); other fragments are skipped at once.
//!
//! Memory is bounded by [`Limits`]: datagrams in progress, bytes held, and a
//! timeout in capture time. A fragment that would pass a limit is skipped as
//! `ip_fragment_limit`; the fragments of a datagram that timed out are
//! re-counted as `ip_fragment_timeout`. Fragments that overlap with other
//! bytes, or disagree about where the datagram ends, drop the datagram:
//! `ip_fragment_inconsistent`, never a silent merge.

use super::SkipReason;
use std::collections::HashMap;
use std::net::IpAddr;

/// The bounds on what reassembly holds.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Datagrams in progress at once.
    pub max_datagrams: usize,
    /// Bytes of fragment data held at once.
    pub max_bytes: usize,
    /// A datagram not completed within this much capture time is dropped.
    pub timeout_ns: i64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_datagrams: 1024,
            max_bytes: 4 << 20,
            // Linux's ipfrag_time.
            timeout_ns: 30_000_000_000,
        }
    }
}

/// The largest datagram an IP fragment offset can describe.
const MAX_DATAGRAM: usize = 65_535;

/// Which datagram a fragment belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub id: u32,
    pub proto: u8,
}

/// Makes the kept headers, followed by the whole payload, one packet
/// (lengths, fragment fields).
pub type Rebuild = fn(&mut [u8]);

/// One fragment, as the decoder found it.
#[derive(Debug, Clone, Copy)]
pub struct Fragment<'a> {
    pub key: Key,
    /// Offset of `data` in the datagram's payload, in bytes.
    pub offset: usize,
    /// More fragments follow.
    pub more: bool,
    /// The fragment's share of the payload.
    pub data: &'a [u8],
    /// The headers the whole datagram keeps (those before the fragment's
    /// payload, or its fragment header), taken from the first fragment,
    /// with one byte to set in them (IPv6: the next header that named the
    /// fragment header), and the function that makes them the whole's headers
    /// once the payload follows them.
    pub header: &'a [u8],
    pub patch: Option<(usize, u8)>,
    pub rebuild: Rebuild,
}

#[derive(Debug)]
struct Datagram {
    first_ts: i64,
    /// Headers of the whole, once the first fragment is in.
    header: Option<(Vec<u8>, Rebuild)>,
    /// (offset, bytes), in offset order, not overlapping.
    pieces: Vec<(usize, Vec<u8>)>,
    /// Payload length, once the last fragment is in.
    total: Option<usize>,
    /// Frames of its fragments so far.
    frames: u64,
    bytes: usize,
}

/// What became of a fragment.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Held until its datagram is complete (the frame is `ip_fragment`).
    Held,
    /// It completed its datagram: the whole IP packet.
    Complete(Vec<u8>),
    /// Skipped, for this reason.
    Skipped(SkipReason),
}

/// The fragments of one capture in progress.
#[derive(Debug, Default)]
pub struct Reassembler {
    limits: Limits,
    datagrams: HashMap<Key, Datagram>,
    bytes: usize,
    /// Capture time of the last look for timed-out datagrams.
    swept_ts: i64,
    /// Fragment frames counted as `ip_fragment` whose datagram timed out
    /// since last asked ([`Reassembler::take_timed_out`]).
    timed_out: u64,
}

impl Reassembler {
    pub fn new(limits: Limits) -> Reassembler {
        Reassembler {
            limits,
            ..Reassembler::default()
        }
    }

    /// Datagrams and bytes held now.
    pub fn held(&self) -> (usize, usize) {
        (self.datagrams.len(), self.bytes)
    }

    /// Fragment frames of datagrams that timed out since the last call;
    /// they were counted as `ip_fragment` when they came.
    pub fn take_timed_out(&mut self) -> u64 {
        std::mem::take(&mut self.timed_out)
    }

    /// Takes one fragment captured at `ts_ns`.
    pub fn add(&mut self, f: Fragment<'_>, ts_ns: i64) -> Outcome {
        self.sweep(ts_ns);
        let end = f.offset + f.data.len();
        if end + f.header.len() > MAX_DATAGRAM || (f.more && f.data.len() % 8 != 0) {
            return self.inconsistent(&f.key);
        }
        let needed = f.data.len() + if f.offset == 0 { f.header.len() } else { 0 };
        if !self.datagrams.contains_key(&f.key) {
            if self.datagrams.len() >= self.limits.max_datagrams
                || self.bytes + needed > self.limits.max_bytes
            {
                return Outcome::Skipped(SkipReason::IpFragmentLimit);
            }
            self.datagrams.insert(
                f.key,
                Datagram {
                    first_ts: ts_ns,
                    header: None,
                    pieces: Vec::new(),
                    total: None,
                    frames: 0,
                    bytes: 0,
                },
            );
        }
        let Some(d) = self.datagrams.get_mut(&f.key) else {
            return Outcome::Skipped(SkipReason::IpFragment);
        };
        // Where the datagram ends: said by the last fragment, never passed.
        let total = if f.more { d.total } else { Some(end) };
        if total.is_some_and(|t| t < end || d.total.is_some_and(|old| old != t))
            || total.is_some_and(|t| d.pieces.last().is_some_and(|(o, b)| o + b.len() > t))
        {
            return self.inconsistent(&f.key);
        }
        // Overlaps: the same bytes again is a duplicate; anything else drops the datagram.
        let at = d.pieces.partition_point(|(o, _)| *o < f.offset);
        let overlaps = |(o, b): &(usize, Vec<u8>)| *o < end && f.offset < o + b.len();
        let before = at.checked_sub(1).and_then(|i| d.pieces.get(i));
        let after = d.pieces.get(at);
        if let Some(p) = before.into_iter().chain(after).find(|p| overlaps(p)) {
            let duplicate = p.0 == f.offset && p.1 == f.data;
            if !duplicate {
                return self.inconsistent(&f.key);
            }
            d.frames += 1;
            return Outcome::Held;
        }
        if self.bytes + needed > self.limits.max_bytes {
            return Outcome::Skipped(SkipReason::IpFragmentLimit);
        }
        if f.offset == 0 {
            let mut header = f.header.to_vec();
            if let Some((at, value)) = f.patch {
                if let Some(b) = header.get_mut(at) {
                    *b = value;
                }
            }
            d.header = Some((header, f.rebuild));
            d.bytes += f.header.len();
            self.bytes += f.header.len();
        }
        d.pieces.insert(at, (f.offset, f.data.to_vec()));
        d.bytes += f.data.len();
        self.bytes += f.data.len();
        d.total = total;
        d.frames += 1;
        let covered = d
            .pieces
            .iter()
            .try_fold(0usize, |next, (o, b)| (*o == next).then(|| o + b.len()));
        match (total, covered, &d.header) {
            (Some(t), Some(c), Some(_)) if c == t => {}
            _ => return Outcome::Held,
        }
        let Some(d) = self.datagrams.remove(&f.key) else {
            return Outcome::Held;
        };
        self.bytes -= d.bytes;
        let Some((header, rebuild)) = d.header else {
            return Outcome::Held;
        };
        let mut whole = header;
        whole.reserve(total.unwrap_or_default());
        for (_, b) in d.pieces {
            whole.extend_from_slice(&b);
        }
        rebuild(&mut whole);
        Outcome::Complete(whole)
    }

    fn inconsistent(&mut self, key: &Key) -> Outcome {
        if let Some(d) = self.datagrams.remove(key) {
            self.bytes -= d.bytes;
        }
        Outcome::Skipped(SkipReason::IpFragmentInconsistent)
    }

    /// Drops the datagrams older than the timeout, at most once a second of
    /// capture time.
    fn sweep(&mut self, ts_ns: i64) {
        if ts_ns < self.swept_ts {
            // The capture's clock went back: count from here.
            self.swept_ts = ts_ns;
            return;
        }
        if ts_ns.saturating_sub(self.swept_ts) < 1_000_000_000 {
            return;
        }
        self.swept_ts = ts_ns;
        let timeout = self.limits.timeout_ns;
        let mut freed = 0;
        let mut frames = 0;
        self.datagrams.retain(|_, d| {
            let keep = ts_ns.saturating_sub(d.first_ts) <= timeout;
            if !keep {
                freed += d.bytes;
                frames += d.frames;
            }
            keep
        });
        self.bytes -= freed;
        self.timed_out += frames;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: u32) -> Key {
        Key {
            src: [10, 0, 0, 1].into(),
            dst: [10, 0, 0, 2].into(),
            id,
            proto: 6,
        }
    }

    /// Rebuilds a toy header: its one byte is the payload length / 8.
    fn rebuild(h: &mut [u8]) {
        h[0] = ((h.len() - 1) / 8) as u8;
    }

    fn frag<'a>(id: u32, offset: usize, more: bool, data: &'a [u8]) -> Fragment<'a> {
        Fragment {
            key: key(id),
            offset,
            more,
            data,
            header: &[0xee],
            patch: None,
            rebuild,
        }
    }

    #[test]
    fn fragments_in_any_order_make_the_datagram() {
        let mut r = Reassembler::new(Limits::default());
        let data: Vec<u8> = (0..40).collect();
        assert_eq!(r.add(frag(1, 16, true, &data[16..32]), 0), Outcome::Held);
        assert_eq!(r.add(frag(1, 32, false, &data[32..]), 1), Outcome::Held);
        // A duplicate is no harm.
        assert_eq!(r.add(frag(1, 32, false, &data[32..]), 1), Outcome::Held);
        let mut whole = vec![5];
        whole.extend_from_slice(&data);
        assert_eq!(
            r.add(frag(1, 0, true, &data[..16]), 2),
            Outcome::Complete(whole)
        );
        assert_eq!(r.held(), (0, 0));
    }

    #[test]
    fn overlapping_or_inconsistent_fragments_drop_the_datagram() {
        let mut r = Reassembler::new(Limits::default());
        let a = [1u8; 16];
        let b = [2u8; 16];
        assert_eq!(r.add(frag(1, 0, true, &a), 0), Outcome::Held);
        assert_eq!(
            r.add(frag(1, 8, true, &b), 0),
            Outcome::Skipped(SkipReason::IpFragmentInconsistent)
        );
        assert_eq!(r.held(), (0, 0));
        // Two different ends.
        assert_eq!(r.add(frag(2, 16, false, &a), 0), Outcome::Held);
        assert_eq!(
            r.add(frag(2, 8, false, &a[..4]), 0),
            Outcome::Skipped(SkipReason::IpFragmentInconsistent)
        );
        // Data past the end, a middle fragment not a multiple of 8, past 64 KiB.
        assert_eq!(
            r.add(frag(3, 0, false, &a[..8]), 0),
            Outcome::Complete(vec![1; 9])
        );
        assert_eq!(r.add(frag(6, 16, false, &a[..8]), 0), Outcome::Held);
        assert_eq!(
            r.add(frag(6, 24, true, &a), 0),
            Outcome::Skipped(SkipReason::IpFragmentInconsistent)
        );
        assert_eq!(
            r.add(frag(4, 0, true, &a[..5]), 0),
            Outcome::Skipped(SkipReason::IpFragmentInconsistent)
        );
        assert_eq!(
            r.add(frag(5, 65_528, false, &a), 0),
            Outcome::Skipped(SkipReason::IpFragmentInconsistent)
        );
    }

    #[test]
    fn any_clock_is_fine() {
        let mut r = Reassembler::new(Limits::default());
        let data = [1u8; 8];
        for (i, ts) in [i64::MAX, i64::MIN, 0, i64::MAX, -5, i64::MIN]
            .into_iter()
            .enumerate()
        {
            r.add(frag(i as u32, 8, true, &data), ts);
        }
        assert!(r.held().0 <= 6);
    }

    #[test]
    fn a_flood_of_never_completed_fragments_stays_bounded() {
        let limits = Limits {
            max_datagrams: 64,
            max_bytes: 64 * 1024,
            timeout_ns: 30_000_000_000,
        };
        let mut r = Reassembler::new(limits);
        let data = [7u8; 1024];
        let mut limited = 0;
        for id in 0..100_000u32 {
            // Never the first fragment: never complete.
            match r.add(frag(id, 8, true, &data), i64::from(id) * 1000) {
                Outcome::Held => {}
                Outcome::Skipped(SkipReason::IpFragmentLimit) => limited += 1,
                other => panic!("{other:?}"),
            }
            let (n, bytes) = r.held();
            assert!(n <= limits.max_datagrams && bytes <= limits.max_bytes);
        }
        assert!(limited > 99_000);
        // After the timeout, the held datagrams go, and are counted.
        let held = r.held().0 as u64;
        assert_eq!(
            r.add(frag(1 << 30, 8, true, &data), 100_000_000_000),
            Outcome::Held
        );
        assert_eq!(r.take_timed_out(), held);
        assert_eq!(r.held().0, 1);
    }
}
