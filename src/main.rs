use anyhow::Result;
use clap::Parser;
use std::collections::BinaryHeap;
use std::io::{self, Write};
use std::process::ExitCode;

mod cli;

/// mimalloc instead of the system allocator: connections are allocated on
/// the tracking thread and freed on the reporting thread, and mimalloc backs
/// its arenas with transparent huge pages where the kernel allows them
/// (`madvise` mode included), so the 5,000+ connections a busy capture keeps
/// open cost far fewer TLB misses. On `big.pcap` the default run went from
/// 0.57 to 0.46 s (docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use cli::{AnalyzeArgs, Cli, Command, RulesFormat};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use tcpstate::analyze::{analyze_capture_with_progress, Consumer, Options, Progress};
use tcpstate::capture::CaptureError;
use tcpstate::flow::Limits;
use tcpstate::render::{self, table::TableOptions, Format};
use tcpstate::report::CaptureReport;
use tcpstate::report::{ConnectionReport, Report, Summary, Tool, SCHEMA};
use tcpstate::rules::Check;

/// Exit status when findings at or above `--fail-on` exist.
const EXIT_FINDINGS: u8 = 1;
/// Exit status for a usage error or an input that could not be read as a capture.
const EXIT_INPUT_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("tcpstate: error: {e:#}");
            ExitCode::from(EXIT_INPUT_ERROR)
        }
    }
}

/// The connection reports an output keeps: all of them, or (for the table)
/// only the `limit` with the smallest ids, so that memory stays bounded
/// whatever the number of connections.
struct Rows {
    limit: usize,
    heap: BinaryHeap<ById>,
}

/// A report ordered by connection id.
struct ById(ConnectionReport);

impl PartialEq for ById {
    fn eq(&self, other: &ById) -> bool {
        self.0.id == other.0.id
    }
}
impl Eq for ById {}
impl PartialOrd for ById {
    fn partial_cmp(&self, other: &ById) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ById {
    fn cmp(&self, other: &ById) -> std::cmp::Ordering {
        self.0.id.cmp(&other.0.id)
    }
}

impl Rows {
    /// `limit` 0 keeps every report.
    fn new(limit: usize) -> Rows {
        Rows {
            limit,
            heap: BinaryHeap::new(),
        }
    }

    /// Whether a report with this id would be kept (so is worth building).
    fn would_keep(&self, id: u64) -> bool {
        self.limit == 0
            || self.heap.len() < self.limit
            || self.heap.peek().is_some_and(|top| id < top.0.id)
    }

    fn keep(&mut self, c: ConnectionReport) {
        self.heap.push(ById(c));
        if self.limit > 0 && self.heap.len() > self.limit {
            self.heap.pop();
        }
    }

    fn into_sorted(self) -> Vec<ConnectionReport> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|r| r.0)
            .collect()
    }
}

/// A progress bar for one file: bytes read of its size (a spinner for
/// standard input), packets per second and connections.
fn new_bar(bars: &MultiProgress, name: &str, size: Option<u64>) -> ProgressBar {
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
    bars.add(bar.with_prefix(name.to_string()))
}

/// A timeout in seconds as nanoseconds; 0 means none.
fn nanos(secs: f64) -> Option<i64> {
    (secs > 0.0).then(|| (secs * 1e9).min(i64::MAX as f64) as i64)
}

/// Worker threads for `files` inputs: at most `jobs`, at most one per file.
fn workers(files: usize, jobs: usize) -> usize {
    jobs.min(files)
}

/// Where JSON Lines go while a file is analyzed.
enum JsonlOut<'a> {
    /// Straight to the output, as each connection finishes.
    Direct(&'a mut dyn Write),
    /// Into a spool, copied out (with shifted ids) in argument order.
    Spool(Spool),
}

/// What analyzing one input produced.
struct Outcome {
    /// The file name, safe to print.
    shown: String,
    capture: Result<CaptureReport, CaptureError>,
    /// The connection reports kept for the output.
    rows: Vec<ConnectionReport>,
    /// JSON Lines written to a spool, if any.
    spool: Option<Spool>,
    /// A failure to write the output.
    write_error: Option<io::Error>,
}

/// Where one file's connection reports go.
struct FileSink<'a, 'o> {
    run: &'a Run<'a>,
    rows: Rows,
    jsonl: &'a mut JsonlOut<'o>,
    /// Flush after every JSON line: the input is a live stream (standard
    /// input), so each finished connection should be seen at once.
    flush_lines: bool,
    write_error: Option<io::Error>,
    /// Where each JSON line is built.
    scratch: Vec<u8>,
}

impl Consumer for &mut FileSink<'_, '_> {
    fn wants(&mut self, id: u64) -> bool {
        match self.run.format {
            Format::Jsonl => self.write_error.is_none(),
            Format::Table | Format::Json | Format::Zeek => self.rows.would_keep(id),
            Format::Timeline | Format::Ladder | Format::Mermaid => {
                self.run.conn.is_none_or(|want| want == id) && self.rows.would_keep(id)
            }
        }
    }

    fn report(&mut self, c: ConnectionReport) {
        match self.run.format {
            Format::Jsonl => {
                let written = match &mut *self.jsonl {
                    JsonlOut::Direct(out) => render::json::line(&c, &mut self.scratch, *out)
                        .and_then(|()| {
                            if self.flush_lines {
                                out.flush()
                            } else {
                                Ok(())
                            }
                        }),
                    JsonlOut::Spool(spool) => render::json::line(&c, &mut self.scratch, spool),
                };
                self.write_error = written.err();
            }
            _ => self.rows.keep(c),
        }
    }
}

/// What every file of one run is analyzed with.
struct Run<'a> {
    options: &'a Options,
    format: Format,
    row_limit: usize,
    conn: Option<u64>,
    /// Progress bars on standard error, when it is a terminal.
    progress: Option<&'a MultiProgress>,
}

impl Run<'_> {
    /// Analyzes one input; connection ids start at `first_id`.
    fn file(
        &self,
        index: usize,
        path: &std::path::Path,
        first_id: u64,
        mut jsonl: JsonlOut<'_>,
    ) -> Outcome {
        let name = path.display().to_string();
        let mut sink = FileSink {
            run: self,
            rows: Rows::new(self.row_limit),
            jsonl: &mut jsonl,
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
            let bar = bar.get_or_insert_with(|| new_bar(bars, &render::printable(&name), size));
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
                self.options,
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
                        self.options,
                        &mut sink,
                        on_progress,
                    )
                })
        };
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        let capture = capture.map(|(capture, _)| capture);
        let FileSink {
            rows, write_error, ..
        } = sink;
        Outcome {
            shown: render::printable(&name).into_owned(),
            capture,
            rows: rows.into_sorted(),
            spool: match jsonl {
                JsonlOut::Spool(spool) => Some(spool),
                JsonlOut::Direct(_) => None,
            },
            write_error,
        }
    }
}

/// The results of the files so far, merged in argument order.
#[derive(Default)]
struct Merged {
    /// Connections of the files merged so far: the id shift of the next file.
    next_offset: u64,
    unreadable: usize,
}

impl Merged {
    /// Adds one file's outcome; its ids are shifted by `offset`.
    fn add(
        &mut self,
        outcome: Outcome,
        offset: u64,
        report: &mut Report,
        out: &mut dyn Write,
    ) -> Result<()> {
        if let Some(e) = outcome.write_error {
            return Err(e.into());
        }
        let shown = outcome.shown;
        match outcome.capture {
            Ok(capture) => {
                if let Some(stop) = &capture.stopped {
                    eprintln!(
                        "tcpstate: warning: {shown}: reading stopped at byte offset {} (frame {}): {}; the {} complete frames before it were analyzed",
                        stop.offset,
                        stop.frame,
                        stop.message,
                        stop.frame - 1
                    );
                }
                if let Some(spool) = outcome.spool {
                    spool.copy_to(out, offset)?;
                }
                report.summary.merge(&capture.summary);
                report
                    .connections
                    .extend(outcome.rows.into_iter().map(|mut c| {
                        c.id += offset;
                        c
                    }));
                self.next_offset += capture.connections;
                report.captures.push(capture);
            }
            Err(e) => {
                eprintln!("tcpstate: error: {shown}: {e}");
                self.unreadable += 1;
            }
        }
        Ok(())
    }
}

/// Analyzes the files on worker threads, merging each as soon as it and
/// every file before it are done.
fn analyze_in_parallel(
    run: &Run<'_>,
    files: &[std::path::PathBuf],
    report: &mut Report,
    merged: &mut Merged,
    out: &mut dyn Write,
    jobs: usize,
) -> Result<()> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (done, results) = std::sync::mpsc::channel::<(usize, Outcome)>();
    std::thread::scope(|scope| {
        for _ in 0..workers(files.len(), jobs) {
            let done = done.clone();
            let next = &next;
            scope.spawn(move || loop {
                let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(path) = files.get(index) else { break };
                let spool = JsonlOut::Spool(Spool::new(index));
                if done.send((index, run.file(index, path, 1, spool))).is_err() {
                    break;
                }
            });
        }
        drop(done);
        let mut waiting = std::collections::BTreeMap::new();
        let mut turn = 0;
        for (index, outcome) in results {
            waiting.insert(index, outcome);
            while let Some(outcome) = waiting.remove(&turn) {
                let offset = merged.next_offset;
                merged.add(outcome, offset, report, out)?;
                turn += 1;
            }
        }
        Ok(())
    })
}

/// JSON Lines of one file held back until its turn: in memory up to
/// [`Spool::IN_MEMORY`] bytes, then in a temporary file, so that memory
/// stays bounded.
struct Spool {
    index: usize,
    memory: Vec<u8>,
    file: Option<(io::BufWriter<std::fs::File>, std::path::PathBuf)>,
}

impl Spool {
    const IN_MEMORY: usize = 8 << 20;

    fn new(index: usize) -> Spool {
        Spool {
            index,
            memory: Vec::new(),
            file: None,
        }
    }

    /// Writes the lines to `out`, each `{"id":N,…` as `{"id":N+offset,…`.
    fn copy_to(mut self, out: &mut dyn Write, offset: u64) -> io::Result<()> {
        use std::io::{BufRead, Seek};
        let mut reader: Box<dyn BufRead> = match self.file.take() {
            Some((file, path)) => {
                let mut file = file.into_inner().map_err(|e| e.into_error())?;
                file.write_all(&self.memory)?;
                file.rewind()?;
                // The file stays open for reading; its name can go now.
                let _ = std::fs::remove_file(path);
                Box::new(io::BufReader::with_capacity(1 << 20, file))
            }
            None => Box::new(io::Cursor::new(std::mem::take(&mut self.memory))),
        };
        const PREFIX: &[u8] = b"{\"id\":";
        let mut line = Vec::new();
        while reader.read_until(b'\n', &mut line)? > 0 {
            let digits = line.get(PREFIX.len()..).map_or(0, |rest| {
                rest.iter().take_while(|b| b.is_ascii_digit()).count()
            });
            let id = line
                .starts_with(PREFIX)
                .then(|| {
                    std::str::from_utf8(&line[PREFIX.len()..PREFIX.len() + digits])
                        .ok()?
                        .parse::<u64>()
                        .ok()
                })
                .flatten();
            match id {
                Some(id) => {
                    write!(out, "{{\"id\":{}", id + offset)?;
                    out.write_all(&line[PREFIX.len() + digits..])?;
                }
                None => out.write_all(&line)?,
            }
            line.clear();
        }
        out.flush()
    }
}

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.file.is_none() && self.memory.len() + buf.len() > Self::IN_MEMORY {
            let path = std::env::temp_dir().join(format!(
                "tcpstate-{}-{}.jsonl",
                std::process::id(),
                self.index
            ));
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&path)?;
            self.file = Some((io::BufWriter::with_capacity(1 << 20, file), path));
        }
        match &mut self.file {
            Some((file, _)) => {
                if !self.memory.is_empty() {
                    file.write_all(&self.memory)?;
                    self.memory.clear();
                }
                file.write(buf)
            }
            None => {
                self.memory.extend_from_slice(buf);
                Ok(buf.len())
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        if let Some((_, path)) = &self.file {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> Result<ExitCode> {
    let mut out = io::BufWriter::new(io::stdout().lock());
    let code = match cli.command {
        Command::Analyze(args) => analyze(args, &mut out)?,
        Command::Rules(args) => {
            match args.format {
                RulesFormat::Text => render::rules::text(&mut out)?,
                RulesFormat::Markdown => render::rules::markdown(&mut out)?,
                RulesFormat::Json => render::rules::json(&mut out)?,
            }
            ExitCode::SUCCESS
        }
        Command::Explain { code } => {
            match Check::from_code(&code) {
                Some(check) => {
                    render::rules::explain(&check.rule(), &mut out)?;
                    ExitCode::SUCCESS
                }
                None => {
                    eprintln!("tcpstate: error: unknown check code '{code}' (`tcpstate rules` lists them)");
                    ExitCode::from(EXIT_INPUT_ERROR)
                }
            }
        }
    };
    out.flush()?;
    Ok(code)
}

fn analyze(args: AnalyzeArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let format = match args.resolve_format() {
        Ok(f) => f,
        Err(message) => {
            eprintln!("tcpstate: error: {message}");
            return Ok(ExitCode::from(EXIT_INPUT_ERROR));
        }
    };
    let jobs = args.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |n| usize::try_from(n).unwrap_or(usize::MAX),
    );
    let options = Options {
        // The teaching views are drawn from every packet.
        packets: args.packets || format.is_teaching(),
        packets_for: if format.is_teaching() {
            args.conn
        } else {
            None
        },
        allow: args.allow.clone(),
        limits: Limits {
            max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
            idle_timeout_ns: nanos(args.idle_timeout),
            attempt_timeout_ns: nanos(args.attempt_timeout),
        },
        // Files are analyzed one per job; with a job to spare, each file
        // runs as a pipeline (its reading and reporting stages are light
        // enough to share a core).
        pipeline: workers(args.files.len(), jobs) < jobs,
    };

    let mut report = Report {
        schema: SCHEMA,
        tool: Tool::current(),
        captures: Vec::new(),
        connections: Vec::new(),
        summary: Summary::new(),
    };
    // Progress on standard error, only for a person watching a terminal.
    let bars = io::stderr()
        .is_terminal()
        .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
    let run = Run {
        options: &options,
        format,
        row_limit: if format == Format::Table {
            args.limit
        } else {
            0
        },
        conn: args.conn,
        progress: bars.as_ref(),
    };
    let mut merged = Merged::default();
    // Several files are analyzed side by side, one per core, each with its
    // own ids from 1; their results are merged in argument order, the ids
    // shifted by the connections of the files before. The teaching views
    // pick a connection by its global id, so they read the files in turn.
    if args.files.len() > 1 && !format.is_teaching() && workers(args.files.len(), jobs) > 1 {
        analyze_in_parallel(&run, &args.files, &mut report, &mut merged, out, jobs)?;
    } else {
        for (index, path) in args.files.iter().enumerate() {
            let first_id = merged.next_offset + 1;
            let outcome = run.file(index, path, first_id, JsonlOut::Direct(&mut *out));
            merged.add(outcome, 0, &mut report, out)?;
        }
    }
    let unreadable = merged.unreadable;
    report.connections.sort_by_key(|c| c.id);
    report.summary.decide(args.fail_on.severity(), &args.allow);
    for warning in report.warn_not_understood() {
        eprintln!("tcpstate: warning: {warning}");
    }
    if unreadable > 0 {
        report.summary.input_error(unreadable, args.files.len());
    }
    match format {
        Format::Table => {
            let opts = TableOptions {
                limit: args.limit,
                packets: args.packets,
            };
            render::table::render(&report, &opts, out)?;
        }
        Format::Json => render::json::document(&report, out)?,
        Format::Zeek => render::zeek::render(&report, out)?,
        Format::Jsonl => eprintln!("tcpstate: {}", report.summary.verdict.text),
        Format::Timeline | Format::Ladder | Format::Mermaid => {
            if let Some(id) = args.conn {
                if report.connections.is_empty() {
                    eprintln!(
                        "tcpstate: error: no connection {id}: the input has {} connection{}",
                        report.summary.connections,
                        if report.summary.connections == 1 {
                            ""
                        } else {
                            "s"
                        }
                    );
                    return Ok(ExitCode::from(EXIT_INPUT_ERROR));
                }
            }
            let teach = args.teach_options();
            match format {
                Format::Timeline => render::timeline::render(&report, &teach, out)?,
                Format::Ladder => render::ladder::render(&report, &teach, out)?,
                _ => render::mermaid::render(&report, &teach, out)?,
            }
        }
    }
    out.flush()?;
    Ok(if unreadable > 0 {
        ExitCode::from(EXIT_INPUT_ERROR)
    } else if report.summary.failed() {
        ExitCode::from(EXIT_FINDINGS)
    } else {
        ExitCode::SUCCESS
    })
}
