//! What the teaching views (timeline, ladder, Mermaid) share: their options
//! and the frame that prints each capture's header and then each of its
//! chosen connections.

use super::style::{Glyphs, Painter, Style};
use crate::report::{ConnectionReport, Report};
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
    /// The terminal's width, if the view is for one (or `COLUMNS` is set):
    /// the timeline's lines and the ladder wrap at token boundaries within
    /// it. `None`: as wide as they need.
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

/// The frame the teaching views share: per capture a header, then each of
/// its connections drawn by `draw`. A capture whose connections were not
/// chosen (`--conn` picked one of another capture) is left out.
pub fn per_connection(
    report: &Report,
    opts: &TeachOptions,
    out: &mut dyn Write,
    draw: DrawConnection,
) -> io::Result<()> {
    frame(report, opts, out, draw, false)
}

/// [`per_connection`], each capture's header naming its link types as the
/// table does (`x.pcap (pcap, ETHERNET): …`); captures read as one
/// (`--merge`) are each named, then their connections drawn once.
pub fn per_connection_named(
    report: &Report,
    opts: &TeachOptions,
    out: &mut dyn Write,
    draw: DrawConnection,
) -> io::Result<()> {
    frame(report, opts, out, draw, true)
}

fn frame(
    report: &Report,
    opts: &TeachOptions,
    out: &mut dyn Write,
    draw: DrawConnection,
    named: bool,
) -> io::Result<()> {
    let text = Text::new(opts.lang);
    let paint = Painter::new(opts.color);
    let g = Glyphs::new(opts.ascii);
    if named && report.merged {
        // Every file merged, then the connections of their records.
        for c in &report.captures {
            let header = g.text(&text.capture_header_linked(c, &super::printable(&c.file)));
            heading(&header, opts.width, &paint, out)?;
        }
        for c in &report.connections {
            writeln!(out)?;
            draw(c, opts, &text, &paint, &g, out)?;
        }
        return Ok(());
    }
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
        let name = super::printable(&capture.file);
        let header = if named {
            g.text(&text.capture_header_linked(capture, &name))
        } else {
            g.text(&text.capture_header(capture, &name))
        };
        if named {
            heading(&header, opts.width, &paint, out)?;
        } else {
            writeln!(out, "{}", paint.paint(Style::Heading, &header))?;
        }
        for c in conns {
            writeln!(out)?;
            draw(c, opts, &text, &paint, &g, out)?;
        }
    }
    Ok(())
}

/// A capture's header, wrapped at word boundaries within `width` (the
/// terminal's, if any), its continuation lines indented.
fn heading(
    header: &str,
    width: Option<usize>,
    paint: &Painter,
    out: &mut dyn Write,
) -> io::Result<()> {
    let Some(width) = width.filter(|&w| super::style::width_of(header) > w) else {
        return writeln!(out, "{}", paint.paint(Style::Heading, header));
    };
    for (i, line) in super::style::wrap(header, width.saturating_sub(2).max(20))
        .iter()
        .enumerate()
    {
        let indent = if i == 0 { "" } else { "  " };
        writeln!(out, "{indent}{}", paint.paint(Style::Heading, line))?;
    }
    Ok(())
}
