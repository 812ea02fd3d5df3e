/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Run-queue delay per cpu cgroup: time from a task becoming runnable
 * (wakeup, new task, or involuntary preemption) until it gets a CPU.
 * Aggregated in the kernel into per-CPU log2 histograms keyed by cgroup id;
 * userspace only reads the map at scrape time.
 */
#include "common.bpf.h"
#include "runqlat.h"

#define TASK_RUNNING 0

/* Set by the loader (src/probes/kernel.rs): sched_switch passes prev_state
 * (5.18+); before, it is read from the task. */
const volatile bool kg_switch_prev_state = true;

/* Wakeup timestamp per task. Task storage is freed with the task and is
 * ~2x cheaper than a pid-keyed hash map on the sched_switch hot path; the
 * pid-keyed twin serves kernels without task storage (5.10) and the raw_tp
 * flavour, whose task pointers task storage does not accept. The loader
 * creates only the one in use. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} runqlat_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, __u64);
} runqlat_start_pid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, RUNQLAT_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct runqlat_hist);
} runqlat_hists SEC(".maps");

/* Zero value used to create a histogram slot; global so it is not on the
 * (512-byte) BPF stack. */
const struct runqlat_hist runqlat_zero = {};
const __u64 runqlat_zero_ts = 0;

/* Before 5.14 the task state field was `long state`. */
struct task_struct___pre514 {
	long state;
} __attribute__((preserve_access_index));

static __always_inline unsigned int task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___pre514 *)t, state);
}

/* Whether sched_switch's prev stays on the run queue: preempted, or still
 * TASK_RUNNING (prev_state, which the kernel passes since 5.18; before, the
 * tracepoint itself read it from the task, as we do then). */
static __always_inline bool prev_runnable(u64 *ctx, struct task_struct *prev)
{
	unsigned int state;

	if (ctx[0]) /* preempt */
		return true;
	if (kg_switch_prev_state)
		state = (unsigned int)ctx[3];
	else
		state = task_state(prev);
	return state == TASK_RUNNING;
}

/* A per-task u64 slot in task storage (@btf: trusted task pointer and the
 * kernel has task storage) or in the pid-keyed map @pid_map. */
static __always_inline u64 *task_u64(void *task_map, void *pid_map, struct task_struct *t, u32 pid,
				     bool create, const bool btf)
{
	if (btf && kg_task_storage)
		return bpf_task_storage_get(task_map, t, 0, create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
	if (create)
		return kg_lookup_or_init(pid_map, &pid, &runqlat_zero_ts);
	return bpf_map_lookup_elem(pid_map, &pid);
}

static __always_inline void record(struct task_struct *next, u64 delta, const bool btf)
{
	struct runqlat_hist *h;
	u64 cg, slot;

	cg = kg_task_cgroup_id(next, KG_CPU_SUBSYS, btf);
	h = kg_lookup_or_init(&runqlat_hists, &cg, &runqlat_zero);
	if (!h)
		return;
	/* 64-bit index: with a 32-bit one clang zero-extends after the bound
	 * check and the 6.1 verifier loses the bound ("unbounded memory
	 * access"). */
	slot = kg_log2(delta);
	if (slot >= RUNQLAT_SLOTS)
		slot = RUNQLAT_SLOTS - 1;
	/* Per-CPU value: no atomics needed. */
	h->slots[slot]++;
	h->sum_ns += delta;
}

/*
 * Preferred variant: the scheduler already timestamps every enqueue for
 * schedstat's run_delay (CONFIG_SCHED_INFO: sched_info.last_queued, in rq
 * clock time) and consumes it right after this tracepoint, in
 * sched_info_arrive(). Reading it against the run queue's clock (updated by
 * __schedule() just before) gives the same delay the kernel accounts, with
 * one program on sched_switch only: no wakeup hooks, no bpf_ktime_get_ns().
 *
 * The run queue is reached through next's CFS run queue (set for every task
 * by set_task_rq() under CONFIG_FAIR_GROUP_SCHED, and next is about to run
 * on this CPU): the `runqueues` per-CPU ksym would need KALLSYMS_ALL.
 */

/* sched_info.run_delay as it stood right after the task's last arrival on a
 * CPU. When load balancing migrates a task that is still waiting, the kernel
 * adds that waiting segment to run_delay at dequeue and restarts last_queued
 * on the new CPU; the growth of run_delay since the last arrival is exactly
 * those segments, so each arrival records the task's whole wait. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} runqlat_delay_base SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, __u64);
} runqlat_delay_base_pid SEC(".maps");

/* tp_btf sched_switch(preempt, prev, next[, prev_state]): only prev and next
 * are read, whatever the kernel's argument count. */
SEC("tp_btf/sched_switch")
int runqlat_switch_si(u64 *ctx)
{
	struct task_struct *next = (struct task_struct *)ctx[2];
	struct cfs_rq *cfs;
	struct rq *rq;
	u64 queued, now, wait, run_delay, *base;
	u32 pid = next->pid;

	if (!pid)
		return 0;
	queued = next->sched_info.last_queued;
	if (!queued)
		return 0;
	cfs = next->se.cfs_rq;
	if (!cfs)
		return 0;
	rq = cfs->rq;
	if (!rq)
		return 0;
	now = rq->clock;
	if (now <= queued)
		return 0;
	wait = now - queued;
	run_delay = next->sched_info.run_delay;
	base = task_u64(&runqlat_delay_base, &runqlat_delay_base_pid, next, pid, true, true);
	if (base) {
		/* Zero = first sight of this task: only the current segment is known. */
		if (*base && run_delay > *base)
			wait += run_delay - *base;
		/* What sched_info_arrive() will make of run_delay right after us. */
		*base = run_delay + (now - queued);
	}
	record(next, wait, true);
	return 0;
}

/* Second choice (kernels without sched_info): wakeup time per task. */
static __always_inline void mark_runnable(struct task_struct *p, u64 now, const bool btf)
{
	u32 pid = btf ? p->pid : BPF_CORE_READ(p, pid);
	u64 *ts;

	/* The idle task never waits on a run queue. */
	if (!pid)
		return;
	ts = task_u64(&runqlat_start, &runqlat_start_pid, p, pid, true, btf);
	if (ts)
		*ts = now;
}

static __always_inline void account(u64 *ctx, const bool btf)
{
	struct task_struct *prev = (struct task_struct *)ctx[1];
	struct task_struct *next = (struct task_struct *)ctx[2];
	u64 now = bpf_ktime_get_ns();
	u64 *ts, delta;
	u32 pid;

	/* A task switched out while still runnable was preempted: it is back
	 * on the run queue from now. */
	if (prev_runnable(ctx, prev))
		mark_runnable(prev, now, btf);

	pid = btf ? next->pid : BPF_CORE_READ(next, pid);
	if (!pid)
		return;
	ts = task_u64(&runqlat_start, &runqlat_start_pid, next, pid, false, btf);
	if (!ts || !*ts)
		return;
	delta = now - *ts;
	*ts = 0;
	record(next, delta, btf);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(runqlat_wakeup, struct task_struct *p)
{
	mark_runnable(p, bpf_ktime_get_ns(), true);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(runqlat_wakeup_new, struct task_struct *p)
{
	mark_runnable(p, bpf_ktime_get_ns(), true);
	return 0;
}

SEC("tp_btf/sched_switch")
int runqlat_switch(u64 *ctx)
{
	account(ctx, true);
	return 0;
}

/*
 * raw_tp fallback for kernels that refuse tp_btf. raw_tp arguments are
 * untrusted scalars, which task storage does not accept, so the wakeup time
 * is kept in the pid-keyed LRU hash (~2x the cost), and every kernel pointer
 * read goes through BPF_CORE_READ.
 */
SEC("raw_tp/sched_wakeup")
int BPF_PROG(runqlat_wakeup_raw, struct task_struct *p)
{
	mark_runnable(p, bpf_ktime_get_ns(), false);
	return 0;
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(runqlat_wakeup_new_raw, struct task_struct *p)
{
	mark_runnable(p, bpf_ktime_get_ns(), false);
	return 0;
}

SEC("raw_tp/sched_switch")
int runqlat_switch_raw(u64 *ctx)
{
	account(ctx, false);
	return 0;
}
