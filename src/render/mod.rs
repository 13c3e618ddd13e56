//! Renderers: each takes the finished report model and a `Write`.

pub mod json;
pub mod rules;
pub mod table;
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
}
