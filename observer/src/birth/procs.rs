//! Processes the tracker follows (ADR 0017): a runtime exec'd before its
//! cgroups exist waits, with its children, for the window its first cgroup
//! opens, its records buffered; joining the window replays them.

use super::apply::runtime_binary;
use super::tracker::Tracker;
use crate::probes::birth::{BirthRecord, Kind};

/// Processes waiting to join a window (runtime execs, their children).
const MAX_PENDING: usize = 4096;
/// Records buffered per waiting process.
const MAX_PENDING_RECORDS: usize = 64;

/// A process the tracker knows about.
#[derive(Debug, Default)]
pub(super) struct Proc {
    pub window: Option<u64>,
    pub parent: u32,
    /// Ran (or descends from) a container entrypoint.
    pub container: bool,
    /// Records seen before the process joined a window.
    pub pending: Vec<BirthRecord>,
    /// Waiting for a window until this monotonic time.
    pub prearm_until: u64,
}

impl Tracker {
    /// Put `tgid` and its waiting ancestors into window `wid`, replaying
    /// what they did before (a shim's and runc's execs, parent cgroups).
    pub(super) fn join(&mut self, tgid: u32, wid: u64) {
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
    pub(super) fn buffer(&mut self, r: BirthRecord, now: u64) {
        let until = r.ts_ns.max(now) + self.settings.prearm.as_nanos() as u64;
        match r.kind {
            Kind::Exit => {
                self.procs.remove(&r.tgid);
                return;
            }
            Kind::Exec
                if !self.procs.contains_key(&r.tgid)
                    && !self.procs.contains_key(&r.ppid)
                    && !runtime_binary(&r.path) =>
            {
                // Followed by its cgroup (a container cgroup whose window
                // closed or never opened), not a runtime: nothing to wait for.
                self.untrack.push(r.tgid);
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
}
