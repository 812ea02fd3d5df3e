/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * OOM kills. oom:mark_victim fires once per victim; its task argument is the
 * victim (current is the task whose allocation triggered the OOM, often a
 * different process), so everything is read from the argument.
 */
#include "common.bpf.h"
#include "oom.h"

/* mm counter indexes (enum in include/linux/mm_types_task.h, unchanged
 * since 4.x). */
#define KG_MM_FILEPAGES 0
#define KG_MM_ANONPAGES 1
#define KG_MM_SHMEMPAGES 3
#define KG_SIGKILL 9

/* Page size in bytes; set by userspace (sysconf) before load. */
const volatile u64 kg_page_size = 4096;

/* Set by the loader (src/probes/kernel.rs): oom:mark_victim passes the
 * victim task (newer kernels and some stable backports: Debian 12's
 * 6.1.0-57 has it, 6.8 does not). Before, it passes only the victim's pid. */
const volatile bool kg_mark_victim_task = true;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} oom_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} oom_lost SEC(".maps");

/*
 * Where mark_victim passes only a pid: the OOM killer sends the victim SIGKILL (do_send_sig_info) and
 * then calls mark_oom_victim() on the same CPU without sleeping in between;
 * signal:signal_generate hands us the task, kept per CPU until mark_victim
 * confirms it by pid.
 */
struct oom_stash {
	__u64 task; /* struct task_struct *, read only through BPF_CORE_READ */
	__u32 pid;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct oom_stash);
} oom_stash SEC(".maps");

struct oom_event _oom_event = {};

/* 6.1 and older: struct mm_rss_stat { atomic_long_t count[NR_MM_COUNTERS]; }
 * (6.2 made rss_stat an array of percpu_counter). */
struct mm_rss_stat___pre62 {
	atomic_long_t count[4];
} __attribute__((preserve_access_index));

struct mm_struct___pre62 {
	struct mm_rss_stat___pre62 rss_stat;
} __attribute__((preserve_access_index));

/* Pages of mm counter @i (a constant), the same approximation as the
 * kernel's own get_mm_counter(). */
#define RSS_PAGES(mm, i)                                                                           \
	(bpf_core_type_exists(struct mm_rss_stat___pre62)                                          \
		 ? BPF_CORE_READ((struct mm_struct___pre62 *)(mm), rss_stat.count[i].counter)       \
		 : BPF_CORE_READ((mm), rss_stat[i].count))

static __always_inline s64 clamp0(s64 v)
{
	return v < 0 ? 0 : v;
}

static __always_inline void emit(struct task_struct *task, u32 uid, const bool btf)
{
	struct oom_event *e;
	struct mm_struct *mm;

	e = kg_ringbuf_reserve(&oom_events, &oom_lost, sizeof(*e));
	if (!e)
		return;
	e->ts_ns = bpf_ktime_get_ns();
	e->memcg_id = kg_task_cgroup_id(task, KG_MEMORY_SUBSYS, btf);
	e->cpu_cgroup_id = kg_task_cgroup_id(task, KG_CPU_SUBSYS, btf);
	e->uid = uid;
	mm = BPF_CORE_READ(task, mm);
	if (mm) {
		e->anon_rss_bytes = clamp0(RSS_PAGES(mm, KG_MM_ANONPAGES)) * kg_page_size;
		e->file_rss_bytes = clamp0(RSS_PAGES(mm, KG_MM_FILEPAGES)) * kg_page_size;
		e->shmem_rss_bytes = clamp0(RSS_PAGES(mm, KG_MM_SHMEMPAGES)) * kg_page_size;
		e->total_vm_bytes = BPF_CORE_READ(mm, total_vm) * kg_page_size;
	} else {
		e->anon_rss_bytes = 0;
		e->file_rss_bytes = 0;
		e->shmem_rss_bytes = 0;
		e->total_vm_bytes = 0;
	}
	e->pid = BPF_CORE_READ(task, pid);
	e->tgid = BPF_CORE_READ(task, tgid);
	e->oom_score_adj = BPF_CORE_READ(task, signal, oom_score_adj);
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	bpf_ringbuf_submit(e, 0);
}

/* mark_victim(task, uid) on 6.8+, mark_victim(pid) before. */
static __always_inline void on_mark_victim(u64 *ctx, const bool btf)
{
	struct oom_stash *s;
	struct task_struct *task;
	u32 zero = 0, pid;

	if (kg_mark_victim_task) {
		emit((struct task_struct *)ctx[0], (u32)ctx[1], btf);
		return;
	}
	pid = (u32)ctx[0];
	s = bpf_map_lookup_elem(&oom_stash, &zero);
	if (s && s->task && s->pid == pid) {
		task = (struct task_struct *)s->task;
		s->task = 0;
	} else if ((u32)bpf_get_current_pid_tgid() == pid) {
		/* out_of_memory() marks an already exiting current task without
		 * sending it a signal. */
		task = (struct task_struct *)bpf_get_current_task();
	} else {
		/* Not a task we saw killed: attributing it would be a guess. */
		kg_count_lost(&oom_lost);
		return;
	}
	/* The uid the newer tracepoint reports: the victim's, in the initial
	 * user namespace. */
	emit(task, BPF_CORE_READ(task, cred, uid.val), false);
}

static __always_inline void on_signal_generate(int sig, struct task_struct *task, const bool btf)
{
	struct oom_stash *s;
	u32 zero = 0;

	if (sig != KG_SIGKILL)
		return;
	s = bpf_map_lookup_elem(&oom_stash, &zero);
	if (!s)
		return;
	s->task = (u64)task;
	s->pid = btf ? task->pid : BPF_CORE_READ(task, pid);
}

SEC("tp_btf/mark_victim")
int oom_mark_victim(u64 *ctx)
{
	on_mark_victim(ctx, true);
	return 0;
}

SEC("raw_tp/mark_victim")
int oom_mark_victim_raw(u64 *ctx)
{
	on_mark_victim(ctx, false);
	return 0;
}

/* Loaded only where mark_victim passes a pid. */
SEC("tp_btf/signal_generate")
int BPF_PROG(oom_signal_generate, int sig, struct kernel_siginfo *info, struct task_struct *task)
{
	on_signal_generate(sig, task, true);
	return 0;
}

SEC("raw_tp/signal_generate")
int BPF_PROG(oom_signal_generate_raw, int sig, struct kernel_siginfo *info, struct task_struct *task)
{
	on_signal_generate(sig, task, false);
	return 0;
}
