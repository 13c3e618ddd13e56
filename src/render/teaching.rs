//! What the teaching views (timeline, ladder, Mermaid) share: their options
//! and the frame that prints each capture's header and then each of its
//! chosen connections.

use super::style::{Glyphs, Painter, Style};
use crate::report::{CaptureReport, ConnectionReport, Report};
use crate::teach::text::Text;
use std::io::{self, Write};

/// How the teaching views (timeline, ladder, Mermaid) are drawn.
#[derive(Debug, Clone, Copy, Default)]
pub struct TeachOptions {
    pub lesson: crate::teach::LessonOptions,
    pub lang: crate::teach::text::Lang,
    /// Narrate each step (timeline).
    pub explain: bool,
    /// ASCII instead of box drawing and Unicode punctuation.
    pub ascii: bool,
    /// ANSI colours.
    pub color: bool,
    /// The terminal's width, when the output goes to one (or `COLUMNS` is
    /// set): the ladder wraps within it. `None`: as wide as it needs.
    pub width: Option<usize>,
}

/// Draws one connection of a teaching view.
pub type DrawConnection = fn(
    &ConnectionReport,
    &TeachOptions,
    &Text,
    &Painter,
    &Glyphs,
    &mut dyn Write,
) -> io::Result<()>;

/// A capture's header line: the file, what was read of it.
pub type CaptureHeader = fn(&Text, &CaptureReport, &str) -> String;

/// The frame the teaching views share: per capture a header, then each of
/// its connections drawn by `draw`. A capture whose connections were not
/// chosen (`--conn` picked one of another capture) is left out.
pub fn per_connection(
    report: &Report,
    opts: &TeachOptions,
    out: &mut dyn Write,
    draw: DrawConnection,
) -> io::Result<()> {
    per_connection_with(report, opts, out, Text::capture_header, draw)
}

/// [`per_connection`] with the header line `header` writes, wrapped to
/// [`TeachOptions::width`] if there is one.
pub fn per_connection_with(
    report: &Report,
    opts: &TeachOptions,
    out: &mut dyn Write,
    header: CaptureHeader,
    draw: DrawConnection,
) -> io::Result<()> {
    let text = Text::new(opts.lang);
    let paint = Painter::new(opts.color);
    let g = Glyphs::new(opts.ascii);
    let mut first = true;
    for (index, capture) in report.captures.iter().enumerate() {
        let conns: Vec<&ConnectionReport> = super::connections_of(report, index).collect();
        if conns.is_empty() && capture.connections > 0 {
            continue;
        }
        if !first {
            writeln!(out)?;
        }
        first = false;
        let header = g.text(&header(&text, capture, &super::printable(&capture.file)));
        let lines = match opts.width {
            Some(width) => super::style::wrap(&header, width),
            None => vec![header],
        };
        for l in lines {
            writeln!(out, "{}", paint.paint(Style::Heading, &l))?;
        }
        for c in conns {
            writeln!(out)?;
            draw(c, opts, &text, &paint, &g, out)?;
        }
    }
    Ok(())
}
