//! JSON Lines of one capture held back until the captures before it are
//! written, then renumbered on the way out.
//!
//! Each line is kept as its connection's id (local to the capture) and the
//! bytes that follow the id ([`render::json::line_after_id`]), so that
//! renumbering writes a new id in front of bytes never looked into.

use crate::render;
use std::fs::File;
use std::io::{self, BufRead, BufWriter, Read, Seek, Write};
use std::path::PathBuf;

/// The lines of one capture: in memory up to [`Spool::IN_MEMORY`] bytes,
/// then in a temporary file, so that memory stays bounded. A line is a
/// record: its id and the length of the rest (both 8 bytes, little
/// endian), then the rest.
pub(super) struct Spool {
    /// The capture's position among the inputs, for the file's name.
    index: usize,
    memory: Vec<u8>,
    file: Option<(BufWriter<File>, PathBuf)>,
}

/// The bytes of a record before the rest of its line.
const HEADER: usize = 16;

impl Spool {
    const IN_MEMORY: usize = 8 << 20;

    pub fn new(index: usize) -> Spool {
        Spool {
            index,
            memory: Vec::new(),
            file: None,
        }
    }

    /// Adds the line of connection `id`, `rest` being what follows the id.
    pub fn push(&mut self, id: u64, rest: &[u8]) -> io::Result<()> {
        if self.file.is_none() && self.memory.len() + HEADER + rest.len() > Self::IN_MEMORY {
            self.file = Some(self.create()?);
        }
        let len = u64::try_from(rest.len()).unwrap_or(u64::MAX);
        match &mut self.file {
            Some((file, _)) => {
                if !self.memory.is_empty() {
                    file.write_all(&self.memory)?;
                    self.memory = Vec::new();
                }
                file.write_all(&id.to_le_bytes())?;
                file.write_all(&len.to_le_bytes())?;
                file.write_all(rest)
            }
            None => {
                self.memory.extend_from_slice(&id.to_le_bytes());
                self.memory.extend_from_slice(&len.to_le_bytes());
                self.memory.extend_from_slice(rest);
                Ok(())
            }
        }
    }

    /// A new temporary file, never one that exists already (nor a link).
    fn create(&self) -> io::Result<(BufWriter<File>, PathBuf)> {
        let mut attempt = 0;
        loop {
            let path = std::env::temp_dir().join(format!(
                "tcpstate-{}-{}-{attempt}.spool",
                std::process::id(),
                self.index
            ));
            match File::options()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(file) => return Ok((BufWriter::with_capacity(1 << 20, file), path)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 16 => {
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes the lines to `out` in the order they came, each with its id
    /// plus `offset`.
    pub fn copy_to(mut self, out: &mut dyn Write, offset: u64) -> io::Result<()> {
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
            let (id, len) = header.split_at(8);
            let id = u64::from_le_bytes(id.try_into().unwrap_or_default());
            let len = u64::from_le_bytes(len.try_into().unwrap_or_default());
            render::json::line_with_id(id.saturating_add(offset), &[], out)?;
            // Copied through from the reader's buffer, not read into memory
            // first: a line with every packet of a long connection can be
            // large.
            let mut left = len;
            while left > 0 {
                let buf = reader.fill_buf()?;
                if buf.is_empty() {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the spooled JSON Lines were cut short",
                    ));
                }
                let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                out.write_all(&buf[..n])?;
                reader.consume(n);
                left -= n as u64;
            }
        }
        out.flush()
    }
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

    fn lines(spool: Spool, offset: u64) -> String {
        let mut out = Vec::new();
        spool.copy_to(&mut out, offset).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn renumbers_lines_in_order() {
        let mut spool = Spool::new(0);
        spool.push(1, b",\"x\":\"{\\\"id\\\":7\"}\n").unwrap();
        spool.push(2, b",\"x\":2}\n").unwrap();
        assert_eq!(
            lines(spool, 10),
            "{\"id\":11,\"x\":\"{\\\"id\\\":7\"}\n{\"id\":12,\"x\":2}\n"
        );
        assert_eq!(lines(Spool::new(0), 5), "");
    }

    #[test]
    fn spills_to_a_file_and_back() {
        let mut spool = Spool::new(usize::MAX);
        let rest = vec![b'a'; 1 << 20];
        let count = 2 * Spool::IN_MEMORY / rest.len();
        for id in 1..=count as u64 {
            spool.push(id, &rest).unwrap();
        }
        let path = spool.file.as_ref().map(|(_, p)| p.clone()).unwrap();
        assert!(path.exists());
        let mut out = Vec::new();
        spool.copy_to(&mut out, 3).unwrap();
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
}
