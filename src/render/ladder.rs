//! The ladder diagram (`--format ladder`): the figure of every TCP textbook.
//! Client and server are two vertical lines; each segment is an arrow between
//! them labelled with its flags and numbers; each side's state is written
//! beside its own line on the row where it changes; the step's name
//! ("handshake 1 of 3" / "第一次握手") sits on the row above its arrow.
//!
//! ```text
//!         client                                          server
//!   76.88.16.104:1038                                     76.88.16.16:21
//!            CLOSED │                                    │ LISTEN
//!                   │          handshake 1 of 3          │
//!  1       SYN-SENT │ ── SYN seq=1791872318 ───────────▶ │
//! ```
//!
//! When one segment moves a side through several states (the simultaneous
//! close's last ACK: FIN-WAIT-1 → CLOSING → TIME-WAIT), the first is on the
//! arrow's row and each further one (`→ TIME-WAIT`) on a row of its own below,
//! as the SVG ladder draws them.
//!
//! Widths are display widths, so Chinese labels keep the columns aligned.
//! Given a width (the terminal's, or `COLUMNS`), the ladder fits within it:
//! labels, captions and summaries too wide for the room between the lines
//! wrap there at word boundaries (a token like `SYN-RECEIVED` or
//! `seq=1791872318` is never cut), the text around it wraps to the width.

use super::style::{center, endpoint, spaces, width_of, wrap, Glyphs, Painter, Style};
use super::teaching::TeachOptions;
use super::timeline::chains;
use crate::report::{ConnectionReport, Report};
use crate::rules::Severity;
use crate::state::{Side, State};
use crate::teach::text::Text;
use crate::teach::{Item, Lesson, Phase, Seg};
use std::io::{self, Write};

/// The widest state name (SYN-RECEIVED).
const STATE_WIDTH: usize = 12;
/// The narrowest space between the two lines.
const MIN_GAP: usize = 26;

/// The room between the lines at the least, when the ladder is narrowed to
/// a width (and at least an arrow's flags and first number).
const MIN_INNER: usize = 22;

pub fn render(report: &Report, opts: &TeachOptions, out: &mut dyn Write) -> io::Result<()> {
    // The header names the link type, as the table's does.
    super::teaching::per_connection_named(report, opts, out, ladder)
}

/// The arrow's label: `SYN+ACK seq=… ack=…` (and `len=N` for data), as
/// the flags and the other words, each with its leading space.
fn label(seg: &Seg<'_>) -> (String, Vec<String>) {
    let mut rest = vec![format!(" seq={}", seg.seq)];
    if let Some(a) = seg.ack {
        rest.push(format!(" ack={a}"));
    }
    if seg.p.len > 0 {
        rest.push(format!(" len={}", seg.p.len));
    }
    (seg.flags.clone(), rest)
}

/// The label's words after the flags on one line, or as many as fit in
/// `room` columns on the arrow's line (at least one) and the others on
/// further lines of at most `room` columns, without their leading space.
fn label_lines(flags: &str, rest: &[String], room: usize) -> (String, Vec<String>) {
    let mut first = String::new();
    let mut used = width_of(flags);
    let mut words = rest.iter().peekable();
    while let Some(w) = words.next_if(|w| first.is_empty() || used + width_of(w) <= room) {
        used += width_of(w);
        first.push_str(w);
    }
    let mut more: Vec<String> = Vec::new();
    for w in words {
        let w = w.trim_start();
        match more.last_mut() {
            Some(line) if width_of(line) + 1 + width_of(w) <= room => {
                line.push(' ');
                line.push_str(w);
            }
            _ => more.push(w.to_string()),
        }
    }
    (first, more)
}

/// Each side's states entered on a segment: the first as is, the others
/// after an arrow (`→ TIME-WAIT`), one per row; `[client, server]`.
fn state_rows(seg: &Seg<'_>, g: &Glyphs) -> [Vec<String>; 2] {
    let mut rows: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    for (side, states) in chains(seg.transitions()) {
        let shown = states.iter().skip(1).enumerate().map(|(i, s)| {
            if i == 0 {
                s.as_str().to_string()
            } else {
                format!("{} {}", g.arrow_right, s.as_str())
            }
        });
        rows[usize::from(side == Side::Server)] = shown.collect();
    }
    rows
}

/// The row above an arrow: the step's name, analysis flags, finding codes.
fn caption(seg: &Seg<'_>, text: &Text, g: &Glyphs) -> String {
    let mut parts = seg.labels(text);
    for f in &seg.findings {
        parts.push(format!("{} {}", g.warn, f.code));
    }
    parts.join(&format!(" {} ", g.dot))
}

pub(crate) fn ladder(
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
    let lad = Ladder::measure(&lesson, [&client, &server], opts.width, text, paint, g);
    let heading = text.connection(c.id);
    let isn = g.text(&text.isn_line(c, &lesson.facts, lesson.numbers));
    match opts.width {
        Some(width) => {
            lad.wrapped(&heading, width, Some(Style::Heading), out)?;
            lad.wrapped(&isn, width, None, out)?;
        }
        None => {
            writeln!(out, "{}", paint.paint(Style::Heading, &heading))?;
            writeln!(out, "{isn}")?;
        }
    }
    writeln!(out)?;

    lad.header([&client, &server], out)?;
    let first_state = |states: &[State]| states.first().map_or("", |s| s.as_str());
    let (cstate, sstate) = (first_state(&c.client.states), first_state(&c.server.states));
    writeln!(out, "{}", lad.row("", cstate, &spaces(lad.gap), sstate))?;
    for phase in &lesson.phases {
        lad.phase(phase, out)?;
    }
    writeln!(out, "{}", lad.row("", "", &spaces(lad.gap), "").trim_end())?;
    lad.findings_and_result(&lesson, out)
}

/// The ladder's columns, and what draws its rows.
struct Ladder<'a> {
    text: &'a Text,
    paint: &'a Painter,
    g: &'a Glyphs,
    /// Width of the frame numbers.
    w_frame: usize,
    /// Left of the client's line: frame, two spaces, state; or the header.
    left: usize,
    /// Room for the widest arrow, caption or summary between the lines.
    inner: usize,
    /// Between the lines: `inner` and a space on each side.
    gap: usize,
    /// The width the text under and over the ladder wraps to.
    width: usize,
    /// Whether the ladder was narrowed to a width (so labels may wrap).
    narrowed: bool,
    /// The terminal's width, if given.
    terminal: Option<usize>,
    /// A lifeline, painted.
    life: String,
}

impl<'a> Ladder<'a> {
    /// The columns that fit every label, caption and summary of the lesson,
    /// or, given a `width` they do not fit in, that fit in it.
    fn measure(
        lesson: &Lesson<'_>,
        [client, server]: [&str; 2],
        width: Option<usize>,
        text: &'a Text,
        paint: &'a Painter,
        g: &'a Glyphs,
    ) -> Ladder<'a> {
        let segs: Vec<&Seg<'_>> = lesson.segments().collect();
        let w_frame = segs
            .iter()
            .map(|s| s.p.frame.to_string().len())
            .max()
            .unwrap_or(1);
        let w_state = segs
            .iter()
            .flat_map(|s| state_rows(s, g).into_iter().flatten())
            .map(|s| width_of(&s))
            .fold(STATE_WIDTH, usize::max);
        let left = (w_frame + 2 + w_state)
            .max(width_of(client))
            .max(width_of(text.side(Side::Client)));
        // The widest arrow label plus its shaft and head, caption or summary,
        // with one space on each side.
        let mut inner = MIN_GAP;
        // Narrowed, an arrow still holds its flags and first number.
        let mut least = MIN_INNER;
        for s in &segs {
            let (f, r) = label(s);
            let words: usize = r.iter().map(|w| width_of(w)).sum();
            inner = inner.max(width_of(&f) + words + 6);
            least = least.max(width_of(&f) + r.first().map_or(0, |w| width_of(w)) + 6);
            inner = inner.max(width_of(&caption(s, text, g)) + 2);
        }
        let collapsed = lesson.phases.iter().flat_map(|ph| &ph.items);
        for item in collapsed {
            if let Item::Collapsed(col) = item {
                inner = inner.max(width_of(&text.collapsed_short(col)) + 4);
            }
        }
        // A row: left, a space, a line, the gap (inner and two spaces), a
        // line, a space, the server's state or its address.
        let right = w_state
            .max(width_of(server))
            .max(width_of(text.side(Side::Server)));
        let natural = left + inner + 6 + right;
        let narrowed = width.is_some_and(|w| natural > w);
        if let Some(w) = width.filter(|_| narrowed) {
            inner = w.saturating_sub(left + 6 + right).max(least);
        }
        // The text under the ladder wraps to about the ladder's width.
        let drawn = left + inner + 5 + w_state;
        Ladder {
            text,
            paint,
            g,
            w_frame,
            left,
            inner,
            gap: inner + 2,
            width: match width {
                Some(w) => w.min(drawn.max(60)),
                None => drawn.max(60),
            },
            narrowed,
            terminal: width,
            life: paint.paint(Style::Dim, g.lifeline),
        }
    }

    /// The sides and their addresses, each over its own line. The server's
    /// column starts after " │", the gap, "│ ".
    fn header(&self, [client, server]: [&str; 2], out: &mut dyn Write) -> io::Result<()> {
        let header = |l: &str, r: &str| {
            let lead = spaces(self.left.saturating_sub(width_of(l)));
            format!("{lead}{l}{}{r}", spaces(self.gap + 4))
        };
        let (c, s) = (self.text.side(Side::Client), self.text.side(Side::Server));
        writeln!(out, "{}", header(c, s).trim_end())?;
        writeln!(out, "{}", header(client, server).trim_end())
    }

    /// One row: the frame and the client's state left of its line, `middle`
    /// between the lines, the server's state right of its line.
    fn row(&self, frame: &str, cstate: &str, middle: &str, sstate: &str) -> String {
        let w_frame = self.w_frame;
        let state_width = self.left - w_frame - 2;
        let mut r = format!(
            "{frame:>w_frame$}  {}",
            self.paint.pad_left(Style::State, cstate, state_width)
        );
        r.push(' ');
        r.push_str(&self.life);
        r.push_str(middle);
        r.push_str(&self.life);
        if !sstate.is_empty() {
            r.push(' ');
            r.push_str(&self.paint.paint(Style::State, sstate));
        }
        r
    }

    /// A row with only `middle` between the lines.
    fn middle_row(&self, middle: &str, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{}", self.row("", "", middle, "").trim_end())
    }

    /// `t` centred between the lines in `style`, on as many rows as it
    /// takes (one, unless the ladder was narrowed); only the words coloured.
    fn centred_rows(&self, t: &str, style: Style, out: &mut dyn Write) -> io::Result<()> {
        let lines = if self.narrowed {
            wrap(t, self.gap - 2)
        } else {
            vec![t.to_string()]
        };
        for l in lines {
            let centred = center(&l, self.gap);
            let lead = centred.len() - centred.trim_start().len();
            let middle = format!(
                "{}{}{}",
                spaces(lead),
                self.paint.paint(style, &l),
                spaces(self.gap.saturating_sub(lead + width_of(&l)))
            );
            self.middle_row(&middle, out)?;
        }
        Ok(())
    }

    /// A phase: its heading, then its segments and summaries.
    fn phase(&self, phase: &Phase<'_>, out: &mut dyn Write) -> io::Result<()> {
        let heading = self.g.text(&self.text.phase(phase.kind));
        if width_of(&heading) + 2 <= self.gap {
            let middle = self
                .paint
                .paint(Style::Heading, &center(&heading, self.gap));
            self.middle_row(&middle, out)?;
        } else {
            // Too wide to fit between the lines: a heading of its own.
            let lines = match self.terminal {
                Some(w) => wrap(&heading, w.saturating_sub(self.left + 1).max(20)),
                None => vec![heading],
            };
            for l in lines {
                let l = self.paint.paint(Style::Heading, &l);
                writeln!(out, "{}{l}", spaces(self.left + 1))?;
            }
        }
        for item in &phase.items {
            match item {
                Item::Collapsed(col) => {
                    let t = format!("{} {}", self.g.ellipsis, self.text.collapsed_short(col));
                    self.centred_rows(&t, Style::Dim, out)?;
                }
                Item::Seg(seg) => {
                    self.caption_row(seg, out)?;
                    self.arrow_row(seg, out)?;
                }
            }
        }
        Ok(())
    }

    /// The caption over a segment's arrow, if it has one; coloured as a
    /// warning when a finding of the segment is one.
    fn caption_row(&self, seg: &Seg<'_>, out: &mut dyn Write) -> io::Result<()> {
        let cap = caption(seg, self.text, self.g);
        if cap.is_empty() {
            return Ok(());
        }
        let style = if seg.findings.iter().any(|f| f.severity >= Severity::Warning) {
            Style::Warning
        } else {
            Style::Step
        };
        self.centred_rows(&cap, style, out)
    }

    /// The segment's arrow, with the state each side enters beside its
    /// line; under it the rest of its label if it wrapped, and the further
    /// states of a chain.
    fn arrow_row(&self, seg: &Seg<'_>, out: &mut dyn Write) -> io::Result<()> {
        let g = self.g;
        let (flags, rest) = label(seg);
        // The words' room: the gap less the shaft, the head and a space on
        // each side of the words.
        let room = self.inner.saturating_sub(6);
        let (first, more) = label_lines(&flags, &rest, room);
        let used = width_of(&flags) + width_of(&first);
        let shaft = |n: usize| g.line.repeat(n);
        // One space inside each line; two shaft pieces at the tail.
        let fill = self.inner.saturating_sub(used + 5);
        let words = format!("{}{first}", self.paint.paint(Style::Flags, &flags));
        let arrow = match seg.from {
            Side::Client => format!(" {} {words} {}{} ", shaft(2), shaft(fill), g.head_right),
            Side::Server => format!(" {}{} {words} {} ", g.head_left, shaft(fill), shaft(2)),
        };
        let [cstates, sstates] = state_rows(seg, g);
        let state = |states: &[String], i: usize| states.get(i).cloned().unwrap_or_default();
        let frame = seg.p.frame.to_string();
        let arrow_row = self.row(&frame, &state(&cstates, 0), &arrow, &state(&sstates, 0));
        writeln!(out, "{}", arrow_row.trim_end())?;
        let rows = (1 + more.len()).max(cstates.len()).max(sstates.len());
        for i in 1..rows {
            // The label's words go on under the arrow, at its tail's end.
            let middle = match more.get(i - 1) {
                Some(w) => {
                    let free = self.gap.saturating_sub(width_of(w) + 4);
                    match seg.from {
                        Side::Client => format!("    {w}{}", spaces(free)),
                        Side::Server => format!("{}{w}    ", spaces(free)),
                    }
                }
                None => spaces(self.gap),
            };
            let r = self.row("", &state(&cstates, i), &middle, &state(&sstates, i));
            writeln!(out, "{}", r.trim_end())?;
        }
        Ok(())
    }

    /// Under the ladder: every finding, then the result, wrapped to the
    /// ladder's width.
    fn findings_and_result(&self, lesson: &Lesson<'_>, out: &mut dyn Write) -> io::Result<()> {
        let all_findings = lesson
            .segments()
            .flat_map(|s| s.findings.iter())
            .chain(lesson.loose_findings.iter());
        for f in all_findings {
            let style = match f.severity {
                Severity::Error => Style::Error,
                Severity::Warning => Style::Warning,
                Severity::Info => Style::Info,
            };
            let t = format!("{} {}", self.g.warn, self.g.text(&self.text.finding(f)));
            self.wrapped(&t, self.width, Some(style), out)?;
        }
        let result = self.g.text(&self.text.result(lesson.conn));
        self.wrapped(&result, self.width, Some(Style::Heading), out)?;
        match self.text.diagnosis_line(lesson.conn) {
            Some(d) => self.wrapped(&self.g.text(&d), self.width, Some(Style::Warning), out),
            None => Ok(()),
        }
    }

    /// `t` wrapped to `width`, continuation lines indented by two (and
    /// wrapped narrower by two when the terminal is no wider).
    fn wrapped(
        &self,
        t: &str,
        width: usize,
        style: Option<Style>,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let tight = self.terminal.is_some_and(|term| width + 2 > term);
        let lines = wrap(
            t,
            if tight {
                width.saturating_sub(2)
            } else {
                width
            },
        );
        for (i, l) in lines.into_iter().enumerate() {
            let indent = if i == 0 { "" } else { "  " };
            let l = match style {
                Some(style) => self.paint.paint(style, &l),
                None => l,
            };
            writeln!(out, "{indent}{l}")?;
        }
        Ok(())
    }
}
