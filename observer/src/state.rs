//! Shared observer state: attribution caches, loaded probes, event hub and
//! the counters fed by ring-buffer events.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::birth::stats::BirthStats;
use crate::birth::{Closed, Tracker};
use crate::cgroups::CgroupIndex;
use crate::events::{CgroupChange, EventHub, Evidence, OomEvent};
use crate::host::{self, CgroupLayout, Hierarchy};
use crate::labels::{Labeler, Labels};
use crate::names::PodNames;
use crate::netns::NetnsResolver;
use crate::probes::birth::{BirthRecord, Kind};
use crate::probes::{self, cgroup_events, oom};
use crate::signals::Signal;
use crate::workload::{self, Workload};

/// Probes that loaded; None = signal disabled (the reason is in `status`).
#[derive(Default)]
pub struct Probes {
    pub cgroup_events: Option<cgroup_events::CgroupEvents>,
    pub runqlat: Option<probes::runqlat::Runqlat>,
    pub oom: Option<oom::Oom>,
    pub netdrop: Option<probes::netdrop::Netdrop>,
    pub tcp: Option<probes::tcp::Tcp>,
    pub memreclaim: Option<probes::memreclaim::Memreclaim>,
    pub birth: Option<probes::birth::Birth>,
    pub stats: Option<probes::stats::StatsGuard>,
}

impl Probes {
    /// (probe name, attached programs) of every loaded probe.
    pub fn attached(&self) -> Vec<(&'static str, &probes::Attached)> {
        let mut v = Vec::new();
        if let Some(p) = &self.cgroup_events {
            v.push(("cgroup_events", &p.attached));
        }
        if let Some(p) = &self.runqlat {
            v.push(("runqlat", &p.attached));
        }
        if let Some(p) = &self.oom {
            v.push(("oom", &p.attached));
        }
        if let Some(p) = &self.netdrop {
            v.push(("netdrop", &p.attached));
        }
        if let Some(p) = &self.tcp {
            v.push(("tcp", &p.attached));
        }
        if let Some(p) = &self.memreclaim {
            v.push(("memreclaim", &p.attached));
        }
        if let Some(p) = &self.birth {
            v.push(("birth", &p.attached));
        }
        v
    }
}

/// How each requested signal is served, for /healthz, doctor and metrics.
#[derive(Clone, Debug)]
pub struct SignalStatus {
    pub signal: Signal,
    /// "tp_btf", "raw_tp", "cgroupfs", "psi" ...; None when unavailable.
    pub source: Option<String>,
    pub detail: String,
}

pub struct Settings {
    pub node: String,
    pub max_workloads: usize,
    pub drop_burst_threshold: u64,
    pub retransmit_burst_threshold: u64,
    pub sample_interval: Duration,
    pub birth: crate::birth::BirthSettings,
    pub stolen: crate::stolen::StolenSettings,
}

pub struct State {
    pub settings: Settings,
    pub layout: CgroupLayout,
    pub cgroups: RwLock<CgroupIndex>,
    pub hub: EventHub,
    pub probes: Probes,
    pub status: Vec<SignalStatus>,
    pub labeler: Mutex<Labeler>,
    pub names: Mutex<PodNames>,
    pub netns: Mutex<NetnsResolver>,
    /// OOM kills by victim workload (labels).
    pub oom_kills: Mutex<BTreeMap<Labels, u64>>,
    pub cgroups_created: AtomicU64,
    pub cgroups_removed: AtomicU64,
    /// Duration of the previous /metrics scrape, in nanoseconds.
    pub last_scrape_ns: AtomicU64,
    pub scrapes: AtomicU64,
    pub stop: AtomicBool,
    /// Unix time minus CLOCK_MONOTONIC (for BPF timestamps).
    pub mono_offset_ns: i128,
    /// Birth capture windows (fed by the ring-buffer thread).
    pub births: Mutex<Tracker>,
    pub birth_stats: Mutex<BirthStats>,
}

impl State {
    pub fn enabled(&self, s: Signal) -> bool {
        self.status
            .iter()
            .any(|st| st.signal == s && st.source.is_some())
    }

    /// Identity of a BPF-reported cgroup id; None if the cgroup is unknown
    /// (already removed).
    pub fn workload(&self, h: Hierarchy, id: u64) -> Option<Workload> {
        let path = self.cgroups.read().ok()?.path(h, id)?.to_string();
        Some(self.enrich(workload::parse(&path)))
    }

    pub fn enrich(&self, w: Workload) -> Workload {
        match self.names.lock() {
            Ok(mut n) => n.enrich(w),
            Err(_) => w,
        }
    }

    pub fn labels(&self, w: &Workload) -> Labels {
        match self.labeler.lock() {
            Ok(mut l) => l.labels(w),
            Err(_) => Labeler::overflow(),
        }
    }

    pub fn netns_workload(&self, inum: u32) -> Workload {
        let w = match self.netns.lock() {
            Ok(mut r) => r.resolve(&self.layout, inum),
            Err(_) => Workload::cgroup(&format!("netns:{inum}")),
        };
        self.enrich(w)
    }

    pub fn bpf_time(&self, ts_ns: u64) -> SystemTime {
        let unix = ts_ns as i128 + self.mono_offset_ns;
        if unix <= 0 {
            return SystemTime::now();
        }
        UNIX_EPOCH + Duration::from_nanos(unix as u64)
    }

    /// cgroup_mkdir/rmdir from the kernel: keep the index current, free
    /// per-cgroup BPF map slots of removed cgroups, publish the event.
    pub fn on_cgroup_event(&self, e: &cgroup_events::CgroupEvent) {
        let hs = self.layout.hierarchies_for_id(e.hierarchy_id);
        if hs.is_empty() {
            return;
        }
        let w = self.enrich(workload::parse(&e.path));
        for h in &hs {
            if let Ok(mut idx) = self.cgroups.write() {
                if e.created {
                    idx.insert(*h, e.id, e.path.clone());
                } else {
                    idx.remove(*h, e.id);
                }
            }
            if !e.created {
                match h {
                    Hierarchy::Cpu => {
                        if let Some(r) = &self.probes.runqlat {
                            r.forget(e.id);
                        }
                    }
                    Hierarchy::Memory => {
                        if let Some(m) = &self.probes.memreclaim {
                            m.forget(e.id);
                        }
                    }
                }
            }
        }
        if !e.created {
            if let Ok(mut l) = self.labeler.lock() {
                l.forget(&w);
            }
        }
        let hierarchy = if self.layout.v2 {
            "unified".to_string()
        } else {
            hs.iter()
                .map(|h| format!("{h:?}").to_lowercase())
                .collect::<Vec<_>>()
                .join(",")
        };
        let change = CgroupChange {
            id: e.id,
            hierarchy,
            level: e.level,
        };
        let (evidence, counter) = if e.created {
            (Evidence::CgroupCreated(change), &self.cgroups_created)
        } else {
            (Evidence::CgroupRemoved(change), &self.cgroups_removed)
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.hub.publish(SystemTime::now(), &w, evidence);
    }

    pub fn on_oom(&self, r: &oom::OomRecord) {
        let memcg = self
            .cgroups
            .read()
            .ok()
            .and_then(|idx| idx.path(Hierarchy::Memory, r.memcg_id).map(str::to_string))
            .unwrap_or_else(|| format!("id:{}", r.memcg_id));
        let w = self.enrich(workload::parse(&memcg));
        let labels = self.labels(&w);
        if let Ok(mut k) = self.oom_kills.lock() {
            *k.entry(labels).or_insert(0) += 1;
        }
        let ev = OomEvent {
            pid: r.pid,
            tgid: r.tgid,
            comm: r.comm.clone(),
            anon_rss_bytes: r.anon_rss_bytes,
            file_rss_bytes: r.file_rss_bytes,
            shmem_rss_bytes: r.shmem_rss_bytes,
            total_vm_bytes: r.total_vm_bytes,
            oom_score_adj: r.oom_score_adj,
            uid: r.uid,
            memcg,
        };
        tracing::info!(pid = r.pid, comm = %r.comm, cgroup = %w.cgroup, "oom kill");
        self.hub
            .publish(self.bpf_time(r.ts_ns), &w, Evidence::OomKill(ev));
    }

    /// A record from the birth probe: update the windows, then attach or
    /// detach the syscall program to match.
    pub fn on_birth_record(&self, r: BirthRecord) {
        tracing::trace!(kind = ?r.kind, tgid = r.tgid, comm = %r.comm, hierarchy = r.hierarchy_id, flags = r.flags, path = %r.path, "birth record");
        let Ok(mut t) = self.births.lock() else {
            return;
        };
        let resolve = |h: u32, id: u64| -> Option<String> {
            let idx = self.cgroups.read().ok()?;
            self.layout
                .hierarchies_for_id(h)
                .into_iter()
                .find_map(|hh| idx.path(hh, id).map(str::to_string))
        };
        if r.kind == Kind::Mkdir {
            // May open a window: it counts skipped events from here.
            if let Some(b) = &self.probes.birth {
                t.note_skipped(b.skipped_events());
            }
        }
        t.on_record(r, host::monotonic_ns(), &resolve);
        self.birth_sync(&mut t);
    }

    /// Close due windows (called after every ring-buffer poll).
    pub fn birth_tick(&self) {
        let Some(b) = &self.probes.birth else {
            return;
        };
        let Ok(mut t) = self.births.lock() else {
            return;
        };
        if t.open_windows() > 0 {
            t.note_skipped(b.skipped_events());
        }
        let closed = t.tick(host::monotonic_ns(), &|tgid| b.syscalls_of(tgid));
        self.birth_sync(&mut t);
        drop(t);
        self.publish_births(closed);
    }

    /// Close every window as "shutdown" and detach the syscall program,
    /// whatever state the tracker is in.
    pub fn birth_shutdown(&self) {
        let Some(b) = &self.probes.birth else {
            return;
        };
        let closed = match self.births.lock() {
            Ok(mut t) => {
                let c = t.close_all(host::monotonic_ns(), &|tgid| b.syscalls_of(tgid));
                for tgid in t.take_untrack() {
                    b.untrack(tgid);
                }
                for id in t.take_forget() {
                    b.forget_cgroup(id);
                }
                c
            }
            Err(_) => Vec::new(),
        };
        b.detach_syscalls();
        self.publish_births(closed);
    }

    fn birth_sync(&self, t: &mut Tracker) {
        let Some(b) = &self.probes.birth else {
            return;
        };
        for tgid in t.take_untrack() {
            b.untrack(tgid);
        }
        for id in t.take_forget() {
            b.forget_cgroup(id);
        }
        if t.needs_syscalls() {
            if let Err(e) = b.attach_syscalls() {
                tracing::warn!(error = %format!("{e:#}"), "birth: syscall program not attached; windows lack writes and syscall counts");
            }
        } else {
            b.detach_syscalls();
        }
    }

    fn publish_births(&self, closed: Vec<Closed>) {
        for c in closed {
            let w = self.enrich(workload::parse(&c.cgroup));
            if let Ok(mut st) = self.birth_stats.lock() {
                st.record(&c.event);
            }
            tracing::info!(
                cgroup = %c.cgroup,
                complete = c.event.complete,
                duration_s = c.event.duration_seconds,
                syscalls = c.event.syscalls,
                "birth"
            );
            self.hub
                .publish(SystemTime::now(), &w, Evidence::Birth(c.event));
        }
    }
}
