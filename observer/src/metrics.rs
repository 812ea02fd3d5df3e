//! Prometheus exposition. Everything is computed at scrape time by one
//! Collector: cgroupfs files and BPF maps are read when Prometheus asks, so
//! there is no background polling cost and no stale cache of counters.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;

use crate::cpustat;
use crate::host::Hierarchy;
use crate::labels::Labels;
use crate::probes::runqlat::Hist;
use crate::probes::stats;
use crate::signals::Signal;
use crate::state::State;
use crate::workload;

/// Bound on the unified-hierarchy walk for PSI files.
const MAX_PSI_CGROUPS: usize = 20_000;

pub struct ObserverCollector {
    pub state: Arc<State>,
}

impl fmt::Debug for ObserverCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ObserverCollector")
    }
}

fn with(mut l: Labels, k: &'static str, v: impl Into<String>) -> Labels {
    l.push((k, v.into()));
    l
}

fn counters(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    series: &BTreeMap<Labels, f64>,
) -> fmt::Result {
    family(enc, name, help, unit, MetricType::Counter, series)
}

fn gauges(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    series: &BTreeMap<Labels, f64>,
) -> fmt::Result {
    family(enc, name, help, unit, MetricType::Gauge, series)
}

/// One metric family of constant counters or gauges, one sample per label set.
fn family(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    kind: MetricType,
    series: &BTreeMap<Labels, f64>,
) -> fmt::Result {
    if series.is_empty() {
        return Ok(());
    }
    let mut m = enc.encode_descriptor(name, help, unit, kind)?;
    for (l, v) in series {
        if l.is_empty() {
            // A label-less metric: no `{}` in the output.
            return sample(kind, *v, m);
        }
        sample(kind, *v, m.encode_family(l)?)?;
    }
    Ok(())
}

fn sample(kind: MetricType, v: f64, e: MetricEncoder<'_>) -> fmt::Result {
    match kind {
        MetricType::Counter => ConstCounter::new(v).encode(e),
        _ => ConstGauge::new(v).encode(e),
    }
}

fn add(map: &mut BTreeMap<Labels, f64>, l: Labels, v: f64) {
    *map.entry(l).or_insert(0.0) += v;
}

impl Collector for ObserverCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        let start = Instant::now();
        let s = &self.state;
        if s.enabled(Signal::Cpu) {
            self.cpu(&mut enc)?;
        }
        if s.enabled(Signal::Runqueue) {
            self.runqueue(&mut enc)?;
        }
        if s.enabled(Signal::Oom) {
            let kills: BTreeMap<Labels, f64> = s
                .oom_kills
                .lock()
                .map(|k| k.iter().map(|(l, v)| (l.clone(), *v as f64)).collect())
                .unwrap_or_default();
            counters(
                &mut enc,
                "kernel_gossip_oom_kills",
                "Tasks killed by the OOM killer, by the victim's memory cgroup.",
                None,
                &kills,
            )?;
        }
        if s.enabled(Signal::Drops) {
            self.drops(&mut enc)?;
        }
        if s.enabled(Signal::Tcp) {
            self.tcp(&mut enc)?;
        }
        if s.enabled(Signal::Memory) {
            self.memory(&mut enc)?;
        }
        if s.enabled(Signal::Cgroups) {
            let mut ev = BTreeMap::new();
            ev.insert(
                vec![("event", "created".to_string())],
                s.cgroups_created.load(Ordering::Relaxed) as f64,
            );
            ev.insert(
                vec![("event", "removed".to_string())],
                s.cgroups_removed.load(Ordering::Relaxed) as f64,
            );
            counters(
                &mut enc,
                "kernel_gossip_cgroup_events",
                "cgroup directories created/removed (cpu and memory hierarchies).",
                None,
                &ev,
            )?;
        }
        if s.enabled(Signal::Births) {
            self.births(&mut enc)?;
        }
        self.self_metrics(&mut enc)?;
        s.last_scrape_ns
            .store(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        s.scrapes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

impl ObserverCollector {
    fn cpu(&self, enc: &mut DescriptorEncoder) -> fmt::Result {
        let s = &self.state;
        let entries = s
            .cgroups
            .read()
            .map(|i| i.entries(Hierarchy::Cpu))
            .unwrap_or_default();
        let (mut periods, mut throttled, mut throttled_s, mut usage, mut limit) = (
            BTreeMap::new(),
            BTreeMap::new(),
            BTreeMap::new(),
            BTreeMap::new(),
            BTreeMap::new(),
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
        counters(
            enc,
            "kernel_gossip_cpu_cfs_periods",
            "CFS bandwidth periods elapsed (cpu.stat nr_periods).",
            None,
            &periods,
        )?;
        counters(
            enc,
            "kernel_gossip_cpu_cfs_throttled_periods",
            "CFS periods in which the cgroup was throttled (cpu.stat nr_throttled).",
            None,
            &throttled,
        )?;
        counters(
            enc,
            "kernel_gossip_cpu_cfs_throttled",
            "Time the cgroup's tasks were throttled (cpu.stat throttled_time/throttled_usec).",
            Some(&Unit::Seconds),
            &throttled_s,
        )?;
        counters(
            enc,
            "kernel_gossip_cpu_usage",
            "CPU time consumed (cpuacct.usage or cpu.stat usage_usec).",
            Some(&Unit::Seconds),
            &usage,
        )?;
        gauges(
            enc,
            "kernel_gossip_cpu_limit_cores",
            "CFS quota / period, in cores (absent when unlimited).",
            None,
            &limit,
        )
    }

    fn runqueue(&self, enc: &mut DescriptorEncoder) -> fmt::Result {
        let s = &self.state;
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

    fn drops(&self, enc: &mut DescriptorEncoder) -> fmt::Result {
        let s = &self.state;
        let Some(n) = &s.probes.netdrop else {
            return Ok(());
        };
        let mut agg = BTreeMap::new();
        for d in n.read() {
            let l = s.labels(&s.netns_workload(d.netns));
            add(&mut agg, with(l, "reason", d.reason), d.count as f64);
        }
        counters(enc, "kernel_gossip_packet_drops", "Packets dropped by the kernel, by drop reason (skb_drop_reason) and owning network namespace's workload.", None, &agg)
    }

    fn tcp(&self, enc: &mut DescriptorEncoder) -> fmt::Result {
        let s = &self.state;
        let Some(t) = &s.probes.tcp else {
            return Ok(());
        };
        let (mut retrans, mut resets) = (BTreeMap::new(), BTreeMap::new());
        for (netns, c) in t.read() {
            let l = s.labels(&s.netns_workload(netns));
            add(&mut retrans, l.clone(), c.retransmits as f64);
            add(
                &mut resets,
                with(l.clone(), "direction", "sent"),
                c.resets_sent as f64,
            );
            add(
                &mut resets,
                with(l, "direction", "received"),
                c.resets_received as f64,
            );
        }
        counters(
            enc,
            "kernel_gossip_tcp_retransmits",
            "TCP segments retransmitted, by network namespace's workload.",
            None,
            &retrans,
        )?;
        counters(
            enc,
            "kernel_gossip_tcp_resets",
            "TCP resets sent/received, by network namespace's workload.",
            None,
            &resets,
        )
    }

    fn memory(&self, enc: &mut DescriptorEncoder) -> fmt::Result {
        let s = &self.state;
        if let Some(m) = &s.probes.memreclaim {
            let (mut secs, mut count) = (BTreeMap::new(), BTreeMap::new());
            for (id, st) in m.read() {
                let Some(w) = s.workload(Hierarchy::Memory, id) else {
                    continue;
                };
                let l = s.labels(&w);
                add(&mut secs, l.clone(), st.total_ns as f64 / 1e9);
                add(&mut count, l, st.count as f64);
            }
            counters(enc, "kernel_gossip_memcg_reclaim", "Time tasks spent in memcg direct reclaim (cgroup at its memory limit), by memory cgroup.", Some(&Unit::Seconds), &secs)?;
            counters(
                enc,
                "kernel_gossip_memcg_reclaims",
                "memcg direct reclaim runs, by memory cgroup.",
                None,
                &count,
            )?;
        }
        if let Some(root) = s.layout.unified_root.clone() {
            let mut stall = BTreeMap::new();
            let mut budget = MAX_PSI_CGROUPS;
            psi_walk(&root, &root, &mut budget, &mut |rel, text| {
                let l = s.labels(&s.enrich(workload::parse(rel)));
                for (kind, secs) in cpustat::parse_psi_totals(text) {
                    add(&mut stall, with(l.clone(), "kind", kind), secs);
                }
            });
            counters(enc, "kernel_gossip_memory_pressure_stall", "PSI memory stall time (some = at least one task stalled, full = all non-idle tasks stalled), per cgroup2 cgroup.", Some(&Unit::Seconds), &stall)?;
        }
        Ok(())
    }

    fn births(&self, enc: &mut DescriptorEncoder) -> fmt::Result {
        let s = &self.state;
        let Ok(st) = s.birth_stats.lock().map(|b| b.clone()) else {
            return Ok(());
        };
        let mut total = BTreeMap::new();
        total.insert(vec![("complete", "true".to_string())], st.complete as f64);
        total.insert(
            vec![("complete", "false".to_string())],
            st.incomplete as f64,
        );
        counters(
            enc,
            "kernel_gossip_births",
            "Pod/container starts captured (windows closed), by whether the entrypoint exec was seen.",
            None,
            &total,
        )?;
        for (name, help, unit, h) in [
            (
                "kernel_gossip_birth_duration",
                "First event of a capture window to its last entrypoint exec (to the close when incomplete).",
                Some(&Unit::Seconds),
                &st.duration,
            ),
            (
                "kernel_gossip_birth",
                "Syscalls made by the runtime and container processes during a capture window.",
                None,
                &st.syscalls,
            ),
        ] {
            let name = if unit.is_none() {
                format!("{name}_syscalls")
            } else {
                name.to_string()
            };
            let mut m = enc.encode_descriptor(&name, help, unit, MetricType::Histogram)?;
            m.encode_histogram::<NoLabelSet>(h.sum, h.count, &h.buckets(), None)?;
        }
        let (open, dropped) = s
            .births
            .lock()
            .map(|t| (t.open_windows(), t.dropped))
            .unwrap_or((0, 0));
        let one = |v: f64| -> BTreeMap<Labels, f64> { BTreeMap::from([(Vec::new(), v)]) };
        gauges(
            enc,
            "kernel_gossip_birth_windows_open",
            "Capture windows open now.",
            None,
            &one(open as f64),
        )?;
        counters(
            enc,
            "kernel_gossip_births_dropped",
            "Births not captured because too many windows were open.",
            None,
            &one(dropped as f64),
        )?;
        let attached = s
            .probes
            .birth
            .as_ref()
            .is_some_and(|b| b.syscalls_attached());
        gauges(
            enc,
            "kernel_gossip_birth_syscall_probe_attached",
            "1 while the raw_tp/sys_enter program is attached (only while a window is open or a runtime just started).",
            None,
            &one(if attached { 1.0 } else { 0.0 }),
        )
    }

    fn self_metrics(&self, enc: &mut DescriptorEncoder) -> fmt::Result {
        let s = &self.state;
        let p = &s.probes;
        let mut lost = BTreeMap::new();
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
        counters(
            enc,
            "kernel_gossip_events_lost",
            "Kernel events dropped because the ring buffer was full.",
            None,
            &lost,
        )?;

        let (mut runs, mut run_secs, mut misses) =
            (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
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
        counters(
            enc,
            "kernel_gossip_bpf_program_runs",
            "BPF program invocations (BPF_ENABLE_STATS run_cnt).",
            None,
            &runs,
        )?;
        counters(
            enc,
            "kernel_gossip_bpf_program_run",
            "Time spent in BPF programs (BPF_ENABLE_STATS run_time_ns).",
            Some(&Unit::Seconds),
            &run_secs,
        )?;
        counters(
            enc,
            "kernel_gossip_bpf_program_recursion_misses",
            "Events a BPF program missed because it was already running on that CPU (interrupted by a softirq hitting the same tracepoint).",
            None,
            &misses,
        )?;

        let one = |v: f64| -> BTreeMap<Labels, f64> { BTreeMap::from([(Vec::new(), v)]) };
        gauges(
            enc,
            "kernel_gossip_scrape_duration",
            "Duration of the previous /metrics scrape.",
            Some(&Unit::Seconds),
            &one(s.last_scrape_ns.load(Ordering::Relaxed) as f64 / 1e9),
        )?;

        let mut caches = BTreeMap::new();
        let mut cache = |name: &str, v: usize| {
            caches.insert(vec![("cache", name.to_string())], v as f64);
        };
        if let Ok(i) = s.cgroups.read() {
            cache("cgroup_paths_cpu", i.len(Hierarchy::Cpu));
            cache("cgroup_paths_memory", i.len(Hierarchy::Memory));
        }
        cache("netns_owners", s.netns.lock().map(|n| n.len()).unwrap_or(0));
        cache("pod_names", s.names.lock().map(|n| n.len()).unwrap_or(0));
        cache(
            "workload_labels",
            s.labeler.lock().map(|l| l.admitted()).unwrap_or(0),
        );
        cache("event_replay", s.hub.replay_len());
        if let Some(r) = &p.runqlat {
            cache("bpf_runqlat_cgroups", r.len());
        }
        if let Some(n) = &p.netdrop {
            cache("bpf_netdrop_keys", n.len());
        }
        if let Some(t) = &p.tcp {
            cache("bpf_tcp_netns", t.len());
        }
        if let Some(m) = &p.memreclaim {
            cache("bpf_memreclaim_cgroups", m.len());
        }
        if let Some(b) = &p.birth {
            cache("bpf_birth_tracked", b.tracked_len());
            cache(
                "birth_pending_processes",
                s.births.lock().map(|t| t.pending()).unwrap_or(0),
            );
        }
        gauges(
            enc,
            "kernel_gossip_cache_entries",
            "Entries in the observer's attribution caches and BPF maps.",
            None,
            &caches,
        )?;

        counters(
            enc,
            "kernel_gossip_events_published",
            "Events published on /events.",
            None,
            &one(s.hub.published.load(Ordering::Relaxed) as f64),
        )?;
        counters(
            enc,
            "kernel_gossip_event_clients_dropped",
            "/events clients disconnected for falling behind.",
            None,
            &one(s.hub.clients_dropped.load(Ordering::Relaxed) as f64),
        )?;
        gauges(
            enc,
            "kernel_gossip_event_clients",
            "Connected /events clients.",
            None,
            &one(s.hub.live_clients() as f64),
        )?;
        let folded = s.labeler.lock().map(|l| l.folded_total).unwrap_or(0);
        counters(
            enc,
            "kernel_gossip_workloads_folded",
            "Distinct workloads folded into the overflow label because of the cardinality cap.",
            None,
            &one(folded as f64),
        )?;

        let mut sig = BTreeMap::new();
        for st in &s.status {
            let src = st.source.clone().unwrap_or_else(|| "unavailable".into());
            sig.insert(
                vec![("signal", st.signal.to_string()), ("source", src)],
                if st.source.is_some() { 1.0 } else { 0.0 },
            );
        }
        gauges(
            enc,
            "kernel_gossip_signal_enabled",
            "1 when the signal is collected, with the mechanism serving it.",
            None,
            &sig,
        )
    }
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
