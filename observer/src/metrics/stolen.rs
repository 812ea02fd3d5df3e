//! Who stole my CPU (ADR 0095): each victim's run-queue waits by the culprit
//! cgroup that ran on that CPU meanwhile, cut to the top-k culprits per
//! victim (the rest in culprit `_other_`), plus what the cuts folded.

use std::fmt;

use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::registry::Unit;

use super::encode::{add, family, Counter, Gauge, Series};
use crate::host::Hierarchy;
use crate::labels::Labels;
use crate::state::State;
use crate::stolen::top_k;

/// Culprit label values that are not another workload: the victim's own
/// tasks, culprits beyond the top-k, time no remembered run slice covers.
pub const SELF: &str = "_self_";
pub const OTHER: &str = "_other_";
pub const UNKNOWN: &str = "_unknown_";

/// Workload labels renamed for one side of the pair (`victim_pod`, `culprit_cgroup`…).
fn side(l: &Labels, victim: bool) -> Labels {
    l.iter()
        .map(|(k, v)| {
            let k: &'static str = match (victim, *k) {
                (true, "namespace") => "victim_namespace",
                (true, "pod") => "victim_pod",
                (true, "container") => "victim_container",
                (true, _) => "victim_cgroup",
                (false, "namespace") => "culprit_namespace",
                (false, "pod") => "culprit_pod",
                (false, "container") => "culprit_container",
                (false, _) => "culprit_cgroup",
            };
            (k, v.clone())
        })
        .collect()
}

/// Victim and culprit labels of one series (`node` comes from the scrape
/// config, as for every other family).
fn pair(victim: &Labels, culprit: Labels) -> Labels {
    let mut l = victim.clone();
    l.extend(culprit);
    l
}

pub(super) fn encode(s: &State, enc: &mut DescriptorEncoder) -> fmt::Result {
    let Some(r) = &s.probes.runqlat else {
        return Ok(());
    };
    if !r.attribution {
        return Ok(());
    }
    let k = s.settings.stolen.max_culprits;
    let (mut stolen, mut cut, mut folded) = (Series::new(), Series::new(), Series::new());
    for (id, h) in r.read() {
        let Some(w) = s.workload(Hierarchy::Cpu, id) else {
            continue;
        };
        let victim = side(&s.labels(&w), true);
        let c = top_k(&h.stolen, k);
        for (cid, ns) in &c.top {
            // A culprit already removed from cgroupfs: its time stays, as _other_.
            let culprit = match s.workload(Hierarchy::Cpu, *cid) {
                Some(cw) => side(&s.labels(&cw), false),
                None => vec![("culprit_cgroup", OTHER.to_string())],
            };
            add(&mut stolen, pair(&victim, culprit), *ns as f64 / 1e9);
        }
        for (name, ns) in [
            (SELF, c.self_ns),
            (OTHER, c.other_ns),
            (UNKNOWN, c.unknown_ns),
        ] {
            let l = pair(&victim, vec![("culprit_cgroup", name.to_string())]);
            add(&mut stolen, l, ns as f64 / 1e9);
        }
        add(&mut cut, victim.clone(), h.stolen.cut as f64);
        add(&mut folded, victim, c.folded as f64);
    }
    family(
        enc,
        Counter,
        "kernel_gossip_runqueue_stolen",
        "Run-queue delay of the victim cgroup's tasks, split by the culprit cgroup that ran on that CPU meanwhile (culprit_cgroup _self_: the victim's own tasks; _other_: culprits beyond the top-k; _unknown_: not covered by a remembered run slice).",
        Some(&Unit::Seconds),
        &stolen,
    )?;
    family(
        enc,
        Counter,
        "kernel_gossip_runqueue_culprits_cut",
        "Culprit slots the kernel's per-CPU top-k table evicted or refused (their time is in culprit _other_).",
        None,
        &cut,
    )?;
    family(
        enc,
        Gauge,
        "kernel_gossip_runqueue_culprits_folded",
        "Culprits of the victim beyond --max-culprits at this scrape, folded into culprit _other_.",
        None,
        &folded,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sides_prefix_every_workload_label() {
        let pod: Labels = vec![
            ("namespace", "ns".into()),
            ("pod", "p".into()),
            ("container", "c".into()),
        ];
        let v = side(&pod, true);
        assert_eq!(
            v.iter().map(|x| x.0).collect::<Vec<_>>(),
            ["victim_namespace", "victim_pod", "victim_container"]
        );
        let c = side(&vec![("cgroup", "/x".into())], false);
        assert_eq!(c, vec![("culprit_cgroup", "/x".to_string())]);
        let l = pair(&v, c);
        assert_eq!(l.len(), 4);
        assert_eq!(l[3], ("culprit_cgroup", "/x".to_string()));
    }
}
