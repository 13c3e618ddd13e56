//! Which connections a run shows: `--conn ID[,ID…]`.

/// The connections shown, by id over all captures.
pub(super) struct Select {
    /// Sorted, without repeats; empty: every connection.
    ids: Vec<u64>,
}

impl Select {
    pub fn new(ids: &[u64]) -> Select {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        Select { ids }
    }

    /// Whether connection `id` (over all captures) is shown.
    pub fn id(&self, id: u64) -> bool {
        self.ids.is_empty() || self.ids.binary_search(&id).is_ok()
    }

    /// Whether the captures may be analyzed side by side, each with ids
    /// from 1 (shifted when merged): only when no id is asked for.
    pub fn allows_side_by_side(&self) -> bool {
        self.ids.is_empty()
    }

    /// The first id asked for that is not among `connections` (ids 1 to
    /// `connections`).
    pub fn missing(&self, connections: u64) -> Option<u64> {
        self.ids
            .iter()
            .copied()
            .find(|&id| id == 0 || id > connections)
    }
}
