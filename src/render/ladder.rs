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
//! Widths are display widths, so Chinese labels keep the columns aligned.

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

pub fn render(report: &Report, opts: &TeachOptions, out: &mut dyn Write) -> io::Result<()> {
    super::teaching::per_connection(report, opts, out, ladder)
}

/// The arrow's label: `SYN+ACK seq=… ack=…` (and `len=N` for data).
fn label(seg: &Seg<'_>) -> (String, String) {
    let mut rest = format!(" seq={}", seg.seq);
    if let Some(a) = seg.ack {
        rest.push_str(&format!(" ack={a}"));
    }
    if seg.p.len > 0 {
        rest.push_str(&format!(" len={}", seg.p.len));
    }
    (seg.flags.clone(), rest)
}

/// The row above an arrow: the step's name, analysis flags, finding codes.
fn caption(seg: &Seg<'_>, text: &Text, g: &Glyphs) -> String {
    let mut parts = seg.labels(text);
    for f in &seg.findings {
        parts.push(format!("{} {}", g.warn, f.code));
    }
    parts.join(&format!(" {} ", g.dot))
}

fn ladder(
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
    writeln!(
        out,
        "{}",
        paint.paint(Style::Heading, &text.connection(c.id))
    )?;
    writeln!(
        out,
        "{}",
        g.text(&text.isn_line(c, &lesson.facts, lesson.numbers))
    )?;
    writeln!(out)?;

    let lad = Ladder::measure(&lesson, &client, text, paint, g);
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
    /// A lifeline, painted.
    life: String,
}

impl<'a> Ladder<'a> {
    /// The columns that fit every label, caption and summary of the lesson.
    fn measure(
        lesson: &Lesson<'_>,
        client: &str,
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
        let left = (w_frame + 2 + STATE_WIDTH)
            .max(width_of(client))
            .max(width_of(text.side(Side::Client)));
        // The widest arrow label plus its shaft and head, caption or summary,
        // with one space on each side.
        let mut inner = MIN_GAP;
        for s in &segs {
            let (f, r) = label(s);
            inner = inner.max(width_of(&f) + width_of(&r) + 6);
            inner = inner.max(width_of(&caption(s, text, g)) + 2);
        }
        let collapsed = lesson.phases.iter().flat_map(|ph| &ph.items);
        for item in collapsed {
            if let Item::Collapsed(col) = item {
                inner = inner.max(width_of(&text.collapsed_short(col)) + 4);
            }
        }
        Ladder {
            text,
            paint,
            g,
            w_frame,
            left,
            inner,
            gap: inner + 2,
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
            let heading = self.paint.paint(Style::Heading, &heading);
            writeln!(out, "{}{heading}", spaces(self.left + 1))?;
        }
        for item in &phase.items {
            match item {
                Item::Collapsed(col) => {
                    let t = format!("{} {}", self.g.ellipsis, self.text.collapsed_short(col));
                    let middle = self.paint.paint(Style::Dim, &center(&t, self.gap));
                    self.middle_row(&middle, out)?;
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
        let centred = center(&cap, self.gap);
        // Colour only the words, not the padding around them.
        let lead = centred.len() - centred.trim_start().len();
        let middle = format!(
            "{}{}{}",
            spaces(lead),
            self.paint.paint(style, &cap),
            spaces(self.gap - lead - width_of(&cap))
        );
        self.middle_row(&middle, out)
    }

    /// The segment's arrow, with the state each side enters beside its line.
    fn arrow_row(&self, seg: &Seg<'_>, out: &mut dyn Write) -> io::Result<()> {
        let g = self.g;
        let (flags, rest) = label(seg);
        let used = width_of(&flags) + width_of(&rest);
        let shaft = |n: usize| g.line.repeat(n);
        // One space inside each line; two shaft pieces at the tail.
        let fill = self.inner.saturating_sub(used + 5);
        let words = format!("{}{rest}", self.paint.paint(Style::Flags, &flags));
        let arrow = match seg.from {
            Side::Client => format!(" {} {words} {}{} ", shaft(2), shaft(fill), g.head_right),
            Side::Server => format!(" {}{} {words} {} ", g.head_left, shaft(fill), shaft(2)),
        };
        let mut cstate = String::new();
        let mut sstate = String::new();
        for (side, states) in chains(seg.transitions()) {
            let last = states.last().map_or("", |s| s.as_str()).to_string();
            match side {
                Side::Client => cstate = last,
                Side::Server => sstate = last,
            }
        }
        let frame = seg.p.frame.to_string();
        writeln!(
            out,
            "{}",
            self.row(&frame, &cstate, &arrow, &sstate).trim_end()
        )
    }

    /// Under the ladder: every finding, then the result, wrapped to the
    /// ladder's width.
    fn findings_and_result(&self, lesson: &Lesson<'_>, out: &mut dyn Write) -> io::Result<()> {
        let width = (self.left + self.gap + 3 + STATE_WIDTH).max(60);
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
            self.wrapped(&t, width, style, out)?;
        }
        let result = self.g.text(&self.text.result(lesson.conn));
        self.wrapped(&result, width, Style::Heading, out)
    }

    /// `t` wrapped to `width`, continuation lines indented by two.
    fn wrapped(&self, t: &str, width: usize, style: Style, out: &mut dyn Write) -> io::Result<()> {
        for (i, l) in wrap(t, width).into_iter().enumerate() {
            let indent = if i == 0 { "" } else { "  " };
            writeln!(out, "{indent}{}", self.paint.paint(style, &l))?;
        }
        Ok(())
    }
}
