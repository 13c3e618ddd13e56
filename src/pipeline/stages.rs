//! The stages of one capture's analysis, and the ways to run them:
//!
//! 1. read and decode: capture records → TCP segments ([`read_segments`]);
//! 2. track: segments → the connection table, which hands each connection
//!    over when it is done ([`TrackingStage`]);
//! 3. report: finished connections → the report sink (in `analyze`).
//!
//! [`inline`] runs all three on the calling thread; [`pipeline`] gives
//! stages 1 and 2 a thread each. Between threads, work travels in batches over bounded
//! channels (so memory stays bounded), and emptied batches travel back to
//! be reused (so the hot path does not allocate). Order is kept, so every
//! way gives the same results.
//!
//! When the reader is about to wait for input (a live stream), every stage
//! passes on what it holds: a connection that finished is reported at once.

// Connections travel boxed: the table holds them boxed, and moving the box
// does not copy the connection (about 1.4 KB).
#![allow(clippy::vec_box)]

use super::Progress;
use crate::capture::{self, CaptureError, Event, ReadSummary};
use crate::connection::{At, Connection, ConnectionSink, EndedBy};
use crate::conntable::{ConnTable, Keyed, Limits};
use crate::decode::defrag::{Limits as DefragLimits, Reassembler};
use crate::decode::{self, Segment, SkipReason};
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Frames between two progress reports.
const PROGRESS_EVERY: u64 = 1 << 16;
/// Segments handed from reading to tracking at a time.
const SEGMENT_BATCH: usize = 4096;
/// Connections handed from tracking to reporting at a time.
const CONNECTION_BATCH: usize = 256;
/// Batches on their way between two stages at most.
const IN_FLIGHT: usize = 4;

/// What the connection table is set up with.
pub(super) struct Setup {
    pub first_id: u64,
    pub keep_packets: Option<Option<u64>>,
    /// See [`super::Options::packets_until`].
    pub packets_until: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
    pub limits: Limits,
    /// The tunnel chains of the capture, numbered while decoding.
    pub carriers: decode::Carriers,
    /// Segments this filter rules out are skipped (`filtered`).
    pub segments: Option<std::sync::Arc<crate::filter::Filter>>,
}

/// What the stages produced besides the connections.
pub(super) struct Done {
    pub read: ReadSummary,
    pub skipped: BTreeMap<SkipReason, u64>,
    pub tcp_segments: u64,
    pub next_id: u64,
}

/// Receives what reading and decoding produce.
trait Segments {
    fn segment(&mut self, seg: Segment, at: At);
    /// The reader is about to wait for input.
    fn waiting(&mut self);
    /// `bytes` of the file and `frames` records read so far.
    fn progress(&mut self, bytes: u64, frames: u64);
}

/// What reading and decoding counted.
struct Decoded {
    read: ReadSummary,
    skipped: BTreeMap<SkipReason, u64>,
    tcp_segments: u64,
}

impl Decoded {
    fn done(self, next_id: u64) -> Done {
        Done {
            read: self.read,
            skipped: self.skipped,
            tcp_segments: self.tcp_segments,
            next_id,
        }
    }
}

/// Takes each item of a batch from the previous stage, then sends the
/// emptied batch back to be reused (dropped if that stage has enough).
fn unpack<T>(mut batch: Vec<T>, back: &SyncSender<Vec<T>>, mut each: impl FnMut(T)) {
    for item in batch.drain(..) {
        each(item);
    }
    let _ = back.try_send(batch);
}

/// The result of a stage's thread; its panic, if it panicked.
fn joined<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Stage 1: reads the capture and decodes its frames.
fn read_segments<R: Read + Send>(
    input: R,
    carriers: &decode::Carriers,
    out: &mut impl Segments,
    filter: Option<&crate::filter::Filter>,
) -> Result<Decoded, CaptureError> {
    let mut skipped: BTreeMap<SkipReason, u64> = BTreeMap::new();
    let mut tcp_segments = 0u64;
    let mut numbers = decode::CarrierNumbers::new(carriers.clone());
    let mut tunnels = decode::Encapsulation::new();
    let mut defrag = Reassembler::new(DefragLimits::default());
    let read = capture::read_events(input, |event| {
        let frame = match event {
            Event::Frame(frame) => frame,
            Event::Waiting => return out.waiting(),
        };
        if frame.number % PROGRESS_EVERY == 0 {
            out.progress(frame.offset, frame.number);
        }
        let Some(link_type) = frame.link_type else {
            *skipped.entry(SkipReason::UnknownInterface).or_default() += 1;
            return;
        };
        let decoded = decode::decode_reassembling(
            link_type,
            frame.data,
            frame.complete,
            frame.ts_ns,
            &mut tunnels,
            &mut defrag,
        );
        // Fragments counted when they came, whose datagram then timed out.
        let timed_out = defrag.take_timed_out();
        if timed_out > 0 {
            if let Some(n) = skipped.get_mut(&SkipReason::IpFragment) {
                *n = n.saturating_sub(timed_out);
                if *n == 0 {
                    skipped.remove(&SkipReason::IpFragment);
                }
            }
            *skipped.entry(SkipReason::IpFragmentTimeout).or_default() += timed_out;
        }
        match decoded {
            Ok(seg)
                if filter
                    .is_some_and(|f| !f.keeps(seg.src, seg.src_port, seg.dst, seg.dst_port)) =>
            {
                *skipped.entry(SkipReason::Filtered).or_default() += 1;
            }
            Ok(mut seg) => {
                if !tunnels.is_empty() {
                    seg.carried = numbers.number(&tunnels);
                }
                tcp_segments += 1;
                let at = At {
                    frame: frame.number,
                    ts_ns: frame.ts_ns,
                };
                out.segment(seg, at);
            }
            Err(reason) => *skipped.entry(reason).or_default() += 1,
        }
    })?;
    Ok(Decoded {
        read,
        skipped,
        tcp_segments,
    })
}

/// A connection sink that may hold connections back.
trait Holding: ConnectionSink {
    /// Passes on whatever is held back.
    fn flush(&mut self);
}

/// Stage 2: feeds segments to the connection table.
struct TrackingStage<'s, S, P> {
    table: ConnTable,
    sink: &'s mut S,
    /// Connections handed over so far.
    done: u64,
    on_progress: P,
}

impl<S: Holding, P: FnMut(Progress)> TrackingStage<'_, S, P> {
    /// The table, and the sink that counts what it hands over.
    fn parts(&mut self) -> (&mut ConnTable, Counted<'_, S>) {
        let counted = Counted {
            sink: &mut *self.sink,
            done: &mut self.done,
        };
        (&mut self.table, counted)
    }

    fn keyed(&mut self, keyed: Keyed) {
        let (table, mut sink) = self.parts();
        table.push_keyed(keyed, &mut sink);
    }

    fn finish(mut self) -> u64 {
        let mut counted = Counted {
            sink: self.sink,
            done: &mut self.done,
        };
        self.table.finish(&mut counted)
    }
}

impl<S: Holding, P: FnMut(Progress)> Segments for TrackingStage<'_, S, P> {
    fn segment(&mut self, seg: Segment, at: At) {
        let (table, mut sink) = self.parts();
        table.push(seg, at, &mut sink);
    }

    fn waiting(&mut self) {
        let (table, mut sink) = self.parts();
        table.drain(&mut sink);
        self.sink.flush();
    }

    fn progress(&mut self, bytes: u64, frames: u64) {
        (self.on_progress)(Progress {
            bytes,
            frames,
            open_connections: self.table.open_connections() as u64,
            done_connections: self.done,
        });
    }
}

/// Counts the connections passed on.
struct Counted<'a, S> {
    sink: &'a mut S,
    done: &'a mut u64,
}

impl<S: ConnectionSink> ConnectionSink for Counted<'_, S> {
    fn connection(&mut self, conn: Box<Connection>) {
        *self.done += 1;
        self.sink.connection(conn);
    }
    fn ended(&mut self, conn: Box<Connection>, why: EndedBy) {
        *self.done += 1;
        self.sink.ended(conn, why);
    }
}

/// The report sink on the calling thread holds nothing back.
struct Direct<'a, S>(&'a mut S);

impl<S: ConnectionSink> ConnectionSink for Direct<'_, S> {
    fn connection(&mut self, conn: Box<Connection>) {
        self.0.connection(conn);
    }
    fn ended(&mut self, conn: Box<Connection>, why: EndedBy) {
        self.0.ended(conn, why);
    }
}

impl<S: ConnectionSink> Holding for Direct<'_, S> {
    fn flush(&mut self) {}
}

fn tracking_stage<'s, S: Holding, P: FnMut(Progress)>(
    setup: &Setup,
    sink: &'s mut S,
    on_progress: P,
) -> TrackingStage<'s, S, P> {
    let mut table = ConnTable::new(setup.first_id, setup.keep_packets, setup.limits);
    if let Some(bound) = &setup.packets_until {
        table.keep_packets_until(bound.clone());
    }
    TrackingStage {
        table,
        sink,
        done: 0,
        on_progress,
    }
}

/// Every stage on the calling thread.
pub(super) fn inline<R: Read + Send>(
    input: R,
    setup: &Setup,
    sink: &mut impl ConnectionSink,
    on_progress: impl FnMut(Progress),
) -> Result<Done, CaptureError> {
    let mut direct = Direct(sink);
    let mut tracker = tracking_stage(setup, &mut direct, on_progress);
    let decoded = read_segments(
        input,
        &setup.carriers,
        &mut tracker,
        setup.segments.as_deref(),
    )?;
    Ok(decoded.done(tracker.finish()))
}

/// What the tracking stage sends the reporting stage.
enum ToReport {
    /// Each with why it ended, which the reporting thread sets.
    Connections(Vec<Ended>),
    Progress(Progress),
}

/// Items gathered into batches for the next stage's thread, over a bounded
/// channel; the next stage sends emptied batches back to be reused.
struct Batches<T, M> {
    batch: Vec<T>,
    size: usize,
    tx: SyncSender<M>,
    back: Receiver<Vec<T>>,
    /// Makes the message that carries a batch.
    wrap: fn(Vec<T>) -> M,
}

impl<T, M> Batches<T, M> {
    fn new(size: usize, tx: SyncSender<M>, back: Receiver<Vec<T>>, wrap: fn(Vec<T>) -> M) -> Self {
        Batches {
            batch: Vec::with_capacity(size),
            size,
            tx,
            back,
            wrap,
        }
    }

    fn push(&mut self, item: T) {
        self.batch.push(item);
        if self.batch.len() >= self.size {
            self.send();
        }
    }

    /// Sends the batch so far, if any.
    fn send(&mut self) {
        if !self.batch.is_empty() {
            let empty = self
                .back
                .try_recv()
                .unwrap_or_else(|_| Vec::with_capacity(self.size));
            let batch = std::mem::replace(&mut self.batch, empty);
            self.message((self.wrap)(batch));
        }
    }

    fn message(&self, m: M) {
        // The receiver only goes away if the next stage panicked.
        let _ = self.tx.send(m);
    }
}

/// A finished connection and why it ended.
type Ended = (Box<Connection>, EndedBy);

/// Finished connections, batched for the reporting thread.
type ConnectionBatches = Batches<Ended, ToReport>;

impl ConnectionSink for ConnectionBatches {
    fn connection(&mut self, conn: Box<Connection>) {
        let why = conn.ended_by;
        self.push((conn, why));
    }
    /// Leaves `ended_by` to the reporting thread, which reads the whole
    /// connection anyway.
    fn ended(&mut self, conn: Box<Connection>, why: EndedBy) {
        self.push((conn, why));
    }
}

impl Holding for ConnectionBatches {
    fn flush(&mut self) {
        self.send();
    }
}

/// The reporting stage, on the calling thread: receives batches of
/// finished connections until the tracking stage is done.
fn report_from(
    rx: Receiver<ToReport>,
    back: SyncSender<Vec<Ended>>,
    sink: &mut impl ConnectionSink,
    on_progress: &mut impl FnMut(Progress),
) {
    for handed in rx {
        match handed {
            ToReport::Connections(batch) => {
                unpack(batch, &back, |(conn, why)| sink.ended(conn, why))
            }
            ToReport::Progress(p) => on_progress(p),
        }
    }
}

/// Runs `track` (stages 1 and 2) on threads of its own, and reports on the
/// calling thread.
fn with_report_thread<T: Send>(
    sink: &mut impl ConnectionSink,
    on_progress: &mut impl FnMut(Progress),
    track: impl FnOnce(&mut ConnectionBatches) -> T + Send,
) -> T {
    std::thread::scope(|scope| {
        let (tx, rx) = sync_channel(IN_FLIGHT);
        let (back_tx, back_rx) = sync_channel(IN_FLIGHT);
        let tracking = scope.spawn(move || {
            let mut batches =
                ConnectionBatches::new(CONNECTION_BATCH, tx, back_rx, ToReport::Connections);
            let out = track(&mut batches);
            batches.flush();
            out
        });
        report_from(rx, back_tx, sink, on_progress);
        joined(tracking)
    })
}

/// What the reading stage sends the tracking stage.
enum ToTrack {
    Segments(Vec<Keyed>),
    Waiting,
    Progress { bytes: u64, frames: u64 },
}

/// Decoded segments, batched for the tracking thread.
type SegmentBatches = Batches<Keyed, ToTrack>;

impl Segments for SegmentBatches {
    fn segment(&mut self, seg: Segment, at: At) {
        // Keyed here, to take the hashing off the tracking thread.
        self.push(Keyed::new(seg, at));
    }

    fn waiting(&mut self) {
        self.send();
        self.message(ToTrack::Waiting);
    }

    fn progress(&mut self, bytes: u64, frames: u64) {
        // After the segments before it, so the tracker's counts match.
        self.send();
        self.message(ToTrack::Progress { bytes, frames });
    }
}

/// Each stage on a thread of its own: reading, tracking, and reporting on
/// the calling thread.
pub(super) fn pipeline<R: Read + Send>(
    input: R,
    setup: &Setup,
    sink: &mut impl ConnectionSink,
    on_progress: &mut impl FnMut(Progress),
) -> Result<Done, CaptureError> {
    with_report_thread(sink, on_progress, |batches| {
        std::thread::scope(|scope| {
            let (tx, rx) = sync_channel(IN_FLIGHT);
            let (back_tx, back_rx) = sync_channel(IN_FLIGHT);
            let filter = setup.segments.as_deref();
            let reading = scope.spawn(move || {
                let mut out = SegmentBatches::new(SEGMENT_BATCH, tx, back_rx, ToTrack::Segments);
                let decoded = read_segments(input, &setup.carriers, &mut out, filter);
                out.send();
                decoded
            });
            let progress_tx = batches.tx.clone();
            let mut tracker = tracking_stage(setup, batches, |p| {
                let _ = progress_tx.send(ToReport::Progress(p));
            });
            for handed in rx {
                match handed {
                    ToTrack::Segments(batch) => {
                        unpack(batch, &back_tx, |keyed| tracker.keyed(keyed))
                    }
                    ToTrack::Waiting => tracker.waiting(),
                    ToTrack::Progress { bytes, frames } => tracker.progress(bytes, frames),
                }
            }
            let decoded = joined(reading)?;
            Ok(decoded.done(tracker.finish()))
        })
    })
}
