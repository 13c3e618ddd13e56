//! The `tcpstate` command: parses the command line, resolves it into the
//! library's options, runs, and maps the result to an exit status.

use anyhow::{anyhow, Result};
use clap::Parser;
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

use cli::{Cli, Command, RulesFormat};
use tcpstate::render;
use tcpstate::rules::Check;
use tcpstate::run::{self, Status};

/// Exit status when findings at or above `--fail-on` exist.
const EXIT_FINDINGS: u8 = 1;
/// Exit status for a usage error or an input that could not be read as a capture.
const EXIT_INPUT_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut out = io::BufWriter::new(io::stdout().lock());
    let result = command(cli.command, &mut out).and_then(|code| {
        out.flush()?;
        Ok(code)
    });
    match result {
        Ok(code) => code,
        // The reader went away (`| head`): nothing more is wanted.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tcpstate: error: {e:#}");
            ExitCode::from(EXIT_INPUT_ERROR)
        }
    }
}

fn command(command: Command, out: &mut dyn Write) -> Result<ExitCode> {
    match command {
        Command::Analyze(args) => {
            let options = args.resolve().map_err(|message| anyhow!(message))?;
            stop_reading_on_ctrl_c();
            let outcome = run::run(&options, out, &mut io::stderr())?;
            Ok(match outcome.status() {
                Status::Passed => ExitCode::SUCCESS,
                Status::Findings => ExitCode::from(EXIT_FINDINGS),
                Status::InputError => ExitCode::from(EXIT_INPUT_ERROR),
            })
        }
        Command::Rules(args) => {
            match args.format {
                RulesFormat::Text => render::rules::text(out)?,
                RulesFormat::Markdown => render::rules::markdown(out)?,
                RulesFormat::Json => render::rules::json(out)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { code } => {
            let check = Check::from_code(&code).ok_or_else(|| {
                anyhow!("unknown check code '{code}' (`tcpstate rules` lists them)")
            })?;
            render::rules::explain(&check.rule(), out)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Ctrl-C (SIGINT) ends the reading as if the inputs ended there, and the
/// results of what was read are written as usual (with the exit status
/// they call for); a second Ctrl-C ends the process at once.
#[cfg(unix)]
fn stop_reading_on_ctrl_c() {
    extern "C" fn on_sigint(_: libc::c_int) {
        if run::interrupted() {
            // SAFETY: _exit is async-signal-safe.
            unsafe { libc::_exit(130) };
        }
        run::interrupt();
    }
    let handler: extern "C" fn(libc::c_int) = on_sigint;
    // SAFETY: the handler only stores to an atomic, or calls _exit.
    unsafe {
        libc::signal(libc::SIGINT, handler as libc::sighandler_t);
    }
}

#[cfg(not(unix))]
fn stop_reading_on_ctrl_c() {}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    let broken = |io: &io::Error| io.kind() == io::ErrorKind::BrokenPipe;
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>().is_some_and(broken)
            || matches!(c.downcast_ref::<run::Error>(), Some(run::Error::Io(io)) if broken(io))
    })
}
