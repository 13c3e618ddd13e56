//! The annotated timeline (`--timeline`): per connection, one line per
//! segment in the style of the seeds' Sniffer walkthrough ("line 2: server
//! 76.88.16.16:21 → 76.88.16.104:1038 SYN+ACK seq=3880988084
//! ack=1791872319 (= client ISN 1791872318 + 1)"), grouped by phase, each
//! handshake and release step named, each side's state changes below the
//! segment, findings where they happen, and with `--explain` a narration of
//! every step. Long runs of ordinary segments collapse into one line.

use super::style::{width_of, wrap, Glyphs, Painter, Style, TeachOptions};
use crate::report::{ConnectionReport, FindingReport, Report, TransitionReport};
use crate::rules::Severity;
use crate::state::{Side, State};
use crate::teach::text::Text;
use crate::teach::{Item, Lesson, Seg, Step};
use std::io::{self, Write};

/// Narration wraps to this many columns.
const WIDTH: usize = 100;

pub fn render(report: &Report, opts: &TeachOptions, out: &mut dyn Write) -> io::Result<()> {
    super::style::per_connection(report, opts, out, connection)
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

fn connection(
    c: &ConnectionReport,
    opts: &TeachOptions,
    text: &Text,
    paint: &Painter,
    g: &Glyphs,
    out: &mut dyn Write,
) -> io::Result<()> {
    let lesson = Lesson::new(c, opts.lesson);
    let client = super::style::endpoint(&c.client.addr, c.client.port);
    let server = super::style::endpoint(&c.server.addr, c.server.port);
    let title = text.connection_title(c.id, &client, &server, g.arrow_right);
    writeln!(out, "{}", paint.paint(Style::Heading, &title))?;
    writeln!(
        out,
        "{}",
        g.text(&text.isn_line(c, &lesson.facts, lesson.numbers))
    )?;
    if opts.explain {
        for l in wrap(&g.text(text.states_caveat()), WIDTH) {
            writeln!(out, "{l}")?;
        }
    }
    if c.packets.is_none() {
        return Ok(());
    }

    // Column widths over every segment shown.
    let who = |s: &Seg<'_>| {
        let (src, dst) = match s.from {
            Side::Client => (&client, &server),
            Side::Server => (&server, &client),
        };
        format!("{} {src} {} {dst}", text.side(s.from), g.arrow_right)
    };
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
    let w_who = segs.iter().map(|s| width_of(&who(s))).max().unwrap_or(0);
    let w_flags = segs.iter().map(|s| s.flags.len()).max().unwrap_or(0);
    // Sub-lines (states, findings, narration) start under the time column.
    let indent = 2 + w_label + 2 + if w_step > 0 { w_step + 2 } else { 0 };
    let pad = " ".repeat(indent);
    let narrate_width = WIDTH.saturating_sub(indent).max(40);
    let mut narrated_once: Vec<Step> = Vec::new();

    for phase in &lesson.phases {
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            paint.paint(Style::Heading, &g.text(&text.phase(phase.kind)))
        )?;
        if opts.explain {
            if let Some(n) = text.phase_narration(phase.kind) {
                for l in wrap(&g.text(n), WIDTH - 2) {
                    writeln!(out, "  {l}")?;
                }
            }
        }
        for item in &phase.items {
            let seg = match item {
                Item::Collapsed(col) => {
                    writeln!(
                        out,
                        "  {}",
                        paint.paint(Style::Dim, &g.text(&text.collapsed(col)))
                    )?;
                    continue;
                }
                Item::Seg(s) => s,
            };
            let step = seg.step.map(|s| text.step(s)).unwrap_or_default();
            let mut line = format!(
                "  {}  ",
                paint.pad(Style::Dim, &text.line(seg.p.frame), w_label)
            );
            if w_step > 0 {
                line.push_str(&paint.pad(Style::Step, &step, w_step));
                line.push_str("  ");
            }
            line.push_str(&format!("{:>w_time$}  ", format!("{:.6}", seg.p.time)));
            line.push_str(&super::style::pad(&who(seg), w_who));
            line.push_str("  ");
            line.push_str(&paint.pad(Style::Flags, &seg.flags, w_flags));
            line.push_str("  ");
            line.push_str(&g.text(&numbers(seg, text)));
            writeln!(out, "{}", line.trim_end())?;

            let chains = chains(seg.transitions());
            if !chains.is_empty() {
                let parts: Vec<String> = chains
                    .iter()
                    .map(|(side, states)| {
                        let states: Vec<String> = states
                            .iter()
                            .map(|s| paint.paint(Style::State, s.as_str()))
                            .collect();
                        format!(
                            "{} {}",
                            text.side(*side),
                            states.join(&format!(" {} ", g.arrow_right))
                        )
                    })
                    .collect();
                writeln!(out, "{pad}{}", parts.join(&format!(" {} ", g.dot)))?;
            }
            if opts.explain {
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
                let said = seg.step.is_some_and(|s| narrated_once.contains(&s));
                if !(repeat && said) {
                    if let Some(n) = text.narration(seg, &lesson.facts, c) {
                        for l in wrap(&g.text(&n), narrate_width) {
                            writeln!(out, "{pad}{l}")?;
                        }
                    }
                    if let Some(s) = seg.step {
                        narrated_once.push(s);
                    }
                }
            }
            for f in &seg.findings {
                finding(f, text, paint, g, opts.explain, &pad, narrate_width, out)?;
            }
        }
    }
    if !lesson.loose_findings.is_empty() {
        writeln!(out)?;
        for f in &lesson.loose_findings {
            finding(f, text, paint, g, opts.explain, "  ", WIDTH - 2, out)?;
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "{}",
        paint.paint(Style::Heading, &g.text(&text.result(c)))
    )
}

#[allow(clippy::too_many_arguments)]
fn finding(
    f: &FindingReport,
    text: &Text,
    paint: &Painter,
    g: &Glyphs,
    explain: bool,
    pad: &str,
    width: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    let line = format!("{} {}", g.warn, g.text(&text.finding(f)));
    writeln!(
        out,
        "{pad}{}",
        paint.paint(severity_style(f.severity), &line)
    )?;
    if explain {
        if let Some(why) = text.finding_why(f) {
            for l in wrap(&g.text(&why), width.saturating_sub(2).max(30)) {
                writeln!(out, "{pad}  {l}")?;
            }
        }
    }
    Ok(())
}
