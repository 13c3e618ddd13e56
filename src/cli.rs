//! Command-line parsing, and the one place where the arguments (with the
//! environment: locale, terminals, cores) are resolved into the library's
//! options. clap types stay here; the library takes plain options.

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use tcpstate::conntable::Limits;
use tcpstate::render::{teaching::TeachOptions, Format};
use tcpstate::rules::{Check, Severity};
use tcpstate::run;
use tcpstate::shard::Shard;
use tcpstate::teach::text::{locale_is_utf8, Lang};
use tcpstate::teach::{LessonOptions, Numbers};

#[derive(Debug, Parser)]
#[command(
    name = "tcpstate",
    version,
    about = "Analyze TCP connection establishment and release in packet captures",
    long_about = "tcpstate reads pcap and pcapng captures, splits TCP traffic into connections, \
reconstructs the RFC 9293 state machine of each side, and classifies every connection's \
three-way handshake and release."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Parses the command line (exiting with a usage message on an error), the
/// `-r` files put among the FILE arguments in command-line order.
pub fn parse() -> Cli {
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if let (Command::Analyze(args), Some(("analyze", m))) = (&mut cli.command, matches.subcommand())
    {
        args.interleave_inputs(m);
    }
    cli
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyze one or more captures (pcap or pcapng; `-` reads standard input).
    #[command(after_long_help = "Examples:
  tcpstate analyze capture.pcap
  tcpstate analyze --format json a.pcap b.pcapng > report.json
  tcpdump -i eth0 -w - 'tcp port 443' | tcpstate analyze --format jsonl -
  tcpstate analyze --fail-on warning --allow DT005 ci-capture.pcap
  tcpstate analyze -r capture.pcap.gz -f 'port 443 and (handshake unanswered or severity warning)'
  tcpstate analyze --fail-on warning -f 'port 5432 and handshake refused' ci-capture.pcap
  tcpstate analyze --timeline --explain --lang zh --conn 2 testdata/crafted/seed_ftp.pcap
  tcpstate analyze --format ladder --relative capture.pcap
  tcpstate analyze --format mermaid --conn 1 capture.pcap > connection1.mmd
  tcpstate analyze --format svg --conn 1 --relative capture.pcap > connection1.svg
  tcpstate analyze --format html --lang zh capture.pcap > report.html
  tcpstate analyze --shard 2/8 --format jsonl big.pcap > part-2.jsonl

Exit status: 0 analyzed, no finding at or above --fail-on; 1 such findings exist;
2 usage error or an input that cannot be read as a capture.")]
    Analyze(Box<AnalyzeArgs>),
    /// List the catalog of checks (codes, severities, titles).
    Rules(RulesArgs),
    /// Explain one check: what it means, why it matters, where the rule comes from.
    Explain {
        /// A check code, e.g. HS001.
        code: String,
        /// Language [default: en].
        #[arg(long, value_enum, value_name = "LANG")]
        lang: Option<LangArg>,
    },
    /// Print a shell completion script (e.g. `tcpstate completions bash > /etc/bash_completion.d/tcpstate`).
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page in roff (e.g. `tcpstate man > tcpstate.1; man ./tcpstate.1`).
    Man,
    /// Print the JSON Schema (draft 2020-12) of the JSON output: the document
    /// of `--format json`, or one record (line) of `--format jsonl`.
    #[command(after_long_help = "Examples:
  tcpstate schema > tcpstate.schema.json
  tcpstate schema record > tcpstate-record.schema.json

The same files are in docs/ (docs/json-schema.md).")]
    Schema {
        /// Which schema.
        #[arg(value_enum, default_value_t = SchemaArg::Document)]
        which: SchemaArg,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaArg {
    /// The document of `--format json` (with or without `--packets`).
    #[value(alias = "json")]
    Document,
    /// One line of `--format jsonl`: one connection.
    #[value(alias = "jsonl")]
    Record,
}

impl SchemaArg {
    pub fn which(self) -> tcpstate::schema::Which {
        match self {
            SchemaArg::Document => tcpstate::schema::Which::Document,
            SchemaArg::Record => tcpstate::schema::Which::Record,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct RulesArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = RulesFormat::Text)]
    pub format: RulesFormat,
    /// Language of the text table [default: en] (Markdown and JSON are in English).
    #[arg(long, value_enum, value_name = "LANG")]
    pub lang: Option<LangArg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    /// A table for people.
    Text,
    /// Markdown, as in docs/rules.md.
    Markdown,
    /// A JSON array.
    Json,
}

/// The finding level at which `analyze` exits with status 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Info,
    /// Never fail because of findings.
    Never,
}

impl FailOn {
    pub fn severity(self) -> Option<Severity> {
        match self {
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Info => Some(Severity::Info),
            FailOn::Never => None,
        }
    }
}

/// Parses a non-negative number of seconds.
fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s >= 0.0 => Ok(s),
        _ => Err(format!("'{text}' is not a number of seconds")),
    }
}

/// Parses `--shard K/N`.
fn parse_shard(text: &str) -> Result<Shard, String> {
    Shard::parse(text).map_err(|e| format!("'{text}' is not a shard: {e}"))
}

/// Parses a check code for `--allow`.
fn parse_check(code: &str) -> Result<Check, String> {
    Check::from_code(code)
        .ok_or_else(|| format!("unknown check code '{code}' (see `tcpstate rules`)"))
}

#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// Capture files to read; `-` for standard input.
    #[arg(required_unless_present = "read", value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// A capture file to read, as tcpdump and tshark take it (repeatable; the
    /// same as a FILE argument, read in command-line order with them).
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    pub read: Vec<PathBuf>,

    /// Write the output to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Include every packet: per-packet detail in JSON, a packet listing per connection in the table.
    #[arg(long)]
    pub packets: bool,

    /// Show at most this many connections per capture in the table (0 = all):
    /// those with the most severe findings first. (The HTML report's table
    /// lists every connection.)
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub limit: usize,

    /// Connections the HTML report shows in detail (ladder, time–sequence graph, step-through): the first N of its table's order (findings first, then by id); the others are in the table only. The report stays small and quick to open whatever the capture's size.
    #[arg(long, default_value_t = tcpstate::render::html::DEFAULT_DETAILS, value_name = "N")]
    pub html_details: usize,

    /// Exit with status 1 when a finding at or above this level exists.
    #[arg(long, value_enum, default_value_t = FailOn::Error, value_name = "LEVEL")]
    pub fail_on: FailOn,

    /// Exit with status 1 when the captures yield no TCP segment at all
    /// (empty, only other traffic or unknown link types, or everything
    /// filtered out); without it the verdict says NO TCP and the status is 0.
    #[arg(long)]
    pub fail_on_empty: bool,

    /// Read the files as one capture, their packets in timestamp order (as
    /// mergecap does): the files of a tcpdump -C/-G rotation, or two taps
    /// that each saw one direction. Without it each file is analyzed alone.
    #[arg(long)]
    pub merge: bool,

    /// Track at most N connections at once; beyond that the least recently
    /// active is reported early (ended_by: max_connections). Bounds memory.
    #[arg(long, default_value_t = 100_000, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: u64,

    /// Report a connection once it has seen no segment for SECS seconds of
    /// capture time (ended_by: idle_timeout; 0 turns it off). Like Zeek's
    /// TCP inactivity timeout, it bounds memory on long captures.
    #[arg(long, value_name = "SECS", value_parser = parse_seconds, default_value_t = 300.0)]
    pub idle_timeout: f64,

    /// Report a connection attempt (SYNs that nothing answered) once it has
    /// seen no segment for SECS seconds of capture time (ended_by:
    /// idle_timeout; 0 leaves attempts to --idle-timeout). Like Zeek's
    /// tcp_attempt_delay; a SYN retried after a longer pause starts a new
    /// connection record, as in Zeek.
    #[arg(long, value_name = "SECS", value_parser = parse_seconds, default_value_t = 5.0)]
    pub attempt_timeout: f64,

    /// Skip TCP segments whose IPv4 header or TCP checksum is wrong
    /// (skipped: bad_checksum), as Zeek does. Off by default, as in tshark:
    /// a capture taken on a sending host holds checksums its network card
    /// was to fill in (checksum offload); they are counted instead.
    #[arg(long)]
    pub verify_checksums: bool,

    /// Files analyzed at once (default: one per core). With fewer files
    /// than that, each runs as a pipeline of three threads (reading,
    /// tracking, reporting); 1 analyzes everything on one thread.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub jobs: Option<u64>,

    /// Ignore a check: its findings are not reported (repeatable, or a comma list: HS006,HS007).
    #[arg(long, value_name = "CODE", value_parser = parse_check, value_delimiter = ',')]
    pub allow: Vec<Check>,

    /// Instead of the table, an annotated timeline per connection: one line per
    /// segment, each handshake and release step named, each side's state changes.
    #[arg(long, help_heading = "Teaching views")]
    pub timeline: bool,

    /// Narrate every handshake and release step and explain each finding (implies --timeline).
    #[arg(long, help_heading = "Teaching views")]
    pub explain: bool,

    /// Only the connections this expression matches: tcpdump's words for
    /// addresses (host, net CIDR, port, portrange, src/dst, ip/ip6, and/or/not,
    /// parentheses) and verdicts (handshake refused, teardown reset, state
    /// CLOSE-WAIT, conn_state S0, finding HS006, severity warning, diagnosis
    /// silent_drop, duration > 2s, bytes > 1M, packets > 10). The summary,
    /// verdict and exit status judge the matched connections only.
    #[arg(short = 'f', long, value_name = "EXPR")]
    pub filter: Option<String>,

    /// Analyze only shard K of N (0 ≤ K < N): the connections whose
    /// direction-independent key (both endpoints and their tunnels) hashes
    /// to K, the other segments dropped after decoding. N runs over the
    /// same files, K = 0…N−1, give disjoint results whose union is the
    /// whole run; ids are K+1, K+1+N, K+1+2N, … (docs/sharding.md).
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<Shard>,

    /// Show only these connections (their ids in the table), in every format
    /// (repeatable, or a comma list: 2,5); the summary still counts all.
    #[arg(long, value_name = "ID", value_delimiter = ',')]
    pub conn: Vec<u64>,

    /// Sequence numbers relative to each side's ISN (Wireshark's) instead of absolute.
    #[arg(long, help_heading = "Teaching views")]
    pub relative: bool,

    /// Every segment: do not collapse long runs of ordinary segments into one line.
    #[arg(long, help_heading = "Teaching views")]
    pub full: bool,

    /// Language of the teaching views [default: from LC_ALL, LC_MESSAGES or LANG: zh* is zh, else en].
    #[arg(long, value_enum, value_name = "LANG", help_heading = "Teaching views")]
    pub lang: Option<LangArg>,

    /// Draw with ASCII instead of box-drawing characters (the default when the locale is not UTF-8).
    #[arg(long, help_heading = "Teaching views")]
    pub ascii: bool,

    /// Colours in the timeline and ladder: auto = when standard output is a terminal and NO_COLOR is unset.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto, value_name = "WHEN", help_heading = "Teaching views")]
    pub color: ColorArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LangArg {
    /// English.
    En,
    /// Chinese (中文), in the terms of Chinese TCP textbooks (docs/notation.md).
    Zh,
}

impl LangArg {
    pub fn lang(self) -> Lang {
        match self {
            LangArg::En => Lang::En,
            LangArg::Zh => Lang::Zh,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// A timeout in seconds as nanoseconds; 0 means none.
fn nanos(secs: f64) -> Option<i64> {
    (secs > 0.0).then(|| (secs * 1e9).min(i64::MAX as f64) as i64)
}

impl AnalyzeArgs {
    /// Moves the `-r` files into `files`, each where it stood on the
    /// command line among the FILE arguments.
    fn interleave_inputs(&mut self, matches: &clap::ArgMatches) {
        if self.read.is_empty() {
            return;
        }
        let positions = |id: &str| -> Vec<usize> {
            matches
                .indices_of(id)
                .map(|i| i.collect())
                .unwrap_or_default()
        };
        let (at_files, at_read) = (positions("files"), positions("read"));
        if at_files.len() != self.files.len() || at_read.len() != self.read.len() {
            // Not expected from clap; keep every file, FILE arguments first.
            self.files.append(&mut self.read);
            return;
        }
        let mut all: Vec<(usize, PathBuf)> = at_files
            .into_iter()
            .zip(self.files.drain(..))
            .chain(at_read.into_iter().zip(self.read.drain(..)))
            .collect();
        all.sort_by_key(|(at, _)| *at);
        self.files = all.into_iter().map(|(_, path)| path).collect();
    }

    /// Everything the run needs; an error message when the options do not
    /// go together.
    pub fn resolve(self) -> Result<run::Options, String> {
        let format = self.resolve_format()?;
        let filter = match &self.filter {
            None => None,
            Some(text) => Some(
                tcpstate::filter::Filter::parse(text)
                    .map_err(|e| format!("bad --filter expression: {e}\n{}", e.caret(text)))?,
            ),
        };
        let width = self.width();
        let mut teach = self.teach_options();
        teach.width = width;
        let jobs = self.jobs.map_or_else(
            || std::thread::available_parallelism().map_or(1, |n| n.get()),
            |n| usize::try_from(n).unwrap_or(usize::MAX),
        );
        Ok(run::Options {
            files: self.files,
            format,
            limit: self.limit,
            packets: self.packets,
            conn: self.conn,
            filter,
            fail_on_empty: self.fail_on_empty,
            merge: self.merge,
            allow: self.allow,
            limits: Limits {
                max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
                idle_timeout_ns: nanos(self.idle_timeout),
                attempt_timeout_ns: nanos(self.attempt_timeout),
            },
            jobs,
            fail_on: self.fail_on.severity(),
            teach,
            width,
            html_details: self.html_details,
            // Progress only for a person watching a terminal.
            progress: std::io::stderr().is_terminal(),
            shard: self.shard,
            verify_checksums: self.verify_checksums,
        })
    }

    /// The width the output is drawn to: `COLUMNS` if it is set (a number),
    /// else the terminal's if the output is one; `None` for a pipe or a file.
    fn width(&self) -> Option<usize> {
        if let Some(columns) = std::env::var_os("COLUMNS") {
            return columns
                .to_str()
                .and_then(|c| c.trim().parse::<usize>().ok())
                .filter(|&c| c > 0);
        }
        let to_stdout = self.output.as_deref().is_none_or(|p| p == Path::new("-"));
        if to_stdout && std::io::stdout().is_terminal() {
            terminal_width()
        } else {
            None
        }
    }

    /// The output format, with `--timeline`/`--explain` taken into account;
    /// an error message when the options do not go together.
    fn resolve_format(&self) -> Result<Format, String> {
        let mut format = self.format;
        if self.timeline || self.explain {
            if format != Format::Table {
                let flag = if self.timeline {
                    "--timeline"
                } else {
                    "--explain"
                };
                return Err(format!(
                    "{flag} prints the timeline instead of the table; it cannot be combined with --format {}",
                    self.format.name()
                ));
            }
            format = Format::Timeline;
        }
        if format == Format::Svg && self.conn.len() != 1 {
            return Err(
                "--format svg draws one connection: choose it with --conn ID (one id)".into(),
            );
        }
        Ok(format)
    }

    /// How the teaching views are drawn: the options, else the environment
    /// (locale for language and character set, terminal and NO_COLOR for colour).
    fn teach_options(&self) -> TeachOptions {
        let (lc_all, lc_messages, lc_ctype, lang) = (
            env("LC_ALL"),
            env("LC_MESSAGES"),
            env("LC_CTYPE"),
            env("LANG"),
        );
        let language = match self.lang {
            Some(LangArg::En) => Lang::En,
            Some(LangArg::Zh) => Lang::Zh,
            None => Lang::from_locale(lc_all.as_deref(), lc_messages.as_deref(), lang.as_deref()),
        };
        let utf8 = locale_is_utf8(lc_all.as_deref(), lc_ctype.as_deref(), lang.as_deref());
        let color = match self.color {
            ColorArg::Always => true,
            ColorArg::Never => false,
            ColorArg::Auto => {
                self.output.is_none()
                    && std::io::stdout().is_terminal()
                    && env("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        TeachOptions {
            lesson: LessonOptions {
                numbers: if self.relative {
                    Numbers::Relative
                } else {
                    Numbers::Absolute
                },
                full: self.full,
            },
            lang: language,
            explain: self.explain,
            ascii: self.ascii || !utf8,
            color,
            width: None,
        }
    }
}

/// The width of the terminal on standard output, if it says.
#[cfg(unix)]
fn terminal_width() -> Option<usize> {
    // SAFETY: TIOCGWINSZ only writes a winsize into the struct given.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

#[cfg(not(unix))]
fn terminal_width() -> Option<usize> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn format_names_are_the_values_of_format() {
        for format in Format::value_variants() {
            let value = format.to_possible_value().unwrap();
            assert_eq!(value.get_name(), format.name());
        }
        assert!(Format::Timeline.to_possible_value().is_none());
    }
}
