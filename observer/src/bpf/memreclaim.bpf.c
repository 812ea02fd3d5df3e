/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * memcg reclaim time per memory cgroup. The vmscan tracepoints carry no memcg
 * argument; reclaim begin/end run synchronously in the charging task, so
 * current's memory cgroup is the right attribution.
 */
#include "common.bpf.h"
#include "memreclaim.h"

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} memreclaim_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, MEMRECLAIM_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct memreclaim_stats);
} memreclaim_stats SEC(".maps");

const struct memreclaim_stats memreclaim_zero = {};

static __always_inline void begin(struct task_struct *task)
{
	u64 *ts = bpf_task_storage_get(&memreclaim_start, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (ts)
		*ts = bpf_ktime_get_ns();
}

static __always_inline void end(struct task_struct *task, unsigned long nr_reclaimed, const bool btf)
{
	struct memreclaim_stats *s;
	u64 *ts, delta, cg;

	ts = bpf_task_storage_get(&memreclaim_start, task, 0, 0);
	if (!ts || !*ts)
		return;
	delta = bpf_ktime_get_ns() - *ts;
	*ts = 0;
	cg = kg_task_cgroup_id(task, KG_MEMORY_SUBSYS, btf);
	s = bpf_map_lookup_elem(&memreclaim_stats, &cg);
	if (!s) {
		bpf_map_update_elem(&memreclaim_stats, &cg, &memreclaim_zero, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&memreclaim_stats, &cg);
		if (!s)
			return;
	}
	s->count++;
	s->total_ns += delta;
	s->nr_reclaimed += nr_reclaimed;
}

SEC("tp_btf/mm_vmscan_memcg_reclaim_begin")
int BPF_PROG(memreclaim_begin, int order, gfp_t gfp_flags)
{
	begin(bpf_get_current_task_btf());
	return 0;
}

SEC("tp_btf/mm_vmscan_memcg_reclaim_end")
int BPF_PROG(memreclaim_end, unsigned long nr_reclaimed)
{
	end(bpf_get_current_task_btf(), nr_reclaimed, true);
	return 0;
}

SEC("raw_tp/mm_vmscan_memcg_reclaim_begin")
int BPF_PROG(memreclaim_begin_raw, int order, gfp_t gfp_flags)
{
	begin(bpf_get_current_task_btf());
	return 0;
}

SEC("raw_tp/mm_vmscan_memcg_reclaim_end")
int BPF_PROG(memreclaim_end_raw, unsigned long nr_reclaimed)
{
	end(bpf_get_current_task_btf(), nr_reclaimed, false);
	return 0;
}
