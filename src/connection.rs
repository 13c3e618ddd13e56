//! One connection: what was seen of it, and how one segment updates it
//! (counters, relative-number bases, both sides' state machines, sequence
//! analysis, Zeek's view, the per-segment checks and the observations that
//! classify its opening and release). [`crate::conntable`] decides which
//! connection a segment belongs to; [`crate::verdict`] judges it when it is
//! done.

use crate::checks::{Checker, SegmentContext};
use crate::decode::{IcmpError, IcmpKind, Segment, TcpFlags};
use crate::seq::SeqNum;
use crate::state::{Side, State, StepOutcome, Tracker, Transition};
use crate::wireshark::{SegFlags, SeqAnalysis};
use crate::zeek::ZeekObserver;
use std::net::IpAddr;

mod packets;
mod transfer;
pub use packets::{PacketList, RunSummary};
pub use transfer::{Recent, SideStalls, SideTransfer, Stalls, Transfer, ZeroWindow};

/// One end of a connection: address and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Addr {
    pub ip: IpAddr,
    pub port: u16,
}

/// An address as its `Display` writes it; IPv4 without the formatting
/// machinery, as every report has two.
pub fn ip_text(ip: IpAddr) -> String {
    let mut text = String::with_capacity(15);
    push_ip(&mut text, ip);
    text
}

/// Appends `ip` as its `Display` writes it (IPv4 without the formatting
/// machinery).
pub fn push_ip(text: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    text.push('.');
                }
                text.push_str(itoa::Buffer::new().format(octet));
            }
        }
        IpAddr::V6(_) => {
            use std::fmt::Write;
            let _ = write!(text, "{ip}");
        }
    }
}

/// A frame's time and number, as recorded in observations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct At {
    pub frame: u64,
    pub ts_ns: i64,
}

impl At {
    /// The same frame as the Zeek view is told it.
    pub fn mark(self) -> crate::zeek::Mark {
        crate::zeek::Mark {
            frame: self.frame,
            ts_ns: self.ts_ns,
        }
    }
}

/// An `Option<At>` in 16 bytes rather than 24, for the frames every
/// connection keeps ([`Observations`]): the frame number is stored plus one,
/// 0 meaning none (frame `u64::MAX`, which no capture reaches, would read as
/// none).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Stamp {
    frame: Option<std::num::NonZeroU64>,
    ts_ns: i64,
}

impl Stamp {
    pub const NONE: Stamp = Stamp {
        frame: None,
        ts_ns: 0,
    };

    pub fn of(at: At) -> Stamp {
        Stamp {
            frame: std::num::NonZeroU64::new(at.frame.wrapping_add(1)),
            ts_ns: at.ts_ns,
        }
    }

    pub fn get(self) -> Option<At> {
        self.frame.map(|f| At {
            frame: f.get() - 1,
            ts_ns: self.ts_ns,
        })
    }

    pub fn is_some(self) -> bool {
        self.frame.is_some()
    }

    pub fn is_none(self) -> bool {
        self.frame.is_none()
    }

    /// Keeps `at` unless a frame is kept already.
    pub fn set_first(&mut self, at: At) {
        if self.is_none() {
            *self = Stamp::of(at);
        }
    }
}

impl std::fmt::Debug for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

/// An `Option<(At, Side)>` in 16 bytes: a [`Stamp`] whose frame's top bit
/// says the side (set: the server). Frames from 2^63 − 1 on, which no
/// capture reaches, would read as none.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct SideStamp(Stamp);

impl SideStamp {
    const SERVER: u64 = 1 << 63;

    pub fn of(at: At, side: Side) -> SideStamp {
        let frame = at.frame.wrapping_add(1);
        let frame = if frame >= SideStamp::SERVER { 0 } else { frame };
        let bit = match side {
            Side::Client => 0,
            Side::Server => SideStamp::SERVER,
        };
        SideStamp(Stamp {
            frame: std::num::NonZeroU64::new(frame).map(|f| f | bit),
            ts_ns: at.ts_ns,
        })
    }

    pub fn get(self) -> Option<(At, Side)> {
        self.0.frame.map(|f| {
            let side = if f.get() & SideStamp::SERVER != 0 {
                Side::Server
            } else {
                Side::Client
            };
            let at = At {
                frame: (f.get() & !SideStamp::SERVER) - 1,
                ts_ns: self.0.ts_ns,
            };
            (at, side)
        })
    }

    pub fn is_some(self) -> bool {
        self.0.is_some()
    }

    pub fn is_none(self) -> bool {
        self.0.is_none()
    }

    /// Keeps `(at, side)` unless one is kept already.
    pub fn set_first(&mut self, at: At, side: Side) {
        if self.is_none() {
            *self = SideStamp::of(at, side);
        }
    }
}

impl std::fmt::Debug for SideStamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

/// Per-packet detail kept with `--packets`.
#[derive(Debug, Clone)]
pub struct PacketRecord {
    pub at: At,
    pub dir: Side,
    pub flags: TcpFlags,
    pub seq: SeqNum,
    pub ack: SeqNum,
    pub rel_seq: u32,
    pub rel_ack: Option<u32>,
    pub len: u32,
    pub window: u16,
    pub client_state: State,
    pub server_state: State,
    pub analysis: SegFlags,
    /// The state changes this segment caused, in order (a boxed slice:
    /// no allocation when empty, as most are, and none to spare).
    pub transitions: Box<[Transition]>,
}

/// A run of more than this many ordinary segments is collapsed by the
/// teaching views (`teach::COLLAPSE_OVER`), and while reading for them
/// ([`PacketList::collapsing`]).
pub const ORDINARY_RUN_OVER: usize = 12;

/// Counters per side.
#[derive(Debug, Clone, Copy, Default)]
pub struct SideStats {
    pub packets: u64,
    pub payload_bytes: u64,
}

/// What was seen of one connection: the raw material of its report.
#[derive(Debug, Clone)]
pub struct Connection {
    pub id: u64,
    pub client: Addr,
    pub server: Addr,
    /// True when the roles come from a SYN or SYN-ACK; false when guessed from ports.
    pub roles_from_syn: bool,
    pub tracker: Tracker,
    pub analysis: SeqAnalysis,
    pub zeek: ZeekObserver,
    pub checker: Checker,
    /// Wireshark's `tcp.completeness` bitmask.
    pub completeness: u8,
    /// Per side, `[client, server]`, as every side-indexed pair.
    pub stats: [SideStats; 2],
    pub first: At,
    pub last: At,
    /// Wireshark's relative-number base of each direction.
    pub base: [Option<SeqNum>; 2],
    pub obs: Observations,
    /// Boxed: a pointer while `--packets` is off, as it usually is.
    pub packets: Option<Box<PacketList>>,
    /// Why it was handed over.
    pub ended_by: EndedBy,
    /// Seen since the eviction clock last passed it.
    pub(crate) recently_active: bool,
    /// The tunnels that carried it (`Segment::carried`; 0: captured bare).
    pub carried: u16,
    /// The ICMP errors about its segments; boxed, as few connections have any.
    pub icmp: Option<Box<IcmpErrors>>,
    /// What its data did: MSS, segment sizes, retransmissions, zero
    /// windows (the diagnosis' transfer evidence).
    pub transfer: Transfer,
    /// What each side's IP headers said (TTL, IP ID) and those of the RST
    /// that ended it: enough to tell a packet that does not belong.
    pub ip: IpSeen,
}

/// The most an IPv4 ID may go up from one of a side's segments to its next
/// and still count as the same counter (a Linux socket adds 1 a packet;
/// some of its packets may not be in the capture).
pub const IP_ID_STEP: u16 = 1024;

/// How a side's nonzero IPv4 IDs went, segment after segment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IdPattern {
    /// No nonzero ID yet (IPv6, or a stack that sends 0 with DF).
    #[default]
    Unknown,
    /// One nonzero ID.
    One,
    /// Each nonzero ID 1 to [`IP_ID_STEP`] above the last: a counter.
    Increasing,
    /// Anything else (random IDs, a counter shared by many connections).
    Other,
}

/// What one side's IP headers said, from its segments other than RSTs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IpMarks {
    /// The segments counted (at most `u16::MAX`).
    pub seen: u16,
    pub ttl_min: u8,
    pub ttl_max: u8,
    /// The last nonzero IPv4 ID.
    pub last_id: u16,
    pub ids: IdPattern,
}

impl IpMarks {
    fn note(&mut self, seg: &Segment) {
        if self.seen == 0 {
            (self.ttl_min, self.ttl_max) = (seg.ttl, seg.ttl);
        } else {
            self.ttl_min = self.ttl_min.min(seg.ttl);
            self.ttl_max = self.ttl_max.max(seg.ttl);
        }
        self.seen = self.seen.saturating_add(1);
        if seg.ip_id != 0 {
            self.ids = match self.ids {
                IdPattern::Unknown => IdPattern::One,
                IdPattern::One | IdPattern::Increasing if self.follows(seg.ip_id) => {
                    IdPattern::Increasing
                }
                _ => IdPattern::Other,
            };
            self.last_id = seg.ip_id;
        }
    }

    /// Whether `id` is 1 to [`IP_ID_STEP`] above the last ID.
    pub fn follows(&self, id: u16) -> bool {
        (1..=IP_ID_STEP).contains(&id.wrapping_sub(self.last_id))
    }

    /// The TTL range, if the side sent any segment other than a RST.
    pub fn ttl_range(&self) -> Option<(u8, u8)> {
        (self.seen > 0).then_some((self.ttl_min, self.ttl_max))
    }
}

/// The IP header of the RST that ended a connection (its first acceptable
/// one), and what its sender's IDs were just before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RstMarks {
    pub ttl: u8,
    pub ip_id: u16,
    /// The sender's marks when it came (its TTLs are taken from all its
    /// other segments, [`IpSeen::sides`]).
    pub before: IpMarks,
}

/// What the IP headers of a connection's segments said.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IpSeen {
    /// Per side, `[client, server]`, from the segments other than RSTs.
    pub sides: [IpMarks; 2],
    pub rst: Option<RstMarks>,
    /// The TTL range of the server's SYN-ACKs on other connections earlier
    /// in the capture, looked up when a RST refused this one
    /// ([`crate::conntable`]).
    pub server_elsewhere: Option<(u8, u8)>,
}

/// An ICMP error about one of a connection's segments.
#[derive(Debug, Clone, Copy)]
pub struct IcmpSeen {
    pub error: IcmpError,
    /// The ICMP packet's frame and time.
    pub at: At,
    /// The side that sent the quoted segment.
    pub side: Side,
    /// The frame of the quoted segment, when the quoted sequence number
    /// names one the side sent (among the table's recent segments, or its SYN).
    pub quoted_frame: Option<u64>,
}

/// The ICMP errors of a connection: the first [`IcmpErrors::MAX`] kept,
/// every one counted by kind.
#[derive(Debug, Clone, Default)]
pub struct IcmpErrors {
    pub kept: Vec<IcmpSeen>,
    /// Indexed by `IcmpKind as usize`.
    pub by_kind: [u64; IcmpKind::ALL.len()],
}

impl IcmpErrors {
    /// Errors kept per connection at most (about 160 bytes each).
    pub const MAX: usize = 8;

    pub fn total(&self) -> u64 {
        self.by_kind.iter().sum()
    }

    pub fn count(&self, kind: IcmpKind) -> u64 {
        self.by_kind[kind as usize]
    }
}

/// Frames that matter for classifying the opening and the release.
#[derive(Debug, Clone, Default)]
pub struct Observations {
    pub syn: Stamp,
    pub syn_count: u32,
    pub syn_ack: Stamp,
    pub syn_ack_count: u32,
    /// The client's first ACK of the server's SYN (the third segment).
    pub hs_ack: Stamp,
    /// That ACK carried no data: the client sent it as soon as the
    /// SYN-ACK came (one with data may have waited for the application).
    pub hs_ack_bare: bool,
    /// The server sent a bare SYN too (simultaneous open).
    pub server_bare_syn: bool,
    /// First FIN of each side, `[client, server]`.
    pub fin: [Stamp; 2],
    /// First segment acknowledging each side's FIN (sent by the other side).
    pub fin_ack: [Stamp; 2],
    /// First acceptable RST and who sent it.
    pub rst: SideStamp,
    /// That RST's sequence number.
    pub rst_seq: Option<SeqNum>,
    /// The first segment with data that the side of that RST sent after it,
    /// at or beyond its sequence number: a host that reset the connection
    /// sends nothing more, so the RST came from elsewhere (a RST racing
    /// the true sender's data, Weaver, Sommer, Paxson, NDSS 2009).
    pub racing: Stamp,
    /// Nanoseconds from the segment that brought the other side's data to
    /// its end, as that RST acknowledges it, to the RST (at most 2^32 − 1):
    /// the RST's sender must have received that data, which takes it a
    /// round trip from the capture point (a RST sent sooner came from a
    /// device nearer).
    /// (A `u32` and a flag rather than an `Option<u32>`: 8 bytes less here.)
    rst_answered_ns: u32,
    rst_answered: bool,
    /// The handshake was refused: a RST answered the SYN before any SYN-ACK.
    pub refused: bool,
}

impl Observations {
    /// How soon the RST that ended the connection answered the other
    /// side's data, if it did (see the fields).
    pub fn rst_answered_ns(&self) -> Option<u32> {
        self.rst_answered.then_some(self.rst_answered_ns)
    }

    fn set_rst_answered_ns(&mut self, ns: Option<u32>) {
        (self.rst_answered_ns, self.rst_answered) = (ns.unwrap_or(0), ns.is_some());
    }
}

impl Connection {
    fn side_of(&self, src: Addr) -> Side {
        if src == self.client {
            Side::Client
        } else {
            Side::Server
        }
    }

    /// The address and port of `side`.
    pub fn addr(&self, side: Side) -> Addr {
        match side {
            Side::Client => self.client,
            Side::Server => self.server,
        }
    }

    pub fn stats(&self, side: Side) -> SideStats {
        self.stats[side]
    }

    /// A connection attempt: opened by the client's SYN, the client has sent
    /// nothing but bare SYNs (no ACK, no data: a capture of one direction
    /// shows those of an answered connection), and the server nothing.
    pub fn is_attempt(&self) -> bool {
        self.roles_from_syn
            && self.stats[Side::Server].packets == 0
            && self.stats[Side::Client].packets == u64::from(self.obs.syn_count)
            && self.tracker.endpoint(Side::Client).state() == State::SynSent
    }
}

/// A connection's box, emptied: what it held is dropped, by the thread
/// that emptied it, and the next connection is written into it without
/// reading the old contents again ([`Spare::fill`]). Boxes come back empty
/// from the reporting thread, which has just read the connection, so the
/// tracking thread does not walk a cold record to drop it.
pub struct Spare(Box<std::mem::MaybeUninit<Connection>>);

impl Spare {
    /// Drops what `conn` holds and keeps its box.
    pub fn of(conn: Box<Connection>) -> Spare {
        let raw = Box::into_raw(conn);
        // SAFETY: `raw` comes from a `Box<Connection>`, so it is valid and
        // initialized; it is dropped once here and from then on only
        // treated as uninitialized memory of the same layout
        // (`MaybeUninit<T>` has `T`'s size and alignment), which `Box`
        // frees without dropping.
        unsafe {
            std::ptr::drop_in_place(raw);
            Spare(Box::from_raw(
                raw.cast::<std::mem::MaybeUninit<Connection>>(),
            ))
        }
    }

    /// A new box, for a first connection.
    pub fn fresh() -> Spare {
        Spare(Box::new_uninit())
    }

    /// A new box with a byte written in each 4 KiB page it spans, so that
    /// the pages under it are faulted in on the calling thread rather than
    /// where it is filled (writing all of it would only add a copy of the
    /// zeros the kernel writes).
    pub fn touched() -> Spare {
        let mut spare = Box::<Connection>::new_uninit();
        let base = spare.as_mut_ptr().cast::<u8>();
        let size = std::mem::size_of::<Connection>();
        let page = 4096 - (base as usize % 4096);
        for at in std::iter::once(0).chain((page..size).step_by(4096)) {
            // SAFETY: `at` is inside the box's own uninitialized memory, which
            // stays `MaybeUninit` (any byte is a valid `MaybeUninit<u8>`).
            unsafe { base.add(at).write_volatile(0) };
        }
        Spare(spare)
    }

    /// Asks the CPU to fetch the box's lines for writing, ahead of the
    /// connection that will fill it: a box given back by the reporting
    /// thread was last written on the other core.
    #[inline]
    pub fn prefetch_for_writing(&self) {
        crate::prefetch::lines_for_writing(self.0.as_ptr());
    }

    /// The box holding `conn`.
    #[inline(always)]
    pub fn fill(self, conn: Connection) -> Box<Connection> {
        let mut spare = self.0;
        spare.write(conn);
        // SAFETY: the box's contents were initialized just above, and
        // `MaybeUninit<Connection>` has `Connection`'s layout (what
        // `Box::write`, stable only since Rust 1.87, does).
        unsafe { Box::from_raw(Box::into_raw(spare).cast::<Connection>()) }
    }
}

/// Receives connections when they are done.
pub trait ConnectionSink {
    /// Boxed, as the table holds it: a connection is large, and passing the
    /// box does not copy it.
    fn connection(&mut self, conn: Box<Connection>);

    /// A connection handed over for the reason `why`, which becomes its
    /// [`Connection::ended_by`]. A sink that passes connections to another
    /// thread may leave setting it to that thread: a connection handed over
    /// has usually not been touched for seconds, and its memory is no longer
    /// in this thread's cache.
    fn ended(&mut self, mut conn: Box<Connection>, why: EndedBy) {
        conn.ended_by = why;
        self.connection(conn);
    }

    /// [`ConnectionSink::ended`] by a sink that is done with the connection
    /// when it returns: it gives the box back, to hold a new connection.
    /// Connections are made on one thread and judged on another; reusing
    /// their boxes spares the first an allocation per connection, and the
    /// allocator the memory freed on the other thread.
    fn ended_returning(&mut self, conn: Box<Connection>, why: EndedBy) -> Option<Spare> {
        self.ended(conn, why);
        None
    }

    /// A box given back ([`ConnectionSink::ended_returning`]), if the sink
    /// has one, for the next new connection.
    fn spare(&mut self) -> Option<Spare> {
        None
    }
}

impl ConnectionSink for Vec<Connection> {
    fn connection(&mut self, conn: Box<Connection>) {
        self.push(*conn);
    }
}

impl ConnectionSink for Vec<Box<Connection>> {
    fn connection(&mut self, conn: Box<Connection>) {
        self.push(conn);
    }
}

/// Why a connection was handed over: the JSON `ended_by` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[derive(schemars::JsonSchema)]
pub enum EndedBy {
    /// Both sides finished, and the connection lingered without further segments.
    Close,
    /// A new connection reused its 4-tuple.
    Reuse,
    /// No segment for `--idle-timeout` seconds of capture time.
    IdleTimeout,
    /// Evicted to stay within `--max-connections`.
    MaxConnections,
    /// Still tracked when the capture ended.
    #[default]
    CaptureEnd,
}

impl EndedBy {
    pub const fn as_str(self) -> &'static str {
        match self {
            EndedBy::Close => "close",
            EndedBy::Reuse => "reuse",
            EndedBy::IdleTimeout => "idle_timeout",
            EndedBy::MaxConnections => "max_connections",
            EndedBy::CaptureEnd => "capture_end",
        }
    }
}

/// A bare SYN with a new ISN starts a new connection when the old one is
/// over for its sender: both sides finished, or the sender CLOSED by a RST
/// (its own abort or an accepted one from its peer), the peer possibly back
/// in LISTEN. tshark starts a new stream on any SYN with a new ISN.
pub(crate) fn is_port_reuse(conn: &Connection, src: Addr, seg: &Segment) -> bool {
    let bare_syn = seg.flags.syn() && !seg.flags.ack();
    if !bare_syn {
        return false;
    }
    let side = conn.side_of(src);
    let sender = conn.tracker.endpoint(side);
    let reset = sender.sent_rst || sender.reset_by_peer;
    let over = conn.tracker.is_finished() || (reset && sender.state().is_closed());
    over && sender.isn != Some(seg.seq)
}

/// Decides the roles from the first segment of a connection: the sender of a
/// bare SYN is the client; the receiver of a SYN-ACK is the client; otherwise
/// the side with the lower port is taken as the server (well-known and
/// registered ports are below ephemeral ones), the destination on a tie.
pub(crate) fn new_connection(
    id: u64,
    src: Addr,
    dst: Addr,
    seg: &Segment,
    at: At,
    keep: bool,
) -> Connection {
    let f = seg.flags;
    let (client, server, from_syn) = if f.syn() && !f.ack() {
        (src, dst, true)
    } else if f.syn() && f.ack() {
        (dst, src, true)
    } else if src.port < dst.port {
        (dst, src, false)
    } else {
        (src, dst, false)
    };
    let tracker = if f.syn() {
        Tracker::new_opening()
    } else {
        Tracker::new_midstream()
    };
    Connection {
        id,
        client,
        server,
        roles_from_syn: from_syn,
        tracker,
        analysis: SeqAnalysis::default(),
        zeek: ZeekObserver::default(),
        checker: Checker::default(),
        completeness: 0,
        stats: Default::default(),
        first: at,
        last: at,
        base: [None, None],
        obs: Observations::default(),
        packets: keep.then(Box::default),
        ended_by: EndedBy::default(),
        recently_active: true,
        carried: seg.carried,
        icmp: None,
        ip: IpSeen::default(),
        transfer: Transfer::default(),
    }
}

/// Applies one segment to a connection: counters, relative-number bases,
/// state machines, sequence analysis, checks, the observations used for
/// classification and the per-packet record. Returns whether this segment
/// finished the connection.
pub(crate) fn observe(
    conn: &mut Connection,
    src: Addr,
    seg: &Segment,
    at: At,
    transitions: &mut Vec<Transition>,
) -> bool {
    let side = conn.side_of(src);
    let prev = conn.last;
    conn.last = at;
    let st = &mut conn.stats[side];
    st.packets += 1;
    st.payload_bytes += u64::from(seg.payload_len);
    conn.set_bases(side, seg);

    let before = Before::of(conn, side);
    let outcome = conn.tracker.on_segment(side, seg, transitions);
    let analysis = conn.analyze(side, seg, at, prev);
    conn.transfer.on_segment(side, seg, at, analysis);
    let context = conn.segment_context(side, seg, at, analysis, &before, outcome);
    conn.checker.on_segment(seg, &context);

    conn.observe_opening(side, seg, at);
    let had_rst = conn.obs.rst.is_some();
    conn.observe_release(side, seg, at, &before, outcome);
    conn.observe_ip(side, seg, !had_rst && conn.obs.rst.is_some());
    if conn.packets.is_some() {
        conn.record_packet(side, seg, at, analysis, transitions);
    }
    let finished = !before.finished && conn.tracker.is_finished();
    if finished {
        if let Some(list) = conn.packets.as_mut() {
            list.finished();
        }
    }
    finished
}

/// What a segment's checks and observations need to know of the connection
/// as it was before the segment.
struct Before {
    /// States of the sender and the receiver.
    sender: State,
    receiver: State,
    /// The sender's FIN sequence number, if it had sent one.
    fin: Option<SeqNum>,
    /// Both sides had finished.
    finished: bool,
    /// A SYN-ACK from the server had been seen.
    syn_ack_seen: bool,
}

impl Before {
    fn of(conn: &Connection, side: Side) -> Before {
        let sender = conn.tracker.endpoint(side);
        Before {
            sender: sender.state(),
            receiver: conn.tracker.endpoint(side.peer()).state(),
            fin: sender.fin_seq,
            finished: conn.tracker.is_finished(),
            syn_ack_seen: conn.obs.syn_ack.is_some(),
        }
    }
}

impl Connection {
    /// Attaches an ICMP error about one of its segments, received at `at`;
    /// `frame` is the quoted segment's, if the table found it.
    pub(crate) fn attach_icmp(&mut self, error: &IcmpError, at: At, frame: Option<u64>) {
        let q = &error.quoted;
        let side = self.side_of(Addr {
            ip: q.src,
            port: q.src_port,
        });
        // Not among the recent segments: the side's SYN, if it is the one quoted.
        let frame = frame.or_else(|| {
            let isn = self.tracker.endpoint(side).isn;
            let syn = match side {
                Side::Client => self.obs.syn.get(),
                Side::Server => self.obs.syn_ack.get(),
            };
            syn.filter(|_| isn.is_some() && q.seq == isn)
                .map(|a| a.frame)
        });
        let all = self.icmp.get_or_insert_with(Box::default);
        all.by_kind[error.kind as usize] += 1;
        if all.kept.len() < IcmpErrors::MAX {
            all.kept.push(IcmpSeen {
                error: *error,
                at,
                side,
                quoted_frame: frame,
            });
        }
    }

    /// The ICMP errors kept, in the order they came.
    pub fn icmp_errors(&self) -> &[IcmpSeen] {
        self.icmp.as_deref().map_or(&[], |i| &i.kept)
    }

    /// Whether an ICMP error answered the client's SYN, saying it was not
    /// delivered (unreachable, prohibited, time exceeded…).
    pub fn syn_rejected_by_icmp(&self) -> bool {
        let isn = self.tracker.endpoint(Side::Client).isn;
        self.icmp_errors().iter().any(|i| {
            i.side == Side::Client
                && i.error.kind.rejects()
                && (i.error.quoted.seq.is_none() || i.error.quoted.seq == isn)
        })
    }

    /// Wireshark's relative numbering: base = ISN, or first seq seen - 1; an
    /// ACK from a direction seen first fixes the other direction's base at ack - 1.
    fn set_bases(&mut self, side: Side, seg: &Segment) {
        let f = seg.flags;
        let base = &mut self.base[side];
        if f.syn() {
            *base = Some(seg.seq);
        } else if base.is_none() {
            *base = Some(seg.seq - 1);
        }
        let peer_base = &mut self.base[side.peer()];
        if f.ack() && peer_base.is_none() {
            *peer_base = Some(seg.ack - 1);
        }
    }

    /// The sequence analysis of a segment already applied to the state
    /// machines, fed to Zeek's view too; and the completeness bits.
    fn analyze(&mut self, side: Side, seg: &Segment, at: At, prev: At) -> SegFlags {
        // SYN segments carry unscaled windows; later ones use the negotiated scale.
        let shift = if seg.flags.syn() {
            Some(0)
        } else {
            self.tracker.window_shift(side)
        };
        let analysis = self.analysis.on_segment(side, seg, at.ts_ns, shift);
        self.zeek.on_segment(
            side,
            seg,
            analysis,
            at.mark(),
            prev.mark(),
            self.first.mark(),
        );
        self.completeness |= crate::wireshark::completeness_bits(seg);
        analysis
    }

    /// What the per-segment checks are told about a segment.
    fn segment_context(
        &self,
        side: Side,
        seg: &Segment,
        at: At,
        analysis: SegFlags,
        before: &Before,
        outcome: StepOutcome,
    ) -> SegmentContext {
        let f = seg.flags;
        SegmentContext {
            side,
            frame: at.frame,
            ts_ns: at.ts_ns,
            analysis,
            sender_before: before.sender,
            receiver_before: before.receiver,
            fin_before: before.fin,
            finished_before: before.finished,
            rst_accepted: outcome.rst_accepted,
            rst_closed: outcome.rst_closed,
            client_isn: self.tracker.endpoint(Side::Client).isn,
            server_isn: self.tracker.endpoint(Side::Server).isn,
            syn_ack_seen: before.syn_ack_seen,
            simultaneous_open: self.obs.server_bare_syn
                || (side == Side::Server && f.syn() && !f.ack()),
        }
    }

    /// The opening's frames: SYNs, SYN-ACKs (and the first round-trip time)
    /// and the ACK that completes the handshake.
    fn observe_opening(&mut self, side: Side, seg: &Segment, at: At) {
        let f = seg.flags;
        let obs = &mut self.obs;
        if f.syn() && !f.ack() {
            if side == Side::Client {
                obs.syn_count += 1;
                obs.syn.set_first(at);
            } else {
                obs.server_bare_syn = true;
            }
        }
        if f.syn() && f.ack() {
            if side == Side::Server {
                obs.syn_ack_count += 1;
                obs.syn_ack.set_first(at);
            } else if obs.server_bare_syn {
                // Simultaneous open: the client's SYN,ACK answers the server's SYN.
                obs.syn_ack.set_first(at);
            }
        }
        if obs.hs_ack.is_none() && !f.syn() && f.ack() && !f.rst() {
            let peer_isn = self.tracker.endpoint(side.peer()).isn;
            let opener_done = match (obs.server_bare_syn, side) {
                (false, Side::Client) => obs.syn_ack.is_some(),
                (true, _) => obs.syn_ack.is_some(),
                _ => false,
            };
            // After a RST that ended the attempt (one from SYN-SENT, say),
            // an ACK no longer completes it.
            if opener_done && obs.rst.is_none() && peer_isn.is_some_and(|isn| seg.ack > isn) {
                obs.hs_ack = Stamp::of(at);
                obs.hs_ack_bare = seg.payload_len == 0;
            }
        }
    }

    /// The release's frames: each side's first FIN and the first ACK of it,
    /// the first RST (and whether it refused the connection).
    fn observe_release(
        &mut self,
        side: Side,
        seg: &Segment,
        at: At,
        before: &Before,
        outcome: StepOutcome,
    ) {
        let f = seg.flags;
        let peer = side.peer();
        let obs = &mut self.obs;
        if f.fin() && obs.fin[side].is_none() {
            obs.fin[side] = Stamp::of(at);
        }
        if f.ack() && obs.fin_ack[peer].is_none() {
            if let Some(fin) = self.tracker.endpoint(peer).fin_seq {
                if seg.ack > fin {
                    obs.fin_ack[peer] = Stamp::of(at);
                }
            }
        }
        if let (Some((_, who)), Some(rst_seq)) = (obs.rst.get(), obs.rst_seq) {
            if who == side
                && !f.rst()
                && seg.payload_len > 0
                && obs.racing.is_none()
                && seg.seq >= rst_seq
            {
                obs.racing = Stamp::of(at);
            }
        }
        if f.rst() && outcome.rst_closed && obs.rst.is_none() {
            obs.rst = SideStamp::of(at, side);
            obs.rst_seq = Some(seg.seq);
            obs.set_rst_answered_ns(
                self.analysis
                    .sent_up_to(peer)
                    .filter(|&(end, _)| f.ack() && seg.ack == end)
                    .and_then(|(_, sent)| u32::try_from(at.ts_ns.saturating_sub(sent)).ok()),
            );
            let server_never_answered = matches!(before.sender, State::Listen | State::Closed);
            if side == Side::Server
                && obs.syn_ack.is_none()
                && obs.syn.is_some()
                && server_never_answered
            {
                obs.refused = true;
            }
        }
    }

    /// The segment's TTL and IP ID: its side's marks, or, for the RST that
    /// ended the connection (`ended`), the RST's.
    fn observe_ip(&mut self, side: Side, seg: &Segment, ended: bool) {
        if ended {
            self.ip.rst = Some(RstMarks {
                ttl: seg.ttl,
                ip_id: seg.ip_id,
                before: self.ip.sides[side],
            });
        }
        if !seg.flags.rst() {
            self.ip.sides[side].note(seg);
        }
    }

    /// Keeps the per-packet record (`--packets`), if asked to.
    fn record_packet(
        &mut self,
        side: Side,
        seg: &Segment,
        at: At,
        analysis: SegFlags,
        transitions: &[Transition],
    ) {
        let f = seg.flags;
        let rel_seq = seg.seq - self.base[side].unwrap_or(seg.seq);
        let rel_ack = if f.ack() {
            self.base[side.peer()].map(|b| seg.ack - b)
        } else {
            None
        };
        let client_state = self.tracker.endpoint(Side::Client).state();
        let server_state = self.tracker.endpoint(Side::Server).state();
        let peer_isn = self.tracker.endpoint(side.peer()).isn.map(|s| s.raw());
        let hs_ack = self.obs.hs_ack.get() == Some(at);
        if let Some(list) = self.packets.as_mut() {
            list.push(
                PacketRecord {
                    at,
                    dir: side,
                    flags: f,
                    seq: seg.seq,
                    ack: seg.ack,
                    rel_seq,
                    rel_ack,
                    len: seg.payload_len,
                    window: seg.window,
                    client_state,
                    server_state,
                    analysis,
                    transitions: transitions.into(),
                },
                peer_isn,
                hs_ack,
            );
        }
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;

    /// A connection is in memory for every open connection: the Zeek view's
    /// extra records are boxed, so that one with a single record costs no
    /// more than before they existed.
    #[test]
    fn a_connection_stays_small() {
        let (conn, zeek) = (
            std::mem::size_of::<Connection>(),
            std::mem::size_of::<ZeekObserver>(),
        );
        eprintln!("size_of Connection {conn}, ZeekObserver {zeek}");
        // 1160 and 248 on x86_64 before the Zeek view carried several
        // records (the timer beside `started`, the history counters in u32);
        // 1192 with each side's TTLs and IP IDs, 1344 with the transfer
        // evidence of the diagnosis (`transfer.rs`, 152 bytes), 1376 with
        // the RST's sequence number and the data that raced it, 1384 with
        // how soon the RST answered (still 22 cache lines); 1272 with the
        // observed frames in 16 bytes each (`Stamp`) and no unread finish
        // time: 20 lines, and mimalloc's 1,280-byte size class instead of
        // 1,536; 1216 (19 lines) without the unread first RST of any kind,
        // with the state histories in 4 bits a state and the initial RTT
        // and the RST's answer time in 8 bytes each (docs/performance.md,
        // "Session 15").
        assert!(conn <= 1216, "{conn}");
        assert!(zeek <= 248, "{zeek}");
    }
}

#[cfg(test)]
mod stamp_tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn none_is_the_default_and_frame_zero_is_kept() {
        assert_eq!(Stamp::default().get(), None);
        assert_eq!(SideStamp::default().get(), None);
        let at = At {
            frame: 0,
            ts_ns: -5,
        };
        assert_eq!(Stamp::of(at).get(), Some(at));
        assert_eq!(
            SideStamp::of(at, Side::Server).get(),
            Some((at, Side::Server))
        );
        assert_eq!(std::mem::size_of::<Stamp>(), 16);
        assert_eq!(std::mem::size_of::<SideStamp>(), 16);
    }

    #[test]
    fn the_first_is_kept() {
        let (a, b) = (
            At {
                frame: 3,
                ts_ns: 30,
            },
            At {
                frame: 4,
                ts_ns: 40,
            },
        );
        let mut s = Stamp::NONE;
        s.set_first(a);
        s.set_first(b);
        assert_eq!(s.get(), Some(a));
        let mut r = SideStamp::default();
        r.set_first(a, Side::Client);
        r.set_first(b, Side::Server);
        assert_eq!(r.get(), Some((a, Side::Client)));
        assert_eq!(format!("{s:?}"), format!("{:?}", Some(a)));
    }

    proptest! {
        #[test]
        fn frames_a_capture_can_reach_round_trip(
            frame in 0u64..(1 << 62),
            ts_ns in any::<i64>(),
            server in any::<bool>(),
        ) {
            let at = At { frame, ts_ns };
            let side = if server { Side::Server } else { Side::Client };
            prop_assert_eq!(Stamp::of(at).get(), Some(at));
            prop_assert_eq!(SideStamp::of(at, side).get(), Some((at, side)));
        }
    }
}

#[cfg(test)]
mod spare_tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn a_spare_box_holds_the_next_connection() {
        let a = Addr {
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 1,
        };
        let b = Addr { port: 2, ..a };
        let seg = ip_tests::seg(64, 1, TcpFlags::SYN);
        let at = At::default();
        let mut first = Box::new(new_connection(1, a, b, &seg, at, true));
        first.icmp = Some(Box::default());
        let spare = Spare::of(first);
        let second = spare.fill(new_connection(2, b, a, &seg, at, false));
        assert_eq!(
            (second.id, second.client, second.packets.is_none()),
            (2, b, true)
        );
        assert!(second.icmp.is_none());
    }
}

#[cfg(test)]
mod ip_tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    pub(super) fn seg(ttl: u8, ip_id: u16, flags: u16) -> Segment {
        Segment {
            src: IpAddr::V4(Ipv4Addr::LOCALHOST),
            src_port: 1,
            dst: IpAddr::V4(Ipv4Addr::LOCALHOST),
            dst_port: 2,
            seq: SeqNum(0),
            ack: SeqNum(0),
            flags: TcpFlags(flags),
            window: 0,
            payload_len: 0,
            wscale: None,
            ip_len: 40,
            carried: 0,
            payload_cut: false,
            mss: None,
            ip_id,
            ttl,
        }
    }

    #[test]
    fn marks_follow_ttls_and_an_id_counter() {
        let mut m = IpMarks::default();
        assert_eq!(m.ttl_range(), None);
        // A Linux SYN-ACK has ID 0 (DF, no socket yet): it says nothing.
        m.note(&seg(63, 0, TcpFlags::SYN | TcpFlags::ACK));
        assert_eq!((m.ttl_range(), m.ids), (Some((63, 63)), IdPattern::Unknown));
        m.note(&seg(63, 0xfffe, TcpFlags::ACK));
        assert_eq!(m.ids, IdPattern::One);
        // Through the wrap.
        m.note(&seg(64, 0xffff, TcpFlags::ACK));
        m.note(&seg(62, 3, TcpFlags::ACK));
        assert_eq!(
            (m.ttl_range(), m.ids),
            (Some((62, 64)), IdPattern::Increasing)
        );
        assert!(m.follows(4) && m.follows(3 + IP_ID_STEP) && !m.follows(3) && !m.follows(2));
        m.note(&seg(62, 0x3039, TcpFlags::ACK));
        assert_eq!(m.ids, IdPattern::Other);
        m.note(&seg(62, 0x303a, TcpFlags::ACK));
        assert_eq!(
            m.ids,
            IdPattern::Other,
            "once broken, never a counter again"
        );
    }

    #[test]
    fn the_record_stays_small() {
        // 1,160 bytes before TTLs and IDs were kept, 1,192 after (the whole
        // record's bound: `size_tests`).
        assert!(std::mem::size_of::<IpSeen>() <= 32);
    }

    #[test]
    fn ip_text_is_display() {
        for ip in [
            "0.0.0.0",
            "10.0.0.1",
            "192.168.100.255",
            "255.255.255.255",
            "1.20.100.9",
            "::1",
            "fe80::1:2",
            "::ffff:10.0.0.1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(ip_text(ip), ip.to_string());
        }
    }

    proptest! {
        #[test]
        fn push_ip_appends_what_display_writes(v4: u32, v6: u128, before in 0usize..4) {
            for ip in [IpAddr::from(std::net::Ipv4Addr::from(v4)), IpAddr::from(std::net::Ipv6Addr::from(v6))] {
                let before = "x".repeat(before);
                let mut text = before.clone();
                push_ip(&mut text, ip);
                prop_assert_eq!(text, format!("{before}{ip}"));
            }
        }
    }
}
