use anyhow::Result;
use clap::Parser;
use std::io::{self, Write};
use std::process::ExitCode;

mod cli;

use cli::{AnalyzeArgs, Cli, Command};
use tcpstate::analyze::{analyze_capture, Options};
use tcpstate::render::{self, table::TableOptions, Format};
use tcpstate::report::{Report, Summary, Tool, SCHEMA};

/// Exit status for an input that could not be read as a capture.
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

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Analyze(args) => analyze(args),
    }
}

fn analyze(args: AnalyzeArgs) -> Result<ExitCode> {
    let format: Format = args.format.into();
    let options = Options {
        packets: args.packets,
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());

    let mut report = Report {
        schema: SCHEMA,
        tool: Tool::current(),
        captures: Vec::new(),
        connections: Vec::new(),
        summary: Summary::new(),
    };
    let mut failed = false;
    let mut next_id = 1;
    for (index, path) in args.files.iter().enumerate() {
        let name = path.display().to_string();
        let mut write_err = None;
        let mut on_connection = |c| match format {
            Format::Jsonl => {
                if write_err.is_none() {
                    if let Err(e) = render::json::line(&c, &mut out).and_then(|()| out.flush()) {
                        write_err = Some(e);
                    }
                }
            }
            Format::Table | Format::Json => report.connections.push(c),
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
                        "tcpstate: warning: {name}: reading stopped at byte offset {} (frame {}): {}; the {} complete frames before it were analyzed",
                        stop.offset,
                        stop.frame,
                        stop.message,
                        stop.frame - 1
                    );
                }
                report.captures.push(capture);
            }
            Err(e) => {
                eprintln!("tcpstate: error: {name}: {e}");
                failed = true;
            }
        }
    }
    report.connections.sort_by_key(|c| c.id);
    for c in &report.connections {
        report.summary.add(c);
    }
    match format {
        Format::Table => {
            let opts = TableOptions {
                limit: args.limit,
                packets: args.packets,
            };
            render::table::render(&report, &opts, &mut out)?;
        }
        Format::Json => render::json::document(&report, &mut out)?,
        Format::Jsonl => {}
    }
    out.flush()?;
    Ok(if failed {
        ExitCode::from(EXIT_INPUT_ERROR)
    } else {
        ExitCode::SUCCESS
    })
}
