/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * memcg reclaim time per memory cgroup. The vmscan tracepoints carry no memcg
 * argument; reclaim begin/end run synchronously in the charging task, so
 * current's memory cgroup is the right attribution.
 */
#include "common.bpf.h"
#include "memreclaim.h"

/* Start of the reclaim run in progress, per task: task storage where the
 * kernel has it (kg_task_storage, set by the loader), else keyed by pid.
 * The loader creates only the one in use. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} memreclaim_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} memreclaim_start_pid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, MEMRECLAIM_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct memreclaim_stats);
} memreclaim_stats SEC(".maps");

const struct memreclaim_stats memreclaim_zero = {};
const __u64 memreclaim_zero_ts = 0;

/* The current task's start slot. With task storage the task pointer must be
 * a trusted one (bpf_get_current_task_btf, 5.11+, like the map type). */
static __always_inline u64 *start_slot(bool create)
{
	u32 pid = (u32)bpf_get_current_pid_tgid();

	if (kg_task_storage)
		return bpf_task_storage_get(&memreclaim_start, bpf_get_current_task_btf(), 0,
					    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
	if (create)
		return kg_lookup_or_init(&memreclaim_start_pid, &pid, &memreclaim_zero_ts);
	return bpf_map_lookup_elem(&memreclaim_start_pid, &pid);
}

static __always_inline void begin(void)
{
	u64 *ts = start_slot(true);

	if (ts)
		*ts = bpf_ktime_get_ns();
}

static __always_inline void end(unsigned long nr_reclaimed)
{
	struct memreclaim_stats *s;
	u64 *ts, delta, cg;

	ts = start_slot(false);
	if (!ts || !*ts)
		return;
	delta = bpf_ktime_get_ns() - *ts;
	*ts = 0;
	/* Through BPF_CORE_READ: bpf_get_current_task() is an untrusted
	 * pointer on kernels without bpf_get_current_task_btf(). */
	cg = kg_task_cgroup_id((struct task_struct *)bpf_get_current_task(), KG_MEMORY_SUBSYS, false);
	s = kg_lookup_or_init(&memreclaim_stats, &cg, &memreclaim_zero);
	if (!s)
		return;
	s->count++;
	s->total_ns += delta;
	s->nr_reclaimed += nr_reclaimed;
}

/* Only the first argument of each is read: the rest changed over time. */
SEC("tp_btf/mm_vmscan_memcg_reclaim_begin")
int memreclaim_begin(u64 *ctx)
{
	begin();
	return 0;
}

SEC("tp_btf/mm_vmscan_memcg_reclaim_end")
int memreclaim_end(u64 *ctx)
{
	end((unsigned long)ctx[0]);
	return 0;
}

SEC("raw_tp/mm_vmscan_memcg_reclaim_begin")
int memreclaim_begin_raw(u64 *ctx)
{
	begin();
	return 0;
}

SEC("raw_tp/mm_vmscan_memcg_reclaim_end")
int memreclaim_end_raw(u64 *ctx)
{
	end((unsigned long)ctx[0]);
	return 0;
}
