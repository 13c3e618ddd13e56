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
    let mut headers = Headers::new(opts, named);
    if named && report.merged {
        // Every file merged, then the connections of their records.
        headers.merged(&report.captures, out)?;
        for c in &report.connections {
            writeln!(out)?;
            connection(c, opts, draw, out)?;
        }
        return Ok(());
    }
    for (index, capture) in report.captures.iter().enumerate() {
        let conns: Vec<&ConnectionReport> = super::connections_of(report, index).collect();
        if !headers.capture(capture, conns.len() as u64, out)? {
            continue;
        }
        for c in conns {
            writeln!(out)?;
            connection(c, opts, draw, out)?;
        }
    }
    Ok(())
}

/// Draws one connection of a teaching view with `draw`: what follows the
/// blank line before it. A view streamed as connections finish draws each
/// with this, and [`Headers`] around them.
pub fn connection(
    c: &ConnectionReport,
    opts: &TeachOptions,
    draw: DrawConnection,
    out: &mut dyn Write,
) -> io::Result<()> {
    let text = Text::new(opts.lang);
    let paint = Painter::new(opts.color);
    let g = Glyphs::new(opts.ascii);
    draw(c, opts, &text, &paint, &g, out)
}

/// The captures' headers of a teaching view, each followed (by the caller)
/// by a blank line and a drawn connection per chosen connection.
pub struct Headers {
    width: Option<usize>,
    text: Text,
    paint: Painter,
    g: Glyphs,
    /// Whether each names its link types (`x.pcap (pcap, ETHERNET): …`).
    named: bool,
    /// Whether a header is out already (the next goes after a blank line).
    any: bool,
}

impl Headers {
    /// The headers of [`per_connection`] (`named`: of
    /// [`per_connection_named`]).
    pub fn new(opts: &TeachOptions, named: bool) -> Headers {
        Headers {
            width: opts.width,
            text: Text::new(opts.lang),
            paint: Painter::new(opts.color),
            g: Glyphs::new(opts.ascii),
            named,
            any: false,
        }
    }

    /// Writes the header of `capture`, of which `chosen` connections are
    /// drawn, unless it is left out: it has connections but none of them
    /// was chosen (`--conn` picked one of another capture). Whether it was
    /// written.
    pub fn capture(
        &mut self,
        capture: &CaptureReport,
        chosen: u64,
        out: &mut dyn Write,
    ) -> io::Result<bool> {
        if chosen == 0 && capture.connections > 0 {
            return Ok(false);
        }
        if self.any {
            writeln!(out)?;
        }
        self.any = true;
        let name = super::printable(&capture.file);
        if self.named {
            let header = self
                .g
                .text(&self.text.capture_header_linked(capture, &name));
            heading(&header, self.width, &self.paint, out)?;
        } else {
            let header = self.g.text(&self.text.capture_header(capture, &name));
            writeln!(out, "{}", self.paint.paint(Style::Heading, &header))?;
        }
        Ok(true)
    }

    /// Writes the headers of captures read as one (`--merge`), each named,
    /// one after the other; their connections follow, drawn once.
    pub fn merged(&mut self, captures: &[CaptureReport], out: &mut dyn Write) -> io::Result<()> {
        for c in captures {
            let header = self.g.text(
                &self
                    .text
                    .capture_header_linked(c, &super::printable(&c.file)),
            );
            heading(&header, self.width, &self.paint, out)?;
        }
        self.any = true;
        Ok(())
    }
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
