//! Memory families: memcg direct reclaim time and runs per memory cgroup
//! (memreclaim probe), and PSI memory stall time per cgroup2 cgroup, read
//! from `memory.pressure` at scrape time.

use std::fmt;
use std::fs;
use std::path::Path;

use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::registry::Unit;

use super::encode::{add, family, with, Counter, Series};
use crate::cpustat;
use crate::host::Hierarchy;
use crate::state::State;
use crate::workload;

/// Bound on the unified-hierarchy walk for PSI files.
const MAX_PSI_CGROUPS: usize = 20_000;

pub(super) fn encode(s: &State, enc: &mut DescriptorEncoder) -> fmt::Result {
    if let Some(m) = &s.probes.memreclaim {
        let (mut secs, mut count) = (Series::new(), Series::new());
        for (id, st) in m.read() {
            let Some(w) = s.workload(Hierarchy::Memory, id) else {
                continue;
            };
            let l = s.labels(&w);
            add(&mut secs, l.clone(), st.total_ns as f64 / 1e9);
            add(&mut count, l, st.count as f64);
        }
        family(enc,Counter, "kernel_gossip_memcg_reclaim", "Time tasks spent in memcg direct reclaim (cgroup at its memory limit), by memory cgroup.", Some(&Unit::Seconds), &secs)?;
        family(
            enc,
            Counter,
            "kernel_gossip_memcg_reclaims",
            "memcg direct reclaim runs, by memory cgroup.",
            None,
            &count,
        )?;
    }
    if let Some(root) = s.layout.unified_root.clone() {
        let mut stall = Series::new();
        let mut budget = MAX_PSI_CGROUPS;
        psi_walk(&root, &root, &mut budget, &mut |rel, text| {
            let l = s.labels(&s.enrich(workload::parse(rel)));
            for (kind, secs) in cpustat::parse_psi_totals(text) {
                add(&mut stall, with(l.clone(), "kind", kind), secs);
            }
        });
        family(enc,Counter, "kernel_gossip_memory_pressure_stall", "PSI memory stall time (some = at least one task stalled, full = all non-idle tasks stalled), per cgroup2 cgroup.", Some(&Unit::Seconds), &stall)?;
    }
    Ok(())
}

/// Depth-first walk of the cgroup2 tree calling `f(relative_path, memory.pressure)`.
fn psi_walk(root: &Path, dir: &Path, budget: &mut usize, f: &mut dyn FnMut(&str, &str)) {
    if *budget == 0 {
        return;
    }
    *budget -= 1;
    if let Ok(text) = fs::read_to_string(dir.join("memory.pressure")) {
        let rel = dir
            .strip_prefix(root)
            .map(|p| format!("/{}", p.to_string_lossy()))
            .unwrap_or_else(|_| "/".into());
        f(&rel, &text);
    }
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            psi_walk(root, &e.path(), budget, f);
        }
    }
}
