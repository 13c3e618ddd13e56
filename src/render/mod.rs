//! Renderers: each takes the finished report model and a `Write`.

pub mod html;
pub mod json;
pub mod jsonl;
pub mod ladder;
pub mod mermaid;
pub mod packed;
pub mod rules;
pub mod style;
pub mod svg;
pub mod table;
pub mod teaching;
pub mod timeline;
pub mod zeek;

use crate::report::{ConnectionReport, Report};
use std::borrow::Cow;
use std::fmt::Write as _;

/// The connections of `report.captures[capture]`, in id order.
pub(crate) fn connections_of(
    report: &Report,
    capture: usize,
) -> impl Iterator<Item = &ConnectionReport> {
    report
        .connections
        .iter()
        .filter(move |c| c.capture == capture)
}

/// The characters that reorder how text is shown: the left-to-right and
/// right-to-left marks, embeddings and overrides (U+202A–U+202E) and
/// isolates (U+2066–U+2069). A file name with one can read as another
/// (`evil\u{202e}gnp.pcap` shows as `evilpcap.png`).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Text safe to print on a terminal: control characters (escape sequences,
/// carriage returns…) and bidirectional controls are shown escaped, so
/// nothing taken from outside (file names) can move the cursor, recolour
/// the terminal or reorder what it shows. Every output for people (the
/// table, the teaching views, messages, progress bars) goes through it.
pub fn printable(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() || is_bidi_control(c);
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn escapes_what_could_drive_a_terminal() {
        assert_eq!(printable("plain.pcap"), "plain.pcap");
        assert_eq!(printable("caf\u{e9} 日本.pcap"), "caf\u{e9} 日本.pcap");
        assert_eq!(printable("抓包.pcap"), "抓包.pcap");
        assert_eq!(
            printable("x\u{1b}[31mred\u{7}.pcap"),
            "x\\u{1b}[31mred\\u{7}.pcap"
        );
        assert_eq!(printable("a\rb\nc"), "a\\u{d}b\\u{a}c");
        assert_eq!(printable("\u{9b}2J"), "\\u{9b}2J", "C1 control (CSI)");
    }

    #[test]
    fn escapes_every_bidirectional_control() {
        assert_eq!(printable("evil\u{202e}gnp.pcap"), "evil\\u{202e}gnp.pcap");
        for c in [
            '\u{200e}', '\u{200f}', '\u{202a}', '\u{202d}', '\u{2066}', '\u{2069}',
        ] {
            let shown = printable(&format!("a{c}b")).into_owned();
            assert_eq!(shown, format!("a\\u{{{:x}}}b", c as u32));
        }
        // Neighbours that reorder nothing stay as they are.
        for c in [
            '\u{200d}', '\u{2029}', '\u{202f}', '\u{2065}', '\u{206a}', '→',
        ] {
            assert_eq!(printable(&format!("a{c}b")), format!("a{c}b"));
        }
    }
}

/// Output formats (the values of `--format`; the timeline has a flag of
/// its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Summary table for people.
    Table,
    /// One JSON document (schema tcpstate/1).
    Json,
    /// One JSON object per connection per line, streamed as connections finish.
    Jsonl,
    /// A Zeek conn.log (TSV with #fields header) that Zeek tooling reads.
    Zeek,
    /// The annotated teaching timeline (`--timeline`).
    #[value(skip)]
    Timeline,
    /// A ladder diagram per connection: client and server lines, an arrow per segment, states beside them.
    Ladder,
    /// A Mermaid sequenceDiagram per connection (Markdown with one block per connection when there are several).
    Mermaid,
    /// The ladder of one connection (`--conn ID`) as a standalone SVG figure.
    Svg,
    /// One self-contained HTML page: overview, connection table, and ladder, time–sequence graph and step-through per connection (`--html-details`).
    Html,
}

impl Format {
    /// The teaching views: they need every packet of the connections shown.
    pub const fn is_teaching(self) -> bool {
        matches!(
            self,
            Format::Timeline | Format::Ladder | Format::Mermaid | Format::Svg
        )
    }

    /// The name `--format` takes.
    pub const fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
            Format::Zeek => "zeek",
            Format::Timeline => "timeline",
            Format::Ladder => "ladder",
            Format::Mermaid => "mermaid",
            Format::Svg => "svg",
            Format::Html => "html",
        }
    }
}
