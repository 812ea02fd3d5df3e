//! What one birth record does to its capture window: one handler per record
//! kind (`mkdir.rs` … `ns.rs`, birth.h's enum birth_record_kind). The tracker
//! reads what a handler needs before lending it the window (`Ctx`), and
//! applies what the handler reports about processes afterwards (`Effect`).

mod attach;
mod exec;
mod exit;
mod fork;
mod mkdir;
mod ns;
mod write;

pub(super) use exec::runtime_binary;

use super::hierarchies::Hierarchies;
use super::procs::Proc;
use super::settings::BirthSettings;
use super::tracker::Tracker;
use super::window::Step;
use crate::events::BirthActor;
use crate::probes::birth::{BirthRecord, Kind};

/// What a handler gets besides the window and the record.
pub(super) struct Ctx<'a> {
    /// Who acted, from the tracker's process table and the record's flags.
    pub actor: BirthActor,
    /// Controller name(s) of the record's hierarchy ("cpu,cpuacct", "unified").
    pub hierarchy: String,
    pub hier: &'a Hierarchies,
    pub settings: &'a BirthSettings,
    /// Hierarchy whose cgroup id exec records carry (cpu on v1, 0 on v2).
    pub cpu_hierarchy_id: u32,
    /// WRITE: the path of the cgroup whose file was written.
    pub write_cgroup: Option<String>,
}

/// What a record changes in the tracker's process table.
#[derive(Default)]
pub(super) struct Effect {
    /// A process that joins the window as a child of the actor (FORK: the
    /// child; ATTACH: the task moved into the cgroup).
    pub joined: Option<u32>,
    /// The actor exec'd a container's entrypoint.
    pub container: bool,
    /// The actor exited.
    pub exited: bool,
}

/// A timeline step of record `r`.
fn step(
    r: &BirthRecord,
    action: &'static str,
    detail: String,
    actor: BirthActor,
    key: Option<String>,
) -> Step {
    Step {
        ts: r.ts_ns,
        actor,
        action,
        detail,
        pid: r.pid,
        comm: r.comm.clone(),
        key,
    }
}

impl Tracker {
    /// Apply record `r` to window `wid`. `resolve` names a cgroup id the
    /// tracker has not seen made (the observer's cgroup index).
    pub(super) fn apply(
        &mut self,
        wid: u64,
        r: BirthRecord,
        resolve: &dyn Fn(u32, u64) -> Option<String>,
    ) {
        let actor = self.actor(&r);
        let write_cgroup = (r.kind == Kind::Write)
            .then(|| self.cgroup_path(r.hierarchy_id, r.arg, Some(wid), resolve));
        let Some(w) = self.windows.get_mut(&wid) else {
            return;
        };
        let cx = Ctx {
            actor,
            hierarchy: self.hier.name(r.hierarchy_id),
            hier: &self.hier,
            settings: &self.settings,
            cpu_hierarchy_id: self.cpu_hierarchy_id,
            write_cgroup,
        };
        w.note_ts(r.ts_ns);
        let effect = match r.kind {
            Kind::Mkdir => mkdir::apply(w, &r, &cx),
            Kind::Attach => attach::apply(w, &r, &cx),
            Kind::Fork => fork::apply(w, &r, &cx),
            Kind::Exec => exec::apply(w, &r, &cx),
            Kind::Exit => exit::apply(w, &r, &cx),
            Kind::Write => write::apply(w, &r, &cx),
            Kind::Ns => ns::apply(w, &r, &cx),
        };
        self.settle(wid, &r, effect);
    }

    fn settle(&mut self, wid: u64, r: &BirthRecord, e: Effect) {
        if let Some(t) = e.joined {
            // A fork of a container process is the container's too.
            let inherit = self.procs.get(&r.tgid).is_some_and(|p| p.container);
            let p = self.procs.entry(t).or_insert(Proc {
                window: Some(wid),
                parent: r.tgid,
                ..Default::default()
            });
            p.window = Some(wid);
            p.container |= inherit && r.kind == Kind::Fork;
        }
        if e.container {
            if let Some(p) = self.procs.get_mut(&r.tgid) {
                p.container = true;
            }
        }
        if e.exited {
            self.procs.remove(&r.tgid);
        }
    }
}
