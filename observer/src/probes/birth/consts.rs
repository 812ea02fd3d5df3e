//! The kernel constants birth records carry, taken from birth.h through the
//! skeleton's generated enums (ADR 0085): tracked-process flags, the order of
//! `birth_record.ns[]`, the CLONE_NEW* flags and the syscall numbers of the
//! build's architecture. Only the names userspace shows are spelled here,
//! each keyed by the C constant it names.

use super::skel::types;
use types::birth_clone_flag as Flag;
use types::birth_ns_index as Ns;
use types::birth_syscall_nr as Nr;

/// `struct birth_tracked.flags` (enum birth_track_flags): cgroup file writes
/// only (a long-lived agent such as the kubelet).
pub const TRACK_WRITES: u32 = types::birth_track_flags::BIRTH_TRACK_WRITES.0;
/// A runtime or container process: syscalls counted, forks followed.
pub const TRACK_FULL: u32 = types::birth_track_flags::BIRTH_TRACK_FULL.0;

/// The length of `birth_record.ns[]` (BIRTH_NS_TYPES).
const fn ns_len<const N: usize>(_: fn(&types::birth_record) -> &[u32; N]) -> usize {
    N
}
pub const NS_TYPES: usize = ns_len(|r| &r.ns);

/// One namespace type as birth records report it.
#[derive(Debug)]
pub struct Namespace {
    /// Index of its inode in `birth_record.ns[]` (enum birth_ns_index).
    pub index: usize,
    /// The CLONE_NEW* flag that creates one (enum birth_clone_flag).
    pub flag: u64,
    /// Its name in events (`namespacesCreated.<name>`, the TS model's
    /// NAMESPACE_TYPES).
    pub name: &'static str,
    /// The flag's name in timeline details.
    pub flag_name: &'static str,
}

const fn ns(index: Ns, flag: Flag, name: &'static str, flag_name: &'static str) -> Namespace {
    Namespace {
        index: index.0 as usize,
        flag: flag.0 as u64,
        name,
        flag_name,
    }
}

/// Every namespace type, in birth.h's index order (a test holds it to that).
pub const NAMESPACES: [Namespace; NS_TYPES] = [
    ns(
        Ns::BIRTH_NS_MNT,
        Flag::BIRTH_CLONE_NEWNS,
        "mnt",
        "CLONE_NEWNS",
    ),
    ns(
        Ns::BIRTH_NS_UTS,
        Flag::BIRTH_CLONE_NEWUTS,
        "uts",
        "CLONE_NEWUTS",
    ),
    ns(
        Ns::BIRTH_NS_IPC,
        Flag::BIRTH_CLONE_NEWIPC,
        "ipc",
        "CLONE_NEWIPC",
    ),
    ns(
        Ns::BIRTH_NS_PID,
        Flag::BIRTH_CLONE_NEWPID,
        "pid",
        "CLONE_NEWPID",
    ),
    ns(
        Ns::BIRTH_NS_NET,
        Flag::BIRTH_CLONE_NEWNET,
        "net",
        "CLONE_NEWNET",
    ),
    ns(
        Ns::BIRTH_NS_USER,
        Flag::BIRTH_CLONE_NEWUSER,
        "user",
        "CLONE_NEWUSER",
    ),
    ns(
        Ns::BIRTH_NS_CGROUP,
        Flag::BIRTH_CLONE_NEWCGROUP,
        "cgroup",
        "CLONE_NEWCGROUP",
    ),
    ns(
        Ns::BIRTH_NS_TIME,
        Flag::BIRTH_CLONE_NEWTIME,
        "time",
        "CLONE_NEWTIME",
    ),
];

/// The namespace types whose CLONE_NEW* flag is set in `flags`, in index
/// order.
pub fn namespaces_in(flags: u64) -> impl Iterator<Item = &'static Namespace> {
    NAMESPACES.iter().filter(move |n| flags & n.flag != 0)
}

/// The name of an NS record's syscall (its `target`).
pub fn syscall_name(nr: u32) -> &'static str {
    match Nr(nr) {
        Nr::BIRTH_NR_CLONE => "clone",
        Nr::BIRTH_NR_CLONE3 => "clone3",
        Nr::BIRTH_NR_UNSHARE => "unshare",
        Nr::BIRTH_NR_SETNS => "setns",
        _ => "syscall",
    }
}

/// Whether an NS record's syscall joined namespaces rather than made them.
pub fn is_setns(nr: u32) -> bool {
    Nr(nr) == Nr::BIRTH_NR_SETNS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_follow_birth_h_order_and_cover_every_slot() {
        assert_eq!(NS_TYPES, types::birth_record::default().ns.len());
        for (i, n) in NAMESPACES.iter().enumerate() {
            assert_eq!(n.index, i, "{} is not at its birth.h index", n.name);
        }
        let flags: u64 = NAMESPACES.iter().map(|n| n.flag).sum();
        assert_eq!(
            flags.count_ones() as usize,
            NS_TYPES,
            "one distinct flag each"
        );
    }

    #[test]
    fn flags_and_syscalls_name_the_c_constants() {
        let unshare = Flag::BIRTH_CLONE_NEWPID.0 as u64 | Flag::BIRTH_CLONE_NEWNET.0 as u64;
        let names: Vec<&str> = namespaces_in(unshare).map(|n| n.name).collect();
        assert_eq!(names, ["pid", "net"]);
        assert_eq!(syscall_name(Nr::BIRTH_NR_UNSHARE.0), "unshare");
        assert!(is_setns(Nr::BIRTH_NR_SETNS.0));
        assert!(!is_setns(Nr::BIRTH_NR_CLONE.0));
        assert_eq!(syscall_name(Nr::BIRTH_NR_WRITE.0), "syscall");
    }
}
