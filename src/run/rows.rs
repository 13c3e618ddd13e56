//! The connection reports an output keeps of one capture.

use crate::report::ConnectionReport;
use crate::rules::Severity;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// All the reports, or (for the table) only `limit` of them, so that memory
/// stays bounded whatever the number of connections: those with the most
/// severe findings, and among them those with the smallest ids.
pub(super) struct Rows {
    limit: usize,
    heap: BinaryHeap<Ranked>,
}

/// A report ordered by its rank, then its id: the greatest is the first
/// left out.
struct Ranked {
    rank: u8,
    report: ConnectionReport,
}

/// 0 for an error, 1 a warning, 2 only info, 3 no finding.
pub(super) fn rank(worst: Option<Severity>) -> u8 {
    match worst {
        Some(Severity::Error) => 0,
        Some(Severity::Warning) => 1,
        Some(Severity::Info) => 2,
        None => 3,
    }
}

/// The rank of a built report.
pub(super) fn rank_of(c: &ConnectionReport) -> u8 {
    rank(c.findings.iter().map(|f| f.severity).max())
}

impl Ranked {
    fn key(&self) -> (u8, u64) {
        (self.rank, self.report.id)
    }
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Ranked) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Ranked) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Ranked) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl Rows {
    /// `limit` 0 keeps every report.
    pub fn new(limit: usize) -> Rows {
        Rows {
            limit,
            heap: BinaryHeap::new(),
        }
    }

    /// Whether some reports may be left out (so ranks matter).
    pub fn is_limited(&self) -> bool {
        self.limit > 0
    }

    /// Whether a report with this rank and id would be kept (so is worth
    /// building).
    pub fn would_keep(&self, rank: u8, id: u64) -> bool {
        self.limit == 0
            || self.heap.len() < self.limit
            || self.heap.peek().is_some_and(|top| (rank, id) < top.key())
    }

    pub fn keep(&mut self, rank: u8, c: ConnectionReport) {
        self.heap.push(Ranked { rank, report: c });
        if self.limit > 0 && self.heap.len() > self.limit {
            self.heap.pop();
        }
    }

    /// The reports kept, by id.
    pub fn into_sorted(self) -> Vec<ConnectionReport> {
        let mut rows: Vec<ConnectionReport> = self.heap.into_iter().map(|r| r.report).collect();
        rows.sort_by_key(|c| c.id);
        rows
    }
}
