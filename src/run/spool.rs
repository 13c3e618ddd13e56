//! The records of one capture (JSON Lines, Zeek rows) held back until the
//! captures before it are written, then renumbered on the way out.
//!
//! Each record is kept as its connection's id (local to the capture) and
//! its bytes without the id ([`render::json::line_after_id`],
//! [`render::zeek::row`]), with the place the id goes (its slot), so that
//! renumbering writes a new id into bytes never looked into.

use std::fs::File;
use std::io::{self, BufRead, BufWriter, Read, Seek, Write};
use std::path::PathBuf;

/// The records of one capture: in memory up to [`Spool::IN_MEMORY`] bytes,
/// then in a temporary file, so that memory stays bounded. A record is its
/// id, its slot (the bytes before the id) and the length of its bytes (each
/// 8 bytes, little endian), then its bytes.
pub(super) struct Spool {
    /// The capture's position among the inputs, for the file's name.
    index: usize,
    memory: Vec<u8>,
    file: Option<(BufWriter<File>, PathBuf)>,
    /// Bytes written to the file.
    written: u64,
}

/// The bytes of a record before its bytes.
pub(super) const HEADER: usize = 24;

/// Writes a record's id, as its format spells it, into its slot.
pub(super) type PutId = fn(u64, &mut dyn Write) -> io::Result<()>;

/// A record's header: its id, its slot and the length of its bytes.
pub(super) fn header(id: u64, slot: usize, len: usize) -> [u8; HEADER] {
    let mut h = [0; HEADER];
    h[..8].copy_from_slice(&id.to_le_bytes());
    h[8..16].copy_from_slice(&(slot as u64).to_le_bytes());
    h[16..].copy_from_slice(&(len as u64).to_le_bytes());
    h
}

/// The id, slot and length of a record's header.
pub(super) fn parse_header(h: &[u8; HEADER]) -> (u64, u64, u64) {
    let word = |at: usize| {
        let mut w = [0; 8];
        w.copy_from_slice(&h[at..at + 8]);
        u64::from_le_bytes(w)
    };
    (word(0), word(8), word(16))
}

impl Spool {
    const IN_MEMORY: usize = 8 << 20;

    pub fn new(index: usize) -> Spool {
        Spool {
            index,
            memory: Vec::new(),
            file: None,
            written: 0,
        }
    }

    /// Adds the record of connection `id`: `bytes`, its id going after the
    /// first `slot` of them.
    pub fn push(&mut self, id: u64, slot: usize, bytes: &[u8]) -> io::Result<()> {
        self.push_with(id, slot, |out| out.write_all(bytes))
    }

    /// Adds the record of connection `id`: what `write` writes, its id
    /// going after the first `slot` bytes, written as it comes (to the file
    /// once memory holds more than [`Spool::IN_MEMORY`]).
    pub fn push_with(
        &mut self,
        id: u64,
        slot: usize,
        write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> io::Result<()> {
        // Where its header is, in memory or in the file (which starts with
        // what memory held): its length is known at the end.
        let at = self.written + self.memory.len() as u64;
        let mut record = SpoolRecord {
            spool: self,
            len: 0,
        };
        record.write_all(&header(id, 0, 0))?;
        write(&mut record)?;
        let len = record.len - HEADER as u64;
        let header = header(id, slot.min(len as usize), len as usize);
        match &mut self.file {
            Some((file, _)) => {
                file.seek(io::SeekFrom::Start(at))?;
                file.write_all(&header)?;
                file.seek(io::SeekFrom::Start(self.written))?;
            }
            None => {
                let at = at as usize;
                self.memory[at..at + HEADER].copy_from_slice(&header);
            }
        }
        Ok(())
    }

    /// Whether no record was pushed.
    pub fn is_empty(&self) -> bool {
        self.memory.is_empty() && self.file.is_none()
    }

    /// Writes the records to `out` in the order they came, each with its id
    /// plus `offset` written by `put_id`.
    pub fn copy_to(self, out: &mut dyn Write, offset: u64, put_id: PutId) -> io::Result<()> {
        self.each(|reader, id, slot, len| {
            copy_record(reader, out, id.saturating_add(offset), slot, len, put_id)
        })?;
        out.flush()
    }

    /// Hands each record to `f` in the order they came, as its reader (at
    /// the record's bytes), id, slot and length.
    pub fn each(
        mut self,
        mut f: impl FnMut(&mut dyn BufRead, u64, u64, u64) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut reader: Box<dyn BufRead> = match self.file.take() {
            Some((file, path)) => {
                let mut file = file.into_inner().map_err(|e| e.into_error())?;
                file.write_all(&self.memory)?;
                file.rewind()?;
                // The file stays open for reading; its name can go now.
                let _ = std::fs::remove_file(path);
                Box::new(io::BufReader::with_capacity(1 << 20, file))
            }
            None => Box::new(io::Cursor::new(std::mem::take(&mut self.memory))),
        };
        let mut header = [0; HEADER];
        while !reader.fill_buf()?.is_empty() {
            reader.read_exact(&mut header)?;
            let (id, slot, len) = parse_header(&header);
            f(&mut reader, id, slot, len)?;
        }
        Ok(())
    }
}

/// A record being written into a [`Spool`] ([`Spool::push_with`]).
struct SpoolRecord<'a> {
    spool: &'a mut Spool,
    /// Its bytes so far, header included.
    len: u64,
}

impl Write for SpoolRecord<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let s = &mut *self.spool;
        if s.file.is_none() && s.memory.len() + buf.len() > Spool::IN_MEMORY {
            let (mut file, path) = temp_file(&s.index.to_string())?;
            file.write_all(&s.memory)?;
            s.written = s.memory.len() as u64;
            s.memory = Vec::new();
            s.file = Some((file, path));
        }
        match &mut s.file {
            Some((file, _)) => {
                file.write_all(buf)?;
                s.written += buf.len() as u64;
            }
            None => s.memory.extend_from_slice(buf),
        }
        self.len += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Copies one record's `len` bytes from `reader` to `out`, `id` written by
/// `put_id` after the first `slot` of them. The bytes are copied through
/// from the reader's buffer, not read into memory first: a JSON line with
/// every packet of a long connection can be large.
pub(super) fn copy_record(
    reader: &mut dyn BufRead,
    out: &mut dyn Write,
    id: u64,
    slot: u64,
    len: u64,
    put_id: PutId,
) -> io::Result<()> {
    let slot = slot.min(len);
    copy_bytes(reader, out, slot)?;
    put_id(id, out)?;
    copy_bytes(reader, out, len - slot)
}

fn copy_bytes(reader: &mut dyn BufRead, out: &mut dyn Write, mut left: u64) -> io::Result<()> {
    while left > 0 {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the spooled records were cut short",
            ));
        }
        let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        out.write_all(&buf[..n])?;
        reader.consume(n);
        left -= n as u64;
    }
    Ok(())
}

/// A new temporary file for a spool ([`crate::tempfile::create`]).
pub(super) fn temp_file(tag: &str) -> io::Result<(BufWriter<File>, PathBuf)> {
    let (file, path) = crate::tempfile::create(tag, File::options().read(true).write(true))?;
    Ok((BufWriter::with_capacity(1 << 20, file), path))
}

impl Drop for Spool {
    fn drop(&mut self) {
        if let Some((_, path)) = &self.file {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_id(id: u64, out: &mut dyn Write) -> io::Result<()> {
        crate::render::json::line_with_id(id, &[], out)
    }

    fn lines(spool: Spool, offset: u64) -> String {
        let mut out = Vec::new();
        spool.copy_to(&mut out, offset, json_id).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn renumbers_lines_in_order() {
        let mut spool = Spool::new(0);
        spool.push(1, 0, b",\"x\":\"{\\\"id\\\":7\"}\n").unwrap();
        spool.push(2, 0, b",\"x\":2}\n").unwrap();
        assert_eq!(
            lines(spool, 10),
            "{\"id\":11,\"x\":\"{\\\"id\\\":7\"}\n{\"id\":12,\"x\":2}\n"
        );
        assert_eq!(lines(Spool::new(0), 5), "");
    }

    #[test]
    fn the_id_goes_into_its_slot() {
        fn uid(id: u64, out: &mut dyn Write) -> io::Result<()> {
            write!(out, "<{id}>")
        }
        let mut spool = Spool::new(0);
        assert!(spool.is_empty());
        spool.push(1, 3, b"ab\tcd\n").unwrap();
        spool.push(2, 0, b"x\n").unwrap();
        spool.push(3, 9, b"end").unwrap();
        assert!(!spool.is_empty());
        let mut out = Vec::new();
        spool.copy_to(&mut out, 10, uid).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "ab\t<11>cd\n<12>x\nend<13>"
        );
    }

    #[test]
    fn spills_to_a_file_and_back() {
        let mut spool = Spool::new(usize::MAX);
        let rest = vec![b'a'; 1 << 20];
        let count = 2 * Spool::IN_MEMORY / rest.len();
        for id in 1..=count as u64 {
            spool.push(id, 0, &rest).unwrap();
        }
        let path = spool.file.as_ref().map(|(_, p)| p.clone()).unwrap();
        assert!(path.exists());
        let mut out = Vec::new();
        spool.copy_to(&mut out, 3, json_id).unwrap();
        assert!(!path.exists(), "the temporary file is removed");
        let expected: usize = (1..=count)
            .map(|id| "{\"id\":".len() + (id + 3).to_string().len() + rest.len())
            .sum();
        assert_eq!(out.len(), expected);
        assert!(out.starts_with(b"{\"id\":4aaa"));
        let last = format!("{{\"id\":{}", count + 3);
        let tail = &out[out.len() - rest.len() - last.len()..];
        assert!(tail.starts_with(last.as_bytes()));
    }

    #[test]
    fn a_record_written_in_pieces_spills_as_it_comes() {
        let mut spool = Spool::new(usize::MAX - 1);
        spool.push(1, 0, b",\"a\":1}\n").unwrap();
        let piece = vec![b'x'; 1 << 16];
        let pieces = 2 * Spool::IN_MEMORY / piece.len();
        spool
            .push_with(2, 0, |out| {
                (0..pieces).try_for_each(|_| out.write_all(&piece))?;
                out.write_all(b"}\n")
            })
            .unwrap();
        assert!(spool.file.is_some());
        assert!(spool.memory.is_empty());
        spool.push(3, 0, b",\"c\":3}\n").unwrap();
        let mut out = Vec::new();
        spool.copy_to(&mut out, 0, json_id).unwrap();
        let mut expected = b"{\"id\":1,\"a\":1}\n{\"id\":2".to_vec();
        expected.extend(std::iter::repeat_n(b'x', pieces * piece.len()));
        expected.extend_from_slice(b"}\n{\"id\":3,\"c\":3}\n");
        assert!(out == expected);
    }
}
