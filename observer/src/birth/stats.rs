//! Counters and fixed-bucket histograms over closed births, for /metrics.

/// Upper bounds in seconds for kernel_gossip_birth_duration_seconds.
pub const DURATION_BOUNDS: &[f64] = &[
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];
/// Upper bounds for kernel_gossip_birth_syscalls.
pub const SYSCALL_BOUNDS: &[f64] = &[
    100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 25000.0, 50000.0, 100000.0,
];

#[derive(Clone, Debug)]
pub struct FixedHist {
    bounds: &'static [f64],
    /// Non-cumulative; one extra slot for +Inf.
    counts: Vec<u64>,
    pub sum: f64,
    pub count: u64,
}

impl FixedHist {
    pub fn new(bounds: &'static [f64]) -> Self {
        FixedHist {
            bounds,
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
            count: 0,
        }
    }

    pub fn observe(&mut self, v: f64) {
        let i = self
            .bounds
            .iter()
            .position(|&b| v <= b)
            .unwrap_or(self.bounds.len());
        self.counts[i] += 1;
        self.sum += v;
        self.count += 1;
    }

    /// (upper bound, non-cumulative count); the last bound is +Inf.
    pub fn buckets(&self) -> Vec<(f64, u64)> {
        self.bounds
            .iter()
            .copied()
            .chain(std::iter::once(f64::MAX))
            .zip(self.counts.iter().copied())
            .collect()
    }
}

#[derive(Clone, Debug)]
pub struct BirthStats {
    pub complete: u64,
    pub incomplete: u64,
    pub duration: FixedHist,
    pub syscalls: FixedHist,
}

impl Default for BirthStats {
    fn default() -> Self {
        BirthStats {
            complete: 0,
            incomplete: 0,
            duration: FixedHist::new(DURATION_BOUNDS),
            syscalls: FixedHist::new(SYSCALL_BOUNDS),
        }
    }
}

impl BirthStats {
    pub fn record(&mut self, e: &crate::events::BirthEvent) {
        if e.complete {
            self.complete += 1;
        } else {
            self.incomplete += 1;
        }
        self.duration.observe(e.duration_seconds);
        self.syscalls.observe(e.syscalls as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_non_cumulative_with_inf() {
        let mut h = FixedHist::new(&[1.0, 2.0]);
        h.observe(0.5);
        h.observe(1.5);
        h.observe(9.0);
        assert_eq!(h.buckets(), vec![(1.0, 1), (2.0, 1), (f64::MAX, 1)]);
        assert_eq!(h.count, 3);
        assert!((h.sum - 11.0).abs() < 1e-9);
    }
}
