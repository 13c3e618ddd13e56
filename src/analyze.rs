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
    /// Judge finished connections and build their reports on the calling
    /// thread while another reads the capture and tracks connections (use
    /// it when a core is free).
    pub report_thread: bool,
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
    fn connection(&mut self, conn: Box<Connection>) {
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
///
/// With [`Options::report_thread`], reading and the connection table run
/// on a thread of their own and hand finished connections over in batches;
/// judging them and building their reports (`consumer` included) stay on
/// the calling thread. The results are the same either way.
pub fn analyze_capture_with_progress<R: Read + Send>(
    file: &str,
    file_index: usize,
    input: R,
    first_id: u64,
    options: &Options,
    consumer: impl Consumer,
    mut on_progress: impl FnMut(Progress),
) -> Result<(CaptureReport, u64), CaptureError> {
    let mut sink = ReportSink {
        file,
        allow: &options.allow,
        consumer,
        count: 0,
        evicted: BTreeMap::new(),
        summary: Summary::new(),
    };
    let tracked = if options.report_thread {
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Handover>(IN_FLIGHT_BATCHES);
            let tracker = scope.spawn(move || {
                let mut batches = BatchSink {
                    batch: Vec::with_capacity(BATCH),
                    tx: &tx,
                    done: 0,
                };
                let tracked = track(input, file_index, first_id, options, &mut batches, |p| {
                    // The receiver only goes away if the caller panicked.
                    let _ = batches_progress(&tx, p);
                });
                batches.send();
                tracked
            });
            for handover in rx {
                match handover {
                    Handover::Connections(batch) => {
                        for conn in batch {
                            sink.connection(conn);
                        }
                    }
                    Handover::Progress(p) => on_progress(Progress {
                        done_connections: sink.count,
                        ..p
                    }),
                }
            }
            tracker
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    } else {
        let mut count_done = 0;
        let mut direct = CountingSink {
            inner: &mut sink,
            done: &mut count_done,
        };
        track(input, file_index, first_id, options, &mut direct, |p| {
            on_progress(p)
        })
    }?;
    let mut report = CaptureReport::new(
        file.to_string(),
        tracked.read,
        tracked.tcp_segments,
        &tracked.skipped,
        sink.count,
    );
    report.summary = sink.summary;
    report.evicted = sink
        .evicted
        .iter()
        .map(|(why, n)| (why.as_str(), *n))
        .collect();
    Ok((report, tracked.next_id))
}

/// Connections handed to the reporting thread at a time.
const BATCH: usize = 256;
/// Batches on their way at most (bounds the memory they hold).
const IN_FLIGHT_BATCHES: usize = 8;

/// What the tracking thread sends the reporting thread.
// Boxed connections: the table holds them boxed, and moving the box does
// not copy the connection (about 1.4 KB).
#[allow(clippy::vec_box)]
enum Handover {
    Connections(Vec<Box<Connection>>),
    Progress(Progress),
}

fn batches_progress(
    tx: &std::sync::mpsc::SyncSender<Handover>,
    p: Progress,
) -> Result<(), std::sync::mpsc::SendError<Handover>> {
    tx.send(Handover::Progress(p))
}

/// Collects finished connections into batches for the reporting thread.
#[allow(clippy::vec_box)] // see Handover
struct BatchSink<'a> {
    batch: Vec<Box<Connection>>,
    tx: &'a std::sync::mpsc::SyncSender<Handover>,
    done: u64,
}

impl BatchSink<'_> {
    fn send(&mut self) {
        if !self.batch.is_empty() {
            let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
            // The receiver only goes away if the caller panicked.
            let _ = self.tx.send(Handover::Connections(batch));
        }
    }
}

impl ConnectionSink for BatchSink<'_> {
    fn connection(&mut self, conn: Box<Connection>) {
        self.done += 1;
        self.batch.push(conn);
        if self.batch.len() >= BATCH {
            self.send();
        }
    }
}

impl Flushing for BatchSink<'_> {
    fn flush(&mut self) {
        self.send();
    }
    fn done(&self) -> u64 {
        self.done
    }
}

/// Passes connections straight on, counting them.
struct CountingSink<'a, S> {
    inner: &'a mut S,
    done: &'a mut u64,
}

impl<S: ConnectionSink> ConnectionSink for CountingSink<'_, S> {
    fn connection(&mut self, conn: Box<Connection>) {
        *self.done += 1;
        self.inner.connection(conn);
    }
}

impl<S: ConnectionSink> Flushing for CountingSink<'_, S> {
    fn flush(&mut self) {}
    fn done(&self) -> u64 {
        *self.done
    }
}

/// A sink that may hold connections back, and counts what it was given.
trait Flushing: ConnectionSink {
    /// Passes on whatever is held back (the input may be about to wait).
    fn flush(&mut self);
    fn done(&self) -> u64;
}

/// What reading and tracking a capture produced, besides the connections.
struct Tracked {
    read: capture::ReadSummary,
    skipped: BTreeMap<SkipReason, u64>,
    tcp_segments: u64,
    next_id: u64,
}

/// Reads the capture, decodes its frames and feeds the connection table,
/// which hands every connection to `sink` when it is done.
fn track<R: Read + Send>(
    input: R,
    file_index: usize,
    first_id: u64,
    options: &Options,
    sink: &mut impl Flushing,
    mut on_progress: impl FnMut(Progress),
) -> Result<Tracked, CaptureError> {
    let keep = options.packets.then_some(options.packets_for);
    let mut table = FlowTable::new(file_index, first_id, keep, options.limits);
    let mut skipped: BTreeMap<SkipReason, u64> = BTreeMap::new();
    let mut tcp_segments = 0u64;
    let read = capture::read_events(input, |event| {
        let frame = match event {
            Event::Frame(frame) => frame,
            // The input may be live: finish what is held back.
            Event::Waiting => {
                table.drain(sink);
                return sink.flush();
            }
        };
        if frame.number % PROGRESS_EVERY == 0 {
            on_progress(Progress {
                bytes: frame.offset,
                frames: frame.number,
                open_connections: table.open_connections() as u64,
                done_connections: sink.done(),
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
                table.push(seg, at, sink);
            }
            Err(reason) => *skipped.entry(reason).or_default() += 1,
        }
    })?;
    let next_id = table.finish(sink);
    Ok(Tracked {
        read,
        skipped,
        tcp_segments,
        next_id,
    })
}
