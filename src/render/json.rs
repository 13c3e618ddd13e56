//! JSON renderers: the whole report as one document, or one connection per line.
//!
//! Strings are escaped as serde_json escapes them, and the bidirectional
//! controls ([`super::is_bidi_control`]) as well, as `\u202e`-style escapes:
//! a file name with one cannot reorder what a terminal shows when the JSON
//! is printed, and it still decodes to the same string.

use super::packed;
use crate::report::{ConnectionReport, PacketReport, PacketStream, Report};
use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, Serializer};
use std::io::{self, Write};

/// Writes the whole report as one pretty-printed JSON document.
pub fn document(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let mut json = Serializer::with_formatter(&mut *out, BidiEscaping(Pretty::at_depth(0)));
    report.serialize(&mut json)?;
    out.write_all(b"\n")
}

/// Writes the document of `report` as [`document`] does, but with the
/// elements of its `connections` array written by `connections` (it writes
/// what [`connection_in_document`] built for each, after the separator
/// [`element_separator`] writes, and returns whether it wrote any): the
/// connections can come from elsewhere than the report (whose own
/// `connections` must be empty), written once the rest is known.
pub fn document_with(
    report: &Report,
    out: &mut dyn Write,
    connections: impl FnOnce(&mut dyn Write) -> io::Result<bool>,
) -> io::Result<()> {
    let mut head = Vec::new();
    document(report, &mut head)?;
    // The only top-level key at two spaces' indent after a raw newline
    // (strings never hold one): the place of the array, empty here.
    const EMPTY: &[u8] = b"\n  \"connections\": []";
    let Some(at) = head
        .windows(EMPTY.len())
        .position(|w| w == EMPTY)
        .filter(|_| report.connections.is_empty())
    else {
        return Err(io::Error::other(
            "the document's connections cannot be written apart",
        ));
    };
    let open = at + EMPTY.len() - 1;
    out.write_all(&head[..open])?;
    if connections(out)? {
        out.write_all(b"\n  ")?;
    }
    out.write_all(&head[open..])
}

/// What goes before each element of the document's `connections` array.
pub fn element_separator(first: bool, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(if first { b"\n    " } else { b",\n    " })
}

/// Builds `conn` as an element of the document's `connections` array, as
/// [`document`] writes it (pretty, indented to its depth) but in the packed
/// layout ([`super::packed`]), in `scratch`, and returns what follows its
/// id: [`put_document_id`] writes what comes before. This is how
/// connections are held back, put in order and renumbered without being
/// read again; [`super::packed::Unpacked`] writes them out.
pub fn connection_in_document<'s>(
    conn: &ConnectionReport,
    scratch: &'s mut Vec<u8>,
    names: &mut packed::Names,
) -> io::Result<&'s [u8]> {
    // The JSON Lines writer, laid out as the pretty formatter lays it out:
    // the same bytes, in about a third of the time serializing through
    // serde_json takes (`tests::the_pretty_writer_is_serde_json_pretty`).
    scratch.clear();
    super::jsonl::to_vec_packed(scratch, conn, CONNECTION_DEPTH, names)
        .map_err(io::Error::other)?;
    let key = packed_id_key(scratch);
    debug_assert!(key < scratch.len(), "a connection begins with its id");
    let start = key + itoa::Buffer::new().format(conn.id).len();
    Ok(scratch.get(start..).unwrap_or_default())
}

/// How long the beginning of a connection's packed object is, up to its
/// id: [`DOCUMENT_ID_KEY`] packed, with the name `id` as a number (`{`, a
/// newline, the number) or in full (`{`, a newline, `"id"`, `": "`).
fn packed_id_key(record: &[u8]) -> usize {
    const IN_FULL: [u8; 5] = [b'"', b'i', b'd', b'"', packed::KEY_COLON];
    let newline = packed::line(CONNECTION_DEPTH + 1);
    match record {
        [b'{', n, name, ..] if *n == newline && *name >= packed::FIRST_NAME => 3,
        [b'{', n, rest @ ..] if *n == newline && rest.starts_with(&IN_FULL) => 7,
        _ => record.len(),
    }
}

/// Writes `conn` as [`connection_in_document`] builds it (what follows its
/// id), its packets read from `packets` as they are written rather than
/// from `conn.packets` (which must be `None`): the bytes are those of the
/// report with every packet in `conn.packets`, never all in memory.
/// `scratch` holds the rest of the report, then a batch of packets.
pub fn connection_in_document_streamed(
    conn: &ConnectionReport,
    packets: &PacketStream,
    scratch: &mut Vec<u8>,
    names: &mut packed::Names,
    out: &mut dyn Write,
) -> io::Result<()> {
    let head = connection_in_document(conn, scratch, names)?.len();
    // The packets are the report's last field: before the object's end.
    // Packed, as the rest of the connection is.
    const C: u8 = packed::line(CONNECTION_DEPTH);
    const F: u8 = packed::line(CONNECTION_DEPTH + 1);
    const P: u8 = packed::line(PACKET_DEPTH);
    let frame = Apart {
        end: &[C, b'}'],
        open: &[
            b',',
            F,
            b'"',
            b'p',
            b'a',
            b'c',
            b'k',
            b'e',
            b't',
            b's',
            b'"',
            packed::KEY_COLON,
            b'[',
        ],
        // (`packets` in full: fixed bytes, written before any name is numbered)
        close: [&[b']', C, b'}'], &[F, b']', C, b'}']],
    };
    frame.write(conn, head, scratch, packets, out, |scratch, any, p| {
        scratch.extend_from_slice(if any { &[b',', P] } else { &[P] });
        super::jsonl::to_vec_packed(scratch, p, PACKET_DEPTH, names).map_err(io::Error::other)
    })
}

/// How a connection's text is cut open for its packets, written apart: the
/// text's `end` (after its last field), what goes before the first packet,
/// and what closes the list, without and with packets.
struct Apart {
    end: &'static [u8],
    open: &'static [u8],
    close: [&'static [u8]; 2],
}

impl Apart {
    /// Writes the text `scratch` holds, from its last `head` bytes on, cut
    /// open, then every packet of `packets` (`one` appends a packet to the
    /// batch, told whether one came before it), then the close. `conn.packets`
    /// must be `None`: its packets are all in `packets`.
    fn write(
        &self,
        conn: &ConnectionReport,
        head: usize,
        scratch: &mut Vec<u8>,
        packets: &PacketStream,
        out: &mut dyn Write,
        mut one: impl FnMut(&mut Vec<u8>, bool, &PacketReport) -> io::Result<()>,
    ) -> io::Result<()> {
        let text = &scratch[scratch.len() - head..];
        let Some(text) = text
            .strip_suffix(self.end)
            .filter(|_| conn.packets.is_none())
        else {
            return Err(io::Error::other(
                "the connection's packets cannot be written apart",
            ));
        };
        out.write_all(text)?;
        out.write_all(self.open)?;
        let mut any = false;
        scratch.clear();
        packets.for_each(|p| {
            one(scratch, any, p)?;
            any = true;
            flush_batch(scratch, out)
        })?;
        out.write_all(scratch)?;
        out.write_all(self.close[usize::from(any)])
    }
}

/// Writes out what `batch` holds once it is large.
fn flush_batch(batch: &mut Vec<u8>, out: &mut dyn Write) -> io::Result<()> {
    if batch.len() >= BATCH {
        out.write_all(batch)?;
        batch.clear();
    }
    Ok(())
}

/// Bytes of packets written at a time.
const BATCH: usize = 64 << 10;

/// The depth of a packet in the document: an element of a connection's
/// `packets` array.
const PACKET_DEPTH: usize = CONNECTION_DEPTH + 2;

/// Writes the start of a connection in the document, up to and with its
/// id, before what [`connection_in_document`] returned.
pub fn put_document_id(id: u64, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(DOCUMENT_ID_KEY)?;
    out.write_all(itoa::Buffer::new().format(id).as_bytes())
}

/// How a connection's object in the document begins.
const DOCUMENT_ID_KEY: &[u8] = b"{\n      \"id\": ";

/// The depth of a connection in the document: an element of the top-level
/// object's `connections` array.
const CONNECTION_DEPTH: usize = 2;

/// serde_json's pretty layout (its `PrettyFormatter`: two spaces an indent
/// level) for a value that starts `depth` levels into the document, so that
/// a connection built apart is already indented as the document has it.
struct Pretty {
    depth: usize,
    has_value: bool,
}

impl Pretty {
    fn at_depth(depth: usize) -> Pretty {
        Pretty {
            depth,
            has_value: false,
        }
    }

    fn newline<W: ?Sized + Write>(&self, w: &mut W, comma: bool) -> io::Result<()> {
        const SPACES: &[u8; 66] =
            b",\n                                                                ";
        let start = usize::from(!comma);
        let width = 2 + 2 * self.depth;
        match SPACES.get(start..width) {
            Some(line) => w.write_all(line),
            None => {
                w.write_all(&SPACES[start..2])?;
                (0..self.depth).try_for_each(|_| w.write_all(b"  "))
            }
        }
    }
}

impl Formatter for Pretty {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(b"[")
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.newline(w, false)?;
        }
        w.write_all(b"]")
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.newline(w, !first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(b"{")
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.newline(w, false)?;
        }
        w.write_all(b"}")
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.newline(w, !first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// Writes a connection's JSON line id, before what [`line_after_id`]
/// returned.
pub fn put_line_id(id: u64, out: &mut dyn Write) -> io::Result<()> {
    line_with_id(id, &[], out)
}

/// Appends `value` as compact JSON, escaped as every JSON output is.
pub(crate) fn compact<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
) -> serde_json::Result<()> {
    value.serialize(&mut Serializer::with_formatter(
        out,
        BidiEscaping(CompactFormatter),
    ))
}

/// Writes one connection as a single JSON line. The line is built in
/// `scratch` (kept between calls) by [`super::jsonl`] and written with one
/// call.
pub fn line(conn: &ConnectionReport, scratch: &mut Vec<u8>, out: &mut dyn Write) -> io::Result<()> {
    scratch.clear();
    super::jsonl::write(conn, scratch);
    out.write_all(scratch)
}

/// Builds the JSON line of `conn` in `scratch` and returns what follows its
/// id: [`line_with_id`] puts the line together again with any id. This is
/// how lines are held back and renumbered without being read again.
pub fn line_after_id<'s>(conn: &ConnectionReport, scratch: &'s mut Vec<u8>) -> &'s [u8] {
    scratch.clear();
    super::jsonl::write(conn, scratch);
    // Every line starts with its id, the first field of the report.
    let start = ID_KEY.len() + itoa::Buffer::new().format(conn.id).len();
    debug_assert!(scratch.starts_with(ID_KEY));
    scratch.get(start..).unwrap_or_default()
}

/// Writes the JSON line of `conn` as [`line_after_id`] builds it (what
/// follows its id), its packets read from `packets` as they are written, as
/// [`connection_in_document_streamed`] writes its object.
pub fn line_after_id_streamed(
    conn: &ConnectionReport,
    packets: &PacketStream,
    scratch: &mut Vec<u8>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let head = line_after_id(conn, scratch).len();
    let frame = Apart {
        end: b"}\n",
        open: b",\"packets\":[",
        close: [b"]}\n", b"]}\n"],
    };
    frame.write(conn, head, scratch, packets, out, |scratch, any, p| {
        if any {
            scratch.push(b',');
        }
        super::jsonl::to_vec(scratch, p).map_err(io::Error::other)
    })
}

/// Writes a JSON line from its id and the rest of it, as
/// [`line_after_id`] returned it.
pub fn line_with_id(id: u64, rest: &[u8], out: &mut dyn Write) -> io::Result<()> {
    out.write_all(ID_KEY)?;
    out.write_all(itoa::Buffer::new().format(id).as_bytes())?;
    out.write_all(rest)
}

/// How a connection's JSON object begins.
const ID_KEY: &[u8] = b"{\"id\":";

/// A serde_json formatter that also escapes the bidirectional controls.
/// serde_json hands it the unescaped runs of each string; everything else
/// is the wrapped formatter's.
struct BidiEscaping<F>(F);

impl<F: Formatter> Formatter for BidiEscaping<F> {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // Every bidirectional control is encoded starting with 0xE2: text
        // without that byte (nearly all) is written as it is.
        if !fragment.as_bytes().contains(&0xE2) {
            return writer.write_all(fragment.as_bytes());
        }
        let mut rest = fragment;
        while let Some((at, c)) = rest
            .char_indices()
            .find(|&(_, c)| super::is_bidi_control(c))
        {
            writer.write_all(&rest.as_bytes()[..at])?;
            write!(writer, "\\u{:04x}", u32::from(c))?;
            rest = &rest[at + c.len_utf8()..];
        }
        writer.write_all(rest.as_bytes())
    }

    // What the pretty formatter does differently from the defaults.
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::ser::PrettyFormatter;

    fn escaped(s: &str) -> String {
        let mut out = Vec::new();
        compact(&mut out, s).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn bidirectional_controls_are_escaped() {
        assert_eq!(escaped("evil\u{202e}gnp.pcap"), "\"evil\\u202egnp.pcap\"");
        assert_eq!(
            escaped("\u{200e}\u{200f}\u{202a}\u{2066}x\u{2069}"),
            "\"\\u200e\\u200f\\u202a\\u2066x\\u2069\""
        );
        for s in ["a\u{202e}b\u{1b}c\"\\", "\u{2067}", "→ … 抓包 \u{2029}"] {
            let json = escaped(s);
            assert!(!json.chars().any(super::super::is_bidi_control), "{json}");
            assert_eq!(serde_json::from_str::<String>(&json).unwrap(), s);
        }
    }

    #[test]
    fn the_rest_is_serde_json() {
        let value = serde_json::json!({"a": [1, {"b": "caf\u{e9}\n"}], "c": null, "d": []});
        let mut compact_out = Vec::new();
        compact(&mut compact_out, &value).unwrap();
        assert_eq!(compact_out, serde_json::to_vec(&value).unwrap());
        let mut pretty = Vec::new();
        value
            .serialize(&mut Serializer::with_formatter(
                &mut pretty,
                BidiEscaping(PrettyFormatter::new()),
            ))
            .unwrap();
        assert_eq!(pretty, serde_json::to_vec_pretty(&value).unwrap());
        let mut ours = Vec::new();
        value
            .serialize(&mut Serializer::with_formatter(
                &mut ours,
                BidiEscaping(Pretty::at_depth(0)),
            ))
            .unwrap();
        assert_eq!(ours, pretty);
    }

    /// A value built at a depth is the document's text at that depth: every
    /// line after the first indented by two spaces a level, at any depth.
    #[test]
    fn pretty_at_depth_is_pretty_indented() {
        let value = serde_json::json!({"a": [1, {"b": [[], {}], "c": "x\ny"}], "d": {"e": null}});
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        for depth in [0, 1, 2, 5, 40] {
            let mut ours = Vec::new();
            value
                .serialize(&mut Serializer::with_formatter(
                    &mut ours,
                    BidiEscaping(Pretty::at_depth(depth)),
                ))
                .unwrap();
            let indented = pretty.replace('\n', &format!("\n{}", "  ".repeat(depth)));
            assert_eq!(String::from_utf8(ours).unwrap(), indented, "depth {depth}");
        }
    }

    /// The JSON Lines writer laid out pretty writes what serializing through
    /// the document's formatter writes: empty and nested objects and arrays,
    /// maps with number keys, every shape of enum variant, escapes and
    /// bidirectional controls, at any depth (past the 16 levels of its
    /// table of spaces too). The equivalence tests compare whole documents.
    #[test]
    fn the_pretty_writer_is_serde_json_pretty() {
        #[derive(Serialize)]
        enum Shape {
            Unit,
            Newtype(u8),
            Tuple(u8, &'static str),
            Struct { a: Vec<u8>, b: () },
            EmptyStruct {},
        }
        #[derive(Serialize)]
        struct Empty {}
        #[derive(Serialize)]
        struct Value {
            shapes: Vec<Shape>,
            empty: Empty,
            none: Vec<u8>,
            map: std::collections::BTreeMap<u16, Option<f64>>,
            text: &'static str,
            nested: Vec<Vec<Vec<i64>>>,
        }
        let value = Value {
            shapes: vec![
                Shape::Unit,
                Shape::Newtype(7),
                Shape::Tuple(1, "t"),
                Shape::Struct {
                    a: vec![1, 2],
                    b: (),
                },
                Shape::EmptyStruct {},
            ],
            empty: Empty {},
            none: vec![],
            map: [(1, Some(0.5)), (80, None), (443, Some(1e-7))].into(),
            text: "caf\u{e9} \"q\" \\ \n evil\u{202e}gnp",
            nested: vec![vec![], vec![vec![-1, 2]], vec![vec![]]],
        };
        for depth in [0, 2, 4, 15, 16, 17, 40] {
            let mut theirs = Vec::new();
            value
                .serialize(&mut Serializer::with_formatter(
                    &mut theirs,
                    BidiEscaping(Pretty::at_depth(depth)),
                ))
                .unwrap();
            let mut ours = Vec::new();
            super::super::jsonl::to_vec_pretty(&mut ours, &value, depth).unwrap();
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                String::from_utf8(theirs.clone()).unwrap(),
                "depth {depth}"
            );
            // Packed, then written out in pieces of every size.
            let mut packed = Vec::new();
            let mut names = packed::Names::default();
            super::super::jsonl::to_vec_packed(&mut packed, &value, depth, &mut names).unwrap();
            assert!(packed.len() < theirs.len());
            for cut in [1, 2, 3, 7, 64, packed.len()] {
                let mut out = Vec::new();
                let mut unpacked = packed::Unpacked::new(&mut out);
                for piece in packed.chunks(cut) {
                    unpacked.write_all(piece).unwrap();
                }
                unpacked.finish().unwrap();
                assert_eq!(out, theirs, "depth {depth}, pieces of {cut}");
            }
        }
    }
}
