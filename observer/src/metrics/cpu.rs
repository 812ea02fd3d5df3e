//! CPU families: CFS bandwidth periods, throttling, usage and limit per
//! workload, read from each cpu cgroup's files at scrape time (cpustat.rs).

use std::fmt;

use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::registry::Unit;

use super::encode::{add, family, Counter, Gauge, Series};
use crate::cpustat;
use crate::host::Hierarchy;
use crate::state::State;
use crate::workload;

pub(super) fn encode(s: &State, enc: &mut DescriptorEncoder) -> fmt::Result {
    let entries = s
        .cgroups
        .read()
        .map(|i| i.entries(Hierarchy::Cpu))
        .unwrap_or_default();
    let (mut periods, mut throttled, mut throttled_s, mut usage, mut limit) = (
        Series::new(),
        Series::new(),
        Series::new(),
        Series::new(),
        Series::new(),
    );
    for (_, path) in entries {
        // None: the cgroup vanished since the index saw it. Normal.
        let Some(st) = cpustat::read_cpu(&s.layout, &path) else {
            continue;
        };
        let l = s.labels(&s.enrich(workload::parse(&path)));
        if let Some(u) = st.usage_seconds {
            add(&mut usage, l.clone(), u);
        }
        if st.limit_cores.is_some() || st.nr_periods > 0 {
            add(&mut periods, l.clone(), st.nr_periods as f64);
            add(&mut throttled, l.clone(), st.nr_throttled as f64);
            add(&mut throttled_s, l.clone(), st.throttled_seconds);
        }
        if let Some(c) = st.limit_cores {
            add(&mut limit, l, c);
        }
    }
    family(
        enc,
        Counter,
        "kernel_gossip_cpu_cfs_periods",
        "CFS bandwidth periods elapsed (cpu.stat nr_periods).",
        None,
        &periods,
    )?;
    family(
        enc,
        Counter,
        "kernel_gossip_cpu_cfs_throttled_periods",
        "CFS periods in which the cgroup was throttled (cpu.stat nr_throttled).",
        None,
        &throttled,
    )?;
    family(
        enc,
        Counter,
        "kernel_gossip_cpu_cfs_throttled",
        "Time the cgroup's tasks were throttled (cpu.stat throttled_time/throttled_usec).",
        Some(&Unit::Seconds),
        &throttled_s,
    )?;
    family(
        enc,
        Counter,
        "kernel_gossip_cpu_usage",
        "CPU time consumed (cpuacct.usage or cpu.stat usage_usec).",
        Some(&Unit::Seconds),
        &usage,
    )?;
    family(
        enc,
        Gauge,
        "kernel_gossip_cpu_limit_cores",
        "CFS quota / period, in cores (absent when unlimited).",
        None,
        &limit,
    )
}
