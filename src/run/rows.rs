//! The connection reports an output keeps of one capture.

use crate::report::ConnectionReport;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// All the reports, or (for the table) only the `limit` with the smallest
/// ids, so that memory stays bounded whatever the number of connections.
pub(super) struct Rows {
    limit: usize,
    heap: BinaryHeap<ById>,
}

/// A report ordered by connection id.
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

impl Rows {
    /// `limit` 0 keeps every report.
    pub fn new(limit: usize) -> Rows {
        Rows {
            limit,
            heap: BinaryHeap::new(),
        }
    }

    /// Whether a report with this id would be kept (so is worth building).
    pub fn would_keep(&self, id: u64) -> bool {
        self.limit == 0
            || self.heap.len() < self.limit
            || self.heap.peek().is_some_and(|top| id < top.0.id)
    }

    pub fn keep(&mut self, c: ConnectionReport) {
        self.heap.push(ById(c));
        if self.limit > 0 && self.heap.len() > self.limit {
            self.heap.pop();
        }
    }

    /// The reports kept, by id.
    pub fn into_sorted(self) -> Vec<ConnectionReport> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|r| r.0)
            .collect()
    }
}
