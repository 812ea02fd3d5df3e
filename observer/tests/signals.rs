//! Scenario tests: each provokes one kernel signal in its own cgroup or
//! network namespace and cross-checks what the observer reports against the
//! kernel's own accounting. Needs root and a kernel with BTF; tests
//! serialize themselves (common::serial) because they share two CPUs.

mod common;

use std::time::Duration;

use common::*;

fn has_event(
    events: &[serde_json::Value],
    ty: &str,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> bool {
    events.iter().any(|e| e["type"] == ty && pred(e))
}

#[test]
fn endpoints_and_cgroup_lifecycle_events() {
    let _g = serial();
    let obs = Observer::start(&[]);
    let health: serde_json::Value = serde_json::from_str(&obs.get("/healthz")).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["node"], "test-node");
    assert!(
        health["signals"]["runqueue"]
            .as_str()
            .unwrap()
            .starts_with("tp_btf"),
        "{health}"
    );

    let before = obs.metrics();
    let created0 = before
        .sum("kernel_gossip_cgroup_events_total", &[("event", "created")])
        .unwrap();
    let removed0 = before
        .sum("kernel_gossip_cgroup_events_total", &[("event", "removed")])
        .unwrap();
    let path;
    let hierarchies;
    {
        let cg = Cgroup::new(&["cpu", "memory"]);
        path = cg.path();
        // One event per hierarchy the directory was made in: cpu and
        // memory on v1, the one unified tree on v2.
        let inodes = cg.inodes();
        hierarchies = inodes.len();
        let ev = obs.events_until(Duration::from_secs(5), |e| {
            e.iter()
                .filter(|e| {
                    e["type"] == "cgroup_created" && e["workload"]["cgroup"] == path.as_str()
                })
                .count()
                == hierarchies
        });
        let created: Vec<_> = ev
            .iter()
            .filter(|e| e["type"] == "cgroup_created" && e["workload"]["cgroup"] == path.as_str())
            .collect();
        assert_eq!(
            created.len(),
            hierarchies,
            "one event per hierarchy ({:?}): {ev:?}",
            cg.layout
        );
        let mut ids: Vec<u64> = created
            .iter()
            .map(|e| e["evidence"]["id"].as_u64().unwrap())
            .collect();
        ids.sort();
        // The id the kernel reports is the directory's inode.
        let mut want = inodes.clone();
        want.sort();
        assert_eq!(ids, want, "cgroup ids vs directory inodes");
        if cg.layout == Layout::V2 {
            assert_eq!(created[0]["evidence"]["hierarchy"], "unified");
        }
        assert_eq!(created[0]["node"], "test-node");
        assert_eq!(created[0]["workload"]["kind"], "cgroup");
    }
    let ev = obs.events_until(Duration::from_secs(5), |e| {
        e.iter()
            .filter(|e| e["type"] == "cgroup_removed" && e["workload"]["cgroup"] == path.as_str())
            .count()
            == hierarchies
    });
    assert!(has_event(&ev, "cgroup_removed", |e| e["workload"]
        ["cgroup"]
        == path.as_str()));
    let after = obs.metrics();
    assert!(
        after
            .sum("kernel_gossip_cgroup_events_total", &[("event", "created")])
            .unwrap()
            >= created0 + hierarchies as f64
    );
    assert!(
        after
            .sum("kernel_gossip_cgroup_events_total", &[("event", "removed")])
            .unwrap()
            >= removed0 + hierarchies as f64
    );
    assert!(after
        .text
        .contains("# TYPE kernel_gossip_runqueue_delay_seconds histogram"));
    assert!(
        after.text.ends_with("# EOF\n"),
        "OpenMetrics text must end with # EOF"
    );
}

#[test]
fn cfs_throttling_matches_cpu_stat() {
    let _g = serial();
    let obs = Observer::start(&[]);
    let cg = Cgroup::new(&["cpu", "cpuacct"]);
    cg.set_cpu_limit(20_000, 100_000); // 0.2 cores
    let mut spin = Held::spawn(&[], "while :; do :; done");
    cg.add(spin.pid());
    spin.release();
    std::thread::sleep(Duration::from_millis(1500));
    drop(spin); // killed: counters freeze once nothing is runnable
    std::thread::sleep(Duration::from_millis(400));

    let st = cg.cpu_stat();
    let (nr_periods, nr_throttled) = (st.periods, st.throttled);
    let (throttled_ns, usage_ns) = (st.throttled_ns, st.usage_ns);
    assert!(
        nr_throttled >= 5,
        "spinner under 0.2 cores must be throttled: {nr_throttled}"
    );

    let m = obs.metrics();
    let l = [("cgroup", cg.path())];
    let l: Vec<(&str, &str)> = l.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        m.sum("kernel_gossip_cpu_cfs_periods_total", &l),
        Some(nr_periods as f64)
    );
    assert_eq!(
        m.sum("kernel_gossip_cpu_cfs_throttled_periods_total", &l),
        Some(nr_throttled as f64)
    );
    let ts = m
        .sum("kernel_gossip_cpu_cfs_throttled_seconds_total", &l)
        .unwrap();
    assert!(
        (ts - throttled_ns as f64 / 1e9).abs() < 1e-6,
        "{ts} vs {throttled_ns} ns"
    );
    let us = m.sum("kernel_gossip_cpu_usage_seconds_total", &l).unwrap();
    assert!(
        (us - usage_ns as f64 / 1e9).abs() < 1e-6,
        "{us} vs {usage_ns} ns"
    );
    assert_eq!(m.sum("kernel_gossip_cpu_limit_cores", &l), Some(0.2));

    // The sampler saw throttling start and stop: one closed episode.
    let path = cg.path();
    let ev = obs.events_until(Duration::from_secs(5), |e| {
        has_event(e, "throttle_episode", |e| {
            e["workload"]["cgroup"] == path.as_str()
        })
    });
    let ep = ev
        .iter()
        .find(|e| e["type"] == "throttle_episode" && e["workload"]["cgroup"] == path.as_str())
        .unwrap_or_else(|| panic!("no throttle_episode for {path}: {ev:?}"));
    let tp = ep["evidence"]["throttledPeriods"].as_u64().unwrap();
    assert!(
        tp > 0 && tp <= nr_throttled,
        "episode throttled periods {tp} vs cpu.stat {nr_throttled}"
    );
    let ratio = ep["evidence"]["ratio"].as_f64().unwrap();
    assert!(
        ratio > 0.5 && ratio <= 1.0,
        "a pure spinner at 0.2 cores is throttled nearly every period: {ratio}"
    );
    assert_eq!(ep["evidence"]["limitCores"].as_f64(), Some(0.2));
    assert_eq!(ep["evidence"]["ongoing"].as_bool(), Some(false));
    // The averaged-usage view of the same window: part of what cpuacct counted.
    let usage = ep["evidence"]["usageSeconds"].as_f64().unwrap();
    assert!(
        usage > 0.0 && usage <= usage_ns as f64 / 1e9 + 1e-6,
        "episode usage {usage} s vs cpuacct {usage_ns} ns"
    );
}

/// Waits until `pid` runs sh and sleeps in read(0, …) (state S, /proc/<pid>/syscall
/// "0 0x0 …" on x86_64): no run-queue wait in progress.
fn wait_until_sleeping_in_sh(pid: u32) {
    wait_until_sleeping(pid, "sh", "0 0x0 ");
}

/// Waits until `pid` runs `comm` and sleeps (state S) in the syscall whose
/// /proc/<pid>/syscall line starts with `syscall`.
fn wait_until_sleeping(pid: u32, want: &str, syscall_prefix: &str) {
    let deadline = std::time::Instant::now() + scaled(Duration::from_secs(10));
    loop {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The state follows the parenthesised comm: "pid (comm) S ...".
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().next());
        let syscall = std::fs::read_to_string(format!("/proc/{pid}/syscall")).unwrap_or_default();
        if comm.trim() == want && state == Some("S") && syscall.starts_with(syscall_prefix) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{pid} not asleep in {want}: comm {comm:?} state {state:?} syscall {syscall:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sum of run_delay (ns waiting on a run queue) from /proc/<pid>/task/*/schedstat.
fn run_delay_ns(pid: u32) -> u64 {
    let mut total = 0;
    for t in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let s = std::fs::read_to_string(t.path().join("schedstat")).unwrap_or_default();
        total += s
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    }
    total
}

#[test]
fn runqueue_delay_matches_schedstat() {
    let _g = serial();
    runqueue_scenario(&Observer::start(&[]));
}

/// The raw_tp fallback (used where tp_btf is refused) on this kernel: every
/// signal loads, and run-queue delay still matches the kernel's accounting.
#[test]
fn raw_tp_fallback_serves_every_signal() {
    let _g = serial();
    let obs = Observer::start_with_env(&[], &[("KG_PROG_TYPE", "raw_tp")]);
    let health: serde_json::Value = serde_json::from_str(&obs.get("/healthz")).unwrap();
    for sig in ["cgroups", "runqueue", "oom", "drops", "tcp", "births"] {
        assert_eq!(health["signals"][sig], "raw_tp", "{health}");
    }
    runqueue_scenario(&obs);
}

fn runqueue_scenario(obs: &Observer) {
    let cg = Cgroup::new(&["cpu"]);
    let ncpu = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    // Not pinned: the scheduler migrates waiting spinners between CPUs, and
    // those waits must still add up to what schedstat accounts (ADR 0011).
    let mut spinners: Vec<Held> = (0..ncpu * 3)
        .map(|_| Held::spawn(&[], "while :; do :; done"))
        .collect();
    for s in &spinners {
        cg.add(s.pid());
    }
    // Both bases are taken while no spinner has a wait in progress: each has
    // exec'd sh and sleeps in `read`. A spinner still starting up could be
    // waiting across the bases, and if load balancing migrated it meanwhile the
    // kernel has already added that segment to run_delay (at dequeue, so it is
    // in schedstat's base) while the observer records the whole wait when the
    // task next runs: 1.9 s too much once on a loaded 5.10 guest (observer
    // 8.75 s vs schedstat 6.89 s).
    for s in &spinners {
        wait_until_sleeping_in_sh(s.pid());
    }
    let path = cg.path();
    let l = [("cgroup", path.as_str())];
    let obs_base = obs
        .metrics()
        .sum("kernel_gossip_runqueue_delay_seconds_sum", &l)
        .unwrap_or(0.0);
    let base: u64 = spinners.iter().map(|s| run_delay_ns(s.pid())).sum();
    for s in &mut spinners {
        s.release();
    }
    std::thread::sleep(Duration::from_millis(1500));
    // Stop them (no more waiting on a run queue) before reading both sides.
    for s in &spinners {
        s.signal(libc::SIGSTOP);
    }
    std::thread::sleep(Duration::from_millis(200));
    let kernel: u64 = spinners.iter().map(|s| run_delay_ns(s.pid())).sum::<u64>() - base;
    let m = obs.metrics();
    let count = m
        .sum("kernel_gossip_runqueue_delay_seconds_count", &l)
        .unwrap_or(0.0);
    let sum = m
        .sum("kernel_gossip_runqueue_delay_seconds_sum", &l)
        .unwrap_or(0.0)
        - obs_base;
    let kernel_s = kernel as f64 / 1e9;
    assert!(count >= 10.0, "histogram count {count}");
    // 3 runnable tasks per CPU: about two thirds of the wall time is waiting.
    assert!(kernel_s > 1.0, "kernel run_delay {kernel_s}s");
    let rel = (sum - kernel_s).abs() / kernel_s;
    eprintln!("runqueue: observer sum {sum:.4}s count {count} vs schedstat {kernel_s:.4}s");
    assert!(
        rel < 0.2,
        "observer {sum:.3}s vs kernel schedstat {kernel_s:.3}s ({:.0}% apart)",
        rel * 100.0
    );
    let inf = m
        .sum(
            "kernel_gossip_runqueue_delay_seconds_bucket",
            &[("cgroup", path.as_str()), ("le", "+Inf")],
        )
        .unwrap();
    assert_eq!(inf, count, "+Inf bucket equals count");
    drop(spinners);
}

/// schedstat of one task: (ns on a CPU, ns waiting on a run queue).
fn schedstat(pid: u32) -> (u64, u64) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/schedstat")).unwrap();
    let mut f = s.split_whitespace().map(|v| v.parse::<u64>().unwrap());
    (f.next().unwrap(), f.next().unwrap())
}

fn pin(pid: u32, cpu: usize) {
    // SAFETY: cpu_set_t is plain data; CPU_ZERO/CPU_SET only write into it,
    // and sched_setaffinity reads it for a child of ours.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(cpu, &mut set);
        assert_eq!(
            libc::sched_setaffinity(pid as i32, std::mem::size_of::<libc::cpu_set_t>(), &set),
            0,
            "pin {pid} to CPU {cpu}"
        );
    }
}

/// Who stole my CPU (ADR 0095): a spinner and a latency-sensitive task in two
/// cgroups pinned to one CPU, a third cgroup idle on it. The victim's wait
/// (its schedstat run_delay) is attributed to the spinner, no more than the
/// spinner ran, and the idle cgroup is never blamed.
#[test]
fn stolen_cpu_is_attributed_to_the_spinner() {
    let _g = serial();
    // A low event threshold: the victim waits about 10 ms per 200 ms sampling
    // interval here, and the event is what is checked, not the cut.
    let obs = Observer::start(&["--stolen-event-ms", "2"]);
    let (spin_cg, victim_cg, idle_cg) = (
        Cgroup::new(&["cpu"]),
        Cgroup::new(&["cpu"]),
        Cgroup::new(&["cpu"]),
    );
    // High equal weights for both: the rest of the machine (other test
    // suites share it) takes little of this CPU, so the victim waits on the
    // spinner, as on a quiet node.
    for cg in [&spin_cg, &victim_cg] {
        match cg.layout {
            Layout::Hybrid => cg.write("cpu", "cpu.shares", "65536"),
            Layout::V2 => cg.write("cpu", "cpu.weight", "5000"),
        }
    }
    let ncpu = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let cpu = ncpu - 1;
    let mut idle = Held::spawn(&[], "exec sleep 100000");
    let mut spinner = Held::spawn(&[], "while :; do :; done");
    // Sleeps 1 ms, then works ~1 ms: wakes often, waits each time.
    let mut victim = Held::spawn(
        &[],
        "exec perl -e 'while (1) { select(undef, undef, undef, 0.001); my $x = 0; $x++ for 1 .. 20000; }'",
    );
    // Each asleep in sh's read before it joins its cgroup: a victim still
    // starting up when it joins would wait behind the idle task's exec, a wait
    // the observer rightly blames on the idle cgroup but that is before this
    // test's schedstat baseline (seen on 6.1 guests: 4 ms).
    for h in [&idle, &spinner, &victim] {
        wait_until_sleeping_in_sh(h.pid());
    }
    for (h, cg) in [
        (&idle, &idle_cg),
        (&spinner, &spin_cg),
        (&victim, &victim_cg),
    ] {
        // Pinned after joining: attaching to a v2 cgroup with the cpuset
        // controller enabled resets the task's affinity (5.10, 6.1).
        cg.add(h.pid());
        pin(h.pid(), cpu);
    }
    idle.release();
    spinner.release();
    // The idle cgroup's task must be done running (its exec of sleep) before
    // the victim starts: asleep in nanosleep or clock_nanosleep (35 / 230).
    let deadline = std::time::Instant::now() + scaled(Duration::from_secs(10));
    while !["35 ", "230 "].iter().any(|nr| {
        let sc =
            std::fs::read_to_string(format!("/proc/{}/syscall", idle.pid())).unwrap_or_default();
        sc.starts_with(nr)
    }) {
        assert!(
            std::time::Instant::now() < deadline,
            "the idle task never slept"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    wait_until_sleeping(idle.pid(), "sleep", "");
    std::thread::sleep(Duration::from_millis(100));
    let (spin0, _) = schedstat(spinner.pid());
    let (idle_ran0, _) = schedstat(idle.pid());
    let (_, delay0) = schedstat(victim.pid());
    victim.release();
    std::thread::sleep(scaled(Duration::from_millis(3000)));
    victim.signal(libc::SIGSTOP);
    spinner.signal(libc::SIGSTOP);
    std::thread::sleep(Duration::from_millis(200));
    let (spin1, _) = schedstat(spinner.pid());
    let (idle_ran1, _) = schedstat(idle.pid());
    let (_, delay1) = schedstat(victim.pid());
    let (delay, spun) = ((delay1 - delay0) as f64 / 1e9, (spin1 - spin0) as f64 / 1e9);

    let m = obs.metrics();
    let (vp, sp, ip) = (victim_cg.path(), spin_cg.path(), idle_cg.path());
    let stolen = |culprit: &str| {
        m.sum(
            "kernel_gossip_runqueue_stolen_seconds_total",
            &[("victim_cgroup", vp.as_str()), ("culprit_cgroup", culprit)],
        )
        .unwrap_or(0.0)
    };
    let by_spinner = stolen(&sp);
    let all = m
        .sum(
            "kernel_gossip_runqueue_stolen_seconds_total",
            &[("victim_cgroup", vp.as_str())],
        )
        .unwrap_or(0.0);
    let hist = m
        .sum(
            "kernel_gossip_runqueue_delay_seconds_sum",
            &[("cgroup", vp.as_str())],
        )
        .unwrap_or(0.0);
    eprintln!(
        "stolen: victim run_delay {delay:.4}s (schedstat), by spinner {by_spinner:.4}s, all culprits {all:.4}s, histogram {hist:.4}s, spinner ran {spun:.4}s, self {:.4}s, other {:.4}s, unknown {:.4}s",
        stolen("_self_"),
        stolen("_other_"),
        stolen("_unknown_"),
    );
    assert!(delay > 0.05, "victim waited only {delay}s: no contention?");
    let rel = (by_spinner - delay).abs() / delay;
    assert!(
        rel < 0.10,
        "spinner blamed for {by_spinner:.4}s of the victim's {delay:.4}s run_delay ({:.1}% apart)",
        rel * 100.0
    );
    assert!(
        by_spinner <= spun * 1.001,
        "spinner blamed for {by_spinner:.4}s but ran only {spun:.4}s"
    );
    // The split covers the whole wait: every part adds up to the delay.
    assert!(
        (all - hist).abs() / hist < 0.02,
        "split {all} vs histogram {hist}"
    );
    // The idle cgroup is never blamed for more than it ran while the victim
    // waited: on this host its task sleeps throughout, so nothing at all; in a
    // TCG guest its sleep was seen to run for a few ms now and then (it also
    // waited behind the victim), and those ms may be blamed, no more.
    let idle_ran = (idle_ran1 - idle_ran0) as f64 / 1e9;
    let idle_blamed = stolen(&ip);
    eprintln!("stolen: idle cgroup ran {idle_ran:.4}s, blamed {idle_blamed:.4}s");
    assert!(
        idle_blamed <= idle_ran * 1.001,
        "idle cgroup {ip} blamed for {idle_blamed:.4}s of the victim's wait but ran {idle_ran:.4}s: {}",
        m.text
            .lines()
            .filter(|l| l.contains(vp.as_str()) && l.contains("stolen"))
            .collect::<Vec<_>>()
            .join("\n")
    );

    // The same on /events: a cpu_stolen event naming the spinner first.
    let events = obs.events_until(Duration::from_secs(5), |evs| {
        has_event(evs, "cpu_stolen", |e| {
            e["workload"]["cgroup"] == vp.as_str()
        })
    });
    let ev = events
        .iter()
        .find(|e| e["type"] == "cpu_stolen" && e["workload"]["cgroup"] == vp.as_str())
        .unwrap_or_else(|| panic!("no cpu_stolen event for {vp}"));
    eprintln!("cpu_stolen event: {ev}");
    for l in m.text.lines().filter(|l| l.contains(vp.as_str())) {
        eprintln!("metric: {l}");
    }
    assert_eq!(
        ev["evidence"]["culprits"][0]["workload"]["cgroup"],
        sp.as_str(),
        "{ev}"
    );
    assert!(!events.iter().any(|e| e["type"] == "cpu_stolen"
        && e["workload"]["cgroup"] == vp.as_str()
        && e["evidence"]["culprits"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["workload"]["cgroup"] == ip.as_str()))));
    drop((victim, spinner, idle));
}

#[test]
fn oom_kill_names_the_killed_pid() {
    let _g = serial();
    let obs = Observer::start(&[]);
    let cg = Cgroup::new(&["memory"]);
    cg.set_memory_limit(32 << 20);
    // dd allocates (and touches) a 256 MiB buffer: the memcg OOM killer
    // must kill it. exec keeps the pid we know.
    let mut hog = Held::spawn(&[], "exec dd if=/dev/zero of=/dev/null bs=256M count=1");
    let pid = hog.pid();
    cg.add(pid);
    hog.release();
    let status = hog.child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        status.signal(),
        Some(libc::SIGKILL),
        "dd should be OOM-killed: {status:?}"
    );
    let kernel_kills = cg.oom_kills();
    assert_eq!(kernel_kills, 1);

    let path = cg.path();
    let ev = obs.events_until(Duration::from_secs(5), |e| {
        has_event(e, "oom_kill", |e| e["workload"]["cgroup"] == path.as_str())
    });
    let oom = ev
        .iter()
        .find(|e| e["type"] == "oom_kill" && e["workload"]["cgroup"] == path.as_str())
        .unwrap_or_else(|| panic!("no oom_kill event for {path}: {ev:?}"));
    assert_eq!(oom["evidence"]["pid"].as_u64(), Some(pid as u64), "{oom}");
    assert_eq!(oom["evidence"]["tgid"].as_u64(), Some(pid as u64));
    assert_eq!(oom["evidence"]["comm"], "dd");
    assert_eq!(oom["evidence"]["memcg"], path.as_str());
    let rss = oom["evidence"]["anonRssBytes"].as_u64().unwrap();
    // It was killed at the 32 MiB limit: its anonymous RSS is close to it.
    assert!(rss > (16 << 20) && rss <= (40 << 20), "anon rss {rss}");
    let m = obs.metrics();
    assert_eq!(
        m.sum(
            "kernel_gossip_oom_kills_total",
            &[("cgroup", path.as_str())]
        ),
        Some(kernel_kills as f64)
    );
}

#[test]
fn memcg_reclaim_and_psi_are_attributed_to_the_cgroup() {
    let _g = serial();
    let obs = Observer::start(&[]);
    // On hybrid hosts the memory controller (limit, reclaim) is v1 and PSI
    // is kept per cgroup2 cgroup, so the writer also joins a cgroup2
    // ("unified") one; on v2 both are the one directory.
    let cg = Cgroup::new(&["memory", "unified"]);
    cg.set_memory_limit(48 << 20);
    // Page cache beyond the limit is reclaimable: writing 160 MiB to a disk
    // file inside a 48 MiB memcg forces memcg direct reclaim, not OOM. Synced
    // writes (dsync) keep that cache clean: dirty pages wait for writeback,
    // and on a slow disk (a TCG guest's, 6.12, 2026-12-06) a memcg full of
    // them OOM-killed dd.
    let file = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(unique("kg-reclaim"));
    struct Rm(std::path::PathBuf);
    impl Drop for Rm {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let _rm = Rm(file.clone());
    let mut w = Held::spawn(
        &[],
        &format!(
            "exec dd if=/dev/zero of={} bs=1M count=160 oflag=dsync",
            file.display()
        ),
    );
    cg.add(w.pid());
    w.release();
    let st = w.child.wait().unwrap();
    assert!(st.success(), "dd failed: {st:?}");
    let failcnt = cg.limit_hits();
    assert!(failcnt > 0, "the limit was never hit");
    let m = obs.metrics();
    let path = cg.path();
    let l = [("cgroup", path.as_str())];
    let runs = m
        .sum("kernel_gossip_memcg_reclaims_total", &l)
        .unwrap_or(0.0);
    let secs = m
        .sum("kernel_gossip_memcg_reclaim_seconds_total", &l)
        .unwrap_or(0.0);
    eprintln!("reclaim: {runs} runs, {secs:.6}s; memory.failcnt {failcnt}");
    assert!(runs >= 1.0, "no reclaim attributed to {path}");
    // Every memcg direct reclaim follows a failed charge, which bumps failcnt.
    assert!(
        runs <= failcnt as f64,
        "{runs} reclaims > failcnt {failcnt}"
    );
    assert!(secs > 0.0);

    // PSI: reclaim stalls are memory stalls. Nothing runs in the cgroup any
    // more, so the kernel's total is final and must match exactly.
    let some_us = cg.memory_stall_some_us();
    assert!(some_us > 0, "no memory stall recorded");
    let ours = m
        .sum(
            "kernel_gossip_memory_pressure_stall_seconds_total",
            &[("cgroup", path.as_str()), ("kind", "some")],
        )
        .unwrap();
    assert!(
        (ours - some_us as f64 / 1e6).abs() < 1e-9,
        "{ours} vs {some_us} us"
    );
}

/// Packets counted by the first rule of `chain` in namespace `ns` (iptables -v -x).
fn iptables_packets(pair: &NetnsPair, ns: &str, chain: &str) -> u64 {
    let out = pair.exec(ns, &format!("iptables -L {chain} -v -x -n"));
    out.lines()
        .nth(2)
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn packet_drops_by_reason_match_iptables_counter() {
    let _g = serial();
    let obs = Observer::start(&[]);
    let pair = NetnsPair::new();
    // A process living in namespace b, inside our cgroup: it owns the netns.
    let cg = Cgroup::new(&["cpu"]);
    let mut owner = Held::spawn(&["ip", "netns", "exec", &pair.b], "sleep 600");
    cg.add(owner.pid());
    owner.release();
    pair.exec(&pair.b, "iptables -A INPUT -p udp --dport 9999 -j DROP");
    let target = format!("{}:9999", pair.ip_b);
    const N: usize = 500;
    NetnsPair::in_ns(&pair.a, move || {
        let sock = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
        for i in 0..N {
            sock.send_to(format!("kg {i}").as_bytes(), &target).unwrap();
            if i % 50 == 0 {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    });
    let path = cg.path();
    // Wait until the rule's counter stops moving (all packets processed).
    let mut last = u64::MAX;
    let dropped = wait_for(
        "iptables to count the drops",
        Duration::from_secs(10),
        || {
            let n = iptables_packets(&pair, &pair.b, "INPUT");
            let settled = n == last && n >= (N / 2) as u64;
            last = n;
            settled.then_some(n)
        },
    );
    // Kernels whose kfree_skb passes no reason (before 5.17) count every
    // dropped packet as reason "unknown" (doctor says so); then drops in b
    // that are not the rule's (none are expected in a fresh namespace) would
    // show too.
    let reasons = kernel_facts()["tracepoints"]["kfree_skb"]
        .as_array()
        .is_some_and(|a| a.len() >= 3);
    let reason = if reasons { "NETFILTER_DROP" } else { "unknown" };
    let l = [("cgroup", path.as_str()), ("reason", reason)];
    let seen = wait_for(
        "observer to count the drops",
        Duration::from_secs(5),
        || {
            let v = obs.metrics().sum("kernel_gossip_packet_drops_total", &l)?;
            (v >= dropped as f64).then_some(v)
        },
    );
    eprintln!("drops: observer {seen} (reason {reason}) vs iptables rule {dropped}");
    if reasons {
        assert_eq!(
            seen, dropped as f64,
            "observer vs iptables DROP rule counter"
        );
    } else {
        // Without reasons every kfree_skb() in the namespace counts, and a
        // few frees there are not the rule's (ADR 0065; 509 vs 500 measured
        // on 5.10): at least the rule's, and not many more.
        let most = dropped as f64 * 1.05 + 10.0;
        assert!(
            seen >= dropped as f64 && seen <= most,
            "observer {seen} (reason unknown) vs iptables DROP rule counter {dropped}"
        );
    }
    let ev = obs.events_until(Duration::from_secs(5), |e| {
        has_event(e, "drop_burst", |e| {
            e["workload"]["cgroup"] == path.as_str() && e["evidence"]["reason"] == reason
        })
    });
    let burst = ev
        .iter()
        .find(|e| e["type"] == "drop_burst" && e["workload"]["cgroup"] == path.as_str())
        .unwrap_or_else(|| panic!("no drop_burst for {path}: {ev:?}"));
    assert_eq!(
        burst["evidence"]["netns"].as_u64(),
        Some(NetnsPair::netns_inode(&pair.b))
    );
    drop(owner);
}

#[test]
fn tcp_retransmits_and_resets_match_snmp_counters() {
    let _g = serial();
    let obs = Observer::start(&["--retransmit-burst-threshold", "1"]);
    let pair = NetnsPair::new();
    let (cg_a, cg_b) = (Cgroup::new(&["cpu"]), Cgroup::new(&["cpu"]));
    let mut owner_a = Held::spawn(&["ip", "netns", "exec", &pair.a], "sleep 600");
    let mut owner_b = Held::spawn(&["ip", "netns", "exec", &pair.b], "sleep 600");
    cg_a.add(owner_a.pid());
    cg_b.add(owner_b.pid());
    owner_a.release();
    owner_b.release();

    let listener = NetnsPair::in_ns(&pair.b, || {
        std::net::TcpListener::bind("0.0.0.0:7777").unwrap()
    });
    let server = std::thread::spawn(move || {
        // Accept and read everything until the peer closes.
        if let Ok((mut s, _)) = listener.accept() {
            let mut buf = [0u8; 4096];
            use std::io::Read;
            while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
        }
    });
    let target = format!("{}:7777", pair.ip_b);
    let client = NetnsPair::in_ns(&pair.a, move || {
        std::net::TcpStream::connect(&target).unwrap()
    });
    use std::io::Write;
    (&client).write_all(b"hello").unwrap();
    std::thread::sleep(Duration::from_millis(100));

    let retrans0 = pair.snmp(&pair.a, "Tcp", "RetransSegs");
    // Black-hole the flow for a while: a's socket retransmits (RTO backoff
    // 200 ms, 400 ms, 800 ms ...), then the path heals.
    pair.exec(&pair.b, "iptables -A INPUT -p tcp --dport 7777 -j DROP");
    (&client)
        .write_all(b"lost until the rule goes away")
        .unwrap();
    std::thread::sleep(Duration::from_millis(1700));
    pair.exec(&pair.b, "iptables -D INPUT -p tcp --dport 7777 -j DROP");
    std::thread::sleep(Duration::from_millis(1500));
    drop(client);
    let _ = server.join();

    // A reset from a socket: b's server closes a connection with unread
    // data, so b sends a reset and a receives it.
    let rst_out0 = pair.snmp(&pair.b, "Tcp", "OutRsts");
    let listener = NetnsPair::in_ns(&pair.b, || {
        std::net::TcpListener::bind("0.0.0.0:7779").unwrap()
    });
    let target = format!("{}:7779", pair.ip_b);
    let peer = NetnsPair::in_ns(&pair.a, move || {
        std::net::TcpStream::connect(&target).unwrap()
    });
    (&peer).write_all(b"never read").unwrap();
    let (conn, _) = listener.accept().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    drop(conn); // unread data: close sends a reset
    std::thread::sleep(Duration::from_millis(200));
    let rst_socket = pair.snmp(&pair.b, "Tcp", "OutRsts") - rst_out0;
    assert!(rst_socket >= 1, "closing with unread data sends a reset");
    drop(peer);
    // A SYN to a closed port: b answers with a reset that has no socket.
    let rst_out1 = pair.snmp(&pair.b, "Tcp", "OutRsts");
    let target = format!("{}:7778", pair.ip_b);
    let refused = NetnsPair::in_ns(&pair.a, move || {
        std::net::TcpStream::connect(&target).is_err()
    });
    assert!(refused);
    let rst_no_socket = pair.snmp(&pair.b, "Tcp", "OutRsts") - rst_out1;
    // Kernels whose tcp_send_reset needs a socket do not trace the second
    // kind at all (doctor says so): then only the first can be counted.
    let traced_without_socket = kernel_facts()["tcp_reset_without_socket"] == true;
    let rst_out = rst_socket
        + if traced_without_socket {
            rst_no_socket
        } else {
            0
        };
    // a is a fresh namespace: every retransmit in it is this test's.
    let retrans = pair.snmp(&pair.a, "Tcp", "RetransSegs");
    assert!(
        retrans >= retrans0 + 2,
        "kernel counted {retrans} retransmits"
    );

    let (pa, pb) = (cg_a.path(), cg_b.path());
    let m = wait_for("resets in metrics", Duration::from_secs(5), || {
        let m = obs.metrics();
        m.sum(
            "kernel_gossip_tcp_resets_total",
            &[("cgroup", pa.as_str()), ("direction", "received")],
        )
        .filter(|v| *v >= 1.0)
        .map(|_| m)
    });
    let seen = m
        .sum(
            "kernel_gossip_tcp_retransmits_total",
            &[("cgroup", pa.as_str())],
        )
        .unwrap_or(0.0);
    eprintln!(
        "tcp: observer {seen} retransmits vs RetransSegs {retrans} (TLP {}, fail {}); OutRsts {rst_out}",
        pair.proc_net(&pair.a, "netstat", "TcpExt", "TCPLossProbes"),
        pair.proc_net(&pair.a, "netstat", "TcpExt", "TCPRetransFail"),
    );
    // The kernel skips a tracing program re-entered on the same CPU (a
    // softirq retransmit interrupting a process-context one, on any socket of
    // the host) and counts it as a recursion miss. On the 6.18 host (a
    // Firecracker VM) it also, rarely, does not run the program at all for a
    // retransmit whose timer softirq runs on the thread of the VM's init
    // (preempt depth 2), and counts nothing: a tracefs instance watching the
    // same tracepoint saw 5 hits where the program was entered 4 times and
    // recursion_misses stayed 0 (about 1 run in 25 with both cores busy; never
    // seen in the guests). That one uncounted skip is allowed, and said.
    let missed = m
        .sum(
            "kernel_gossip_bpf_program_recursion_misses_total",
            &[("program", "tcp_retransmit")],
        )
        .unwrap_or(0.0);
    let skipped = (retrans as f64 - seen - missed).max(0.0);
    if skipped > 0.0 {
        eprintln!("tcp: {skipped} retransmit(s) the kernel did not run the program for, and did not count as a miss");
    }
    assert!(
        seen <= retrans as f64 && skipped <= 1.0,
        "retransmits attributed to a's workload {seen} (+{missed} recursion misses) vs a's RetransSegs {retrans}"
    );
    let sent = m
        .sum(
            "kernel_gossip_tcp_resets_total",
            &[("cgroup", pb.as_str()), ("direction", "sent")],
        )
        .unwrap_or(0.0);
    assert_eq!(
        sent, rst_out as f64,
        "resets sent from b vs b's OutRsts ({rst_socket} from a socket, {rst_no_socket} without; those traced on this kernel: {})",
        if traced_without_socket { "both" } else { "from a socket" }
    );
    let ev = obs.events_until(Duration::from_secs(5), |e| {
        has_event(e, "retransmit_burst", |e| {
            e["workload"]["cgroup"] == pa.as_str()
        })
    });
    assert!(
        has_event(&ev, "retransmit_burst", |e| e["workload"]["cgroup"]
            == pa.as_str()),
        "{ev:?}"
    );
    drop((owner_a, owner_b));
}

/// BPF program ids referenced by `pid`'s open fds (program and link fds
/// show `prog_id:` in /proc/<pid>/fdinfo).
fn progs_held_by(pid: u32) -> Vec<u64> {
    let mut ids: Vec<u64> = std::fs::read_dir(format!("/proc/{pid}/fdinfo"))
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter_map(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("prog_id:").map(|v| v.trim().parse().ok()))
                .flatten()
        })
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

#[test]
fn sigterm_detaches_every_program() {
    let _g = serial();
    let mut obs = Observer::start(&[]);
    let ids = progs_held_by(obs.pid());
    // cgroup mkdir/rmdir, runqlat, oom, netdrop, 3 tcp, 2 memreclaim.
    assert!(ids.len() >= 9, "programs held by the observer: {ids:?}");
    let st = obs
        .terminate()
        .expect("observer did not exit within 10 s of SIGTERM");
    assert!(st.success(), "exit status {st:?}");
    // The kernel frees released programs asynchronously (RCU / workqueue):
    // give it a moment.
    let mut still = Vec::new();
    for _ in 0..50 {
        let live = sh("bpftool prog show -j");
        let v: serde_json::Value = serde_json::from_str(&live).unwrap();
        still = v
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["id"].as_u64())
            .filter(|id| ids.contains(id))
            .collect();
        if still.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        still.is_empty(),
        "programs still loaded 5 s after exit: {still:?}"
    );
}

#[test]
fn doctor_reports_every_signal_available() {
    let _g = serial();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kernel-gossip-observer"))
        .args(["doctor", "--json"])
        .env("KG_LOG", "error")
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["required_ok"], true);
    let signals = report["signals"].as_array().unwrap();
    for name in [
        "cgroups", "cpu", "runqueue", "oom", "memory", "drops", "tcp", "births",
    ] {
        let s = signals
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(s["ok"], true, "{s}");
    }
    let types = report["program_types"].as_array().unwrap();
    let ok = |t: &str| {
        types
            .iter()
            .find(|x| x["name"] == t)
            .map(|x| x["ok"] == true)
    };
    assert_eq!(ok("tp_btf"), Some(true));
    assert_eq!(ok("raw_tp"), Some(true));
    // fentry/kprobe are reported either way; they are not required.
    assert!(ok("fentry").is_some() && ok("kprobe").is_some());
}

#[test]
fn cardinality_cap_folds_into_overflow() {
    let _g = serial();
    let obs = Observer::start(&["--max-workloads", "1"]);
    // Two limited cgroups for one slot: whichever workload the observer met
    // first (the root, another cgroup on this host, or one of ours) holds it,
    // so at least one of ours must be folded, whatever the order.
    let a = Cgroup::new(&["cpu"]);
    let b = Cgroup::new(&["cpu"]);
    a.set_cpu_limit(50_000, 100_000);
    b.set_cpu_limit(50_000, 100_000);
    // The observer learns of new cgroups from the cgroup_mkdir ring buffer,
    // asynchronously: scrape until both have reached its index.
    let m = wait_for("an overflow series", Duration::from_secs(10), || {
        let m = obs.metrics();
        m.sum("kernel_gossip_cpu_limit_cores", &[("cgroup", "_overflow_")])
            .map(|_| m)
    });
    let own = |c: &Cgroup| {
        m.sum(
            "kernel_gossip_cpu_limit_cores",
            &[("cgroup", c.path().as_str())],
        )
        .is_some()
    };
    assert!(
        !(own(&a) && own(&b)),
        "two workloads exported with a cap of one"
    );
    assert!(m.sum("kernel_gossip_workloads_folded_total", &[]).unwrap() >= 1.0);
}

#[test]
fn signals_flag_limits_what_is_loaded() {
    let _g = serial();
    let obs = Observer::start(&["--signals", "cpu,oom"]);
    let health: serde_json::Value = serde_json::from_str(&obs.get("/healthz")).unwrap();
    let sigs = health["signals"].as_object().unwrap();
    assert_eq!(sigs.len(), 2, "{health}");
    assert_eq!(sigs["cpu"], "cgroupfs");
    assert!(sigs["oom"].as_str().unwrap().ends_with("tp_btf"));
    let m = obs.metrics();
    assert!(!m.text.contains("kernel_gossip_runqueue_delay"));
    assert!(m.text.contains("kernel_gossip_cpu_usage_seconds_total"));
    assert!(m.text.contains("probe=\"oom\""));
    assert!(!m.text.contains("probe=\"runqlat\""));
}

/// A TCP connection to `addr` with a tiny receive buffer: a client that
/// reads slowly (here: never).
fn slow_client(addr: &str) -> std::net::TcpStream {
    use std::os::fd::FromRawFd;
    let sa: std::net::SocketAddrV4 = addr.parse().unwrap();
    // SAFETY: plain socket(2); the fd is checked and then owned by TcpStream.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
    assert!(fd >= 0);
    let small: libc::c_int = 4096;
    // SAFETY: valid fd, pointer to a c_int and its size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            &small as *const _ as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as u32,
        )
    };
    assert_eq!(rc, 0);
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as u16,
        sin_port: sa.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*sa.ip()).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: valid fd and a sockaddr_in of the stated size.
    let rc = unsafe {
        libc::connect(
            fd,
            &sin as *const _ as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_in>() as u32,
        )
    };
    assert_eq!(rc, 0, "connect: {}", std::io::Error::last_os_error());
    // SAFETY: fd is a connected socket we own exclusively.
    unsafe { std::net::TcpStream::from_raw_fd(fd) }
}

#[test]
fn a_stalled_events_client_is_dropped_not_waited_for() {
    let _g = serial();
    let obs = Observer::start(&[]);
    let mut slow = slow_client(&obs.addr);
    use std::io::Write;
    write!(slow, "GET /events HTTP/1.1\r\nHost: test\r\n\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // Thousands of real cgroup events while the client reads nothing.
    let parent = Cgroup::new(&["cpu"]);
    for i in 0..6000 {
        let d = parent.dir("cpu").join(format!("c{i}"));
        std::fs::create_dir(&d).unwrap();
        std::fs::remove_dir(&d).unwrap();
    }
    let dropped = wait_for(
        "the slow client to be dropped",
        Duration::from_secs(20),
        || {
            let m = obs.metrics();
            let d = m.sum("kernel_gossip_event_clients_dropped_total", &[])?;
            (d >= 1.0).then_some(d)
        },
    );
    assert_eq!(dropped, 1.0);
    // The observer kept publishing and serving throughout.
    // Every kernel event was either published or counted as lost (ring
    // buffer full during the storm): self-observation adds up.
    let accounted = |m: &Metrics| {
        m.sum("kernel_gossip_events_published_total", &[])
            .unwrap_or(0.0)
            + m.sum(
                "kernel_gossip_events_lost_total",
                &[("source", "cgroup_events")],
            )
            .unwrap_or(0.0)
    };
    wait_for("all events accounted for", Duration::from_secs(20), || {
        (accounted(&obs.metrics()) >= 12000.0).then_some(())
    });
    let m = obs.metrics();
    eprintln!(
        "storm: published {:?}, lost {:?}",
        m.sum("kernel_gossip_events_published_total", &[]),
        m.sum(
            "kernel_gossip_events_lost_total",
            &[("source", "cgroup_events")]
        )
    );
    // The observer still serves and still tracks cgroups after the storm.
    let cg = Cgroup::new(&["cpu"]);
    cg.set_cpu_limit(30_000, 100_000);
    let l = [("cgroup", cg.path())];
    let l: Vec<(&str, &str)> = l.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let limit = wait_for("new cgroup in metrics", Duration::from_secs(10), || {
        obs.metrics().sum("kernel_gossip_cpu_limit_cores", &l)
    });
    assert_eq!(limit, 0.3);
    drop(slow);
}
