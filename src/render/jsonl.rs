//! One connection as a JSON line, through a compact JSON serializer of our
//! own; the same serializer lays a connection out for the JSON document
//! ([`to_vec_pretty`], serde_json's pretty layout).
//!
//! The schema comes from the `#[derive(Serialize)]` types of
//! [`crate::report`] alone: [`Compact`] is a generic [`serde::Serializer`],
//! so a field added to the model appears here with no edit. Its output is
//! byte for byte what `serde_json::to_writer` makes of the same value (with
//! the bidirectional controls escaped as in every JSON output, see
//! [`super::json`]); tests compare the two on every connection of every
//! capture in `testdata/` and of generated ones, with and without
//! `--packets`. It is faster than serde_json because it knows two things
//! serde_json cannot assume:
//!
//! - struct field and unit variant names are `&'static str` identifiers of
//!   the model, which need no escaping: `"name":` is copied at once instead
//!   of being scanned for bytes to escape (checked in debug builds and by
//!   the tests);
//! - it writes into a `Vec<u8>`, which cannot fail, and text that needs no
//!   escaping (nearly all of it) is found with one scan and copied at once.
//!
//! Numbers are written as serde_json writes them: integers with `itoa`,
//! finite floats with serde_json's own formatter (its shortest round-trip
//! form), and `null` for NaN and the infinities.

use super::packed;
use crate::report::ConnectionReport;
use serde::ser::{self, Impossible, Serialize};
use serde_json::ser::Formatter;
use std::fmt;

/// Appends `c` as one line of compact JSON, newline included.
pub fn write(c: &ConnectionReport, out: &mut Vec<u8>) {
    // The report types cannot fail: every map key is a string and no
    // `Serialize` impl of theirs returns an error.
    let written = to_vec(out, c);
    debug_assert!(written.is_ok(), "{written:?}");
    if written.is_ok() {
        out.push(b'\n');
    }
}

/// Appends `value` as compact JSON, the bytes serde_json would write (but
/// for the bidirectional controls, escaped). On error nothing is appended.
pub fn to_vec<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    let start = out.len();
    let result = value.serialize(&mut Compact::<false> {
        out: &mut *out,
        level: 0,
        names: None,
    });
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// Appends `value` as the document's pretty JSON (serde_json's
/// `PrettyFormatter`: two spaces a level) at `depth` levels of indentation:
/// the bytes serde_json's pretty serializer would write (but for the
/// bidirectional controls, escaped). On error nothing is appended.
pub fn to_vec_pretty<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
    depth: usize,
) -> Result<(), Error> {
    pretty(out, value, depth, None)
}

/// Appends `value` as [`to_vec_pretty`] does, but in the packed layout
/// ([`super::packed`]: a byte for each newline with its indentation and
/// for each `": "`, and one, right after its newline, for a field name
/// numbered in `names`), which
/// [`super::packed::Unpacked`] writes out as the pretty bytes.
pub fn to_vec_packed<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
    depth: usize,
    names: &mut packed::Names,
) -> Result<(), Error> {
    pretty(out, value, depth, Some(names))
}

fn pretty<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
    depth: usize,
    names: Option<&mut packed::Names>,
) -> Result<(), Error> {
    let start = out.len();
    let result = value.serialize(&mut Compact::<true> {
        out: &mut *out,
        level: depth,
        names,
    });
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// Why a value could not be written: a map key that is not a string, or an
/// error of the value's own `Serialize` impl.
#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Error {
        Error(msg.to_string())
    }
}

fn key_must_be_a_string() -> Error {
    Error("key must be a string".to_string())
}

/// The serializer: compact JSON appended to `out`, or with `PRETTY` laid
/// out as serde_json's `PrettyFormatter` lays it out, `level` levels deep:
/// a newline and two spaces a level before each key, element and closing
/// bracket of a non-empty object or array, `": "` after a key.
pub struct Compact<'a, const PRETTY: bool> {
    out: &'a mut Vec<u8>,
    level: usize,
    /// Pretty, in the packed layout ([`to_vec_packed`]), with these names.
    names: Option<&'a mut packed::Names>,
}

impl<const PRETTY: bool> Compact<'_, PRETTY> {
    /// Pretty: a newline and the indentation of the level.
    #[inline(always)]
    fn newline(&mut self) {
        if PRETTY {
            if self.names.is_some() {
                if let Some(code) = packed::level_code(self.level) {
                    return self.out.push(code);
                }
            }
            // Up to eight levels: a copy of constant size (two stores), cut
            // to length, rather than a copy of the length.
            const LINE: [u8; 17] = *b"\n                ";
            let width = 1 + 2 * self.level;
            let len = self.out.len();
            if width <= LINE.len() {
                self.out.extend_from_slice(&LINE);
                self.out.truncate(len + width);
            } else {
                self.out.push(b'\n');
                self.out.resize(len + width, b' ');
            }
        }
    }

    /// An object or array begins.
    #[inline(always)]
    fn open(&mut self, bracket: u8) {
        self.out.push(bracket);
        self.level += usize::from(PRETTY);
    }

    /// Before an element or a key: a comma unless it is the `first`.
    #[inline(always)]
    fn item(&mut self, first: bool) {
        if !first {
            if PRETTY && self.names.is_some() {
                if let Some(code) = packed::comma_code(self.level) {
                    return self.out.push(code);
                }
            }
            self.out.push(b',');
        }
        self.newline();
    }

    /// Between a key and its value.
    #[inline(always)]
    fn colon(&mut self) {
        if PRETTY && self.names.is_some() {
            self.out.push(packed::KEY_COLON);
        } else if PRETTY {
            self.out.extend_from_slice(b": ");
        } else {
            self.out.push(b':');
        }
    }

    /// An object or array ends; `empty` if nothing was in it.
    #[inline(always)]
    fn shut(&mut self, bracket: u8, empty: bool) {
        if PRETTY {
            self.level = self.level.saturating_sub(1);
            if !empty {
                self.newline();
            }
        }
        self.out.push(bracket);
    }

    fn uint(&mut self, n: impl itoa::Integer) {
        self.out
            .extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    }

    /// A number as a string (a map key).
    fn quoted(&mut self, n: impl itoa::Integer) {
        self.out.push(b'"');
        self.uint(n);
        self.out.push(b'"');
    }

    fn float(&mut self, x: f64) {
        if x.is_finite() {
            // The formatter serde_json itself uses; into a Vec it cannot fail.
            let _ = serde_json::ser::CompactFormatter.write_f64(self.out, x);
        } else {
            self.out.extend_from_slice(b"null");
        }
    }

    fn float32(&mut self, x: f32) {
        if x.is_finite() {
            let _ = serde_json::ser::CompactFormatter.write_f32(self.out, x);
        } else {
            self.out.extend_from_slice(b"null");
        }
    }

    /// `{"variant":` — what an enum variant with data opens with.
    fn variant_open(&mut self, variant: &str) {
        self.open(b'{');
        self.item(true);
        string(self.out, variant);
        self.colon();
    }

    /// `{"key":` or `,"key":` for a field name of the model. Inlined into
    /// each field of the derived `Serialize` code, where the key is a
    /// constant: its bytes are then stored directly, not copied by a call.
    #[inline(always)]
    fn key(&mut self, key: &'static str, first: bool) {
        debug_assert!(plain(key), "field name {key:?} needs escaping");
        if PRETTY {
            return self.pretty_key(key, first);
        }
        let out = &mut *self.out;
        out.push(if first { b'{' } else { b',' });
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.push(b'"');
        out.push(b':');
    }
}

impl<const PRETTY: bool> Compact<'_, PRETTY> {
    /// [`Compact::key`], pretty.
    #[inline(always)]
    fn pretty_key(&mut self, key: &'static str, first: bool) {
        if first {
            self.open(b'{');
        }
        self.item(first);
        let out = &mut *self.out;
        if let Some(names) = self.names.as_deref_mut() {
            // A number only right after a newline's code.
            let coded = packed::level_code(self.level).is_some();
            match names.number(key).filter(|_| coded) {
                Some(number) => out.push(number),
                None => {
                    out.push(b'"');
                    out.extend_from_slice(key.as_bytes());
                    out.extend_from_slice(&[b'"', packed::KEY_COLON]);
                }
            }
            return;
        }
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\": ");
    }
}

/// Text as serde_json escapes it: `"` `\` and control characters; all
/// else, non-ASCII included, as is, but for the bidirectional controls
/// (escaped by [`super::json`], as in every JSON output).
#[inline]
fn string(out: &mut Vec<u8>, s: &str) {
    if !plain(s) {
        return escaped(out, s);
    }
    out.reserve(s.len() + 2);
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
}

/// Rare (file names, messages with odd characters): serde_json's own
/// escaping with the bidirectional controls, so that the output stays
/// identical to the other JSON outputs. Strings cannot fail.
#[cold]
fn escaped(out: &mut Vec<u8>, s: &str) {
    let _ = super::json::compact(out, s);
}

/// Whether `s` is written as it is between quotes: no byte JSON escapes
/// and no bidirectional control (every one is encoded starting with 0xE2;
/// other characters starting so merely take the slow path).
///
/// Eight bytes at a time: this scan is most of the time spent on text.
#[inline]
fn plain(s: &str) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // Nonzero exactly when some byte of `w` is below `n` (n <= 0x80).
    let below = |w: u64, n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w & HIGH;
    let has = |w: u64, b: u8| below(w ^ (ONES * u64::from(b)), 1);
    let mut chunks = s.as_bytes().chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_ne_bytes(word);
        if below(w, 0x20) | has(w, b'"') | has(w, b'\\') | has(w, 0xe2) != 0 {
            return false;
        }
    }
    !chunks.remainder().iter().copied().any(escaped_byte)
}

/// A byte that JSON escapes, or that may begin a bidirectional control.
fn escaped_byte(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\' || b == 0xe2
}

/// An open object, array or enum variant with data: whether an element has
/// been written yet, and whether a variant's `{"name":` is to be closed.
pub struct Compound<'a, 'b, const PRETTY: bool> {
    ser: &'b mut Compact<'a, PRETTY>,
    first: bool,
    variant: bool,
}

impl<const PRETTY: bool> Compound<'_, '_, PRETTY> {
    fn comma(&mut self) {
        self.ser.item(self.first);
        self.first = false;
    }

    fn close(self, bracket: u8) {
        self.ser.shut(bracket, self.first);
        if self.variant {
            self.ser.shut(b'}', false);
        }
    }

    fn close_struct(self) {
        // A struct's `{` is written with its first field.
        if self.first {
            self.ser.open(b'{');
        }
        self.close(b'}');
    }
}

impl<'a, 'b, const PRETTY: bool> ser::Serializer for &'b mut Compact<'a, PRETTY> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a, 'b, PRETTY>;
    type SerializeTuple = Compound<'a, 'b, PRETTY>;
    type SerializeTupleStruct = Compound<'a, 'b, PRETTY>;
    type SerializeTupleVariant = Compound<'a, 'b, PRETTY>;
    type SerializeMap = Compound<'a, 'b, PRETTY>;
    type SerializeStruct = Compound<'a, 'b, PRETTY>;
    type SerializeStructVariant = Compound<'a, 'b, PRETTY>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }

    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.uint(v);
        Ok(())
    }

    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.uint(v);
        Ok(())
    }

    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.uint(v);
        Ok(())
    }

    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.uint(v);
        Ok(())
    }

    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.uint(v);
        Ok(())
    }

    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.uint(v);
        Ok(())
    }

    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.uint(v);
        Ok(())
    }

    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.uint(v);
        Ok(())
    }

    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.uint(v);
        Ok(())
    }

    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.uint(v);
        Ok(())
    }

    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.float32(v);
        Ok(())
    }

    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.float(v);
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        string(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        string(self.out, v);
        Ok(())
    }

    /// As serde_json: an array of the byte values.
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        self.open(b'[');
        for (i, b) in v.iter().enumerate() {
            self.item(i == 0);
            self.uint(*b);
        }
        self.shut(b']', v.is_empty());
        Ok(())
    }

    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }

    #[inline(always)]
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        // A variant name of the model, like a field name: copied at once,
        // or packed as its number.
        debug_assert!(plain(variant), "variant name {variant:?} needs escaping");
        if PRETTY {
            if let Some(number) = self.names.as_deref_mut().and_then(|n| n.value(variant)) {
                self.out.extend_from_slice(&[packed::VALUE, number]);
                return Ok(());
            }
        }
        self.out.reserve(variant.len() + 2);
        self.out.push(b'"');
        self.out.extend_from_slice(variant.as_bytes());
        self.out.push(b'"');
        Ok(())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.variant_open(variant);
        value.serialize(&mut *self)?;
        self.shut(b'}', false);
        Ok(())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a, 'b, PRETTY>, Error> {
        self.open(b'[');
        Ok(Compound {
            ser: self,
            first: true,
            variant: false,
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'a, 'b, PRETTY>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'a, 'b, PRETTY>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, 'b, PRETTY>, Error> {
        self.variant_open(variant);
        self.open(b'[');
        Ok(Compound {
            ser: self,
            first: true,
            variant: true,
        })
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a, 'b, PRETTY>, Error> {
        self.open(b'{');
        Ok(Compound {
            ser: self,
            first: true,
            variant: false,
        })
    }

    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, 'b, PRETTY>, Error> {
        // The `{` goes with the first key (see `Compact::key`).
        Ok(Compound {
            ser: self,
            first: true,
            variant: false,
        })
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, 'b, PRETTY>, Error> {
        self.variant_open(variant);
        Ok(Compound {
            ser: self,
            first: true,
            variant: true,
        })
    }

    /// Written straight into the line, then checked: escaped only if it
    /// has to be, with no allocation otherwise.
    fn collect_str<T: fmt::Display + ?Sized>(self, value: &T) -> Result<(), Error> {
        use std::io::Write;
        let start = self.out.len();
        self.out.push(b'"');
        write!(self.out, "{value}").map_err(ser::Error::custom)?;
        let text = &self.out[start + 1..];
        if text.iter().copied().any(escaped_byte) {
            let text = String::from_utf8_lossy(text).into_owned();
            self.out.truncate(start);
            string(self.out, &text);
        } else {
            self.out.push(b'"');
        }
        Ok(())
    }
}

impl<const PRETTY: bool> ser::SerializeSeq for Compound<'_, '_, PRETTY> {
    type Ok = ();
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.comma();
        value.serialize(&mut *self.ser)
    }

    fn end(self) -> Result<(), Error> {
        self.close(b']');
        Ok(())
    }
}

impl<const PRETTY: bool> ser::SerializeTuple for Compound<'_, '_, PRETTY> {
    type Ok = ();
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result<(), Error> {
        ser::SerializeSeq::end(self)
    }
}

impl<const PRETTY: bool> ser::SerializeTupleStruct for Compound<'_, '_, PRETTY> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result<(), Error> {
        ser::SerializeSeq::end(self)
    }
}

impl<const PRETTY: bool> ser::SerializeTupleVariant for Compound<'_, '_, PRETTY> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result<(), Error> {
        ser::SerializeSeq::end(self)
    }
}

impl<const PRETTY: bool> ser::SerializeMap for Compound<'_, '_, PRETTY> {
    type Ok = ();
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.comma();
        key.serialize(MapKey(&mut *self.ser))
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.ser.colon();
        value.serialize(&mut *self.ser)
    }

    fn end(self) -> Result<(), Error> {
        self.close(b'}');
        Ok(())
    }
}

impl<const PRETTY: bool> ser::SerializeStruct for Compound<'_, '_, PRETTY> {
    type Ok = ();
    type Error = Error;

    #[inline(always)]
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.ser.key(key, self.first);
        self.first = false;
        value.serialize(&mut *self.ser)
    }

    fn end(self) -> Result<(), Error> {
        self.close_struct();
        Ok(())
    }
}

impl<const PRETTY: bool> ser::SerializeStructVariant for Compound<'_, '_, PRETTY> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }

    fn end(self) -> Result<(), Error> {
        self.close_struct();
        Ok(())
    }
}

/// A map key, as serde_json takes them: strings, and numbers, booleans
/// and unit variants as strings; anything else is an error.
struct MapKey<'a, 'b, const PRETTY: bool>(&'b mut Compact<'a, PRETTY>);

impl<const PRETTY: bool> MapKey<'_, '_, PRETTY> {
    fn int(self, n: impl itoa::Integer) -> Result<(), Error> {
        self.0.quoted(n);
        Ok(())
    }
}

impl<const PRETTY: bool> ser::Serializer for MapKey<'_, '_, PRETTY> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.0
            .out
            .extend_from_slice(if v { b"\"true\"" } else { b"\"false\"" });
        Ok(())
    }

    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.int(v)
    }

    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.int(v)
    }

    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.int(v)
    }

    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.int(v)
    }

    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.int(v)
    }

    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.int(v)
    }

    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.int(v)
    }

    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.int(v)
    }

    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.int(v)
    }

    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.int(v)
    }

    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        if !v.is_finite() {
            return Err(Error("float key must be finite".to_string()));
        }
        self.0.out.push(b'"');
        self.0.float32(v);
        self.0.out.push(b'"');
        Ok(())
    }

    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        if !v.is_finite() {
            return Err(Error("float key must be finite".to_string()));
        }
        self.0.out.push(b'"');
        self.0.float(v);
        self.0.out.push(b'"');
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.0.serialize_char(v)
    }

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.0.serialize_str(v)
    }

    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_none(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    #[inline(always)]
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.0.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_must_be_a_string())
    }

    fn collect_str<T: fmt::Display + ?Sized>(self, value: &T) -> Result<(), Error> {
        self.0.collect_str(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use std::collections::BTreeMap;

    /// The constant words written raw, unescaped, as enums' words are (and
    /// packed as numbers in the document's held-back records): every
    /// check's code and title, analysis flag name and direction is plain
    /// JSON text.
    #[test]
    fn the_constant_words_need_no_escaping() {
        for check in crate::rules::Check::ALL {
            let rule = check.rule();
            assert!(plain(rule.code) && plain(rule.title), "{}", rule.code);
        }
        for (_, name) in crate::wireshark::SegFlags::NAMES {
            assert!(plain(name), "{name}");
        }
        for side in [crate::state::Side::Client, crate::state::Side::Server] {
            assert!(plain(crate::report::direction_name(side)));
        }
    }

    /// What serde_json writes, with the bidirectional controls escaped.
    fn reference<T: Serialize + ?Sized>(v: &T) -> Vec<u8> {
        let mut out = Vec::new();
        super::super::json::compact(&mut out, v).unwrap();
        out
    }

    #[track_caller]
    fn same<T: Serialize + ?Sized>(v: &T) {
        let mut ours = b"prefix".to_vec();
        to_vec(&mut ours, v).unwrap();
        let mut want = b"prefix".to_vec();
        want.extend(reference(v));
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&want)
        );
    }

    #[derive(Serialize)]
    struct Inner {
        text: String,
        maybe: Option<Option<u8>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        hidden: Option<u8>,
        #[serde(skip)]
        _never: u8,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Plain,
        Newtype(i32),
        Tuple(u8, &'static str),
        Record { a: Option<f64>, b: Vec<u8> },
        Wrapped(Inner),
    }

    #[derive(Serialize)]
    struct Unit;

    #[derive(Serialize)]
    struct Newtype(f32);

    #[derive(Serialize)]
    struct Empty {}

    #[derive(Serialize)]
    struct AllSkipped {
        #[serde(skip_serializing_if = "Vec::is_empty")]
        list: Vec<u8>,
    }

    #[derive(Serialize)]
    struct Outer {
        id: u64,
        neg: i64,
        big: u128,
        small: i128,
        flag: bool,
        c: char,
        floats: Vec<f64>,
        f32s: Vec<f32>,
        nested: Option<Inner>,
        none: Option<Inner>,
        kinds: Vec<Kind>,
        map: BTreeMap<String, Vec<Option<u32>>>,
        int_keys: BTreeMap<i32, ()>,
        bool_keys: BTreeMap<bool, Unit>,
        tuple: (u8, Newtype, Empty, AllSkipped),
        #[serde(with = "serde_bytes_as_slice")]
        bytes: Vec<u8>,
        shown: Shown,
    }

    /// `collect_str`, through `Display`.
    struct Shown(&'static str);

    impl Serialize for Shown {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(&format_args!("<{}>", self.0))
        }
    }

    mod serde_bytes_as_slice {
        pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(v)
        }
    }

    const NASTY: [&str; 9] = [
        "",
        "plain",
        "caf\u{e9} \u{7f} 抓包 → …",
        "quote \" backslash \\ slash /",
        "tab\tnewline\ncr\r\u{0}\u{1}\u{8}\u{c}\u{1f}",
        "evil\u{202e}gnp.pcap",
        "\u{200e}\u{200f}\u{202a}\u{202b}\u{202c}\u{202d}\u{2066}\u{2067}\u{2068}\u{2069}",
        "\u{2029}\u{2028}\u{2065}\u{206a}\u{2010}\u{202f}",
        "mixed \u{2067}\"\u{1b}[31m\\",
    ];

    fn inner(text: &str, maybe: Option<Option<u8>>, hidden: Option<u8>) -> Inner {
        Inner {
            text: text.to_string(),
            maybe,
            hidden,
            _never: 7,
        }
    }

    #[test]
    fn strings_and_escapes_are_serde_jsons() {
        for s in NASTY {
            same(s);
            same(&Shown(s));
            let mut ours = Vec::new();
            to_vec(&mut ours, s).unwrap();
            let json = String::from_utf8(ours).unwrap();
            assert!(!json.chars().any(super::super::is_bidi_control), "{json}");
            assert_eq!(serde_json::from_str::<String>(&json).unwrap(), s);
        }
        for c in ['a', '"', '\n', '\u{202e}', '抓'] {
            same(&c);
        }
    }

    #[test]
    fn numbers_are_serde_jsons() {
        for x in [
            0.0,
            -0.0,
            1.5,
            1e-7,
            1e21,
            123456789012345680000.0,
            1700000000.0041301,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            same(&x);
            same(&Some(x));
            same(&(x as f32));
        }
        for n in [0, 1, u64::MAX] {
            same(&n);
        }
        for n in [i64::MIN, -1, i64::MAX] {
            same(&n);
        }
        same(&u128::MAX);
        same(&i128::MIN);
    }

    #[test]
    fn the_model_shapes_are_serde_jsons() {
        let mut map = BTreeMap::new();
        map.insert(String::new(), vec![]);
        map.insert("k\u{202e}\"".to_string(), vec![None, Some(3)]);
        for (i, &text) in NASTY.iter().enumerate() {
            let value = Outer {
                id: i as u64,
                neg: -(i as i64),
                big: u128::MAX,
                small: i128::MIN,
                flag: i % 2 == 0,
                c: '\u{2066}',
                floats: vec![0.25, f64::NAN, -1e300, f64::INFINITY],
                f32s: vec![0.1, f32::NAN, 3.4e38],
                nested: Some(inner(text, Some(None), Some(1))),
                none: None,
                kinds: vec![
                    Kind::Plain,
                    Kind::Newtype(-5),
                    Kind::Tuple(1, text),
                    Kind::Record {
                        a: None,
                        b: vec![1, 2],
                    },
                    Kind::Record {
                        a: Some(f64::NAN),
                        b: vec![],
                    },
                    Kind::Wrapped(inner(text, Some(Some(9)), None)),
                    Kind::Wrapped(inner("", None, None)),
                ],
                map: if i == 0 { BTreeMap::new() } else { map.clone() },
                int_keys: [(-1, ()), (i32::MAX, ())].into(),
                bool_keys: [(true, Unit), (false, Unit)].into(),
                tuple: (
                    7,
                    Newtype(f32::INFINITY),
                    Empty {},
                    AllSkipped { list: vec![] },
                ),
                bytes: text.as_bytes().to_vec(),
                shown: Shown(text),
            };
            same(&value);
            same(&[&value]);
            same(&Some(&value));
        }
        same(&Vec::<u8>::new());
        same(&());
        same(&Option::<Option<()>>::None);
        same(&Some(None::<u8>));
    }

    /// The names the other outputs (table, conn.log, teaching views) spell
    /// with `as_str` are the ones the JSON gives the values.
    #[test]
    fn every_name_of_the_model_is_as_str() {
        use crate::connection::EndedBy;
        use crate::report::RolesBy;
        use crate::rules::{Check, Severity};
        use crate::state::{Side, State};
        use crate::verdict::{HandshakeStatus, Initiator, TeardownStatus};
        use crate::zeek::ConnState;

        #[track_caller]
        fn named<T: Serialize>(v: T, name: &str) {
            same(&v);
            let mut ours = Vec::new();
            to_vec(&mut ours, &v).unwrap();
            assert_eq!(ours, format!("\"{name}\"").into_bytes());
        }
        for s in State::ALL {
            named(s, s.as_str());
        }
        for s in HandshakeStatus::ALL {
            named(s, s.as_str());
        }
        for s in TeardownStatus::ALL {
            named(s, s.as_str());
        }
        for i in [
            Initiator::One(Side::Client),
            Initiator::One(Side::Server),
            Initiator::Both,
        ] {
            named(i, i.as_str());
        }
        for r in [RolesBy::Syn, RolesBy::Ports] {
            named(r, r.as_str());
        }
        for e in [
            EndedBy::Close,
            EndedBy::Reuse,
            EndedBy::IdleTimeout,
            EndedBy::MaxConnections,
            EndedBy::CaptureEnd,
        ] {
            named(e, e.as_str());
        }
        for c in ConnState::ALL {
            named(c, c.as_str());
        }
        for s in [Severity::Info, Severity::Warning, Severity::Error] {
            named(s, s.as_str());
        }
        for c in Check::ALL {
            named(c.code(), c.code());
        }
    }

    #[test]
    fn keys_that_are_not_strings_fail_and_write_nothing() {
        let mut out = b"kept".to_vec();
        let bytes_keys: BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into();
        assert!(serde_json::to_vec(&[&bytes_keys]).is_err());
        assert!(to_vec(&mut out, &[&bytes_keys]).is_err());
        let nan_keys = FloatKeys(vec![(1.5, 1), (f64::NAN, 2)]);
        assert!(serde_json::to_vec(&nan_keys).is_err());
        assert!(to_vec(&mut out, &nan_keys).is_err());
        assert_eq!(out, b"kept");
        same(&FloatKeys(vec![(1.5, 1), (-0.0, 2)]));
    }

    struct FloatKeys(Vec<(f64, u8)>);

    impl Serialize for FloatKeys {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
        }
    }
}
