//! What the running kernel offers the probes, read once from its BTF
//! (`/sys/kernel/btf/vmlinux`): the one place that decides which program
//! variant each probe loads and which optional arguments and maps it uses
//! (ADR 0065). Probes never guess from version numbers: a tracepoint's
//! argument list is read from the `btf_trace_<name>` typedef the kernel emits
//! for every tracepoint, and a map type or helper from the kernel's own
//! `enum bpf_map_type` / `enum bpf_func_id`.
//!
//! The BPF programs read these decisions from `.rodata` constants, so a branch
//! for an argument the kernel does not pass is dead code the verifier never
//! walks (and the raw_tp attach never sees a too-large context access).

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use anyhow::{anyhow, Result};
use libbpf_rs::btf::types::{Enum, FuncProto, Ptr};
use libbpf_rs::btf::{BtfKind, BtfType};
use libbpf_rs::Btf;
use serde::Serialize;

/// Tracepoints the probes attach to whose argument lists changed between
/// kernels we support (5.10 to newest), plus the ones doctor shows.
pub const TRACEPOINTS: &[&str] = &[
    "sched_switch",
    "kfree_skb",
    "tcp_retransmit_skb",
    "tcp_send_reset",
    "mark_victim",
    "signal_generate",
    "mm_vmscan_memcg_reclaim_end",
    "cgroup_mkdir",
    "cgroup_attach_task",
    "sched_process_exec",
];

/// One tracepoint argument: its name and a short type ("struct sk_buff *",
/// "int", "enum skb_drop_reason").
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Arg {
    pub name: String,
    pub ty: String,
}

/// What the running kernel has, and the choices that follow from it.
#[derive(Clone, Debug, Serialize)]
pub struct Kernel {
    /// `uname -r`.
    pub release: String,
    /// Arguments of each tracepoint in [`TRACEPOINTS`] (absent: no such
    /// tracepoint, or no BTF for it).
    pub tracepoints: BTreeMap<String, Vec<Arg>>,
    /// BPF_MAP_TYPE_TASK_STORAGE and bpf_get_current_task_btf (5.11+);
    /// without them, per-task state lives in pid-keyed LRU hashes.
    pub task_storage: bool,
    /// `tcp:tcp_send_reset` is its own trace event (`struct
    /// trace_event_raw_tcp_send_reset` in BTF), which came with tracing resets
    /// sent for packets that have no socket (a SYN to a closed port). Before,
    /// the event required a socket and those resets are not traced at all.
    pub tcp_reset_without_socket: bool,
    /// `enum skb_drop_reason` value -> name (5.17+); empty before.
    #[serde(skip)]
    pub drop_reasons: HashMap<u32, String>,
    /// Why the kernel's BTF could not be read (then nothing above is known
    /// and every BPF probe will fail to load, each saying so).
    pub btf_error: Option<String>,
}

impl Kernel {
    /// The running kernel, read once per process.
    pub fn get() -> &'static Kernel {
        static KERNEL: OnceLock<Kernel> = OnceLock::new();
        KERNEL.get_or_init(|| {
            Kernel::detect().unwrap_or_else(|e| Kernel {
                release: release(),
                tracepoints: BTreeMap::new(),
                task_storage: false,
                tcp_reset_without_socket: false,
                drop_reasons: HashMap::new(),
                btf_error: Some(format!("{e:#}")),
            })
        })
    }

    fn detect() -> Result<Kernel> {
        let btf = Btf::from_vmlinux()
            .map_err(|e| anyhow!("kernel BTF (/sys/kernel/btf/vmlinux): {e}"))?;
        let tracepoints = TRACEPOINTS
            .iter()
            .filter_map(|tp| Some((tp.to_string(), tracepoint_args(&btf, tp)?)))
            .collect();
        let task_storage = enum_has(&btf, "bpf_map_type", "BPF_MAP_TYPE_TASK_STORAGE")
            && enum_has(&btf, "bpf_func_id", "BPF_FUNC_get_current_task_btf");
        Ok(Kernel {
            release: release(),
            tracepoints,
            task_storage,
            tcp_reset_without_socket: btf
                .type_by_name::<BtfType<'_>>("trace_event_raw_tcp_send_reset")
                .is_some(),
            drop_reasons: drop_reasons(&btf),
            btf_error: None,
        })
    }

    fn args(&self, tp: &str) -> &[Arg] {
        self.tracepoints.get(tp).map(Vec::as_slice).unwrap_or(&[])
    }

    fn arg_is(&self, tp: &str, i: usize, ty: &str) -> bool {
        self.args(tp).get(i).is_some_and(|a| a.ty == ty)
    }

    /// skb:kfree_skb passes `enum skb_drop_reason reason` (5.17+).
    pub fn kfree_skb_reason(&self) -> bool {
        self.arg_is("kfree_skb", 2, "enum skb_drop_reason")
    }

    /// skb:kfree_skb passes `struct sock *rx_sk` (6.11+).
    pub fn kfree_skb_rx_sk(&self) -> bool {
        self.arg_is("kfree_skb", 3, "struct sock *")
    }

    /// tcp:tcp_retransmit_skb passes `int err` and then also fires for
    /// failed attempts; before, it fired for successful ones only.
    pub fn tcp_retransmit_err(&self) -> bool {
        self.arg_is("tcp_retransmit_skb", 2, "int")
    }

    /// sched:sched_switch passes `prev_state` (5.18+); before, it is read
    /// from the task.
    pub fn sched_switch_prev_state(&self) -> bool {
        self.args("sched_switch").len() >= 4
    }

    /// oom:mark_victim passes the victim task (newer kernels, and stable
    /// backports such as Debian 12's 6.1.0-57); before, only its pid,
    /// and the task comes from the SIGKILL the OOM killer sends just before.
    pub fn mark_victim_task(&self) -> bool {
        self.arg_is("mark_victim", 0, "struct task_struct *")
    }

    /// One line per decision, for doctor and the startup log.
    pub fn choices(&self) -> Vec<(&'static str, String)> {
        let yes = |b: bool, y: &str, n: &str| if b { y.to_string() } else { n.to_string() };
        vec![
            (
                "per-task state",
                yes(
                    self.task_storage,
                    "task storage",
                    "pid-keyed LRU hash (this kernel has no BPF task storage; added in 5.11)",
                ),
            ),
            (
                "drop reasons",
                if self.kfree_skb_reason() {
                    format!(
                        "from kfree_skb's reason argument, {} names from BTF",
                        self.drop_reasons.len()
                    )
                } else {
                    "not passed by this kernel's kfree_skb (added in 5.17): every kfree_skb() free is counted, with reason=\"unknown\" (a few of those frees are not drops: 509 for an iptables rule's 500 on 5.10)".into()
                },
            ),
            (
                "drop netns",
                yes(
                    self.kfree_skb_rx_sk(),
                    "device, else rx_sk, else skb->sk",
                    "device, else skb->sk (this kernel's kfree_skb passes no rx_sk; added in 6.11)",
                ),
            ),
            (
                "tcp retransmits",
                yes(
                    self.tcp_retransmit_err(),
                    "tracepoint err argument: failed attempts skipped",
                    "tracepoint fires for successful retransmits only (no err argument)",
                ),
            ),
            (
                "tcp resets sent",
                yes(
                    self.tcp_reset_without_socket,
                    "tcp_send_reset, also for packets without a socket",
                    "tcp_send_reset fires only for resets from a socket on this kernel: resets answering packets without one (a SYN to a closed port) are not traced, though /proc/net/snmp OutRsts counts them",
                ),
            ),
            (
                "preempted tasks",
                yes(
                    self.sched_switch_prev_state(),
                    "sched_switch prev_state argument",
                    "prev->__state / prev->state (this kernel's sched_switch passes no prev_state; added in 5.18)",
                ),
            ),
            (
                "oom victim",
                yes(
                    self.mark_victim_task(),
                    "mark_victim task argument",
                    "this kernel's mark_victim passes a pid only: the victim task is taken from the OOM killer's SIGKILL just before (signal:signal_generate)",
                ),
            ),
        ]
    }
}

fn release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn enum_has(btf: &Btf<'_>, name: &str, member: &str) -> bool {
    btf.type_by_name::<Enum<'_>>(name).is_some_and(|e| {
        e.iter()
            .any(|m| m.name.is_some_and(|n| n.to_string_lossy() == member))
    })
}

/// `typedef void (*btf_trace_<tp>)(void *__data, <args>...)`: the kernel's
/// own record of a tracepoint's prototype, which tp_btf programs are
/// verified against.
fn tracepoint_args(btf: &Btf<'_>, tp: &str) -> Option<Vec<Arg>> {
    let td: BtfType<'_> = btf.type_by_name(&format!("btf_trace_{tp}"))?;
    let ptr = Ptr::try_from(td.next_type()?).ok()?;
    let proto = FuncProto::try_from(ptr.next_type()?).ok()?;
    Some(
        proto
            .iter()
            .skip(1) // void *__data
            .map(|p| Arg {
                name: p
                    .name
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                ty: btf
                    .type_by_id::<BtfType<'_>>(p.ty)
                    .map(|t| type_name(&t))
                    .unwrap_or_default(),
            })
            .collect(),
    )
}

/// A short C spelling of a type: typedefs and modifiers resolved, one level
/// of pointer kept ("struct sock *", "int", "enum skb_drop_reason").
fn type_name(t: &BtfType<'_>) -> String {
    let t = t.skip_mods_and_typedefs();
    match t.kind() {
        BtfKind::Ptr => match t.next_type() {
            Some(to) => format!("{} *", type_name(&to)),
            None => "void *".into(),
        },
        kind => {
            let name = t
                .name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            match kind {
                BtfKind::Struct => format!("struct {name}"),
                BtfKind::Union => format!("union {name}"),
                BtfKind::Enum | BtfKind::Enum64 => format!("enum {name}"),
                BtfKind::Void => "void".into(),
                _ => name,
            }
        }
    }
}

/// Drop reason names of the running kernel: the numbers change between
/// kernel versions, the names do not. Empty before 5.17.
fn drop_reasons(btf: &Btf<'_>) -> HashMap<u32, String> {
    let Some(e) = btf.type_by_name::<Enum<'_>>("skb_drop_reason") else {
        return HashMap::new();
    };
    e.iter()
        .filter_map(|m| {
            let name = m.name?.to_string_lossy();
            let short = name
                .strip_prefix("SKB_DROP_REASON_")
                .or_else(|| name.strip_prefix("SKB_"))
                .unwrap_or(&name)
                .to_string();
            Some((u32::try_from(m.value).ok()?, short))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arg(name: &str, ty: &str) -> Arg {
        Arg {
            name: name.into(),
            ty: ty.into(),
        }
    }

    fn kernel(tps: &[(&str, Vec<Arg>)]) -> Kernel {
        Kernel {
            release: "test".into(),
            tracepoints: tps
                .iter()
                .map(|(n, a)| (n.to_string(), a.clone()))
                .collect(),
            task_storage: true,
            tcp_reset_without_socket: true,
            drop_reasons: HashMap::new(),
            btf_error: None,
        }
    }

    #[test]
    fn decisions_follow_the_argument_lists() {
        // 5.10: kfree_skb(skb, location), mark_victim(int pid),
        // sched_switch(preempt, prev, next), tcp_retransmit_skb(sk, skb).
        let old = kernel(&[
            (
                "kfree_skb",
                vec![arg("skb", "struct sk_buff *"), arg("location", "void *")],
            ),
            ("mark_victim", vec![arg("pid", "int")]),
            (
                "sched_switch",
                vec![
                    arg("preempt", "bool"),
                    arg("prev", "struct task_struct *"),
                    arg("next", "struct task_struct *"),
                ],
            ),
            (
                "tcp_retransmit_skb",
                vec![arg("sk", "struct sock *"), arg("skb", "struct sk_buff *")],
            ),
        ]);
        assert!(!old.kfree_skb_reason() && !old.kfree_skb_rx_sk());
        assert!(!old.mark_victim_task());
        assert!(!old.sched_switch_prev_state());
        assert!(!old.tcp_retransmit_err());

        let new = kernel(&[
            (
                "kfree_skb",
                vec![
                    arg("skb", "struct sk_buff *"),
                    arg("location", "void *"),
                    arg("reason", "enum skb_drop_reason"),
                    arg("rx_sk", "struct sock *"),
                ],
            ),
            (
                "mark_victim",
                vec![arg("task", "struct task_struct *"), arg("uid", "uid_t")],
            ),
            (
                "sched_switch",
                vec![
                    arg("preempt", "bool"),
                    arg("prev", "struct task_struct *"),
                    arg("next", "struct task_struct *"),
                    arg("prev_state", "unsigned int"),
                ],
            ),
            (
                "tcp_retransmit_skb",
                vec![
                    arg("sk", "struct sock *"),
                    arg("skb", "struct sk_buff *"),
                    arg("err", "int"),
                ],
            ),
        ]);
        assert!(new.kfree_skb_reason() && new.kfree_skb_rx_sk());
        assert!(new.mark_victim_task());
        assert!(new.sched_switch_prev_state());
        assert!(new.tcp_retransmit_err());
    }

    /// On the machine running the tests: every tracepoint the probes need is
    /// found in BTF with the argument types the programs are written for.
    #[test]
    fn reads_this_kernels_tracepoints() {
        let k = Kernel::get();
        if k.btf_error.is_some() {
            return; // no BTF: nothing to check here
        }
        // Types only: some kernels' BTF leaves func_proto parameters unnamed
        // (the CI machine's does), and no decision reads a name.
        let sw = &k.tracepoints["sched_switch"];
        assert_eq!(sw[1].ty, "struct task_struct *"); // prev, after `bool preempt`
        assert_eq!(sw[2].ty, "struct task_struct *"); // next
        assert_eq!(k.tracepoints["kfree_skb"][0].ty, "struct sk_buff *");
        assert!(k.tracepoints.contains_key("cgroup_mkdir"));
    }
}
