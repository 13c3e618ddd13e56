//! JSON renderers: the whole report as one document, or one connection per line.

use crate::report::{ConnectionReport, Report};
use std::io::{self, Write};

/// Writes the whole report as one pretty-printed JSON document.
pub fn document(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    out.write_all(b"\n")
}

/// Writes one connection as a single JSON line. The line is built in
/// `scratch` (kept between calls) by [`super::jsonl`] and written with one
/// call.
pub fn line(conn: &ConnectionReport, scratch: &mut Vec<u8>, out: &mut dyn Write) -> io::Result<()> {
    scratch.clear();
    super::jsonl::write(conn, scratch);
    out.write_all(scratch)
}
