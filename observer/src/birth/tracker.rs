//! The birth tracker (ADR 0016, 0017): turns the birth probe's raw records
//! into one capture window per pod (key: pod UID) or bare container (key: its
//! cgroup), decides when the syscall program must be attached, and closes
//! windows at the last entrypoint exec + a grace period, or on a timeout.
//! What each record kind does to its window is in `apply/`; processes waiting
//! for a window are in `procs.rs`.

use std::collections::HashMap;
use std::time::Duration;

use super::hierarchies::Hierarchies;
use super::key::{window_key, WindowKey};
use super::procs::Proc;
use super::settings::BirthSettings;
use super::window::Window;
use crate::events::{BirthActor, BirthCloseReason, BirthEvent};
use crate::probes::birth::{BirthRecord, Kind, TRACK_FULL, TRACK_WRITES};

/// Open windows at most; more concurrent births are counted, not captured.
pub const MAX_WINDOWS: usize = 256;
/// Cached cgroup id → path lookups.
const MAX_PATH_CACHE: usize = 8192;

/// A closed window ready to publish.
#[derive(Debug)]
pub struct Closed {
    /// Workload cgroup path (pod cgroup, or the bare container's).
    pub cgroup: String,
    pub event: BirthEvent,
}

pub struct Tracker {
    pub(super) settings: BirthSettings,
    pub(super) hier: Hierarchies,
    /// Hierarchy whose cgroup id exec records carry (cpu on v1, 0 on v2).
    pub(super) cpu_hierarchy_id: u32,
    mono_offset_ns: i128,
    next_id: u64,
    pub(super) windows: HashMap<u64, Window>,
    by_key: HashMap<String, u64>,
    pub(super) procs: HashMap<u32, Proc>,
    paths: HashMap<(u32, u64), String>,
    /// tgids to delete from the BPF tracked map.
    pub(super) untrack: Vec<u32>,
    /// Container cgroup ids to delete from the BPF birth_cgroups map.
    forget: Vec<u64>,
    /// The birth programs' skipped-event total, as last read (`note_skipped`).
    skipped: u64,
    /// Births not captured because MAX_WINDOWS were open.
    pub dropped: u64,
}

impl Tracker {
    pub fn new(
        settings: BirthSettings,
        hier: Hierarchies,
        cpu_hierarchy_id: u32,
        mono_offset_ns: i128,
    ) -> Self {
        Tracker {
            settings,
            hier,
            cpu_hierarchy_id,
            mono_offset_ns,
            next_id: 1,
            windows: HashMap::new(),
            by_key: HashMap::new(),
            procs: HashMap::new(),
            paths: HashMap::new(),
            untrack: Vec::new(),
            forget: Vec::new(),
            skipped: 0,
            dropped: 0,
        }
    }

    pub fn open_windows(&self) -> usize {
        self.windows.len()
    }

    pub fn pending(&self) -> usize {
        self.procs.values().filter(|p| p.window.is_none()).count()
    }

    /// The syscall program is needed while a window is open or a runtime
    /// that just started may be about to make one.
    pub fn needs_syscalls(&self) -> bool {
        !self.windows.is_empty() || self.procs.values().any(|p| p.window.is_none())
    }

    pub fn take_untrack(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.untrack)
    }

    pub fn take_forget(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.forget)
    }

    /// The birth programs' skipped-event total now (read while windows are
    /// open or about to be): windows report how much it grew while open.
    pub fn note_skipped(&mut self, total: u64) {
        self.skipped = total;
    }

    /// Feed one record. `resolve` names a (hierarchy, cgroup id) the tracker
    /// has not seen made (the observer's cgroup index).
    pub fn on_record(
        &mut self,
        r: BirthRecord,
        now: u64,
        resolve: &dyn Fn(u32, u64) -> Option<String>,
    ) {
        if r.kind == Kind::Mkdir {
            return self.on_mkdir(r, now);
        }
        let mut wid = self.procs.get(&r.tgid).and_then(|p| p.window);
        if wid.is_none() && r.kind == Kind::Exec {
            // An exec inside a container cgroup of an open window, by a
            // process whose fork or attach the kernel skipped (BPF then
            // tracks it by its cgroup): it joins that window.
            let key = (self.cpu_hierarchy_id, r.arg);
            let found = self
                .windows
                .values()
                .find(|w| w.ids.contains_key(&key))
                .map(|w| w.id);
            if let Some(w) = found {
                self.procs.entry(r.tgid).or_default().parent = r.ppid;
                self.join(r.tgid, w);
                wid = Some(w);
            }
        }
        if wid.is_none() && r.kind == Kind::Write {
            // A long-lived agent (kubelet) writing a pod's cgroup files:
            // attribute by the cgroup, not the process.
            let path = self.cgroup_path(r.hierarchy_id, r.arg, None, resolve);
            wid = window_key(&path).and_then(|k| self.by_key.get(&k.key).copied());
        }
        match wid {
            Some(w) => self.apply(w, r, resolve),
            None => self.buffer(r, now),
        }
    }

    fn on_mkdir(&mut self, r: BirthRecord, now: u64) {
        let full = r.flags & TRACK_FULL != 0;
        let wid = match window_key(&r.path) {
            Some(WindowKey { key, cgroup, .. }) => match self.by_key.get(&key) {
                Some(&w) => Some(w),
                None if self.windows.len() >= MAX_WINDOWS => {
                    self.dropped += 1;
                    None
                }
                None => {
                    let id = self.next_id;
                    self.next_id += 1;
                    tracing::debug!(window = id, key = %key, cgroup = %cgroup, "birth window opened");
                    let mut w = Window::new(id, cgroup, r.ts_ns, now.max(r.ts_ns));
                    w.skipped_at_open = self.skipped;
                    self.windows.insert(id, w);
                    self.by_key.insert(key, id);
                    Some(id)
                }
            },
            None => self.procs.get(&r.tgid).and_then(|p| p.window),
        };
        let Some(wid) = wid else {
            if full {
                self.buffer(r, now);
            }
            return;
        };
        if full {
            self.join(r.tgid, wid);
        }
        self.apply(wid, r, &|_, _| None);
    }

    pub(super) fn cgroup_path(
        &mut self,
        hid: u32,
        id: u64,
        wid: Option<u64>,
        resolve: &dyn Fn(u32, u64) -> Option<String>,
    ) -> String {
        if let Some(p) = wid
            .and_then(|w| self.windows.get(&w))
            .and_then(|w| w.ids.get(&(hid, id)))
        {
            return p.clone();
        }
        if let Some(p) = self.paths.get(&(hid, id)) {
            return p.clone();
        }
        let found = resolve(hid, id).or_else(|| self.hier.find_path(hid, id));
        let p = found.unwrap_or_else(|| format!("/<cgroup id {id}>"));
        if self.paths.len() >= MAX_PATH_CACHE {
            self.paths.clear();
        }
        self.paths.insert((hid, id), p.clone());
        p
    }

    pub(super) fn actor(&self, r: &BirthRecord) -> BirthActor {
        if self.procs.get(&r.tgid).is_some_and(|p| p.container) {
            BirthActor::Container
        } else if r.flags == TRACK_WRITES || r.comm.starts_with("kubelet") {
            BirthActor::Kubelet
        } else {
            BirthActor::Runtime
        }
    }

    /// Close due windows and expire waiting processes. `syscalls_of` reads a
    /// live process's count from BPF.
    pub fn tick(&mut self, now: u64, syscalls_of: &dyn Fn(u32) -> Option<u64>) -> Vec<Closed> {
        let timeout = self.settings.timeout.as_nanos() as u64;
        let due: Vec<(u64, BirthCloseReason)> = self
            .windows
            .values()
            .filter_map(|w| {
                if w.close_at.is_some_and(|t| now >= t) {
                    Some((w.id, BirthCloseReason::Entrypoint))
                } else if now >= w.opened_ts + timeout {
                    Some((w.id, BirthCloseReason::Timeout))
                } else {
                    None
                }
            })
            .collect();
        let mut out = Vec::new();
        for (id, reason) in due {
            if let Some(c) = self.close(id, reason, now, syscalls_of) {
                out.push(c);
            }
        }
        let expired: Vec<u32> = self
            .procs
            .iter()
            .filter(|(_, p)| p.window.is_none() && p.prearm_until <= now)
            .map(|(t, _)| *t)
            .collect();
        for t in expired {
            self.procs.remove(&t);
            self.untrack.push(t);
        }
        out
    }

    /// Close every window (shutdown).
    pub fn close_all(&mut self, now: u64, syscalls_of: &dyn Fn(u32) -> Option<u64>) -> Vec<Closed> {
        let ids: Vec<u64> = self.windows.keys().copied().collect();
        let out = ids
            .into_iter()
            .filter_map(|id| self.close(id, BirthCloseReason::Shutdown, now, syscalls_of))
            .collect();
        let waiting: Vec<u32> = self.procs.keys().copied().collect();
        self.untrack.extend(waiting);
        self.procs.clear();
        out
    }

    fn close(
        &mut self,
        id: u64,
        reason: BirthCloseReason,
        now: u64,
        syscalls_of: &dyn Fn(u32) -> Option<u64>,
    ) -> Option<Closed> {
        let w = self.windows.remove(&id)?;
        self.by_key.retain(|_, v| *v != id);
        let live: u64 = w.tgids.iter().filter_map(|t| syscalls_of(*t)).sum();
        for t in &w.tgids {
            self.untrack.push(*t);
        }
        self.forget.extend(
            w.ids
                .keys()
                .filter(|(h, _)| *h == self.cpu_hierarchy_id)
                .map(|(_, id)| *id),
        );
        self.procs.retain(|_, p| p.window != Some(id));
        let wall = w.first_ts as i128 + self.mono_offset_ns;
        let start = std::time::UNIX_EPOCH + Duration::from_nanos(wall.max(0) as u64);
        let event = w.finish(
            reason,
            now,
            w.exited_syscalls + live,
            crate::events::rfc3339(start),
            self.skipped,
        );
        Some(Closed {
            cgroup: w.cgroup.clone(),
            event,
        })
    }
}
