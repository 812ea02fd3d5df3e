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

/* Wakeup timestamp per task. Task storage is freed with the task and is
 * ~2x cheaper than a pid-keyed hash map on the sched_switch hot path. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} runqlat_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, RUNQLAT_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct runqlat_hist);
} runqlat_hists SEC(".maps");

/* Zero value used to create a histogram slot; global so it is not on the
 * (512-byte) BPF stack. */
const struct runqlat_hist runqlat_zero = {};

static __always_inline void mark_runnable(struct task_struct *p, u64 now)
{
	u64 *ts;

	/* The idle task never waits on a run queue. */
	if (!p->pid)
		return;
	ts = bpf_task_storage_get(&runqlat_start, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (ts)
		*ts = now;
}

static __always_inline void record(struct task_struct *next, u64 delta, const bool btf)
{
	struct runqlat_hist *h;
	u64 cg;
	u32 slot;

	cg = kg_task_cgroup_id(next, KG_CPU_SUBSYS, btf);
	h = bpf_map_lookup_elem(&runqlat_hists, &cg);
	if (!h) {
		bpf_map_update_elem(&runqlat_hists, &cg, &runqlat_zero, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&runqlat_hists, &cg);
		if (!h)
			return;
	}
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
 * one program on sched_switch only: no wakeup hooks, no task storage, no
 * bpf_ktime_get_ns().
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

SEC("tp_btf/sched_switch")
int BPF_PROG(runqlat_switch_si, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	struct cfs_rq *cfs;
	struct rq *rq;
	u64 queued, now, wait, run_delay, *base;

	if (!next->pid)
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
	base = bpf_task_storage_get(&runqlat_delay_base, next, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
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

/* Second choice (kernels without sched_info): wakeup time in task storage. */
static __always_inline void account(struct task_struct *prev, struct task_struct *next,
				    unsigned int prev_state)
{
	u64 now = bpf_ktime_get_ns();
	u64 *ts, delta;

	/* A task switched out while still runnable was preempted: it is back
	 * on the run queue from now. */
	if (prev_state == TASK_RUNNING)
		mark_runnable(prev, now);

	if (!next->pid)
		return;
	ts = bpf_task_storage_get(&runqlat_start, next, 0, 0);
	if (!ts || !*ts)
		return;
	delta = now - *ts;
	*ts = 0;
	record(next, delta, true);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(runqlat_wakeup, struct task_struct *p)
{
	mark_runnable(p, bpf_ktime_get_ns());
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(runqlat_wakeup_new, struct task_struct *p)
{
	mark_runnable(p, bpf_ktime_get_ns());
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(runqlat_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	account(prev, next, prev_state);
	return 0;
}

/*
 * raw_tp fallback for kernels that refuse tp_btf. raw_tp arguments are
 * untrusted scalars, which task storage does not accept, so the wakeup time
 * is kept in a pid-keyed LRU hash instead (~2x the cost), and every kernel
 * pointer read goes through BPF_CORE_READ.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, __u64);
} runqlat_start_pid SEC(".maps");

static __always_inline void mark_runnable_raw(struct task_struct *p, u64 now)
{
	u32 pid = BPF_CORE_READ(p, pid);

	if (!pid)
		return;
	bpf_map_update_elem(&runqlat_start_pid, &pid, &now, BPF_ANY);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(runqlat_wakeup_raw, struct task_struct *p)
{
	mark_runnable_raw(p, bpf_ktime_get_ns());
	return 0;
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(runqlat_wakeup_new_raw, struct task_struct *p)
{
	mark_runnable_raw(p, bpf_ktime_get_ns());
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(runqlat_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	u64 now = bpf_ktime_get_ns();
	u64 *ts, delta;
	u32 pid;

	if (prev_state == TASK_RUNNING)
		mark_runnable_raw(prev, now);
	pid = BPF_CORE_READ(next, pid);
	if (!pid)
		return 0;
	ts = bpf_map_lookup_elem(&runqlat_start_pid, &pid);
	if (!ts)
		return 0;
	delta = now - *ts;
	bpf_map_delete_elem(&runqlat_start_pid, &pid);
	record(next, delta, false);
	return 0;
}
