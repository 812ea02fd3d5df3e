//! Run-queue delay: the runqlat probe's per-cgroup log2 histograms, summed
//! per workload, as one Prometheus histogram family.

use std::collections::BTreeMap;
use std::fmt;

use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;

use crate::host::Hierarchy;
use crate::labels::Labels;
use crate::probes::runqlat::Hist;
use crate::state::State;

pub(super) fn encode(s: &State, enc: &mut DescriptorEncoder) -> fmt::Result {
    let Some(r) = &s.probes.runqlat else {
        return Ok(());
    };
    let mut agg: BTreeMap<Labels, Hist> = BTreeMap::new();
    for (id, h) in r.read() {
        let Some(w) = s.workload(Hierarchy::Cpu, id) else {
            continue;
        };
        agg.entry(s.labels(&w)).or_default().add(&h);
    }
    if agg.is_empty() {
        return Ok(());
    }
    let mut m = enc.encode_descriptor(
        "kernel_gossip_runqueue_delay",
        "Time runnable tasks waited for a CPU (wakeup or preemption to running), by cpu cgroup.",
        Some(&Unit::Seconds),
        MetricType::Histogram,
    )?;
    for (l, h) in &agg {
        m.encode_family(l)?.encode_histogram::<NoLabelSet>(
            h.sum_ns as f64 / 1e9,
            h.count(),
            &h.buckets(),
            None,
        )?;
    }
    Ok(())
}
