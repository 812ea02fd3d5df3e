//! MKDIR: a cgroup directory made in the window (by a tracked process, or a
//! pod/container path made by anyone). A container cgroup adds a container
//! and reopens a pod that was about to close.

use super::{step, Ctx, Effect};
use crate::birth::key::{window_key, WindowKey};
use crate::birth::window::Window;
use crate::probes::birth::{BirthRecord, TRACK_FULL};

pub(super) fn apply(w: &mut Window, r: &BirthRecord, cx: &Ctx<'_>) -> Effect {
    w.ids.insert((r.hierarchy_id, r.arg), r.path.clone());
    w.add_cgroup(cx.hierarchy.clone(), r.path.clone());
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
    // One step per cgroup: the same path in other hierarchies merges into it.
    w.step(step(
        r,
        "cgroup-created",
        format!("{} {}", cx.hierarchy, r.path),
        cx.actor,
        Some(format!("mkdir {}", r.path)),
    ));
    Effect::default()
}
