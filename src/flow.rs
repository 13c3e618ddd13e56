//! One connection: what was seen of it, and how one segment updates it
//! (counters, relative-number bases, both sides' state machines, sequence
//! analysis, Zeek's view, the checks and the observations that classify its
//! opening and release). [`crate::table`] decides which connection a segment
//! belongs to.

use crate::analysis::{SegFlags, SeqAnalysis};
use crate::checks::{Checker, SegmentContext};
use crate::decode::{Segment, TcpFlags};
use crate::seq::SeqNum;
use crate::state::{Side, State, StepOutcome, Tracker, Transition};
use crate::zeek::ZeekObserver;
use std::net::IpAddr;

/// How long (capture time) a finished connection keeps receiving segments.
pub const LINGER_NS: i64 = 2_000_000_000;

/// One end of a connection: address and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Addr {
    pub ip: IpAddr,
    pub port: u16,
}

/// A frame's time and number, as recorded in observations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At {
    pub frame: u64,
    pub ts_ns: i64,
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
    /// The state changes this segment caused, in order.
    pub transitions: Vec<Transition>,
}

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
    pub stats: [SideStats; 2],
    pub first: At,
    pub last: At,
    /// Wireshark's relative-number base of each direction.
    pub base: [Option<SeqNum>; 2],
    pub obs: Observations,
    /// Boxed: a pointer while `--packets` is off, as it usually is.
    pub packets: Option<Box<Vec<PacketRecord>>>,
    /// Why it was handed over.
    pub ended_by: EndedBy,
    /// Seen since the eviction clock last passed it.
    pub(crate) recently_active: bool,
}

/// Frames that matter for classifying the opening and the release.
#[derive(Debug, Clone, Default)]
pub struct Observations {
    pub syn: Option<At>,
    pub syn_count: u32,
    pub syn_ack: Option<At>,
    pub syn_ack_count: u32,
    /// The client's first ACK of the server's SYN (the third segment).
    pub hs_ack: Option<At>,
    /// The server sent a bare SYN too (simultaneous open).
    pub server_bare_syn: bool,
    /// First FIN of each side (client, server).
    pub fin: [Option<At>; 2],
    /// First segment acknowledging each side's FIN (sent by the other side).
    pub fin_ack: [Option<At>; 2],
    /// First acceptable RST and who sent it.
    pub rst: Option<(At, Side)>,
    /// Any RST (accepted or not).
    pub any_rst: Option<(At, Side)>,
    /// The handshake was refused: a RST answered the SYN before any SYN-ACK.
    pub refused: bool,
    /// When the connection finished (both sides closed), capture time.
    pub finished_at: Option<i64>,
}

impl Connection {
    fn side_of(&self, src: Addr) -> Side {
        if src == self.client {
            Side::Client
        } else {
            Side::Server
        }
    }
    pub fn stats(&self, side: Side) -> SideStats {
        self.stats[side as usize]
    }

    /// A connection attempt: opened by the client's SYN, and the server has
    /// sent nothing.
    pub fn is_attempt(&self) -> bool {
        self.roles_from_syn
            && self.stats[Side::Server as usize].packets == 0
            && self.tracker.endpoint(Side::Client).state() == State::SynSent
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

/// Limits on the connection table, which bound memory.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections tracked at once at most; the least recently active go first.
    pub max_connections: usize,
    /// A connection attempt (SYNs from the client, nothing from the server)
    /// with no segment for this long is handed over (as `idle_timeout`).
    pub attempt_timeout_ns: Option<i64>,
    /// A connection with no segment for this long (capture time) is handed over.
    pub idle_timeout_ns: Option<i64>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 100_000,
            // Zeek's tcp_attempt_delay: an unanswered SYN is given up after
            // 5 s. Linux retries a SYN after 1, 2 and 4 s (then 8, 16…), so
            // the usual retries stay in one connection.
            attempt_timeout_ns: Some(5_000_000_000),
            // Zeek's TCP inactivity timeout.
            idle_timeout_ns: Some(300_000_000_000),
        }
    }
}

/// A bare SYN with a new ISN on a finished connection starts a new one.
pub(crate) fn is_port_reuse(conn: &Connection, src: Addr, seg: &Segment) -> bool {
    let bare_syn = seg.flags.syn() && !seg.flags.ack();
    if !bare_syn || !conn.tracker.is_finished() {
        return false;
    }
    let side = conn.side_of(src);
    conn.tracker.endpoint(side).isn != Some(seg.seq)
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
    }
}

/// Wireshark's conversation completeness bits for one segment: SYN 1,
/// SYN-ACK 2, ACK 4 (an ACK without payload), DATA 8, FIN 16, RST 32.
pub fn completeness_bits(seg: &Segment) -> u8 {
    let f = seg.flags;
    // A SYN counts only as SYN or SYN-ACK, whatever else it carries.
    if f.syn() {
        return if f.ack() { 2 } else { 1 };
    }
    let mut bits = 0;
    if f.ack() && seg.payload_len == 0 {
        bits |= 4;
    }
    if seg.payload_len > 0 {
        bits |= 8;
    }
    if f.fin() {
        bits |= 16;
    }
    if f.rst() {
        bits |= 32;
    }
    bits
}

/// Applies one segment to a connection: counters, relative-number bases,
/// state machines, and the observations used for classification. Returns
/// whether this segment finished the connection.
pub(crate) fn observe(
    conn: &mut Connection,
    src: Addr,
    seg: &Segment,
    at: At,
    transitions: &mut Vec<Transition>,
) -> bool {
    let side = conn.side_of(src);
    let peer = side.peer();
    let f = seg.flags;
    conn.last = at;
    let st = &mut conn.stats[side as usize];
    st.packets += 1;
    st.payload_bytes += u64::from(seg.payload_len);

    // Wireshark's relative numbering: base = ISN, or first seq seen - 1; an
    // ACK from a direction seen first fixes the other direction's base at ack - 1.
    let base = &mut conn.base[side as usize];
    if f.syn() {
        *base = Some(seg.seq);
    } else if base.is_none() {
        *base = Some(seg.seq - 1);
    }
    if f.ack() && conn.base[peer as usize].is_none() {
        conn.base[peer as usize] = Some(seg.ack - 1);
    }

    let sender_state_before = conn.tracker.endpoint(side).state();
    let receiver_state_before = conn.tracker.endpoint(peer).state();
    let fin_before = conn.tracker.endpoint(side).fin_seq;
    let finished_before = conn.tracker.is_finished();
    let syn_ack_seen = conn.obs.syn_ack.is_some();
    let outcome: StepOutcome = conn.tracker.on_segment(side, seg, transitions);

    // SYN segments carry unscaled windows; later ones use the negotiated scale.
    let shift = if f.syn() {
        Some(0)
    } else {
        conn.tracker.window_shift(side)
    };
    let analysis = conn.analysis.on_segment(side, seg, at.ts_ns, shift);
    conn.zeek.on_segment(side, seg, analysis);
    conn.completeness |= completeness_bits(seg);
    let context = SegmentContext {
        side,
        at,
        analysis,
        sender_before: sender_state_before,
        receiver_before: receiver_state_before,
        fin_before,
        finished_before,
        rst_accepted: outcome.rst_accepted,
        rst_closed: outcome.rst_closed,
        client_isn: conn.tracker.endpoint(Side::Client).isn,
        server_isn: conn.tracker.endpoint(Side::Server).isn,
        syn_ack_seen,
        simultaneous_open: conn.obs.server_bare_syn
            || (side == Side::Server && f.syn() && !f.ack()),
    };
    conn.checker.on_segment(seg, &context);

    let obs = &mut conn.obs;
    if f.syn() && !f.ack() {
        if side == Side::Client {
            obs.syn_count += 1;
            obs.syn.get_or_insert(at);
        } else {
            obs.server_bare_syn = true;
        }
    }
    if f.syn() && f.ack() {
        if side == Side::Server {
            obs.syn_ack_count += 1;
            obs.syn_ack.get_or_insert(at);
            if let Some(syn) = obs.syn {
                conn.analysis
                    .set_first_rtt(at.ts_ns.saturating_sub(syn.ts_ns));
            }
        } else if obs.server_bare_syn {
            // Simultaneous open: the client's SYN,ACK answers the server's SYN.
            obs.syn_ack.get_or_insert(at);
        }
    }
    if obs.hs_ack.is_none() && !f.syn() && f.ack() && !f.rst() {
        let peer_isn = conn.tracker.endpoint(peer).isn;
        let opener_done = match (obs.server_bare_syn, side) {
            (false, Side::Client) => obs.syn_ack.is_some(),
            (true, _) => obs.syn_ack.is_some(),
            _ => false,
        };
        if opener_done && peer_isn.is_some_and(|isn| seg.ack > isn) {
            obs.hs_ack = Some(at);
        }
    }
    if f.fin() && obs.fin[side as usize].is_none() {
        obs.fin[side as usize] = Some(at);
    }
    if f.ack() && obs.fin_ack[peer as usize].is_none() {
        if let Some(fin) = conn.tracker.endpoint(peer).fin_seq {
            if seg.ack > fin {
                obs.fin_ack[peer as usize] = Some(at);
            }
        }
    }
    if f.rst() {
        obs.any_rst.get_or_insert((at, side));
        if outcome.rst_closed && obs.rst.is_none() {
            obs.rst = Some((at, side));
            let server_never_answered =
                matches!(sender_state_before, State::Listen | State::Closed);
            if side == Side::Server
                && obs.syn_ack.is_none()
                && obs.syn.is_some()
                && server_never_answered
            {
                obs.refused = true;
            }
        }
    }

    if let Some(list) = conn.packets.as_mut() {
        let rel_seq = seg.seq - conn.base[side as usize].unwrap_or(seg.seq);
        let rel_ack = if f.ack() {
            conn.base[peer as usize].map(|b| seg.ack - b)
        } else {
            None
        };
        list.push(PacketRecord {
            at,
            dir: side,
            flags: f,
            seq: seg.seq,
            ack: seg.ack,
            rel_seq,
            rel_ack,
            len: seg.payload_len,
            window: seg.window,
            client_state: conn.tracker.endpoint(Side::Client).state(),
            server_state: conn.tracker.endpoint(Side::Server).state(),
            analysis,
            transitions: transitions.clone(),
        });
    }
    // Whether this segment finished the connection.
    !finished_before && conn.tracker.is_finished()
}
