//! The `tcpstate` command: parses the command line, resolves it into the
//! library's options, runs, and maps the result to an exit status.

use anyhow::{anyhow, Result};
use clap::CommandFactory;
use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

mod alloc;
mod cli;

use cli::{Cli, Command, RulesFormat};
use tcpstate::render;
use tcpstate::rules::Check;
use tcpstate::run::{self, Status};

/// Exit status when findings at or above `--fail-on` exist.
const EXIT_FINDINGS: u8 = 1;
/// Exit status for a usage error or an input that could not be read as a capture.
const EXIT_INPUT_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = cli::parse();
    let sink: Box<dyn Write> = match &cli.command {
        Command::Analyze(args) => match args.output.as_deref() {
            Some(path) if path != Path::new("-") => match create_output(path, &args.files) {
                Ok(file) => Box::new(file),
                Err(e) => {
                    eprintln!("tcpstate: error: {e:#}");
                    return ExitCode::from(EXIT_INPUT_ERROR);
                }
            },
            _ => Box::new(io::stdout().lock()),
        },
        _ => Box::new(io::stdout().lock()),
    };
    let mut out = io::BufWriter::new(sink);
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
            if options.keeps_packets() {
                alloc::small_pages_only();
            }
            if options.format == render::Format::Json {
                alloc::keep_freed_memory_longer();
            }
            run::stop_reading_on_ctrl_c();
            let outcome = run::run(&options, out, &mut io::stderr())?;
            Ok(match outcome.status() {
                Status::Passed => ExitCode::SUCCESS,
                Status::Findings => ExitCode::from(EXIT_FINDINGS),
                Status::InputError => ExitCode::from(EXIT_INPUT_ERROR),
            })
        }
        Command::Rules(args) => {
            match args.format {
                RulesFormat::Text => match args.lang {
                    Some(lang) => render::rules::text_in(lang.lang(), out)?,
                    None => render::rules::text(out)?,
                },
                RulesFormat::Markdown => render::rules::markdown(out)?,
                RulesFormat::Json => render::rules::json(out)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "tcpstate", out);
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema { which } => {
            tcpstate::schema::write(which.which(), out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command()).render(out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { code, lang } => {
            let check = Check::from_code(&code).ok_or_else(|| {
                anyhow!("unknown check code '{code}' (`tcpstate rules` lists them)")
            })?;
            match lang {
                Some(lang) => render::rules::explain_in(&check.rule(), lang.lang(), out)?,
                None => render::rules::explain(&check.rule(), out)?,
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Creates the `--output` file, refusing one that is also an input (it would
/// be emptied before it is read).
fn create_output(path: &Path, inputs: &[std::path::PathBuf]) -> Result<std::fs::File> {
    if let Ok(target) = path.canonicalize() {
        let is_input = inputs
            .iter()
            .any(|input| input.canonicalize().is_ok_and(|input| input == target));
        if is_input {
            return Err(anyhow!(
                "--output {} is also an input; it would be overwritten",
                render::printable(&path.display().to_string())
            ));
        }
    }
    std::fs::File::create(path).map_err(|e| {
        anyhow!(
            "cannot write {}: {e}",
            render::printable(&path.display().to_string())
        )
    })
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    let broken = |io: &io::Error| io.kind() == io::ErrorKind::BrokenPipe;
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>().is_some_and(broken)
            || matches!(c.downcast_ref::<run::Error>(), Some(run::Error::Io(io)) if broken(io))
    })
}
