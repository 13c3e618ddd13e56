//! Splitting segments into connections, in bounded memory.
//!
//! Connections are keyed by the 4-tuple. A new SYN with a different ISN on a
//! 4-tuple whose connection has finished starts a new connection (port
//! reuse). Ids are given in first-seen order. A finished connection lingers
//! for [`LINGER_NS`] of capture time (late retransmissions and ACKs still
//! belong to it), then is handed to the sink; whatever is still open when
//! the capture ends is handed over at the end, in id order.
//!
//! Memory: connections live in a slab of slots, found through a compact
//! index of slot numbers (`index.rs`). Segments pass through a short queue in which
//! their index entry, then their slot, then their connection are
//! prefetched, so that with thousands of connections interleaved the CPU
//! does not wait for memory on every segment.

mod ended;
mod index;

use crate::connection::{
    is_port_reuse, new_connection, observe, Addr, At, Connection, ConnectionSink, EndedBy, Spare,
};
use crate::decode::{IcmpError, Segment};
use crate::prefetch;
use crate::seq::SeqNum;
use crate::state::{Tracker, Transition};
use crate::wireshark::SeqAnalysis;
use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::net::IpAddr;

/// How long (capture time) a finished connection keeps receiving segments.
pub const LINGER_NS: i64 = 2_000_000_000;

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

/// The lookahead pipeline: a pushed segment's index entry is prefetched at
/// once; `INDEX_AHEAD` segments later its slot, `SLOT_AHEAD` later its
/// connection, and `CONN_AHEAD` later it is fed.
const INDEX_AHEAD: usize = 2;
const SLOT_AHEAD: usize = 2;
const CONN_AHEAD: usize = 4;
const QUEUE: usize = INDEX_AHEAD + SLOT_AHEAD + CONN_AHEAD;
/// A queued segment whose connection was not found when it was prefetched.
const NO_SLOT: u32 = u32::MAX;

/// The 4-tuple, its two ends in a canonical order: each address as two
/// 64-bit halves (IPv4 in the low half), with the family beside them.
/// 40 bytes, so that a slot fits one cache line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FlowKey {
    ips: [u64; 4],
    ports: [u16; 2],
    /// The tunnels that carried it (`Segment::carried`): two tunnels
    /// carrying the same inner 4-tuple are two connections.
    carried: u16,
    v6: bool,
}

impl std::hash::Hash for FlowKey {
    /// Words rather than the bytes of the arrays: cheaper to mix.
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        for half in self.ips {
            h.write_u64(half);
        }
        h.write_u32(u32::from(self.ports[0]) << 16 | u32::from(self.ports[1]));
        h.write_u32(u32::from(self.carried) << 8 | u32::from(self.v6));
    }
}

fn ip_bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

impl FlowKey {
    /// The hash the index files the key under; the same on every thread.
    fn hash(&self) -> u64 {
        foldhash::fast::FixedState::default().hash_one(self)
    }

    fn of(seg: &Segment) -> FlowKey {
        FlowKey::of_ends(seg.src, seg.src_port, seg.dst, seg.dst_port, seg.carried)
    }

    /// The key of the connection between two ends, carried by `carried`.
    #[inline]
    fn of_ends(src: IpAddr, src_port: u16, dst: IpAddr, dst_port: u16, carried: u16) -> FlowKey {
        let a = (ip_bits(src), src_port);
        let b = (ip_bits(dst), dst_port);
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        FlowKey {
            ips: [
                (lo.0 >> 64) as u64,
                lo.0 as u64,
                (hi.0 >> 64) as u64,
                hi.0 as u64,
            ],
            ports: [lo.1, hi.1],
            carried,
            v6: src.is_ipv6(),
        }
    }
}

/// A place in the slab: a connection and the key it is indexed under; one
/// cache line (checked by a test).
#[derive(Debug)]
#[repr(align(64))]
struct Slot {
    key: FlowKey,
    /// The connection's id and the time of its last segment, so that the
    /// timers can look at the slot without touching the connection.
    id: u64,
    last_ts: i64,
    conn: Option<Box<Connection>>,
}

/// Above this many tracked connections that are not lingering (finished
/// connections waiting for late segments), a new connection that is only
/// SYNs from its client, an attempt nothing has answered (a SYN flood, a
/// scan), is kept packed: its segments rather than a connection, a tenth of
/// the size, like a kernel's SYN-queue entry. It is unpacked (a new connection
/// fed the same segments, so nothing differs) when any other segment of its
/// 4-tuple arrives and when it is handed over. Below, nothing is packed, so
/// ordinary traffic never pays for it, however many connections linger:
/// a busy capture (10,000 connections a second) has some 20,000 lingering
/// at a time, and packing every new connection until its SYN-ACK came cost
/// each a replay of its SYN.
const PACK_ABOVE: usize = 16_384;
/// An attempt of more SYNs than this stays a connection.
const PACK_MOST: usize = 8;

/// An attempt kept packed ([`PACK_ABOVE`]): its segments, in order.
#[derive(Debug)]
struct Packed {
    first: (Segment, At),
    more: Vec<(Segment, At)>,
    /// The connection's `recently_active`, for the eviction clock.
    recently_active: bool,
}

impl Packed {
    fn segments(&self) -> impl Iterator<Item = &(Segment, At)> {
        std::iter::once(&self.first).chain(&self.more)
    }
}

/// The two ends of a segment: its source and its destination.
fn ends(seg: &Segment) -> (Addr, Addr) {
    (
        Addr {
            ip: seg.src,
            port: seg.src_port,
        },
        Addr {
            ip: seg.dst,
            port: seg.dst_port,
        },
    )
}

/// A segment with the key of its connection and the key's hash, ready for
/// the table. Made by [`Keyed::new`], which may run on another thread than
/// the table (the hasher is fixed, so every thread hashes alike).
#[derive(Debug, Clone, Copy)]
pub struct Keyed {
    seg: Segment,
    at: At,
    key: FlowKey,
    hash: u64,
    /// A SYN-ACK of a connection this table does not track (another
    /// shard's): only its TTL is noted ([`ConnTable::push_batch`]).
    elsewhere: bool,
}

impl Keyed {
    pub fn new(seg: Segment, at: At) -> Keyed {
        let key = FlowKey::of(&seg);
        let hash = key.hash();
        Keyed {
            seg,
            at,
            key,
            hash,
            elsewhere: false,
        }
    }

    /// A SYN-ACK another table (shard) tracks, for its TTL only.
    pub fn elsewhere(seg: Segment, at: At) -> Keyed {
        Keyed {
            elsewhere: true,
            ..Keyed::new(seg, at)
        }
    }
}

/// The table of connections of one capture.
pub struct ConnTable {
    /// Keep per-packet records: `Some(None)` for every connection,
    /// `Some(Some(id))` for that one only.
    keep_packets: Option<Option<u64>>,
    /// With `keep_packets`: only for the connections whose id is at most
    /// this when they begin ([`ConnTable::keep_packets_until`]).
    packets_until: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
    /// With `keep_packets`: collapse runs of ordinary segments while
    /// reading ([`crate::connection::PacketList::collapsing`]).
    collapse_packets: bool,
    /// With `keep_packets`: the records of a connection past a bound go to
    /// a temporary file ([`crate::connection::PacketList::spilling`]).
    spill_packets: bool,
    limits: Limits,
    next_id: u64,
    /// Added to an id for the next: 1, or `--shard`'s N.
    id_step: u64,
    /// Slot numbers of the tracked connections, by key hash.
    index: index::Index,
    slots: Vec<Slot>,
    /// The packed attempt in each slot whose connection is packed (its
    /// `conn` is then `None`); beside the slots, which stay a cache line.
    packed: Vec<Option<Box<Packed>>>,
    /// How many of `packed` are `Some`: while none is, as in ordinary
    /// traffic, no segment reads (or writes) `packed` at all.
    packed_now: usize,
    /// Tracked connections above which new attempts are packed.
    pack_above: usize,
    /// The box of the last connection packed, reused for the next one.
    spare: Option<Spare>,
    /// Slots with no connection, for reuse.
    free: Vec<u32>,
    /// Segments decoded but not yet fed (the prefetch pipeline), each with
    /// the slot its connection was found in when it was prefetched
    /// ([`NO_SLOT`] if none), so that feeding it need not search again.
    queue: VecDeque<(Keyed, u32)>,
    /// [`ConnTable::push_batch`]'s slot of each segment of its batch found
    /// while prefetching (its `queue`); kept to be reused.
    hints: Vec<u32>,
    /// Finished connections by finishing time, to be handed over after
    /// lingering: (time, slot, id).
    lingering: VecDeque<(i64, u32, u64)>,
    /// The front of `lingering` whose slot was prefetched, and the one whose
    /// connection was too ([`ConnTable::prefetch_lingering`]).
    lingering_seen: (u32, u64),
    lingering_warm: (u32, u64),
    /// The relative-number bases of connections handed over, for a later
    /// segment of their 4-tuple without SYN (tshark's same stream).
    ended: ended::EndedBases,
    /// Every tracked connection (slot, id), in a second-chance (CLOCK)
    /// order for eviction.
    clock: VecDeque<(u32, u64)>,
    /// Connections opened by a SYN that nothing has answered yet, by the
    /// time from which their attempt timeout runs: (time, slot, id).
    attempts: VecDeque<(i64, u32, u64)>,
    /// Capture time of the next idle sweep.
    next_sweep: i64,
    /// The latest capture time of a segment fed.
    latest: Option<i64>,
    transitions: Vec<Transition>,
    /// The last segments fed, to find the one an ICMP error quotes.
    recent: Recent,
    /// The TTL range of each server's SYN-ACKs (at most
    /// [`SERVER_TTLS_MAX`] servers), to compare a RST refusing a later
    /// connection with (a firewall on the path answers with another TTL).
    server_ttls: ServerTtls,
}

/// Servers whose SYN-ACK TTLs the table remembers; later ones are not.
pub const SERVER_TTLS_MAX: usize = 4096;

/// The lowest and highest TTL of each server's SYN-ACKs, by its address;
/// hashed with the table's fixed hasher, which is several times cheaper
/// than the standard one for every SYN-ACK. A capture made to collide its
/// addresses gains little: the map never holds more than
/// [`SERVER_TTLS_MAX`] entries.
type ServerTtls = std::collections::HashMap<IpAddr, (u8, u8), foldhash::fast::FixedState>;

/// Segments fed to a connection last (at most [`Recent::LEN`]): their
/// connection's key hash, source port, sequence number and frame. An ICMP
/// error follows the segment it reports on by about a round trip to the
/// reporting router, so the segment is normally among them; a table-wide
/// ring costs every segment one small write and no connection any memory.
struct Recent {
    ring: Box<[(u64, u64, u32, u16)]>,
    next: usize,
}

impl Recent {
    const LEN: usize = 1024;

    fn new() -> Recent {
        Recent {
            ring: Vec::new().into_boxed_slice(),
            next: 0,
        }
    }

    #[inline]
    fn note(&mut self, hash: u64, seg: &Segment, frame: u64) {
        if self.ring.is_empty() {
            self.ring = vec![(0, 0, 0, 0); Recent::LEN].into_boxed_slice();
        }
        self.ring[self.next] = (hash, frame, seg.seq.raw(), seg.src_port);
        self.next = (self.next + 1) % Recent::LEN;
    }

    /// The frame of the latest segment from `src_port` with sequence number
    /// `seq` on the connection with key hash `hash`, if it is still here.
    fn find(&self, hash: u64, src_port: u16, seq: u32) -> Option<u64> {
        let (newer, older) = self.ring.split_at(self.next.min(self.ring.len()));
        newer
            .iter()
            .rev()
            .chain(older.iter().rev())
            .find(|&&(h, frame, s, port)| frame != 0 && h == hash && s == seq && port == src_port)
            .map(|&(_, frame, _, _)| frame)
    }
}

impl ConnTable {
    /// The packets kept are for the teaching views without `--full`: runs
    /// of segments they collapse are collapsed while reading.
    pub fn collapse_packets(&mut self, on: bool) {
        self.collapse_packets = on;
    }

    /// The packets kept are read back as they are written: a connection's
    /// records past a bound may wait in a temporary file.
    pub fn spill_packets(&mut self, on: bool) {
        self.spill_packets = on;
    }

    /// Keeps per-packet records only for connections whose id is at most
    /// `bound` when they begin; whoever holds `bound` may lower it as the
    /// capture is read.
    pub fn keep_packets_until(&mut self, bound: std::sync::Arc<std::sync::atomic::AtomicU64>) {
        self.packets_until = Some(bound);
    }

    /// `first_id` lets several captures share one id sequence.
    pub fn new(first_id: u64, keep_packets: Option<Option<u64>>, limits: Limits) -> ConnTable {
        ConnTable {
            keep_packets,
            collapse_packets: false,
            spill_packets: false,
            packets_until: None,
            limits,
            next_id: first_id,
            id_step: 1,
            index: index::Index::new(),
            slots: Vec::new(),
            packed: Vec::new(),
            packed_now: 0,
            pack_above: PACK_ABOVE,
            spare: None,
            free: Vec::new(),
            queue: VecDeque::with_capacity(QUEUE + 1),
            hints: Vec::new(),
            lingering: VecDeque::new(),
            lingering_seen: (NO_SLOT, 0),
            lingering_warm: (NO_SLOT, 0),
            ended: ended::EndedBases::default(),
            clock: VecDeque::new(),
            attempts: VecDeque::new(),
            next_sweep: i64::MIN,
            latest: None,
            transitions: Vec::new(),
            recent: Recent::new(),
            server_ttls: ServerTtls::default(),
        }
    }

    /// Ids that go up by `step` rather than by one (the ids of one shard of
    /// `step`: [`crate::shard`]).
    pub fn with_id_step(mut self, step: u64) -> ConnTable {
        self.id_step = step.max(1);
        self
    }

    /// Connections currently tracked.
    pub fn open_connections(&self) -> usize {
        self.index.len()
    }

    /// Takes one segment. It is fed to its connection a few segments later
    /// (or by [`ConnTable::finish`]), in the order segments were pushed.
    pub fn push(&mut self, seg: Segment, at: At, sink: &mut impl ConnectionSink) {
        self.push_keyed(Keyed::new(seg, at), sink);
    }

    /// [`ConnTable::push`] for a segment keyed already.
    pub fn push_keyed(&mut self, keyed: Keyed, sink: &mut impl ConnectionSink) {
        self.fetch_index(keyed.hash);
        self.queue.push_back((keyed, NO_SLOT));
        let n = self.queue.len();
        if let Some(j) = n.checked_sub(INDEX_AHEAD + 1) {
            let first = self.fetch_slots(self.queue[j].0.hash);
            self.queue[j].1 = first;
        }
        if let Some(k) = n.checked_sub(INDEX_AHEAD + SLOT_AHEAD + 1) {
            let (p, hint) = &self.queue[k];
            let hint = self.fetch_connection(*hint, &p.key);
            self.queue[k].1 = hint;
        }
        if n > QUEUE {
            if let Some((p, hint)) = self.queue.pop_front() {
                self.segment(&p, hint, sink);
            }
        }
    }

    /// [`ConnTable::push_keyed`] for each segment of `batch`, in order, read
    /// where they are: the lookahead runs over the batch itself (the hints
    /// beside it), so no segment is copied into the queue and out again.
    /// Every segment of the batch is fed before this returns, the last few
    /// with a shorter lookahead.
    pub fn push_batch(&mut self, batch: &[Keyed], sink: &mut impl ConnectionSink) {
        // Segments pushed one at a time before come first.
        self.drain(sink);
        let mut hints = std::mem::take(&mut self.hints);
        hints.clear();
        hints.resize(batch.len(), NO_SLOT);
        for i in 0..batch.len() + QUEUE {
            if let Some(p) = batch.get(i) {
                self.fetch_index(p.hash);
            }
            if let Some(j) = i.checked_sub(INDEX_AHEAD).filter(|&j| j < batch.len()) {
                hints[j] = self.fetch_slots(batch[j].hash);
            }
            if let Some(k) = i
                .checked_sub(INDEX_AHEAD + SLOT_AHEAD)
                .filter(|&k| k < batch.len())
            {
                hints[k] = self.fetch_connection(hints[k], &batch[k].key);
            }
            if let Some(f) = i.checked_sub(QUEUE).filter(|&f| f < batch.len()) {
                self.segment(&batch[f], hints[f], sink);
            }
        }
        self.hints = hints;
    }

    /// Lookahead, first step (a segment just pushed): its index entry is
    /// fetched, and the next connection to finish lingering.
    #[inline]
    fn fetch_index(&mut self, hash: u64) {
        prefetch::line(self.index.probe_start(hash));
        self.prefetch_lingering();
    }

    /// Second step, `INDEX_AHEAD` segments later: its index entries are
    /// cached by now, so the slots they name are fetched. Returns the first
    /// of them (the connection's, but for a collision of tags), the hint.
    #[inline]
    fn fetch_slots(&self, hash: u64) -> u32 {
        let mut first = NO_SLOT;
        let _ = self.index.find(hash, |s| {
            if let Some(slot) = self.slots.get(s as usize) {
                prefetch::lines(slot);
                if first == NO_SLOT {
                    first = s;
                }
            }
            false
        });
        first
    }

    /// Third step, `SLOT_AHEAD` later: the hinted slot is cached by now; if
    /// it holds the connection of `key`, its record is fetched and the hint
    /// kept, else it is dropped ([`NO_SLOT`]: feeding the segment searches).
    #[inline]
    fn fetch_connection(&self, hint: u32, key: &FlowKey) -> u32 {
        match self.slots.get(hint as usize) {
            Some(entry) if entry.key == *key => {
                if let Some(conn) = &entry.conn {
                    prefetch::lines(&**conn);
                }
                hint
            }
            _ => NO_SLOT,
        }
    }

    /// The next connection to finish lingering is read when it is handed
    /// over, seconds after it was last touched: its slot is prefetched on
    /// every push, and its connection once, a push after the slot (whose
    /// pointer it needs) — only the lines that handing it over reads here
    /// ([`prefetch_hand_over`]); the reporting thread fetches the rest.
    #[inline]
    fn prefetch_lingering(&mut self) {
        let Some(&(_, slot, id)) = self.lingering.front() else {
            return;
        };
        let Some(entry) = self.slots.get(slot as usize) else {
            return;
        };
        prefetch::lines(entry);
        if self.lingering_warm == (slot, id) {
            return;
        }
        if self.lingering_seen != (slot, id) {
            // The slot is on its way; its pointer is read at the next push.
            self.lingering_seen = (slot, id);
            return;
        }
        if let Some(conn) = entry.conn.as_deref().filter(|_| entry.id == id) {
            prefetch_hand_over(conn);
        }
        self.lingering_warm = (slot, id);
    }

    /// The index entry of the connection with this key.
    fn find(&self, key: &FlowKey, hash: u64) -> Option<index::Found> {
        self.index
            .find(hash, |s| self.slots[s as usize].key == *key)
    }

    /// The connection in `slot`, if it is still the one with this id (and
    /// not packed).
    fn conn(&self, slot: u32, id: u64) -> Option<&Connection> {
        let entry = &self.slots[slot as usize];
        entry.conn.as_deref().filter(|_| entry.id == id)
    }

    /// Whether `slot` holds a connection, packed or not.
    fn live(&self, slot: u32) -> bool {
        self.slots
            .get(slot as usize)
            .is_some_and(|entry| entry.conn.is_some())
            || (self.packed_now > 0
                && self
                    .packed
                    .get(slot as usize)
                    .is_some_and(|packed| packed.is_some()))
    }

    /// Whether connection `id` in `slot` is still an unanswered attempt.
    fn is_attempt(&self, slot: u32, id: u64) -> bool {
        match self.conn(slot, id) {
            Some(conn) => conn.is_attempt(),
            // Only attempts are packed.
            None => self.slots[slot as usize].id == id && self.live(slot),
        }
    }

    /// The time of the last segment of connection `id` in `slot`, if it is
    /// still there.
    fn last_ts(&self, slot: u32, id: u64) -> Option<i64> {
        let entry = &self.slots[slot as usize];
        (entry.id == id && self.live(slot)).then_some(entry.last_ts)
    }

    /// A new connection for its first segment, in the spare box if there is
    /// one (or else in `given`, a box the sink gave back).
    fn new_connection(
        &mut self,
        id: u64,
        seg: &Segment,
        at: At,
        given: Option<Spare>,
    ) -> Box<Connection> {
        let (src, dst) = ends(seg);
        let keep = self
            .keep_packets
            .is_some_and(|only| only.is_none_or(|want| want == id))
            && self
                .packets_until
                .as_ref()
                .is_none_or(|bound| id <= bound.load(std::sync::atomic::Ordering::Relaxed));
        // Made right in its box (no copy of the record through the stack).
        let mut conn = self
            .spare
            .take()
            .or(given)
            .unwrap_or_else(Spare::fresh)
            .fill(new_connection(id, src, dst, seg, at, keep));
        if keep && self.collapse_packets {
            conn.packets = Some(Box::new(crate::connection::PacketList::collapsing()));
        } else if keep && self.spill_packets {
            conn.packets = Some(Box::new(crate::connection::PacketList::spilling()));
        }
        conn
    }

    /// Unpacks the attempt in `slot`, if it is packed: a new connection is
    /// fed its segments again. Returns what was packed.
    fn unpack(&mut self, slot: u32) -> Option<Box<Packed>> {
        if self.packed_now == 0 {
            return None;
        }
        // Read before taking: a store to every slot's entry would cost each
        // segment a cache line written.
        let entry = self.packed.get_mut(slot as usize)?;
        let packed = entry.is_some().then(|| entry.take()).flatten()?;
        self.packed_now -= 1;
        let id = self.slots[slot as usize].id;
        let (seg, at) = &packed.first;
        let mut conn = self.new_connection(id, seg, *at, None);
        for (seg, at) in packed.segments() {
            feed(
                &mut conn,
                slot,
                ends(seg).0,
                seg,
                *at,
                &mut self.transitions,
                &mut self.lingering,
            );
        }
        conn.recently_active = packed.recently_active;
        self.slots[slot as usize].conn = Some(conn);
        Some(packed)
    }

    /// Packs the connection in `slot` if the table is large and it is an
    /// attempt whose segments are known: `seg` and those `replayed` (from
    /// unpacking it for `seg`), or `seg` alone if it `opened` it.
    fn pack(
        &mut self,
        slot: u32,
        seg: &Segment,
        at: At,
        opened: bool,
        replayed: Option<Box<Packed>>,
    ) {
        // `lingering` may also name connections handed over early (reused,
        // evicted) until their linger time passes: the count is low by
        // those, for two seconds at most.
        let unfinished = self.index.len().saturating_sub(self.lingering.len());
        if unfinished <= self.pack_above || !(opened || replayed.is_some()) {
            return;
        }
        let entry = &mut self.slots[slot as usize];
        if !entry.conn.as_deref().is_some_and(Connection::is_attempt) {
            return;
        }
        let packed = match replayed {
            Some(mut packed) if packed.more.len() + 1 < PACK_MOST => {
                packed.more.push((*seg, at));
                packed.recently_active = true;
                packed
            }
            Some(_) => return,
            None => Box::new(Packed {
                first: (*seg, at),
                more: Vec::new(),
                recently_active: true,
            }),
        };
        self.spare = entry.conn.take().map(Spare::of);
        self.packed[slot as usize] = Some(packed);
        self.packed_now += 1;
    }

    /// Feeds one segment to its connection. `hint` is the slot the
    /// connection was in a few segments ago ([`NO_SLOT`] if none): if it
    /// still holds a connection with this key, that is the one.
    fn segment(&mut self, p: &Keyed, hint: u32, sink: &mut impl ConnectionSink) {
        let (seg, at) = (&p.seg, p.at);
        if p.elsewhere {
            note_syn_ack(&mut self.server_ttls, seg);
            return;
        }
        self.latest = Some(self.latest.map_or(at.ts_ns, |l| l.max(at.ts_ns)));
        self.expire(at.ts_ns, sink);
        self.sweep_idle(at.ts_ns, sink);
        let (src, _) = ends(seg);

        let hinted = self.live(hint) && self.slots[hint as usize].key == p.key;
        let found = if hinted {
            Some(hint)
        } else {
            self.find(&p.key, p.hash).map(|f| f.slot)
        };
        let replayed = found
            .filter(|_| self.packed_now > 0)
            .and_then(|slot| self.unpack(slot));
        let (slot, opened) = match found {
            Some(slot)
                if self.slots[slot as usize]
                    .conn
                    .as_deref()
                    .is_some_and(|c| !is_port_reuse(c, src, seg)) =>
            {
                (slot, false)
            }
            _ => {
                if let Some(slot) = found {
                    self.hand_over(slot, EndedBy::Reuse, sink);
                }
                (self.open(p, sink), true)
            }
        };
        let entry = &mut self.slots[slot as usize];
        entry.last_ts = at.ts_ns;
        let Some(conn) = entry.conn.as_deref_mut() else {
            return;
        };
        self.recent.note(p.hash, seg, at.frame);
        feed(
            conn,
            slot,
            src,
            seg,
            at,
            &mut self.transitions,
            &mut self.lingering,
        );
        if seg.flags.syn() || seg.flags.rst() {
            note_server_ttl(&mut self.server_ttls, conn, seg, at);
        }
        if opened && self.limits.attempt_timeout_ns.is_some() && conn.is_attempt() {
            self.attempts.push_back((at.ts_ns, slot, conn.id));
        }
        // What was unpacked is this connection's only if it did not open a
        // new one.
        if opened || replayed.is_some() {
            self.pack(slot, seg, at, opened, replayed.filter(|_| !opened));
        }
    }

    /// Opens a connection for the segment (making room first if the table
    /// is full) and returns its slot.
    fn open(&mut self, p: &Keyed, sink: &mut impl ConnectionSink) -> u32 {
        let (seg, at) = (&p.seg, p.at);
        while self.index.len() >= self.limits.max_connections.clamp(1, u32::MAX as usize - 1) {
            if !self.evict_one(sink) {
                break;
            }
        }
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(self.id_step);
        let given = sink.spare();
        let mut conn = self.new_connection(id, seg, at, given);
        if !seg.flags.syn() {
            self.ended.inherit(p.hash, &p.key, &mut conn);
        }
        let entry = Slot {
            key: p.key,
            id,
            last_ts: at.ts_ns,
            conn: Some(conn),
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = entry;
                s
            }
            None => {
                self.slots.push(entry);
                self.packed.push(None);
                // At most `max_connections` (clamped to u32) slots are in use.
                (self.slots.len() - 1) as u32
            }
        };
        self.index.insert(p.hash, slot);
        self.clock.push_back((slot, id));
        // Entries of connections handed over stay in the clock until it
        // passes them; drop them once they outnumber the live ones, so the
        // clock follows the open connections, not the capture's length.
        if self.clock.len() > 2 * self.index.len() + 1024 {
            let (slots, packed) = (&self.slots, &self.packed);
            self.clock.retain(|&(slot, id)| {
                let entry = &slots[slot as usize];
                entry.id == id && (entry.conn.is_some() || packed[slot as usize].is_some())
            });
        }
        slot
    }

    /// Hands the connection in `slot` to the sink and frees the slot.
    fn hand_over(&mut self, slot: u32, why: EndedBy, sink: &mut impl ConnectionSink) {
        self.unpack(slot);
        let entry = &mut self.slots[slot as usize];
        let hash = entry.key.hash();
        if let Some(found) = self.index.find(hash, |s| s == slot) {
            self.index.remove(found);
        }
        if let Some(conn) = entry.conn.take() {
            self.ended.note(hash, entry.key, &conn);
            self.free.push(slot);
            sink.ended(conn, why);
        }
    }

    /// Finished connections that lingered long enough, and connection
    /// attempts that stayed unanswered for the attempt timeout.
    #[inline]
    fn expire(&mut self, now: i64, sink: &mut impl ConnectionSink) {
        // Most segments expire nothing: only the fronts of the two queues
        // are looked at, without a call.
        let lingered = self
            .lingering
            .front()
            .is_some_and(|&(done, _, _)| now.saturating_sub(done) > LINGER_NS);
        let unanswered = || {
            self.limits.attempt_timeout_ns.is_some_and(|timeout| {
                self.attempts
                    .front()
                    .is_some_and(|&(since, _, _)| now.saturating_sub(since) > timeout)
            })
        };
        if lingered || unanswered() {
            self.expire_due(now, sink);
        }
    }

    /// [`ConnTable::expire`] when something is due.
    #[inline(never)]
    fn expire_due(&mut self, now: i64, sink: &mut impl ConnectionSink) {
        while let Some(&(done, slot, id)) = self.lingering.front() {
            if now.saturating_sub(done) <= LINGER_NS {
                break;
            }
            self.lingering.pop_front();
            match self.last_ts(slot, id) {
                Some(last) if last == done => self.hand_over(slot, EndedBy::Close, sink),
                // It saw segments after finishing: linger from the last one.
                Some(last) if self.conn(slot, id).is_some_and(|c| c.tracker.is_finished()) => {
                    self.lingering.push_back((last, slot, id));
                }
                _ => {}
            }
        }
        let Some(timeout) = self.limits.attempt_timeout_ns else {
            return;
        };
        while let Some(&(since, slot, id)) = self.attempts.front() {
            if now.saturating_sub(since) <= timeout {
                break;
            }
            self.attempts.pop_front();
            let Some(last) = self.last_ts(slot, id) else {
                continue;
            };
            if !self.is_attempt(slot, id) {
                continue; // answered: the idle timeout applies
            }
            if now.saturating_sub(last) > timeout {
                self.hand_over(slot, EndedBy::IdleTimeout, sink);
            } else {
                // A retransmitted SYN: wait from it.
                self.attempts.push_back((last, slot, id));
            }
        }
    }

    /// The idle timeout, in batches: every sixteenth of the timeout (capture
    /// time) a sixteenth of the table is examined, so each connection is
    /// looked at about once per timeout period and handed over between one
    /// and two timeouts after its last segment, and no segment pays for a
    /// full scan.
    fn sweep_idle(&mut self, now: i64, sink: &mut impl ConnectionSink) {
        let Some(idle) = self.limits.idle_timeout_ns else {
            return;
        };
        if now < self.next_sweep {
            return;
        }
        self.next_sweep = now.saturating_add((idle / 16).max(1));
        for _ in 0..(self.clock.len() / 16 + 1).min(self.clock.len()) {
            let Some((slot, id)) = self.clock.pop_front() else {
                break;
            };
            if let Some(last) = self.last_ts(slot, id) {
                if now.saturating_sub(last) > idle {
                    self.hand_over(slot, EndedBy::IdleTimeout, sink);
                } else {
                    self.clock.push_back((slot, id));
                }
            }
        }
    }

    /// Makes room: hands over a finished (lingering) connection, or evicts
    /// the least recently active one (second-chance order).
    /// Returns false when there is nothing to evict.
    fn evict_one(&mut self, sink: &mut impl ConnectionSink) -> bool {
        // Every entry is looked at most twice: once to clear its mark, once to evict.
        for _ in 0..self.clock.len().saturating_mul(2).saturating_add(1) {
            let Some((slot, id)) = self.clock.pop_front() else {
                return false;
            };
            let entry = &mut self.slots[slot as usize];
            if entry.id != id {
                continue; // already handed over
            }
            if let Some(packed) = self.packed[slot as usize].as_deref_mut() {
                if packed.recently_active {
                    packed.recently_active = false;
                    self.clock.push_back((slot, id));
                } else {
                    self.hand_over(slot, EndedBy::MaxConnections, sink);
                    return true;
                }
                continue;
            }
            let Some(c) = entry.conn.as_deref_mut() else {
                continue; // already handed over
            };
            // A finished connection is only lingering: hand it over as closed.
            if c.tracker.is_finished() {
                self.hand_over(slot, EndedBy::Close, sink);
                return true;
            }
            if c.recently_active {
                c.recently_active = false;
                self.clock.push_back((slot, id));
            } else {
                self.hand_over(slot, EndedBy::MaxConnections, sink);
                return true;
            }
        }
        false
    }

    /// Attaches an ICMP error to the connection of the segment it quotes
    /// (same ends, same tunnels), after feeding the segments before it;
    /// false when no tracked connection has the quoted ends.
    pub fn icmp(&mut self, error: &IcmpError, at: At, sink: &mut impl ConnectionSink) -> bool {
        self.drain(sink);
        let q = &error.quoted;
        let key = FlowKey::of_ends(q.src, q.src_port, q.dst, q.dst_port, error.carried);
        let hash = key.hash();
        let Some(found) = self.find(&key, hash) else {
            return false;
        };
        let frame = q
            .seq
            .and_then(|seq| self.recent.find(hash, q.src_port, seq.raw()));
        // An attempt kept packed is unpacked to take it (and stays so).
        self.unpack(found.slot);
        match self.slots[found.slot as usize].conn.as_deref_mut() {
            Some(conn) => {
                conn.attach_icmp(error, at, frame);
                true
            }
            None => false,
        }
    }

    /// Feeds every segment still queued.
    pub fn drain(&mut self, sink: &mut impl ConnectionSink) {
        while let Some((p, hint)) = self.queue.pop_front() {
            self.segment(&p, hint, sink);
        }
    }

    /// The latest capture time of a segment fed so far.
    pub fn latest(&self) -> Option<i64> {
        self.latest
    }

    /// The capture clock reached `now` with no segment (a live input that
    /// is quiet): the queued segments are fed, then what a segment at `now`
    /// would expire is handed over (finished connections that lingered
    /// long enough, attempts unanswered for the attempt timeout). Results
    /// are those of a later segment's arrival, as long as no segment
    /// earlier than `now` comes after.
    pub fn advance(&mut self, now: i64, sink: &mut impl ConnectionSink) {
        self.drain(sink);
        self.expire(now, sink);
    }

    /// Feeds the segments still queued, then hands every remaining
    /// connection to the sink, in id order. Returns the id the next new
    /// connection would have had.
    pub fn finish(mut self, sink: &mut impl ConnectionSink) -> u64 {
        self.drain(sink);
        let mut order: Vec<(u64, u32)> = (0..self.slots.len() as u32)
            .filter(|&s| self.live(s))
            .map(|s| (self.slots[s as usize].id, s))
            .collect();
        order.sort_unstable_by_key(|(id, _)| *id);
        for (_, slot) in order {
            // A finished connection that was still lingering ended by its close.
            let why = match &self.slots[slot as usize].conn {
                Some(c) if c.tracker.is_finished() => EndedBy::Close,
                _ => EndedBy::CaptureEnd,
            };
            self.hand_over(slot, why, sink);
        }
        self.next_id
    }
}

/// Feeds one segment to its connection, noting when the connection finishes.
fn feed(
    conn: &mut Connection,
    slot: u32,
    src: Addr,
    seg: &Segment,
    at: At,
    transitions: &mut Vec<Transition>,
    lingering: &mut VecDeque<(i64, u32, u64)>,
) {
    conn.recently_active = true;
    transitions.clear();
    if observe(conn, src, seg, at, transitions) {
        lingering.push_back((at.ts_ns, slot, conn.id));
    }
}

/// A SYN-ACK: its TTL remembered for its sender's address (every SYN-ACK,
/// whichever connection or shard it belongs to, so that each shard
/// remembers what the whole run does).
fn note_syn_ack(ttls: &mut ServerTtls, seg: &Segment) {
    let full = ttls.len() >= SERVER_TTLS_MAX;
    match ttls.get_mut(&seg.src) {
        Some((lo, hi)) => (*lo, *hi) = ((*lo).min(seg.ttl), (*hi).max(seg.ttl)),
        None if !full => {
            ttls.insert(seg.src, (seg.ttl, seg.ttl));
        }
        None => {}
    }
}

/// A SYN-ACK fed to `conn`: its TTL remembered. The RST that refused
/// `conn`: the TTLs remembered for its server, kept with it.
fn note_server_ttl(ttls: &mut ServerTtls, conn: &mut Connection, seg: &Segment, at: At) {
    let f = seg.flags;
    if f.syn() && f.ack() {
        note_syn_ack(ttls, seg);
    } else if f.rst() && conn.obs.refused && conn.obs.rst.get().is_some_and(|(r, _)| r == at) {
        conn.ip.server_elsewhere = ttls.get(&conn.server.ip).copied();
    }
}

/// Asks the CPU to start loading the lines of `conn` that handing it over
/// reads on this thread ([`ended::EndedBases::note`]: its client, bases,
/// sequence analysis and both sides' window scales), not the whole box:
/// the reporting thread reads the rest.
#[inline]
fn prefetch_hand_over(conn: &Connection) {
    use std::mem::{offset_of, size_of};
    let parts = [
        (offset_of!(Connection, client), size_of::<Addr>()),
        (
            offset_of!(Connection, base),
            size_of::<[Option<SeqNum>; 2]>(),
        ),
        (offset_of!(Connection, analysis), size_of::<SeqAnalysis>()),
        (offset_of!(Connection, tracker), size_of::<Tracker>()),
    ];
    for (start, len) in parts {
        prefetch::part(conn, start, len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::IcmpErrors;
    use crate::decode::TcpFlags;
    use crate::seq::SeqNum;
    use std::net::Ipv4Addr;

    fn seg(client_port: u16, to_server: bool, flags: u16, seq: u32, ack: u32) -> Segment {
        let (c, s) = (
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        );
        let (src, src_port, dst, dst_port) = if to_server {
            (c, client_port, s, 80)
        } else {
            (s, 80, c, client_port)
        };
        Segment {
            src,
            src_port,
            dst,
            dst_port,
            seq: SeqNum(seq),
            ack: SeqNum(ack),
            flags: TcpFlags(flags),
            window: 1000,
            payload_len: 0,
            wscale: None,
            mss: None,
            ip_len: 40,
            carried: 0,
            payload_cut: false,
            ip_id: 0,
            ttl: 0,
        }
    }

    fn at(ms: u64) -> At {
        At {
            frame: ms + 1,
            ts_ns: ms as i64 * 1_000_000,
        }
    }

    #[test]
    fn a_slot_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<Slot>(), 64);
    }

    /// Refused connections (SYN, RST-ACK) one a millisecond: each finishes,
    /// lingers 2 s and is handed over. The table, and the eviction clock
    /// with it, hold the last 2 s worth, not every connection ever seen.
    #[test]
    fn the_table_follows_open_connections_not_the_capture() {
        let mut table = ConnTable::new(1, None, Limits::default());
        let mut done: Vec<Connection> = Vec::new();
        let mut most_open = 0;
        for i in 0..30_000u32 {
            let port = 1024 + (i % 60_000) as u16;
            let ms = u64::from(i);
            table.push(seg(port, true, TcpFlags::SYN, i, 0), at(ms), &mut done);
            table.push(
                seg(port, false, TcpFlags::RST | TcpFlags::ACK, 0, i + 1),
                at(ms),
                &mut done,
            );
            most_open = most_open.max(table.open_connections());
            assert!(
                table.clock.len() <= 2 * table.open_connections() + 1024 + 1,
                "clock {} for {} open",
                table.clock.len(),
                table.open_connections()
            );
        }
        assert!(most_open <= 2_100, "{most_open} open at once");
        assert!(table.slots.len() <= 2_100, "{} slots", table.slots.len());
        let ended = done.len();
        assert!(ended > 27_000, "{ended} handed over before the end");
        assert!(done.iter().all(|c| c.ended_by == EndedBy::Close));
        assert_eq!(table.finish(&mut done), 30_001);
        let ids: Vec<u64> = done.iter().map(|c| c.id).collect();
        assert_eq!(ids, (1..=30_000).collect::<Vec<_>>(), "each once, in order");
    }

    /// A SYN looked up (and prefetched) while the previous connection of its
    /// 4-tuple still lingers, but fed after that one was handed over and its
    /// slot given to another connection: the slot remembered from the lookup
    /// holds another key by then, and the SYN opens a connection of its own.
    #[test]
    fn a_slot_remembered_from_the_lookahead_is_checked_before_use() {
        let mut table = ConnTable::new(1, None, Limits::default());
        let mut done: Vec<Connection> = Vec::new();
        let syn = |port, seq, ms, table: &mut ConnTable, done: &mut Vec<Connection>| {
            table.push(seg(port, true, TcpFlags::SYN, seq, 0), at(ms), done);
        };
        // Connection 1, refused at once, in the first slot.
        syn(5000, 100, 0, &mut table, &mut done);
        let rst = TcpFlags::RST | TcpFlags::ACK;
        table.push(seg(5000, false, rst, 0, 101), at(0), &mut done);
        // Enough other segments that connection 1 is in the table before
        // the next SYN on its 4-tuple is looked up.
        for port in 6000..6000 + QUEUE as u16 + 1 {
            syn(port, 1, 1000, &mut table, &mut done);
        }
        // 3 s later, past its 2 s linger: connection 1 is handed over when
        // the first of these is fed, which reuses its slot; then a new SYN
        // on connection 1's 4-tuple, looked up while connection 1 was there.
        syn(7000, 1, 3000, &mut table, &mut done);
        syn(5000, 900, 3000, &mut table, &mut done);
        for port in 8000..8000 + QUEUE as u16 + 1 {
            syn(port, 1, 3000, &mut table, &mut done);
        }
        assert_eq!(done.len(), 1, "connection 1, handed over");
        assert_eq!(done[0].ended_by, EndedBy::Close);
        table.finish(&mut done);
        let on_port = |port| {
            done.iter()
                .filter(|c| c.client.port == port)
                .map(|c| (c.obs.syn_count, c.stats(crate::state::Side::Client).packets))
                .collect::<Vec<_>>()
        };
        assert_eq!(on_port(7000), [(1, 1)]);
        assert_eq!(on_port(5000), [(1, 1), (1, 1)]);
    }

    /// Runs `segments` through a table that packs attempts above
    /// `pack_above` tracked connections; returns what it handed over, each
    /// connection as its debug text, in order.
    fn handed_over(segments: &[(Segment, At)], limits: Limits, pack_above: usize) -> Vec<String> {
        let mut table = ConnTable::new(1, Some(None), limits);
        table.pack_above = pack_above;
        let mut done: Vec<Connection> = Vec::new();
        let mut most_packed = 0;
        for (seg, at) in segments {
            table.push(*seg, *at, &mut done);
            most_packed = most_packed.max(table.packed.iter().flatten().count());
        }
        if pack_above == 0 {
            assert!(most_packed > 10, "{most_packed} packed at most");
        } else {
            assert_eq!(most_packed, 0);
        }
        table.finish(&mut done);
        done.iter().map(|c| format!("{c:?}")).collect()
    }

    /// Packed or not, every connection comes out the same, in the same
    /// order: SYNs retried (past `PACK_MOST`), answered late, refused,
    /// reset, evicted by `max_connections`, given up by the attempt timeout,
    /// and still open at the end.
    #[test]
    fn packed_attempts_come_out_as_connections() {
        let segments = random_attempts();
        for limits in [
            Limits::default(),
            Limits {
                max_connections: 40,
                ..Limits::default()
            },
            Limits {
                attempt_timeout_ns: Some(50_000_000),
                ..Limits::default()
            },
        ] {
            let plain = handed_over(&segments, limits, usize::MAX);
            let packed = handed_over(&segments, limits, 0);
            assert!(plain.len() > 300, "{} connections", plain.len());
            assert_eq!(plain.len(), packed.len());
            for (a, b) in plain.iter().zip(&packed) {
                assert_eq!(a, b);
            }
        }
    }

    /// Fed in batches of any size (shorter than the lookahead, longer,
    /// one), mixed with single pushes, a table hands over the same
    /// connections in the same order as fed one segment at a time: the
    /// lookahead over a batch is only a prefetch.
    #[test]
    fn batches_are_fed_as_single_segments() {
        let segments = random_attempts();
        let limits = Limits {
            max_connections: 40,
            attempt_timeout_ns: Some(50_000_000),
            ..Limits::default()
        };
        let one_by_one = handed_over(&segments, limits, usize::MAX);
        for sizes in [[1, 3, 8, 9], [4096, 1, 2, 3], [17, 5, 64, 100]] {
            let mut table = ConnTable::new(1, Some(None), limits);
            let mut done: Vec<Connection> = Vec::new();
            let mut rest = &segments[..];
            for &size in sizes.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (now, later) = rest.split_at(size.min(rest.len()));
                let batch: Vec<Keyed> = now.iter().map(|(s, a)| Keyed::new(*s, *a)).collect();
                table.push_batch(&batch, &mut done);
                // One segment alone between two batches.
                if let Some(((seg, at), after)) = later.split_first() {
                    table.push(*seg, *at, &mut done);
                    rest = after;
                } else {
                    rest = later;
                }
            }
            table.finish(&mut done);
            let batched: Vec<String> = done.iter().map(|c| format!("{c:?}")).collect();
            assert_eq!(batched.len(), one_by_one.len(), "batches of {sizes:?}");
            for (a, b) in one_by_one.iter().zip(&batched) {
                assert_eq!(a, b, "batches of {sizes:?}");
            }
        }
    }

    /// SYNs retried, answered late, refused, reset and closed on 300 ports.
    fn random_attempts() -> Vec<(Segment, At)> {
        let mut segments = Vec::new();
        let mut rng = 7u64;
        let mut next = |n: u64| {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (rng >> 33) % n
        };
        let mut ms = 0;
        for _ in 0..6_000 {
            ms += next(3);
            let port = 1024 + next(300) as u16;
            let isn = 1000 * u32::from(port);
            let seg = match next(10) {
                0..=4 => seg(port, true, TcpFlags::SYN, isn + next(2) as u32, 0),
                5 => seg(port, false, TcpFlags::SYN | TcpFlags::ACK, 77, isn + 1),
                6 => seg(port, true, TcpFlags::ACK, isn + 1, 78),
                7 => seg(port, false, TcpFlags::RST | TcpFlags::ACK, 0, isn + 1),
                8 => seg(port, true, TcpFlags::RST, isn + 1, 0),
                _ => seg(port, true, TcpFlags::FIN | TcpFlags::ACK, isn + 1, 78),
            };
            segments.push((seg, at(ms)));
        }
        segments
    }

    /// An ICMP error quoting segment `seq` of the client on `port`.
    fn icmp_about(port: u16, seq: u32) -> IcmpError {
        let m = [3u8, 13, 0, 0, 0, 0, 0, 0];
        let mut quote = Vec::new();
        etherparse::PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 63)
            .tcp(port, 80, seq, 1000)
            .syn()
            .write(&mut quote, &[])
            .unwrap();
        let msg = [&m[..], &quote[..28]].concat();
        let router = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 254));
        crate::decode::icmp::parse(&msg, false, router, router).unwrap()
    }

    /// An error about an attempt kept packed reaches it too.
    #[test]
    fn icmp_errors_reach_packed_attempts() {
        let mut table = ConnTable::new(1, None, Limits::default());
        table.pack_above = 0;
        let mut done: Vec<Connection> = Vec::new();
        for port in 5000..5000 + QUEUE as u16 + 2 {
            table.push(seg(port, true, TcpFlags::SYN, 77, 0), at(0), &mut done);
        }
        table.drain(&mut done);
        assert!(table.packed.iter().flatten().count() > QUEUE);
        assert!(table.icmp(&icmp_about(5000, 77), at(1), &mut done));
        table.finish(&mut done);
        let c = done.iter().find(|c| c.client.port == 5000).unwrap();
        assert!(c.syn_rejected_by_icmp());
        assert_eq!(c.icmp_errors()[0].quoted_frame, Some(1));
    }

    /// Errors reach the connection of the quoted ends, name the quoted
    /// segment's frame, and a flood of them keeps a few.
    #[test]
    fn icmp_errors_find_their_connection_and_stay_bounded() {
        assert!(std::mem::size_of::<crate::connection::IcmpSeen>() <= 160);
        let mut table = ConnTable::new(1, None, Limits::default());
        let mut done: Vec<Connection> = Vec::new();
        table.push(seg(5000, true, TcpFlags::SYN, 77, 0), at(0), &mut done);
        // Many other segments since: the SYN is still found (its ISN).
        for port in 6000..6000 + 2 * Recent::LEN as u16 {
            table.push(seg(port, true, TcpFlags::SYN, 1, 0), at(1), &mut done);
        }
        for i in 0..100 {
            assert!(table.icmp(&icmp_about(5000, 77), at(2 + i), &mut done));
        }
        // A segment just sent is found in the ring.
        table.push(seg(6000, true, TcpFlags::SYN, 1, 0), at(300), &mut done);
        assert!(table.icmp(&icmp_about(6000, 1), at(301), &mut done));
        // No connection on port 4999.
        assert!(!table.icmp(&icmp_about(4999, 77), at(302), &mut done));
        table.finish(&mut done);
        let c = done.iter().find(|c| c.client.port == 5000).unwrap();
        let all = c.icmp.as_deref().unwrap();
        assert_eq!((all.kept.len(), all.total()), (IcmpErrors::MAX, 100));
        assert!(all.kept.iter().all(|i| i.quoted_frame == Some(1)));
        assert!(c.syn_rejected_by_icmp());
        let c = done.iter().find(|c| c.client.port == 6000).unwrap();
        let frames: Vec<_> = c.icmp_errors().iter().map(|i| i.quoted_frame).collect();
        assert_eq!(frames, [Some(301)]);
    }

    /// Unanswered SYNs, one a millisecond: each is given up 5 s (the attempt
    /// timeout) after it was sent, so about 5,000 are tracked at a time.
    #[test]
    fn unanswered_attempts_are_given_up() {
        let mut table = ConnTable::new(1, None, Limits::default());
        let mut done: Vec<Connection> = Vec::new();
        for i in 0..20_000u32 {
            let port = 1024 + (i % 60_000) as u16;
            table.push(
                seg(port, true, TcpFlags::SYN, i, 0),
                at(u64::from(i)),
                &mut done,
            );
        }
        assert!(
            table.open_connections() <= 5_100,
            "{}",
            table.open_connections()
        );
        assert!(done.len() >= 14_900, "{}", done.len());
        assert!(done.iter().all(|c| c.ended_by == EndedBy::IdleTimeout));
    }
}
