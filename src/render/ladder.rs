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

use super::style::{
    center, endpoint, spaces, width_of, wrap, Glyphs, Painter, Style, TeachOptions,
};
use super::timeline::chains;
use crate::report::{analysis_flags, ConnectionReport, Report};
use crate::rules::Severity;
use crate::state::Side;
use crate::teach::text::Text;
use crate::teach::{Item, Lesson, Seg, Step};
use std::io::{self, Write};

/// The widest state name (SYN-RECEIVED).
const STATE_WIDTH: usize = 12;
/// The narrowest space between the two lines.
const MIN_GAP: usize = 26;

pub fn render(report: &Report, opts: &TeachOptions, out: &mut dyn Write) -> io::Result<()> {
    super::style::per_connection(report, opts, out, ladder)
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
    let mut parts = Vec::new();
    if let Some(step) = seg.step {
        parts.push(text.step(step));
    }
    // A repeated SYN or FIN is named by its step already.
    let repeat = matches!(
        seg.step,
        Some(Step::SynAgain | Step::SynAckAgain | Step::FinAgain)
    );
    for (flag, name) in analysis_flags(seg.p.analysis) {
        if !(repeat && flag.is_retransmission()) {
            parts.push(text.analysis(name));
        }
    }
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

    let segs: Vec<&Seg<'_>> = lesson.segments().collect();
    let w_frame = segs
        .iter()
        .map(|s| s.p.frame.to_string().len())
        .max()
        .unwrap_or(1);
    // Left of the client's line: frame, two spaces, state; or the header.
    let left = (w_frame + 2 + STATE_WIDTH)
        .max(width_of(&client))
        .max(width_of(text.side(Side::Client)));
    // Between the lines: the widest arrow label plus its shaft and head,
    // caption or summary, with one space on each side.
    let mut inner = MIN_GAP;
    for s in &segs {
        let (f, r) = label(s);
        inner = inner.max(width_of(&f) + width_of(&r) + 6);
        inner = inner.max(width_of(&caption(s, text, g)) + 2);
    }
    for ph in &lesson.phases {
        for item in &ph.items {
            if let Item::Collapsed(col) = item {
                inner = inner.max(width_of(&text.collapsed_short(col)) + 4);
            }
        }
    }
    let gap = inner + 2;
    let life = paint.paint(Style::Dim, g.lifeline);

    // Header: the sides and their addresses, each over its own line.
    // The server's column starts after " │", the gap, "│ ".
    let header = |l: &str, r: &str| {
        format!(
            "{}{l}{}{r}",
            spaces(left.saturating_sub(width_of(l))),
            spaces(gap + 4)
        )
    };
    writeln!(
        out,
        "{}",
        header(text.side(Side::Client), text.side(Side::Server)).trim_end()
    )?;
    writeln!(out, "{}", header(&client, &server).trim_end())?;

    let row = |frame: &str, cstate: &str, middle: &str, sstate: &str| {
        let mut r = format!(
            "{:>w_frame$}  {}",
            frame,
            paint.pad_left(Style::State, cstate, left - w_frame - 2)
        );
        r.push(' ');
        r.push_str(&life);
        r.push_str(middle);
        r.push_str(&life);
        if !sstate.is_empty() {
            r.push(' ');
            r.push_str(&paint.paint(Style::State, sstate));
        }
        r
    };
    let blank = spaces(gap);
    let first_state = |states: &[crate::state::State]| states.first().map_or("", |s| s.as_str());
    writeln!(
        out,
        "{}",
        row(
            "",
            first_state(&c.client.states),
            &blank,
            first_state(&c.server.states)
        )
    )?;

    for phase in &lesson.phases {
        let heading = g.text(&text.phase(phase.kind));
        if width_of(&heading) + 2 <= gap {
            let middle = paint.paint(Style::Heading, &center(&heading, gap));
            writeln!(out, "{}", row("", "", &middle, "").trim_end())?;
        } else {
            // Too wide to fit between the lines: a heading of its own.
            let heading = paint.paint(Style::Heading, &heading);
            writeln!(out, "{}{heading}", spaces(left + 1))?;
        }
        for item in &phase.items {
            match item {
                Item::Collapsed(col) => {
                    let t = format!("{} {}", g.ellipsis, text.collapsed_short(col));
                    writeln!(
                        out,
                        "{}",
                        row("", "", &paint.paint(Style::Dim, &center(&t, gap)), "").trim_end()
                    )?;
                }
                Item::Seg(seg) => {
                    let cap = caption(seg, text, g);
                    if !cap.is_empty() {
                        let style = if seg.findings.iter().any(|f| f.severity >= Severity::Warning)
                        {
                            Style::Warning
                        } else {
                            Style::Step
                        };
                        let centred = center(&cap, gap);
                        // Colour only the words, not the padding around them.
                        let lead = centred.len() - centred.trim_start().len();
                        let middle = format!(
                            "{}{}{}",
                            spaces(lead),
                            paint.paint(style, &cap),
                            spaces(gap - lead - width_of(&cap))
                        );
                        writeln!(out, "{}", row("", "", &middle, "").trim_end())?;
                    }
                    let (flags, rest) = label(seg);
                    let used = width_of(&flags) + width_of(&rest);
                    let shaft = |n: usize| g.line.repeat(n);
                    // One space inside each line; two shaft pieces at the tail.
                    let fill = inner.saturating_sub(used + 5);
                    let words = format!("{}{rest}", paint.paint(Style::Flags, &flags));
                    let arrow = match seg.from {
                        Side::Client => {
                            format!(" {} {words} {}{} ", shaft(2), shaft(fill), g.head_right)
                        }
                        Side::Server => {
                            format!(" {}{} {words} {} ", g.head_left, shaft(fill), shaft(2))
                        }
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
                    writeln!(
                        out,
                        "{}",
                        row(&seg.p.frame.to_string(), &cstate, &arrow, &sstate).trim_end()
                    )?;
                }
            }
        }
    }
    writeln!(out, "{}", row("", "", &blank, "").trim_end())?;

    let width = (left + gap + 3 + STATE_WIDTH).max(60);
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
        let t = format!("{} {}", g.warn, g.text(&text.finding(f)));
        for (i, l) in wrap(&t, width).into_iter().enumerate() {
            let indent = if i == 0 { "" } else { "  " };
            writeln!(out, "{indent}{}", paint.paint(style, &l))?;
        }
    }
    for (i, l) in wrap(&g.text(&text.result(c)), width)
        .into_iter()
        .enumerate()
    {
        let indent = if i == 0 { "" } else { "  " };
        writeln!(out, "{indent}{}", paint.paint(Style::Heading, &l))?;
    }
    Ok(())
}
