//! NS: clone/clone3/unshare with CLONE_NEW* flags (namespaces created), or
//! setns (namespaces joined: an inode change of that type is then no
//! creation). Flags, order and syscall numbers come from birth.h
//! (`probes::birth` consts, ADR 0085).

use super::{step, Ctx, Effect};
use crate::birth::window::Window;
use crate::events::BirthActor;
use crate::probes::birth::{is_setns, namespaces_in, syscall_name, BirthRecord};

pub(super) fn apply(w: &mut Window, r: &BirthRecord, _: &Ctx<'_>) -> Effect {
    w.observe_ns(&r.ns);
    if is_setns(r.target) {
        for n in namespaces_in(r.arg) {
            w.ns_joined[n.index] = true;
        }
        w.step(step(
            r,
            "namespace-joined",
            format!("setns({})", flag_names(r.arg)),
            BirthActor::Kernel,
            None,
        ));
    } else {
        for n in namespaces_in(r.arg) {
            w.ns_by_syscall[n.index] += 1;
        }
        let types: Vec<&str> = namespaces_in(r.arg).map(|n| n.name).collect();
        w.step(step(
            r,
            "namespace-created",
            format!(
                "{} by {}({})",
                types.join(","),
                syscall_name(r.target),
                flag_names(r.arg)
            ),
            BirthActor::Kernel,
            None,
        ));
    }
    Effect::default()
}

/// "CLONE_NEWPID|CLONE_NEWNET" for the flags set, "0" for none.
fn flag_names(flags: u64) -> String {
    let v: Vec<&str> = namespaces_in(flags).map(|n| n.flag_name).collect();
    if v.is_empty() {
        "0".into()
    } else {
        v.join("|")
    }
}

#[cfg(test)]
mod tests {
    use super::flag_names;
    use crate::probes::birth::NAMESPACES;

    #[test]
    fn flags_are_named_in_namespace_order() {
        let by = |name: &str| NAMESPACES.iter().find(|n| n.name == name).unwrap().flag;
        assert_eq!(
            flag_names(by("net") | by("mnt")),
            "CLONE_NEWNS|CLONE_NEWNET"
        );
        assert_eq!(flag_names(0), "0");
    }
}
