//! The observer process itself: scrape duration, cache sizes, the /events
//! hub, the cardinality cap and which signals are served by what.

use std::fmt;
use std::sync::atomic::Ordering;

use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::registry::Unit;

use super::encode::{family, one, Counter, Gauge, Series};
use crate::host::Hierarchy;
use crate::state::State;

pub(super) fn encode(s: &State, enc: &mut DescriptorEncoder) -> fmt::Result {
    let p = &s.probes;
    family(
        enc,
        Gauge,
        "kernel_gossip_scrape_duration",
        "Duration of the previous /metrics scrape.",
        Some(&Unit::Seconds),
        &one(s.last_scrape_ns.load(Ordering::Relaxed) as f64 / 1e9),
    )?;

    let mut caches = Series::new();
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
    family(
        enc,
        Gauge,
        "kernel_gossip_cache_entries",
        "Entries in the observer's attribution caches and BPF maps.",
        None,
        &caches,
    )?;

    family(
        enc,
        Counter,
        "kernel_gossip_events_published",
        "Events published on /events.",
        None,
        &one(s.hub.published.load(Ordering::Relaxed) as f64),
    )?;
    family(
        enc,
        Counter,
        "kernel_gossip_event_clients_dropped",
        "/events clients disconnected for falling behind.",
        None,
        &one(s.hub.clients_dropped.load(Ordering::Relaxed) as f64),
    )?;
    family(
        enc,
        Gauge,
        "kernel_gossip_event_clients",
        "Connected /events clients.",
        None,
        &one(s.hub.live_clients() as f64),
    )?;
    let folded = s.labeler.lock().map(|l| l.folded_total).unwrap_or(0);
    family(
        enc,
        Counter,
        "kernel_gossip_workloads_folded",
        "Distinct workloads folded into the overflow label because of the cardinality cap.",
        None,
        &one(folded as f64),
    )?;

    let mut sig = Series::new();
    for st in &s.status {
        let src = st.source.clone().unwrap_or_else(|| "unavailable".into());
        sig.insert(
            vec![("signal", st.signal.to_string()), ("source", src)],
            if st.source.is_some() { 1.0 } else { 0.0 },
        );
    }
    family(
        enc,
        Gauge,
        "kernel_gossip_signal_enabled",
        "1 when the signal is collected, with the mechanism serving it.",
        None,
        &sig,
    )
}
