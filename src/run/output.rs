//! What each output format does with the run: which connection reports it
//! wants, where each goes, and what is written once every capture is done.
//! A new format is one more [`Output`].

use super::html::{HtmlKept, HtmlTable};
use super::sorted::Sorted;
use super::spool::PutId;
use super::teaching::View;
use super::Error;
use crate::render::html::{self, HtmlOptions};
use crate::render::{self, table::TableOptions, teaching::TeachOptions, Format};
use crate::report::{ConnectionReport, PacketStream, Report};
use std::io::{self, Write};

/// Draws a teaching view of the whole report.
type Draw = fn(&Report, &TeachOptions, &mut dyn Write) -> io::Result<()>;

/// One output format, with what it is drawn with.
#[derive(Clone, Copy)]
pub(super) enum Output<'a> {
    /// The table: only its first rows per capture are kept.
    Table(TableOptions),
    /// One JSON document, its connections held back (in bounded memory)
    /// until the captures before them in the document are known.
    Json,
    /// JSON Lines, written as each connection finishes.
    Jsonl,
    /// A Zeek conn.log, its rows written as each connection finishes.
    Zeek,
    /// A teaching view (timeline, ladder, Mermaid; SVG).
    Teaching {
        /// How the whole report is drawn.
        draw: Draw,
        /// How it is drawn one connection at a time, as each finishes
        /// (all but SVG, a figure of one connection): then no report is
        /// kept.
        each: Option<View>,
        /// The one connection shown, by its id over all captures.
        conn: Option<u64>,
        teach: &'a TeachOptions,
    },
    /// The HTML report: a row for every connection, the full reports of
    /// the first `details` only ([`super::html`]).
    Html(HtmlOptions),
}

impl<'a> Output<'a> {
    pub fn new(options: &'a super::Options) -> Output<'a> {
        let teaching = |draw: Draw, each: Option<View>| Output::Teaching {
            draw,
            each,
            // Packets are kept for the one connection asked for only.
            conn: match options.conn.as_slice() {
                [one] => Some(*one),
                _ => None,
            },
            teach: &options.teach,
        };
        match options.format {
            Format::Table => Output::Table(TableOptions {
                limit: options.limit,
                packets: options.packets,
                selected: !options.conn.is_empty(),
                width: options.width,
                lang: options.teach.lang,
            }),
            Format::Json => Output::Json,
            Format::Jsonl => Output::Jsonl,
            Format::Zeek => Output::Zeek,
            Format::Timeline => teaching(
                render::timeline::render,
                Some(View::Framed(render::timeline::connection)),
            ),
            Format::Ladder => teaching(
                render::ladder::render,
                Some(View::Framed(render::ladder::ladder)),
            ),
            Format::Mermaid => teaching(render::mermaid::render, Some(View::Mermaid)),
            Format::Svg => teaching(render::svg::render, None),
            Format::Html => Output::Html(HtmlOptions {
                teach: options.teach,
                details: options.html_details,
            }),
        }
    }

    /// Whether each report is made a record (written out, or held back as
    /// bytes) as soon as its connection is done, else the reports are kept
    /// for [`Output::finish`].
    pub fn streams(&self) -> bool {
        matches!(self, Output::Jsonl | Output::Zeek | Output::Json)
    }

    /// Whether the records are put in id order before they are written
    /// (else they are written in the order connections finish).
    pub fn sorts(&self) -> bool {
        matches!(self, Output::Json) || self.draws_each()
    }

    /// Whether each report is drawn as soon as its connection is done
    /// (a teaching view; not a streamed format: the reports are chosen and
    /// counted as those kept for [`Output::finish`] are).
    pub fn draws_each(&self) -> bool {
        matches!(self, Output::Teaching { each: Some(_), .. })
    }

    /// Whether the reports written show their findings' frames and
    /// messages (all but a conn.log).
    pub fn describes(&self) -> bool {
        !matches!(self, Output::Zeek)
    }

    /// Whether the records are Zeek rows, with the header written before
    /// the first.
    pub fn is_zeek(&self) -> bool {
        matches!(self, Output::Zeek)
    }

    /// Builds the record of `c` (its part `part`, see [`Output::parts`])
    /// for a streamed format: its bytes, in
    /// `scratch`, but for the id, which [`Output::put_id`] writes after the
    /// first `slot` of them.
    pub fn record<'s>(
        &self,
        c: &ConnectionReport,
        part: usize,
        scratch: &'s mut Scratch,
    ) -> io::Result<(usize, &'s [u8])> {
        match self {
            Output::Zeek => {
                let slot = render::zeek::row(c, part, &mut scratch.text);
                Ok((slot, scratch.text.as_bytes()))
            }
            Output::Json => Ok((
                0,
                render::json::connection_in_document(c, &mut scratch.bytes, &mut scratch.names)?,
            )),
            Output::Teaching {
                each: Some(view),
                teach,
                ..
            } => Ok((0, view.record(c, teach, &mut scratch.bytes)?)),
            _ => Ok((0, render::json::line_after_id(c, &mut scratch.bytes))),
        }
    }

    /// The packets of `c` to be written as they are read back, if its
    /// record is written that way ([`Output::write_streamed`]): those of a
    /// JSON format's report that carries them so.
    pub fn packet_stream<'c>(&self, c: &'c ConnectionReport) -> Option<&'c PacketStream> {
        match self {
            Output::Json | Output::Jsonl => c.packet_stream.as_ref(),
            _ => None,
        }
    }

    /// Writes the record of `c` ([`Output::record`], what follows its id),
    /// its packets read from `packets` as they are written.
    pub fn write_streamed(
        &self,
        c: &ConnectionReport,
        packets: &PacketStream,
        scratch: &mut Scratch,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        match self {
            Output::Json => render::json::connection_in_document_streamed(
                c,
                packets,
                &mut scratch.bytes,
                &mut scratch.names,
                out,
            ),
            _ => render::json::line_after_id_streamed(c, packets, &mut scratch.bytes, out),
        }
    }

    /// How many records `c` makes ([`Output::record`]'s `part` goes from
    /// 0 below it): a Zeek row per Zeek record, else one.
    pub fn parts(&self, c: &ConnectionReport) -> usize {
        match self {
            Output::Zeek => render::zeek::rows(c),
            _ => 1,
        }
    }

    /// Writes a record's id, as [`Output::record`] left it out.
    pub fn put_id(&self) -> PutId {
        match self {
            Output::Zeek => render::zeek::uid,
            Output::Json => render::json::put_document_id,
            Output::Teaching { .. } => |_, _| Ok(()),
            _ => render::json::put_line_id,
        }
    }

    /// Whether tracking, not drawing the reports, sets a pipeline's pace
    /// ([`crate::pipeline::Options::boxes_ahead`]). Since the reporting
    /// thread prefetches the connections it judges, that holds for every
    /// format but the drawn ones, unless every packet is written too
    /// (`--packets`; docs/performance.md, "Session 15").
    pub fn tracking_sets_pace(&self) -> bool {
        matches!(
            self,
            Output::Table(_) | Output::Zeek | Output::Jsonl | Output::Json
        )
    }

    /// The reports kept per capture at most, those with the smallest ids;
    /// 0 keeps all.
    pub fn row_limit(&self) -> usize {
        match self {
            Output::Table(table) => table.limit,
            _ => 0,
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

    /// Whether the packets kept may have their long runs of ordinary
    /// segments collapsed while reading: for the teaching views drawn one
    /// connection at a time without `--full`, which collapse those runs
    /// when drawing (`connection::PacketList::collapsing`).
    pub fn collapse_packets(&self) -> bool {
        matches!(self, Output::Teaching { each: Some(_), teach, .. } if !teach.lesson.full)
    }

    /// Whether several captures may be analyzed side by side: the teaching
    /// views pick a connection by its id over all captures, known only
    /// once the captures before are done, so they read the captures in
    /// turn.
    pub fn side_by_side(&self) -> bool {
        !matches!(self, Output::Teaching { .. })
    }

    /// What the HTML report keeps of the capture at `index`, whose ids
    /// start at `first_id`; `None` for the other formats.
    pub fn html_kept(&self, index: usize, first_id: u64) -> Option<HtmlKept> {
        match self {
            Output::Html(opts) => Some(HtmlKept::new(opts.details, index, first_id)),
            _ => None,
        }
    }

    /// The connections shown in detail by the HTML report at most, of those
    /// with findings and of those without (`None` for the other formats).
    pub fn html_details(&self) -> Option<usize> {
        match self {
            Output::Html(opts) => Some(opts.details),
            _ => None,
        }
    }

    /// Writes what comes once every capture is done, with what the
    /// streamed formats left; `table` holds the HTML report's rows (none
    /// for the other formats).
    pub fn finish(
        &self,
        report: &Report,
        streamed: Streamed,
        table: &mut HtmlTable,
        out: &mut dyn Write,
        messages: &mut dyn Write,
    ) -> Result<(), Error> {
        match *self {
            Output::Table(table) => render::table::render(report, &table, out)?,
            Output::Json => {
                let sorted = streamed.sorted;
                render::json::document_with(report, out, |out| {
                    let any = sorted.len() > 0;
                    // Held back packed (`Output::record`): written out whole.
                    let mut unpacked = render::packed::Unpacked::new(out);
                    sorted.write_unpacked_beside(
                        &mut unpacked,
                        render::json::put_document_id,
                        render::json::element_separator,
                    )?;
                    unpacked.finish()?;
                    Ok(any)
                })?;
            }
            // The rows are out already, after the header.
            Output::Zeek => {
                let starts = streamed.starts;
                if starts.first.is_none() {
                    render::zeek::header(None, out)?;
                }
                render::zeek::close(starts.latest.or(starts.first).as_deref(), out)?;
            }
            Output::Html(opts) => html::render(report, table, &opts, out)?,
            // The lines are out already; the verdict goes beside them.
            Output::Jsonl => {
                let _ = writeln!(messages, "tcpstate: {}", report.summary.verdict.text);
            }
            Output::Teaching {
                each: Some(view),
                teach,
                ..
            } => view.finish(report, &streamed.ends, streamed.sorted, teach, out)?,
            Output::Teaching { draw, teach, .. } => draw(report, teach, out)?,
        }
        Ok(())
    }
}

/// Where a streamed record is built.
#[derive(Default)]
pub(super) struct Scratch {
    bytes: Vec<u8>,
    text: String,
    /// The numbers of the field names the JSON document holds back packed.
    names: render::packed::Names,
}

/// What the streamed formats leave for [`Output::finish`].
pub(super) struct Streamed {
    /// The start times of the records written or held back.
    pub starts: Starts,
    /// The records put in id order (the JSON document's connections, a
    /// teaching view's drawn connections).
    pub sorted: Sorted,
    /// How many of them there were once each capture (of the report's)
    /// was done.
    pub ends: Vec<u64>,
}

/// The earliest-written and the latest start time of the records of a run
/// or a capture (RFC 3339 times): the `#open` and `#close` of a conn.log.
#[derive(Debug, Default)]
pub(super) struct Starts {
    /// The start of the first record.
    pub first: Option<String>,
    pub latest: Option<String>,
}

impl Starts {
    pub fn add(&mut self, start: &str) {
        if self.first.is_none() {
            self.first = Some(start.to_string());
        }
        if self.latest.as_deref().is_none_or(|latest| start > latest) {
            self.latest = Some(start.to_string());
        }
    }

    /// Adds the starts of records written after these.
    pub fn then(&mut self, after: Starts) {
        if self.first.is_none() {
            self.first = after.first;
        }
        if let Some(start) = after.latest {
            if self
                .latest
                .as_deref()
                .is_none_or(|latest| start.as_str() > latest)
            {
                self.latest = Some(start);
            }
        }
    }
}
