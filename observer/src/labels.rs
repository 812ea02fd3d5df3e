//! Bounded label cardinality. Each distinct workload label set becomes a
//! set of time series; past the cap, new workloads are folded into one
//! overflow series and counted, so a cgroup explosion cannot blow up the
//! observer or the Prometheus server.

use std::collections::HashSet;

use crate::workload::Workload;

pub type Labels = Vec<(&'static str, String)>;

/// Label value that folded workloads share.
pub const OVERFLOW: &str = "_overflow_";
/// Distinct folded workloads remembered (for counting each once).
const MAX_FOLDED_TRACKED: usize = 100_000;

pub struct Labeler {
    cap: usize,
    admitted: HashSet<Labels>,
    folded: HashSet<Labels>,
    /// Distinct workloads ever folded into the overflow series.
    pub folded_total: u64,
}

impl Labeler {
    pub fn new(cap: usize) -> Self {
        Labeler {
            cap,
            admitted: HashSet::new(),
            folded: HashSet::new(),
            folded_total: 0,
        }
    }

    pub fn overflow() -> Labels {
        vec![("cgroup", OVERFLOW.to_string())]
    }

    pub fn labels(&mut self, w: &Workload) -> Labels {
        let l = w.labels();
        if self.admitted.contains(&l) {
            return l;
        }
        if self.admitted.len() < self.cap {
            self.admitted.insert(l.clone());
            return l;
        }
        if self.folded.len() < MAX_FOLDED_TRACKED && self.folded.insert(l) {
            self.folded_total += 1;
        }
        Self::overflow()
    }

    /// The workload is gone (cgroup removed): free its slot.
    pub fn forget(&mut self, w: &Workload) {
        let l = w.labels();
        self.admitted.remove(&l);
        self.folded.remove(&l);
    }

    pub fn admitted(&self) -> usize {
        self.admitted.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::parse;

    #[test]
    fn folds_beyond_cap_and_counts_each_once() {
        let mut l = Labeler::new(2);
        assert_eq!(l.labels(&parse("/a")), vec![("cgroup", "/a".to_string())]);
        assert_eq!(l.labels(&parse("/b")), vec![("cgroup", "/b".to_string())]);
        assert_eq!(l.labels(&parse("/c")), Labeler::overflow());
        assert_eq!(l.labels(&parse("/c")), Labeler::overflow());
        assert_eq!(l.folded_total, 1);
        // Already admitted workloads keep their labels.
        assert_eq!(l.labels(&parse("/a")), vec![("cgroup", "/a".to_string())]);
        l.forget(&parse("/a"));
        assert_eq!(l.labels(&parse("/d")), vec![("cgroup", "/d".to_string())]);
        assert_eq!(l.admitted(), 2);
    }
}
