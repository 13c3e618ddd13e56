//! Command-line parsing. clap types stay here; the core takes plain options.

use crate::render::Format;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

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

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyze one or more captures (pcap or pcapng; `-` reads standard input).
    #[command(after_long_help = "Examples:
  tcpstate analyze capture.pcap
  tcpstate analyze --format json a.pcap b.pcapng > report.json
  tcpdump -i eth0 -w - 'tcp port 443' | tcpstate analyze --format jsonl -

Exit status: 0 analyzed; 2 usage error or an input that cannot be read as a capture.")]
    Analyze(AnalyzeArgs),
}

#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// Capture files to read; `-` for standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,

    /// Include every packet: per-packet detail in JSON, a packet listing per connection in the table.
    #[arg(long)]
    pub packets: bool,

    /// Show at most this many connections per capture in the table (0 = all).
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub limit: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Summary table for people.
    Table,
    /// One JSON document (schema tcpstate/1).
    Json,
    /// One JSON object per connection per line, streamed as connections finish.
    Jsonl,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Table => Format::Table,
            FormatArg::Json => Format::Json,
            FormatArg::Jsonl => Format::Jsonl,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
