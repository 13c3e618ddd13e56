//! What the HTML report keeps while the captures are read, in bounded
//! memory whatever their size: every connection's table row, as the bytes
//! of its `<tr>` ([`html::row_record`]), in a spool per capture and then
//! put in the table's order in an external sort ([`Sorted`]: in memory up
//! to a bound, then runs in a temporary file), one for the connections with
//! findings and one for those without; and the full reports (with their
//! packets) of only the first `--html-details` of each, by id, in a bounded
//! heap. Whichever way the table's order (findings first, then by id)
//! falls, the connections shown in detail are among those kept. Once both
//! heaps are full, a connection that begins later (a greater id) can never
//! be kept: the connection table stops keeping packets for those
//! ([`HtmlKept::packets_until`]). The document is assembled at the end
//! ([`html::render`]).

use super::sorted::Sorted;
use super::spool::Spool;
use crate::render::html::{self, TableRows, Widths};
use crate::report::ConnectionReport;
use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::io::{self, Read, Write};
use std::sync::atomic::{self, AtomicU64};
use std::sync::Arc;

/// What the HTML report keeps of one capture.
pub(super) struct HtmlKept {
    /// The rows of the connections with findings (0) and without (1), in
    /// the order they finish.
    rows: [Spool; 2],
    /// The full reports of the first `details` with findings and without.
    full: [First; 2],
    /// The greatest id a connection may have when it begins to be kept
    /// with its packets.
    packets_until: Arc<AtomicU64>,
    /// The widest cells of the rows.
    widths: Widths,
    /// The largest id.
    last: u64,
}

impl HtmlKept {
    /// `index`: the capture's position among the inputs; its connections'
    /// ids start at `first_id`.
    pub fn new(details: usize, index: usize, first_id: u64) -> HtmlKept {
        // The spools' temporary files are told apart by their tag.
        let tag = index.saturating_mul(2);
        HtmlKept {
            rows: [Spool::new(tag), Spool::new(tag.saturating_add(1))],
            full: [First::new(details), First::new(details)],
            packets_until: Arc::new(AtomicU64::new(if details == 0 {
                0
            } else {
                first_id.saturating_add(packets_at_first(details)) - 1
            })),
            widths: Widths::default(),
            last: 0,
        }
    }

    /// Keeps the row of `c`, and `c` itself if it may be shown in detail.
    pub fn keep(&mut self, c: ConnectionReport) -> io::Result<()> {
        let record = html::row_record(&c, &mut self.widths);
        self.last = self.last.max(c.id);
        let group = usize::from(c.findings.is_empty());
        self.rows[group].push(c.id, 0, record.as_bytes())?;
        self.full[group].keep(c);
        // Both full: no later connection can be kept.
        if let [Some(a), Some(b)] = self.full.each_ref().map(First::bound) {
            self.packets_until
                .fetch_min(a.max(b), atomic::Ordering::Relaxed);
        }
        Ok(())
    }

    /// The bound on the ids of the connections whose packets are kept
    /// ([`crate::pipeline::Options::packets_until`]).
    pub fn packets_until(&self) -> Arc<AtomicU64> {
        self.packets_until.clone()
    }

    /// The rows, and the full reports kept, by id.
    pub fn into_parts(self) -> (CaptureRows, Vec<ConnectionReport>) {
        let [with, without] = self.full;
        let mut full: Vec<ConnectionReport> = with.heap.into_iter().map(|c| c.0).collect();
        full.extend(without.heap.into_iter().map(|c| c.0));
        full.sort_by_key(|c| c.id);
        let rows = CaptureRows {
            spools: self.rows,
            widths: self.widths,
            last: self.last,
        };
        (rows, full)
    }
}

/// The connections of a capture that are kept with their packets until
/// both heaps are full, at the most: the first this many. A big capture
/// has thousands open at once, each with its packets; these are enough
/// for the details as long as one connection in 16 has a finding (else
/// a connection shown in detail may have begun later, and its detail says
/// that its packets were not kept).
fn packets_at_first(details: usize) -> u64 {
    (details as u64).saturating_mul(16).max(1024)
}

/// The `limit` reports with the smallest ids.
struct First {
    limit: usize,
    heap: BinaryHeap<ById>,
}

struct ById(ConnectionReport);

impl PartialEq for ById {
    fn eq(&self, other: &ById) -> bool {
        self.0.id == other.0.id
    }
}
impl Eq for ById {}
impl PartialOrd for ById {
    fn partial_cmp(&self, other: &ById) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ById {
    fn cmp(&self, other: &ById) -> Ordering {
        self.0.id.cmp(&other.0.id)
    }
}

impl First {
    fn new(limit: usize) -> First {
        First {
            limit,
            heap: BinaryHeap::new(),
        }
    }

    fn keep(&mut self, c: ConnectionReport) {
        if self.limit == 0 {
            return;
        }
        if self.heap.len() < self.limit {
            self.heap.push(ById(c));
        } else if self.heap.peek().is_some_and(|top| c.id < top.0.id) {
            self.heap.pop();
            self.heap.push(ById(c));
        }
    }

    /// Once full, the greatest id kept: a report with a greater one would
    /// not be kept.
    fn bound(&self) -> Option<u64> {
        if self.heap.len() < self.limit {
            return None;
        }
        Some(self.heap.peek().map_or(0, |top| top.0.id))
    }
}

/// The table's rows of one capture.
pub(super) struct CaptureRows {
    spools: [Spool; 2],
    widths: Widths,
    last: u64,
}

/// The table's rows of every capture merged so far, their ids shifted to
/// the run's; in the table's order when written.
pub(super) struct HtmlTable {
    sorted: [Sorted; 2],
    widths: Widths,
}

impl HtmlTable {
    pub fn new() -> HtmlTable {
        HtmlTable {
            sorted: [Sorted::new(), Sorted::new()],
            widths: Widths::default(),
        }
    }

    /// Adds one capture's rows, their ids shifted by `offset`.
    pub fn add(&mut self, rows: CaptureRows, offset: u64) -> io::Result<()> {
        let mut widths = rows.widths;
        widths.0[0] = rows.last.saturating_add(offset).to_string().len();
        self.widths.merge(&widths);
        for (spool, sorted) in rows.spools.into_iter().zip(&mut self.sorted) {
            let mut bytes = Vec::new();
            spool.each(|reader, id, slot, len| {
                bytes.clear();
                reader.take(len).read_to_end(&mut bytes)?;
                if bytes.len() as u64 != len {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                let slot = usize::try_from(slot).unwrap_or(usize::MAX);
                sorted.push(id.saturating_add(offset), slot, &bytes)
            })?;
        }
        Ok(())
    }
}

/// Keeps of `connections` (full reports of the captures merged so far, by
/// id) only those that may be shown in detail: the first `details` with
/// findings and the first `details` without.
pub(super) fn keep_details(connections: &mut Vec<ConnectionReport>, details: usize) {
    let (mut with, mut without) = (0, 0);
    connections.retain(|c| {
        let n = if c.findings.is_empty() {
            &mut without
        } else {
            &mut with
        };
        *n += 1;
        *n <= details
    });
}

impl TableRows for HtmlTable {
    fn count(&self) -> u64 {
        self.sorted.iter().map(Sorted::len).sum()
    }

    fn widths(&self) -> Widths {
        self.widths
    }

    fn each_after(
        &mut self,
        skip: u64,
        line: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        // The records come out of the sort as bytes written; each is
        // gathered whole, then handed on (but the first `skip`: those rows
        // were drawn from the full reports).
        let record = RefCell::new(Vec::new());
        let mut seen = 0u64;
        let mut hand_on = |seen: u64| -> io::Result<()> {
            let mut r = record.borrow_mut();
            if seen > skip {
                line(&r)?;
            }
            r.clear();
            Ok(())
        };
        for sorted in std::mem::replace(&mut self.sorted, [Sorted::new(), Sorted::new()]) {
            let mut gather = Gather { record: &record };
            sorted.write_to(&mut gather, html::put_row_id, |_, _| {
                if seen > 0 {
                    hand_on(seen)?;
                }
                seen += 1;
                Ok(())
            })?;
        }
        if seen > 0 {
            hand_on(seen)?;
        }
        Ok(())
    }
}

/// Gathers what is written into one record.
struct Gather<'a> {
    record: &'a RefCell<Vec<u8>>,
}

impl Write for Gather<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.record.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
