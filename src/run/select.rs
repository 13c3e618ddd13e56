//! Which connections a run shows: `--conn ID[,ID…]` and `--filter EXPR`.

use crate::filter::Filter;
use crate::report::ConnectionReport;
use crate::shard::Shard;

/// The connections shown, by id over all captures, and the filter on their
/// verdicts.
pub(super) struct Select<'a> {
    /// Sorted, without repeats; empty: every connection.
    ids: Vec<u64>,
    /// A filter that tests verdicts: every report is judged by it.
    verdicts: Option<&'a Filter>,
}

impl<'a> Select<'a> {
    pub fn new(ids: &[u64], filter: Option<&'a Filter>) -> Select<'a> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        Select {
            ids,
            verdicts: filter.filter(|f| f.has_verdicts()),
        }
    }

    /// Whether connection `id` (over all captures) is shown.
    pub fn id(&self, id: u64) -> bool {
        self.ids.is_empty() || self.ids.binary_search(&id).is_ok()
    }

    /// Whether every report must be built, to be judged by the filter.
    pub fn judges(&self) -> bool {
        self.verdicts.is_some()
    }

    /// Whether a finished connection counts (matches the filter).
    pub fn matches(&self, c: &ConnectionReport) -> bool {
        self.verdicts.is_none_or(|f| f.matches(c))
    }

    /// Whether the captures may be analyzed side by side, each with ids
    /// from 1 (shifted when merged): only when no id is asked for.
    pub fn allows_side_by_side(&self) -> bool {
        self.ids.is_empty()
    }

    /// The first id asked for that is not among `connections` (ids 1 to
    /// `connections`; those of the first `connections` of a shard).
    pub fn missing(&self, connections: u64, shard: Shard) -> Option<u64> {
        self.ids
            .iter()
            .copied()
            .find(|&id| !shard.has_id(id, connections))
    }
}
