//! A connection's per-packet records (`--packets`, the teaching views),
//! kept compactly: each record is encoded into a few bytes as it settles
//! (about 18 instead of the 72 of a [`PacketRecord`]), and a list allowed
//! to spill ([`PacketList::spilling`], for the formats that write the
//! packets as they read them back) moves its encoded records to a temporary
//! file past [`SPILL_OVER`] bytes, so that one connection of millions of
//! segments holds a megabyte. [`PacketList::for_each`] decodes them in
//! order.

use super::{At, PacketRecord, ORDINARY_RUN_OVER};
use crate::decode::TcpFlags;
use crate::seq::SeqNum;
use crate::state::{Side, State, Transition};
use crate::wireshark::SegFlags;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::Arc;

/// A run of segments collapsed while reading: what the teaching views'
/// summary line of it needs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunSummary {
    /// The run's last segment (its first is the record's `at`).
    pub last: At,
    /// Segments and payload bytes per sender, `[client, server]`.
    pub segments: [u64; 2],
    pub bytes: [u64; 2],
    /// The analysis flags of its segments, each set of flags with how many
    /// segments had it (empty sets left out).
    pub analysis: Vec<(SegFlags, u64)>,
}

impl RunSummary {
    fn add(&mut self, rec: &PacketRecord) {
        self.last = rec.at;
        self.segments[rec.dir] += 1;
        self.bytes[rec.dir] += u64::from(rec.len);
        if !rec.analysis.is_empty() {
            match self.analysis.iter_mut().find(|(f, _)| *f == rec.analysis) {
                Some((_, n)) => *n += 1,
                None => self.analysis.push((rec.analysis, 1)),
            }
        }
    }
}

/// The encoded records a spilling list keeps in memory at most: past this,
/// they go to its temporary file.
pub const SPILL_OVER: usize = 1 << 20;

/// The per-packet records of a connection (`--packets`, the teaching views).
#[derive(Debug, Clone, Default)]
pub struct PacketList {
    /// The settled records after those spilled, encoded ([`encode`]).
    encoded: Vec<u8>,
    /// The records settled (encoded, spilled or not).
    settled: usize,
    /// What the next record settled is encoded against.
    prev: Prev,
    /// The records of the run of plain segments being read, while it is
    /// too short to collapse: they follow the settled ones.
    tail: Vec<PacketRecord>,
    /// The records that stand for a run of ordinary segments collapsed
    /// while reading ([`PacketList::collapsing`]), by index, in order: such
    /// a record's own fields are the run's first segment's time and frame,
    /// no flags, no analysis, no transitions; the rest is summed here.
    pub runs: Vec<(usize, RunSummary)>,
    /// Set when runs of ordinary segments are collapsed while reading.
    collapse: Option<Collapser>,
    spill: Spill,
}

/// Where a list's encoded records may go beyond memory.
#[derive(Debug, Clone, Default)]
enum Spill {
    /// Nowhere: every record stays in memory.
    #[default]
    Never,
    /// To a temporary file, once there are more than [`SPILL_OVER`] bytes.
    Allowed,
    /// Some are in this file, written in pieces (their lengths, in
    /// order, each a whole number of records); `writable` is cleared by a
    /// failed write, after which the records stay in memory.
    File {
        file: Arc<SpillFile>,
        pieces: Vec<u64>,
        writable: bool,
    },
}

/// A temporary file, removed when the last list holding it goes (its
/// name, on systems that allow it, at once).
#[derive(Debug)]
struct SpillFile {
    file: File,
    /// The name left to remove.
    path: Option<PathBuf>,
}

impl Drop for SpillFile {
    fn drop(&mut self) {
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl SpillFile {
    fn new() -> io::Result<SpillFile> {
        let (file, path) =
            crate::tempfile::create("packets", File::options().read(true).append(true))?;
        // Open, it is still read and written where unlinking is allowed;
        // elsewhere the name goes on drop.
        let path = std::fs::remove_file(&path).err().map(|_| path);
        Ok(SpillFile { file, path })
    }
}

impl PacketList {
    /// A list that collapses each run of more than [`ORDINARY_RUN_OVER`]
    /// segments the teaching views would collapse anyway into one record
    /// (`PacketRecord::run`), so that a connection of millions of ordinary
    /// segments takes a few records. Only what is certainly ordinary is
    /// collapsed (see [`Collapser::plain`]): the views draw the same text
    /// from the list as from every record.
    pub fn collapsing() -> PacketList {
        PacketList {
            collapse: Some(Collapser::default()),
            ..PacketList::default()
        }
    }

    /// A list whose records past [`SPILL_OVER`] bytes go to a temporary
    /// file (for the formats that write them as [`PacketList::for_each`]
    /// reads them back, never holding them all). If no file can be made or
    /// written, they stay in memory.
    pub fn spilling() -> PacketList {
        PacketList {
            spill: Spill::Allowed,
            ..PacketList::default()
        }
    }

    /// The records.
    pub fn len(&self) -> usize {
        self.settled + self.tail.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether some records are in a temporary file (reading them back may
    /// fail).
    pub fn spilled(&self) -> bool {
        matches!(self.spill, Spill::File { .. })
    }

    /// The run collapsed into the record at `index`, if it is one.
    pub fn run_at(&self, index: usize) -> Option<&RunSummary> {
        self.runs
            .binary_search_by_key(&index, |&(i, _)| i)
            .ok()
            .map(|i| &self.runs[i].1)
    }

    /// Hands each record to `f` in order, with its index and the run
    /// collapsed into it (if it is one). Fails only if spilled records
    /// cannot be read back, or if `f` fails.
    pub fn for_each(
        &self,
        mut f: impl FnMut(usize, &PacketRecord, Option<&RunSummary>) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut index = 0;
        let mut runs = self.runs.iter().peekable();
        let mut each = |rec: &PacketRecord| {
            let run = runs.next_if(|(i, _)| *i == index).map(|(_, run)| run);
            f(index, rec, run)?;
            index += 1;
            Ok(())
        };
        let mut decoder = Decoder::default();
        if let Spill::File { file, pieces, .. } = &self.spill {
            let mut reader = &file.file;
            reader.seek(SeekFrom::Start(0))?;
            let mut buf = Vec::new();
            for &len in pieces {
                buf.clear();
                reader.take(len).read_to_end(&mut buf)?;
                if buf.len() as u64 != len {
                    return Err(cut_short());
                }
                decoder.each(&buf, &mut each)?;
            }
        }
        decoder.each(&self.encoded, &mut each)?;
        self.tail.iter().try_for_each(each)
    }

    /// Every record, decoded (in memory: for tests and small lists).
    pub fn to_vec(&self) -> io::Result<Vec<PacketRecord>> {
        let mut out = Vec::with_capacity(self.len());
        self.for_each(|_, rec, _| {
            out.push(rec.clone());
            Ok(())
        })?;
        Ok(out)
    }

    /// The connection finished: what is kept of it lingers a while for late
    /// segments, with no room to spare.
    pub(super) fn finished(&mut self) {
        self.encoded.shrink_to_fit();
        self.tail.shrink_to_fit();
    }

    /// Encodes `rec` after the settled records.
    fn settle(&mut self, rec: &PacketRecord) {
        encode(&mut self.encoded, &mut self.prev, rec);
        self.settled += 1;
        if self.encoded.len() >= SPILL_OVER {
            self.spill_out();
        }
    }

    /// Moves the encoded records to the temporary file, if the list may.
    #[cold]
    fn spill_out(&mut self) {
        if matches!(self.spill, Spill::Allowed) {
            self.spill = match SpillFile::new() {
                Ok(file) => Spill::File {
                    file: Arc::new(file),
                    pieces: Vec::new(),
                    writable: true,
                },
                Err(_) => Spill::Never,
            };
        }
        if let Spill::File {
            file,
            pieces,
            writable: writable @ true,
        } = &mut self.spill
        {
            // Appended, wherever a reader left the position.
            match (&file.file).write_all(&self.encoded) {
                Ok(()) => {
                    pieces.push(self.encoded.len() as u64);
                    self.encoded.clear();
                }
                // Whatever part of it went out lies after the pieces.
                Err(_) => *writable = false,
            }
        }
    }

    pub(super) fn push(&mut self, rec: PacketRecord, peer_isn: Option<u32>, hs_ack: bool) {
        let Some(c) = self.collapse.as_mut() else {
            self.settle(&rec);
            return;
        };
        let plain = c.plain(&rec, peer_isn, hs_ack);
        c.update(&rec, peer_isn);
        if !plain {
            c.run_start = None;
            for r in std::mem::take(&mut self.tail) {
                self.settle(&r);
            }
            self.settle(&rec);
            return;
        }
        let Some(start) = c.run_start else {
            c.run_start = Some(self.settled + self.tail.len());
            self.tail.push(rec);
            return;
        };
        if let Some((_, run)) = self.runs.last_mut().filter(|(i, _)| *i == start) {
            run.add(&rec);
            return;
        }
        self.tail.push(rec);
        if self.tail.len() > ORDINARY_RUN_OVER {
            let mut run = RunSummary::default();
            for r in &self.tail {
                run.add(r);
            }
            self.tail.truncate(1);
            if let Some(mut first) = self.tail.pop() {
                first.flags = TcpFlags(0);
                first.analysis = SegFlags::default();
                first.len = u32::try_from(run.bytes[0] + run.bytes[1]).unwrap_or(u32::MAX);
                self.settle(&first);
            }
            self.runs.push((start, run));
        }
    }
}

fn cut_short() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the spilled packet records were cut short",
    )
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

/// What a record is encoded against: the previous record's frame and time,
/// and per sender its previous sequence and acknowledgement numbers and
/// the bases its relative numbers were taken from.
#[derive(Debug, Clone, Copy, Default)]
struct Prev {
    at: At,
    seq: [u32; 2],
    ack: [u32; 2],
    base: [u32; 2],
    ack_base: [u32; 2],
}

/// `now` as its signed distance from `before` (32-bit serial numbers).
fn delta32(now: u32, before: u32) -> u64 {
    zigzag(i64::from(now.wrapping_sub(before) as i32))
}

fn undelta32(before: u32, delta: u64) -> u32 {
    before.wrapping_add(unzigzag(delta) as i32 as u32)
}

/// Appends `rec` as varints of its differences from `prev` (frame, time;
/// sequence and acknowledgement numbers and their bases, from the same
/// sender's previous record), its other numbers as varints, one byte of
/// bits (the sender, whether there is a relative ACK, whether there are
/// transitions), one of the two states, and two per transition.
fn encode(out: &mut Vec<u8>, prev: &mut Prev, rec: &PacketRecord) {
    put_varint(out, zigzag(rec.at.frame.wrapping_sub(prev.at.frame) as i64));
    put_varint(out, zigzag(rec.at.ts_ns.wrapping_sub(prev.at.ts_ns)));
    prev.at = rec.at;
    let d = rec.dir as usize;
    out.push(
        rec.dir as u8
            | u8::from(rec.rel_ack.is_some()) << 1
            | u8::from(!rec.transitions.is_empty()) << 2,
    );
    put_varint(out, u64::from(rec.flags.0));
    let (seq, ack) = (rec.seq.raw(), rec.ack.raw());
    put_varint(out, delta32(seq, prev.seq[d]));
    put_varint(out, delta32(ack, prev.ack[d]));
    (prev.seq[d], prev.ack[d]) = (seq, ack);
    let base = seq.wrapping_sub(rec.rel_seq);
    put_varint(out, delta32(base, prev.base[d]));
    prev.base[d] = base;
    if let Some(rel) = rec.rel_ack {
        let base = ack.wrapping_sub(rel);
        put_varint(out, delta32(base, prev.ack_base[d]));
        prev.ack_base[d] = base;
    }
    put_varint(out, u64::from(rec.len));
    put_varint(out, u64::from(rec.window));
    out.push((rec.client_state as u8) << 4 | rec.server_state as u8);
    put_varint(out, u64::from(rec.analysis.0));
    if !rec.transitions.is_empty() {
        put_varint(out, rec.transitions.len() as u64);
        for t in rec.transitions.iter() {
            out.push((t.side as u8) << 4 | t.from as u8);
            out.push(t.to as u8);
        }
    }
}

/// Reads back what [`encode`] wrote, record after record.
#[derive(Default)]
struct Decoder {
    prev: Prev,
}

/// Bytes being decoded.
struct Bytes<'a> {
    buf: &'a [u8],
    at: usize,
}

impl Bytes<'_> {
    fn byte(&mut self) -> io::Result<u8> {
        let b = *self.buf.get(self.at).ok_or_else(cut_short)?;
        self.at += 1;
        Ok(b)
    }

    fn varint(&mut self) -> io::Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(bad())
    }

    fn narrow<T: TryFrom<u64>>(&mut self) -> io::Result<T> {
        T::try_from(self.varint()?).map_err(|_| bad())
    }

    fn state(nibble: u8) -> io::Result<State> {
        State::ALL.get(usize::from(nibble)).copied().ok_or_else(bad)
    }

    fn side(bit: u8) -> Side {
        if bit & 1 == 0 {
            Side::Client
        } else {
            Side::Server
        }
    }
}

fn bad() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "a packet record cannot be decoded",
    )
}

impl Decoder {
    /// Decodes every record of `buf` (a whole number of them) into `f`.
    fn each(
        &mut self,
        buf: &[u8],
        f: &mut impl FnMut(&PacketRecord) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut bytes = Bytes { buf, at: 0 };
        while bytes.at < buf.len() {
            let rec = self.record(&mut bytes)?;
            f(&rec)?;
        }
        Ok(())
    }

    fn record(&mut self, b: &mut Bytes<'_>) -> io::Result<PacketRecord> {
        let prev = &mut self.prev;
        let frame = prev.at.frame.wrapping_add(unzigzag(b.varint()?) as u64);
        let ts_ns = prev.at.ts_ns.wrapping_add(unzigzag(b.varint()?));
        let at = At { frame, ts_ns };
        prev.at = at;
        let head = b.byte()?;
        let d = usize::from(head & 1);
        let flags = TcpFlags(b.narrow()?);
        prev.seq[d] = undelta32(prev.seq[d], b.varint()?);
        prev.ack[d] = undelta32(prev.ack[d], b.varint()?);
        let (seq, ack) = (SeqNum(prev.seq[d]), SeqNum(prev.ack[d]));
        prev.base[d] = undelta32(prev.base[d], b.varint()?);
        let rel_seq = seq.raw().wrapping_sub(prev.base[d]);
        let rel_ack = if head & 2 != 0 {
            prev.ack_base[d] = undelta32(prev.ack_base[d], b.varint()?);
            Some(ack.raw().wrapping_sub(prev.ack_base[d]))
        } else {
            None
        };
        let len = b.narrow()?;
        let window = b.narrow()?;
        let states = b.byte()?;
        let analysis = SegFlags(b.narrow()?);
        let transitions = if head & 4 != 0 {
            let n: usize = b.narrow()?;
            let mut list = Vec::with_capacity(n.min(64));
            for _ in 0..n {
                let (first, to) = (b.byte()?, b.byte()?);
                list.push(Transition {
                    side: Bytes::side(first >> 4),
                    from: Bytes::state(first & 15)?,
                    to: Bytes::state(to)?,
                });
            }
            list.into_boxed_slice()
        } else {
            Box::default()
        };
        Ok(PacketRecord {
            at,
            dir: Bytes::side(head),
            flags,
            seq,
            ack,
            rel_seq,
            rel_ack,
            len,
            window,
            client_state: Bytes::state(states >> 4)?,
            server_state: Bytes::state(states & 15)?,
            analysis,
            transitions,
        })
    }
}

/// What collapsing while reading knows of the segments so far: enough to
/// tell a segment the teaching views certainly show as ordinary (no step of
/// the opening or the release, no acknowledgement worth a note, no state
/// change) and that no boundary between phases can fall next to.
#[derive(Debug, Clone, Default)]
struct Collapser {
    /// Where the current run of plain segments begins in the records.
    run_start: Option<usize>,
    /// A FIN has been sent by either side.
    fin: bool,
    /// Per side: it has acknowledged the peer's ISN + 1.
    acked_syn: [bool; 2],
    /// Per side: it has sent a SYN+ACK, and after it a pure ACK.
    sent_syn_ack: [bool; 2],
    open_ack: [bool; 2],
    /// Both sides were synchronized after the last segment.
    synchronized: bool,
}

fn synchronized(s: State) -> bool {
    !matches!(
        s,
        State::Closed | State::Listen | State::SynSent | State::SynReceived
    )
}

fn is_pure_ack(f: TcpFlags, len: u32) -> bool {
    f.ack() && !f.syn() && !f.fin() && !f.rst() && len == 0
}

impl Collapser {
    /// Whether `rec` is certainly an ordinary segment of the data transfer:
    /// both sides were synchronized before it and are after it, it carries
    /// no SYN, FIN or RST and no FIN was sent before it, it changes no
    /// state, it is not the handshake's final ACK, its sender has
    /// acknowledged the peer's ISN + 1 already (so its acknowledgement gets
    /// no note) and it is not the first pure ACK after its sender's SYN+ACK
    /// (a step of a simultaneous open).
    fn plain(&self, rec: &PacketRecord, peer_isn: Option<u32>, hs_ack: bool) -> bool {
        let f = rec.flags;
        let side = rec.dir;
        self.synchronized
            && !self.fin
            && f.ack()
            && !f.syn()
            && !f.fin()
            && !f.rst()
            && rec.transitions.is_empty()
            && synchronized(rec.client_state)
            && synchronized(rec.server_state)
            && !hs_ack
            && peer_isn.is_some()
            && self.acked_syn[side]
            && !(is_pure_ack(f, rec.len) && self.sent_syn_ack[side] && !self.open_ack[side])
    }

    fn update(&mut self, rec: &PacketRecord, peer_isn: Option<u32>) {
        let f = rec.flags;
        let side = rec.dir;
        self.fin |= f.fin();
        if f.ack() && peer_isn.is_some_and(|isn| rec.ack.raw() == isn.wrapping_add(1)) {
            self.acked_syn[side] = true;
        }
        if f.syn() && f.ack() {
            self.sent_syn_ack[side] = true;
        } else if is_pure_ack(f, rec.len) && self.sent_syn_ack[side] {
            self.open_ack[side] = true;
        }
        self.synchronized = synchronized(rec.client_state) && synchronized(rec.server_state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: u64) -> PacketRecord {
        let transitions: Box<[Transition]> = if i % 7 == 0 {
            vec![
                Transition {
                    side: Side::Server,
                    from: State::ALL[(i % 11) as usize],
                    to: State::ALL[((i + 3) % 11) as usize],
                };
                (i % 3) as usize + 1
            ]
            .into()
        } else {
            Box::default()
        };
        PacketRecord {
            // Frames and times that go back now and then.
            at: At {
                frame: if i % 13 == 5 { i / 2 } else { i * 3 + 1 },
                ts_ns: (i as i64 * 1_000_003) * if i % 17 == 3 { -1 } else { 1 },
            },
            dir: if i % 2 == 0 {
                Side::Client
            } else {
                Side::Server
            },
            flags: TcpFlags((i % 512) as u16),
            seq: SeqNum((i as u32).wrapping_mul(2_654_435_761)),
            ack: SeqNum(u32::MAX - i as u32),
            rel_seq: (i as u32).wrapping_mul(1460),
            rel_ack: (i % 5 != 0).then_some(i as u32 * 7),
            len: (i % 1461) as u32,
            window: (i * 977 % 65_536) as u16,
            client_state: State::ALL[(i % 11) as usize],
            server_state: State::ALL[((i + 5) % 11) as usize],
            analysis: SegFlags((i * 31 % 4096) as u16),
            transitions,
        }
    }

    fn same(a: &PacketRecord, b: &PacketRecord) -> bool {
        format!("{a:?}") == format!("{b:?}")
    }

    #[test]
    fn records_come_back_as_they_went_in() {
        let mut list = PacketList::default();
        let records: Vec<PacketRecord> = (0..5000).map(record).collect();
        for r in &records {
            list.push(r.clone(), None, false);
        }
        assert_eq!(list.len(), records.len());
        assert!(!list.spilled());
        let back = list.to_vec().unwrap();
        assert_eq!(back.len(), records.len());
        for (a, b) in records.iter().zip(&back) {
            assert!(same(a, b), "{a:?} != {b:?}");
        }
        // Encoded, a record takes far less than in memory.
        assert!(
            list.encoded.len() < records.len() * 40,
            "{}",
            list.encoded.len()
        );
    }

    #[test]
    fn a_spilling_list_goes_to_a_file_and_back() {
        let mut list = PacketList::spilling();
        let count = 3 * SPILL_OVER as u64 / 20;
        for i in 0..count {
            list.push(record(i), None, false);
            assert!(list.encoded.len() < SPILL_OVER);
        }
        assert!(list.spilled());
        let Spill::File { pieces, .. } = &list.spill else {
            unreachable!()
        };
        assert!(pieces.len() >= 2, "{pieces:?}");
        let clone = list.clone();
        for list in [&list, &clone] {
            let mut n = 0;
            list.for_each(|i, rec, run| {
                assert_eq!(i as u64, n);
                assert!(run.is_none());
                assert!(same(rec, &record(n)), "record {n}: {rec:?}");
                n += 1;
                Ok(())
            })
            .unwrap();
            assert_eq!(n, count);
        }
        // A list that may not spill keeps everything.
        let mut kept = PacketList::default();
        for i in 0..count {
            kept.push(record(i), None, false);
        }
        assert!(!kept.spilled());
        assert_eq!(kept.len() as u64, count);
    }
}
