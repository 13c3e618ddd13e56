//! The JSON document's pretty layout, packed while it waits: the
//! connections of the document are held back to be put in id order (to a
//! temporary file past a bound, `run/sorted.rs`), and two fifths of their
//! pretty JSON is the whitespace of the layout, another fifth the field
//! names. Held back, each newline with its indentation is one byte (with
//! the comma before it, too), and so is a field's `"name": ` after it, and
//! the `": "` after any other key;
//! a value that is one of the model's constant words (a state, a status, a
//! check's code and title) is two bytes, [`VALUE`] and its number;
//! [`Unpacked`] writes the bytes of the layout back as they go out. Every
//! megabyte less to hold back is one the kernel need not find, copy and
//! read back: on `big.pcap` the 457 MB the document holds back become
//! 177 MB (docs/performance.md, session 16), and with the constant values
//! numbered and the commas in the newlines' codes, 126 MB (session 18).
//!
//! The codes of the layout are control bytes, which JSON text never holds
//! raw (strings escape every byte below 0x20); a name's number is a byte
//! from 0x80 on, right after a newline's code, where JSON text has the
//! first byte of a key or a value, always ASCII. A raw newline (the fixed
//! separators around the records) passes as it is.

use std::io::{self, Write};
use std::sync::Mutex;

/// A constant value: the next byte is its number (from 0x80 on, in the
/// registry of values, not of names), which unpacks to the value in
/// quotes. The model's words (states, statuses, codes, titles) come as
/// `serialize_unit_variant`, whose text is a constant
/// ([`crate::render::jsonl`]).
pub const VALUE: u8 = 0x01;
/// A comma, then a newline and `level` levels of indentation, for a level
/// below [`COMMA_LEVELS`]: `FIRST_COMMA + level` (0x02..=0x09; 0x0A, a raw
/// newline, passes as it is). What goes before every field and element but
/// the first; a name's number may follow it as it may a newline's code.
pub const FIRST_COMMA: u8 = 0x02;
/// How many levels have a comma's code: the fields of a connection are 3
/// to 7 deep in the document.
pub const COMMA_LEVELS: usize = 8;
/// A newline and `level` levels of indentation (two spaces each), for a
/// level below [`LEVELS`]: `FIRST_LEVEL + level`. Deeper ones are written
/// out in full.
pub const FIRST_LEVEL: u8 = 0x0B;
/// How many levels have a code: 0x0B..=0x1E.
pub const LEVELS: usize = (KEY_COLON - FIRST_LEVEL) as usize;
/// `": "`, between a key and its value (the key's closing quote is written).
pub const KEY_COLON: u8 = 0x1F;
/// The byte of the first name's number: a field name with its quotes and
/// the `": "` after it, right after the code of the newline before it.
pub const FIRST_NAME: u8 = 0x80;
/// How many names can have a number; later ones are written out in full.
const NAMED: usize = 256 - FIRST_NAME as usize;

/// The field names with a number, by number: shared by every thread that
/// packs (the numbers of all their records are the same) and read by the
/// [`Unpacked`] writer. A name is added once; the model has about a
/// hundred.
static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

/// The constant values with a number, by number, as [`NAMES`]: the model
/// has about a hundred words.
static VALUES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

/// One packing thread's numbers of the field names and constant values it
/// has met, by the address and length of the text (the model's are
/// constants), so that one costs no lock and no comparison after its
/// first time.
pub struct Names {
    names: Seen,
    values: Seen,
}

/// (address, length, number byte; 0 for a text without a number).
struct Seen(Box<[(usize, usize, u8); SEEN]>);

const SEEN: usize = 1024;

impl Default for Names {
    fn default() -> Names {
        Names {
            names: Seen(Box::new([(0, 0, 0); SEEN])),
            values: Seen(Box::new([(0, 0, 0); SEEN])),
        }
    }
}

impl Names {
    /// The number byte of the field name `name`, if it has one.
    #[inline]
    pub fn number(&mut self, name: &'static str) -> Option<u8> {
        self.names.number(name, &NAMES, 4)
    }

    /// The number byte of the constant value `value`, if it has one.
    #[inline]
    pub fn value(&mut self, value: &'static str) -> Option<u8> {
        self.values.number(value, &VALUES, 2)
    }
}

impl Seen {
    /// The number of `text` in `table`, where it is written out as
    /// `extra` bytes more than its own.
    #[inline]
    fn number(
        &mut self,
        text: &'static str,
        table: &'static Mutex<Vec<&'static str>>,
        extra: usize,
    ) -> Option<u8> {
        let (at, len) = (text.as_ptr() as usize, text.len());
        let mut i = (at ^ (at >> 11)) % SEEN;
        for _ in 0..SEEN {
            match self.0[i] {
                (a, l, n) if a == at && l == len => return (n != 0).then_some(n),
                (0, _, _) => {
                    let n = register(table, text, extra);
                    self.0[i] = (at, len, n.unwrap_or(0));
                    return n;
                }
                _ => i = (i + 1) % SEEN,
            }
        }
        None // every place taken: written out in full
    }
}

/// The number of `text` in `table`, added if it is not there and fits.
#[cold]
fn register(table: &Mutex<Vec<&'static str>>, text: &'static str, extra: usize) -> Option<u8> {
    let mut known = table.lock().unwrap_or_else(|e| e.into_inner());
    let n = match known.iter().position(|&k| k == text) {
        Some(n) => n,
        None if known.len() < NAMED && text.len() + extra <= WIDE => {
            known.push(text);
            known.len() - 1
        }
        None => return None,
    };
    Some(FIRST_NAME + n as u8)
}

/// The code of a comma and a newline at `level`, if it has one.
#[inline(always)]
pub fn comma_code(level: usize) -> Option<u8> {
    (level < COMMA_LEVELS).then(|| FIRST_COMMA + level as u8)
}

/// The code of a newline at `level`, if it has one.
#[inline(always)]
pub fn level_code(level: usize) -> Option<u8> {
    (level < LEVELS).then(|| line(level))
}

/// The code of a newline at `level`, for the fixed parts of a layout: a
/// level without one does not compile.
pub const fn line(level: usize) -> u8 {
    assert!(level < LEVELS);
    FIRST_LEVEL + level as u8
}

/// A newline and the deepest indentation with a code, and room to spare
/// (every newline is copied as these [`WIDE`] bytes, then cut).
const LINE: [u8; WIDE] = {
    let mut line = [b' '; WIDE];
    line[0] = b'\n';
    line
};

/// A comma, a newline and room to spare, as [`LINE`].
const COMMA_LINE: [u8; WIDE] = {
    let mut line = [b' '; WIDE];
    line[0] = b',';
    line[1] = b'\n';
    line
};

/// The last comma's code: a raw newline comes next.
const LAST_COMMA: u8 = FIRST_COMMA + COMMA_LEVELS as u8 - 1;
const _: () = assert!(LAST_COMMA + 1 == b'\n' && VALUE < FIRST_COMMA);

/// What each piece of the layout is copied as at most, whatever its
/// length: a copy of one of three constant sizes (16, 32 or these 64
/// bytes: a few vector stores, [`copy_short`]) rather than a call, then
/// cut to length. Nothing the codes stand for is longer: a longer name
/// has no number.
const WIDE: usize = 64;

/// What is written out at a time.
const BUFFER: usize = 64 << 10;
/// What is unpacked at a time: it grows at most `WIDE` times.
const PIECE: usize = 1 << 10;

/// Writes packed bytes to `out` unpacked: the pretty layout in full.
/// [`Unpacked::finish`] writes out what is still buffered.
pub struct Unpacked<W: Write> {
    out: W,
    /// What is unpacked, up to `len`; the rest is room for the constant-size
    /// copies.
    buf: Box<[u8]>,
    len: usize,
    /// Each name by number, as `"name": ` padded to [`WIDE`] bytes, with
    /// its length; as they were when it began (numbers are never taken
    /// back; a newer one is looked up again).
    names: Vec<([u8; WIDE], usize)>,
    /// Each constant value by number, as `"value"` padded, likewise.
    values: Vec<([u8; WIDE], usize)>,
    /// A newline's code ended the last piece: a name's number may begin
    /// the next.
    named: bool,
    /// [`VALUE`] ended the last piece: its number begins the next.
    valued: bool,
}

impl<W: Write> Unpacked<W> {
    pub fn new(out: W) -> Unpacked<W> {
        Unpacked {
            out,
            buf: vec![0; BUFFER + PIECE * WIDE + WIDE].into_boxed_slice(),
            len: 0,
            names: names(),
            values: values(),
            named: false,
            valued: false,
        }
    }

    /// Writes out the rest; the writer is done.
    pub fn finish(mut self) -> io::Result<()> {
        self.write_out()
    }

    fn write_out(&mut self) -> io::Result<()> {
        let len = std::mem::take(&mut self.len);
        self.out.write_all(&self.buf[..len])
    }

    /// Writes `bytes`, already unpacked, after what is buffered.
    pub fn write_unpacked(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.write_out()?;
        self.out.write_all(bytes)
    }

    /// Unpacks `packed` whole, after what is buffered, and hands the
    /// writer over to `take` (which takes what was written, say).
    pub fn unpack_whole<T>(
        &mut self,
        packed: &[u8],
        take: impl FnOnce(&mut W) -> T,
    ) -> io::Result<T> {
        self.write_all(packed)?;
        self.write_out()?;
        Ok(take(&mut self.out))
    }

    /// Appends `bytes` as they are.
    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) {
        let at = self.len;
        self.buf[at..at + bytes.len()].copy_from_slice(bytes);
        self.len = at + bytes.len();
    }

    /// Unpacks at most [`PIECE`] bytes into the buffer, which has room for
    /// them however they grow: 64 bytes at a time, each code found by a
    /// bit of the block's mask ([`control_mask`]).
    fn unpack(&mut self, piece: &[u8]) -> io::Result<()> {
        debug_assert!(piece.len() <= PIECE && self.len <= BUFFER);
        // Where the bytes not yet copied begin.
        let mut from = 0;
        if self.named || self.valued {
            let Some(&first) = piece.first() else {
                return Ok(());
            };
            if std::mem::take(&mut self.valued) {
                self.value(first)?;
                from = 1;
            } else if std::mem::take(&mut self.named) && first >= FIRST_NAME {
                self.name(first)?;
                from = 1;
            }
        }
        for (block, bytes) in piece.chunks(64).enumerate() {
            let mut mask = control_mask(bytes);
            while mask != 0 {
                let at = block * 64 + mask.trailing_zeros() as usize;
                mask &= mask - 1;
                self.run(piece, from, at);
                from = at + 1;
                match piece[at] {
                    KEY_COLON => self.put(b": "),
                    // Its number is no control byte either.
                    VALUE => match piece.get(from) {
                        Some(&number) => {
                            self.value(number)?;
                            from += 1;
                        }
                        None => self.valued = true,
                    },
                    code @ (FIRST_COMMA..=LAST_COMMA | FIRST_LEVEL..) => {
                        let len = self.len;
                        let (line, n) = if code >= FIRST_LEVEL {
                            (&LINE, 1 + 2 * usize::from(code - FIRST_LEVEL))
                        } else {
                            (&COMMA_LINE, 2 + 2 * usize::from(code - FIRST_COMMA))
                        };
                        copy_short(&mut self.buf[len..len + WIDE], line, n);
                        self.len = len + n;
                        // A name's number is never a control byte: no bit
                        // of the mask.
                        match piece.get(from) {
                            Some(&number) if number >= FIRST_NAME => {
                                self.name(number)?;
                                from += 1;
                            }
                            Some(_) => {}
                            None => self.named = true,
                        }
                    }
                    // A raw newline (or any other byte below the codes) as is.
                    code => self.put(&[code]),
                }
            }
        }
        self.put(piece.get(from..).unwrap_or_default());
        Ok(())
    }

    /// Appends `piece[from..to]`, the text between two codes: as `WIDE`
    /// bytes, cut, when it is no longer and the piece goes on that far.
    #[inline(always)]
    fn run(&mut self, piece: &[u8], from: usize, to: usize) {
        let len = self.len;
        let n = to - from;
        match piece.get(from..from + WIDE) {
            Some(wide) if n <= WIDE => {
                copy_short(&mut self.buf[len..len + WIDE], wide, n);
                self.len = len + n;
            }
            _ => self.put(&piece[from..to]),
        }
    }

    /// `"name": ` for a name's number.
    #[inline(always)]
    fn name(&mut self, number: u8) -> io::Result<()> {
        self.numbered(number, false)
    }

    /// `"value"` for a constant value's number.
    #[inline(always)]
    fn value(&mut self, number: u8) -> io::Result<()> {
        self.numbered(number, true)
    }

    /// The text of a name's number, or (`value`) of a constant value's.
    #[inline(always)]
    fn numbered(&mut self, number: u8, value: bool) -> io::Result<()> {
        let table = if value { &self.values } else { &self.names };
        let n = usize::from(number.wrapping_sub(FIRST_NAME));
        let Some(&(ref padded, len)) = table.get(n) else {
            return self.newer(number, value);
        };
        copy_short(&mut self.buf[self.len..self.len + WIDE], padded, len);
        self.len += len;
        Ok(())
    }

    /// [`Unpacked::numbered`] for a number given after this writer began.
    #[cold]
    #[inline(never)]
    fn newer(&mut self, number: u8, value: bool) -> io::Result<()> {
        let table = if value {
            self.values = values();
            &self.values
        } else {
            self.names = names();
            &self.names
        };
        let n = usize::from(number.wrapping_sub(FIRST_NAME));
        if number < FIRST_NAME || n >= table.len() {
            return Err(io::Error::other("the records held back are not ours"));
        }
        self.numbered(number, value)
    }
}

/// Copies the first `len` bytes of `from` (at most [`WIDE`]) to `to`, as
/// 16, 32 or all `WIDE` bytes: most pieces of the layout (an indentation,
/// a name, the text between two codes) are short, and the bytes past
/// `len` are written over next.
#[inline(always)]
fn copy_short(to: &mut [u8], from: &[u8], len: usize) {
    if len <= 16 {
        to[..16].copy_from_slice(&from[..16]);
    } else if len <= 32 {
        to[..32].copy_from_slice(&from[..32]);
    } else {
        to[..WIDE].copy_from_slice(&from[..WIDE]);
    }
}

/// Where packed bytes can be cut so that each part unpacks alone (each by
/// an [`Unpacked`] of its own): before a last byte that is a newline's
/// code (with a comma or not), which a name's number may follow, or
/// [`VALUE`], which its number must.
pub fn cut(packed: &[u8]) -> usize {
    match packed.last() {
        Some(FIRST_LEVEL..KEY_COLON | FIRST_COMMA..=LAST_COMMA | &VALUE) => packed.len() - 1,
        _ => packed.len(),
    }
}

/// The names by number, each as `"name": ` padded (see [`Unpacked`]).
fn names() -> Vec<([u8; WIDE], usize)> {
    padded(&NAMES, b"\": ")
}

/// The constant values by number, each as `"value"` padded.
fn values() -> Vec<([u8; WIDE], usize)> {
    padded(&VALUES, b"\"")
}

/// Each text of `table` by number, in quotes, `after` the closing one,
/// padded to [`WIDE`] bytes, with its length.
fn padded(table: &Mutex<Vec<&'static str>>, after: &[u8]) -> Vec<([u8; WIDE], usize)> {
    let known = table.lock().unwrap_or_else(|e| e.into_inner());
    known
        .iter()
        .map(|text| {
            // Every text with a number fits (`register`).
            let mut padded = [0; WIDE];
            let len = (text.len() + 1 + after.len()).min(WIDE);
            let end = len - after.len();
            padded[0] = b'"';
            padded[1..end].copy_from_slice(&text.as_bytes()[..end - 1]);
            padded[end..len].copy_from_slice(after);
            (padded, len)
        })
        .collect()
}

impl<W: Write> Write for Unpacked<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        for piece in data.chunks(PIECE) {
            self.unpack(piece)?;
            if self.len >= BUFFER {
                self.write_out()?;
            }
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_out()?;
        self.out.flush()
    }
}

/// A bit for each byte of `bytes` (at most 64) below 0x20, the lowest
/// for the first: a whole block with SSE2 on x86-64, else eight bytes at
/// a time.
#[inline]
fn control_mask(bytes: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if let Ok(block) = <&[u8; 64]>::try_from(bytes) {
        return control_mask_sse2(block);
    }
    control_mask_words(bytes)
}

/// [`control_mask`] of a whole block, 16 bytes at a time (SSE2, which
/// every x86-64 CPU has): a byte is below 0x20 when its unsigned minimum
/// with 0x1F is itself.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn control_mask_sse2(block: &[u8; 64]) -> u64 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_set1_epi8,
    };
    let mut mask = 0u64;
    for (i, part) in block.chunks_exact(16).enumerate() {
        // SAFETY: SSE2 is part of x86-64; the load reads the 16 bytes of
        // `part` (unaligned loads allowed).
        let bits = unsafe {
            let x = _mm_loadu_si128(part.as_ptr().cast::<__m128i>());
            let low = _mm_min_epu8(x, _mm_set1_epi8(0x1F));
            _mm_movemask_epi8(_mm_cmpeq_epi8(low, x))
        };
        mask |= u64::from(bits as u16) << (16 * i);
    }
    mask
}

/// [`control_mask`] eight bytes at a time, on any CPU, exactly (no carry
/// crosses a byte: `(x & 0x7F) + 0x60` sets the top bit for 0x20..0x7F,
/// and `| x` for the bytes from 0x80).
#[inline]
fn control_mask_words(bytes: &[u8]) -> u64 {
    const LOW7: u64 = u64::from_ne_bytes([0x7F; 8]);
    const ADD: u64 = u64::from_ne_bytes([0x60; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut mask = 0;
    let mut words = bytes.chunks_exact(8);
    for (i, word) in (&mut words).enumerate() {
        let x = u64::from_le_bytes(word.try_into().unwrap_or([0xFF; 8]));
        let below = !(((x & LOW7) + ADD) | x) & HIGH;
        // The top bit of each byte, gathered into one byte, in order.
        let bits = (below >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56;
        mask |= bits << (8 * i);
    }
    let done = bytes.len() - words.remainder().len();
    for (i, &b) in words.remainder().iter().enumerate() {
        mask |= u64::from(b < 0x20) << (done + i);
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn unpacked(pieces: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut w = Unpacked::new(&mut out);
        for p in pieces {
            w.write_all(p).unwrap();
        }
        w.finish().unwrap();
        out
    }

    #[test]
    fn codes_unpack_to_the_layout() {
        let packed = [b'{', 0x0C, b'"', b'a', b'"', KEY_COLON, b'1', 0x0B, b'}'];
        assert_eq!(unpacked(&[&packed]), b"{\n  \"a\": 1\n}");
        // The deepest code, and a raw newline passing through.
        let deepest = line(LEVELS - 1);
        assert_eq!(deepest, KEY_COLON - 1);
        assert_eq!(
            unpacked(&[&[deepest, b'x', b'\n', b' ', b'y']]),
            [&LINE[..1 + 2 * (LEVELS - 1)], b"x\n y"].concat()
        );
        assert_eq!(level_code(0), Some(0x0B));
        assert_eq!(level_code(LEVELS - 1), Some(deepest));
        assert_eq!(level_code(LEVELS), None);
    }

    #[test]
    fn names_unpack_whatever_the_pieces() {
        let mut names = Names::default();
        let (a, b) = ("packed_test_alpha", "packed_test_beta");
        let (na, nb) = (names.number(a).unwrap(), names.number(b).unwrap());
        assert_ne!(na, nb);
        assert!(na >= FIRST_NAME && nb >= FIRST_NAME);
        // Known now: the same number, from the cache or from another table.
        assert_eq!(names.number(a), Some(na));
        assert_eq!(Names::default().number(b), Some(nb));
        let packed = [b'{', 0x0C, na, b'1', b',', 0x0C, nb, b'2', 0x0B, b'}'];
        let want = b"{\n  \"packed_test_alpha\": 1,\n  \"packed_test_beta\": 2\n}";
        for cut in 0..=packed.len() {
            assert_eq!(
                unpacked(&[&packed[..cut], &packed[cut..]]),
                want,
                "cut {cut}"
            );
        }
    }

    #[test]
    fn commas_unpack_with_their_newline() {
        let mut names = Names::default();
        let name = names.number("packed_test_delta").unwrap();
        let (c1, c7) = (
            comma_code(1).unwrap(),
            comma_code(COMMA_LEVELS - 1).unwrap(),
        );
        assert_eq!(comma_code(COMMA_LEVELS), None);
        let packed = [
            b'[', 0x0C, b'1', c1, b'2', c1, b'{', 0x0D, name, b'3', c7, b'4', 0x0C, b'}', 0x0B,
            b']',
        ];
        let deep = format!(",\n{}", " ".repeat(2 * (COMMA_LEVELS - 1)));
        let want = format!("[\n  1,\n  2,\n  {{\n    \"packed_test_delta\": 3{deep}4\n  }}\n]");
        for cut in 0..=packed.len() {
            assert_eq!(
                String::from_utf8(unpacked(&[&packed[..cut], &packed[cut..]])).unwrap(),
                want,
                "cut {cut}"
            );
            let at = super::cut(&packed[..cut]);
            let mut parts = unpacked(&[&packed[..at]]);
            parts.extend(unpacked(&[&packed[at..]]));
            assert_eq!(String::from_utf8(parts).unwrap(), want, "parts cut at {at}");
        }
        // A name's number right after a comma's code, as after a newline's.
        assert_eq!(
            unpacked(&[&[c1, name, b'5']]),
            b",\n  \"packed_test_delta\": 5"
        );
        assert_eq!(
            unpacked(&[&[c1], &[name, b'5']]),
            b",\n  \"packed_test_delta\": 5"
        );
    }

    #[test]
    fn values_unpack_whatever_the_pieces() {
        let mut names = Names::default();
        let (a, b) = ("PACKED-TEST-ALPHA", "packed test beta");
        let (va, vb) = (names.value(a).unwrap(), names.value(b).unwrap());
        assert_ne!(va, vb);
        assert!(va >= FIRST_NAME && vb >= FIRST_NAME);
        assert_eq!(Names::default().value(b), Some(vb));
        // A value's number is not a name's: the two registries are apart.
        let name = names.number("packed_test_gamma").unwrap();
        let packed = [
            b'[', 0x0C, VALUE, va, b',', 0x0C, VALUE, vb, b',', 0x0C, b'{', 0x0D, name, VALUE, va,
            0x0C, b'}', 0x0B, b']',
        ];
        let want = b"[\n  \"PACKED-TEST-ALPHA\",\n  \"packed test beta\",\n  {\n    \"packed_test_gamma\": \"PACKED-TEST-ALPHA\"\n  }\n]";
        for cut in 0..=packed.len() {
            assert_eq!(
                unpacked(&[&packed[..cut], &packed[cut..]]),
                want,
                "cut {cut}"
            );
            // Where `cut` cuts, each part unpacks alone.
            let at = super::cut(&packed[..cut]);
            let mut parts = unpacked(&[&packed[..at]]);
            parts.extend(unpacked(&[&packed[at..]]));
            assert_eq!(parts, want, "parts cut at {at}");
        }
    }

    #[test]
    fn a_number_no_value_has_is_an_error() {
        for bad in [[VALUE, 0xFF], [VALUE, b'x']] {
            let mut out = Vec::new();
            let mut w = Unpacked::new(&mut out);
            assert!(w.write_all(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_number_no_name_has_is_an_error() {
        let mut out = Vec::new();
        let mut w = Unpacked::new(&mut out);
        assert!(w.write_all(&[0x0B, 0xFF]).is_err());
    }

    #[test]
    fn a_large_write_goes_out_in_pieces() {
        let data = vec![b'x'; 3 * BUFFER + 5];
        assert_eq!(unpacked(&[&data]), data);
    }

    proptest! {
        /// Whatever the pieces, the first control byte is found where a
        /// plain scan finds it, and text without codes passes unchanged.
        #[test]
        fn the_mask_has_a_bit_for_each_control_byte(s in proptest::collection::vec(any::<u8>(), 0..=64)) {
            let want = s.iter().enumerate().fold(0u64, |m, (i, &b)| m | (u64::from(b < 0x20) << i));
            prop_assert_eq!(control_mask(&s), want);
            prop_assert_eq!(control_mask_words(&s), want);
        }

        /// A whole block, the case the vector code takes.
        #[test]
        fn a_whole_block_has_a_bit_for_each_control_byte(s in proptest::collection::vec(any::<u8>(), 64)) {
            let want = s.iter().enumerate().fold(0u64, |m, (i, &b)| m | (u64::from(b < 0x20) << i));
            prop_assert_eq!(control_mask(&s), want);
        }

        #[test]
        fn plain_text_passes_unchanged(s in "[ -~\u{80}-\u{10FFFF}\n]{0,200}", cut in 0usize..200) {
            let bytes = s.as_bytes();
            let cut = cut.min(bytes.len());
            prop_assert_eq!(unpacked(&[&bytes[..cut], &bytes[cut..]]), bytes);
        }
    }
}
