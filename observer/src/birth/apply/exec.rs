//! EXEC: a tracked process exec'd. The first exec in a container's cgroup
//! that is not the runtime itself is the container's entrypoint: the window
//! then closes after a grace period (longer after a pod's sandbox alone).

use super::{step, Ctx, Effect};
use crate::birth::window::Window;
use crate::events::BirthActor;
use crate::probes::birth::BirthRecord;

pub(super) fn apply(w: &mut Window, r: &BirthRecord, cx: &Ctx<'_>) -> Effect {
    w.execs += 1;
    w.observe_ns(&r.ns);
    let mut actor = cx.actor;
    let mut entrypoint = false;
    // EXEC records carry the exec'ing task's cpu cgroup id.
    if let Some(cg) = w.ids.get(&(cx.cpu_hierarchy_id, r.arg)).cloned() {
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
                    cx.settings.sandbox_grace
                } else {
                    cx.settings.grace
                };
                w.close_at = Some(r.ts_ns + g.as_nanos() as u64);
                entrypoint = true;
                actor = BirthActor::Container;
            }
        }
    }
    let action = if entrypoint {
        "entrypoint-exec"
    } else {
        "exec"
    };
    w.step(step(r, action, r.path.clone(), actor, None));
    Effect {
        container: entrypoint,
        ..Default::default()
    }
}

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// Files a runtime execs on its way to the entrypoint (runc re-execs itself
/// through /proc/self/exe or a memfd); never an entrypoint.
pub(in crate::birth) fn runtime_binary(path: &str) -> bool {
    let b = basename(path);
    path.starts_with("/proc/self/")
        || path.starts_with("/memfd:")
        || path.starts_with("/dev/fd/")
        || b.starts_with("runc")
        || b == "crun"
        || b.starts_with("containerd-shim")
        || b == "conmon"
}

#[cfg(test)]
mod tests {
    use super::runtime_binary;

    #[test]
    fn runtime_reexecs_are_not_entrypoints() {
        for p in [
            "/usr/sbin/runc",
            "/proc/self/exe",
            "/memfd:runc_cloned:/proc/self/exe (deleted)",
            "/usr/bin/containerd-shim-runc-v2",
            "/usr/bin/crun",
            "/usr/bin/conmon",
        ] {
            assert!(runtime_binary(p), "{p}");
        }
        for p in ["/bin/sleep", "/pause", "/usr/local/bin/runner"] {
            assert!(!runtime_binary(p), "{p}");
        }
    }
}
