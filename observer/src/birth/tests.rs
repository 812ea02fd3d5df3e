//! The tracker end to end (every record kind's handler, windows, waiting
//! processes) over hand-built records shaped like what runc 1.1 produces (the
//! real sequence is covered by tests/births.rs).

use std::time::Duration;

use super::hierarchies::Hierarchies;
use super::{BirthSettings, Tracker};
use crate::events::{BirthActor, BirthCloseReason};
use crate::probes::birth::{BirthRecord, Kind, TRACK_FULL, TRACK_WRITES};

const MS: u64 = 1_000_000;
const UID: &str = "11111111-2222-3333-4444-555555555555";

fn rec(kind: Kind, ts_ms: u64, tgid: u32) -> BirthRecord {
    BirthRecord {
        ts_ns: ts_ms * MS,
        arg: 0,
        kind,
        pid: tgid,
        tgid,
        ppid: 1,
        target: 0,
        hierarchy_id: 0,
        level: 0,
        flags: TRACK_FULL,
        ns: [10, 11, 12, 13, 14, 15, 16, 17],
        comm: "runc".into(),
        value: String::new(),
        path: String::new(),
    }
}

fn tracker() -> Tracker {
    let hier = Hierarchies::parse(
        "1:cpu:/\n4:memory:/\n",
        "1 0 0:1 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n2 0 0:2 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n",
    );
    let s = BirthSettings {
        grace: Duration::from_millis(100),
        sandbox_grace: Duration::from_millis(100),
        timeout: Duration::from_secs(2),
        prearm: Duration::from_secs(1),
    };
    Tracker::new(s, hier, 1, 0)
}

fn none(_: u32, _: u64) -> Option<String> {
    None
}

fn container_start(t: &mut Tracker, tgid: u32, uid: &str, id: &str, t0: u64) {
    let pod = format!("/kg/kubepods/besteffort/pod{uid}");
    let ctr = format!("{pod}/{id}");
    let mut e = rec(Kind::Exec, t0, tgid);
    e.path = "/usr/sbin/runc".into();
    t.on_record(e, t0 * MS, &none);
    for (h, cid) in [(1u32, 100u64), (4, 200)] {
        let mut m = rec(Kind::Mkdir, t0 + 1, tgid);
        m.hierarchy_id = h;
        m.arg = cid;
        m.path = pod.clone();
        t.on_record(m.clone(), 0, &none);
        m.arg = cid + 1;
        m.path = ctr.clone();
        t.on_record(m, 0, &none);
    }
    let mut a = rec(Kind::Attach, t0 + 2, tgid);
    a.target = tgid + 1;
    a.hierarchy_id = 1;
    a.path = ctr.clone();
    t.on_record(a, 0, &none);
    let mut n = rec(Kind::Ns, t0 + 3, tgid + 2);
    n.target = 272;
    n.arg = 0x0002_0000 | 0x0400_0000 | 0x0800_0000 | 0x2000_0000 | 0x4000_0000;
    let mut f = rec(Kind::Fork, t0 + 3, tgid + 1);
    f.target = tgid + 2;
    t.on_record(f, 0, &none);
    t.on_record(n, 0, &none);
    let mut w = rec(Kind::Write, t0 + 4, tgid);
    w.hierarchy_id = 1;
    w.arg = 101;
    w.path = "cpu.cfs_quota_us".into();
    w.value = "50000".into();
    t.on_record(w, 0, &none);
    let mut x = rec(Kind::Exec, t0 + 5, tgid + 2);
    x.arg = 101; // cpu cgroup of the container
    x.path = "/bin/sleep".into();
    t.on_record(x, 0, &none);
}

#[test]
fn a_runc_start_becomes_one_complete_birth() {
    let mut t = tracker();
    container_start(&mut t, 1000, UID, &"a".repeat(64), 10);
    assert_eq!(t.open_windows(), 1);
    assert!(t.needs_syscalls());
    assert!(t.tick(16 * MS, &|_| Some(7)).is_empty(), "grace not over");
    let closed = t.tick(200 * MS, &|_| Some(7));
    assert_eq!(closed.len(), 1);
    let e = &closed[0].event;
    assert_eq!(
        closed[0].cgroup,
        format!("/kg/kubepods/besteffort/pod{UID}")
    );
    assert!(e.complete);
    assert_eq!(e.close_reason, BirthCloseReason::Entrypoint);
    // First event: the runc exec at 10 ms; entrypoint at 15 ms.
    assert!(
        (e.duration_seconds - 0.005).abs() < 1e-9,
        "{}",
        e.duration_seconds
    );
    assert_eq!(e.namespaces_created.pid, Some(1));
    assert_eq!(e.namespaces_created.net, Some(1));
    assert_eq!(e.namespaces_created.user, None);
    assert_eq!(e.cgroups_created.len(), 4);
    assert_eq!(
        e.cgroup_files_written[0].path,
        format!(
            "/sys/fs/cgroup/cpu/kg/kubepods/besteffort/pod{UID}/{}/cpu.cfs_quota_us",
            "a".repeat(64)
        )
    );
    assert_eq!(e.cgroup_files_written[0].value, "50000");
    assert_eq!(e.containers.len(), 1);
    assert_eq!(e.containers[0].entrypoint.as_deref(), Some("/bin/sleep"));
    assert_eq!(e.forks, 1);
    assert_eq!(e.execs, 2);
    // Three live processes (runc, runc init, its child) read 7 each.
    assert_eq!(e.syscalls, 21);
    // mkdirs in two hierarchies merge into one step per cgroup.
    let mk: Vec<_> = e
        .timeline
        .iter()
        .filter(|s| s.action == "cgroup-created")
        .collect();
    assert_eq!(mk.len(), 2);
    assert!(mk[0].detail.starts_with("cpu,memory "), "{}", mk[0].detail);
    let entry = e
        .timeline
        .iter()
        .find(|s| s.action == "entrypoint-exec")
        .unwrap();
    assert_eq!(entry.actor, BirthActor::Container);
    assert!(!t.needs_syscalls());
    let mut un = t.take_untrack();
    un.sort();
    assert_eq!(un, vec![1000, 1001, 1002]);
}

#[test]
fn overlapping_starts_stay_apart() {
    let mut t = tracker();
    for i in 0..10u32 {
        let uid = format!("{i:08}-2222-3333-4444-555555555555");
        container_start(&mut t, 1000 + 10 * i, &uid, &format!("{i}").repeat(64), 10);
    }
    assert_eq!(t.open_windows(), 10);
    let closed = t.tick(500 * MS, &|_| Some(1));
    assert_eq!(closed.len(), 10);
    for c in &closed {
        assert!(c.event.complete);
        assert_eq!(c.event.containers.len(), 1);
        assert_eq!(c.event.syscalls, 3);
        assert_eq!(c.event.namespaces_created.mnt, Some(1));
    }
}

#[test]
fn a_pod_cgroup_alone_times_out_incomplete() {
    let mut t = tracker();
    let mut m = rec(Kind::Mkdir, 5, 42);
    m.flags = TRACK_WRITES;
    m.comm = "mkdir".into();
    m.path = format!("/kubepods/besteffort/pod{UID}");
    t.on_record(m, 5 * MS, &none);
    // A kubelet-style write, attributed by the cgroup path.
    let mut w = rec(Kind::Write, 6, 42);
    w.flags = TRACK_WRITES;
    w.hierarchy_id = 1;
    w.arg = 9;
    w.path = "cpu.shares".into();
    w.value = "2\n".into();
    let resolve = |_: u32, _: u64| Some(format!("/kubepods/besteffort/pod{UID}"));
    t.on_record(w, 6 * MS, &resolve);
    assert!(t.tick(1000 * MS, &|_| None).is_empty());
    let closed = t.tick(2006 * MS, &|_| None);
    assert_eq!(closed.len(), 1);
    let e = &closed[0].event;
    assert!(!e.complete);
    assert_eq!(e.close_reason, BirthCloseReason::Timeout);
    assert_eq!(e.cgroup_files_written[0].value, "2");
    assert_eq!(e.timeline[0].actor, BirthActor::Kubelet);
    assert!(e.containers.is_empty());
}

#[test]
fn a_runtime_that_makes_no_cgroup_expires() {
    let mut t = tracker();
    let mut e = rec(Kind::Exec, 1, 7);
    e.path = "/usr/sbin/runc".into();
    t.on_record(e, MS, &none);
    assert!(t.needs_syscalls(), "pre-armed");
    assert!(t.tick(500 * MS, &|_| None).is_empty());
    assert!(t.needs_syscalls());
    t.tick(1002 * MS, &|_| None);
    assert!(!t.needs_syscalls());
    assert_eq!(t.take_untrack(), vec![7]);
    // An exit before the deadline disarms at once.
    let mut e = rec(Kind::Exec, 2000, 8);
    e.path = "/usr/sbin/runc".into();
    t.on_record(e, 2000 * MS, &none);
    t.on_record(rec(Kind::Exit, 2001, 8), 2001 * MS, &none);
    assert!(!t.needs_syscalls());
}

/// kubelet restarting a crashed container: a new container cgroup under a pod
/// cgroup made long before. The new window's container is not the sandbox.
#[test]
fn a_restart_window_has_no_sandbox() {
    let mut t = tracker();
    container_start(&mut t, 1000, UID, &"a".repeat(64), 10);
    let first = t.tick(200 * MS, &|_| Some(7));
    assert!(
        first[0].event.containers[0].sandbox,
        "a pod start's first container"
    );
    // The restart: only the container cgroup is made.
    let id = "b".repeat(64);
    let ctr = format!("/kg/kubepods/besteffort/pod{UID}/{id}");
    let mut e = rec(Kind::Exec, 1000, 3000);
    e.path = "/usr/sbin/runc".into();
    t.on_record(e, 1000 * MS, &none);
    let mut m = rec(Kind::Mkdir, 1001, 3000);
    m.hierarchy_id = 1;
    m.arg = 301;
    m.path = ctr;
    t.on_record(m, 0, &none);
    let mut x = rec(Kind::Exec, 1005, 3002);
    x.arg = 301;
    x.path = "/bin/true".into();
    let mut f = rec(Kind::Fork, 1003, 3000);
    f.target = 3002;
    t.on_record(f, 0, &none);
    t.on_record(x, 0, &none);
    let closed = t.tick(1300 * MS, &|_| Some(7));
    assert_eq!(closed.len(), 1);
    let c = &closed[0].event.containers;
    assert_eq!(c.len(), 1);
    assert!(
        !c[0].sandbox,
        "a restarted container is not the sandbox: {c:?}"
    );
    assert!(closed[0].event.complete);
}

#[test]
fn an_entrypoint_whose_fork_the_kernel_skipped_joins_by_its_cgroup() {
    let mut t = tracker();
    t.note_skipped(40);
    let pod = format!("/kg/kubepods/besteffort/pod{UID}");
    let ctr = format!("{pod}/{}", "c".repeat(64));
    let mut e = rec(Kind::Exec, 10, 1000);
    e.path = "/usr/sbin/runc".into();
    t.on_record(e, 10 * MS, &none);
    for (path, cid) in [(&pod, 100u64), (&ctr, 101)] {
        let mut m = rec(Kind::Mkdir, 11, 1000);
        m.hierarchy_id = 1;
        m.arg = cid;
        m.path = path.clone();
        t.on_record(m, 0, &none);
    }
    // No fork or attach record for pid 2000 (skipped): BPF followed its exec
    // because it ran in the container's cgroup (cpu cgroup id 101).
    let mut x = rec(Kind::Exec, 15, 2000);
    x.ppid = 1;
    x.arg = 101;
    x.comm = "sleep".into();
    x.path = "/bin/sleep".into();
    t.on_record(x, 0, &none);
    t.note_skipped(43);
    let closed = t.tick(200 * MS, &|_| Some(1));
    assert_eq!(closed.len(), 1);
    let e = &closed[0].event;
    assert!(e.complete, "{e:#?}");
    assert_eq!(e.containers[0].entrypoint.as_deref(), Some("/bin/sleep"));
    assert_eq!(e.skipped_kernel_events, 3);
    // Both processes leave the BPF map, and the container cgroups (cpu
    // hierarchy, the one exec records carry) leave birth_cgroups.
    let mut gone = t.take_untrack();
    gone.sort();
    assert_eq!(gone, vec![1000, 2000]);
    let mut forget = t.take_forget();
    forget.sort();
    assert_eq!(forget, vec![100, 101]);
}

#[test]
fn an_exec_followed_by_cgroup_without_a_window_is_dropped_at_once() {
    let mut t = tracker();
    // A health check exec'd in a container whose window already closed.
    let mut x = rec(Kind::Exec, 10, 3000);
    x.ppid = 2999;
    x.arg = 555;
    x.path = "/bin/true".into();
    t.on_record(x, 10 * MS, &none);
    assert_eq!(t.take_untrack(), vec![3000]);
    assert!(!t.needs_syscalls(), "no pre-arm for it");
}
