//! The annotated timeline (`--timeline`): per connection, one line per
//! segment in the style of a textbook's Sniffer walkthrough ("line 2: server
//! 76.88.16.16:21 → 76.88.16.104:1038 SYN+ACK seq=3880988084
//! ack=1791872319 (= client ISN 1791872318 + 1)"), grouped by phase, each
//! handshake and release step named, each side's state changes below the
//! segment, findings where they happen, and with `--explain` a narration of
//! every step. Long runs of ordinary segments collapse into one line.

use super::style::{endpoint, pad, width_of, wrap, Glyphs, Painter, Style};
use super::teaching::TeachOptions;
use crate::report::{ConnectionReport, FindingReport, Report, TransitionReport};
use crate::rules::Severity;
use crate::state::{Side, State};
use crate::teach::text::Text;
use crate::teach::{Item, Lesson, Phase, Seg, Step};
use std::io::{self, Write};

/// Narration wraps to this many columns (fewer on a narrower terminal).
const WIDTH: usize = 100;

/// `limit` columns, or the terminal's `width` if it is narrower.
fn within(limit: usize, width: Option<usize>) -> usize {
    width.map_or(limit, |w| w.clamp(40, limit))
}

pub fn render(report: &Report, opts: &TeachOptions, out: &mut dyn Write) -> io::Result<()> {
    super::teaching::per_connection_named(report, opts, out, connection)
}

/// Display width of `s` without its colour codes (`ESC [ … m`).
fn visible_width(s: &str) -> usize {
    let mut width = 0;
    let mut rest = s;
    while let Some(at) = rest.find('\x1b') {
        width += width_of(&rest[..at]);
        let after = &rest[at + 1..];
        // The sequence ends at its first letter.
        rest = match after.find(|c: char| c.is_ascii_alphabetic()) {
            Some(end) => &after[end + 1..],
            None => "",
        };
    }
    width + width_of(rest)
}

/// Writes `first` then `body`, as one line, or with a `width` (the
/// terminal's) as lines within it: broken at spaces (a token such as
/// `SYN-RECEIVED` or `seq=1` is never cut), each continuation after `rest`.
/// A token longer than a line stays whole.
fn put(
    out: &mut dyn Write,
    width: Option<usize>,
    first: &str,
    body: &str,
    rest: &str,
) -> io::Result<()> {
    let Some(width) = width.filter(|&w| visible_width(first) + visible_width(body) > w) else {
        return writeln!(out, "{first}{body}");
    };
    // The body's own indent belongs to its first line.
    let body_start = body.trim_start_matches(' ');
    let first = format!("{first}{}", &body[..body.len() - body_start.len()]);
    let body = body_start;
    let mut line = first.clone();
    let mut line_width = visible_width(&first);
    // Nothing after the indent yet; the spaces owed before the next token.
    let mut empty = true;
    let mut gap = 0;
    for token in body.split(' ') {
        if token.is_empty() {
            gap += 1;
            continue;
        }
        // Chinese has no spaces: a token also breaks beside its wide
        // characters, with nothing put in between.
        for (i, piece) in pieces(token).into_iter().enumerate() {
            let sep = if i == 0 { gap + 1 } else { 0 };
            let w = visible_width(piece);
            if !empty && line_width + sep + w > width {
                writeln!(out, "{}", line.trim_end())?;
                line = rest.to_string();
                line_width = visible_width(rest);
                empty = true;
            }
            if !empty {
                line.push_str(&" ".repeat(sep));
                line_width += sep;
            }
            line.push_str(piece);
            line_width += w;
            empty = false;
        }
        gap = 0;
    }
    writeln!(out, "{}", line.trim_end())
}

/// A token cut where a line may break inside it: beside a wide (CJK)
/// character, but never after opening or before closing punctuation.
fn pieces(token: &str) -> Vec<&str> {
    use unicode_width::UnicodeWidthChar;
    let wide = |c: char| c.width().unwrap_or(0) > 1;
    let opening = |c: char| "（「『《“‘〔【".contains(c);
    let closing = |c: char| "）」』》”’〕】，。、；：！？…·".contains(c);
    let mut cuts = vec![0];
    let mut chars = token.char_indices().peekable();
    while let Some((_, a)) = chars.next() {
        if let Some(&(at, b)) = chars.peek() {
            if (wide(a) || wide(b)) && !opening(a) && !closing(b) {
                cuts.push(at);
            }
        }
    }
    cuts.push(token.len());
    cuts.windows(2).map(|w| &token[w[0]..w[1]]).collect()
}

/// Each side's state changes in one segment, a chain per side:
/// `server ESTABLISHED → CLOSE-WAIT → LAST-ACK`.
pub fn chains(transitions: &[TransitionReport]) -> Vec<(Side, Vec<State>)> {
    let mut chains: Vec<(Side, Vec<State>)> = Vec::new();
    for t in transitions {
        match chains.iter_mut().find(|(s, _)| *s == t.side) {
            Some((_, states)) => states.push(t.to),
            None => chains.push((t.side, vec![t.from, t.to])),
        }
    }
    chains
}

fn severity_style(s: Severity) -> Style {
    match s {
        Severity::Error => Style::Error,
        Severity::Warning => Style::Warning,
        Severity::Info => Style::Info,
    }
}

/// The numbers part of a segment line: `seq=… ack=… (= …) len=0`.
fn numbers(seg: &Seg<'_>, text: &Text) -> String {
    format!(
        "seq={}{} len={}{}",
        seg.seq,
        seg.ack_text(text),
        seg.p.len,
        seg.analysis_text(text)
    )
}

pub(crate) fn connection(
    c: &ConnectionReport,
    opts: &TeachOptions,
    text: &Text,
    paint: &Painter,
    g: &Glyphs,
    out: &mut dyn Write,
) -> io::Result<()> {
    let lesson = Lesson::new(c, opts.lesson);
    let client = endpoint(&c.client.addr, c.client.port);
    let server = endpoint(&c.server.addr, c.server.port);
    let title = text.connection_title(c.id, &client, &server, g.arrow_right);
    let width = opts.width;
    put(out, width, "", &paint.paint(Style::Heading, &title), "  ")?;
    let isn = g.text(&text.isn_line(c, &lesson.facts, lesson.numbers));
    put(out, width, "", &isn, "  ")?;
    if opts.explain {
        for l in wrap(&g.text(text.states_caveat()), within(WIDTH, width)) {
            writeln!(out, "{l}")?;
        }
    }
    if c.packets.is_none() {
        return diagnosis(c, text, paint, g, width, out);
    }

    let timeline = Timeline::measure(
        &lesson,
        (opts.explain, width),
        [client, server],
        text,
        paint,
        g,
    );
    let mut narrated = Vec::new();
    for phase in &lesson.phases {
        timeline.phase(phase, &lesson, &mut narrated, out)?;
    }
    if !lesson.loose_findings.is_empty() {
        writeln!(out)?;
        for f in &lesson.loose_findings {
            timeline.finding(f, "  ", within(WIDTH, width) - 2, out)?;
        }
    }
    writeln!(out)?;
    let result = paint.paint(Style::Heading, &g.text(&text.result(c)));
    put(out, width, "", &result, "  ")?;
    diagnosis(c, text, paint, g, width, out)
}

/// The connection's diagnosis line, if it has one.
fn diagnosis(
    c: &ConnectionReport,
    text: &Text,
    paint: &Painter,
    g: &Glyphs,
    width: Option<usize>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let Some(line) = text.diagnosis_line(c) else {
        return Ok(());
    };
    let line = paint.paint(Style::Warning, &g.text(&line));
    put(out, width, "", &line, "  ")
}

/// One connection's timeline: its columns, and what draws its lines.
struct Timeline<'a> {
    text: &'a Text,
    paint: &'a Painter,
    g: &'a Glyphs,
    explain: bool,
    /// The terminal's width, if lines are wrapped to one.
    width: Option<usize>,
    /// The endpoints, `[client, server]`.
    ends: [String; 2],
    /// Column widths over every segment shown.
    w_label: usize,
    w_step: usize,
    w_time: usize,
    w_who: usize,
    w_flags: usize,
    /// Sub-lines (states, findings, narration) start under the time column.
    pad: String,
    narrate_width: usize,
}

impl<'a> Timeline<'a> {
    /// `view`: whether steps are narrated, and the terminal's width.
    fn measure(
        lesson: &Lesson<'_>,
        (explain, width): (bool, Option<usize>),
        ends: [String; 2],
        text: &'a Text,
        paint: &'a Painter,
        g: &'a Glyphs,
    ) -> Timeline<'a> {
        let segs: Vec<&Seg<'_>> = lesson.segments().collect();
        let w_label = segs
            .iter()
            .map(|s| width_of(&text.line(s.p.frame)))
            .max()
            .unwrap_or(0);
        let w_step = segs
            .iter()
            .filter_map(|s| s.step.map(|st| width_of(&text.step(st))))
            .max()
            .unwrap_or(0);
        let w_time = segs
            .iter()
            .map(|s| format!("{:.6}", s.p.time).len())
            .max()
            .unwrap_or(0);
        let w_flags = segs.iter().map(|s| s.flags.len()).max().unwrap_or(0);
        let indent = 2 + w_label + 2 + if w_step > 0 { w_step + 2 } else { 0 };
        let mut timeline = Timeline {
            text,
            paint,
            g,
            explain,
            width,
            ends,
            w_label,
            w_step,
            w_time,
            w_who: 0,
            w_flags,
            pad: " ".repeat(indent),
            narrate_width: within(WIDTH, width).saturating_sub(indent).max(40),
        };
        let w_who = segs.iter().map(|s| width_of(&timeline.who(s))).max();
        timeline.w_who = w_who.unwrap_or(0);
        timeline
    }

    /// `client 10.0.0.1:1038 → 10.0.0.2:21`: sender → receiver.
    fn who(&self, s: &Seg<'_>) -> String {
        let [client, server] = &self.ends;
        let (src, dst) = match s.from {
            Side::Client => (client, server),
            Side::Server => (server, client),
        };
        format!(
            "{} {src} {} {dst}",
            self.text.side(s.from),
            self.g.arrow_right
        )
    }

    /// A phase: its heading (and with `--explain` its opening sentence),
    /// then each segment or summary. `narrated` holds the steps narrated so
    /// far in the connection.
    fn phase(
        &self,
        phase: &Phase<'_>,
        lesson: &Lesson<'_>,
        narrated: &mut Vec<Step>,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let (text, paint, g) = (self.text, self.paint, self.g);
        writeln!(out)?;
        let heading = g.text(&text.phase(phase.kind));
        writeln!(out, "{}", paint.paint(Style::Heading, &heading))?;
        if self.explain {
            if let Some(n) = text.phase_narration(phase.kind) {
                for l in wrap(&g.text(n), within(WIDTH, self.width) - 2) {
                    writeln!(out, "  {l}")?;
                }
            }
        }
        for item in &phase.items {
            match item {
                Item::Collapsed(col) => {
                    let summary = g.text(&text.collapsed(col));
                    let summary = paint.paint(Style::Dim, &summary);
                    put(out, self.width, "  ", &summary, "    ")?;
                }
                Item::Seg(seg) => self.segment(seg, lesson, narrated, out)?,
            }
        }
        Ok(())
    }

    /// A segment's line, the state changes under it, its narration and its
    /// findings.
    fn segment(
        &self,
        seg: &Seg<'_>,
        lesson: &Lesson<'_>,
        narrated: &mut Vec<Step>,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let line = self.segment_line(seg);
        put(out, self.width, "", line.trim_end(), &self.pad)?;
        if let Some(states) = self.states_line(seg) {
            put(
                out,
                self.width,
                &self.pad,
                &states,
                &format!("{}  ", self.pad),
            )?;
        }
        if self.explain {
            self.narrate(seg, lesson, narrated, out)?;
        }
        for f in &seg.findings {
            self.finding(f, &self.pad, self.narrate_width, out)?;
        }
        Ok(())
    }

    /// `  line 2   handshake 2 of 3  0.001000  server … → …  SYN+ACK  seq=…`.
    fn segment_line(&self, seg: &Seg<'_>) -> String {
        let (text, paint) = (self.text, self.paint);
        let step = seg.step.map(|s| text.step(s)).unwrap_or_default();
        let mut line = format!(
            "  {}  ",
            paint.pad(Style::Dim, &text.line(seg.p.frame), self.w_label)
        );
        if self.w_step > 0 {
            line.push_str(&paint.pad(Style::Step, &step, self.w_step));
            line.push_str("  ");
        }
        let w_time = self.w_time;
        line.push_str(&format!("{:>w_time$}  ", format!("{:.6}", seg.p.time)));
        line.push_str(&pad(&self.who(seg), self.w_who));
        line.push_str("  ");
        line.push_str(&paint.pad(Style::Flags, &seg.flags, self.w_flags));
        line.push_str("  ");
        line.push_str(&self.g.text(&numbers(seg, text)));
        line
    }

    /// Each side's state changes in the segment, if any:
    /// `client SYN-SENT → ESTABLISHED · server SYN-RECEIVED → ESTABLISHED`.
    fn states_line(&self, seg: &Seg<'_>) -> Option<String> {
        let chains = chains(seg.transitions());
        if chains.is_empty() {
            return None;
        }
        let arrow = format!(" {} ", self.g.arrow_right);
        let parts: Vec<String> = chains
            .iter()
            .map(|(side, states)| {
                let states: Vec<String> = states
                    .iter()
                    .map(|s| self.paint.paint(Style::State, s.as_str()))
                    .collect();
                format!("{} {}", self.text.side(*side), states.join(&arrow))
            })
            .collect();
        Some(parts.join(&format!(" {} ", self.g.dot)))
    }

    /// The step's narration. A repeated step (SYN again, more half-close
    /// data …) is narrated once per connection.
    fn narrate(
        &self,
        seg: &Seg<'_>,
        lesson: &Lesson<'_>,
        narrated: &mut Vec<Step>,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let repeat = matches!(
            seg.step,
            Some(
                Step::SynAgain
                    | Step::SynAckAgain
                    | Step::FinAgain
                    | Step::HalfCloseData
                    | Step::SimOpenAck
            )
        );
        let said = seg.step.is_some_and(|s| narrated.contains(&s));
        if repeat && said {
            return Ok(());
        }
        if let Some(n) = self.text.narration(seg, &lesson.facts, lesson.conn) {
            for l in wrap(&self.g.text(&n), self.narrate_width) {
                writeln!(out, "{}{l}", self.pad)?;
            }
        }
        if let Some(s) = seg.step {
            narrated.push(s);
        }
        Ok(())
    }

    /// A finding's line, and with `--explain` why it matters.
    fn finding(
        &self,
        f: &FindingReport,
        pad: &str,
        width: usize,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let (text, g) = (self.text, self.g);
        let line = format!("{} {}", g.warn, g.text(&text.finding(f)));
        let style = severity_style(f.severity);
        let line = self.paint.paint(style, &line);
        put(out, self.width, pad, &line, &format!("{pad}  "))?;
        if self.explain {
            if let Some(why) = text.finding_why(f) {
                for l in wrap(&g.text(&why), width.saturating_sub(2).max(30)) {
                    writeln!(out, "{pad}  {l}")?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod wrap_tests {
    use super::pieces;

    #[test]
    fn chinese_breaks_beside_wide_characters_not_at_punctuation() {
        assert_eq!(pieces("SYN-RECEIVED"), ["SYN-RECEIVED"]);
        assert_eq!(pieces("确认了"), ["确", "认", "了"]);
        assert_eq!(
            pieces("报文段（×2）（第5、9行）"),
            ["报", "文", "段", "（×2）", "（第", "5、", "9", "行）"]
        );
    }
}
