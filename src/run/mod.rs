//! Several captures analyzed as one run: the orchestrator beside
//! [`crate::analyze`], which analyzes one.
//!
//! The captures are analyzed side by side on worker threads, each with its
//! own ids from 1, and merged in argument order: their ids shifted by the
//! connections of the captures before, their JSON Lines held back in a
//! [`spool`] until their turn. What is kept of each capture and what is
//! written is up to the [`output`] format. The result is the report model
//! and a [`Status`].

mod output;
mod rows;
mod spool;

use crate::analyze::{self, analyze_capture_with_progress, Consumer, Progress};
use crate::capture::CaptureError;
use crate::flow::Limits;
use crate::render::{self, style::TeachOptions, Format};
use crate::report::{CaptureReport, ConnectionReport, Report, Summary, Tool, SCHEMA};
use crate::rules::{Check, Severity};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use output::Output;
use rows::Rows;
use spool::Spool;
use std::io::{self, Write};
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
    /// The one connection the teaching views show, by its id over all
    /// captures.
    pub conn: Option<u64>,
    /// Checks whose findings are left out.
    pub allow: Vec<Check>,
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
    /// Connections the HTML report shows in detail.
    pub html_details: usize,
    /// Progress bars on standard error.
    pub progress: bool,
}

impl Options {
    /// The table of `files`, analyzed one at a time, failing on errors; the
    /// command line's defaults otherwise.
    pub fn new(files: Vec<PathBuf>) -> Options {
        Options {
            files,
            format: Format::Table,
            limit: 50,
            packets: false,
            conn: None,
            allow: Vec::new(),
            limits: Limits::default(),
            jobs: 1,
            fail_on: Some(Severity::Error),
            teach: TeachOptions::default(),
            html_details: render::html::DEFAULT_DETAILS,
            progress: false,
        }
    }
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The teaching view was asked for a connection that is not there.
    #[error(
        "no connection {id}: the input has {connections} connection{}",
        if *connections == 1 { "" } else { "s" }
    )]
    NoConnection { id: u64, connections: u64 },
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
    /// for JSON Lines, only the first rows per capture for the table) and
    /// the summary with its verdict.
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
/// `messages`. A capture that cannot be read is reported there and left
/// out; the run goes on.
pub fn run(
    options: &Options,
    out: &mut dyn Write,
    messages: &mut dyn Write,
) -> Result<Outcome, Error> {
    let output = Output::new(options);
    let files = &options.files;
    let jobs = options.jobs.max(1);
    let workers = jobs.min(files.len());
    let needs_packets = output.needs_packets();
    let analysis = analyze::Options {
        packets: options.packets || needs_packets.is_some(),
        packets_for: needs_packets.flatten(),
        allow: options.allow.clone(),
        limits: options.limits,
        // Captures are analyzed one per job; with a job to spare, each
        // runs as a pipeline (its reading and reporting stages are light
        // enough to share a core).
        pipeline: workers < jobs,
    };
    // Progress on standard error, only when asked for (a person watching).
    let bars = options
        .progress
        .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
    let worker = Worker {
        analysis: &analysis,
        output: &output,
        progress: bars.as_ref(),
    };
    let mut merged = Merged {
        report: Report {
            schema: SCHEMA,
            tool: Tool::current(),
            captures: Vec::new(),
            connections: Vec::new(),
            summary: Summary::new(),
        },
        next_offset: 0,
        unreadable: 0,
        html_rows: Vec::new(),
    };
    if files.len() > 1 && output.side_by_side() && workers > 1 {
        side_by_side(&worker, files, workers, &mut merged, out, messages)?;
    } else {
        for (index, path) in files.iter().enumerate() {
            let first_id = merged.next_offset + 1;
            let done = worker.capture(index, path, first_id, Lines::Direct(&mut *out));
            merged.add(done, 0, out, messages)?;
        }
    }
    let Merged {
        mut report,
        unreadable,
        html_rows,
        ..
    } = merged;
    report.connections.sort_by_key(|c| c.id);
    report.summary.decide(options.fail_on, &options.allow);
    if unreadable > 0 {
        report.summary.input_error(unreadable, files.len());
    }
    output.finish(&report, &html_rows, out, messages)?;
    out.flush()?;
    Ok(Outcome { report, unreadable })
}

/// Where JSON Lines go while a capture is analyzed.
enum Lines<'a> {
    /// Straight to the output, as each connection finishes.
    Direct(&'a mut dyn Write),
    /// Into a spool, copied out (with shifted ids) in argument order.
    Spool(Spool),
}

/// What analyzing one capture produced.
struct Analyzed {
    /// The file name, safe to print.
    shown: String,
    capture: Result<CaptureReport, CaptureError>,
    /// The connection reports kept for the output, by id.
    rows: Vec<ConnectionReport>,
    /// The HTML report's table rows.
    html_rows: Vec<render::html::Row>,
    /// JSON Lines held back, if any.
    spool: Option<Spool>,
    /// A failure to write the output.
    write_error: Option<io::Error>,
}

/// Where one capture's connection reports go.
struct CaptureSink<'a, 'o> {
    output: &'a Output<'a>,
    rows: Rows,
    /// What the HTML report keeps instead of `rows`.
    html: Option<output::HtmlKept>,
    lines: &'a mut Lines<'o>,
    /// Flush after every JSON line: the input is a live stream (standard
    /// input), so each finished connection should be seen at once.
    flush_lines: bool,
    write_error: Option<io::Error>,
    /// Where each JSON line is built.
    scratch: Vec<u8>,
}

impl Consumer for &mut CaptureSink<'_, '_> {
    fn wants(&mut self, id: u64) -> bool {
        if let Some(html) = &self.html {
            html.would_keep(id)
        } else if self.output.streams() {
            self.write_error.is_none()
        } else {
            self.output.shows(id) && self.rows.would_keep(id)
        }
    }

    fn report(&mut self, c: ConnectionReport) {
        if let Some(html) = &mut self.html {
            html.keep(c);
            return;
        }
        if !self.output.streams() {
            self.rows.keep(c);
            return;
        }
        let written = match &mut *self.lines {
            Lines::Direct(out) => render::json::line(&c, &mut self.scratch, *out).and_then(|()| {
                if self.flush_lines {
                    out.flush()
                } else {
                    Ok(())
                }
            }),
            Lines::Spool(spool) => {
                spool.push(c.id, render::json::line_after_id(&c, &mut self.scratch))
            }
        };
        self.write_error = written.err();
    }
}

/// What every capture of one run is analyzed with.
struct Worker<'a> {
    analysis: &'a analyze::Options,
    output: &'a Output<'a>,
    /// Progress bars on standard error.
    progress: Option<&'a MultiProgress>,
}

impl Worker<'_> {
    /// Analyzes the capture at `index` among the inputs; connection ids
    /// start at `first_id`.
    fn capture(&self, index: usize, path: &Path, first_id: u64, mut lines: Lines<'_>) -> Analyzed {
        let name = path.display().to_string();
        let shown = render::printable(&name).into_owned();
        let mut sink = CaptureSink {
            output: self.output,
            rows: Rows::new(self.output.row_limit()),
            html: self.output.html_kept(),
            lines: &mut lines,
            flush_lines: name == "-",
            write_error: None,
            scratch: Vec::new(),
        };
        let size = std::fs::metadata(path)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
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
        let capture = if name == "-" {
            analyze_capture_with_progress(
                "-",
                index,
                io::stdin(),
                first_id,
                self.analysis,
                &mut sink,
                on_progress,
            )
        } else {
            std::fs::File::open(path)
                .map_err(CaptureError::from)
                .and_then(|f| {
                    analyze_capture_with_progress(
                        &name,
                        index,
                        f,
                        first_id,
                        self.analysis,
                        &mut sink,
                        on_progress,
                    )
                })
        };
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        let CaptureSink {
            rows,
            html,
            write_error,
            ..
        } = sink;
        let (html_rows, rows) = match html {
            Some(html) => html.into_parts(),
            None => (Vec::new(), rows.into_sorted()),
        };
        Analyzed {
            shown,
            capture: capture.map(|(capture, _)| capture),
            rows,
            html_rows,
            spool: match lines {
                Lines::Spool(spool) => Some(spool),
                Lines::Direct(_) => None,
            },
            write_error,
        }
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
    /// The HTML report's table rows, ids shifted like the reports'.
    html_rows: Vec<render::html::Row>,
}

impl Merged {
    /// Adds one capture's results, its ids shifted by `offset`.
    fn add(
        &mut self,
        done: Analyzed,
        offset: u64,
        out: &mut dyn Write,
        messages: &mut dyn Write,
    ) -> Result<(), Error> {
        if let Some(e) = done.write_error {
            return Err(e.into());
        }
        let shown = done.shown;
        match done.capture {
            Ok(capture) => {
                if let Some(stop) = &capture.stopped {
                    let _ = writeln!(
                        messages,
                        "tcpstate: warning: {shown}: reading stopped at byte offset {} (frame {}): {}; the {} complete frames before it were analyzed",
                        stop.offset,
                        stop.frame,
                        stop.message,
                        stop.frame - 1
                    );
                }
                if let Some(spool) = done.spool {
                    spool.copy_to(out, offset)?;
                }
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
                // Shifted in place; the first capture's rows are taken whole.
                let rows: Vec<render::html::Row> = done
                    .html_rows
                    .into_iter()
                    .map(|mut r| {
                        r.id += offset;
                        r.capture = position;
                        r
                    })
                    .collect();
                if self.html_rows.is_empty() {
                    self.html_rows = rows;
                } else {
                    self.html_rows.extend(rows);
                }
                self.next_offset += capture.connections;
                report.captures.push(capture);
            }
            Err(e) => {
                let _ = writeln!(messages, "tcpstate: error: {shown}: {e}");
                self.unreadable += 1;
            }
        }
        Ok(())
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
                let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(path) = files.get(index) else { break };
                let lines = Lines::Spool(Spool::new(index));
                if done
                    .send((index, worker.capture(index, path, 1, lines)))
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
                let offset = merged.next_offset;
                merged.add(analyzed, offset, out, messages)?;
                turn += 1;
            }
        }
        Ok(())
    })
}
