//! Records put back in id order in bounded memory, whatever order they came
//! in: the connections of the JSON document, which lists them by id while
//! they finish in another order.
//!
//! An external merge sort: records gather in memory up to
//! [`Sorted::CHUNK`] bytes; past that, each such chunk is sorted and
//! written to a temporary file as a run, and the runs are merged when the
//! records are written out. Records are those of [`super::spool`].

use super::spool::{self, copy_record, parse_header, PutId, HEADER};
use crate::render::packed::{self, Unpacked};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufRead, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::mpsc;

pub(super) struct Sorted {
    /// The records of the current chunk.
    chunk: Vec<u8>,
    /// Each record of the chunk: its id and where it starts.
    index: Vec<(u64, usize)>,
    /// The file, once there is one: its writer (lent to `writer` while
    /// that writes the runs) and its name.
    file: Option<BufWriter<File>>,
    path: Option<PathBuf>,
    /// The thread writing the chunks handed to it as runs, if one is.
    writer: Option<RunWriter>,
    /// The runs written so far, and where each is in the file.
    runs: Vec<(u64, u64)>,
    /// Bytes written to the file.
    written: u64,
    count: u64,
}

/// What is read of a run at a time while merging, at most and at least:
/// the buffers of all runs together take about [`Sorted::IN_MEMORY`].
const RUN_BUFFER: (usize, usize) = (64 << 10, 4 << 10);

impl Sorted {
    /// What the records held in memory take at most: two chunks, the one
    /// filling and the one being written.
    const IN_MEMORY: usize = 2 << 20;
    const CHUNK: usize = Self::IN_MEMORY / 2;

    pub fn new() -> Sorted {
        Sorted {
            chunk: Vec::new(),
            index: Vec::new(),
            file: None,
            path: None,
            writer: None,
            runs: Vec::new(),
            written: 0,
            count: 0,
        }
    }

    /// The records pushed.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Adds the record of connection `id`: `bytes`, its id going after the
    /// first `slot` of them.
    pub fn push(&mut self, id: u64, slot: usize, bytes: &[u8]) -> io::Result<()> {
        self.push_with(id, slot, |out| out.write_all(bytes))
    }

    /// Adds the record of connection `id`: what `write` writes, its id
    /// going after the first `slot` bytes. The record is written as it
    /// comes: into the chunk, or, once it alone is more than the chunk
    /// holds, straight to the file as a run of its own (a JSON object with
    /// every packet of a long connection can be larger than memory).
    pub fn push_with(
        &mut self,
        id: u64,
        slot: usize,
        write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> io::Result<()> {
        if self.chunk.capacity() == 0 {
            // At once, not by doubling past the bound.
            self.chunk.reserve_exact(Self::CHUNK);
        }
        let start = self.chunk.len();
        let mut record = Record {
            sorted: self,
            start,
            on_disk: None,
            len: 0,
        };
        // Its length is known at the end. The header is written as the
        // rest is: the chunk never grows past its bound.
        let written = record
            .write_all(&spool::header(id, 0, 0))
            .and_then(|()| write(&mut record));
        let (start, on_disk) = (record.start, record.on_disk);
        let len = record.len.saturating_sub(HEADER as u64);
        if let Err(e) = written {
            // Not a record: what it left in the chunk goes.
            if on_disk.is_none() {
                self.chunk.truncate(start);
            }
            return Err(e);
        }
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        let header = spool::header(id, slot.min(len), len);
        if on_disk.is_some() {
            self.settle()?;
        }
        match (on_disk, &mut self.file) {
            (Some(at), Some(file)) => {
                file.seek(SeekFrom::Start(at))?;
                file.write_all(&header)?;
                file.seek(SeekFrom::Start(self.written))?;
                self.runs.push((at, self.written));
            }
            _ => {
                self.chunk[start..start + HEADER].copy_from_slice(&header);
                self.index.push((id, start));
            }
        }
        self.count += 1;
        Ok(())
    }

    /// Sorts the chunk and writes it to the file as a run.
    fn write_run(&mut self) -> io::Result<()> {
        self.write_run_keeping(self.chunk.len())
    }

    /// Hands the records of the chunk to the writing thread, which sorts
    /// them and writes them to the file as a run; the chunk's bytes from
    /// `keep` on (a record being written, not in the index) stay, moved to
    /// the start of the next chunk. The run goes out while the next chunk
    /// fills: the kernel's copy of it into the file is off this thread.
    fn write_run_keeping(&mut self, keep: usize) -> io::Result<()> {
        let writer = match &mut self.writer {
            Some(writer) => writer,
            None => {
                self.file()?;
                let Some(out) = self.file.take() else {
                    return Err(io::Error::other("no temporary file"));
                };
                self.writer.insert(RunWriter::spawn(out)?)
            }
        };
        // The record being written (usually a few bytes, or none) waits
        // apart while the chunk goes.
        let tail = self.chunk[keep..].to_vec();
        self.chunk.truncate(keep);
        let chunk = (
            std::mem::take(&mut self.chunk),
            std::mem::take(&mut self.index),
        );
        if writer.runs.send(chunk).is_err() {
            // It stopped: its error says why.
            return self
                .settle()
                .and(Err(io::Error::other("the spool's writer stopped")));
        }
        // It has taken this chunk, so it is done with the one before: two
        // chunks at most, never a third.
        (self.chunk, self.index) = writer.spare();
        self.chunk.reserve_exact(Self::CHUNK);
        self.chunk.extend_from_slice(&tail);
        self.runs.push((self.written, self.written + keep as u64));
        self.written += keep as u64;
        Ok(())
    }

    /// Waits for the writing thread to write what it was given, and takes
    /// the file back from it.
    fn settle(&mut self) -> io::Result<()> {
        let Some(writer) = self.writer.take() else {
            return Ok(());
        };
        drop(writer.runs);
        let out = writer
            .thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the spool's writer failed")))?;
        self.file = Some(out);
        Ok(())
    }

    /// The file, made if there is none yet, once the writing thread is done.
    fn file(&mut self) -> io::Result<&mut BufWriter<File>> {
        self.settle()?;
        if self.file.is_none() {
            if self.path.is_some() {
                return Err(io::Error::other("the temporary file was lost"));
            }
            let (file, path) = spool::temp_file("document")?;
            self.file = Some(file);
            self.path = Some(path);
        }
        match &mut self.file {
            Some(file) => Ok(file),
            None => Err(io::Error::other("no temporary file")),
        }
    }

    /// Writes every record to `out` in id order, each with its id plus
    /// `offset` written by `put_id`, and `before(first, out)` before each.
    pub fn write_to(
        mut self,
        out: &mut dyn Write,
        put_id: PutId,
        mut before: impl FnMut(bool, &mut dyn Write) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut first = true;
        if self.path.is_none() {
            // All in memory: sorted in place.
            self.index.sort_unstable_by_key(|&(id, _)| id);
            for &(_, at) in &self.index {
                let mut record = record_at(&self.chunk, at);
                before(first, out)?;
                first = false;
                copy_one(&mut record, out, put_id)?;
            }
            return Ok(());
        }
        if !self.chunk.is_empty() {
            self.write_run()?;
        }
        self.settle()?;
        let (Some(file), Some(path)) = (self.file.take(), self.path.take()) else {
            return Ok(());
        };
        let mut file = file.into_inner().map_err(|e| e.into_error())?;
        // The file stays open for reading; its name can go now.
        let _ = std::fs::remove_file(path);
        // The chunk is in the file; its memory goes to the runs' buffers.
        self.chunk = Vec::new();
        let buffer = (Self::IN_MEMORY / self.runs.len().max(1)).clamp(RUN_BUFFER.1, RUN_BUFFER.0);
        let mut runs: Vec<Run> = self
            .runs
            .iter()
            .map(|&(start, end)| Run {
                next: start,
                end,
                buf: Vec::new(),
                at: 0,
                size: buffer,
            })
            .collect();
        // The next id of each run, smallest first.
        let mut heads = BinaryHeap::new();
        for (i, run) in runs.iter_mut().enumerate() {
            if let Some(id) = run.peek_id(&mut file)? {
                heads.push(Reverse((id, i)));
            }
        }
        while let Some(Reverse((_, i))) = heads.pop() {
            let run = &mut runs[i];
            before(first, out)?;
            first = false;
            copy_one(
                &mut RunReader {
                    run,
                    file: &mut file,
                },
                out,
                put_id,
            )?;
            if let Some(id) = run.peek_id(&mut file)? {
                heads.push(Reverse((id, i)));
            }
        }
        Ok(())
    }
}

impl Sorted {
    /// Writes every record, packed ([`crate::render::packed`]), as
    /// [`Sorted::write_to`] does to `out`, which unpacks them; but with the
    /// reading and merging of the runs on a thread of its own, a block at a
    /// time, while this one unpacks and writes each block. At the end of a
    /// run both cores are free, and unpacking costs more than the merge:
    /// when the blocks wait for this thread, the merge unpacks the next one
    /// itself.
    pub fn write_unpacked_beside<W: Write>(
        self,
        out: &mut Unpacked<W>,
        put_id: PutId,
        before: fn(bool, &mut dyn Write) -> io::Result<()>,
    ) -> io::Result<()> {
        let (full, blocks) = mpsc::sync_channel::<Block>(BLOCKS_IN_FLIGHT);
        let (spent, empty) = mpsc::channel::<Vec<u8>>();
        std::thread::scope(|scope| {
            let merge = std::thread::Builder::new()
                .name("merge".into())
                .spawn_scoped(scope, move || {
                    let mut to = Blocks {
                        full,
                        empty,
                        block: Vec::with_capacity(BLOCK),
                        unpacked: Unpacked::new(Vec::new()),
                    };
                    self.write_to(&mut to, put_id, before)?;
                    to.send()
                })?;
            let mut written = Ok(());
            for block in blocks {
                let bytes = match block {
                    Block::Packed(bytes) => {
                        written = out.write_all(&bytes);
                        bytes
                    }
                    Block::Unpacked(bytes) => {
                        written = out.write_unpacked(&bytes);
                        bytes
                    }
                };
                if written.is_err() {
                    break; // the merge stops at its next block
                }
                let _ = spent.send(bytes);
            }
            // A merge stopped by this side's stopping says "broken pipe":
            // then this side's error is the one.
            let merged = merge
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the merge failed")));
            written.and(merged.or_else(|e| {
                if e.kind() == io::ErrorKind::BrokenPipe {
                    Ok(())
                } else {
                    Err(e)
                }
            }))
        })
    }
}

/// What the merge hands over at a time, and how many blocks can wait.
const BLOCK: usize = 256 << 10;
const BLOCKS_IN_FLIGHT: usize = 2;

/// A block of records as the merge hands it over.
enum Block {
    Packed(Vec<u8>),
    /// Unpacked by the merge, since the writing thread was behind.
    Unpacked(Vec<u8>),
}

/// The merge's output: blocks sent to the writing thread, and taken back
/// once written.
struct Blocks {
    full: mpsc::SyncSender<Block>,
    empty: mpsc::Receiver<Vec<u8>>,
    block: Vec<u8>,
    /// What unpacks the blocks the merge unpacks itself.
    unpacked: Unpacked<Vec<u8>>,
}

impl Blocks {
    fn spare(&mut self) -> Vec<u8> {
        match self.empty.try_recv() {
            Ok(mut block) => {
                block.clear();
                block
            }
            Err(_) => Vec::with_capacity(BLOCK),
        }
    }

    /// Sends the block, but for a last byte that must stay with what
    /// follows ([`packed::cut`]).
    fn send(&mut self) -> io::Result<()> {
        if self.block.is_empty() {
            return Ok(());
        }
        let mut next = self.spare();
        let cut = packed::cut(&self.block);
        next.extend_from_slice(&self.block[cut..]);
        self.block.truncate(cut);
        let block = std::mem::replace(&mut self.block, next);
        // The writer gone (its error is its own): nothing more to do.
        let gone = || io::Error::from(io::ErrorKind::BrokenPipe);
        match self.full.try_send(Block::Packed(block)) {
            Ok(()) => Ok(()),
            Err(mpsc::TrySendError::Full(Block::Packed(block))) => {
                let spare = self.spare();
                let bytes = self
                    .unpacked
                    .unpack_whole(&block, |out| std::mem::replace(out, spare))?;
                self.full.send(Block::Unpacked(bytes)).map_err(|_| gone())
            }
            Err(_) => Err(gone()),
        }
    }
}

impl Write for Blocks {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.block.extend_from_slice(data);
        if self.block.len() >= BLOCK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Sorted {
    fn drop(&mut self) {
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Writes every byte of `slices` to `out`, at most [`SLICES`] of them a
/// call (`Write::write_all_vectored` is not stable).
fn write_all_vectored(out: &mut impl Write, mut slices: &mut [io::IoSlice<'_>]) -> io::Result<()> {
    const SLICES: usize = 1024;
    while !slices.is_empty() {
        let n = slices.len().min(SLICES);
        match out.write_vectored(&slices[..n]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(written) => io::IoSlice::advance_slices(&mut slices, written),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A chunk's records and their index (id, where each starts).
type Chunk = (Vec<u8>, Vec<(u64, usize)>);

/// A thread of a [`Sorted`]'s own that writes the chunks it is handed as
/// runs, and hands their memory back.
struct RunWriter {
    /// A chunk and its index; one at a time (the next waits for the last).
    runs: mpsc::SyncSender<Chunk>,
    spent: mpsc::Receiver<Chunk>,
    /// A chunk was handed over before: the thread has one to give back.
    handed: bool,
    thread: std::thread::JoinHandle<io::Result<BufWriter<File>>>,
}

impl RunWriter {
    fn spawn(mut out: BufWriter<File>) -> io::Result<RunWriter> {
        let (runs, chunks) = mpsc::sync_channel::<Chunk>(0);
        let (back, spent) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("spool".into())
            .spawn(move || {
                for (mut chunk, mut index) in chunks {
                    write_sorted(&mut out, &chunk, &mut index)?;
                    chunk.clear();
                    index.clear();
                    let _ = back.send((chunk, index));
                }
                Ok(out)
            })?;
        Ok(RunWriter {
            runs,
            spent,
            handed: false,
            thread,
        })
    }

    /// The chunk and index the thread is done with (it hands them back
    /// before it takes the next), or new ones for the first run.
    fn spare(&mut self) -> Chunk {
        if self.handed {
            if let Ok(spare) = self.spent.recv() {
                return spare;
            }
        }
        self.handed = true;
        Chunk::default()
    }
}

/// Sorts the records of `chunk` by `index` and writes them to `out`,
/// straight from the chunk, many records a call (not copied into the
/// writer's buffer first; what it holds goes before).
fn write_sorted(
    out: &mut BufWriter<File>,
    chunk: &[u8],
    index: &mut [(u64, usize)],
) -> io::Result<()> {
    index.sort_unstable_by_key(|&(id, _)| id);
    out.flush()?;
    let mut records: Vec<io::IoSlice> = index
        .iter()
        .map(|&(_, at)| io::IoSlice::new(record_at(chunk, at)))
        .collect();
    write_all_vectored(out.get_mut(), &mut records)
}

/// The record of `chunk` that starts at `start`, header included.
fn record_at(chunk: &[u8], start: usize) -> &[u8] {
    let mut header = [0; HEADER];
    header.copy_from_slice(&chunk[start..start + HEADER]);
    let (_, _, len) = parse_header(&header);
    let end = start + HEADER + usize::try_from(len).unwrap_or(usize::MAX);
    &chunk[start..end]
}

/// A record being written into a [`Sorted`] ([`Sorted::push_with`]).
struct Record<'a> {
    sorted: &'a mut Sorted,
    /// Where it starts in the chunk, while it is there.
    start: usize,
    /// Where it starts in the file, once it is there.
    on_disk: Option<u64>,
    /// Its bytes so far, header included.
    len: u64,
}

impl Write for Record<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let s = &mut *self.sorted;
        if self.on_disk.is_none() && s.chunk.len() + buf.len() > Sorted::CHUNK {
            if self.start > 0 {
                // The records before it make a run; it starts the chunk.
                s.write_run_keeping(self.start)?;
                self.start = 0;
            }
            if s.chunk.len() + buf.len() > Sorted::CHUNK {
                // Alone more than the chunk holds: a run of its own, written
                // as it comes.
                let at = s.written;
                let chunk = std::mem::take(&mut s.chunk);
                s.file()?.write_all(&chunk)?;
                s.chunk = chunk;
                s.written += s.chunk.len() as u64;
                s.chunk.clear();
                self.on_disk = Some(at);
            }
        }
        if self.on_disk.is_some() {
            s.file()?.write_all(buf)?;
            s.written += buf.len() as u64;
        } else {
            s.chunk.extend_from_slice(buf);
        }
        self.len += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Copies the record `reader` is at to `out`, with its id.
fn copy_one(reader: &mut dyn BufRead, out: &mut dyn Write, put_id: PutId) -> io::Result<()> {
    let mut header = [0; HEADER];
    reader.read_exact(&mut header)?;
    let (id, slot, len) = parse_header(&header);
    copy_record(reader, out, id, slot, len, put_id)
}

/// One run of the file, read a buffer at a time.
struct Run {
    /// Where the part of the run not yet buffered starts, and the run ends.
    next: u64,
    end: u64,
    buf: Vec<u8>,
    /// How much of `buf` is used up.
    at: usize,
    /// What is read at a time.
    size: usize,
}

impl Run {
    /// The id of the run's next record; `None` at its end.
    fn peek_id(&mut self, file: &mut File) -> io::Result<Option<u64>> {
        let mut id = [0; 8];
        if self.buf.len() - self.at < id.len() {
            if self.at == self.buf.len() && self.next == self.end {
                return Ok(None);
            }
            // A header across two buffers, or none buffered: buffer afresh
            // from where the run is.
            self.next -= (self.buf.len() - self.at) as u64;
            self.buf.clear();
            self.at = 0;
            RunReader { run: self, file }.fill_buf()?;
            if self.buf.len() < id.len() {
                return Err(cut_short());
            }
        }
        id.copy_from_slice(&self.buf[self.at..self.at + 8]);
        Ok(Some(u64::from_le_bytes(id)))
    }
}

fn cut_short() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the sorted records were cut short",
    )
}

/// A run read from the shared file.
struct RunReader<'a> {
    run: &'a mut Run,
    file: &'a mut File,
}

impl Read for RunReader<'_> {
    fn read(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        let buf = self.fill_buf()?;
        let n = buf.len().min(dst.len());
        dst[..n].copy_from_slice(&buf[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for RunReader<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let run = &mut *self.run;
        if run.at == run.buf.len() && run.next < run.end {
            let n = (run.end - run.next).min(run.size as u64) as usize;
            run.buf.resize(n, 0);
            self.file.seek(SeekFrom::Start(run.next))?;
            self.file.read_exact(&mut run.buf)?;
            run.next += n as u64;
            run.at = 0;
        }
        Ok(&run.buf[run.at..])
    }

    fn consume(&mut self, n: usize) {
        self.run.at = (self.run.at + n).min(self.run.buf.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(id: u64, out: &mut dyn Write) -> io::Result<()> {
        write!(out, "{id}:")
    }

    fn written(sorted: Sorted) -> String {
        let mut out = Vec::new();
        sorted
            .write_to(&mut out, put, |first, out| {
                out.write_all(if first { b"[" } else { b"," })
            })
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Takes at most 7 bytes a call, of the first slice only, and is
    /// interrupted every third call.
    struct Grudging {
        got: Vec<u8>,
        calls: usize,
    }

    impl Write for Grudging {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            self.calls += 1;
            if self.calls % 3 == 0 {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = data.len().min(7);
            self.got.extend_from_slice(&data[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn vectored_writes_write_every_byte() {
        let parts: Vec<Vec<u8>> = (0..3000u32)
            .map(|i| i.to_string().repeat(i as usize % 5).into_bytes())
            .collect();
        let mut slices: Vec<io::IoSlice> = parts.iter().map(|p| io::IoSlice::new(p)).collect();
        let mut out = Grudging {
            got: Vec::new(),
            calls: 0,
        };
        write_all_vectored(&mut out, &mut slices).unwrap();
        assert_eq!(out.got, parts.concat());
        // A writer that takes nothing is an error, not a loop.
        let mut full: &mut [u8] = &mut [];
        let mut one = [io::IoSlice::new(b"x")];
        let e = write_all_vectored(&mut full, &mut one).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WriteZero);
    }

    #[test]
    fn in_memory_records_come_out_by_id() {
        let mut sorted = Sorted::new();
        for id in [3, 1, 2, 5, 4] {
            sorted.push(id, 1, format!("<x{id}>").as_bytes()).unwrap();
        }
        assert_eq!(sorted.len(), 5);
        assert!(sorted.file.is_none());
        assert_eq!(written(sorted), "[<1:x1>,<2:x2>,<3:x3>,<4:x4>,<5:x5>");
        assert_eq!(written(Sorted::new()), "");
    }

    /// Records of odd sizes, in an order far from sorted, over several
    /// runs (and records longer than a run's read buffer), and what they
    /// should come out as.
    fn spilled(count: u64) -> (Sorted, Vec<u8>) {
        let mut sorted = Sorted::new();
        let body = |id: u64| vec![b'a' + (id % 26) as u8; (id as usize * 7919) % 90_000];
        let mut ids: Vec<u64> = (1..=count).collect();
        fastrand::Rng::with_seed(7).shuffle(&mut ids);
        for &id in &ids {
            sorted.push(id, 0, &body(id)).unwrap();
        }
        assert!(sorted.runs.len() >= 2, "{} runs", sorted.runs.len());
        let mut expected = Vec::new();
        for id in 1..=count {
            expected.extend_from_slice(format!("\n{id}:").as_bytes());
            expected.extend_from_slice(&body(id));
        }
        (sorted, expected)
    }

    fn newline(_: bool, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(b"\n")
    }

    #[test]
    fn runs_on_disk_are_merged_by_id() {
        let (sorted, expected) = spilled(1200);
        let path = sorted.path.clone().unwrap();
        let mut out = Vec::new();
        sorted.write_to(&mut out, put, newline).unwrap();
        assert!(!path.exists(), "the temporary file is removed");
        assert!(out == expected, "records out of order or altered");
        // The same, merged on a thread of its own.
        let (sorted, expected) = spilled(1200);
        let path = sorted.path.clone().unwrap();
        let mut out = Vec::new();
        let mut unpacked = Unpacked::new(&mut out);
        sorted
            .write_unpacked_beside(&mut unpacked, put, newline)
            .unwrap();
        unpacked.finish().unwrap();
        assert!(!path.exists(), "the temporary file is removed");
        assert!(out == expected, "records out of order or altered beside");
    }

    /// A writer that fails once `left` bytes are written.
    struct Failing {
        left: usize,
    }

    impl Write for Failing {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            if self.left < data.len() {
                return Err(io::Error::other("disk full"));
            }
            self.left -= data.len();
            Ok(data.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_writers_error_stops_the_merge_beside_it() {
        let (sorted, _) = spilled(600);
        let err = sorted
            .write_unpacked_beside(&mut Unpacked::new(Failing { left: 1 << 20 }), put, newline)
            .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
    }

    /// Runs written by the writing thread, with records larger than the
    /// chunk between them (each takes the file back from it): all in id
    /// order, intact.
    #[test]
    fn runs_handed_over_and_large_records_between_them() {
        let mut sorted = Sorted::new();
        let body = |id: u64| {
            let len = if id % 50 == 0 {
                Sorted::CHUNK + 7
            } else {
                20_000 + id as usize
            };
            vec![b'a' + (id % 26) as u8; len]
        };
        let mut ids: Vec<u64> = (1..=400).collect();
        fastrand::Rng::with_seed(11).shuffle(&mut ids);
        for &id in &ids {
            sorted.push(id, 0, &body(id)).unwrap();
        }
        assert!(sorted.runs.len() >= 8, "{} runs", sorted.runs.len());
        let mut expected = Vec::new();
        for id in 1..=400 {
            expected.extend_from_slice(format!("\n{id}:").as_bytes());
            expected.extend_from_slice(&body(id));
        }
        let mut out = Vec::new();
        sorted.write_to(&mut out, put, newline).unwrap();
        assert!(out == expected, "records out of order or altered");
    }

    #[test]
    fn a_record_larger_than_the_chunk_is_written_as_it_comes() {
        let mut sorted = Sorted::new();
        let big = |id: u64| (id as usize % 3 + 1) * Sorted::CHUNK + 7;
        let byte = |id: u64, i: usize| b'a' + ((id as usize + i / 1000) % 26) as u8;
        let ids = [5u64, 2, 9, 1, 7, 3];
        for &id in &ids {
            if id % 2 == 1 {
                // Written in pieces of 64 KiB, as a connection's packets are.
                sorted
                    .push_with(id, 2, |out| {
                        let body: Vec<u8> = (0..big(id)).map(|i| byte(id, i)).collect();
                        body.chunks(64 << 10).try_for_each(|c| out.write_all(c))
                    })
                    .unwrap();
            } else {
                sorted.push(id, 1, format!("<x{id}>").as_bytes()).unwrap();
            }
        }
        // Never more in memory than the chunk holds.
        assert!(sorted.chunk.capacity() <= Sorted::CHUNK);
        let mut out = Vec::new();
        sorted
            .write_to(&mut out, put, |_, out| out.write_all(b"|"))
            .unwrap();
        let mut expected = Vec::new();
        let mut sorted_ids = ids;
        sorted_ids.sort_unstable();
        for id in sorted_ids {
            expected.push(b'|');
            if id % 2 == 1 {
                let body: Vec<u8> = (0..big(id)).map(|i| byte(id, i)).collect();
                expected.extend_from_slice(&body[..2]);
                expected.extend_from_slice(format!("{id}:").as_bytes());
                expected.extend_from_slice(&body[2..]);
            } else {
                expected.extend_from_slice(format!("<{id}:x{id}>").as_bytes());
            }
        }
        assert!(out == expected, "records out of order or altered");
    }
}
