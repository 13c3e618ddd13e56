//! The human summary: per capture, totals first, then one row per
//! connection (up to a limit), then the skipped-frame counts.

use super::style::{endpoint, width_of, wrap};
use crate::report::{
    CaptureReport, ConnectionReport, Counts, Named, PacketReport, Report, Summary,
};
use crate::rules::{Rule, Severity};
use crate::state::{Side, State};
use comfy_table::{presets, CellAlignment, ContentArrangement, Table};
use std::io::{self, Write};
use unicode_width::UnicodeWidthChar;

/// Options of the table renderer.
#[derive(Debug, Clone, Copy)]
pub struct TableOptions {
    /// Rows per capture at most; 0 means all.
    pub limit: usize,
    /// Also list every packet of the connections shown.
    pub packets: bool,
    /// The rows are a selection (`--conn`): the connections not selected are
    /// not "not shown".
    pub selected: bool,
    /// The width of the terminal, if the table is for one: below
    /// [`COMPACT_BELOW`] columns the compact layout, every line within it.
    /// `None`: the full layout, whatever its width.
    pub width: Option<usize>,
    /// The language of the diagnosis lines (the rest is in English).
    pub lang: crate::teach::text::Lang,
}

/// Terminals narrower than this get the compact layout.
pub const COMPACT_BELOW: usize = 120;

/// The narrowest width the compact layout is drawn to.
const MIN_WIDTH: usize = 40;

impl TableOptions {
    /// The width of the compact layout, if it is the one drawn.
    fn compact(&self) -> Option<usize> {
        self.width
            .filter(|&w| w < COMPACT_BELOW)
            .map(|w| w.max(MIN_WIDTH))
    }
}

pub fn render(report: &Report, opts: &TableOptions, out: &mut dyn Write) -> io::Result<()> {
    let Some(width) = opts.compact() else {
        return render_full(report, opts, out);
    };
    // Drawn whole, then every line longer than the width (a long file
    // name, a finding's message, the verdict) wrapped at word boundaries.
    let mut drawn = Vec::new();
    render_full(report, opts, &mut drawn)?;
    for line in String::from_utf8_lossy(&drawn).lines() {
        for l in fit(line, width) {
            writeln!(out, "{l}")?;
        }
    }
    Ok(())
}

/// `line` as lines of at most `width` columns: as it is if it fits, else
/// wrapped at spaces, the continuation lines indented like the first (two
/// more for a line that starts at the margin), a word longer than a line
/// cut.
fn fit(line: &str, width: usize) -> Vec<String> {
    if width_of(line) <= width {
        return vec![line.to_string()];
    }
    let indent = line.len() - line.trim_start_matches(' ').len();
    let (first, rest) = (
        " ".repeat(indent),
        " ".repeat(if indent == 0 { 2 } else { indent }),
    );
    let mut out = Vec::new();
    let body = line.trim_start_matches(' ');
    for (i, piece) in wrap(body, width.saturating_sub(rest.len()).max(1))
        .into_iter()
        .enumerate()
    {
        let pad = if i == 0 { &first } else { &rest };
        let room = width.saturating_sub(pad.len()).max(1);
        let mut chunk = String::new();
        for c in piece.chars() {
            if width_of(&chunk) + c.width().unwrap_or(0) > room {
                out.push(format!("{pad}{chunk}"));
                chunk.clear();
            }
            chunk.push(c);
        }
        out.push(format!("{pad}{chunk}"));
    }
    out
}

fn render_full(report: &Report, opts: &TableOptions, out: &mut dyn Write) -> io::Result<()> {
    if report.merged {
        return render_merged(report, opts, out);
    }
    for (i, capture) in report.captures.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        let conns: Vec<&ConnectionReport> = super::connections_of(report, i).collect();
        render_capture(capture, &conns, opts, out)?;
    }
    if report.captures.len() > 1 {
        writeln!(out)?;
        writeln!(out, "all captures: {}", totals_line(&report.summary))?;
        render_diagnosed(&report.summary, opts.lang, out)?;
    }
    writeln!(out)?;
    writeln!(out, "{}", report.summary.verdict.text)
}

fn counts<K: Named>(counts: &Counts<K>) -> String {
    let parts: Vec<String> = counts
        .iter()
        .filter(|&(_, n)| n > 0)
        .map(|(k, n)| format!("{} {n}", k.name()))
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

fn totals_line(s: &Summary) -> String {
    format!(
        "{} connection{} · handshake: {} · teardown: {}",
        s.connections,
        if s.connections == 1 { "" } else { "s" },
        counts(&s.by_handshake),
        counts(&s.by_teardown)
    )
}

/// The client cell, with the tunnels that carried the connection below it in
/// short form (`via vxlan:42`); unchanged for a connection captured bare.
fn carried(client: String, c: &ConnectionReport) -> String {
    if c.encapsulation.is_empty() {
        return client;
    }
    let short: Vec<String> = c
        .encapsulation
        .iter()
        .map(|layer| {
            // "vxlan vni=42 10.0.0.1→10.0.0.2" -> "vxlan:42"
            let mut words = layer.split(' ');
            let kind = words.next().unwrap_or_default();
            match words.next().and_then(|w| w.split_once('=')) {
                Some((_, id)) => format!("{kind}:{id}"),
                None => kind.to_string(),
            }
        })
        .collect();
    format!("{client}\nvia {}", short.join("/"))
}

/// Captures read as one (`--merge`): what was read of each file, then the
/// connections of their merged records once.
fn render_merged(report: &Report, opts: &TableOptions, out: &mut dyn Write) -> io::Result<()> {
    for capture in &report.captures {
        render_header(capture, out)?;
        render_stop(capture, out)?;
    }
    // The merged analysis is held by one of the captures; the frames each
    // file skipped are added up.
    let holder = (0..report.captures.len())
        .find(|&i| super::connections_of(report, i).next().is_some())
        .or_else(|| report.captures.iter().position(|c| c.connections > 0))
        .unwrap_or(0);
    let Some(mut all) = report.captures.get(holder).cloned() else {
        return Ok(());
    };
    all.skipped = report
        .captures
        .iter()
        .flat_map(|c| c.skipped.iter())
        .collect();
    let conns: Vec<&ConnectionReport> = super::connections_of(report, holder).collect();
    writeln!(
        out,
        "merged in timestamp order: {}",
        totals_line(&all.summary)
    )?;
    render_body(&all, &conns, opts, out)?;
    writeln!(out)?;
    writeln!(out, "{}", report.summary.verdict.text)
}

/// The capture's name, format, link types and what was read of it.
fn render_header(capture: &CaptureReport, out: &mut dyn Write) -> io::Result<()> {
    let format = match capture.format {
        crate::capture::CaptureFormat::Pcap => "pcap",
        crate::capture::CaptureFormat::Pcapng => "pcapng",
    };
    writeln!(
        out,
        "{} ({format}, {}): {} frames, {} TCP segments",
        super::printable(&capture.file),
        capture.link_types.join("+"),
        capture.frames,
        capture.tcp_segments
    )?;
    Ok(())
}

/// What reading went on past (notices) and where it stopped early, if it did.
fn render_stop(capture: &CaptureReport, out: &mut dyn Write) -> io::Result<()> {
    for notice in &capture.notices {
        writeln!(
            out,
            "warning: at byte offset {} (frame {}): {}",
            notice.offset, notice.frame, notice.message
        )?;
    }
    if let Some(stop) = &capture.stopped {
        writeln!(
            out,
            "warning: reading stopped at byte offset {} (frame {}): {}",
            stop.offset, stop.frame, stop.message
        )?;
    }
    Ok(())
}

fn render_capture(
    capture: &CaptureReport,
    conns: &[&ConnectionReport],
    opts: &TableOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    render_header(capture, out)?;
    writeln!(out, "{}", totals_line(&capture.summary))?;
    render_stop(capture, out)?;
    render_body(capture, conns, opts, out)
}

/// The rows of `conns`, the skipped frames and the findings of `capture`.
fn render_body(
    capture: &CaptureReport,
    conns: &[&ConnectionReport],
    opts: &TableOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let shown = if opts.limit == 0 {
        conns.len()
    } else {
        opts.limit.min(conns.len())
    };
    if shown > 0 {
        let table = match opts.compact() {
            Some(width) => compact_table(&conns[..shown], width),
            None => full_table(&conns[..shown]),
        };
        writeln!(out, "{table}")?;
        let total = shown_of(capture, conns, opts);
        if shown < total {
            // The rows kept are those with the most severe findings first.
            let flagged_shown = conns[..shown]
                .iter()
                .filter(|c| c.findings.iter().any(|f| f.severity >= Severity::Warning))
                .count() as u64;
            writeln!(
                out,
                "… {} more connections not shown, {} of them with warnings or errors (--limit 0 shows all)",
                total - shown,
                capture.flagged.saturating_sub(flagged_shown)
            )?;
        }
    }
    writeln!(out, "skipped frames: {}", counts(&capture.skipped))?;
    if capture.bad_checksums > 0 {
        let n = capture.bad_checksums;
        let of = capture
            .checksums_counted
            .map(|m| format!(" of the first {m} checked"))
            .unwrap_or_default();
        writeln!(
            out,
            "bad checksums: {n} TCP segment{}{of} analyzed anyway (usually checksum offload \
             on the capturing host; --verify-checksums skips them)",
            if n == 1 { "" } else { "s" }
        )?;
    }
    if !capture.evicted.is_empty() {
        writeln!(
            out,
            "evicted early to bound memory: {}",
            counts(&capture.evicted)
        )?;
    }
    let total = shown_of(capture, conns, opts);
    if shown < total {
        // Too many connections to list: say what happened in a few lines.
        render_servers(&capture.summary, out)?;
        render_findings_by_code(&capture.summary, out)?;
    } else {
        render_findings(&conns[..shown], opts.lang, out)?;
    }
    render_diagnosed(&capture.summary, opts.lang, out)?;

    if opts.packets {
        for c in &conns[..shown] {
            render_packets(c, opts.compact(), out)?;
        }
    }
    Ok(())
}

/// The full layout's column headings (the HTML report's English table too).
pub const FULL_COLUMNS: [&str; 12] = [
    "id",
    "client",
    "server",
    "handshake",
    "teardown",
    "client state",
    "server state",
    "pkts",
    "bytes",
    "duration",
    "zeek",
    "findings",
];

/// The full layout: a column for each endpoint, state and counter.
fn full_table(conns: &[&ConnectionReport]) -> Table {
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED.with_rounded_corners());
    table.set_header(FULL_COLUMNS.to_vec());
    for c in conns {
        let teardown = match c.teardown.initiator {
            Some(i) => format!("{} ({})", c.teardown.status.as_str(), i.as_str()),
            None => c.teardown.status.as_str().to_string(),
        };
        table.add_row(vec![
            c.id.to_string(),
            carried(endpoint(&c.client.addr, c.client.port), c),
            endpoint(&c.server.addr, c.server.port),
            c.handshake.status.as_str().to_string(),
            teardown,
            c.client.final_state.to_string(),
            c.server.final_state.to_string(),
            (c.client.packets + c.server.packets).to_string(),
            (c.client.payload_bytes + c.server.payload_bytes).to_string(),
            format!("{:.3} s", c.duration_s),
            format!("{} {}", c.conn_state.as_str(), c.history),
            finding_counts(c),
        ]);
    }
    for col in [0usize, 7, 8, 9] {
        if let Some(column) = table.column_mut(col) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    table
}

/// The compact layout, for a terminal narrower than [`COMPACT_BELOW`]:
/// each row two lines, the client's on the first and the server's on the
/// second (the connection's two ends, and the state each ended in,
/// abbreviated as `ss` does), the handshake above the teardown, the
/// packets and the findings; wrapped to `width` if it must.
fn compact_table(conns: &[&ConnectionReport], width: usize) -> Table {
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED.with_rounded_corners());
    table.set_content_arrangement(ContentArrangement::Dynamic);
    table.set_width(u16::try_from(width).unwrap_or(u16::MAX));
    table.set_header(vec![
        "id",
        "connection",
        "handshake\nteardown",
        "states",
        "pkts",
        "findings",
    ]);
    for c in conns {
        let teardown = match c.teardown.initiator {
            Some(i) => format!("{} ({})", c.teardown.status.as_str(), i.as_str()),
            None => c.teardown.status.as_str().to_string(),
        };
        let connection = format!(
            "{}\n→ {}",
            endpoint(&c.client.addr, c.client.port),
            endpoint(&c.server.addr, c.server.port)
        );
        table.add_row(vec![
            c.id.to_string(),
            carried(connection, c),
            format!("{}\n{teardown}", c.handshake.status.as_str()),
            format!(
                "{}\n{}",
                short_state(c.client.final_state),
                short_state(c.server.final_state)
            ),
            (c.client.packets + c.server.packets).to_string(),
            finding_counts(c).replace(", ", "\n"),
        ]);
    }
    for col in [0usize, 4] {
        if let Some(column) = table.column_mut(col) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    table
}

/// A state as `ss` abbreviates it: `ESTAB`, `SYN-RECV`; the others whole.
fn short_state(state: State) -> &'static str {
    match state {
        State::Established => "ESTAB",
        State::SynReceived => "SYN-RECV",
        other => other.as_str(),
    }
}

/// The rows there are to show: every connection of the capture, or the
/// selected ones.
fn shown_of(capture: &CaptureReport, conns: &[&ConnectionReport], opts: &TableOptions) -> usize {
    if opts.selected {
        conns.len()
    } else {
        usize::try_from(capture.summary.connections).unwrap_or(usize::MAX)
    }
}

/// "1 error, 2 warnings" style cell; "-" when there is nothing.
fn finding_counts(c: &ConnectionReport) -> String {
    let mut parts = Vec::new();
    for level in [Severity::Error, Severity::Warning, Severity::Info] {
        let n = c.findings.iter().filter(|f| f.severity == level).count();
        match (n, level) {
            (0, _) => {}
            (1, _) | (_, Severity::Info) => parts.push(format!("{n} {level}")),
            _ => parts.push(format!("{n} {level}s")),
        }
    }
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(", ")
    }
}

/// The busiest servers and how their connections opened.
fn render_servers(summary: &Summary, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "busiest servers:")?;
    for (server, n, by_status) in summary.servers.top(5) {
        let statuses: Vec<String> = by_status
            .iter()
            .map(|(k, v)| format!("{} {v}", k.as_str()))
            .collect();
        writeln!(
            out,
            "  {server:<24} {n:>9} connection{} (handshake: {})",
            if n == 1 { "" } else { "s" },
            statuses.join(", ")
        )?;
    }
    if summary.servers.others > 0 {
        writeln!(
            out,
            "  … and {} connections to other servers",
            summary.servers.others
        )?;
    }
    Ok(())
}

/// The servers with diagnosed connections, by cause:
/// "10.0.0.5:443  214 connections, 31 diagnosed: silent drop 25, refused 6".
fn render_diagnosed(
    summary: &Summary,
    lang: crate::teach::text::Lang,
    out: &mut dyn Write,
) -> io::Result<()> {
    const SHOWN: usize = 10;
    if summary.servers.none_diagnosed() {
        return Ok(());
    }
    let text = crate::teach::text::Text::new(lang);
    let causes = |by_cause: &crate::report::Counts<crate::diagnosis::Cause>| {
        let mut list: Vec<_> = by_cause.iter().collect();
        list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        list.iter()
            .map(|(c, n)| format!("{} {n}", text.cause(*c)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    writeln!(out, "diagnosis by server:")?;
    let all = summary.servers.diagnosed(0);
    for s in all.iter().take(SHOWN) {
        writeln!(
            out,
            "  {:<24} {:>9} connection{}, {} diagnosed: {}",
            s.server,
            s.connections,
            if s.connections == 1 { "" } else { "s" },
            s.diagnosed,
            causes(&s.by_cause)
        )?;
    }
    if all.len() > SHOWN {
        writeln!(out, "  … and {} more servers", all.len() - SHOWN)?;
    }
    let others = &summary.servers.others_by_cause;
    if !others.is_empty() {
        writeln!(
            out,
            "  other servers: {} diagnosed: {}",
            others.total(),
            causes(others)
        )?;
    }
    Ok(())
}

/// Findings counted by check, most severe first.
fn render_findings_by_code(summary: &Summary, out: &mut dyn Write) -> io::Result<()> {
    if summary.findings.by_code.is_empty() {
        return Ok(());
    }
    writeln!(out, "findings by check (connections):")?;
    let mut rows: Vec<(Rule, u64)> = summary
        .findings
        .by_code
        .iter()
        .map(|(check, n)| (check.rule(), n))
        .collect();
    rows.sort_by(|a, b| {
        b.0.severity
            .cmp(&a.0.severity)
            .then(b.1.cmp(&a.1))
            .then(a.0.code.cmp(b.0.code))
    });
    for (rule, n) in rows {
        writeln!(
            out,
            "  {:<7} {} {:>9}  {}",
            rule.severity.as_str(),
            rule.code,
            n,
            rule.title
        )?;
    }
    Ok(())
}

/// Every finding of the connections shown: severity, code, title, and what happened.
fn render_findings(
    conns: &[&ConnectionReport],
    lang: crate::teach::text::Lang,
    out: &mut dyn Write,
) -> io::Result<()> {
    if conns
        .iter()
        .all(|c| c.findings.is_empty() && c.diagnosis.is_none())
    {
        return Ok(());
    }
    writeln!(out, "findings:")?;
    for c in conns {
        for f in &c.findings {
            let times = if f.count > 1 {
                format!(" (×{})", f.count)
            } else {
                String::new()
            };
            writeln!(
                out,
                "  #{} {:<7} {} {}{times}",
                c.id,
                f.severity.as_str(),
                f.code,
                f.title
            )?;
            writeln!(out, "      {}", f.message)?;
        }
        if let Some(d) = &c.diagnosis {
            let text = crate::teach::text::Text::new(lang);
            writeln!(
                out,
                "  #{} diagnosis: {} ({}): {}",
                c.id,
                text.cause(d.cause),
                text.confidence(d.confidence),
                text.diagnosis(d)
            )?;
        }
    }
    Ok(())
}

/// Every packet of `c`, wrapped to `width` if given (the compact layout).
fn render_packets(
    c: &ConnectionReport,
    width: Option<usize>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let Some(packets) = &c.packets else {
        return Ok(());
    };
    writeln!(out)?;
    writeln!(
        out,
        "connection {}: {} → {}",
        c.id,
        endpoint(&c.client.addr, c.client.port),
        endpoint(&c.server.addr, c.server.port)
    )?;
    let table = match width {
        Some(width) => compact_packets(packets, width),
        None => full_packets(packets),
    };
    writeln!(out, "{table}")
}

fn full_packets(packets: &[PacketReport]) -> Table {
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED.with_rounded_corners());
    table.set_header(vec![
        "frame",
        "time",
        "dir",
        "flags",
        "seq",
        "ack",
        "len",
        "win",
        "client state",
        "server state",
    ]);
    for p in packets {
        table.add_row(vec![
            p.frame.to_string(),
            format!("{:.6}", p.time),
            match p.dir {
                Side::Client => "→",
                Side::Server => "←",
            }
            .to_string(),
            p.flags.to_string(),
            p.rel_seq.to_string(),
            p.rel_ack.map(|a| a.to_string()).unwrap_or_default(),
            p.len.to_string(),
            p.window.to_string(),
            p.client_state.to_string(),
            p.server_state.to_string(),
        ]);
    }
    for col in [0usize, 1, 4, 5, 6, 7] {
        if let Some(column) = table.column_mut(col) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    table
}

/// The packets in the compact layout: the direction beside the flags, no
/// window, the states abbreviated; wrapped to `width` if it must.
fn compact_packets(packets: &[PacketReport], width: usize) -> Table {
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED.with_rounded_corners());
    table.set_content_arrangement(ContentArrangement::Dynamic);
    table.set_width(u16::try_from(width).unwrap_or(u16::MAX));
    table.set_header(vec![
        "frame", "time", "flags", "seq", "ack", "len", "client", "server",
    ]);
    for p in packets {
        let dir = match p.dir {
            Side::Client => "→",
            Side::Server => "←",
        };
        table.add_row(vec![
            p.frame.to_string(),
            format!("{:.6}", p.time),
            format!("{dir} {}", p.flags),
            p.rel_seq.to_string(),
            p.rel_ack.map(|a| a.to_string()).unwrap_or_default(),
            p.len.to_string(),
            short_state(p.client_state).to_string(),
            short_state(p.server_state).to_string(),
        ]);
    }
    for col in [0usize, 1, 3, 4, 5] {
        if let Some(column) = table.column_mut(col) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    table
}
