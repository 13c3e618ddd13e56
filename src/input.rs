//! Compressed captures: an input is recognized by its first bytes (never by
//! its name, so standard input works the same) and wrapped in a decoder.
//!
//! gzip (every member of a multi-member file, as `tcpdump -z gzip`
//! rotations and `cat a.gz b.gz` make), zstd (every frame) and xz (every
//! stream) are decoded as they are read; nothing is held beyond the
//! decoders' windows. A file compressed with a format that is recognized but
//! not decoded (bzip2, lz4, zip, …) is an error that names the format.

use std::io::{self, BufRead, BufReader, Read};

/// How an input is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Not compressed (or not recognized as compressed: the capture reader
    /// judges it).
    None,
    Gzip,
    Zstd,
    Xz,
}

impl Compression {
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Xz => "xz",
        }
    }
}

/// Bytes looked at to recognize a format.
const SNIFF: usize = 8;

/// The largest dictionary an xz stream may ask for, in KiB: `xz -9e` uses
/// 64 MiB; a hostile header asking for up to 4 GiB is refused.
const XZ_MEMORY_LIMIT_KIB: u32 = 256 * 1024;

/// Formats recognized by their magic bytes but not decoded, with the
/// command that decompresses each.
const UNSUPPORTED: &[(&[u8], &str, &str)] = &[
    (b"BZh", "bzip2", "bunzip2 -c"),
    (&[0x04, 0x22, 0x4d, 0x18], "lz4", "lz4 -dc"),
    (b"PK\x03\x04", "zip", "unzip -p"),
    (&[0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], "7z", "7z e -so"),
    (b"LZIP", "lzip", "lzip -dc"),
    (b"Rar!\x1a\x07", "rar", "unrar p -inul"),
    (&[0x1f, 0x9d], "compress (.Z)", "uncompress -c"),
];

/// The error of an input compressed in a format that is recognized but not
/// decoded (inside an `InvalidData` [`io::Error`]).
#[derive(Debug, thiserror::Error)]
#[error(
    "the input is compressed with {name}, which tcpstate does not decompress \
     (it reads gzip, zstd and xz); decompress it first, e.g. `{command} FILE | \
     tcpstate analyze -`"
)]
pub struct Unsupported {
    /// The format's name.
    pub name: &'static str,
    /// The command that decompresses it.
    pub command: &'static str,
}

/// What an input starts with.
enum Kind {
    Known(Compression),
    /// Recognized but not decoded: the format's name and how to decompress it.
    Unsupported(&'static str, &'static str),
}

fn recognize(head: &[u8]) -> Kind {
    if head.starts_with(&[0x1f, 0x8b]) {
        Kind::Known(Compression::Gzip)
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Kind::Known(Compression::Zstd)
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Kind::Known(Compression::Xz)
    } else if let Some(&(_, name, command)) = UNSUPPORTED
        .iter()
        .find(|(magic, _, _)| head.starts_with(magic))
    {
        Kind::Unsupported(name, command)
    } else {
        Kind::Known(Compression::None)
    }
}

/// An input with its first bytes read (to recognize it) and put back: it
/// reads as the whole input.
pub struct Sniffed<R> {
    head: [u8; SNIFF],
    /// Bytes of `head` read from `inner`.
    len: usize,
    /// Bytes of `head` already read back out.
    pos: usize,
    inner: R,
}

impl<R: Read> Sniffed<R> {
    /// Reads up to the first few bytes of `inner` (fewer at its end).
    pub fn new(mut inner: R) -> io::Result<Sniffed<R>> {
        let mut head = [0; SNIFF];
        let mut len = 0;
        while len < SNIFF {
            match inner.read(&mut head[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Sniffed {
            head,
            len,
            pos: 0,
            inner,
        })
    }

    /// The first bytes of the input (all of it when shorter).
    pub fn head(&self) -> &[u8] {
        &self.head[..self.len]
    }
}

impl<R: Read> Read for Sniffed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos < self.len {
            let n = buf.len().min(self.len - self.pos);
            buf[..n].copy_from_slice(&self.head[self.pos..self.pos + n]);
            self.pos += n;
            return Ok(n);
        }
        self.inner.read(buf)
    }
}

/// `input`, decompressed if it is compressed in a format that is decoded,
/// and how it was compressed. An input compressed otherwise is an
/// `InvalidData` error naming the format.
pub fn open<'a, R: Read + Send + 'a>(
    input: R,
) -> io::Result<(Compression, Box<dyn Read + Send + 'a>)> {
    let sniffed = Sniffed::new(input)?;
    let compression = match recognize(sniffed.head()) {
        Kind::Known(c) => c,
        Kind::Unsupported(name, command) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                Unsupported { name, command },
            ))
        }
    };
    let reader: Box<dyn Read + Send + 'a> = match compression {
        Compression::None => Box::new(sniffed),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(sniffed)),
        Compression::Zstd => Box::new(Zstd::new(BufReader::with_capacity(1 << 16, sniffed))?),
        Compression::Xz => Box::new(lzma_rust2::XzReader::new_mem_limit(
            BufReader::with_capacity(1 << 16, sniffed),
            true,
            XZ_MEMORY_LIMIT_KIB,
        )),
    };
    Ok((compression, reader))
}

/// A zstd decoder over every frame of its input (`zstd` writes one frame
/// per file; concatenated files are several).
struct Zstd<R: BufRead> {
    /// The decoder of the current frame; `None` after the last.
    frame: Option<ruzstd::StreamingDecoder<R, ruzstd::FrameDecoder>>,
}

fn zstd_error(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("zstd: {e}"))
}

impl<R: BufRead> Zstd<R> {
    fn new(input: R) -> io::Result<Zstd<R>> {
        let frame = ruzstd::StreamingDecoder::new(input).map_err(zstd_error)?;
        Ok(Zstd { frame: Some(frame) })
    }
}

impl<R: BufRead> Read for Zstd<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // Each turn either returns or consumes one whole frame of the
        // input, so this ends with the input.
        loop {
            let Some(frame) = &mut self.frame else {
                return Ok(0);
            };
            let n = frame.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            // The frame is done: another may follow.
            let Some(done) = self.frame.take() else {
                return Ok(0);
            };
            let (mut input, decoder) = done.into_parts();
            if input.fill_buf()?.is_empty() {
                return Ok(0);
            }
            self.frame = Some(
                ruzstd::StreamingDecoder::new_with_decoder(input, decoder).map_err(zstd_error)?,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: &[u8]) -> io::Result<(Compression, Vec<u8>)> {
        let (c, mut r) = open(bytes)?;
        let mut out = Vec::new();
        r.read_to_end(&mut out)?;
        Ok((c, out))
    }

    #[test]
    fn an_uncompressed_input_reads_whole_whatever_its_length() {
        for len in [0, 1, 7, 8, 9, 100] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let (c, out) = read_all(&bytes).unwrap();
            assert_eq!(c, Compression::None);
            assert_eq!(out, bytes);
        }
    }

    #[test]
    fn sniffing_reads_through_one_byte_reads() {
        struct OneByte<'a>(&'a [u8]);
        impl Read for OneByte<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let Some((&b, rest)) = self.0.split_first() else {
                    return Ok(0);
                };
                if buf.is_empty() {
                    return Ok(0);
                }
                buf[0] = b;
                self.0 = rest;
                Ok(1)
            }
        }
        let bytes = b"\xd4\xc3\xb2\xa1 and the rest of a capture";
        let sniffed = Sniffed::new(OneByte(bytes)).unwrap();
        assert_eq!(sniffed.head(), &bytes[..SNIFF]);
        let mut out = Vec::new();
        { sniffed }.read_to_end(&mut out).unwrap();
        assert_eq!(out, bytes);
    }

    #[test]
    fn gzip_members_are_all_read() {
        use flate2::{write::GzEncoder, Compression as Level};
        use std::io::Write;
        let mut both = Vec::new();
        for part in [&b"first member, "[..], b"second member"] {
            let mut gz = GzEncoder::new(Vec::new(), Level::fast());
            gz.write_all(part).unwrap();
            both.extend(gz.finish().unwrap());
        }
        let (c, out) = read_all(&both).unwrap();
        assert_eq!(c, Compression::Gzip);
        assert_eq!(out, b"first member, second member");
    }

    #[test]
    fn unsupported_formats_are_named() {
        for (bytes, name) in [
            (&b"BZh91AY&SY"[..], "bzip2"),
            (&[0x04, 0x22, 0x4d, 0x18, 0x64, 0x40][..], "lz4"),
            (b"PK\x03\x04\x14\x00", "zip"),
        ] {
            let e = read_all(bytes).expect_err("an error");
            assert_eq!(e.kind(), io::ErrorKind::InvalidData);
            assert!(e.to_string().contains(name), "{e}");
        }
    }

    #[test]
    fn truncated_compressed_inputs_are_errors_not_hangs() {
        for head in [
            &[0x1f, 0x8b, 0x08, 0x00][..],
            &[0x28, 0xb5, 0x2f, 0xfd, 0x00][..],
            &[0xfd, b'7', b'z', b'X', b'Z', 0x00, 0x00][..],
        ] {
            assert!(read_all(head).is_err(), "{head:?}");
        }
    }
}
