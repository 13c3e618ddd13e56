use anyhow::Result;
use clap::Parser;
use std::collections::BinaryHeap;
use std::io::{self, Write};
use std::process::ExitCode;

mod cli;

use cli::{AnalyzeArgs, Cli, Command, RulesFormat};
use tcpstate::analyze::{analyze_capture, Options};
use tcpstate::flow::Limits;
use tcpstate::render::{self, table::TableOptions, Format};
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
            idle_timeout_ns: args
                .idle_timeout
                .map(|s| (s * 1e9).min(i64::MAX as f64) as i64),
        },
    };

    let mut report = Report {
        schema: SCHEMA,
        tool: Tool::current(),
        captures: Vec::new(),
        connections: Vec::new(),
        summary: Summary::new(),
    };
    let mut unreadable = 0usize;
    let mut next_id = 1;
    for (index, path) in args.files.iter().enumerate() {
        let name = path.display().to_string();
        let shown = render::printable(&name).into_owned();
        let mut write_err = None;
        let mut file_summary = Summary::new();
        let mut rows = Rows::new(if format == Format::Table {
            args.limit
        } else {
            0
        });
        let mut on_connection = |c: ConnectionReport| {
            report.summary.add(&c);
            file_summary.add(&c);
            match format {
                Format::Jsonl => {
                    if write_err.is_none() {
                        if let Err(e) = render::json::line(&c, out).and_then(|()| out.flush()) {
                            write_err = Some(e);
                        }
                    }
                }
                Format::Table | Format::Json | Format::Zeek => rows.keep(c),
                Format::Timeline | Format::Ladder | Format::Mermaid => {
                    if args.conn.is_none_or(|id| id == c.id) {
                        rows.keep(c);
                    }
                }
            }
        };
        let result = if name == "-" {
            analyze_capture(
                "-",
                index,
                io::stdin(),
                next_id,
                &options,
                &mut on_connection,
            )
        } else {
            match std::fs::File::open(path) {
                Ok(f) => analyze_capture(&name, index, f, next_id, &options, &mut on_connection),
                Err(e) => Err(e.into()),
            }
        };
        if let Some(e) = write_err {
            return Err(e.into());
        }
        match result {
            Ok((capture, id)) => {
                next_id = id;
                if let Some(stop) = &capture.stopped {
                    eprintln!(
                        "tcpstate: warning: {shown}: reading stopped at byte offset {} (frame {}): {}; the {} complete frames before it were analyzed",
                        stop.offset,
                        stop.frame,
                        stop.message,
                        stop.frame - 1
                    );
                }
                let mut capture = capture;
                capture.summary = file_summary;
                report.captures.push(capture);
                report.connections.extend(rows.into_sorted());
            }
            Err(e) => {
                eprintln!("tcpstate: error: {shown}: {e}");
                unreadable += 1;
            }
        }
    }
    report.connections.sort_by_key(|c| c.id);
    report.summary.decide(args.fail_on.severity(), &args.allow);
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
