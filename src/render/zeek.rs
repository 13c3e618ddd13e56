//! A Zeek conn.log: the TSV format with `#` header lines that zeek-cut and
//! other Zeek tooling read. Differences from Zeek's own log are listed in
//! docs/zeek.md.

use crate::report::{rfc3339, ConnectionReport, Report};
use std::io::{self, Write};

const FIELDS: [&str; 21] = [
    "ts",
    "uid",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "proto",
    "service",
    "duration",
    "orig_bytes",
    "resp_bytes",
    "conn_state",
    "local_orig",
    "local_resp",
    "missed_bytes",
    "history",
    "orig_pkts",
    "orig_ip_bytes",
    "resp_pkts",
    "resp_ip_bytes",
    "tunnel_parents",
];
const TYPES: [&str; 21] = [
    "time",
    "string",
    "addr",
    "port",
    "addr",
    "port",
    "enum",
    "string",
    "interval",
    "count",
    "count",
    "string",
    "bool",
    "bool",
    "count",
    "string",
    "count",
    "count",
    "count",
    "count",
    "set[string]",
];

/// Zeek's `#open`/`#close` time format.
fn zeek_time(rfc: &str) -> String {
    // 2026-11-21T07:48:01.123456789Z -> 2026-11-21-07-48-01
    rfc.get(..19)
        .unwrap_or("1970-01-01T00:00:00")
        .replace(['T', ':'], "-")
}

/// Zeek's `tunnel_parents`: the tunnels that carried the connection, as a
/// set (`,`-separated), each named as in the JSON with an ASCII arrow; `-`
/// when it was captured bare.
fn tunnel_parents(layers: &[String]) -> String {
    if layers.is_empty() {
        return "-".into();
    }
    layers
        .iter()
        .map(|l| l.replace('→', "->").replace([',', '\t'], " "))
        .collect::<Vec<_>>()
        .join(",")
}

/// Writes the whole report as a conn.log, its rows in id order; `#open`
/// is the earliest start of a connection, `#close` the latest.
/// [`crate::run`] writes the rows as connections finish instead, with
/// [`header`], [`row`] and [`close`].
pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let first = report
        .connections
        .iter()
        .map(|c| c.start_time.as_str())
        .min();
    header(first, out)?;
    let mut scratch = String::new();
    for c in &report.connections {
        for part in 0..rows(c) {
            let slot = row(c, part, &mut scratch);
            out.write_all(&scratch.as_bytes()[..slot])?;
            uid(c.id, out)?;
            out.write_all(&scratch.as_bytes()[slot..])?;
        }
    }
    // The later Zeek records' rows start later.
    let last = report
        .connections
        .iter()
        .flat_map(|c| {
            std::iter::once(c.start_time.as_str())
                .chain(c.zeek_records.iter().map(|r| r.start_time.as_str()))
        })
        .max();
    close(last.or(first), out)
}

/// Writes the header lines, `#open` at `open` (an RFC 3339 time; the Unix
/// epoch if `None`).
pub fn header(open: Option<&str>, out: &mut dyn Write) -> io::Result<()> {
    let open = open.map_or_else(|| rfc3339(0), str::to_string);
    writeln!(out, "#separator \\x09")?;
    writeln!(out, "#set_separator\t,")?;
    writeln!(out, "#empty_field\t(empty)")?;
    writeln!(out, "#unset_field\t-")?;
    writeln!(out, "#path\tconn")?;
    writeln!(out, "#open\t{}", zeek_time(&open))?;
    writeln!(out, "#fields\t{}", FIELDS.join("\t"))?;
    writeln!(out, "#types\t{}", TYPES.join("\t"))
}

/// Writes the `#close` line, at `close` (an RFC 3339 time; the Unix epoch
/// if `None`).
pub fn close(close: Option<&str>, out: &mut dyn Write) -> io::Result<()> {
    let close = close.map_or_else(|| rfc3339(0), str::to_string);
    writeln!(out, "#close\t{}", zeek_time(&close))
}

/// Writes the `uid` of connection `id` (of its first Zeek record; [`row`]
/// writes the suffix of the others after it).
pub fn uid(id: u64, out: &mut dyn Write) -> io::Result<()> {
    // `CT{id:016x}`, without the formatting machinery.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = *b"CT0000000000000000";
    for (i, digit) in text[2..].iter_mut().enumerate() {
        *digit = HEX[((id >> (60 - 4 * i)) & 0xf) as usize];
    }
    out.write_all(&text)
}

/// Appends the decimal digits of `n`.
fn push_int(s: &mut String, n: impl itoa::Integer) {
    s.push_str(itoa::Buffer::new().format(n));
}

/// How many conn.log rows `c` makes: one per Zeek record.
pub fn rows(c: &ConnectionReport) -> usize {
    c.zeek_records.len().max(1)
}

/// Builds row `part` (from 0; see [`rows`]) of `c`, newline included, in
/// `scratch` (kept between calls), without its `uid`; returns where the
/// uid goes ([`uid`]). This is how rows are held back and renumbered
/// without being read again. Rows after the first carry `r<n>` after the
/// uid, `n` the Zeek record's number from 2.
pub fn row(c: &ConnectionReport, part: usize, scratch: &mut String) -> usize {
    use std::fmt::Write as _;
    scratch.clear();
    let record = c.zeek_records.get(part);
    let (ts, duration, conn_state, history, z) = match record {
        Some(r) => (r.start_ts, r.duration_s, r.conn_state, &r.history, &r.zeek),
        None => (c.start_ts, c.duration_s, c.conn_state, &c.history, &c.zeek),
    };
    let _ = write!(scratch, "{ts:.6}\t");
    let slot = scratch.len();
    if let Some(r) = record.filter(|r| r.record > 1) {
        scratch.push('r');
        push_int(scratch, r.record);
    }
    // Fields pushed one by one: the formatting machinery costs several
    // times as much for integers and text.
    for (text, port) in [
        (&c.client.addr, c.client.port),
        (&c.server.addr, c.server.port),
    ] {
        scratch.push('\t');
        scratch.push_str(text);
        scratch.push('\t');
        push_int(scratch, port);
    }
    scratch.push_str("\ttcp\t-\t");
    if duration > 0.0 {
        let _ = write!(scratch, "{duration:.6}");
    } else {
        scratch.push('-');
    }
    let history = if history.is_empty() { "-" } else { history };
    let tab_int = |s: &mut String, n: u64| {
        s.push('\t');
        push_int(s, n);
    };
    tab_int(scratch, z.orig_bytes);
    tab_int(scratch, z.resp_bytes);
    scratch.push('\t');
    scratch.push_str(conn_state.as_str());
    scratch.push_str("\t-\t-");
    tab_int(scratch, z.missed_bytes);
    scratch.push('\t');
    scratch.push_str(history);
    for n in [z.orig_pkts, z.orig_ip_bytes, z.resp_pkts, z.resp_ip_bytes] {
        tab_int(scratch, n);
    }
    scratch.push('\t');
    scratch.push_str(&tunnel_parents(&c.encapsulation));
    scratch.push('\n');
    slot
}
