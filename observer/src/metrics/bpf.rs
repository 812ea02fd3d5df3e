//! The BPF side's own health: ring-buffer records lost, and per-program run
//! count, run time (only with --bpf-stats, ADR 0056) and recursion misses.

use std::fmt;

use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::registry::Unit;

use super::encode::{family, Counter, Series};
use crate::probes::stats;
use crate::state::State;

pub(super) fn encode(s: &State, enc: &mut DescriptorEncoder) -> fmt::Result {
    let p = &s.probes;
    let mut lost = Series::new();
    if let Some(c) = &p.cgroup_events {
        lost.insert(
            vec![("source", "cgroup_events".to_string())],
            c.lost() as f64,
        );
    }
    if let Some(o) = &p.oom {
        lost.insert(vec![("source", "oom".to_string())], o.lost() as f64);
    }
    if let Some(b) = &p.birth {
        lost.insert(vec![("source", "birth".to_string())], b.lost() as f64);
    }
    family(
        enc,
        Counter,
        "kernel_gossip_events_lost",
        "Kernel events dropped because the ring buffer was full.",
        None,
        &lost,
    )?;

    let (mut runs, mut run_secs, mut misses) = (Series::new(), Series::new(), Series::new());
    for (probe, att) in p.attached() {
        for (name, h) in &att.progs {
            let Some(st) = stats::prog_stats(h) else {
                continue;
            };
            let l = vec![
                ("probe", probe.to_string()),
                ("program", name.clone()),
                ("type", att.mode.to_string()),
            ];
            misses.insert(l.clone(), st.recursion_misses as f64);
            // Run count and time only move while BPF_ENABLE_STATS is on
            // (--bpf-stats): without it they would read as a false zero.
            if p.stats.is_some() {
                runs.insert(l.clone(), st.run_cnt as f64);
                run_secs.insert(l, st.run_time_ns as f64 / 1e9);
            }
        }
    }
    family(
        enc,
        Counter,
        "kernel_gossip_bpf_program_runs",
        "BPF program invocations (BPF_ENABLE_STATS run_cnt).",
        None,
        &runs,
    )?;
    family(
        enc,
        Counter,
        "kernel_gossip_bpf_program_run",
        "Time spent in BPF programs (BPF_ENABLE_STATS run_time_ns).",
        Some(&Unit::Seconds),
        &run_secs,
    )?;
    family(
        enc,
        Counter,
        "kernel_gossip_bpf_program_recursion_misses",
        "Events a BPF program missed because it was already running on that CPU (interrupted by a softirq hitting the same tracepoint).",
        None,
        &misses,
    )
}
