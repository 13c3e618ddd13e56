//! What each output format does with the run: which connection reports it
//! wants, where each goes, and what is written once every capture is done.
//! A new format is one more [`Output`].

use super::Error;
use crate::render::{self, style::TeachOptions, table::TableOptions, Format};
use crate::report::Report;
use std::io::{self, Write};

/// Draws a teaching view of the whole report.
type Draw = fn(&Report, &TeachOptions, &mut dyn Write) -> io::Result<()>;

/// One output format, with what it is drawn with.
#[derive(Clone, Copy)]
pub(super) enum Output<'a> {
    /// The table: only its first rows per capture are kept.
    Table(TableOptions),
    /// One JSON document.
    Json,
    /// JSON Lines, written as each connection finishes.
    Jsonl,
    /// A Zeek conn.log.
    Zeek,
    /// A teaching view (timeline, ladder, Mermaid).
    Teaching {
        draw: Draw,
        /// The one connection shown, by its id over all captures.
        conn: Option<u64>,
        teach: &'a TeachOptions,
    },
}

impl<'a> Output<'a> {
    pub fn new(options: &'a super::Options) -> Output<'a> {
        let teaching = |draw: Draw| Output::Teaching {
            draw,
            conn: options.conn,
            teach: &options.teach,
        };
        match options.format {
            Format::Table => Output::Table(TableOptions {
                limit: options.limit,
                packets: options.packets,
            }),
            Format::Json => Output::Json,
            Format::Jsonl => Output::Jsonl,
            Format::Zeek => Output::Zeek,
            Format::Timeline => teaching(render::timeline::render),
            Format::Ladder => teaching(render::ladder::render),
            Format::Mermaid => teaching(render::mermaid::render),
            Format::Svg => teaching(render::svg::render),
        }
    }

    /// Whether each report is written out as soon as its connection is done
    /// (else the reports are kept for [`Output::finish`]).
    pub fn streams(&self) -> bool {
        matches!(self, Output::Jsonl)
    }

    /// The reports kept per capture at most, those with the smallest ids;
    /// 0 keeps all.
    pub fn row_limit(&self) -> usize {
        match self {
            Output::Table(table) => table.limit,
            _ => 0,
        }
    }

    /// Whether the report of connection `id` is shown at all.
    pub fn shows(&self, id: u64) -> bool {
        match self {
            Output::Teaching { conn, .. } => conn.is_none_or(|want| want == id),
            _ => true,
        }
    }

    /// Whether the per-packet detail is needed whatever the options say,
    /// and if so for which connection only (`Some(None)`: for all).
    pub fn needs_packets(&self) -> Option<Option<u64>> {
        match self {
            // The teaching views are drawn from every packet.
            Output::Teaching { conn, .. } => Some(*conn),
            _ => None,
        }
    }

    /// Whether several captures may be analyzed side by side: the teaching
    /// views pick a connection by its id over all captures, known only
    /// once the captures before are done, so they read the captures in
    /// turn.
    pub fn side_by_side(&self) -> bool {
        !matches!(self, Output::Teaching { .. })
    }

    /// Writes what comes once every capture is done.
    pub fn finish(
        &self,
        report: &Report,
        out: &mut dyn Write,
        messages: &mut dyn Write,
    ) -> Result<(), Error> {
        match *self {
            Output::Table(table) => render::table::render(report, &table, out)?,
            Output::Json => render::json::document(report, out)?,
            Output::Zeek => render::zeek::render(report, out)?,
            // The lines are out already; the verdict goes beside them.
            Output::Jsonl => {
                let _ = writeln!(messages, "tcpstate: {}", report.summary.verdict.text);
            }
            Output::Teaching { draw, conn, teach } => {
                if let Some(id) = conn {
                    if report.connections.is_empty() {
                        return Err(Error::NoConnection {
                            id,
                            connections: report.summary.connections,
                        });
                    }
                }
                draw(report, teach, out)?;
            }
        }
        Ok(())
    }
}
