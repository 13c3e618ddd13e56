//! Mermaid sequence diagrams (`--format mermaid`), ready to paste into
//! Markdown course notes: one `sequenceDiagram` per connection, a box per
//! phase, each segment a message labelled with its line (frame) number,
//! flags, numbers and step, each side's state change as a note beside its
//! participant, findings as notes across both.
//!
//! One connection gives a bare diagram (a valid `.mmd` file for `mmdc`);
//! several give Markdown, a fenced `mermaid` block per connection.

use super::style::endpoint;
use super::teaching::TeachOptions;
use super::timeline::chains;
use crate::report::{ConnectionReport, FindingReport, Report};
use crate::state::Side;
use crate::teach::text::Text;
use crate::teach::{Item, Lesson, Phase, PhaseKind, Seg, Step};
use std::io::{self, Write};

pub fn render(report: &Report, opts: &TeachOptions, out: &mut dyn Write) -> io::Result<()> {
    let text = Text::new(opts.lang);
    let fenced = report.connections.len() != 1;
    for (i, c) in report.connections.iter().enumerate() {
        if fenced {
            if i > 0 {
                writeln!(out)?;
            }
            writeln!(out, "## {}\n\n```mermaid", text.connection(c.id))?;
        }
        diagram(c, opts, &text, out)?;
        if fenced {
            writeln!(out, "```")?;
        }
    }
    Ok(())
}

/// Text made safe inside a Mermaid statement: no statement separators (`;`),
/// entity codes (`#`), HTML (`<`, `>`), comment starts (`%%`) or line breaks.
pub fn clean(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            ';' => ',',
            '#' => '＃',
            '<' => '‹',
            '>' => '›',
            '%' => '％',
            '{' => '(',
            '}' => ')',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

/// Background colours of the phases.
fn phase_colour(kind: PhaseKind) -> &'static str {
    match kind {
        PhaseKind::Opening(_) => "rgb(232, 242, 255)",
        PhaseKind::NotCaptured | PhaseKind::Data => "rgb(244, 244, 244)",
        PhaseKind::Release { .. } => "rgb(255, 240, 225)",
    }
}

fn message(seg: &Seg<'_>, text: &Text) -> String {
    let mut m = format!(
        "{}: {} seq={}{}",
        text.line(seg.p.frame),
        seg.flags,
        seg.seq,
        seg.ack_text(text)
    );
    if seg.p.len > 0 {
        m.push_str(&format!(" len={}", seg.p.len));
    }
    if let Some(step) = seg.step {
        m.push_str(&format!(" · {}", text.step(step)));
    }
    m.push_str(&seg.analysis_text(text));
    m
}

pub(crate) fn diagram(
    c: &ConnectionReport,
    opts: &TeachOptions,
    text: &Text,
    out: &mut dyn Write,
) -> io::Result<()> {
    let lesson = Lesson::new(c, opts.lesson);
    header(&lesson, text, out)?;
    for phase in &lesson.phases {
        phase_box(phase, text, out)?;
    }
    for f in &lesson.loose_findings {
        writeln!(out, "{}", finding_note(f, text))?;
    }
    writeln!(out, "    Note over C,S: {}", clean(&text.result(c)))?;
    match text.diagnosis_line(c) {
        Some(d) => writeln!(out, "    Note over C,S: {}", clean(&d)),
        None => Ok(()),
    }
}

/// The title, the two participants with their first states, the ISNs.
fn header(lesson: &Lesson<'_>, text: &Text, out: &mut dyn Write) -> io::Result<()> {
    let c = lesson.conn;
    let client = endpoint(&c.client.addr, c.client.port);
    let server = endpoint(&c.server.addr, c.server.port);
    let file = c.file.rsplit(['/', '\\']).next().unwrap_or(&c.file);
    writeln!(out, "sequenceDiagram")?;
    writeln!(
        out,
        "    title {}",
        clean(&format!("{} · {file}", text.connection(c.id)))
    )?;
    writeln!(
        out,
        "    participant C as {}",
        clean(&format!("{} {client}", text.side(Side::Client)))
    )?;
    writeln!(
        out,
        "    participant S as {}",
        clean(&format!("{} {server}", text.side(Side::Server)))
    )?;
    if let Some(s) = c.client.states.first() {
        writeln!(out, "{}", state_note(Side::Client, s.as_str()))?;
    }
    if let Some(s) = c.server.states.first() {
        writeln!(out, "{}", state_note(Side::Server, s.as_str()))?;
    }
    writeln!(
        out,
        "    Note over C,S: {}",
        clean(&text.isn_line(c, &lesson.facts, lesson.numbers))
    )
}

/// A note beside one side's lifeline.
fn state_note(side: Side, s: &str) -> String {
    match side {
        Side::Client => format!("    Note left of C: {}", clean(s)),
        Side::Server => format!("    Note right of S: {}", clean(s)),
    }
}

/// A phase as a coloured box: its heading, then each segment (an arrow,
/// its state changes and findings) or summary.
fn phase_box(phase: &Phase<'_>, text: &Text, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "    rect {}", phase_colour(phase.kind))?;
    writeln!(out, "    Note over C,S: {}", clean(&text.phase(phase.kind)))?;
    for item in &phase.items {
        let seg = match item {
            Item::Collapsed(col) => {
                writeln!(out, "    Note over C,S: {}", clean(&text.collapsed(col)))?;
                continue;
            }
            Item::Seg(s) => s,
        };
        let (from, to) = match seg.from {
            Side::Client => ("C", "S"),
            Side::Server => ("S", "C"),
        };
        // A RST ends with a cross, a repeated segment is dashed.
        let arrow = match seg.step {
            Some(Step::Reset | Step::Refused) => "-x",
            Some(Step::SynAgain | Step::SynAckAgain | Step::FinAgain) => "-->>",
            _ if seg.p.analysis.is_retransmission() => "-->>",
            _ => "->>",
        };
        writeln!(out, "    {from}{arrow}{to}: {}", clean(&message(seg, text)))?;
        for (side, states) in chains(seg.transitions()) {
            let chain: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
            writeln!(out, "{}", state_note(side, &chain.join(" → ")))?;
        }
        for f in &seg.findings {
            writeln!(out, "{}", finding_note(f, text))?;
        }
    }
    writeln!(out, "    end")
}

/// A finding as a note spanning both lifelines.
fn finding_note(f: &FindingReport, text: &Text) -> String {
    let label = format!(
        "{} ({}) {}",
        f.code,
        text.severity(f.severity),
        text.finding_title(f)
    );
    format!("    Note over C,S: ⚠ {}", clean(&label))
}
