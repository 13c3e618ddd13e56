//! The pipeline for one capture: capture → decode → flows → state machines
//! → report model. Renderers take it from there.

use crate::capture::{self, CaptureError, Event};
use crate::decode::{self, SkipReason};
use crate::flow::{At, Connection, ConnectionSink, EndedBy, Limits};
use crate::report::{Assessment, CaptureReport, ConnectionReport, Summary};
use crate::rules::Check;
use crate::table::FlowTable;
use std::collections::BTreeMap;
use std::io::Read;

/// What the core needs to know; built from the command line by `cli`.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Keep per-packet detail in every connection report.
    pub packets: bool,
    /// With `packets`: keep it for this connection only.
    pub packets_for: Option<u64>,
    /// Checks whose findings are left out of the reports.
    pub allow: Vec<Check>,
    /// Limits on the connection table.
    pub limits: Limits,
}

/// How far the analysis of a capture has got, for progress displays.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    /// Bytes of the file read so far.
    pub bytes: u64,
    pub frames: u64,
    /// Connections tracked now, and handed over so far.
    pub open_connections: u64,
    pub done_connections: u64,
}

/// Frames between two progress reports.
const PROGRESS_EVERY: u64 = 1 << 16;

/// Receives the reports of finished connections.
///
/// Every connection is counted in the capture's summary; its full report
/// (addresses as text, times, findings with their messages…) is built only
/// when [`Consumer::wants`] it, so that a table of 50 rows does not pay for
/// a million reports. A closure taking reports wants them all.
pub trait Consumer {
    /// Whether the report of connection `id` is wanted.
    fn wants(&mut self, _id: u64) -> bool {
        true
    }
    fn report(&mut self, report: ConnectionReport);
}

impl<F: FnMut(ConnectionReport)> Consumer for F {
    fn report(&mut self, report: ConnectionReport) {
        self(report)
    }
}

/// Adapts a consumer of finished reports to the flow table's sink, counting
/// every connection in the summary.
struct ReportSink<'a, C: Consumer> {
    file: &'a str,
    allow: &'a [Check],
    consumer: C,
    count: u64,
    evicted: BTreeMap<EndedBy, u64>,
    summary: Summary,
}

impl<C: Consumer> ConnectionSink for ReportSink<'_, C> {
    fn connection(&mut self, conn: Connection) {
        self.count += 1;
        if matches!(
            conn.ended_by,
            EndedBy::IdleTimeout | EndedBy::MaxConnections
        ) {
            *self.evicted.entry(conn.ended_by).or_default() += 1;
        }
        let assessment = Assessment::of(&conn, self.allow);
        self.summary.add(&assessment);
        if self.consumer.wants(conn.id) {
            self.consumer.report(ConnectionReport::from_assessment(
                &conn, self.file, assessment,
            ));
        }
    }
}

/// Analyzes one capture read from `input`. Each connection's report is
/// passed to `consumer` as soon as the connection is done; ids start at
/// `first_id`. Returns the capture's report (with the summary of all its
/// connections) and the next free id.
pub fn analyze_capture<R: Read + Send>(
    file: &str,
    file_index: usize,
    input: R,
    first_id: u64,
    options: &Options,
    consumer: impl Consumer,
) -> Result<(CaptureReport, u64), CaptureError> {
    analyze_capture_with_progress(file, file_index, input, first_id, options, consumer, |_| {})
}

/// [`analyze_capture`], reporting its progress every 65,536 frames.
pub fn analyze_capture_with_progress<R: Read + Send>(
    file: &str,
    file_index: usize,
    input: R,
    first_id: u64,
    options: &Options,
    consumer: impl Consumer,
    mut on_progress: impl FnMut(Progress),
) -> Result<(CaptureReport, u64), CaptureError> {
    let keep = options.packets.then_some(options.packets_for);
    let mut table = FlowTable::new(file_index, first_id, keep, options.limits);
    let mut sink = ReportSink {
        file,
        allow: &options.allow,
        consumer,
        count: 0,
        evicted: BTreeMap::new(),
        summary: Summary::new(),
    };
    let mut skipped: BTreeMap<SkipReason, u64> = BTreeMap::new();
    let mut tcp_segments = 0u64;
    let read = capture::read_events(input, |event| {
        let frame = match event {
            Event::Frame(frame) => frame,
            // The input may be live: finish what the lookahead holds back.
            Event::Waiting => return table.drain(&mut sink),
        };
        if frame.number % PROGRESS_EVERY == 0 {
            on_progress(Progress {
                bytes: frame.offset,
                frames: frame.number,
                open_connections: table.open_connections() as u64,
                done_connections: sink.count,
            });
        }
        let Some(link_type) = frame.link_type else {
            *skipped.entry(SkipReason::UnknownInterface).or_default() += 1;
            return;
        };
        match decode::decode(link_type, frame.data, frame.complete) {
            Ok(seg) => {
                tcp_segments += 1;
                let at = At {
                    frame: frame.number,
                    ts_ns: frame.ts_ns,
                };
                table.push(seg, at, &mut sink);
            }
            Err(reason) => *skipped.entry(reason).or_default() += 1,
        }
    })?;
    let next_id = table.finish(&mut sink);
    let mut report = CaptureReport::new(file.to_string(), read, tcp_segments, &skipped, sink.count);
    report.summary = sink.summary;
    report.evicted = sink
        .evicted
        .iter()
        .map(|(why, n)| (why.as_str(), *n))
        .collect();
    Ok((report, next_id))
}
