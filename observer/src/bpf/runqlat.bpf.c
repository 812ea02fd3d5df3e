/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Run-queue delay per cpu cgroup: time from a task becoming runnable
 * (wakeup, new task, or involuntary preemption) until it gets a CPU.
 * Aggregated in the kernel into per-CPU log2 histograms keyed by cgroup id;
 * userspace only reads the map at scrape time.
 *
 * Each wait is also split by who ran on that CPU meanwhile (ADR 0095): every
 * sched_switch closes `prev`'s run slice in a small per-CPU ring, and the task
 * switched in walks that ring over its wait [queued, now], adding each
 * overlap to its cgroup's bounded culprit table.
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

/* Set by the loader: attribute waits to culprits (--runqueue-attribution). */
const volatile bool kg_attribution = true;

struct runqlat_slice {
	__u64 cgroup;
	__u64 start;
	__u64 end;
};

/* This CPU's recent run slices, newest at ring[(head - 1) % RUNQLAT_SLICES];
 * times in the variant's clock (rq clock for sched_info, else ktime). */
struct runqlat_cpu {
	__u64 last; /* the previous sched_switch on this CPU */
	__u64 head; /* slices written so far */
	struct runqlat_slice ring[RUNQLAT_SLICES];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct runqlat_cpu);
} runqlat_cpus SEC(".maps");

static __always_inline struct runqlat_cpu *cpu_ring(void)
{
	__u32 zero = 0;

	if (!kg_attribution)
		return NULL;
	return bpf_map_lookup_elem(&runqlat_cpus, &zero);
}

/* prev ran on this CPU from the previous switch until @now. @cg = 0 (the
 * idle task) leaves a gap: idle is never blamed. A slice of the same cgroup
 * right after the newest extends it, so the ring spans distinct neighbours. */
static __always_inline void slice_close(struct runqlat_cpu *c, u64 cg, u64 now)
{
	u64 last = c->last;

	c->last = now;
	if (!cg || !last || now <= last)
		return;
	if (c->head) {
		struct runqlat_slice *n = &c->ring[(c->head - 1) & (RUNQLAT_SLICES - 1)];

		if (n->cgroup == cg && n->end == last) {
			n->end = now;
			return;
		}
	}
	struct runqlat_slice *s = &c->ring[c->head & (RUNQLAT_SLICES - 1)];

	s->cgroup = cg;
	s->start = last;
	s->end = now;
	c->head++;
}

/* Add @d ns to culprit @cg in the victim's bounded table. */
static __always_inline void blame(struct runqlat_stolen *st, u64 cg, u64 d)
{
	u64 min = ~0ULL, min_i = 0;

	for (int k = 0; k < RUNQLAT_CULPRITS; k++) {
		struct runqlat_culprit *c = &st->culprits[k];

		if (c->cgroup == cg) {
			c->ns += d;
			return;
		}
		if (!c->cgroup) {
			c->cgroup = cg;
			c->ns = d;
			return;
		}
		if (c->ns < min) {
			min = c->ns;
			min_i = k;
		}
	}
	st->cut++;
	if (d > min) {
		struct runqlat_culprit *c = &st->culprits[min_i & (RUNQLAT_CULPRITS - 1)];

		st->other_ns += c->ns;
		c->cgroup = cg;
		c->ns = d;
	} else {
		st->other_ns += d;
	}
}

/* Split the wait [queued, now] of a task of cgroup @victim by the slices
 * that overlap it, newest first, 16 at most (a bounded loop: 5.10 has no
 * bpf_loop). */
static __always_inline void attribute(struct runqlat_stolen *st, struct runqlat_cpu *c, u64 victim,
				      u64 queued, u64 now)
{
	u64 covered = 0, head = c->head;

	for (int i = 0; i < RUNQLAT_SLICES; i++) {
		struct runqlat_slice *s;
		u64 from, to;

		if (i >= head)
			break;
		s = &c->ring[(head - 1 - i) & (RUNQLAT_SLICES - 1)];
		if (s->end <= queued)
			break;
		from = s->start > queued ? s->start : queued;
		to = s->end < now ? s->end : now;
		if (to <= from)
			continue;
		covered += to - from;
		if (s->cgroup == victim)
			st->self_ns += to - from;
		else
			blame(st, s->cgroup, to - from);
	}
	if (now - queued > covered)
		st->unknown_ns += now - queued - covered;
}

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

/* One wait of @next: @delta ns in the histogram; the part on this CPU,
 * [queued, now], split by culprit when @c (this CPU's ring) is given. */
static __always_inline void record(struct task_struct *next, u64 delta, const bool btf,
				   struct runqlat_cpu *c, u64 queued, u64 now)
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
	if (c && now > queued)
		attribute(&h->stolen, c, cg, queued, now);
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
	struct task_struct *prev = (struct task_struct *)ctx[1];
	struct task_struct *next = (struct task_struct *)ctx[2];
	struct runqlat_cpu *c;
	struct cfs_rq *cfs;
	struct rq *rq;
	u64 queued, now, wait, run_delay, *base;
	u32 pid;

	/* next is about to run here; the idle task has a CFS run queue too,
	 * prev is the second way to this CPU's rq. */
	cfs = next->se.cfs_rq;
	if (!cfs)
		cfs = prev->se.cfs_rq;
	if (!cfs)
		return 0;
	rq = cfs->rq;
	if (!rq)
		return 0;
	now = rq->clock;
	c = cpu_ring();
	if (c)
		slice_close(c, prev->pid ? kg_task_cgroup_id(prev, KG_CPU_SUBSYS, true) : 0, now);

	pid = next->pid;
	if (!pid)
		return 0;
	queued = next->sched_info.last_queued;
	if (!queued || now <= queued)
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
	/* Only [queued, now] was spent on this CPU: segments before a
	 * migration are in the histogram, not attributed. */
	record(next, wait, true, c, queued, now);
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
	struct runqlat_cpu *c = cpu_ring();
	u64 *ts, delta, queued;
	u32 pid;

	/* A task switched out while still runnable was preempted: it is back
	 * on the run queue from now. */
	if (prev_runnable(ctx, prev))
		mark_runnable(prev, now, btf);
	if (c) {
		pid = btf ? prev->pid : BPF_CORE_READ(prev, pid);
		slice_close(c, pid ? kg_task_cgroup_id(prev, KG_CPU_SUBSYS, btf) : 0, now);
	}

	pid = btf ? next->pid : BPF_CORE_READ(next, pid);
	if (!pid)
		return;
	ts = task_u64(&runqlat_start, &runqlat_start_pid, next, pid, false, btf);
	if (!ts || !*ts)
		return;
	queued = *ts;
	delta = now - queued;
	*ts = 0;
	/* The wakeup may have happened on another CPU: only the overlap with
	 * this CPU's slices is attributed, the rest counts as unknown. */
	record(next, delta, btf, c, queued, now);
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
