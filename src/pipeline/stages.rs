//! The stages of one capture's analysis, and the ways to run them:
//!
//! 1. read and decode: capture records → TCP segments ([`Reading`]: one
//!    capture, or several merged in timestamp order);
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
//! While a live input stays quiet, the tracking stage advances the capture
//! clock with the wall clock (every [`LIVE_TICK`], after [`QUIET_AFTER`]), so that a connection
//! whose linger ends is reported about 2 s after its last segment even if
//! no further packet comes; a later segment is then handled as it would
//! have been when it came (see [`ConnTable::advance`]).

// Connections travel boxed: the table holds them boxed, and moving the box
// does not copy the connection (about 1.4 KB).
#![allow(clippy::vec_box)]

use super::Progress;
use crate::capture::{self, CaptureError, Event, ReadSummary};
use crate::connection::{At, Connection, ConnectionSink, EndedBy, Spare};
use crate::conntable::{ConnTable, Keyed, Limits};
use crate::decode::defrag::{Limits as DefragLimits, Reassembler};
use crate::decode::{self, IcmpError, Packet, Segment, SkipReason};
use crate::prefetch;
use crate::shard::{Shard, Sharder};
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

/// Without `--verify-checksums`, the checksums of this many TCP segments of
/// each input are computed and the bad ones counted: enough to tell
/// checksum offload on the capturing host.
pub const CHECKSUMS_COUNTED: u64 = 65_536;

/// Frames between two progress reports.
const PROGRESS_EVERY: u64 = 1 << 16;
/// Segments handed from reading to tracking at a time.
const SEGMENT_BATCH: usize = 4096;
/// Connections handed from tracking to reporting at a time.
const CONNECTION_BATCH: usize = 256;
/// Segments fed to the table at a time when every stage runs on one
/// thread ([`TrackingStage::pend`]): small enough to stay in the cache
/// between being decoded and being fed.
const INLINE_BATCH: usize = 128;
/// New boxes the reading thread makes at a time when the tracking thread
/// runs out ([`BoxMaker`]).
const FRESH_BOXES: usize = 1024;
/// Batches on their way between two stages at most.
const IN_FLIGHT: usize = 4;
/// Connections the reporting thread asks the CPU to load ahead of the one
/// it judges.
const REPORT_AHEAD: usize = 4;

/// What the connection table is set up with.
pub(super) struct Setup {
    pub first_id: u64,
    /// Between one connection's id and the next's (`--shard`'s N; 1).
    pub id_step: u64,
    pub keep_packets: Option<Option<u64>>,
    /// See [`super::Options::collapse_packets`].
    pub collapse_packets: bool,
    /// See [`super::Options::stream_packets`].
    pub spill_packets: bool,
    /// See [`super::Options::packets_until`].
    pub packets_until: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
    pub limits: Limits,
    /// The tunnel chains of the capture, numbered while decoding.
    pub carriers: decode::Carriers,
    /// Segments this filter rules out are skipped (`filtered`).
    pub segments: Option<std::sync::Arc<crate::filter::Filter>>,
    /// The input is live (a pipe): while it is quiet, its capture clock is
    /// taken to run with the wall clock ([`pipeline`] only).
    pub live: bool,
    /// Segments of connections outside this shard are skipped (`other_shard`).
    pub shard: Option<Shard>,
    /// Segments with a bad checksum are skipped (`bad_checksum`), not counted.
    pub verify_checksums: bool,
    /// [`super::Options::boxes_ahead`].
    pub boxes_ahead: bool,
}

/// How often the tracking stage of a quiet live input advances its clock…
const LIVE_TICK: std::time::Duration = std::time::Duration::from_millis(250);
/// …once it has been quiet this long: a pipe from a program that reads a
/// file may pause briefly, and its capture clock does not run with the
/// wall clock.
const QUIET_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// Receives what reading and decoding produce.
pub(super) trait Segments {
    fn segment(&mut self, seg: Segment, at: At);
    /// A SYN-ACK of another shard's connection, for its TTL only
    /// ([`crate::conntable::Keyed::elsewhere`]).
    fn syn_ack_elsewhere(&mut self, seg: Segment, at: At);
    /// An ICMP error about a TCP segment, in its place among the segments.
    fn icmp(&mut self, error: IcmpError, at: At);
    /// The reader is about to wait for input.
    fn waiting(&mut self);
    /// `bytes` of the file and `frames` records read so far.
    fn progress(&mut self, bytes: u64, frames: u64);
}

/// What reading and decoding one input counted.
pub(super) struct Decoded {
    pub read: ReadSummary,
    pub skipped: BTreeMap<SkipReason, u64>,
    pub tcp_segments: u64,
    /// Segments analyzed although a checksum was bad (of the first
    /// [`CHECKSUMS_COUNTED`] without `--verify-checksums`).
    pub bad_checksums: u64,
    /// Segments came past the first [`CHECKSUMS_COUNTED`], whose checksums
    /// were not computed (without `--verify-checksums`).
    pub checksums_unchecked: bool,
}

impl Decoded {
    /// Of the ICMP errors counted `icmp_attached` when read, `unmatched`
    /// found no connection when tracked: they are `icmp_no_connection`.
    pub fn icmp_unmatched(&mut self, unmatched: u64) {
        if unmatched == 0 {
            return;
        }
        if let Some(n) = self.skipped.get_mut(&SkipReason::IcmpAttached) {
            *n = n.saturating_sub(unmatched);
            if *n == 0 {
                self.skipped.remove(&SkipReason::IcmpAttached);
            }
        }
        *self
            .skipped
            .entry(SkipReason::IcmpNoConnection)
            .or_default() += unmatched;
    }
}

/// What tracking found besides the connections.
pub(super) struct Tracked {
    /// The id the next new connection would have had.
    pub next_id: u64,
    /// ICMP errors that matched no connection.
    pub icmp_unmatched: u64,
}

/// The result of a stage's thread; its panic, if it panicked.
fn joined<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// What reading and decoding keep from one frame to the next: the tunnel
/// chains, the IP fragments waiting for the rest of their datagram.
struct Decoder<'f> {
    numbers: decode::CarrierNumbers,
    tunnels: decode::Encapsulation,
    defrag: Reassembler,
    filter: Option<&'f crate::filter::Filter>,
    sharder: Option<Sharder>,
    verify_checksums: bool,
}

impl<'f> Decoder<'f> {
    fn new(setup: &'f Setup) -> Self {
        Decoder {
            numbers: decode::CarrierNumbers::new(setup.carriers.clone()),
            tunnels: decode::Encapsulation::new(),
            defrag: Reassembler::new(DefragLimits::default()),
            filter: setup.segments.as_deref(),
            sharder: setup.shard.map(Sharder::new),
            verify_checksums: setup.verify_checksums,
        }
    }

    /// Decodes one frame, counting it in `counts`, and passes its segment on.
    fn frame(
        &mut self,
        frame: &capture::Frame<'_>,
        counts: &mut Tally,
        out: &mut (impl Segments + ?Sized),
    ) {
        if frame.number % PROGRESS_EVERY == 0 {
            out.progress(frame.offset, frame.number);
        }
        let skipped = &mut counts.skipped;
        let Some(link_type) = frame.link_type else {
            *skipped.entry(SkipReason::UnknownInterface).or_default() += 1;
            return;
        };
        let mut ip = None;
        let decoded = decode::decode_packet(
            link_type,
            frame.data,
            frame.complete,
            frame.ts_ns,
            &mut self.tunnels,
            &mut self.defrag,
            &mut ip,
        );
        // Fragments counted when they came, whose datagram then timed out.
        let timed_out = self.defrag.take_timed_out();
        if timed_out > 0 {
            if let Some(n) = skipped.get_mut(&SkipReason::IpFragment) {
                *n = n.saturating_sub(timed_out);
                if *n == 0 {
                    skipped.remove(&SkipReason::IpFragment);
                }
            }
            *skipped.entry(SkipReason::IpFragmentTimeout).or_default() += timed_out;
        }
        let at = At {
            frame: frame.number,
            ts_ns: frame.ts_ns,
        };
        match decoded {
            Ok(Packet::Icmp(mut error)) => {
                let q = &error.quoted;
                let (a, b) = ((q.src, q.src_port), (q.dst, q.dst_port));
                if self.filter.is_some_and(|f| !f.keeps(a.0, a.1, b.0, b.1)) {
                    *skipped.entry(SkipReason::Filtered).or_default() += 1;
                    return;
                }
                if !self.tunnels.is_empty() {
                    error.carried = self.numbers.number(&self.tunnels);
                }
                if self
                    .sharder
                    .as_mut()
                    .is_some_and(|s| !s.keeps_ends(a, b, error.carried, &self.tunnels))
                {
                    counts.other_shard += 1;
                    return;
                }
                // Until tracking says it matched no connection.
                *skipped.entry(SkipReason::IcmpAttached).or_default() += 1;
                out.icmp(*error, at);
            }
            Ok(Packet::Segment(seg))
                if self
                    .filter
                    .is_some_and(|f| !f.keeps(seg.src, seg.src_port, seg.dst, seg.dst_port)) =>
            {
                *skipped.entry(SkipReason::Filtered).or_default() += 1;
            }
            Ok(Packet::Segment(mut seg)) => {
                if !self.tunnels.is_empty() {
                    seg.carried = self.numbers.number(&self.tunnels);
                }
                // After numbering its tunnels, so that chains are numbered
                // (and named) as in the whole run.
                if self
                    .sharder
                    .as_mut()
                    .is_some_and(|s| !s.keeps(&seg, &self.tunnels))
                {
                    // Counted apart from `skipped`: most segments of a
                    // sharded run are.
                    counts.other_shard += 1;
                    if seg.flags.syn() && seg.flags.ack() {
                        out.syn_ack_elsewhere(seg, at);
                    }
                    return;
                }
                // Checked only in frames captured whole; without
                // `--verify-checksums`, in the first segments only, which
                // tell checksum offload, so that no run pays for summing
                // every byte of a large capture.
                if self.verify_checksums || counts.checksums_checked < CHECKSUMS_COUNTED {
                    counts.checksums_checked += 1;
                    let bad = frame.complete
                        && ip.is_some_and(|ip| decode::checksum::tcp_packet_ok(ip) == Some(false));
                    if bad {
                        if self.verify_checksums {
                            *skipped.entry(SkipReason::BadChecksum).or_default() += 1;
                            return;
                        }
                        counts.bad_checksums += 1;
                    }
                } else {
                    counts.checksums_unchecked = true;
                }
                counts.tcp_segments += 1;
                out.segment(seg, at);
            }
            Err(reason) => *skipped.entry(reason).or_default() += 1,
        }
    }
}

/// Frames skipped and TCP segments decoded, of one input.
#[derive(Default)]
struct Tally {
    skipped: BTreeMap<SkipReason, u64>,
    tcp_segments: u64,
    other_shard: u64,
    bad_checksums: u64,
    checksums_checked: u64,
    checksums_unchecked: bool,
}

impl Tally {
    fn decoded(mut self, read: ReadSummary) -> Decoded {
        if self.other_shard > 0 {
            self.skipped
                .insert(SkipReason::OtherShard, self.other_shard);
        }
        Decoded {
            read,
            skipped: self.skipped,
            tcp_segments: self.tcp_segments,
            bad_checksums: self.bad_checksums,
            checksums_unchecked: self.checksums_unchecked,
        }
    }
}

/// Stage 1: reads the input and decodes its frames, handing the segments
/// to the next stage. `Output`: what was read.
pub(super) trait Reading: Send {
    type Output: Send;
    fn read(self, setup: &Setup, out: &mut impl Segments) -> Self::Output;
}

/// One capture.
pub(super) struct One<R>(pub R);

impl<R: Read + Send> Reading for One<R> {
    type Output = Result<Decoded, CaptureError>;

    fn read(self, setup: &Setup, out: &mut impl Segments) -> Self::Output {
        let mut decoder = Decoder::new(setup);
        let mut counts = Tally::default();
        let read = capture::read_events(self.0, |event| match event {
            Event::Frame(frame) => decoder.frame(frame, &mut counts, out),
            Event::Waiting => out.waiting(),
        })?;
        Ok(counts.decoded(read))
    }
}

/// Several captures read as one, in timestamp order ([`crate::merge`]).
pub(super) struct Merged<R>(pub Vec<R>);

impl<R: Read + Send> Reading for Merged<R> {
    /// What was read of each input, with its frames and segments.
    type Output = Vec<Result<Decoded, CaptureError>>;

    fn read(self, setup: &Setup, out: &mut impl Segments) -> Self::Output {
        let mut decoder = Decoder::new(setup);
        let mut counts: Vec<Tally> = self.0.iter().map(|_| Tally::default()).collect();
        let read = crate::merge::read_merged(self.0, |file, frame| {
            decoder.frame(frame, &mut counts[file], out)
        });
        read.into_iter()
            .zip(counts)
            .map(|(read, counts)| read.map(|read| counts.decoded(read)))
            .collect()
    }
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
    /// ICMP errors that matched no connection.
    icmp_unmatched: u64,
    on_progress: P,
    /// Segments given one at a time (every stage on one thread), fed to
    /// the table [`INLINE_BATCH`] at a time as a batch is: read where they
    /// are, not copied through the table's queue. Fed, in order, before
    /// anything else reaches the table.
    pending: Vec<Keyed>,
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

    fn batch(&mut self, batch: &[Keyed]) {
        self.feed_pending();
        let (table, mut sink) = self.parts();
        table.push_batch(batch, &mut sink);
    }

    /// A segment given one at a time, fed with the next ones.
    fn pend(&mut self, keyed: Keyed) {
        self.pending.push(keyed);
        if self.pending.len() >= INLINE_BATCH {
            self.feed_pending();
        }
    }

    /// Feeds the segments given one at a time so far.
    fn feed_pending(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let mut sink = Counted {
            sink: &mut *self.sink,
            done: &mut self.done,
        };
        self.table.push_batch(&self.pending, &mut sink);
        self.pending.clear();
    }

    /// The input has been quiet for `idle` of wall-clock time since it
    /// was last waited for: the capture clock is advanced by as much from
    /// the last segment, and what that ends (a finished connection's
    /// linger, an unanswered attempt) is handed over at once.
    fn quiet(&mut self, idle: std::time::Duration) {
        self.feed_pending();
        let Some(latest) = self.table.latest().filter(|_| idle >= QUIET_AFTER) else {
            return;
        };
        let idle = i64::try_from(idle.as_nanos()).unwrap_or(i64::MAX);
        let (table, mut sink) = self.parts();
        table.advance(latest.saturating_add(idle), &mut sink);
        self.sink.flush();
    }

    fn finish(mut self) -> Tracked {
        self.feed_pending();
        let mut counted = Counted {
            sink: self.sink,
            done: &mut self.done,
        };
        Tracked {
            next_id: self.table.finish(&mut counted),
            icmp_unmatched: self.icmp_unmatched,
        }
    }
}

impl<S: Holding, P: FnMut(Progress)> Segments for TrackingStage<'_, S, P> {
    fn segment(&mut self, seg: Segment, at: At) {
        self.pend(Keyed::new(seg, at));
    }

    fn syn_ack_elsewhere(&mut self, seg: Segment, at: At) {
        self.pend(Keyed::elsewhere(seg, at));
    }

    fn icmp(&mut self, error: IcmpError, at: At) {
        self.feed_pending();
        let (table, mut sink) = self.parts();
        if !table.icmp(&error, at, &mut sink) {
            self.icmp_unmatched += 1;
        }
    }

    fn waiting(&mut self) {
        self.feed_pending();
        let (table, mut sink) = self.parts();
        table.drain(&mut sink);
        self.sink.flush();
    }

    fn progress(&mut self, bytes: u64, frames: u64) {
        self.feed_pending();
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
    fn spare(&mut self) -> Option<Spare> {
        self.sink.spare()
    }
}

/// The report sink on the calling thread holds nothing back. It keeps the
/// boxes the sink gives back, for new connections.
struct Direct<'a, S> {
    sink: &'a mut S,
    spares: Vec<Spare>,
}

/// Boxes given back kept for reuse at most, on the calling thread.
const SPARES_KEPT: usize = 64;

impl<S: ConnectionSink> ConnectionSink for Direct<'_, S> {
    fn connection(&mut self, conn: Box<Connection>) {
        let why = conn.ended_by;
        self.ended(conn, why);
    }
    fn ended(&mut self, conn: Box<Connection>, why: EndedBy) {
        if let Some(spare) = self.sink.ended_returning(conn, why) {
            if self.spares.len() < SPARES_KEPT {
                self.spares.push(spare);
            }
        }
    }
    fn spare(&mut self) -> Option<Spare> {
        self.spares.pop()
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
    let mut table = ConnTable::new(setup.first_id, setup.keep_packets, setup.limits)
        .with_id_step(setup.id_step);
    table.collapse_packets(setup.collapse_packets);
    table.spill_packets(setup.spill_packets);
    if let Some(bound) = &setup.packets_until {
        table.keep_packets_until(bound.clone());
    }
    TrackingStage {
        table,
        sink,
        done: 0,
        icmp_unmatched: 0,
        on_progress,
        pending: Vec::new(),
    }
}

/// Every stage on the calling thread. Returns what was read and the id
/// the next new connection would have had.
pub(super) fn inline<I: Reading>(
    input: I,
    setup: &Setup,
    sink: &mut impl ConnectionSink,
    on_progress: impl FnMut(Progress),
) -> (I::Output, Tracked) {
    let mut direct = Direct {
        sink,
        spares: Vec::new(),
    };
    let mut tracker = tracking_stage(setup, &mut direct, on_progress);
    let read = input.read(setup, &mut tracker);
    (read, tracker.finish())
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

/// Finished connections, batched for the reporting thread, and the boxes it
/// gives back, batched too.
struct ConnectionBatches {
    batches: Batches<Ended, ToReport>,
    spares: Vec<Spare>,
    spares_back: Receiver<Vec<Spare>>,
    /// New boxes from the reading thread ([`BoxMaker`]).
    fresh: Receiver<Vec<Spare>>,
    /// Tells the reading thread that boxes ran out.
    short: Arc<AtomicBool>,
    /// Whether the reading thread makes boxes at all.
    ahead: bool,
}

impl ConnectionSink for ConnectionBatches {
    fn connection(&mut self, conn: Box<Connection>) {
        let why = conn.ended_by;
        self.batches.push((conn, why));
    }
    /// Leaves `ended_by` to the reporting thread, which reads the whole
    /// connection anyway.
    fn ended(&mut self, conn: Box<Connection>, why: EndedBy) {
        self.batches.push((conn, why));
    }
    fn spare(&mut self) -> Option<Spare> {
        if self.spares.is_empty() {
            if let Ok(spares) = self.spares_back.try_recv() {
                self.spares = spares;
            } else if !self.ahead {
                return None;
            } else {
                // Asks for the next new boxes: made ahead while these are
                // used (at most one lot waits), or while this connection
                // takes a box of its own.
                self.short.store(true, Ordering::Relaxed);
                self.spares = self.fresh.try_recv().ok()?;
            }
        }
        let spare = self.spares.pop();
        if let Some(next) = self.spares.last() {
            next.prefetch_for_writing();
        }
        spare
    }
}

/// Makes new connection boxes on the reading thread when the tracking
/// thread has run out of them, so that the first touch of their memory (on
/// this virtual machine about 2 ms a MiB: the host backs the pages anew) is
/// not on the tracking thread, which sets the pace. A box made here is
/// freed wherever it ends, as any other.
struct BoxMaker {
    tx: SyncSender<Vec<Spare>>,
    short: Arc<AtomicBool>,
}

impl BoxMaker {
    /// Sends [`FRESH_BOXES`] new boxes if the tracking thread asked.
    fn top_up(&self) {
        if self.short.swap(false, Ordering::Relaxed) {
            let fresh = (0..FRESH_BOXES).map(|_| Spare::touched()).collect();
            // Full only if the tracking thread has boxes it has not taken.
            let _ = self.tx.try_send(fresh);
        }
    }
}

impl Holding for ConnectionBatches {
    fn flush(&mut self) {
        self.batches.send();
    }
}

/// The reporting stage, on the calling thread: receives batches of
/// finished connections until the tracking stage is done.
fn report_from(
    rx: Receiver<ToReport>,
    back: SyncSender<Vec<Ended>>,
    spares_back: SyncSender<Vec<Spare>>,
    sink: &mut impl ConnectionSink,
    on_progress: &mut impl FnMut(Progress),
) {
    for handed in rx {
        match handed {
            ToReport::Connections(mut batch) => {
                let mut spares = Vec::with_capacity(batch.len());
                // Each connection was last written on the tracking thread's
                // core: its lines are asked for a few connections ahead.
                for (conn, _) in batch.iter().take(REPORT_AHEAD) {
                    prefetch::lines(&**conn);
                }
                let mut each = batch.drain(..);
                while let Some((conn, why)) = each.next() {
                    if let Some((ahead, _)) = each.as_slice().get(REPORT_AHEAD - 1) {
                        prefetch::lines(&**ahead);
                    }
                    spares.extend(sink.ended_returning(conn, why));
                }
                drop(each);
                // The emptied batch and the boxes go back to be reused
                // (dropped here if the tracking thread has enough).
                let _ = back.try_send(batch);
                let _ = spares_back.try_send(spares);
            }
            ToReport::Progress(p) => on_progress(p),
        }
    }
}

/// Runs `track` (stages 1 and 2) on threads of its own, and reports on the
/// calling thread.
fn with_report_thread<T: Send>(
    boxes_ahead: bool,
    sink: &mut impl ConnectionSink,
    on_progress: &mut impl FnMut(Progress),
    track: impl FnOnce(&mut ConnectionBatches, BoxMaker) -> T + Send,
) -> T {
    std::thread::scope(|scope| {
        let (tx, rx) = sync_channel(IN_FLIGHT);
        let (back_tx, back_rx) = sync_channel(IN_FLIGHT);
        let (spares_tx, spares_rx) = sync_channel(IN_FLIGHT);
        let tracking = scope.spawn(move || {
            let (fresh_tx, fresh_rx) = sync_channel(2);
            let short = Arc::new(AtomicBool::new(false));
            let maker = BoxMaker {
                tx: fresh_tx,
                short: Arc::clone(&short),
            };
            let mut batches = ConnectionBatches {
                batches: Batches::new(CONNECTION_BATCH, tx, back_rx, ToReport::Connections),
                spares: Vec::new(),
                spares_back: spares_rx,
                fresh: fresh_rx,
                short,
                ahead: boxes_ahead,
            };
            let out = track(&mut batches, maker);
            batches.flush();
            out
        });
        report_from(rx, back_tx, spares_tx, sink, on_progress);
        joined(tracking)
    })
}

/// What the reading stage sends the tracking stage.
enum ToTrack {
    Segments(Vec<Keyed>),
    Icmp(Box<(IcmpError, At)>),
    Waiting,
    Progress { bytes: u64, frames: u64 },
}

/// Decoded segments, batched for the tracking thread, and the boxes it
/// runs out of made between two batches.
struct SegmentBatches {
    batches: Batches<Keyed, ToTrack>,
    boxes: BoxMaker,
}

impl SegmentBatches {
    fn push(&mut self, keyed: Keyed) {
        self.batches.push(keyed);
        if self.batches.batch.is_empty() {
            self.boxes.top_up();
        }
    }

    fn send(&mut self) {
        self.batches.send();
    }

    fn message(&self, m: ToTrack) {
        self.batches.message(m);
    }
}

impl Segments for SegmentBatches {
    fn segment(&mut self, seg: Segment, at: At) {
        // Keyed here, to take the hashing off the tracking thread.
        self.push(Keyed::new(seg, at));
    }

    fn syn_ack_elsewhere(&mut self, seg: Segment, at: At) {
        self.push(Keyed::elsewhere(seg, at));
    }

    fn icmp(&mut self, error: IcmpError, at: At) {
        // After the segments before it.
        self.send();
        self.message(ToTrack::Icmp(Box::new((error, at))));
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
/// the calling thread. Returns what [`inline`] does.
pub(super) fn pipeline<I: Reading>(
    input: I,
    setup: &Setup,
    sink: &mut impl ConnectionSink,
    on_progress: &mut impl FnMut(Progress),
) -> (I::Output, Tracked) {
    with_report_thread(setup.boxes_ahead, sink, on_progress, |batches, boxes| {
        std::thread::scope(|scope| {
            let (tx, rx) = sync_channel(IN_FLIGHT);
            let (back_tx, back_rx) = sync_channel(IN_FLIGHT);
            let reading = scope.spawn(move || {
                let mut out = SegmentBatches {
                    batches: Batches::new(SEGMENT_BATCH, tx, back_rx, ToTrack::Segments),
                    boxes,
                };
                let read = input.read(setup, &mut out);
                out.send();
                read
            });
            let progress_tx = batches.batches.tx.clone();
            let mut tracker = tracking_stage(setup, batches, |p| {
                let _ = progress_tx.send(ToReport::Progress(p));
            });
            // For a live input: since when the reader has waited for it.
            let mut quiet_since: Option<std::time::Instant> = None;
            loop {
                let handed = match quiet_since {
                    Some(since) => match rx.recv_timeout(LIVE_TICK) {
                        Ok(handed) => handed,
                        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                            tracker.quiet(since.elapsed());
                            continue;
                        }
                        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                    },
                    None => match rx.recv() {
                        Ok(handed) => handed,
                        Err(_) => break,
                    },
                };
                match handed {
                    ToTrack::Segments(batch) => {
                        quiet_since = None;
                        tracker.batch(&batch);
                        let mut batch = batch;
                        batch.clear();
                        let _ = back_tx.try_send(batch);
                    }
                    ToTrack::Waiting => {
                        tracker.waiting();
                        if setup.live && quiet_since.is_none() {
                            quiet_since = Some(std::time::Instant::now());
                        }
                    }
                    ToTrack::Icmp(icmp) => {
                        quiet_since = None;
                        tracker.icmp(icmp.0, icmp.1)
                    }
                    ToTrack::Progress { bytes, frames } => tracker.progress(bytes, frames),
                }
            }
            let read = joined(reading);
            (read, tracker.finish())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batches(ahead: bool) -> (ConnectionBatches, BoxMaker, Receiver<ToReport>) {
        let (tx, rx) = sync_channel(IN_FLIGHT);
        let (_back_tx, back_rx) = sync_channel(IN_FLIGHT);
        let (_spares_tx, spares_rx) = sync_channel(IN_FLIGHT);
        let (fresh_tx, fresh_rx) = sync_channel(2);
        let short = Arc::new(AtomicBool::new(false));
        let maker = BoxMaker {
            tx: fresh_tx,
            short: Arc::clone(&short),
        };
        let batches = ConnectionBatches {
            batches: Batches::new(CONNECTION_BATCH, tx, back_rx, ToReport::Connections),
            spares: Vec::new(),
            spares_back: spares_rx,
            fresh: fresh_rx,
            short,
            ahead,
        };
        (batches, maker, rx)
    }

    #[test]
    fn the_reading_thread_makes_boxes_only_when_asked_and_one_lot_ahead() {
        let (mut batches, maker, _rx) = batches(true);
        // Nothing asked yet: no boxes made.
        maker.top_up();
        assert!(batches.fresh.try_recv().is_err());
        // The first new connection finds none and asks.
        assert!(batches.spare().is_none());
        maker.top_up();
        // The next ones take the lot, which asks for the next at once.
        for _ in 0..FRESH_BOXES {
            assert!(batches.spare().is_some());
        }
        assert!(batches.short.load(Ordering::Relaxed));
        maker.top_up();
        assert!(!batches.short.load(Ordering::Relaxed));
        assert!(batches.spare().is_some(), "the lot made ahead");
    }

    #[test]
    fn without_boxes_ahead_nothing_is_asked() {
        let (mut batches, maker, _rx) = batches(false);
        assert!(batches.spare().is_none());
        assert!(!batches.short.load(Ordering::Relaxed));
        maker.top_up();
        assert!(batches.spare().is_none());
    }
}
