//! The pipeline for one capture: capture → decode → connection table →
//! state machines and per-segment checks → verdict → report model.
//! Renderers take it from there.

use crate::capture::CaptureError;
use crate::connection::{Connection, ConnectionSink, EndedBy, Spare};
use crate::conntable::Limits;
use crate::report::{CaptureReport, ConnectionReport, Counts, Summary};
use crate::rules::{Check, Severity};
use crate::verdict::{Assessment, Detail};
use std::io::Read;

/// How one capture is analyzed. The multi-file engine ([`crate::run`])
/// builds it from its own options, per capture.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Keep per-packet detail in every connection report.
    pub packets: bool,
    /// With `packets`: keep it for this connection only.
    pub packets_for: Option<u64>,
    /// With `packets`: the packets are for the teaching views without
    /// `--full`, which collapse long runs of ordinary segments; those runs
    /// are collapsed while reading (`connection::PacketList::collapsing`).
    pub collapse_packets: bool,
    /// With `packets`: the reports carry their packets as a
    /// [`crate::report::PacketStream`] (`packet_stream`, `packets` left
    /// `None`), read back as they are written, and a connection's records
    /// past a bound wait in a temporary file
    /// (`connection::PacketList::spilling`): for the formats that write
    /// each report as it comes (JSON Lines, the JSON document).
    pub stream_packets: bool,
    /// With `packets`: keep it only for connections whose id, when they
    /// begin, is at most this bound, which the consumer may lower while the
    /// capture is read (the HTML report: once no later connection can be
    /// shown in detail).
    pub packets_until: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
    /// Checks whose findings are left out of the reports.
    pub allow: Vec<Check>,
    /// Limits on the connection table.
    pub limits: Limits,
    /// Run the capture's stages as a pipeline of three threads (reading and
    /// decoding; the connection table; judging and reporting, on the
    /// calling thread) rather than all on the calling thread.
    pub pipeline: bool,
    /// Segments whose addresses and ports this filter rules out are not
    /// tracked (counted as skipped: `filtered`).
    pub segments: Option<std::sync::Arc<crate::filter::Filter>>,
    /// The input is live (standard input, a pipe): it runs as a pipeline
    /// whatever [`Options::pipeline`] says, and a connection that finished
    /// is reported about 2 s (wall clock) after its last segment even if
    /// nothing follows it, not when the next packet comes.
    pub live: bool,
    /// Only the connections of this shard are tracked; the segments of the
    /// others are counted as skipped (`other_shard`), and the ids go up by
    /// N ([`crate::shard`]). `None`: the whole capture.
    pub shard: Option<crate::shard::Shard>,
    /// Skip segments with a bad IPv4 header or TCP checksum (`bad_checksum`),
    /// as Zeek does; otherwise they are analyzed and counted
    /// ([`CaptureReport::bad_checksums`]), as tshark does.
    pub verify_checksums: bool,
    /// As a pipeline: the reading thread makes the new connection boxes
    /// the tracking thread runs out of (`stages::BoxMaker`), where tracking
    /// sets the pace (the table, the conn.log, the JSON formats); where
    /// writing the reports does (the teaching views, the HTML report, every
    /// packet with `--packets`), on the core it shares with reading, the
    /// tracking thread makes its own.
    pub boxes_ahead: bool,
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

mod stages;

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
    /// Whether the consumer judges each wanted report with
    /// [`Consumer::selects`] before it is counted.
    fn filters(&self) -> bool {
        false
    }
    /// Whether a wanted report counts at all (a filter): one that does not
    /// is left out of the summary and not reported. Asked only when
    /// [`Consumer::filters`].
    fn selects(&mut self, _report: &ConnectionReport) -> bool {
        true
    }
    /// Whether a wanted report needs its findings described (their frames
    /// and message) and its diagnosis' evidence in full: not for a
    /// conn.log, which shows neither.
    fn describes(&self) -> bool {
        true
    }
    /// Whether the consumer decides on a connection knowing its most severe
    /// finding ([`Consumer::wants_ranked`] instead of [`Consumer::wants`]).
    fn ranks(&self) -> bool {
        false
    }
    /// [`Consumer::wants`], told the connection's most severe finding
    /// (`None`: none). Asked for every connection when [`Consumer::ranks`].
    fn wants_ranked(&mut self, id: u64, _worst: Option<Severity>) -> bool {
        self.wants(id)
    }
}

impl<F: FnMut(ConnectionReport)> Consumer for F {
    fn report(&mut self, report: ConnectionReport) {
        self(report)
    }
}

/// Marks each report with the index of its capture.
struct Stamped<C> {
    capture: usize,
    consumer: C,
}

impl<C: Consumer> Consumer for Stamped<C> {
    fn wants(&mut self, id: u64) -> bool {
        self.consumer.wants(id)
    }
    fn report(&mut self, mut report: ConnectionReport) {
        report.capture = self.capture;
        self.consumer.report(report);
    }
    fn filters(&self) -> bool {
        self.consumer.filters()
    }
    fn selects(&mut self, report: &ConnectionReport) -> bool {
        self.consumer.selects(report)
    }
    fn describes(&self) -> bool {
        self.consumer.describes()
    }
    fn ranks(&self) -> bool {
        self.consumer.ranks()
    }
    fn wants_ranked(&mut self, id: u64, worst: Option<Severity>) -> bool {
        self.consumer.wants_ranked(id, worst)
    }
}

/// Adapts a consumer of finished reports to the connection table's sink, counting
/// every connection in the summary.
struct ReportSink<'a, C: Consumer> {
    file: crate::report::FileName,
    allow: &'a [Check],
    consumer: C,
    count: u64,
    evicted: Counts<EndedBy>,
    summary: Summary,
    /// The capture's tunnel chains, to name a connection's.
    carriers: crate::decode::Carriers,
    /// See [`Options::stream_packets`].
    stream_packets: bool,
}

impl<C: Consumer> ConnectionSink for ReportSink<'_, C> {
    fn connection(&mut self, mut conn: Box<Connection>) {
        self.judge(&mut conn);
    }

    fn ended_returning(&mut self, mut conn: Box<Connection>, why: EndedBy) -> Option<Spare> {
        conn.ended_by = why;
        self.judge(&mut conn);
        Some(Spare::of(conn))
    }
}

impl<C: Consumer> ReportSink<'_, C> {
    /// Judges a finished connection, counts it and reports it if wanted.
    fn judge(&mut self, conn: &mut Connection) {
        self.count += 1;
        if matches!(
            conn.ended_by,
            EndedBy::IdleTimeout | EndedBy::MaxConnections
        ) {
            self.evicted.add(conn.ended_by, 1);
        }
        // The connection is judged once, for the summary and its report;
        // findings are described (frames, message) only for a report.
        let (wanted, assessment) = if self.consumer.ranks() {
            // Judged by counts first, to rank it; described if wanted.
            let counts = Assessment::of(conn, self.allow, Detail::Counts);
            let worst = counts.findings.iter().map(|f| f.check.severity()).max();
            if self.consumer.wants_ranked(conn.id, worst) {
                (true, Assessment::of(conn, self.allow, Detail::Full))
            } else {
                (false, counts)
            }
        } else {
            let wanted = self.consumer.wants(conn.id);
            let detail = if wanted && self.consumer.describes() {
                Detail::Full
            } else {
                Detail::Counts
            };
            (wanted, Assessment::of(conn, self.allow, detail))
        };
        let diagnosis = crate::diagnosis::diagnose(conn, &assessment);
        let cause = diagnosis.as_ref().map(|d| d.cause);
        if !wanted {
            self.summary.add(&assessment, cause);
            return;
        }
        // Counted now, unless a filter may still drop it: then counted
        // apart, and only if the filter selects it.
        let apart = if self.consumer.filters() {
            let mut counts = Summary::new();
            counts.add(&assessment, cause);
            Some(counts)
        } else {
            self.summary.add(&assessment, cause);
            None
        };
        let diagnosis = diagnosis.map(|mut d| {
            d.text = crate::teach::text::Text::new(crate::teach::text::Lang::En).diagnosis(&d);
            d
        });
        let stream = if self.stream_packets {
            crate::report::PacketStream::take(conn)
        } else {
            None
        };
        let mut report = ConnectionReport::from_assessment(conn, &self.file, assessment, diagnosis);
        report.packet_stream = stream;
        if conn.carried != 0 {
            report.encapsulation = self.carriers.names(conn.carried);
        }
        if let Some(counts) = apart {
            if !self.consumer.selects(&report) {
                return;
            }
            self.summary.merge(&counts);
        }
        self.consumer.report(report);
    }
}

/// Analyzes one capture read from `input`. Each connection's report is
/// passed to `consumer` as soon as the connection is done; ids start at
/// `first_id` (and go up by one, or by N with [`Options::shard`]), and
/// each is marked with `capture`
/// ([`ConnectionReport::capture`]: the capture's index among those of the
/// report it goes into; [`crate::run`], which merges captures analyzed side
/// by side, sets the final ids and indexes as it merges). Returns the
/// capture's report (with the summary of all its connections) and the next
/// free id.
pub fn analyze_capture<R: Read + Send>(
    file: &str,
    capture: usize,
    input: R,
    first_id: u64,
    options: &Options,
    consumer: impl Consumer,
) -> Result<(CaptureReport, u64), CaptureError> {
    analyze_capture_with_progress(file, capture, input, first_id, options, consumer, |_| {})
}

/// [`analyze_capture`], reporting its progress every 65,536 frames.
///
/// With [`Options::pipeline`], reading and decoding, the connection table,
/// and judging and reporting finished connections (`consumer` included, on
/// the calling thread) run on threads of their own, handing their results
/// on in batches. The results are the same either way.
pub fn analyze_capture_with_progress<R: Read + Send>(
    file: &str,
    capture: usize,
    input: R,
    first_id: u64,
    options: &Options,
    consumer: impl Consumer,
    mut on_progress: impl FnMut(Progress),
) -> Result<(CaptureReport, u64), CaptureError> {
    let mut sink = ReportSink {
        file: crate::report::FileName::new(file),
        allow: &options.allow,
        consumer: Stamped { capture, consumer },
        count: 0,
        evicted: Counts::default(),
        summary: Summary::new(),
        carriers: Default::default(),
        stream_packets: options.stream_packets,
    };
    let setup = setup(options, first_id, &sink);
    let (read, tracked) = if options.pipeline || options.live {
        stages::pipeline(stages::One(input), &setup, &mut sink, &mut on_progress)
    } else {
        stages::inline(stages::One(input), &setup, &mut sink, on_progress)
    };
    let mut read = read?;
    read.icmp_unmatched(tracked.icmp_unmatched);
    let mut report = capture_report(file, read, sink.count, options);
    report.summary = sink.summary;
    report.evicted = sink.evicted;
    Ok((report, tracked.next_id))
}

/// Several captures analyzed as one, their records merged in timestamp
/// order ([`crate::merge`]): a connection split over the files of a
/// rotation, or whose two directions two taps captured, is one connection.
///
/// Returns a report per input, in input order (an input that cannot be
/// read is an error there, the others are merged): each says what was
/// read of its file (frames, TCP segments, skipped frames, where reading
/// stopped); the merged analysis (`connections`, `evicted`, `summary`) is
/// in the first that yielded a frame (else the first readable one), whose
/// index is `capture` in the connection reports. Frame numbers are those
/// of the merged order. `files` names each input; `file` of the
/// connection reports is `name`.
pub fn analyze_merged<R: Read + Send>(
    name: &str,
    files: Vec<(String, R)>,
    first_id: u64,
    options: &Options,
    consumer: impl Consumer,
    mut on_progress: impl FnMut(Progress),
) -> (Vec<Result<CaptureReport, CaptureError>>, u64) {
    let (names, inputs): (Vec<String>, Vec<R>) = files.into_iter().unzip();
    // The connections are marked with the capture that holds them, known
    // once reading is done: 0 here, set by the caller ([`crate::run`]).
    let mut sink = ReportSink {
        file: crate::report::FileName::new(name),
        allow: &options.allow,
        consumer: Stamped {
            capture: 0,
            consumer,
        },
        count: 0,
        evicted: Counts::default(),
        summary: Summary::new(),
        carriers: Default::default(),
        stream_packets: options.stream_packets,
    };
    let setup = setup(options, first_id, &sink);
    let inputs = stages::Merged(inputs);
    let (mut read, tracked) = if options.pipeline {
        stages::pipeline(inputs, &setup, &mut sink, &mut on_progress)
    } else {
        stages::inline(inputs, &setup, &mut sink, on_progress)
    };
    let next_id = tracked.next_id;
    // The ICMP errors that matched no connection, told apart from those
    // that did in the first input that had any.
    if let Some(first) = read.iter_mut().flatten().find(|r| {
        r.skipped
            .contains_key(&crate::decode::SkipReason::IcmpAttached)
    }) {
        first.icmp_unmatched(tracked.icmp_unmatched);
    }
    let mut reports: Vec<Result<CaptureReport, CaptureError>> = names
        .iter()
        .zip(read)
        .map(|(file, read)| read.map(|read| capture_report(file, read, 0, options)))
        .collect();
    let holder = reports
        .iter()
        .position(|r| r.as_ref().is_ok_and(|r| r.frames > 0))
        .or_else(|| reports.iter().position(|r| r.is_ok()));
    if let Some(Ok(report)) = holder.map(|i| &mut reports[i]) {
        report.connections = sink.count;
        report.summary = sink.summary;
        report.evicted = sink.evicted;
    }
    (reports, next_id)
}

/// How the stages of one analysis are set up.
fn setup<C: Consumer>(options: &Options, first_id: u64, sink: &ReportSink<'_, C>) -> stages::Setup {
    stages::Setup {
        first_id,
        id_step: options.shard.map_or(1, |s| s.step()),
        keep_packets: options.packets.then_some(options.packets_for),
        packets_until: options.packets_until.clone(),
        collapse_packets: options.collapse_packets,
        spill_packets: options.stream_packets,
        limits: options.limits,
        carriers: sink.carriers.clone(),
        segments: options.segments.clone(),
        live: options.live,
        shard: options.shard.filter(|s| s.count() > 1),
        verify_checksums: options.verify_checksums,
        boxes_ahead: options.boxes_ahead,
    }
}

/// Segments with a bad checksum are counted only when they are analyzed
/// (without `--verify-checksums`); with it they are skipped (`bad_checksum`).
fn capture_report(
    file: &str,
    read: stages::Decoded,
    connections: u64,
    options: &Options,
) -> CaptureReport {
    let mut report = CaptureReport::new(
        file.to_string(),
        read.read,
        read.tcp_segments,
        &read.skipped,
        connections,
    );
    if !options.verify_checksums {
        report.bad_checksums = read.bad_checksums;
        report.checksums_counted = read
            .checksums_unchecked
            .then_some(stages::CHECKSUMS_COUNTED);
    }
    report
}
