//! Renderers: each takes the finished report model and a `Write`.

pub mod json;
pub mod jsonl;
pub mod ladder;
pub mod mermaid;
pub mod rules;
pub mod style;
pub mod table;
pub mod timeline;
pub mod zeek;

use std::borrow::Cow;
use std::fmt::Write as _;

/// Text safe to print on a terminal: control characters (escape sequences,
/// carriage returns…) and bidirectional overrides are shown escaped, so
/// nothing taken from outside (file names) can move the cursor, recolour
/// the terminal or reorder what it shows.
pub fn printable(text: &str) -> Cow<'_, str> {
    let unsafe_char =
        |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
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
        assert_eq!(
            printable("x\u{1b}[31mred\u{7}.pcap"),
            "x\\u{1b}[31mred\\u{7}.pcap"
        );
        assert_eq!(printable("a\rb\nc"), "a\\u{d}b\\u{a}c");
        assert_eq!(printable("evil\u{202e}gnp.pcap"), "evil\\u{202e}gnp.pcap");
        assert_eq!(printable("\u{9b}2J"), "\\u{9b}2J", "C1 control (CSI)");
    }
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A summary table per capture, for people.
    Table,
    /// One JSON document (schema `tcpstate/1`).
    Json,
    /// One JSON connection object per line, written as each connection finishes.
    Jsonl,
    /// A Zeek conn.log.
    Zeek,
    /// The annotated teaching timeline (`--timeline`).
    Timeline,
    /// A ladder diagram per connection.
    Ladder,
    /// A Mermaid sequence diagram per connection.
    Mermaid,
}

impl Format {
    /// The teaching views: they need every packet of the connections shown.
    pub const fn is_teaching(self) -> bool {
        matches!(self, Format::Timeline | Format::Ladder | Format::Mermaid)
    }
}
