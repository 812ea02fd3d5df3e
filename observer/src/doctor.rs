//! `kernel-gossip-observer doctor`: what this host supports, per signal.

use std::path::Path;

use serde::Serialize;

use crate::host::{self, CgroupLayout};
use crate::probes::{self, probe_types, LoadCfg};
use crate::run::load_probes;
use crate::signals::{self, Signal};

#[derive(Serialize)]
struct Check {
    name: String,
    ok: bool,
    detail: String,
}

#[derive(Serialize)]
struct Report {
    /// What the kernel's BTF says and the program variants chosen from it.
    kernel: &'static probes::kernel::Kernel,
    choices: Vec<Check>,
    checks: Vec<Check>,
    program_types: Vec<Check>,
    signals: Vec<Check>,
    required_ok: bool,
}

fn check(name: &str, r: Result<String, String>) -> Check {
    match r {
        Ok(detail) => Check {
            name: name.into(),
            ok: true,
            detail,
        },
        Err(detail) => Check {
            name: name.into(),
            ok: false,
            detail,
        },
    }
}

/// Returns the process exit code: 0 when every required signal works.
pub fn run(json: bool) -> i32 {
    let mut checks = Vec::new();
    checks.push(check(
        "btf",
        match libbpf_rs::Btf::from_vmlinux() {
            Ok(b) => Ok(format!("/sys/kernel/btf/vmlinux: {} types", b.len())),
            Err(e) => Err(format!(
                "kernel BTF unusable: {e} (need CONFIG_DEBUG_INFO_BTF=y)"
            )),
        },
    ));
    let tracefs = if host::is_mounted(host::TRACEFS, "tracefs") {
        Ok(format!("mounted at {}", host::TRACEFS))
    } else {
        match host::ensure_tracefs() {
            Ok(()) => Ok(format!("was not mounted; mounted it at {}", host::TRACEFS)),
            Err(e) => Err(format!("{e:#}")),
        }
    };
    checks.push(check("tracefs", tracefs));
    checks.push(check(
        "bpffs",
        if host::is_mounted(host::BPFFS, "bpf") {
            Ok(format!(
                "mounted at {} (not required: nothing is pinned)",
                host::BPFFS
            ))
        } else {
            Ok(format!(
                "not mounted at {} (not required: nothing is pinned)",
                host::BPFFS
            ))
        },
    ));
    let layout = CgroupLayout::detect();
    checks.push(check(
        "cgroup",
        match &layout {
            Ok(l) if l.v2 => Ok("cgroup v2 (unified)".into()),
            Ok(l) => Ok(format!(
                "cgroup v1{} (cpu hierarchy {} at {}, memory hierarchy {} at {})",
                if l.unified_root.is_some() {
                    " hybrid"
                } else {
                    ""
                },
                l.cpu_hierarchy_id,
                l.cpu_root.display(),
                l.memory_hierarchy_id,
                l.memory_root.display()
            )),
            Err(e) => Err(format!("{e:#}")),
        },
    ));
    checks.push(check(
        "psi",
        match std::fs::read_to_string("/proc/pressure/memory") {
            Ok(_) => Ok(
                match layout.as_ref().ok().and_then(|l| l.unified_root.clone()) {
                    Some(u) => format!("on; per-cgroup memory.pressure under {}", u.display()),
                    None => "on system-wide; no cgroup2 mount for per-cgroup files".into(),
                },
            ),
            Err(e) => Err(format!("/proc/pressure/memory: {e} (boot with psi=1)")),
        },
    ));
    let kernel = probes::kernel::Kernel::get();
    checks.push(check(
        "drop_reasons",
        if kernel.kfree_skb_reason() {
            let nf = kernel
                .drop_reasons
                .iter()
                .find(|(_, n)| n.as_str() == "NETFILTER_DROP")
                .map(|(v, _)| *v);
            Ok(format!(
                "enum skb_drop_reason: {} values (NETFILTER_DROP = {:?})",
                kernel.drop_reasons.len(),
                nf
            ))
        } else {
            Err(format!(
                "skb:kfree_skb on {} passes no drop reason (added in 5.17): drops are counted with reason=\"{}\"",
                kernel.release,
                probes::netdrop::UNKNOWN_REASON
            ))
        },
    ));
    checks.push(check(
        "bpf_stats",
        probes::stats::enable()
            .map(|_| "BPF_ENABLE_STATS works".to_string())
            .map_err(|e| format!("{e:#}")),
    ));

    let program_types: Vec<Check> = probe_types::TYPES
        .iter()
        .map(|(ty, prog)| {
            let extra =
                if *ty == "kprobe" && !Path::new("/sys/bus/event_source/devices/kprobe").exists() {
                    " (no kprobe PMU: CONFIG_KPROBES off?)"
                } else {
                    ""
                };
            check(
                ty,
                probe_types::check(prog)
                    .map(|_| "loads and attaches".into())
                    .map_err(|e| format!("{e:#}{extra}")),
            )
        })
        .collect();

    let mut sigs = Vec::new();
    if let Ok(l) = &layout {
        let cfg = LoadCfg {
            cgroup_v2: l.v2,
            page_size: host::page_size(),
            kernel: probes::kernel::Kernel::get(),
            attribution: true,
        };
        // Really load and attach every probe, then drop (detach) it.
        let (probes, status) = load_probes(l, cfg, signals::ALL);
        for st in status {
            let r = match st.source {
                Some(src) if st.signal == Signal::Births => birth_syscalls(&probes)
                    .map(|()| describe(st.signal, &src))
                    .map_err(|e| format!("sys_enter program: {e:#}")),
                Some(src) if st.signal == Signal::Runqueue => {
                    let by_culprit = probes.runqlat.as_ref().is_some_and(|r| r.attribution);
                    Ok(format!(
                        "{}, {}",
                        describe(st.signal, &src),
                        if by_culprit {
                            "waits by culprit cgroup (ADR 0095)"
                        } else {
                            "waits by culprit refused by this kernel's verifier: histogram only"
                        }
                    ))
                }
                Some(src) => Ok(describe(st.signal, &src)),
                None => Err(st.detail),
            };
            sigs.push(check(st.signal.name(), r));
        }
    }
    let required_ok = !sigs.is_empty()
        && sigs.iter().all(|c| c.ok)
        && checks.iter().filter(|c| c.name == "btf").all(|c| c.ok);
    let choices = kernel
        .choices()
        .into_iter()
        .map(|(name, detail)| Check {
            name: name.into(),
            ok: true,
            detail,
        })
        .collect();
    let report = Report {
        kernel,
        choices,
        checks,
        program_types,
        signals: sigs,
        required_ok,
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        let line = |c: &Check| {
            println!(
                "  [{}] {:<14} {}",
                if c.ok { " ok " } else { "FAIL" },
                c.name,
                c.detail
            )
        };
        println!("host:");
        report.checks.iter().for_each(line);
        println!("kernel {} (choices from its BTF):", report.kernel.release);
        for c in &report.choices {
            println!("  {:<20} {}", c.name, c.detail);
        }
        println!("program types:");
        report.program_types.iter().for_each(line);
        println!("signals:");
        report.signals.iter().for_each(line);
        println!(
            "required signals: {}",
            if report.required_ok {
                "all available"
            } else {
                "NOT all available"
            }
        );
    }
    if report.required_ok {
        0
    } else {
        1
    }
}

/// Births attach their syscall program only on demand: prove here that it
/// attaches and detaches.
fn birth_syscalls(p: &crate::state::Probes) -> anyhow::Result<()> {
    let b = p
        .birth
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("birth probe not loaded"))?;
    b.attach_syscalls()?;
    let attached = b.syscalls_attached();
    b.detach_syscalls();
    if !attached || b.syscalls_attached() {
        anyhow::bail!("attach/detach did not take effect");
    }
    Ok(())
}

fn describe(s: Signal, src: &str) -> String {
    match s {
        Signal::Cgroups => format!("{src} cgroup:cgroup_mkdir/rmdir -> ring buffer"),
        Signal::Cpu => "cpu.stat + quota at scrape time".into(),
        Signal::Runqueue => {
            format!("{src} sched_wakeup/_new/sched_switch, task storage, per-cgroup log2 histogram")
        }
        Signal::Oom => format!("{src} oom:mark_victim -> ring buffer"),
        Signal::Memory => format!("{src} (memcg reclaim begin/end; PSI memory.pressure)"),
        Signal::Drops => format!("{src} skb:kfree_skb, reasons from BTF"),
        Signal::Tcp => format!("{src} tcp_retransmit_skb/tcp_send_reset/tcp_receive_reset"),
        Signal::Births => format!(
            "{src} cgroup_mkdir/attach_task, sched_process_fork/exec/exit; raw_tp sys_enter attached only while a window is open"
        ),
    }
}
