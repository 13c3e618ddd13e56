//! The ladder as an SVG figure (`--format svg --conn ID`, and every
//! connection's detail in the HTML report): client and server lifelines, one
//! arrow per segment labelled with its flags and numbers, each side's state
//! written beside its line wherever it changes (every state of a chain: the
//! client of a simultaneous close enters CLOSING and then TIME-WAIT on one
//! ACK), the phases shaded and labelled, the arithmetic under the
//! acknowledgements that carry it, findings marked at their segments.
//!
//! Like the terminal ladder it is laid out from a [`Lesson`] and worded by
//! [`Text`]; the colours are the terminal palette ([`Painter::code`]) in
//! CSS. Every piece of text is XML-escaped, and characters XML cannot carry
//! are replaced, so the figure is well-formed whatever the capture holds.

use super::style::{endpoint, width_of, wrap, Painter, Style};
use super::teaching::TeachOptions;
use super::timeline::chains;
use crate::report::{ConnectionReport, FindingReport, Report};
use crate::rules::Severity;
use crate::state::Side;
use crate::teach::text::Text;
use crate::teach::{Item, Lesson, LessonOptions, Phase, PhaseKind, Seg};
use std::fmt::Write as _;
use std::io::{self, Write};

/// Pixels per display column of the 12px monospace font (a wide CJK
/// character takes two).
const COLUMN: f64 = 7.3;
/// The widest state name (SYN-RECEIVED), in columns.
const STATE_WIDTH: usize = 12;
/// Where the frame numbers end on the left.
const FRAME_X: f64 = 44.0;
/// The narrowest distance between the lifelines.
const MIN_GAP: f64 = 380.0;
/// How far an arrow drops between its two ends (segments take time).
const SLOPE: f64 = 10.0;
/// Room for one line of text.
const LINE: f64 = 15.0;

/// Writes the ladder of the report's one connection as a standalone SVG
/// document. More than one connection is an error: a document holds one
/// figure (choose it with `--conn`).
pub fn render(report: &Report, opts: &TeachOptions, out: &mut dyn Write) -> io::Result<()> {
    let mut conns = report.connections.iter();
    let (Some(c), None) = (conns.next(), conns.next()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "--format svg draws one connection: choose it with --conn ID",
        ));
    };
    let text = Text::new(opts.lang);
    let figure = ladder(c, opts.lesson, &text, &format!("c{}", c.id));
    writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
    out.write_all(figure.as_bytes())?;
    writeln!(out)
}

/// `text` escaped for XML character data and attribute values; characters
/// XML 1.0 cannot hold (most C0 controls, U+FFFE, U+FFFF) and the
/// bidirectional controls become U+FFFD.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(&mut out, text);
    out
}

/// [`escape`], appended to `out`.
pub fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20
                || c == '\u{fffe}'
                || c == '\u{ffff}'
                || super::is_bidi_control(c) =>
            {
                out.push('\u{fffd}')
            }
            c => out.push(c),
        }
    }
}

/// The CSS colour of a terminal style: the ANSI code the terminal views
/// use, as a colour readable on white.
pub fn colour(style: Style, text: &str) -> &'static str {
    match Painter::code(style, text) {
        "1;31" => "#c0392b",
        "1;32" => "#1a7f37",
        "1;33" | "33" => "#9a6700",
        "1;35" => "#8250df",
        "36" => "#0a7d94",
        "34" => "#0550ae",
        "2" => "#6e7781",
        _ => "#1f2328",
    }
}

/// Whether the terminal style is bold.
fn bold(style: Style, text: &str) -> bool {
    Painter::code(style, text).starts_with("1")
}

fn severity_style(s: Severity) -> Style {
    match s {
        Severity::Error => Style::Error,
        Severity::Warning => Style::Warning,
        Severity::Info => Style::Info,
    }
}

/// Pixels taken by `text` in the figure's font.
fn px(text: &str) -> f64 {
    width_of(text) as f64 * COLUMN
}

/// The arrow's label: `SYN+ACK seq=… ack=… len=N`.
fn label(seg: &Seg<'_>) -> String {
    let mut l = format!("{} seq={}", seg.flags, seg.seq);
    if let Some(a) = seg.ack {
        let _ = write!(l, " ack={a}");
    }
    if seg.p.len > 0 {
        let _ = write!(l, " len={}", seg.p.len);
    }
    l
}

/// The line above an arrow: the step's name and the analysis flags.
fn caption(seg: &Seg<'_>, text: &Text) -> String {
    seg.labels(text).join(" · ")
}

/// The arithmetic under an arrow: `ack = 1791872319 (= client ISN 1791872318 + 1)`.
fn arithmetic(seg: &Seg<'_>, text: &Text) -> Option<String> {
    let note = seg.note.as_ref()?;
    let ack = seg.ack?;
    Some(format!("ack = {ack} {}", text.ack_note(note)))
}

/// The style sheet inside every ladder (the HTML report's
/// Content-Security-Policy names it by its hash).
pub const STYLE: &str = ".lifeline{stroke:#8c959f;stroke-width:1.5}\
.band{stroke:none}\
.shaft{stroke-width:1.4}\
.arrow.cur .shaft{stroke-width:3}\
.arrow.cur .label{text-decoration:underline}\
.phase{font-style:italic}\
.collapsed line{stroke:#8c959f;stroke-dasharray:3 3}";

/// A finding in one line, and why it matters.
pub fn finding_text(f: &FindingReport, text: &Text) -> String {
    match text.finding_why(f) {
        Some(why) => format!("{} — {why}", text.finding(f)),
        None => text.finding(f),
    }
}

/// The ladder of `c` as an `<svg>` element (no XML declaration), its ids
/// and classes unique under `prefix` so that several can share a page.
///
/// Classes the HTML report and its tests rely on: `arrow` on each segment's
/// group (with `data-step`, `data-frame`), `state` on each state entered
/// (`state initial` on the two first states), `collapsed` on each summary
/// of segments left out, `finding` on each finding's mark.
pub fn ladder(c: &ConnectionReport, opts: LessonOptions, text: &Text, prefix: &str) -> String {
    let lesson = Lesson::new(c, opts);
    Figure::new(&lesson, text, prefix).draw()
}

/// The layout of one ladder, and the body drawn so far.
struct Figure<'l, 'a> {
    lesson: &'l Lesson<'a>,
    text: &'l Text,
    prefix: &'l str,
    ends: [String; 2],
    /// The lifelines.
    xc: f64,
    xs: f64,
    width: f64,
    body: String,
    /// The phases' shaded bands, drawn under the lifelines and the body.
    bands: String,
    /// Where the lifelines go in the body: under the segments, over the
    /// header.
    lines_at: usize,
    y: f64,
    /// Segments drawn so far: the step-through's index of the next.
    steps: usize,
}

impl<'l, 'a> Figure<'l, 'a> {
    fn new(lesson: &'l Lesson<'a>, text: &'l Text, prefix: &'l str) -> Figure<'l, 'a> {
        let c = lesson.conn;
        let ends = [
            endpoint(&c.client.addr, c.client.port),
            endpoint(&c.server.addr, c.server.port),
        ];
        let left = (STATE_WIDTH as f64 * COLUMN)
            .max(px(&ends[0]) / 2.0)
            .max(px(text.side(Side::Client)));
        let xc = FRAME_X + 14.0 + left + 10.0;
        let mut gap = MIN_GAP.max(px(&ends[0]) / 2.0 + px(&ends[1]) / 2.0 + 40.0);
        for s in lesson.segments() {
            gap = gap.max(px(&label(s)) + 70.0);
            gap = gap.max(px(&caption(s, text)) + 40.0);
            if let Some(a) = arithmetic(s, text) {
                gap = gap.max(px(&a) + 40.0);
            }
        }
        for item in lesson.phases.iter().flat_map(|ph| &ph.items) {
            if let Item::Collapsed(col) = item {
                gap = gap.max(px(&text.collapsed_short(col)) + 60.0);
            }
        }
        let xs = xc + gap;
        let right = (STATE_WIDTH as f64 * COLUMN + 30.0).max(px(&ends[1]) / 2.0 + 10.0);
        Figure {
            lesson,
            text,
            prefix,
            ends,
            xc,
            xs,
            width: (xs + right + 20.0).ceil(),
            body: String::new(),
            bands: String::new(),
            lines_at: 0,
            y: 0.0,
            steps: 0,
        }
    }

    /// `<text>` at (x, y), anchored, coloured as `style` paints `content`.
    fn text_el(&mut self, x: f64, y: f64, anchor: &str, class: &str, style: Style, content: &str) {
        let weight = if bold(style, content) {
            " font-weight=\"bold\""
        } else {
            ""
        };
        let _ = write!(
            self.body,
            "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\" class=\"{class}\" fill=\"{}\"{weight}>",
            colour(style, content)
        );
        escape_into(&mut self.body, content);
        self.body.push_str("</text>\n");
    }

    fn draw(mut self) -> String {
        let c = self.lesson.conn;
        let text = self.text;
        let title = text.connection_title(c.id, &self.ends[0], &self.ends[1], "→");
        self.y = 22.0;
        self.text_el(12.0, self.y, "start", "title", Style::Heading, &title);
        self.y += LINE + 2.0;
        let isn = text.isn_line(c, &self.lesson.facts, self.lesson.numbers);
        self.text_el(12.0, self.y, "start", "isn", Style::Dim, &isn);
        self.y += LINE + 14.0;
        let (xc, xs) = (self.xc, self.xs);
        for (x, side, end) in [
            (xc, Side::Client, self.ends[0].clone()),
            (xs, Side::Server, self.ends[1].clone()),
        ] {
            self.text_el(x, self.y, "middle", "side", Style::Heading, text.side(side));
            self.text_el(x, self.y + LINE, "middle", "endpoint", Style::Dim, &end);
        }
        self.y += LINE + 16.0;
        let top = self.y - 6.0;
        let first = |states: &[crate::state::State]| states.first().map_or("", |s| s.as_str());
        let (cs, ss) = (first(&c.client.states), first(&c.server.states));
        self.text_el(
            xc - 8.0,
            self.y + 4.0,
            "end",
            "state initial",
            Style::State,
            cs,
        );
        self.text_el(
            xs + 8.0,
            self.y + 4.0,
            "start",
            "state initial",
            Style::State,
            ss,
        );
        self.y += LINE;
        // The lifelines go under everything drawn after them.
        self.lines_at = self.body.len();
        for phase in &self.lesson.phases {
            self.phase(phase);
        }
        self.y += 8.0;
        let bottom = self.y;
        let lifelines = format!(
            "<line class=\"lifeline\" x1=\"{xc:.1}\" y1=\"{top:.1}\" x2=\"{xc:.1}\" y2=\"{bottom:.1}\"/>\n\
             <line class=\"lifeline\" x1=\"{xs:.1}\" y1=\"{top:.1}\" x2=\"{xs:.1}\" y2=\"{bottom:.1}\"/>\n"
        );
        self.body.insert_str(self.lines_at, &lifelines);
        self.body
            .insert_str(self.lines_at, &std::mem::take(&mut self.bands));
        self.y += 12.0;
        self.findings_and_result();
        self.finish()
    }

    /// The document around the body, now that its height is known.
    fn finish(self) -> String {
        let (w, h) = (self.width, (self.y + 8.0).ceil());
        let mut svg = String::with_capacity(self.body.len() + 600);
        let _ = write!(
            svg,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"ladder\" id=\"{p}-ladder\" \
             width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" \
             font-family=\"DejaVu Sans Mono, Menlo, Consolas, monospace\" font-size=\"12\">\n\
             <style>{STYLE}</style>\n",
            p = self.prefix
        );
        let _ = writeln!(svg, "<title>{}</title>", escape(&self.title()));
        svg.push_str(&self.body);
        svg.push_str("</svg>");
        svg
    }

    fn title(&self) -> String {
        self.text
            .connection_title(self.lesson.conn.id, &self.ends[0], &self.ends[1], "→")
    }

    /// A phase: a shaded band with its name, then its segments and summaries.
    fn phase(&mut self, phase: &Phase<'_>) {
        let y0 = self.y;
        self.y += 16.0;
        let name = self.text.phase(phase.kind);
        self.text_el(8.0, self.y - 3.0, "start", "phase", Style::Heading, &name);
        self.y += 6.0;
        for item in &phase.items {
            match item {
                Item::Collapsed(col) => {
                    let t = format!("⋮ {}", self.text.collapsed_short(col));
                    let (xc, xs, y) = (self.xc, self.xs, self.y + 10.0);
                    let _ = write!(
                        self.body,
                        "<g class=\"collapsed\" data-segments=\"{}\"><line x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\"/>",
                        col.total(),
                        xc + 6.0,
                        xs - 6.0
                    );
                    self.text_el(
                        (xc + xs) / 2.0,
                        y - 4.0,
                        "middle",
                        "summary",
                        Style::Dim,
                        &t,
                    );
                    self.body.push_str("</g>\n");
                    self.y += 2.0 * LINE;
                }
                Item::Seg(seg) => self.segment(seg),
            }
        }
        self.y += 6.0;
        let fill = match phase.kind {
            PhaseKind::Opening(_) | PhaseKind::NotCaptured => "#eaf2fb",
            PhaseKind::Data => "#f3f4f6",
            PhaseKind::Release { .. } => "#fbf0e6",
        };
        let _ = writeln!(
            self.bands,
            "<rect class=\"band\" x=\"2\" y=\"{y0:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"4\" fill=\"{fill}\"/>",
            self.width - 4.0,
            self.y - y0
        );
        self.y += 4.0;
    }

    /// One segment: its caption, its arrow and label, the arithmetic, the
    /// states each side enters, the marks of its findings.
    fn segment(&mut self, seg: &Seg<'_>) {
        let text = self.text;
        let (xc, xs) = (self.xc, self.xs);
        let mid = (xc + xs) / 2.0;
        let warn = seg.findings.iter().map(|f| f.severity).max();
        let _ = write!(
            self.body,
            "<g class=\"arrow from-{}\" data-step=\"{}\" data-frame=\"{}\">",
            text_side(seg.from),
            self.steps,
            seg.p.frame
        );
        self.steps += 1;
        let cap = caption(seg, text);
        if !cap.is_empty() {
            self.y += LINE - 2.0;
            let style = match warn {
                Some(s) if s >= Severity::Warning => Style::Warning,
                _ => Style::Step,
            };
            self.text_el(mid, self.y, "middle", "caption", style, &cap);
        }
        // The label sits over the arrow's middle.
        self.y += LINE;
        let lbl = label(seg);
        self.text_el(mid, self.y, "middle", "label", Style::Flags, &lbl);
        let y1 = self.y + 6.0;
        let y2 = y1 + SLOPE;
        let (x1, x2, dir) = match seg.from {
            Side::Client => (xc, xs, 1.0),
            Side::Server => (xs, xc, -1.0),
        };
        let stroke = colour(Style::Flags, &seg.flags);
        let stroke = if stroke == "#1f2328" {
            "#57606a"
        } else {
            stroke
        };
        let tip = x2 - dir * 1.0;
        let _ = write!(
            self.body,
            "<line class=\"shaft\" x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"{stroke}\"/>\
             <polygon points=\"{tip:.1},{y2:.1} {:.1},{:.1} {:.1},{:.1}\" fill=\"{stroke}\"/>",
            x2 - dir * 8.0,
            y2 - 0.8,
            x2 - dir * 10.0,
            y2 - 4.5,
            x2 - dir * 9.0,
            y2 + 4.0,
        );
        // The frame number at the left, on the arrow's row.
        let frame = seg.p.frame.to_string();
        self.text_el(FRAME_X, y1 + 4.0, "end", "frame", Style::Dim, &frame);
        let mut below = y2 + 4.0;
        if let Some(a) = arithmetic(seg, text) {
            let style = if seg.note.is_some_and(|n| !n.ok) {
                Style::Error
            } else {
                Style::Info
            };
            below += LINE - 2.0;
            self.text_el(mid, below, "middle", "arith", style, &a);
        }
        // Each side's states, one under the other, from where the arrow
        // leaves or arrives on that side's line.
        let mut states_end = y2;
        for (side, states) in chains(seg.transitions()) {
            let (x, anchor) = match side {
                Side::Client => (xc - 8.0, "end"),
                Side::Server => (xs + 8.0, "start"),
            };
            let mut sy = if side == seg.from { y1 } else { y2 } + 4.0;
            for (i, s) in states.iter().enumerate().skip(1) {
                let shown = if i > 1 {
                    format!("→ {}", s.as_str())
                } else {
                    s.as_str().to_string()
                };
                let _ = write!(
                    self.body,
                    "<circle class=\"tick\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"{}\"/>",
                    x + if side == Side::Client { 8.0 } else { -8.0 },
                    sy - 4.0,
                    colour(Style::State, "")
                );
                let class = format!("state side-{}", text_side(side));
                self.text_el(x, sy, anchor, &class, Style::State, &shown);
                states_end = states_end.max(sy);
                sy += LINE - 2.0;
            }
        }
        // A finding's mark beside the arrow's head, its explanation as a
        // tooltip; the list under the ladder gives it in full.
        let mut fx = match seg.from {
            Side::Client => xs - 22.0,
            Side::Server => xc + 22.0,
        };
        for f in &seg.findings {
            let style = severity_style(f.severity);
            let _ = write!(
                self.body,
                "<g class=\"finding\" data-code=\"{}\"><title>{}</title>\
                 <circle cx=\"{fx:.1}\" cy=\"{:.1}\" r=\"7\" fill=\"{}\"/>\
                 <text x=\"{fx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#ffffff\" font-weight=\"bold\">!</text></g>",
                escape(f.code.code()),
                escape(&finding_text(f, text)),
                y1 - 12.0,
                colour(style, ""),
                y1 - 8.0,
            );
            fx += if seg.from == Side::Client {
                -18.0
            } else {
                18.0
            };
        }
        self.body.push_str("</g>\n");
        self.y = below.max(states_end) + 6.0;
    }

    /// Under the ladder: every finding, then the result.
    fn findings_and_result(&mut self) {
        let lesson = self.lesson;
        let text = self.text;
        let columns = ((self.width - 24.0) / COLUMN) as usize;
        let findings: Vec<&FindingReport> = lesson
            .segments()
            .flat_map(|s| s.findings.iter().copied())
            .chain(lesson.loose_findings.iter().copied())
            .collect();
        for f in findings {
            let style = severity_style(f.severity);
            let t = format!("⚠ {}", text.finding(f));
            for (i, l) in wrap(&t, columns.max(40)).into_iter().enumerate() {
                let x = if i == 0 { 12.0 } else { 26.0 };
                self.y += LINE;
                self.text_el(x, self.y, "start", "finding-text", style, &l);
            }
        }
        let result = text.result(lesson.conn);
        for l in wrap(&result, columns.max(40)) {
            self.y += LINE;
            self.text_el(12.0, self.y, "start", "result", Style::Heading, &l);
        }
    }
}

/// `client` / `server` for class names (never translated).
fn text_side(side: Side) -> &'static str {
    match side {
        Side::Client => "client",
        Side::Server => "server",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_what_xml_cannot_hold() {
        assert_eq!(
            escape("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("a\u{1b}b\u{0}c"), "a\u{fffd}b\u{fffd}c");
        assert_eq!(escape("evil\u{202e}gnp"), "evil\u{fffd}gnp");
        assert_eq!(escape("第一次握手 → ok"), "第一次握手 → ok");
    }

    #[test]
    fn colours_follow_the_terminal_palette() {
        assert_eq!(colour(Style::Flags, "RST+ACK"), "#c0392b");
        assert_eq!(colour(Style::Flags, "FIN+ACK"), "#9a6700");
        assert_eq!(colour(Style::Flags, "SYN"), "#1a7f37");
        assert_eq!(colour(Style::Flags, "ACK"), "#1f2328");
        assert_eq!(colour(Style::State, "LISTEN"), "#0a7d94");
        assert!(bold(Style::Step, "x") && !bold(Style::State, "x"));
    }
}
