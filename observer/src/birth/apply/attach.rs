//! ATTACH: a tracked process moved a task into a cgroup (runc puts `runc
//! init` into the container's cgroups); the task joins the window.

use super::{step, Ctx, Effect};
use crate::birth::window::Window;
use crate::events::BirthActor;
use crate::probes::birth::BirthRecord;

pub(super) fn apply(w: &mut Window, r: &BirthRecord, cx: &Ctx<'_>) -> Effect {
    w.tgids.insert(r.target);
    w.step(step(
        r,
        "task-attached",
        format!("{} {} <- pid {}", cx.hierarchy, r.path, r.target),
        BirthActor::Kernel,
        Some(format!("attach {} {}", r.target, r.path)),
    ));
    Effect {
        joined: Some(r.target),
        ..Default::default()
    }
}
