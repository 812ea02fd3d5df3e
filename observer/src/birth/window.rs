//! One capture window: everything recorded for one pod (or bare container)
//! start, bounded, and its conversion into a `BirthEvent`.

use std::collections::{BTreeSet, HashMap};

use crate::events::{
    BirthActor, BirthCloseReason, BirthContainer, BirthEvent, BirthStep, CgroupCreated,
    CgroupFileWrite, NamespacesCreated,
};
use crate::probes::birth::{NAMESPACES, NS_TYPES};

pub const MAX_TIMELINE: usize = 512;
pub const MAX_CGROUPS: usize = 256;
pub const MAX_FILES: usize = 512;
pub const MAX_CONTAINERS: usize = 64;
const MAX_NS_SEEN: usize = 64;

#[derive(Clone, Debug)]
pub struct Container {
    pub id: String,
    pub cgroup: String,
    pub sandbox: bool,
    pub entrypoint: Option<String>,
    pub entrypoint_ts: Option<u64>,
}

#[derive(Clone, Debug)]
pub struct Step {
    pub ts: u64,
    pub actor: BirthActor,
    pub action: &'static str,
    pub detail: String,
    pub pid: u32,
    pub comm: String,
    /// Merge key: steps with the same key (e.g. one cgroup made in ten
    /// hierarchies) become one step listing every hierarchy.
    pub key: Option<String>,
}

#[derive(Debug)]
pub struct Window {
    pub id: u64,
    /// Workload cgroup: the pod cgroup, or the bare container's.
    pub cgroup: String,
    pub first_ts: u64,
    /// Monotonic time the window was opened (timeout base).
    pub opened_ts: u64,
    pub close_at: Option<u64>,
    /// Processes of this window still tracked in BPF.
    pub tgids: BTreeSet<u32>,
    /// Final syscall counts of processes that exited.
    pub exited_syscalls: u64,
    pub forks: u64,
    pub execs: u64,
    /// Namespaces created by clone/clone3/unshare flags, by type.
    pub ns_by_syscall: [u64; NS_TYPES],
    /// Types joined with setns (then an inode change is not a creation).
    pub ns_joined: [bool; NS_TYPES],
    /// The first namespace set seen (a runtime process, still on the host's).
    pub ns_baseline: Option<[u32; NS_TYPES]>,
    /// Distinct inode numbers seen per type (nsproxy at fork/exec/mkdir).
    pub ns_seen: [BTreeSet<u32>; NS_TYPES],
    pub cgroups: Vec<(String, String)>,
    /// (hierarchy id, cgroup id) → path of cgroups made in this window.
    pub ids: HashMap<(u32, u64), String>,
    pub files: Vec<(String, String)>,
    pub containers: Vec<Container>,
    pub timeline: Vec<Step>,
    pub truncated: bool,
    /// The birth programs' skipped-event total when the window opened.
    pub skipped_at_open: u64,
}

impl Window {
    pub fn new(id: u64, cgroup: String, ts: u64, now: u64) -> Self {
        Window {
            id,
            cgroup,
            first_ts: ts,
            opened_ts: now,
            close_at: None,
            tgids: BTreeSet::new(),
            exited_syscalls: 0,
            forks: 0,
            execs: 0,
            ns_by_syscall: [0; NS_TYPES],
            ns_joined: [false; NS_TYPES],
            ns_baseline: None,
            ns_seen: Default::default(),
            cgroups: Vec::new(),
            ids: HashMap::new(),
            files: Vec::new(),
            containers: Vec::new(),
            timeline: Vec::new(),
            truncated: false,
            skipped_at_open: 0,
        }
    }

    pub fn note_ts(&mut self, ts: u64) {
        if ts < self.first_ts {
            self.first_ts = ts;
        }
    }

    pub fn observe_ns(&mut self, ns: &[u32; NS_TYPES]) {
        if ns.iter().all(|&n| n == 0) {
            return;
        }
        if self.ns_baseline.is_none() {
            self.ns_baseline = Some(*ns);
        }
        for (i, &inum) in ns.iter().enumerate() {
            if inum != 0 && self.ns_seen[i].len() < MAX_NS_SEEN {
                self.ns_seen[i].insert(inum);
            }
        }
    }

    pub fn step(&mut self, s: Step) {
        if let Some(key) = &s.key {
            if let Some(prev) = self
                .timeline
                .iter_mut()
                .rev()
                .find(|p| p.key.as_ref() == Some(key))
            {
                // Same action on the same object in another hierarchy.
                if let Some(h) = s.detail.split_once(' ').map(|(h, _)| h) {
                    if let Some((hs, rest)) = prev.detail.split_once(' ') {
                        if !hs.split(',').any(|x| x == h) {
                            prev.detail = format!("{hs},{h} {rest}");
                        }
                    }
                }
                return;
            }
        }
        if self.timeline.len() >= MAX_TIMELINE {
            self.truncated = true;
            return;
        }
        self.timeline.push(s);
    }

    pub fn add_cgroup(&mut self, hierarchy: String, path: String) {
        if self.cgroups.len() >= MAX_CGROUPS {
            self.truncated = true;
            return;
        }
        self.cgroups.push((hierarchy, path));
    }

    pub fn add_file(&mut self, path: String, value: String) {
        if self.files.len() >= MAX_FILES {
            self.truncated = true;
            return;
        }
        self.files.push((path, value));
    }

    /// Adds a container cgroup (once per path); true when it is new.
    pub fn add_container(&mut self, id: String, cgroup: &str) -> bool {
        if self.containers.iter().any(|c| c.cgroup == cgroup) {
            return false;
        }
        if self.containers.len() >= MAX_CONTAINERS {
            self.truncated = true;
            return false;
        }
        // The first container of a pod whose start this window saw (its pod
        // cgroup made here) is the sandbox. A window that opens at a
        // container cgroup under an existing pod is a restart (kubelet's
        // CrashLoopBackOff, or an app container long after its sandbox): none
        // of its containers is the sandbox.
        let sandbox =
            self.containers.is_empty() && self.cgroups.iter().any(|(_, p)| *p == self.cgroup);
        self.containers.push(Container {
            id,
            cgroup: cgroup.to_string(),
            sandbox,
            entrypoint: None,
            entrypoint_ts: None,
        });
        true
    }

    pub fn last_entrypoint_ts(&self) -> Option<u64> {
        self.containers.iter().filter_map(|c| c.entrypoint_ts).max()
    }

    /// Namespaces created, by type: the clone/unshare flags when the syscall
    /// program saw them; otherwise new inode numbers seen in this window's
    /// processes (nsproxy at fork/exec), unless that type was setns-joined.
    pub fn namespaces(&self) -> NamespacesCreated {
        let mut out = NamespacesCreated::default();
        for ns in &NAMESPACES {
            let i = ns.index;
            let n = if self.ns_by_syscall[i] > 0 {
                self.ns_by_syscall[i]
            } else if self.ns_joined[i] {
                0
            } else {
                let base = self.ns_baseline.map(|b| b[i]).unwrap_or(0);
                self.ns_seen[i].iter().filter(|&&x| x != base).count() as u64
            };
            out.set(i, n);
        }
        out
    }

    /// The event for a window closing at `close_ts` (monotonic ns), when
    /// the birth programs' skipped-event total is `skipped`.
    pub fn finish(
        &self,
        reason: BirthCloseReason,
        close_ts: u64,
        syscalls: u64,
        start: String,
        skipped: u64,
    ) -> BirthEvent {
        let last = self.last_entrypoint_ts();
        let complete = last.is_some();
        let end = last.unwrap_or(close_ts).max(self.first_ts);
        let off = |ts: u64| ts.saturating_sub(self.first_ts) / 1000;
        BirthEvent {
            window_id: self.id,
            start,
            complete,
            close_reason: reason,
            duration_seconds: (end - self.first_ts) as f64 / 1e9,
            syscalls,
            forks: self.forks,
            execs: self.execs,
            namespaces_created: self.namespaces(),
            cgroups_created: self
                .cgroups
                .iter()
                .map(|(h, p)| CgroupCreated {
                    hierarchy: h.clone(),
                    path: p.clone(),
                })
                .collect(),
            cgroup_files_written: self
                .files
                .iter()
                .map(|(p, v)| CgroupFileWrite {
                    path: p.clone(),
                    value: v.clone(),
                })
                .collect(),
            containers: self
                .containers
                .iter()
                .map(|c| BirthContainer {
                    id: c.id.clone(),
                    cgroup: c.cgroup.clone(),
                    sandbox: c.sandbox,
                    entrypoint: c.entrypoint.clone(),
                    entrypoint_offset_microseconds: c.entrypoint_ts.map(off),
                })
                .collect(),
            timeline: {
                let mut t: Vec<&Step> = self.timeline.iter().collect();
                t.sort_by_key(|s| s.ts);
                t.into_iter()
                    .map(|s| BirthStep {
                        offset_microseconds: off(s.ts),
                        actor: s.actor,
                        action: s.action.to_string(),
                        detail: s.detail.clone(),
                        pid: (s.pid != 0).then_some(s.pid),
                        comm: (!s.comm.is_empty()).then(|| s.comm.clone()),
                    })
                    .collect()
            },
            truncated: self.truncated,
            skipped_kernel_events: skipped.saturating_sub(self.skipped_at_open),
        }
    }
}
