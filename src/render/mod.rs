//! Renderers: each takes the finished report model and a `Write`.

pub mod json;
pub mod ladder;
pub mod mermaid;
pub mod rules;
pub mod style;
pub mod table;
pub mod timeline;
pub mod zeek;

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
