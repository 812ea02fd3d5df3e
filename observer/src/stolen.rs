//! Who stole my CPU (ADR 0095): each cgroup's run-queue waits split by the
//! cgroups that ran on that CPU meanwhile. The kernel keeps a bounded top-k
//! per victim and CPU (runqlat.bpf.c); this module merges CPUs, cuts to the
//! configured top-k per victim (the rest folds into `other`, counted), and
//! once per sampling interval turns what others took into `cpu_stolen`
//! events for `/events`.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::events::Evidence;
use crate::host::Hierarchy;
use crate::probes::runqlat::{Hist, Stolen};
use crate::state::State;
use crate::workload::Workload;

pub struct StolenSettings {
    /// Split waits by culprit in the kernel at all (`--runqueue-attribution`).
    pub attribution: bool,
    /// Culprits kept per victim in metrics and events; the rest fold into
    /// `other` (`--max-culprits`).
    pub max_culprits: usize,
    /// Time other cgroups took from one victim within one sampling interval
    /// that makes a `cpu_stolen` event (`--stolen-event-ms`).
    pub event_threshold: Duration,
}

/// One victim's culprits after the top-k cut, in ns.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Culprits {
    /// Largest first, at most `max_culprits`.
    pub top: Vec<(u64, u64)>,
    pub self_ns: u64,
    /// Folded by the kernel's per-CPU top-k and by the cut here.
    pub other_ns: u64,
    pub unknown_ns: u64,
    /// Culprits folded here (this read) beyond the top-k.
    pub folded: usize,
}

/// The `k` culprits that took most; the rest fold into `other_ns`.
pub fn top_k(s: &Stolen, k: usize) -> Culprits {
    let mut all: Vec<(u64, u64)> = s.culprits.iter().map(|(id, ns)| (*id, *ns)).collect();
    // Largest first; ties by id so the cut is stable between reads.
    all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let rest = all.split_off(k.min(all.len()));
    Culprits {
        top: all,
        self_ns: s.self_ns,
        other_ns: s.other_ns + rest.iter().map(|c| c.1).sum::<u64>(),
        unknown_ns: s.unknown_ns,
        folded: rest.len(),
    }
}

/// One culprit in a `cpu_stolen` event (TS `StolenCulprit`).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StolenCulprit {
    pub workload: Workload,
    pub seconds: f64,
    /// Of the victim's attributed wait in the interval (0..1).
    pub share: f64,
}

/// Others took at least the threshold of a victim's CPU time within one
/// interval (TS `CpuStolenEvent`); `workload` of the event is the victim.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CpuStolen {
    pub interval_seconds: f64,
    /// Run-queue delay of the victim in the interval (histogram sum).
    pub delay_seconds: f64,
    /// Of it, while other cgroups ran (culprits + other).
    pub stolen_seconds: f64,
    /// While the victim's own tasks ran.
    pub self_seconds: f64,
    /// Folded culprits (beyond the top-k).
    pub other_seconds: f64,
    /// Not covered by a remembered run slice (or split off by a migration).
    pub unknown_seconds: f64,
    pub culprits: Vec<StolenCulprit>,
}

/// Previous read per victim cgroup id, to turn counters into intervals.
#[derive(Default)]
pub struct StolenSampler {
    prev: HashMap<u64, Hist>,
}

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// The interval's difference of two reads of one victim (culprits the
/// kernel evicted in between go negative and are dropped).
fn delta(now: &Hist, prev: Option<&Hist>) -> Hist {
    let Some(p) = prev else {
        return now.clone();
    };
    let mut d = Hist {
        sum_ns: now.sum_ns.saturating_sub(p.sum_ns),
        ..Default::default()
    };
    let (a, b) = (&now.stolen, &p.stolen);
    for (id, ns) in &a.culprits {
        let before = b.culprits.get(id).copied().unwrap_or(0);
        if *ns > before {
            d.stolen.culprits.insert(*id, ns - before);
        }
    }
    d.stolen.self_ns = a.self_ns.saturating_sub(b.self_ns);
    d.stolen.other_ns = a.other_ns.saturating_sub(b.other_ns);
    d.stolen.unknown_ns = a.unknown_ns.saturating_sub(b.unknown_ns);
    d
}

impl StolenSampler {
    pub fn tick(&mut self, s: &State, now: SystemTime, interval: f64) {
        let Some(r) = &s.probes.runqlat else {
            return;
        };
        let cfg = &s.settings.stolen;
        if !r.attribution {
            return;
        }
        let reads: HashMap<u64, Hist> = r.read().into_iter().collect();
        let first = self.prev.is_empty();
        for (victim, h) in &reads {
            let d = delta(h, self.prev.get(victim));
            // The first read after start covers an unknown span: no event.
            if first || interval <= 0.0 {
                continue;
            }
            let c = top_k(&d.stolen, cfg.max_culprits);
            let by_others = d.stolen.by_others_ns();
            if by_others < cfg.event_threshold.as_nanos() as u64 {
                continue;
            }
            let Some(w) = s.workload(Hierarchy::Cpu, *victim) else {
                continue;
            };
            // The root cgroup holds whatever is in no cgroup of its own (on v1
            // hosts, most of the machine): no workload to tell, metrics only.
            if w.cgroup == "/" {
                continue;
            }
            let attributed = by_others + c.self_ns + c.unknown_ns;
            let culprits = c
                .top
                .iter()
                .filter_map(|(id, ns)| {
                    Some(StolenCulprit {
                        workload: s.workload(Hierarchy::Cpu, *id)?,
                        seconds: secs(*ns),
                        share: *ns as f64 / attributed.max(1) as f64,
                    })
                })
                .collect();
            let ev = CpuStolen {
                interval_seconds: interval,
                delay_seconds: secs(d.sum_ns),
                stolen_seconds: secs(by_others),
                self_seconds: secs(c.self_ns),
                other_seconds: secs(c.other_ns),
                unknown_seconds: secs(c.unknown_ns),
                culprits,
            };
            s.hub.publish(now, &w, Evidence::CpuStolen(ev));
        }
        self.prev = reads;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn stolen(culprits: &[(u64, u64)]) -> Stolen {
        Stolen {
            culprits: culprits.iter().copied().collect::<BTreeMap<_, _>>(),
            self_ns: 1,
            other_ns: 10,
            unknown_ns: 2,
            cut: 0,
        }
    }

    #[test]
    fn top_k_keeps_the_largest_and_folds_the_rest() {
        let c = top_k(&stolen(&[(1, 5), (2, 50), (3, 7), (4, 7)]), 2);
        assert_eq!(c.top, vec![(2, 50), (3, 7)]);
        assert_eq!(c.other_ns, 10 + 7 + 5);
        assert_eq!(c.folded, 2);
        let all = top_k(&stolen(&[(1, 5)]), 5);
        assert_eq!((all.top.len(), all.folded, all.other_ns), (1, 0, 10));
    }

    #[test]
    fn interval_deltas_drop_evicted_culprits() {
        let a = Hist {
            sum_ns: 100,
            stolen: stolen(&[(1, 40), (2, 10)]),
            ..Default::default()
        };
        let mut b = a.clone();
        b.sum_ns = 300;
        b.stolen.culprits = BTreeMap::from([(1, 140), (3, 20)]);
        b.stolen.self_ns = 6;
        let d = delta(&b, Some(&a));
        assert_eq!(d.sum_ns, 200);
        assert_eq!(d.stolen.culprits, BTreeMap::from([(1, 100), (3, 20)]));
        assert_eq!(d.stolen.self_ns, 5);
        assert_eq!(d.stolen.by_others_ns(), 120);
    }
}
