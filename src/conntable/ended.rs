//! The relative-number bases of connections handed over, by 4-tuple, so
//! that a later segment of the same 4-tuple that opens a new connection
//! without a SYN (more than [`super::LINGER_NS`] after a close, after the
//! idle timeout or an eviction) is numbered on from the old bases, as
//! tshark does: to tshark it is the same stream (it starts a new stream
//! only on a SYN). Its sequence analysis goes on from the old one's too
//! (the next sequence number, the last ACK and window of each direction,
//! the window scales), so that a keep-alive or an ACK of data the old
//! connection saw is flagged as tshark flags it. Fixed size: a
//! direct-mapped table of [`SLOTS`] entries, the last connection handed
//! over per entry, allocated on the first hand-over.

use super::FlowKey;
use crate::connection::{Addr, Connection};
use crate::seq::SeqNum;
use crate::state::Side;
use crate::wireshark::SeqAnalysis;

/// Entries of the table (a power of two).
const SLOTS: usize = 1024;

#[derive(Clone)]
struct Ended {
    key: FlowKey,
    client: Addr,
    base: [Option<SeqNum>; 2],
    analysis: SeqAnalysis,
}

#[derive(Default)]
pub(super) struct EndedBases {
    table: Vec<Option<Ended>>,
}

impl EndedBases {
    /// Remembers the bases of `conn`, handed over with `key`.
    pub(super) fn note(&mut self, hash: u64, key: FlowKey, conn: &Connection) {
        if conn.base == [None, None] {
            return;
        }
        if self.table.is_empty() {
            self.table = vec![None; SLOTS];
        }
        self.table[hash as usize & (SLOTS - 1)] = Some(Ended {
            key,
            client: conn.client,
            base: conn.base,
            analysis: {
                let mut analysis = conn.analysis.clone();
                analysis.carry_window_shifts([
                    conn.tracker.window_shift(Side::Client),
                    conn.tracker.window_shift(Side::Server),
                ]);
                analysis
            },
        });
    }

    /// Gives `conn`, just opened with `key` by a segment without SYN, the
    /// bases and sequence analysis of the last connection of `key` handed
    /// over, if remembered.
    pub(super) fn inherit(&self, hash: u64, key: &FlowKey, conn: &mut Connection) {
        let Some(Some(e)) = self.table.get(hash as usize & (SLOTS - 1)) else {
            return;
        };
        if e.key != *key {
            return;
        }
        if e.client == conn.client {
            conn.base = e.base;
            conn.analysis = e.analysis.clone();
        } else {
            conn.base = [e.base[1], e.base[0]];
            conn.analysis = e.analysis.swapped();
        }
    }
}
