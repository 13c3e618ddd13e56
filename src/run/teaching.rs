//! The teaching views (timeline, ladder, Mermaid) drawn as connections
//! finish: each connection's text is drawn when its report arrives and put
//! with the others in id order ([`Sorted`], in bounded memory), and the
//! report is dropped. Once every capture is known, each capture's header
//! (which needs its counts) is written before its connections' texts, as
//! [`crate::render::teaching::per_connection_named`] and
//! [`crate::render::mermaid::render`] write the whole report.

use super::sorted::Sorted;
use crate::render::teaching::{self, DrawConnection, Headers, TeachOptions};
use crate::report::{CaptureReport, ConnectionReport, Report};
use crate::teach::text::{Lang, Text};
use std::io::{self, Write};

/// A teaching view drawn one connection at a time.
#[derive(Clone, Copy)]
pub(super) enum View {
    /// The timeline or the ladder: per capture a header naming its link
    /// types, then each of its connections after a blank line.
    Framed(DrawConnection),
    /// Mermaid: a diagram per connection, each fenced under a heading
    /// when there are several.
    Mermaid,
}

impl View {
    /// Draws `c` into `bytes` (emptied first): the record kept for it.
    pub fn record<'b>(
        &self,
        c: &ConnectionReport,
        opts: &TeachOptions,
        bytes: &'b mut Vec<u8>,
    ) -> io::Result<&'b [u8]> {
        bytes.clear();
        match self {
            View::Framed(draw) => teaching::connection(c, opts, *draw, bytes)?,
            View::Mermaid => {
                crate::render::mermaid::diagram(c, opts, &Text::new(opts.lang), bytes)?
            }
        }
        Ok(bytes)
    }

    /// Writes the view: the records of `sorted`, in id order, with what
    /// goes around them. `ends[i]`: the records put in `sorted` once
    /// `report.captures[i]` was done.
    pub fn finish(
        &self,
        report: &Report,
        ends: &[u64],
        sorted: Sorted,
        opts: &TeachOptions,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        match self {
            View::Framed(_) => framed(report, ends, sorted, opts, out),
            View::Mermaid => mermaid(sorted, opts.lang, out),
        }
    }
}

/// The records carry no id to write.
fn no_id(_: u64, _: &mut dyn Write) -> io::Result<()> {
    Ok(())
}

/// The timeline or the ladder: as
/// [`crate::render::teaching::per_connection_named`] frames them.
fn framed(
    report: &Report,
    ends: &[u64],
    sorted: Sorted,
    opts: &TeachOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut headers = Headers::new(opts, true);
    if report.merged {
        // Every file merged, then the connections of their records.
        headers.merged(&report.captures, out)?;
        return sorted.write_to(out, no_id, |_, out| writeln!(out));
    }
    let mut walk = Walk {
        captures: &report.captures,
        ends,
        headers,
        at: 0,
        opened: false,
        written: 0,
    };
    sorted.write_to(out, no_id, |_, out| walk.before_record(out))?;
    walk.rest(out)
}

/// Where the records written have got to among the captures: each
/// capture's records are the next `chosen` of them, in id order.
struct Walk<'a> {
    captures: &'a [CaptureReport],
    ends: &'a [u64],
    headers: Headers,
    /// The capture whose records are being written.
    at: usize,
    /// Whether its header is out (or left out).
    opened: bool,
    /// Its records written.
    written: u64,
}

impl Walk<'_> {
    /// The records of the capture at `index`.
    fn chosen(&self, index: usize) -> u64 {
        let end = |i: usize| self.ends.get(i).copied().unwrap_or(u64::MAX);
        let start = index.checked_sub(1).map_or(0, end);
        end(index).saturating_sub(start)
    }

    /// Writes what comes before the next record: the headers of the
    /// captures up to its own, and the blank line.
    fn before_record(&mut self, out: &mut dyn Write) -> io::Result<()> {
        while let Some(capture) = self.captures.get(self.at) {
            let chosen = self.chosen(self.at);
            if !self.opened {
                self.headers.capture(capture, chosen, out)?;
                self.opened = true;
            }
            if self.written < chosen {
                self.written += 1;
                break;
            }
            self.at += 1;
            self.opened = false;
            self.written = 0;
        }
        writeln!(out)
    }

    /// Writes the headers of the captures after the last record.
    fn rest(&mut self, out: &mut dyn Write) -> io::Result<()> {
        while let Some(capture) = self.captures.get(self.at) {
            if !self.opened {
                self.headers.capture(capture, self.chosen(self.at), out)?;
            }
            self.at += 1;
            self.opened = false;
        }
        Ok(())
    }
}

/// Mermaid, as [`crate::render::mermaid::render`] writes it: one connection
/// gives a bare diagram; several give a fenced block each, under its
/// heading.
fn mermaid(sorted: Sorted, lang: Lang, out: &mut dyn Write) -> io::Result<()> {
    let count = sorted.len();
    if count == 1 {
        return sorted.write_to(out, no_id, |_, _| Ok(()));
    }
    let heading: super::spool::PutId = match lang {
        Lang::En => |id, out| mermaid_heading(Lang::En, id, out),
        Lang::Zh => |id, out| mermaid_heading(Lang::Zh, id, out),
    };
    sorted.write_to(out, heading, |first, out| {
        if first {
            Ok(())
        } else {
            out.write_all(b"```\n\n")
        }
    })?;
    if count > 0 {
        writeln!(out, "```")?;
    }
    Ok(())
}

/// The heading and the opening fence of connection `id`'s block.
fn mermaid_heading(lang: Lang, id: u64, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "## {}\n\n```mermaid", Text::new(lang).connection(id))
}
