//! The HTML report (`--format html`): one self-contained page that makes no
//! request of any kind (the CSS, the script and the figures are inline; a
//! Content-Security-Policy forbids everything else) and reads without
//! JavaScript: an overview (captures, verdict, counts, findings by check,
//! skipped frames), the connection table (findings first; sortable and
//! filtered with the script), and per connection shown in detail its SVG
//! ladder ([`super::svg`]), a time–sequence graph per direction with data,
//! and the step-through (each segment with both sides' states and the
//! narration of `--explain`, in the same words: [`Text`]).
//!
//! What is kept while the captures are read is decided in `run::output`: a
//! compact [`Row`] per connection, and the full reports (with packets) of
//! only those that may be shown in detail.

use super::style::{endpoint, spaces, width_of, Style};
use super::svg::{self, colour, escape, escape_into, finding_text};
use super::teaching::TeachOptions;
use crate::report::{
    analysis_flags, direction_name, ConnectionReport, Counts, Named, PacketReport, Report, Verdict,
};
use crate::rules::Severity;
use crate::state::Side;
use crate::teach::text::{Lang, Text};
use crate::teach::{Item, Lesson, LessonOptions};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

/// The report's style sheet and script, inlined into every page.
const CSS: &str = include_str!("html/report.css");
const SCRIPT: &str = include_str!("html/report.js");

mod sha256;

/// The Content-Security-Policy: nothing may be loaded; of what is inline,
/// only the report's own script and style sheets (named by their SHA-256)
/// may run or apply; no form, no base.
pub fn csp() -> String {
    let hash = |text: &str| {
        format!(
            "'sha256-{}'",
            sha256::base64(&sha256::sha256(text.as_bytes()))
        )
    };
    format!(
        "default-src 'none'; script-src {}; style-src {} {}; img-src data:; \
         base-uri 'none'; form-action 'none'",
        hash(SCRIPT),
        hash(CSS),
        hash(svg::STYLE)
    )
}

/// Connections shown in detail when `--html-details` is not given.
pub const DEFAULT_DETAILS: usize = 50;
/// A connection's ladder with every segment (under the collapsed one) only
/// up to this many packets.
const FULL_LADDER_MAX: usize = 400;
/// Points per series of a time–sequence graph at most: beyond, ordinary
/// segments are sampled (the first this many marked ones are all drawn,
/// then they too are sampled).
const GRAPH_POINTS: usize = 4000;

/// How the report is drawn.
#[derive(Debug, Clone, Copy)]
pub struct HtmlOptions {
    pub teach: TeachOptions,
    /// Connections shown in detail, in the table's order.
    pub details: usize,
}

/// The connection table's rows, every connection's, kept while the
/// captures were read (in `run::html`, outside memory); those of the
/// connections shown in detail are the first of the table, drawn here from
/// their full reports.
pub trait TableRows {
    /// The rows in all.
    fn count(&self) -> u64;
    /// The widest of each column's cells, of the rows (the id's: its
    /// largest).
    fn widths(&self) -> Widths;
    /// Hands each row to `line` as its [`row_record`] with its id put in by
    /// [`put_row_id`], in the table's order (findings first, then by id),
    /// but for the first `skip`.
    fn each_after(
        &mut self,
        skip: u64,
        line: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()>;
}

/// The table's columns.
pub const COLUMNS: usize = 12;
/// The columns whose cells are right-aligned.
const NUMERIC: [bool; COLUMNS] = [
    true, false, false, false, false, false, false, true, true, true, false, false,
];
/// Rows in a block of the table: the page lays out only the blocks in view.
const BLOCK: u64 = 1000;

/// The widest cell of each column, in characters (the cells are ASCII).
#[derive(Debug, Clone, Copy, Default)]
pub struct Widths(pub [usize; COLUMNS]);

impl Widths {
    /// Makes each column as wide as `other`'s, if wider.
    pub fn merge(&mut self, other: &Widths) {
        for (w, o) in self.0.iter_mut().zip(other.0) {
            *w = (*w).max(o);
        }
    }
}

/// The page's own words (the teaching texts come from [`Text`]).
struct Words {
    lang: &'static str,
    title: &'static str,
    overview: &'static str,
    captures: &'static str,
    verdict: &'static str,
    fail_on: &'static str,
    handshake: &'static str,
    teardown: &'static str,
    findings_by_check: &'static str,
    no_findings: &'static str,
    skipped: &'static str,
    none: &'static str,
    connections: &'static str,
    filter: &'static str,
    columns: [&'static str; 12],
    details: &'static str,
    details_note: &'static str,
    /// Under the table's heading: its order, which rows have details.
    table_note: &'static str,
    every_segment: &'static str,
    graph: &'static str,
    graph_legend: &'static str,
    /// A detail without the connection's packets.
    no_packets: &'static str,
    steps: &'static str,
    previous: &'static str,
    next: &'static str,
    findings: &'static str,
    frames: &'static str,
    segments: &'static str,
    /// Brackets around a count: ` (3)` / `（3）`.
    count: (&'static str, &'static str),
    /// After a count: `3 connections` / `3 个连接`.
    n_connections: &'static str,
    colon: &'static str,
}

const EN: Words = Words {
    lang: "en",
    title: "tcpstate report",
    overview: "Overview",
    captures: "Captures",
    verdict: "Verdict",
    fail_on: "fails on",
    handshake: "Handshake",
    teardown: "Teardown",
    findings_by_check: "Findings by check",
    no_findings: "no findings",
    skipped: "Skipped frames",
    none: "none",
    connections: "Connections",
    filter: "Filter",
    columns: super::table::FULL_COLUMNS,
    details: "Connections in detail",
    details_note: "in detail: the first {n} connections of the table (--html-details); {rest} more without details",
    table_note: "Every connection: those with findings first, then by id. An id that is a link has its detail below (the first --html-details connections); the others are in the table only.",
    every_segment: "every segment",
    graph: "Time–sequence graph",
    graph_legend: "relative sequence number against time: data segments (retransmission red, out-of-order orange), the peer's ACK line (green) and the window it advertises as carried in the header (blue, dashed; flattened at the top when it is far above the data), zero windows (×)",
    no_packets: "Its segments were not kept: the report keeps the segments only of the connections that begin among the first 1,024 of a capture (or 16 per detail asked for, if more) until it has its details, and this one began later.",
    steps: "Step through",
    previous: "◀ previous",
    next: "next ▶",
    findings: "Findings",
    frames: "frames",
    segments: "TCP segments",
    count: (" (", ")"),
    n_connections: "connections",
    colon: ": ",
};

const ZH: Words = Words {
    lang: "zh-CN",
    title: "tcpstate 报告",
    overview: "概览",
    captures: "抓包文件",
    verdict: "结论",
    fail_on: "失败级别",
    handshake: "三次握手",
    teardown: "释放连接",
    findings_by_check: "各检查项的发现",
    no_findings: "没有发现",
    skipped: "跳过的帧",
    none: "无",
    connections: "连接",
    filter: "筛选",
    columns: [
        "编号",
        "客户端",
        "服务器",
        "三次握手",
        "释放连接",
        "客户端状态",
        "服务器状态",
        "报文段",
        "字节",
        "时长",
        "zeek",
        "发现",
    ],
    details: "连接详情",
    details_note: "详情：表中前 {n} 个连接（--html-details）；另有 {rest} 个连接没有详情",
    table_note: "全部连接：有发现的连接在前，其余按编号排列。编号带链接的连接在下方有详情（前 --html-details 个连接），其余只在表中列出。",
    every_segment: "全部报文段",
    graph: "时间–序号图",
    graph_legend: "相对序号 seq 随时间变化：数据报文段（重传为红色，乱序为橙色）、对方的确认号 ack（绿色）和对方首部中的窗口（接收方允许发送的数据量，蓝色虚线；远高于数据时在顶部截平），零窗口（×）",
    no_packets: "没有保留它的报文段：在详情凑齐之前，报告只保留每个抓包文件中最先开始的 1024 个连接（要求的详情较多时为每个详情 16 个）的报文段，这个连接开始得更晚。",
    steps: "逐步演示",
    previous: "◀ 上一步",
    next: "下一步 ▶",
    findings: "发现",
    frames: "帧",
    segments: "个 TCP 报文段",
    count: ("（", "）"),
    n_connections: "个连接",
    colon: "：",
};

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::En => &EN,
        Lang::Zh => &ZH,
    }
}

/// Writes the report: `report` holds the captures, the summary and the
/// full reports of the connections that may be shown in detail (the first
/// of the table's order with findings and without); `rows` every
/// connection's row.
pub fn render(
    report: &Report,
    rows: &mut dyn TableRows,
    opts: &HtmlOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let text = Text::new(opts.teach.lang);
    let w = words(opts.teach.lang);
    // The details: the first N of the table's order, which are the first N
    // rows of the table.
    let mut detailed: Vec<&ConnectionReport> = report.connections.iter().collect();
    detailed.sort_by_key(|c| (c.findings.is_empty(), c.id));
    detailed.truncate(opts.details);
    let total = rows.count().max(detailed.len() as u64);

    let mut page = String::with_capacity(64 << 10);
    head(&mut page, w);
    overview(&mut page, report, &text, w);
    // The column widths: of every row, the detailed ones' too.
    let mut widths = rows.widths();
    let mut records: Vec<String> = Vec::with_capacity(detailed.len());
    for c in &detailed {
        let id = c.id.to_string();
        widths.0[0] = widths.0[0].max(id.len());
        records.push(id + &row_record(c, &mut widths));
    }
    table_head(&mut page, total, &mut widths, w);
    out.write_all(page.as_bytes())?;
    page.clear();
    let mut lines = Lines {
        out,
        widths: &widths,
        page: String::new(),
        count: 0,
    };
    for r in &records {
        lines.line(r.as_bytes(), true)?;
    }
    rows.each_after(detailed.len() as u64, &mut |record| {
        lines.line(record, false)
    })?;
    lines.end()?;
    page.push_str("</div>\n</section>\n");
    let _ = writeln!(page, "<section id=\"details\"><h2>{}</h2>", w.details);
    let rest = total.saturating_sub(detailed.len() as u64);
    if rest > 0 {
        let note = w
            .details_note
            .replace("{n}", &detailed.len().to_string())
            .replace("{rest}", &rest.to_string());
        let _ = writeln!(
            page,
            "<p class=\"note\" id=\"not-detailed\">{}</p>",
            escape(&note)
        );
    }
    out.write_all(page.as_bytes())?;
    for c in detailed {
        page.clear();
        detail(&mut page, c, report, opts.teach.lesson, &text, w);
        out.write_all(page.as_bytes())?;
    }
    page.clear();
    let _ = writeln!(
        page,
        "</section>\n</main>\n<script>{SCRIPT}</script>\n</body>\n</html>"
    );
    out.write_all(page.as_bytes())
}

fn head(page: &mut String, w: &Words) {
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n<h1>{}</h1>\n",
        w.lang,
        csp(),
        w.title,
        w.title
    );
}

/// The verdict's result as the JSON names it.
fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::Empty => "empty",
        Verdict::Error => "error",
    }
}

/// The counts by name, in the order of the names.
fn named<K: Named>(counts: &Counts<K>) -> BTreeMap<&'static str, u64> {
    counts.iter().map(|(k, n)| (k.name(), n)).collect()
}

/// `k n, k n` of a count map (its keys HTML already), or `none`.
fn counts_list<K: AsRef<str>>(page: &mut String, map: &BTreeMap<K, u64>, w: &Words) {
    let shown: Vec<_> = map.iter().filter(|(_, n)| **n > 0).collect();
    if shown.is_empty() {
        let _ = write!(page, "<p class=\"none\">{}</p>", w.none);
        return;
    }
    page.push_str("<table class=\"counts\"><tbody>");
    for (k, n) in shown {
        let _ = write!(page, "<tr><th>{}</th><td>{n}</td></tr>", k.as_ref());
    }
    page.push_str("</tbody></table>");
}

fn overview(page: &mut String, report: &Report, text: &Text, w: &Words) {
    let s = &report.summary;
    let v = &s.verdict;
    let _ = writeln!(page, "<section id=\"overview\"><h2>{}</h2>", w.overview);
    let _ = writeln!(
        page,
        "<p class=\"verdict {r}\" id=\"verdict\">{}{}<span class=\"badge\">{R}</span> \
         <span class=\"failon\">{} {}</span> {}</p>",
        w.verdict,
        w.colon,
        w.fail_on,
        escape(v.fail_on.map_or("never", Severity::as_str)),
        escape(&v.text),
        r = verdict_name(v.result),
        R = verdict_name(v.result).to_uppercase(),
    );
    let _ = write!(page, "<h3>{}</h3><ul class=\"captures\">", w.captures);
    for c in &report.captures {
        let format = match c.format {
            crate::capture::CaptureFormat::Pcap => "pcap",
            crate::capture::CaptureFormat::Pcapng => "pcapng",
        };
        let _ = write!(
            page,
            "<li><code>{}</code> ({format}, {}): {} {}, {} {}, {} {}",
            escape(&super::printable(&c.file)),
            escape(&c.link_types.join("+")),
            c.frames,
            w.frames,
            c.tcp_segments,
            w.segments,
            c.connections,
            w.n_connections
        );
        if let Some(stop) = &c.stopped {
            let _ = write!(
                page,
                " <span class=\"warning\">⚠ {} {} ({}): {}</span>",
                stop.offset,
                stop.frame,
                w.frames,
                escape(&stop.message)
            );
        }
        page.push_str("</li>");
    }
    page.push_str("</ul>\n<div class=\"cards\">");
    let _ = write!(page, "<div class=\"card\"><h3>{}</h3>", w.handshake);
    // The statuses in the course's words, with the names the table and the
    // JSON use.
    let worded = |word: &str, name: &str| {
        if word == name {
            escape(name)
        } else {
            format!("{} <code>{}</code>", escape(word), escape(name))
        }
    };
    let handshakes: BTreeMap<String, u64> = s
        .by_handshake
        .iter()
        .map(|(k, n)| (worded(text.handshake_status(k), k.name()), n))
        .collect();
    counts_list(page, &handshakes, w);
    let _ = write!(page, "</div><div class=\"card\"><h3>{}</h3>", w.teardown);
    let teardowns: BTreeMap<String, u64> = s
        .by_teardown
        .iter()
        .map(|(k, n)| (worded(text.teardown_status(k), k.name()), n))
        .collect();
    counts_list(page, &teardowns, w);
    let _ = write!(
        page,
        "</div><div class=\"card\"><h3>{}</h3>",
        w.findings_by_check
    );
    findings_chart(page, &named(&s.findings.by_code), w);
    let _ = write!(page, "</div><div class=\"card\"><h3>{}</h3>", w.skipped);
    let mut skipped: BTreeMap<&'static str, u64> = BTreeMap::new();
    for c in &report.captures {
        for (k, n) in c.skipped.iter() {
            *skipped.entry(k.name()).or_default() += n;
        }
    }
    let skipped: BTreeMap<String, u64> = skipped.into_iter().map(|(k, n)| (escape(k), n)).collect();
    counts_list(page, &skipped, w);
    page.push_str("</div></div>\n</section>\n");
}

/// The findings by check as a bar chart (an SVG, so that it needs no style
/// attribute), coloured by the check's severity.
fn findings_chart(page: &mut String, by_code: &BTreeMap<&'static str, u64>, w: &Words) {
    let bars: Vec<(&str, u64)> = by_code
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| (*k, *n))
        .collect();
    if bars.is_empty() {
        let _ = write!(page, "<p class=\"none\">{}</p>", w.no_findings);
        return;
    }
    let max = bars.iter().map(|b| b.1).max().unwrap_or(1).max(1) as f64;
    let h = bars.len() * 20 + 4;
    let _ = write!(
        page,
        "<svg class=\"bars\" width=\"320\" height=\"{h}\" viewBox=\"0 0 320 {h}\" role=\"img\" font-size=\"12\" font-family=\"monospace\">"
    );
    for (i, (code, n)) in bars.iter().enumerate() {
        let y = i * 20 + 2;
        let len = (*n as f64 / max * 200.0).max(2.0);
        let severity = crate::rules::Check::from_code(code).map(|c| c.rule().severity);
        let fill = match severity {
            Some(Severity::Error) => colour(Style::Error, ""),
            Some(Severity::Warning) => colour(Style::Warning, ""),
            _ => colour(Style::Info, ""),
        };
        let _ = write!(
            page,
            "<g class=\"bar\" data-code=\"{c}\"><text x=\"0\" y=\"{ty}\">{c}</text>\
             <rect x=\"60\" y=\"{y}\" width=\"{len:.1}\" height=\"15\" fill=\"{fill}\"/>\
             <text x=\"{tx:.1}\" y=\"{ty}\">{n}</text></g>",
            c = escape(code),
            ty = y + 12,
            tx = 66.0 + len,
        );
    }
    page.push_str("</svg>");
}

/// The connection table's heading, filter box and head line, up to its
/// first block. The table is lines of text in columns (a `<pre>` per
/// [`BLOCK`] rows), not a `<table>`: a browser lays out hundreds of
/// thousands of lines at once, it does not so many table rows. Its head
/// line names the columns (their buttons sort with the script) and says
/// where each starts (`data-at`), for the script to read the cells.
fn table_head(page: &mut String, total: u64, widths: &mut Widths, w: &Words) {
    let _ = write!(
        page,
        "<section id=\"connections\"><h2>{}{}{total}{}</h2>\n\
         <p class=\"js-only\"><label>{} <input type=\"search\" id=\"filter\" autocomplete=\"off\"></label> \
         <span id=\"shown\"></span></p>\n<p class=\"note\">{}</p>\n<div id=\"conns\" data-rows=\"{total}\">\n<pre class=\"head\">",
        w.connections, w.count.0, w.count.1, w.filter, w.table_note
    );
    for (i, col) in w.columns.iter().enumerate() {
        widths.0[i] = widths.0[i].max(width_of(col));
    }
    let mut at = 0;
    for (i, col) in w.columns.iter().enumerate() {
        let pad = spaces(widths.0[i].saturating_sub(width_of(col)));
        let (before, after) = if NUMERIC[i] {
            (pad, String::new())
        } else {
            (String::new(), pad)
        };
        if i > 0 {
            page.push_str("  ");
        }
        let _ = write!(
            page,
            "<button type=\"button\" class=\"sort\" data-col=\"{i}\" data-at=\"{at}\"{}>{before}{col}{after}</button>",
            if NUMERIC[i] { " data-numeric=\"1\"" } else { "" }
        );
        at += widths.0[i] + 2;
    }
    page.push_str("</pre>\n");
}

/// Appends a cell escaped; most are plain ASCII with nothing to escape.
fn push_cell(page: &mut String, cell: &str) {
    let plain = cell
        .bytes()
        .all(|b| (b' '..=b'~').contains(&b) && !matches!(b, b'<' | b'>' | b'&' | b'"' | b'\''));
    if plain {
        page.push_str(cell);
    } else {
        escape_into(page, cell);
    }
}

/// Appends `n` spaces.
fn push_spaces(page: &mut String, n: usize) {
    const SPACES: &str = "                                                                ";
    let mut left = n;
    while left > 0 {
        let k = left.min(SPACES.len());
        page.push_str(&SPACES[..k]);
        left -= k;
    }
}

/// Writes the table's lines, a block at a time.
struct Lines<'a> {
    out: &'a mut dyn Write,
    widths: &'a Widths,
    page: String,
    count: u64,
}

/// The cells of a row's record, between tabs: a byte scan (a tab is one
/// byte, never inside another character), cheaper on short cells than a
/// string pattern's search.
fn tab_cells(record: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(record);
    std::iter::from_fn(move || {
        let r = rest?;
        match r.bytes().position(|b| b == b'\t') {
            Some(at) => {
                rest = Some(&r[at + 1..]);
                Some(&r[..at])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

impl Lines<'_> {
    /// One row's line from its record (its id, then its cells after tabs);
    /// `link`: its id links to its detail.
    fn line(&mut self, record: &[u8], link: bool) -> io::Result<()> {
        let page = &mut self.page;
        if self.count % BLOCK == 0 {
            if self.count > 0 {
                page.push_str("</pre>\n");
            }
            page.push_str("<pre class=\"rows\">");
        } else {
            page.push('\n');
        }
        self.count += 1;
        let record = match std::str::from_utf8(record) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(record),
        };
        for (i, cell) in tab_cells(&record).take(COLUMNS).enumerate() {
            if i > 0 {
                page.push_str("  ");
            }
            let pad = self.widths.0[i].saturating_sub(cell.len());
            if NUMERIC[i] {
                push_spaces(page, pad);
            }
            if i == 0 && link {
                let _ = write!(page, "<a href=\"#c{cell}\">{cell}</a>");
            } else if i == COLUMNS - 1 {
                // The findings: `CODE:severity …`, each coloured.
                for (n, f) in cell.split(' ').filter(|f| !f.is_empty()).enumerate() {
                    let (code, severity) = f.split_once(':').unwrap_or((f, ""));
                    if n > 0 {
                        page.push(' ');
                    }
                    page.push_str("<b class=\"");
                    escape_into(page, severity);
                    page.push_str("\">");
                    escape_into(page, code);
                    page.push_str("</b>");
                }
            } else {
                push_cell(page, cell);
            }
            if !NUMERIC[i] && i < COLUMNS - 1 {
                push_spaces(page, pad);
            }
        }
        if page.len() >= 64 << 10 {
            self.out.write_all(page.as_bytes())?;
            page.clear();
        }
        Ok(())
    }

    fn end(mut self) -> io::Result<()> {
        if self.count > 0 {
            self.page.push_str("</pre>\n");
        }
        self.out.write_all(self.page.as_bytes())
    }
}

/// The row of connection `c` as a record of the table, less its id (ids
/// shift when captures are merged; [`put_row_id`] writes it at the
/// start): its cells, each after a tab, the findings last as
/// `CODE:severity` words. Widens `widths` to its cells.
pub fn row_record(c: &ConnectionReport, widths: &mut Widths) -> String {
    let mut page = String::with_capacity(160);
    // Each cell after a tab, its width noted. Cells are written straight
    // into the record (this runs for every connection): none can hold a
    // tab or a line end, which would break it (addresses, numbers and the
    // model's names only).
    let mut cell = |page: &mut String, i: usize, write: &dyn Fn(&mut String)| {
        page.push('\t');
        let start = page.len();
        write(page);
        debug_assert!(!page[start..].contains(['\t', '\n', '\r']));
        widths.0[i] = widths.0[i].max(page.len() - start);
    };
    let endpoint = |page: &mut String, addr: &str, port: u16| {
        if addr.contains(':') {
            page.push('[');
            page.push_str(addr);
            page.push(']');
        } else {
            page.push_str(addr);
        }
        page.push(':');
        page.push_str(itoa::Buffer::new().format(port));
    };
    let (client, server) = (&c.client, &c.server);
    cell(&mut page, 1, &|p| endpoint(p, &client.addr, client.port));
    cell(&mut page, 2, &|p| endpoint(p, &server.addr, server.port));
    cell(&mut page, 3, &|p| p.push_str(c.handshake.status.as_str()));
    cell(&mut page, 4, &|p| {
        p.push_str(c.teardown.status.as_str());
        if let Some(i) = c.teardown.initiator {
            p.push_str(" (");
            p.push_str(i.as_str());
            p.push(')');
        }
    });
    cell(&mut page, 5, &|p| p.push_str(client.final_state.as_str()));
    cell(&mut page, 6, &|p| p.push_str(server.final_state.as_str()));
    cell(&mut page, 7, &|p| {
        p.push_str(itoa::Buffer::new().format(client.packets + server.packets))
    });
    cell(&mut page, 8, &|p| {
        p.push_str(itoa::Buffer::new().format(client.payload_bytes + server.payload_bytes))
    });
    cell(&mut page, 9, &|p| {
        seconds_3(p, c.duration_s);
        p.push_str(" s");
    });
    cell(&mut page, 10, &|p| {
        p.push_str(c.conn_state.as_str());
        p.push(' ');
        p.push_str(c.history.as_str());
    });
    page.push('\t');
    for (i, f) in c.findings.iter().enumerate() {
        if i > 0 {
            page.push(' ');
        }
        page.push_str(f.code.code());
        page.push(':');
        page.push_str(f.severity.as_str());
    }
    page
}

/// `x` as `format!("{x:.3}")` writes it: in milliseconds by integer
/// arithmetic, unless `x` is not a plain duration or lies so near a
/// rounding boundary that only the exact decimal expansion can tell.
fn seconds_3(out: &mut String, x: f64) {
    let ms = x * 1000.0;
    let rounded = ms.round();
    // x · 1000 is off the exact value by half an ulp at most: far enough
    // from a rounding boundary, it rounds as the exact value does.
    let margin = 1e-9 + ms.abs() * 1e-14;
    if x.is_finite()
        && x.is_sign_positive()
        && ms < 1e12
        && ((ms - rounded).abs() - 0.5).abs() > margin
    {
        let ms = rounded as u64;
        out.push_str(itoa::Buffer::new().format(ms / 1000));
        out.push('.');
        let frac = ms % 1000;
        if frac < 100 {
            out.push('0');
        }
        if frac < 10 {
            out.push('0');
        }
        out.push_str(itoa::Buffer::new().format(frac));
    } else {
        let _ = write!(out, "{x:.3}");
    }
}

/// Writes a [`row_record`]'s id, at its start.
pub fn put_row_id(id: u64, out: &mut dyn Write) -> io::Result<()> {
    write!(out, "{id}")
}

/// One connection in detail: its ladder, the step-through, its
/// time–sequence graphs, its findings and result.
fn detail(
    page: &mut String,
    c: &ConnectionReport,
    report: &Report,
    lesson_opts: LessonOptions,
    text: &Text,
    w: &Words,
) {
    let lesson = Lesson::new(c, lesson_opts);
    let id = c.id;
    let packets: &[PacketReport] = c.packets.as_deref().unwrap_or(&[]);
    let client = endpoint(&c.client.addr, c.client.port);
    let server = endpoint(&c.server.addr, c.server.port);
    let transitions: usize = packets.iter().map(|p| p.transitions.len()).sum();
    let _ = write!(
        page,
        "<section class=\"conn\" id=\"c{id}\" data-id=\"{id}\" data-packets=\"{}\" data-transitions=\"{transitions}\" tabindex=\"-1\">\n<h3>{}</h3>\n",
        packets.len(),
        escape(&text.connection_title(id, &client, &server, "→"))
    );
    if let Some(capture) = report.captures.get(c.capture) {
        let _ = write!(
            page,
            "<p class=\"file\"><code>{}</code></p>",
            escape(&super::printable(&capture.file))
        );
    }
    let _ = writeln!(page, "<p class=\"result\">{}</p>", escape(&text.result(c)));
    if let Some(d) = &c.diagnosis {
        let _ = writeln!(
            page,
            "<p class=\"diagnosis\" data-cause=\"{}\" data-confidence=\"{}\">{}</p>",
            d.cause.as_str(),
            d.confidence.as_str(),
            escape(&text.diagnosis_line(c).unwrap_or_default())
        );
    }
    if c.packets.is_none() {
        let _ = writeln!(page, "<p class=\"note no-packets\">{}</p>", w.no_packets);
    }
    let (stepper, list) = steps(&lesson, text, w);
    page.push_str("<div class=\"pair\"><figure class=\"ladder-fig\">");
    page.push_str(&svg::ladder(c, lesson_opts, text, &format!("c{id}")));
    page.push_str("</figure>\n");
    page.push_str(&stepper);
    page.push_str("</div>\n");
    let collapsed = lesson
        .phases
        .iter()
        .flat_map(|ph| &ph.items)
        .any(|i| matches!(i, Item::Collapsed(_)));
    if collapsed && packets.len() <= FULL_LADDER_MAX {
        let full = LessonOptions {
            full: true,
            ..lesson_opts
        };
        let _ = writeln!(
            page,
            "<details class=\"full\"><summary>{} ({})</summary>{}</details>",
            w.every_segment,
            packets.len(),
            svg::ladder(c, full, text, &format!("c{id}-full"))
        );
    }
    page.push_str(&list);
    let graphs: Vec<String> = [Side::Client, Side::Server]
        .into_iter()
        .filter_map(|side| time_sequence(packets, side, text))
        .collect();
    if !graphs.is_empty() {
        let _ = write!(
            page,
            "<h4>{}</h4><p class=\"legend\">{}</p><div class=\"tsg\">",
            w.graph, w.graph_legend
        );
        for g in graphs {
            page.push_str(&g);
        }
        page.push_str("</div>\n");
    }
    if !c.findings.is_empty() {
        let _ = write!(page, "<h4>{}</h4><ul class=\"findings\">", w.findings);
        for f in &c.findings {
            let _ = write!(
                page,
                "<li class=\"{}\">{}</li>",
                f.severity.as_str(),
                escape(&finding_text(f, text))
            );
        }
        page.push_str("</ul>\n");
    }
    page.push_str("</section>\n");
}

/// The step-through: one item per segment of the ladder, with both sides'
/// states after it and its narration. Without the script it is the list
/// (the second part); with it, the stepper (the first part, beside the
/// ladder): buttons and the arrow keys move a cursor over the list and the
/// ladder.
fn steps(lesson: &Lesson<'_>, text: &Text, w: &Words) -> (String, String) {
    let segs: Vec<_> = lesson.segments().collect();
    if segs.is_empty() {
        return (String::new(), String::new());
    }
    let mut stepper = String::new();
    let _ = writeln!(
        stepper,
        "<div class=\"stepper js-only\" data-steps=\"{}\"><h4>{}</h4>\
         <button type=\"button\" class=\"prev\">{}</button> \
         <span class=\"pos\"></span> \
         <button type=\"button\" class=\"next\">{}</button>\
         <div class=\"now\"><span class=\"cs\"></span><span class=\"ss\"></span></div>\
         <p class=\"narration\"></p></div>",
        segs.len(),
        w.steps,
        w.previous,
        w.next
    );
    let mut page = String::new();
    let _ = write!(
        page,
        "<h4 class=\"nojs-only\">{}</h4><ol class=\"steps\">",
        w.steps
    );
    for (i, s) in segs.iter().enumerate() {
        let (cs, ss) = (s.p.client_state.as_str(), s.p.server_state.as_str());
        let _ = write!(
            page,
            "<li data-step=\"{i}\" data-frame=\"{}\" data-client=\"{cs}\" data-server=\"{ss}\">\
             <span class=\"line\">{}</span> <b class=\"flags\">{}</b> ",
            s.p.frame,
            escape(&text.line(s.p.frame)),
            escape(&s.flags)
        );
        let mut nums = format!("seq={}{}", s.seq, s.ack_text(text));
        let _ = write!(nums, " len={}{}", s.p.len, s.analysis_text(text));
        escape_into(&mut page, &nums);
        if let Some(step) = s.step {
            let _ = write!(page, " <i class=\"step\">{}</i>", escape(&text.step(step)));
        }
        let _ = write!(
            page,
            "<br><span class=\"states\">{} <b>{cs}</b> · {} <b>{ss}</b></span>",
            escape(text.side(Side::Client)),
            escape(text.side(Side::Server))
        );
        if let Some(n) = text.narration(s, &lesson.facts, lesson.conn) {
            page.push_str("<br><span class=\"narr\">");
            escape_into(&mut page, &n);
            page.push_str("</span>");
        }
        for f in &s.findings {
            let _ = write!(
                page,
                "<br><span class=\"code {}\">⚠ {}</span>",
                f.severity.as_str(),
                escape(&text.finding(f))
            );
        }
        page.push_str("</li>");
    }
    page.push_str("</ol>\n");
    (stepper, page)
}

/// The Stevens/tcptrace time–sequence graph of one direction: each data
/// segment a vertical bar from its relative sequence number to the end of
/// its data, the peer's acknowledgements as a step line, and the window the
/// peer advertises above it; retransmissions, out-of-order segments and
/// zero windows marked. `None` when the direction carries no data.
fn time_sequence(packets: &[PacketReport], side: Side, text: &Text) -> Option<String> {
    let dir = direction_name(side);
    let data: Vec<&PacketReport> = packets
        .iter()
        .filter(|p| p.dir == side && p.len > 0)
        .collect();
    if data.is_empty() {
        return None;
    }
    let acks: Vec<&PacketReport> = packets
        .iter()
        .filter(|p| p.dir != side && p.rel_ack.is_some())
        .collect();
    let t_max = packets.iter().map(|p| p.time).fold(0.0_f64, f64::max);
    let t_max = if t_max > 0.0 { t_max } else { 1e-3 };
    let mut y_min = f64::INFINITY;
    let mut y_max = 0.0_f64;
    for p in &data {
        y_min = y_min.min(f64::from(p.rel_seq));
        y_max = y_max.max(f64::from(p.rel_seq) + f64::from(p.len));
    }
    for p in &acks {
        let a = f64::from(p.rel_ack.unwrap_or(0));
        y_min = y_min.min(a);
        y_max = y_max.max(a);
    }
    // The window often dwarfs the data: it is drawn as far as a quarter
    // more than the data's span, and flattened at the top beyond that.
    let span = (y_max - y_min).max(1.0);
    let window_top = acks
        .iter()
        .map(|p| f64::from(p.rel_ack.unwrap_or(0)) + f64::from(p.window))
        .fold(0.0_f64, f64::max);
    y_max = y_max.max(window_top.min(y_max + span / 4.0));
    let (w, h, left, bottom, top, right) = (680.0, 280.0, 84.0, 34.0, 24.0, 16.0);
    let x = |t: f64| left + t / t_max * (w - left - right);
    let y = |s: f64| h - bottom - (s - y_min) / (y_max - y_min) * (h - bottom - top);
    let who = if dir == "c2s" {
        Side::Client
    } else {
        Side::Server
    };
    let mut g = String::new();
    let _ = write!(
        g,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"tsg-graph\" data-dir=\"{dir}\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" role=\"img\" font-size=\"11\" font-family=\"monospace\">\
         <title>{}</title>",
        escape(&format!("{} → {}", text.side(who), text.side(who.peer())))
    );
    let _ = write!(
        g,
        "<text x=\"{left}\" y=\"14\" font-weight=\"bold\">{}</text>\
         <line x1=\"{left}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#57606a\"/>\
         <line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{b}\" stroke=\"#57606a\"/>\
         <text x=\"{left}\" y=\"{tl}\" text-anchor=\"middle\">0 s</text>\
         <text x=\"{r}\" y=\"{tl}\" text-anchor=\"end\">{t_max:.6} s</text>\
         <text x=\"{yl}\" y=\"{b}\" text-anchor=\"end\">{}</text>\
         <text x=\"{yl}\" y=\"{ty}\" text-anchor=\"end\">{}</text>",
        escape(&format!("{} → {}", text.side(who), text.side(who.peer()))),
        y_min as u64,
        y_max as u64,
        b = h - bottom,
        r = w - right,
        tl = h - bottom + 14.0,
        yl = left - 4.0,
        ty = top + 4.0,
    );
    // The peer's acknowledgements and window, as step lines.
    let stride = |n: usize| n.div_ceil(GRAPH_POINTS).max(1);
    let (mut ack_line, mut win_line) = (String::new(), String::new());
    let step = stride(acks.len());
    let mut last: Option<(f64, f64, f64)> = None;
    for (i, p) in acks.iter().enumerate() {
        let a = f64::from(p.rel_ack.unwrap_or(0));
        let wn = (a + f64::from(p.window)).min(y_max);
        if i % step != 0 && i + 1 != acks.len() {
            continue;
        }
        let px = x(p.time);
        if let Some((_, la, lw)) = last {
            let _ = write!(ack_line, "{px:.1},{:.1} ", y(la));
            let _ = write!(win_line, "{px:.1},{:.1} ", y(lw));
        }
        let _ = write!(ack_line, "{px:.1},{:.1} ", y(a));
        let _ = write!(win_line, "{px:.1},{:.1} ", y(wn));
        last = Some((px, a, wn));
    }
    if !ack_line.is_empty() {
        let _ = write!(
            g,
            "<polyline class=\"ack\" fill=\"none\" stroke=\"#1a7f37\" stroke-width=\"1.2\" points=\"{}\"/>\
             <polyline class=\"window\" fill=\"none\" stroke=\"#0550ae\" stroke-dasharray=\"4 3\" points=\"{}\"/>",
            ack_line.trim_end(),
            win_line.trim_end()
        );
    }
    for p in acks.iter().filter(|p| p.window == 0).take(GRAPH_POINTS) {
        let (px, py) = (x(p.time), y(f64::from(p.rel_ack.unwrap_or(0))));
        let _ = write!(
            g,
            "<g class=\"zero-window\"><title>{} {}</title><path d=\"M{:.1},{:.1}l8,8m0,-8l-8,8\" stroke=\"#c0392b\" stroke-width=\"2\"/></g>",
            escape(&text.line(p.frame)),
            escape(&text.analysis("zero_window")),
            px - 4.0,
            py - 4.0
        );
    }
    let step = stride(data.len());
    let mut marks = 0;
    for (i, p) in data.iter().enumerate() {
        let marked = analysis_flags(p.analysis)
            .map(|(_, name)| name)
            .find(|a| a.contains("retransmission") || *a == "out_of_order");
        // Marked segments are drawn first of all, up to the bound too.
        let keep = match marked {
            Some(_) => {
                marks += 1;
                marks <= GRAPH_POINTS || i % step == 0
            }
            None => i % step == 0,
        };
        if !keep {
            continue;
        }
        let (stroke, class) = match marked {
            Some(a) if a.contains("retransmission") => ("#c0392b", "seg retransmission"),
            Some(_) => ("#d9730d", "seg out-of-order"),
            None => ("#1f2328", "seg"),
        };
        let px = x(p.time);
        let (y0, y1) = (
            y(f64::from(p.rel_seq)),
            y(f64::from(p.rel_seq) + f64::from(p.len)),
        );
        let _ = write!(
            g,
            "<path class=\"{class}\" d=\"M{:.1},{y0:.1}V{y1:.1}m-3,0h6m-6,{:.1}h6\" stroke=\"{stroke}\" stroke-width=\"1.3\" fill=\"none\"><title>{}</title></path>",
            px,
            y0 - y1,
            escape(&format!(
                "{} seq={} len={}{}",
                text.line(p.frame),
                p.rel_seq,
                p.len,
                marked.map(|a| format!(" [{}]", text.analysis(a))).unwrap_or_default()
            ))
        );
    }
    g.push_str("</svg>");
    Some(g)
}

#[cfg(test)]
mod tests {
    use super::seconds_3;

    #[test]
    fn cells_are_what_split_gives() {
        for record in [
            "",
            "a",
            "a\tb",
            "\t",
            "1\t10.0.0.1:80\t\tx y\t",
            "é\t中文\t",
        ] {
            let ours: Vec<&str> = super::tab_cells(record).collect();
            let theirs: Vec<&str> = record.split('\t').collect();
            assert_eq!(ours, theirs, "{record:?}");
        }
    }

    #[test]
    fn seconds_are_written_as_format_writes_them() {
        let mut step = 0x2545_f491_4f6c_dd1du64;
        let mut x = 0.0f64;
        for _ in 0..200_000 {
            step ^= step << 13;
            step ^= step >> 7;
            step ^= step << 17;
            for v in [
                x,
                (step % 10_000_000) as f64 / 1e6,
                (step % 1000) as f64 / 2000.0,
                (step % 1_000_000_007) as f64 / 1e9,
            ] {
                let mut ours = String::new();
                seconds_3(&mut ours, v);
                assert_eq!(ours, format!("{v:.3}"), "{v:?}");
            }
            x += 0.000_123_7;
        }
        for v in [
            0.0,
            0.0005,
            0.0015,
            0.0025,
            1.2345,
            2.5e-4,
            1e12,
            1e16,
            -0.0,
            -1.0,
            1e300,
            f64::NAN,
            f64::INFINITY,
        ] {
            let mut ours = String::new();
            seconds_3(&mut ours, v);
            assert_eq!(ours, format!("{v:.3}"), "{v:?}");
        }
    }
}
