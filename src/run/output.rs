//! What each output format does with the run: which connection reports it
//! wants, where each goes, and what is written once every capture is done.
//! A new format is one more [`Output`].

use super::rows::Rows;
use super::Error;
use crate::render::html::{self, HtmlOptions};
use crate::render::{self, style::TeachOptions, table::TableOptions, Format};
use crate::report::{ConnectionReport, Report};
use std::cmp::Ordering;
use std::collections::BinaryHeap;
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
    /// The HTML report: a row for every connection, the full reports of
    /// the first `details` only ([`HtmlKept`]).
    Html(HtmlOptions),
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
            Format::Html => Output::Html(HtmlOptions {
                teach: options.teach,
                details: options.html_details,
                limit: options.limit,
            }),
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
            // Any connection may be one of those shown in detail.
            Output::Html(_) => Some(None),
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

    /// What the HTML report keeps of each capture; `None` for the others.
    pub fn html_kept(&self) -> Option<HtmlKept> {
        match self {
            Output::Html(opts) => Some(HtmlKept::new(opts)),
            _ => None,
        }
    }

    /// Writes what comes once every capture is done; `rows` are the HTML
    /// report's table (empty for the other formats).
    pub fn finish(
        &self,
        report: &Report,
        rows: &[html::Row],
        out: &mut dyn Write,
        messages: &mut dyn Write,
    ) -> Result<(), Error> {
        match *self {
            Output::Table(table) => render::table::render(report, &table, out)?,
            Output::Json => render::json::document(report, out)?,
            Output::Zeek => render::zeek::render(report, out)?,
            Output::Html(opts) => html::render(report, rows, &opts, out)?,
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

/// What the HTML report keeps of one capture, bounded whatever its size:
/// the table's rows (compact [`html::Row`]s) of the first `limit`
/// connections with findings and the first `limit` without, by id (all of
/// them with `--limit 0`), and the full reports (with their packets) of the
/// first `details` with findings and the first `details` without: whichever
/// way the table's order (findings first) falls, the rows and details shown
/// are among them.
pub(super) struct HtmlKept {
    details: usize,
    /// Every row (`--limit 0`), in chunks of [`HtmlKept::CHUNK`]: a
    /// growing vector would at times hold twice the rows, chunks never
    /// more than one chunk beyond them.
    all_rows: Option<Vec<Vec<html::Row>>>,
    /// Else the first rows with findings and without, by id.
    first_rows: [FirstRows; 2],
    with_findings: Rows,
    without: Rows,
}

/// The `limit` rows with the smallest ids.
struct FirstRows {
    limit: usize,
    heap: BinaryHeap<RowById>,
}

struct RowById(html::Row);

impl PartialEq for RowById {
    fn eq(&self, other: &RowById) -> bool {
        self.0.id == other.0.id
    }
}
impl Eq for RowById {}
impl PartialOrd for RowById {
    fn partial_cmp(&self, other: &RowById) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for RowById {
    fn cmp(&self, other: &RowById) -> Ordering {
        self.0.id.cmp(&other.0.id)
    }
}

impl FirstRows {
    fn would_keep(&self, id: u64) -> bool {
        self.heap.len() < self.limit || self.heap.peek().is_some_and(|top| id < top.0.id)
    }

    fn keep(&mut self, row: html::Row) {
        if self.would_keep(row.id) {
            self.heap.push(RowById(row));
            if self.heap.len() > self.limit {
                self.heap.pop();
            }
        }
    }
}

impl HtmlKept {
    const CHUNK: usize = 4096;

    fn new(opts: &HtmlOptions) -> HtmlKept {
        // The details are drawn from the rows kept.
        let limit = if opts.limit == 0 {
            0
        } else {
            opts.limit.max(opts.details)
        };
        let first = || FirstRows {
            limit,
            heap: BinaryHeap::new(),
        };
        HtmlKept {
            details: opts.details,
            all_rows: (limit == 0).then(Vec::new),
            first_rows: [first(), first()],
            with_findings: Rows::new(opts.details),
            without: Rows::new(opts.details),
        }
    }

    /// Whether the report of connection `id` may be kept (so is worth
    /// building): its findings are not known yet, so whether either side's
    /// rows or details would keep it.
    pub fn would_keep(&self, id: u64) -> bool {
        self.all_rows.is_some()
            || self.first_rows.iter().any(|r| r.would_keep(id))
            || (self.details > 0
                && (self.with_findings.would_keep(id) || self.without.would_keep(id)))
    }

    pub fn keep(&mut self, c: ConnectionReport) {
        let row = html::Row::of(&c);
        match &mut self.all_rows {
            Some(chunks) => match chunks.last_mut() {
                Some(chunk) if chunk.len() < Self::CHUNK => chunk.push(row),
                _ => {
                    let mut chunk = Vec::with_capacity(Self::CHUNK);
                    chunk.push(row);
                    chunks.push(chunk);
                }
            },
            None => self.first_rows[usize::from(!row.has_findings())].keep(row),
        }
        if self.details == 0 {
            return;
        }
        let kept = if c.findings.is_empty() {
            &mut self.without
        } else {
            &mut self.with_findings
        };
        if kept.would_keep(c.id) {
            kept.keep(c);
        }
    }

    /// The rows, and the full reports kept, by id.
    pub fn into_parts(self) -> (Vec<html::Row>, Vec<ConnectionReport>) {
        let mut full = self.with_findings.into_sorted();
        full.extend(self.without.into_sorted());
        full.sort_by_key(|c| c.id);
        let rows = match self.all_rows {
            // One vector of exactly the rows; each chunk is freed once moved.
            Some(chunks) => {
                let mut rows = Vec::with_capacity(chunks.iter().map(Vec::len).sum());
                for chunk in chunks {
                    rows.extend(chunk);
                }
                rows
            }
            None => {
                let [a, b] = self.first_rows;
                let mut rows: Vec<html::Row> = a.heap.into_iter().map(|r| r.0).collect();
                rows.extend(b.heap.into_iter().map(|r| r.0));
                rows
            }
        };
        (rows, full)
    }
}
