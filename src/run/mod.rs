//! Several captures analyzed as one run: the orchestrator beside
//! [`crate::pipeline`], which analyzes one.
//!
//! The captures are analyzed side by side on worker threads, each with its
//! own ids from 1, and merged in argument order: their ids shifted by the
//! connections of the captures before, their records (JSON Lines, Zeek
//! rows, the JSON document's connections) held back in a [`spool`] until
//! their turn. What is kept of each capture and what is written is up to
//! the [`output`] format. The streamed formats keep no report: JSON Lines
//! and Zeek rows are written as connections finish, and the JSON document's
//! connections are put in id order on the way ([`sorted`]), in bounded
//! memory. The result is the report model and a [`Status`].

mod html;
mod interrupt;
mod output;
mod rows;
mod select;
mod sorted;
mod spool;
mod teaching;

use crate::capture::{CaptureError, ReadStop};
use crate::conntable::Limits;
use crate::filter::Filter;
use crate::input::{self, Compression};
use crate::pipeline::{self, analyze_capture_with_progress, Consumer, Progress};
use crate::render::{self, teaching::TeachOptions, Format};
use crate::report::{
    CaptureReport, ConnectionReport, InputError, Named, Report, Summary, Tool, Unreadable, Verdict,
    SCHEMA,
};
use crate::rules::{Check, Severity};
use crate::shard::Shard;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use interrupt::Input;
pub use interrupt::{interrupt, interrupted, stop_reading_on_ctrl_c};
use output::{Output, Scratch, Starts, Streamed};
use rows::{rank, rank_of, Rows};
use select::Select;
use sorted::Sorted;
use spool::Spool;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Everything a run is given.
#[derive(Debug, Clone)]
pub struct Options {
    /// The captures to read, in order; `-` reads standard input.
    pub files: Vec<PathBuf>,
    pub format: Format,
    /// Rows of the table per capture at most; 0 means all.
    pub limit: usize,
    /// Per-packet detail: in the JSON, and a packet listing per connection
    /// in the table.
    pub packets: bool,
    /// The connections shown, by their ids over all captures (in every
    /// format); empty shows all. The summary and the verdict still count
    /// every connection.
    pub conn: Vec<u64>,
    /// Only the connections this matches are shown, counted and judged;
    /// segments whose addresses it rules out are not even tracked.
    pub filter: Option<Filter>,
    /// Checks whose findings are left out.
    pub allow: Vec<Check>,
    /// A run whose captures yield no TCP segment fails
    /// ([`Status::Findings`]) instead of passing with the verdict `NO TCP`.
    pub fail_on_empty: bool,
    /// The files are read as one capture, their records merged in
    /// timestamp order ([`crate::merge`]), rather than each alone.
    pub merge: bool,
    /// Limits on the connection table of each capture.
    pub limits: Limits,
    /// Captures analyzed at once; with fewer captures than that, each runs
    /// as a pipeline of threads.
    pub jobs: usize,
    /// The run fails ([`Status::Findings`]) on a finding at or above this
    /// level; `None` never.
    pub fail_on: Option<Severity>,
    /// How the teaching views are drawn.
    pub teach: TeachOptions,
    /// The terminal's width, for a table written to one (see
    /// [`render::table::TableOptions::width`]); `None`: the full layout.
    pub width: Option<usize>,
    /// Connections the HTML report shows in detail.
    pub html_details: usize,
    /// Progress bars on standard error.
    pub progress: bool,
    /// Only the connections of this shard (`--shard K/N`,
    /// [`crate::shard`]), with ids `K + 1 + N·i`; `None`: all.
    pub shard: Option<Shard>,
    /// Skip TCP segments whose checksums are wrong (`bad_checksum`).
    pub verify_checksums: bool,
}

impl Options {
    /// Whether the run keeps per-packet records of every connection
    /// (`--packets`, the teaching views of every connection; not the HTML
    /// report, which keeps those of the connections it may show in detail
    /// only): then the records, not the connection table, set how much
    /// memory it takes, and drawing or writing its output, not tracking,
    /// how long.
    pub fn keeps_packets(&self) -> bool {
        self.packets || matches!(Output::new(self), Output::Teaching { conn: None, .. })
    }

    /// The table of `files`, analyzed one at a time, failing on errors; the
    /// command line's defaults otherwise.
    pub fn new(files: Vec<PathBuf>) -> Options {
        Options {
            files,
            format: Format::Table,
            limit: 50,
            packets: false,
            conn: Vec::new(),
            filter: None,
            allow: Vec::new(),
            fail_on_empty: false,
            merge: false,
            limits: Limits::default(),
            jobs: 1,
            fail_on: Some(Severity::Error),
            teach: TeachOptions::default(),
            width: None,
            html_details: render::html::DEFAULT_DETAILS,
            progress: false,
            shard: None,
            verify_checksums: false,
        }
    }
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A connection asked for (`--conn`) is not there.
    #[error(
        "no connection {id}: the input has {connections} connection{}",
        if *connections == 1 { "" } else { "s" }
    )]
    NoConnection { id: u64, connections: u64 },
    /// A connection asked for (`--conn`) is not in the shard.
    #[error(
        "no connection {id} in shard {shard}: {}",
        shard_ids(*shard, *connections)
    )]
    NotInShard {
        id: u64,
        shard: Shard,
        connections: u64,
    },
    /// Writing the output (or a spool) failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Every capture was read, and no finding reached the fail level.
    Passed,
    /// Findings at or above the fail level exist.
    Findings,
    /// A capture could not be read.
    InputError,
}

/// What a run produced besides its output.
#[derive(Debug)]
pub struct Outcome {
    /// The readable captures, the connection reports the output kept (none
    /// for JSON Lines, Zeek, the JSON document and the teaching views but
    /// SVG, only the first rows per capture for the table) and the summary
    /// with its verdict.
    pub report: Report,
    /// Captures that could not be read.
    pub unreadable: usize,
}

impl Outcome {
    pub fn status(&self) -> Status {
        if self.unreadable > 0 {
            Status::InputError
        } else if self.report.summary.failed() {
            Status::Findings
        } else {
            Status::Passed
        }
    }
}

/// Analyzes the captures and writes the output to `out`, and warnings,
/// errors about single captures and (for JSON Lines) the verdict to
/// `messages`. What a streamed format holds back beyond a few megabytes
/// goes to temporary files. A capture that cannot be read is reported there and left
/// out; the run goes on.
pub fn run(
    options: &Options,
    out: &mut dyn Write,
    messages: &mut dyn Write,
) -> Result<Outcome, Error> {
    let output = Output::new(options);
    let shard = options.shard.unwrap_or(Shard::WHOLE);
    let files = &options.files;
    let jobs = options.jobs.max(1);
    let workers = jobs.min(files.len());
    let needs_packets = output.needs_packets();
    let analysis = pipeline::Options {
        packets: options.packets || needs_packets.is_some(),
        packets_for: needs_packets.flatten(),
        packets_until: None,
        collapse_packets: output.collapse_packets(),
        stream_packets: output.streams(),
        allow: options.allow.clone(),
        limits: options.limits,
        // Captures are analyzed one per job; with a job to spare, each
        // runs as a pipeline (its reading and reporting stages are light
        // enough to share a core). Merged captures are one analysis.
        pipeline: if options.merge {
            jobs > 1
        } else {
            workers < jobs
        },
        segments: options
            .filter
            .as_ref()
            .filter(|f| f.has_addresses())
            .map(|f| std::sync::Arc::new(f.clone())),
        // Set per input, for those that are not regular files.
        live: false,
        shard: options.shard,
        verify_checksums: options.verify_checksums,
        // Writing every packet record (`--packets`) makes reporting heavy.
        boxes_ahead: output.tracking_sets_pace() && !options.packets,
    };
    // Progress on standard error, only when asked for (a person watching).
    let bars = options
        .progress
        .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
    let select = Select::new(&options.conn, options.filter.as_ref());
    let worker = Worker {
        analysis: &analysis,
        output: &output,
        select: &select,
        progress: bars.as_ref(),
        shard,
    };
    let mut merged = Merged {
        report: Report {
            schema: SCHEMA,
            tool: Tool::current(),
            captures: Vec::new(),
            connections: Vec::new(),
            summary: Summary::new(),
            merged: false,
            unreadable: Vec::new(),
        },
        next_offset: 0,
        unreadable: 0,
        streamed: Streamed {
            starts: Starts::default(),
            sorted: Sorted::new(),
            ends: Vec::new(),
        },
        html_table: html::HtmlTable::new(),
    };
    // Connections are picked by their ids over all captures, known only
    // once the captures before are done: then the captures are read in turn.
    if options.merge && files.len() > 1 {
        let opened = merged.streamed.starts.first.is_some();
        let lines = if output.sorts() {
            Lines::Sorted(&mut merged.streamed.sorted)
        } else {
            Lines::Direct(&mut *out)
        };
        for done in worker.merged(files, lines, opened) {
            merged.add(done, 0, &output, out, messages)?;
        }
        merged.report.merged = true;
    } else if files.len() > 1
        && output.side_by_side()
        && select.allows_side_by_side()
        && workers > 1
    {
        side_by_side(&worker, files, workers, &mut merged, out, messages)?;
    } else {
        for (index, path) in files.iter().enumerate() {
            if interrupted() {
                break;
            }
            let first_id = shard.first_id(merged.next_offset);
            let opened = merged.streamed.starts.first.is_some();
            let lines = if output.sorts() {
                Lines::Sorted(&mut merged.streamed.sorted)
            } else {
                Lines::Direct(&mut *out)
            };
            let done = worker.capture(index, path, first_id, lines, opened);
            merged.add(done, 0, &output, out, messages)?;
        }
    }
    let Merged {
        mut report,
        unreadable,
        streamed,
        mut html_table,
        ..
    } = merged;
    if interrupted() {
        let unread = files
            .len()
            .saturating_sub(report.captures.len() + unreadable);
        let not_read = match unread {
            0 => String::new(),
            1 => "; 1 input was not read".to_string(),
            n => format!("; {n} inputs were not read"),
        };
        let _ = writeln!(
            messages,
            "tcpstate: warning: interrupted: the results are those of what was read{not_read}"
        );
    }
    report.connections.sort_by_key(|c| c.id);
    let connections = report.captures.iter().map(|c| c.connections).sum();
    if let Some(id) = select.missing(connections, shard) {
        return Err(match options.shard {
            Some(shard) if shard != Shard::WHOLE => Error::NotInShard {
                id,
                shard,
                connections,
            },
            _ => Error::NoConnection { id, connections },
        });
    }
    report.summary.decide(options.fail_on, &options.allow);
    if let Some(filter) = &options.filter {
        filter_note(&mut report, filter, connections);
    }
    if let Some(shard) = options.shard {
        shard_note(&mut report, shard);
    }
    let no_tcp_read =
        !report.captures.is_empty() && report.captures.iter().all(|c| c.tcp_segments == 0);
    for warning in report.warn_not_understood(!no_tcp_read) {
        let _ = writeln!(
            messages,
            "tcpstate: warning: {}",
            render::printable(&warning)
        );
    }
    if no_tcp_read {
        no_tcp(&mut report, options.fail_on_empty);
    }
    if unreadable > 0 {
        let why: Vec<String> = report
            .unreadable
            .iter()
            .map(|u| format!("{}: {}", render::printable(&u.file), u.error.message))
            .collect();
        report
            .summary
            .input_error(unreadable, files.len(), &why.join("; "));
    }
    output.finish(&report, streamed, &mut html_table, out, messages)?;
    out.flush()?;
    Ok(Outcome { report, unreadable })
}

/// Makes the verdict of a run that read no TCP segment say so: `NO TCP`
/// (result `empty`), or a failure with `--fail-on-empty`.
fn no_tcp(report: &mut Report, fail: bool) {
    let frames: u64 = report.captures.iter().map(|c| c.frames).sum();
    let mut skipped = std::collections::BTreeMap::<&str, u64>::new();
    for c in &report.captures {
        for (reason, n) in c.skipped.iter() {
            *skipped.entry(reason.name()).or_default() += n;
        }
    }
    let reasons: Vec<String> = skipped.iter().map(|(r, n)| format!("{r} {n}")).collect();
    let mut text = format!(
        "NO TCP: {frames} frame{} read, none TCP",
        if frames == 1 { "" } else { "s" }
    );
    if !reasons.is_empty() {
        text.push_str(&format!(" ({})", reasons.join(", ")));
    }
    if fail {
        text.push_str(" (--fail-on-empty)");
    }
    let verdict = &mut report.summary.verdict;
    verdict.text = format!("{text}; {}", verdict.text);
    verdict.result = if fail { Verdict::Fail } else { Verdict::Empty };
}

/// Says in the verdict how many connections the filter matched, of how
/// many tracked, and how many segments its addresses kept from tracking.
fn filter_note(report: &mut Report, filter: &Filter, tracked: u64) {
    let matched = report.summary.connections;
    let untracked: u64 = report
        .captures
        .iter()
        .map(|c| c.skipped.get(crate::decode::SkipReason::Filtered))
        .sum();
    let mut note = format!(
        "; filter '{}': {matched} of {tracked} connection{} matched",
        render::printable(filter.text()),
        if tracked == 1 { "" } else { "s" }
    );
    if untracked > 0 {
        note.push_str(&format!(
            " ({untracked} TCP segment{} outside it not tracked)",
            if untracked == 1 { "" } else { "s" }
        ));
    }
    report.summary.verdict.text.push_str(&note);
}

/// Says in the verdict which shard was analyzed and how many segments of
/// the other shards were not tracked.
fn shard_note(report: &mut Report, shard: Shard) {
    let other: u64 = report
        .captures
        .iter()
        .map(|c| c.skipped.get(crate::decode::SkipReason::OtherShard))
        .sum();
    report.summary.verdict.text.push_str(&format!(
        "; shard {shard}: {other} TCP segment{} of other shards not tracked",
        if other == 1 { "" } else { "s" }
    ));
}

/// The ids of the first `connections` connections of `shard`, shortened.
fn shard_ids(shard: Shard, connections: u64) -> String {
    let id = |i| shard.first_id(i);
    match connections {
        0 => "it has no connection".to_string(),
        1 => format!("its 1 connection has the id {}", id(0)),
        2 => format!("its 2 connections have the ids {} and {}", id(0), id(1)),
        n => format!(
            "its {n} connections have the ids {}, {}, … {}",
            id(0),
            id(1),
            id(n - 1)
        ),
    }
}

/// Where the records of a streamed format go while a capture is analyzed.
enum Lines<'a> {
    /// Straight to the output, as each connection finishes.
    Direct(&'a mut dyn Write),
    /// Into a spool, copied out (with shifted ids) in argument order.
    Spool(Spool),
    /// Into the records put in id order (their ids final already).
    Sorted(&'a mut Sorted),
}

/// What analyzing one capture produced.
struct Analyzed {
    /// The file name as given, and safe to print.
    file: String,
    shown: String,
    capture: Result<CaptureReport, CaptureError>,
    /// The connection reports kept for the output, by id.
    rows: Vec<ConnectionReport>,
    /// The HTML report's table rows (with findings, without).
    html_rows: Option<html::CaptureRows>,
    /// Records held back, if any.
    spool: Option<Spool>,
    /// The start times of the records.
    starts: Starts,
    /// A failure to write the output.
    write_error: Option<io::Error>,
    /// Where reading stopped if the run was interrupted before the input's
    /// end: the bytes read.
    interrupted: Option<u64>,
}

/// Where one capture's connection reports go.
struct CaptureSink<'a, 'o> {
    output: &'a Output<'a>,
    select: &'a Select<'a>,
    rows: Rows,
    /// What the HTML report keeps instead of `rows`.
    html: Option<html::HtmlKept>,
    lines: &'a mut Lines<'o>,
    /// Flush after every record written: the input is a live stream
    /// (standard input), so each finished connection should be seen at once.
    flush_lines: bool,
    /// Whether the Zeek header is out already (written before the first
    /// row, with its start as `#open`).
    opened: bool,
    starts: Starts,
    write_error: Option<io::Error>,
    /// Where each record is built.
    scratch: Scratch,
    /// Connections with a finding at warning or above.
    flagged: u64,
    /// The rank of the connection just wanted (see [`Rows`]).
    wanted_rank: Option<u8>,
}

impl Consumer for &mut CaptureSink<'_, '_> {
    fn describes(&self) -> bool {
        self.output.describes() || self.html.is_some()
    }

    fn ranks(&self) -> bool {
        !self.select.judges()
            && !self.output.streams()
            && self.html.is_none()
            && self.rows.is_limited()
    }

    fn wants_ranked(&mut self, id: u64, worst: Option<Severity>) -> bool {
        if worst >= Some(Severity::Warning) {
            self.flagged += 1;
        }
        let rank = rank(worst);
        self.wanted_rank = Some(rank);
        self.select.id(id) && self.rows.would_keep(rank, id)
    }

    fn wants(&mut self, id: u64) -> bool {
        if self.select.judges() {
            // Judged by the filter before it is counted.
            return true;
        }
        if self.html.is_some() {
            // A row for every connection.
            self.select.id(id)
        } else if self.output.streams() {
            self.write_error.is_none() && self.select.id(id)
        } else {
            // Without a limit every report is kept, whatever its rank.
            self.select.id(id) && self.rows.would_keep(rank(None), id)
        }
    }

    fn filters(&self) -> bool {
        self.select.judges()
    }

    fn selects(&mut self, c: &ConnectionReport) -> bool {
        self.select.matches(c)
    }

    fn report(&mut self, c: ConnectionReport) {
        if !self.select.id(c.id) {
            return;
        }
        if !self.output.streams() {
            let rank = self.wanted_rank.take().unwrap_or_else(|| rank_of(&c));
            if self.select.judges() && rank <= 1 {
                self.flagged += 1;
            }
            if let Some(html) = &mut self.html {
                if self.write_error.is_none() {
                    self.write_error = html.keep(c).err();
                }
            } else if self.output.draws_each() {
                // Drawn now, and dropped.
                if self.write_error.is_none() {
                    self.write_error = self.stream(&c).err();
                }
            } else if self.rows.would_keep(rank, c.id) {
                self.rows.keep(rank, c);
            }
            return;
        }
        if self.write_error.is_some() {
            return;
        }
        self.write_error = self.stream(&c).err();
    }
}

impl CaptureSink<'_, '_> {
    /// The analysis options for this sink: the HTML report needs the
    /// packets only of connections that may still be shown in detail.
    fn analysis(&self, base: &pipeline::Options) -> pipeline::Options {
        match &self.html {
            Some(html) => pipeline::Options {
                packets_until: Some(html.packets_until()),
                ..base.clone()
            },
            None => base.clone(),
        }
    }

    /// Writes or holds back the record of `c`.
    fn stream(&mut self, c: &ConnectionReport) -> io::Result<()> {
        let zeek = self.output.is_zeek();
        if zeek {
            self.starts.add(&c.start_time);
            // The later Zeek records' rows start later.
            for r in c.zeek_records.iter().skip(1) {
                self.starts.add(&r.start_time);
            }
        }
        let put_id = self.output.put_id();
        if let Some(packets) = self.output.packet_stream(c) {
            // Written as its packets are read back, never whole.
            let (output, scratch) = (self.output, &mut self.scratch);
            let mut write = |out: &mut dyn Write| output.write_streamed(c, packets, scratch, out);
            match &mut *self.lines {
                Lines::Direct(out) => {
                    put_id(c.id, *out)?;
                    write(*out)?;
                    if self.flush_lines {
                        out.flush()?;
                    }
                }
                Lines::Spool(spool) => spool.push_with(c.id, 0, write)?,
                Lines::Sorted(sorted) => sorted.push_with(c.id, 0, write)?,
            }
            return Ok(());
        }
        for part in 0..self.output.parts(c) {
            let (slot, bytes) = self.output.record(c, part, &mut self.scratch)?;
            match &mut *self.lines {
                Lines::Direct(out) => {
                    if zeek && !self.opened {
                        render::zeek::header(Some(&c.start_time), *out)?;
                        self.opened = true;
                    }
                    out.write_all(&bytes[..slot])?;
                    put_id(c.id, *out)?;
                    out.write_all(&bytes[slot..])?;
                    if self.flush_lines {
                        out.flush()?;
                    }
                }
                Lines::Spool(spool) => spool.push(c.id, slot, bytes)?,
                Lines::Sorted(sorted) => sorted.push(c.id, slot, bytes)?,
            }
        }
        Ok(())
    }
}

/// What every capture of one run is analyzed with.
struct Worker<'a> {
    analysis: &'a pipeline::Options,
    output: &'a Output<'a>,
    select: &'a Select<'a>,
    /// Progress bars on standard error.
    progress: Option<&'a MultiProgress>,
    /// The shard analyzed ([`Shard::WHOLE`]: all), which sets the ids.
    shard: Shard,
}

impl Worker<'_> {
    /// Analyzes the capture at `index` among the inputs; connection ids
    /// start at `first_id`.
    /// `opened`: whether the Zeek header is out already.
    fn capture(
        &self,
        index: usize,
        path: &Path,
        first_id: u64,
        mut lines: Lines<'_>,
        opened: bool,
    ) -> Analyzed {
        let name = path.display().to_string();
        let shown = render::printable(&name).into_owned();
        let mut sink = CaptureSink {
            output: self.output,
            select: self.select,
            rows: Rows::new(self.output.row_limit()),
            html: self.output.html_kept(index, first_id),
            lines: &mut lines,
            // Set below for an input that is not a regular file.
            flush_lines: false,
            opened,
            starts: Starts::default(),
            write_error: None,
            scratch: Scratch::default(),
            flagged: 0,
            wanted_rank: None,
        };
        // A regular file is read here; a pipe or a terminal, which may
        // block, on a thread of its own, so that Ctrl-C stops it.
        let regular = regular_size(path);
        sink.flush_lines = regular.is_none();
        let input = open_input(path, regular.is_some());
        // The bar counts the bytes read, known in advance for a file that is
        // not compressed.
        let size = match &input {
            Ok((Compression::None, _)) => regular,
            _ => None,
        };
        let mut bar: Option<ProgressBar> = None;
        let started = std::time::Instant::now();
        let on_progress = |p: Progress| {
            let Some(bars) = self.progress else { return };
            let bar = bar.get_or_insert_with(|| new_bar(bars, &shown, size));
            let rate = p.frames as f64 / started.elapsed().as_secs_f64().max(1e-3);
            bar.set_position(p.bytes);
            bar.set_message(format!(
                "{:.2}M packets/s · {} connections open, {} done",
                rate / 1e6,
                p.open_connections,
                p.done_connections
            ));
        };
        let analysis = sink.analysis(self.analysis);
        let mut interrupted = None;
        // A pipe or a terminal is live: its finished connections are
        // reported while it is quiet.
        let analysis = pipeline::Options {
            live: regular.is_none(),
            ..analysis
        };
        let capture = input.map_err(CaptureError::from).and_then(|(_, reader)| {
            let mut input = Input::direct(reader);
            let capture = analyze_capture_with_progress(
                &name,
                index,
                &mut input,
                first_id,
                &analysis,
                &mut sink,
                on_progress,
            );
            interrupted = input.stopped.then_some(input.read);
            capture
        });
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        let CaptureSink {
            rows,
            html,
            write_error,
            flagged,
            starts,
            ..
        } = sink;
        let (html_rows, rows) = kept_reports(html, rows);
        Analyzed {
            file: name,
            shown,
            capture: capture.map(|(mut capture, _)| {
                capture.flagged = flagged;
                capture
            }),
            rows,
            html_rows,
            spool: match lines {
                Lines::Spool(spool) => Some(spool),
                Lines::Direct(_) | Lines::Sorted(_) => None,
            },
            starts,
            write_error,
            interrupted,
        }
    }
}

impl Worker<'_> {
    /// Analyzes the captures as one, their records merged in timestamp
    /// order; ids start at 1. One [`Analyzed`] per file, in order: each
    /// says what was read of its file, the one that holds the merged
    /// analysis (see [`pipeline::analyze_merged`]) also its connections.
    fn merged(&self, paths: &[PathBuf], mut lines: Lines<'_>, opened: bool) -> Vec<Analyzed> {
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        let mut sink = CaptureSink {
            output: self.output,
            select: self.select,
            rows: Rows::new(self.output.row_limit()),
            html: self.output.html_kept(0, 1),
            lines: &mut lines,
            flush_lines: paths.iter().any(|p| regular_size(p).is_none()),
            opened,
            starts: Starts::default(),
            write_error: None,
            scratch: Scratch::default(),
            flagged: 0,
            wanted_rank: None,
        };
        // Each opened as it would be alone; those that cannot be opened are
        // left out of the merge.
        let mut opened_inputs = Vec::new();
        let mut failed: Vec<Option<io::Error>> = Vec::new();
        for (path, name) in paths.iter().zip(&names) {
            match open_input(path, regular_size(path).is_some()) {
                Ok((_, reader)) => {
                    opened_inputs.push((name.clone(), Input::direct(reader)));
                    failed.push(None);
                }
                Err(e) => failed.push(Some(e)),
            }
        }
        let joined = names.join(" + ");
        let analysis = sink.analysis(self.analysis);
        let (mut results, _) =
            pipeline::analyze_merged(&joined, opened_inputs, 1, &analysis, &mut sink, |_| {});
        let CaptureSink {
            rows,
            html,
            write_error,
            flagged,
            starts,
            ..
        } = sink;
        let (html_rows, rows) = kept_reports(html, rows);
        let mut held = Some((rows, html_rows, starts, write_error));
        let mut results = results.drain(..);
        let mut out = Vec::with_capacity(paths.len());
        for (name, error) in names.iter().zip(failed) {
            let shown = render::printable(name).into_owned();
            // An interrupted merge ends every file where it was: as if
            // each ended there (the run says it was interrupted).
            let capture = match error {
                Some(e) => Err(CaptureError::from(e)),
                None => results.next().unwrap_or(Err(CaptureError::Empty)),
            };
            let holds = capture
                .as_ref()
                .is_ok_and(|c| c.connections > 0 || c.summary.connections > 0);
            let (rows, html_rows, starts, write_error) = match (holds, held.take()) {
                (true, Some(parts)) => parts,
                (_, parts) => {
                    held = parts;
                    Default::default()
                }
            };
            out.push(Analyzed {
                file: name.clone(),
                shown,
                capture: capture.map(|mut c| {
                    if holds {
                        c.flagged = flagged;
                    }
                    c
                }),
                rows,
                html_rows,
                spool: None,
                starts,
                write_error,
                interrupted: None,
            });
        }
        if let (Some((_, _, _, Some(e))), Some(first)) = (held, out.first_mut()) {
            first.write_error = Some(e);
        }
        out
    }
}

/// The size of the input at `path` if it is a regular file (standard input
/// too, when it is redirected from one).
fn regular_size(path: &Path) -> Option<u64> {
    let path = if path == Path::new("-") {
        if !cfg!(target_os = "linux") {
            return None;
        }
        Path::new("/dev/stdin")
    } else {
        path
    };
    std::fs::metadata(path)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len())
}

/// The input at `path` (`-`: standard input), decompressed if it is
/// compressed ([`crate::input`]). Unless it is a `regular` file, it is read
/// on a thread of its own ([`Input::pumped`]): a pipe may block.
fn open_input(path: &Path, regular: bool) -> io::Result<(Compression, Box<dyn io::Read + Send>)> {
    if path == Path::new("-") {
        input::open(Input::pumped(io::stdin()))
    } else if regular {
        input::open(std::fs::File::open(path)?)
    } else {
        input::open(Input::pumped(std::fs::File::open(path)?))
    }
}

/// A progress bar for one file: bytes read of its size (a spinner for
/// standard input), packets per second and connections.
fn new_bar(bars: &MultiProgress, shown: &str, size: Option<u64>) -> ProgressBar {
    let bar = match size {
        Some(len) => ProgressBar::new(len).with_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {bytes}/{total_bytes} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{prefix} {spinner} {bytes} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bars.add(bar.with_prefix(shown.to_string()))
}

/// The results of the captures so far, merged in argument order.
struct Merged {
    report: Report,
    /// Connections of the captures merged so far: the id shift of the next.
    next_offset: u64,
    unreadable: usize,
    streamed: Streamed,
    /// The HTML report's table rows, ids shifted like the reports'.
    html_table: html::HtmlTable,
}

impl Merged {
    /// Adds one capture's results, its ids shifted by `offset`; its held
    /// back records go out (or, for the JSON document, into the records put
    /// in id order).
    fn add(
        &mut self,
        done: Analyzed,
        offset: u64,
        output: &Output<'_>,
        out: &mut dyn Write,
        messages: &mut dyn Write,
    ) -> Result<(), Error> {
        if let Some(e) = done.write_error {
            return Err(e.into());
        }
        let shown = done.shown;
        match done.capture {
            // Not one record readable after the file header: as unreadable
            // an input as one with a bad header.
            Ok(capture)
                if capture.frames == 0
                    && done.interrupted.is_none()
                    && capture.stopped.as_ref().is_some_and(|s| !s.truncated) =>
            {
                let message = match &capture.stopped {
                    Some(stop) => format!(
                        "no frame can be read: the first record, at byte offset {}, is \
                         malformed: {}",
                        stop.offset, stop.message
                    ),
                    None => "no frame can be read".to_string(),
                };
                let _ = writeln!(messages, "tcpstate: error: {shown}: {message}");
                self.unreadable(capture.file, "no_frame", message);
            }
            Ok(mut capture) => {
                for notice in &capture.notices {
                    let _ = writeln!(
                        messages,
                        "tcpstate: warning: {shown}: at byte offset {} (frame {}): {}",
                        notice.offset, notice.frame, notice.message
                    );
                }
                if let Some(read) = done.interrupted {
                    // Not where the file breaks, but where reading was
                    // stopped (inside a record, or before the next one).
                    let (offset, frame) = capture
                        .stopped
                        .as_ref()
                        .map_or((read, capture.frames + 1), |s| (s.offset, s.frame));
                    capture.truncated = false;
                    capture.stopped = Some(ReadStop {
                        offset,
                        frame,
                        truncated: false,
                        message: "interrupted".to_string(),
                    });
                    let _ = writeln!(
                        messages,
                        "tcpstate: warning: {shown}: interrupted at byte offset {offset} \
                         (frame {frame}); the {} complete frames before it were analyzed",
                        frame - 1
                    );
                } else if let Some(stop) = &capture.stopped {
                    let _ = writeln!(
                        messages,
                        "tcpstate: warning: {shown}: reading stopped at byte offset {} \
                         (frame {}): {}; the {} complete frames before it were analyzed",
                        stop.offset,
                        stop.frame,
                        stop.message,
                        stop.frame - 1
                    );
                }
                if let Some(spool) = done.spool {
                    self.release(spool, &done.starts, offset, output, out)?;
                }
                self.streamed.starts.then(done.starts);
                let report = &mut self.report;
                report.summary.merge(&capture.summary);
                let position = report.captures.len();
                report
                    .connections
                    .extend(done.rows.into_iter().map(|mut c| {
                        c.id += offset;
                        c.capture = position;
                        c
                    }));
                if let Some(rows) = done.html_rows {
                    self.html_table.add(rows, offset)?;
                }
                if let Some(details) = output.html_details() {
                    html::keep_details(&mut report.connections, details);
                }
                self.next_offset += capture.connections;
                report.captures.push(capture);
                self.streamed.ends.push(self.streamed.sorted.len());
            }
            Err(e) => {
                let _ = writeln!(messages, "tcpstate: error: {shown}: {e}");
                self.unreadable(done.file, error_kind(&e), e.to_string());
            }
        }
        Ok(())
    }

    /// Counts an input that could not be read, and keeps it for the JSON
    /// `captures[]` and the verdict.
    fn unreadable(&mut self, file: String, kind: &'static str, message: String) {
        self.unreadable += 1;
        self.report.unreadable.push(Unreadable {
            before: self.report.captures.len(),
            file,
            error: InputError { kind, message },
        });
    }
}

/// What a capture's sink kept: the HTML report's rows and full reports,
/// else the table's rows, sorted.
fn kept_reports(
    html: Option<html::HtmlKept>,
    rows: Rows,
) -> (Option<html::CaptureRows>, Vec<ConnectionReport>) {
    match html {
        Some(html) => {
            let (html_rows, full) = html.into_parts();
            (Some(html_rows), full)
        }
        None => (None, rows.into_sorted()),
    }
}

/// The `kind` of an input's error in the JSON.
fn error_kind(e: &CaptureError) -> &'static str {
    match e {
        CaptureError::Io(io) => {
            if io
                .get_ref()
                .is_some_and(|inner| inner.is::<input::Unsupported>())
            {
                return "unsupported_compression";
            }
            match io.kind() {
                io::ErrorKind::NotFound => "not_found",
                io::ErrorKind::PermissionDenied => "permission_denied",
                io::ErrorKind::IsADirectory => "is_a_directory",
                _ => "io",
            }
        }
        CaptureError::Empty => "empty",
        CaptureError::NotACapture(_) => "not_a_capture",
        CaptureError::ShortHeader(_) => "short_header",
        CaptureError::BadHeader { .. } => "bad_header",
    }
}

impl Merged {
    /// Writes out the records a capture held back, with ids shifted by
    /// `offset`, or puts them with the records to be sorted.
    fn release(
        &mut self,
        spool: Spool,
        starts: &Starts,
        offset: u64,
        output: &Output<'_>,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        if output.sorts() {
            let sorted = &mut self.streamed.sorted;
            // Copied through: a record can be larger than memory.
            return spool.each(|reader, id, slot, len| {
                sorted.push_with(id.saturating_add(offset), slot as usize, |out| {
                    if io::copy(&mut reader.take(len), out)? != len {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                    Ok(())
                })
            });
        }
        if output.is_zeek() && self.streamed.starts.first.is_none() && !spool.is_empty() {
            render::zeek::header(starts.first.as_deref(), out)?;
        }
        spool.copy_to(out, offset, output.put_id())
    }
}

/// Analyzes the captures on `workers` threads, merging each as soon as it
/// and every capture before it are done.
fn side_by_side(
    worker: &Worker<'_>,
    files: &[PathBuf],
    workers: usize,
    merged: &mut Merged,
    out: &mut dyn Write,
    messages: &mut dyn Write,
) -> Result<(), Error> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (done, results) = std::sync::mpsc::channel::<(usize, Analyzed)>();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let done = done.clone();
            let next = &next;
            scope.spawn(move || loop {
                if interrupted() {
                    break;
                }
                let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(path) = files.get(index) else { break };
                let lines = Lines::Spool(Spool::new(index));
                let first_id = worker.shard.first_id(0);
                if done
                    .send((index, worker.capture(index, path, first_id, lines, true)))
                    .is_err()
                {
                    break;
                }
            });
        }
        drop(done);
        let mut waiting = std::collections::BTreeMap::new();
        let mut turn = 0;
        for (index, analyzed) in results {
            waiting.insert(index, analyzed);
            while let Some(analyzed) = waiting.remove(&turn) {
                // The ids of one shard go up by N.
                let offset = merged.next_offset.saturating_mul(worker.shard.step());
                merged.add(analyzed, offset, worker.output, out, messages)?;
                turn += 1;
            }
        }
        Ok(())
    })
}
