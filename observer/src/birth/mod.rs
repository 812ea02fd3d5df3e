//! Birth capture (ADR 0016): turns the birth probe's raw records into one
//! capture window per pod (key: pod UID) or bare container (key: its cgroup),
//! decides when the syscall program must be attached, and closes windows at
//! the last entrypoint exec + a grace period, or on a timeout.
//!
//! Pure bookkeeping: no BPF or I/O except the bounded cgroupfs walk used to
//! name cgroups this observer did not see being made. `State` feeds records
//! and ticks and applies the effects (attach/detach, untrack, publish).

pub mod hierarchies;
pub mod stats;
pub mod window;

use std::collections::HashMap;
use std::time::Duration;

use crate::events::{BirthActor, BirthCloseReason, BirthEvent};
use crate::probes::birth::{BirthRecord, Kind, NS_NAMES, TRACK_FULL, TRACK_WRITES};
use crate::workload::{self, Kind as WKind};
use hierarchies::Hierarchies;
use window::{Step, Window};

/// Open windows at most; more concurrent births are counted, not captured.
pub const MAX_WINDOWS: usize = 256;
/// Processes waiting to join a window (runtime execs, their children).
const MAX_PENDING: usize = 4096;
/// Records buffered per waiting process.
const MAX_PENDING_RECORDS: usize = 64;
/// Cached cgroup id → path lookups.
const MAX_PATH_CACHE: usize = 8192;

#[derive(Clone, Copy, Debug)]
pub struct BirthSettings {
    /// After the last entrypoint exec, wait this long for another container.
    pub grace: Duration,
    /// Same, when only a pod's first (sandbox) container has started: kubelet
    /// creates the app containers after the sandbox's network is set up.
    pub sandbox_grace: Duration,
    /// A window closes incomplete this long after it opened.
    pub timeout: Duration,
    /// How long a runtime exec keeps the syscall program attached while
    /// waiting for the runtime to make a cgroup.
    pub prearm: Duration,
}

impl Default for BirthSettings {
    fn default() -> Self {
        BirthSettings {
            grace: Duration::from_millis(1000),
            sandbox_grace: Duration::from_millis(5000),
            timeout: Duration::from_secs(60),
            prearm: Duration::from_secs(5),
        }
    }
}

/// A process the tracker knows about.
#[derive(Debug, Default)]
struct Proc {
    window: Option<u64>,
    parent: u32,
    /// Ran (or descends from) a container entrypoint.
    container: bool,
    /// Records seen before the process joined a window.
    pending: Vec<BirthRecord>,
    /// Waiting for a window until this monotonic time.
    prearm_until: u64,
}

/// A closed window ready to publish.
#[derive(Debug)]
pub struct Closed {
    /// Workload cgroup path (pod cgroup, or the bare container's).
    pub cgroup: String,
    pub event: BirthEvent,
}

pub struct Tracker {
    settings: BirthSettings,
    hier: Hierarchies,
    /// Hierarchy whose cgroup id exec records carry (cpu on v1, 0 on v2).
    cpu_hierarchy_id: u32,
    mono_offset_ns: i128,
    next_id: u64,
    windows: HashMap<u64, Window>,
    by_key: HashMap<String, u64>,
    procs: HashMap<u32, Proc>,
    paths: HashMap<(u32, u64), String>,
    /// tgids to delete from the BPF tracked map.
    untrack: Vec<u32>,
    /// Births not captured because MAX_WINDOWS were open.
    pub dropped: u64,
}

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// Files a runtime execs on its way to the entrypoint (runc re-execs itself
/// through /proc/self/exe or a memfd); never an entrypoint.
fn runtime_binary(path: &str) -> bool {
    let b = basename(path);
    path.starts_with("/proc/self/")
        || path.starts_with("/memfd:")
        || path.starts_with("/dev/fd/")
        || b.starts_with("runc")
        || b == "crun"
        || b.starts_with("containerd-shim")
        || b == "conmon"
}

fn flag_names(flags: u64) -> String {
    const F: [(u64, &str); 8] = [
        (0x0002_0000, "CLONE_NEWNS"),
        (0x0400_0000, "CLONE_NEWUTS"),
        (0x0800_0000, "CLONE_NEWIPC"),
        (0x2000_0000, "CLONE_NEWPID"),
        (0x4000_0000, "CLONE_NEWNET"),
        (0x1000_0000, "CLONE_NEWUSER"),
        (0x0200_0000, "CLONE_NEWCGROUP"),
        (0x0000_0080, "CLONE_NEWTIME"),
    ];
    let v: Vec<&str> = F
        .iter()
        .filter(|(b, _)| flags & b != 0)
        .map(|(_, n)| *n)
        .collect();
    if v.is_empty() {
        "0".into()
    } else {
        v.join("|")
    }
}

/// Index in NS_NAMES of each CLONE_NEW* bit.
fn ns_indexes(flags: u64) -> Vec<usize> {
    const BITS: [u64; 8] = [
        0x0002_0000,
        0x0400_0000,
        0x0800_0000,
        0x2000_0000,
        0x4000_0000,
        0x1000_0000,
        0x0200_0000,
        0x0000_0080,
    ];
    (0..BITS.len()).filter(|&i| flags & BITS[i] != 0).collect()
}

fn syscall_name(nr: u32) -> &'static str {
    // x86-64 numbers, as in birth.bpf.c.
    match nr {
        56 | 220 => "clone",
        435 => "clone3",
        272 | 97 => "unshare",
        308 | 268 => "setns",
        _ => "syscall",
    }
}

const NR_SETNS: [u32; 2] = [308, 268];

/// Where a pod or container cgroup belongs.
struct WindowKey {
    /// "pod:<uid>" or "ctr:<cgroup>".
    key: String,
    /// Workload cgroup: the pod's, or the bare container's.
    cgroup: String,
    /// (container id, container cgroup) when the path is a container's.
    container: Option<(String, String)>,
}

/// The window key of a cgroup path, when it is a pod or container cgroup.
fn window_key(path: &str) -> Option<WindowKey> {
    let w = workload::parse(path);
    let container = w
        .container_id
        .clone()
        .filter(|_| w.kind == WKind::Container)
        .map(|id| (id, w.cgroup.clone()));
    match (&w.kind, &w.pod_uid) {
        (WKind::Pod | WKind::Container, Some(uid)) => Some(WindowKey {
            key: format!("pod:{uid}"),
            cgroup: w.pod_level().cgroup,
            container,
        }),
        (WKind::Container, None) => Some(WindowKey {
            key: format!("ctr:{}", w.cgroup),
            cgroup: w.cgroup.clone(),
            container,
        }),
        _ => None,
    }
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
                    self.windows
                        .insert(id, Window::new(id, cgroup, r.ts_ns, now.max(r.ts_ns)));
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

    /// Put `tgid` and its waiting ancestors into window `wid`, replaying
    /// what they did before (a shim's and runc's execs, parent cgroups).
    fn join(&mut self, tgid: u32, wid: u64) {
        let mut chain = Vec::new();
        let mut cur = tgid;
        while chain.len() < 16 {
            let Some(p) = self.procs.get(&cur) else { break };
            if p.window.is_some() && cur != tgid {
                break;
            }
            chain.push(cur);
            cur = p.parent;
        }
        if chain.is_empty() {
            chain.push(tgid);
        }
        let mut replay = Vec::new();
        for t in &chain {
            let p = self.procs.entry(*t).or_default();
            if p.window.is_some() {
                continue;
            }
            p.window = Some(wid);
            replay.append(&mut p.pending);
            if let Some(w) = self.windows.get_mut(&wid) {
                w.tgids.insert(*t);
            }
        }
        // Children that forked before the join wait too.
        let waiting: Vec<u32> = self
            .procs
            .iter()
            .filter(|(_, p)| p.window.is_none() && chain.contains(&p.parent))
            .map(|(t, _)| *t)
            .collect();
        for t in waiting {
            if let Some(p) = self.procs.get_mut(&t) {
                p.window = Some(wid);
                replay.append(&mut p.pending);
                if let Some(w) = self.windows.get_mut(&wid) {
                    w.tgids.insert(t);
                }
            }
        }
        replay.sort_by_key(|r| r.ts_ns);
        for r in replay {
            self.apply(wid, r, &|_, _| None);
        }
    }

    /// Keep a record of a process that has no window yet.
    fn buffer(&mut self, r: BirthRecord, now: u64) {
        let until = r.ts_ns.max(now) + self.settings.prearm.as_nanos() as u64;
        match r.kind {
            Kind::Exit => {
                self.procs.remove(&r.tgid);
                return;
            }
            Kind::Exec | Kind::Mkdir => {
                if !self.procs.contains_key(&r.tgid) && self.procs.len() >= MAX_PENDING {
                    return;
                }
                let p = self.procs.entry(r.tgid).or_default();
                p.parent = r.ppid;
                p.prearm_until = until;
            }
            Kind::Fork | Kind::Attach
                if self.procs.contains_key(&r.tgid) && self.procs.len() < MAX_PENDING =>
            {
                // A child (fork) or a task moved into a cgroup (attach) of a
                // waiting runtime waits with it.
                self.procs.entry(r.target).or_insert(Proc {
                    parent: r.tgid,
                    prearm_until: until,
                    ..Default::default()
                });
            }
            _ => {}
        }
        if let Some(p) = self.procs.get_mut(&r.tgid) {
            if p.pending.len() < MAX_PENDING_RECORDS {
                p.pending.push(r);
            }
        }
    }

    fn cgroup_path(
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

    fn actor(&self, r: &BirthRecord) -> BirthActor {
        if self.procs.get(&r.tgid).is_some_and(|p| p.container) {
            BirthActor::Container
        } else if r.flags == TRACK_WRITES || r.comm.starts_with("kubelet") {
            BirthActor::Kubelet
        } else {
            BirthActor::Runtime
        }
    }

    fn apply(&mut self, wid: u64, r: BirthRecord, resolve: &dyn Fn(u32, u64) -> Option<String>) {
        let actor = self.actor(&r);
        let write_path = (r.kind == Kind::Write)
            .then(|| self.cgroup_path(r.hierarchy_id, r.arg, Some(wid), resolve));
        let hname = self.hier.name(r.hierarchy_id);
        let (grace, sandbox_grace) = (self.settings.grace, self.settings.sandbox_grace);
        let cpu_hid = self.cpu_hierarchy_id;
        let mut new_proc: Option<(u32, Proc)> = None;
        let mut became_container = false;
        let mut exited = false;
        let Some(w) = self.windows.get_mut(&wid) else {
            return;
        };
        w.note_ts(r.ts_ns);
        let step =
            |action: &'static str, detail: String, actor: BirthActor, key: Option<String>| Step {
                ts: r.ts_ns,
                actor,
                action,
                detail,
                pid: r.pid,
                comm: r.comm.clone(),
                key,
            };
        match r.kind {
            Kind::Mkdir => {
                w.ids.insert((r.hierarchy_id, r.arg), r.path.clone());
                w.add_cgroup(hname.clone(), r.path.clone());
                if r.flags & TRACK_FULL != 0 {
                    w.observe_ns(&r.ns);
                }
                if let Some(WindowKey {
                    key,
                    container: Some((id, cg)),
                    ..
                }) = window_key(&r.path)
                {
                    let same = key.starts_with("pod:") || cg == w.cgroup;
                    if same && w.add_container(id, &cg) {
                        // A new container: the pod is not done starting.
                        w.close_at = None;
                    }
                }
                let detail = format!("{hname} {}", r.path);
                w.step(step(
                    "cgroup-created",
                    detail,
                    actor,
                    Some(format!("mkdir {}", r.path)),
                ));
            }
            Kind::Attach => {
                w.tgids.insert(r.target);
                new_proc = Some((
                    r.target,
                    Proc {
                        window: Some(wid),
                        parent: r.tgid,
                        ..Default::default()
                    },
                ));
                let detail = format!("{hname} {} <- pid {}", r.path, r.target);
                w.step(step(
                    "task-attached",
                    detail,
                    BirthActor::Kernel,
                    Some(format!("attach {} {}", r.target, r.path)),
                ));
            }
            Kind::Fork => {
                w.forks += 1;
                w.tgids.insert(r.target);
                w.observe_ns(&r.ns);
                new_proc = Some((
                    r.target,
                    Proc {
                        window: Some(wid),
                        parent: r.tgid,
                        ..Default::default()
                    },
                ));
                w.step(step("fork", format!("pid {}", r.target), actor, None));
            }
            Kind::Exec => {
                w.execs += 1;
                w.observe_ns(&r.ns);
                let cg = w.ids.get(&(cpu_hid, r.arg)).cloned();
                let mut actor = actor;
                if let Some(cg) = cg {
                    let pod_window = w.containers.len() > 1 || w.cgroup != cg;
                    if let Some(c) = w
                        .containers
                        .iter_mut()
                        .find(|c| c.cgroup == cg && c.entrypoint.is_none())
                    {
                        if !runtime_binary(&r.path) {
                            c.entrypoint = Some(r.path.clone());
                            c.entrypoint_ts = Some(r.ts_ns);
                            let g = if c.sandbox && pod_window {
                                sandbox_grace
                            } else {
                                grace
                            };
                            w.close_at = Some(r.ts_ns + g.as_nanos() as u64);
                            became_container = true;
                            actor = BirthActor::Container;
                        }
                    }
                }
                let action = if became_container {
                    "entrypoint-exec"
                } else {
                    "exec"
                };
                w.step(step(action, r.path.clone(), actor, None));
            }
            Kind::Exit => {
                w.exited_syscalls += r.arg;
                w.tgids.remove(&r.tgid);
                exited = true;
            }
            Kind::Write => {
                let cg = write_path.unwrap_or_default();
                let path = self.hier.file_path(r.hierarchy_id, &cg, &r.path);
                let value = r.value.trim_end_matches('\n').to_string();
                w.add_file(path.clone(), value.clone());
                w.step(step(
                    "cgroup-file-written",
                    format!("{path} = {value}"),
                    actor,
                    None,
                ));
            }
            Kind::Ns => {
                let name = syscall_name(r.target);
                w.observe_ns(&r.ns);
                if NR_SETNS.contains(&r.target) {
                    for i in ns_indexes(r.arg) {
                        w.ns_joined[i] = true;
                    }
                    w.step(step(
                        "namespace-joined",
                        format!("setns({})", flag_names(r.arg)),
                        BirthActor::Kernel,
                        None,
                    ));
                } else {
                    for i in ns_indexes(r.arg) {
                        w.ns_by_syscall[i] += 1;
                    }
                    let types: Vec<&str> = ns_indexes(r.arg).iter().map(|&i| NS_NAMES[i]).collect();
                    w.step(step(
                        "namespace-created",
                        format!("{} by {name}({})", types.join(","), flag_names(r.arg)),
                        BirthActor::Kernel,
                        None,
                    ));
                }
            }
        }
        if let Some((t, p)) = new_proc {
            let inherit = self.procs.get(&r.tgid).is_some_and(|pp| pp.container);
            let e = self.procs.entry(t).or_insert(p);
            e.window = Some(wid);
            e.container |= inherit && r.kind == Kind::Fork;
        }
        if became_container {
            if let Some(p) = self.procs.get_mut(&r.tgid) {
                p.container = true;
            }
        }
        if exited {
            self.procs.remove(&r.tgid);
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
        self.procs.retain(|_, p| p.window != Some(id));
        let wall = w.first_ts as i128 + self.mono_offset_ns;
        let start = std::time::UNIX_EPOCH + Duration::from_nanos(wall.max(0) as u64);
        let event = w.finish(
            reason,
            now,
            w.exited_syscalls + live,
            crate::events::rfc3339(start),
        );
        Some(Closed {
            cgroup: w.cgroup.clone(),
            event,
        })
    }
}

#[cfg(test)]
mod tests;
