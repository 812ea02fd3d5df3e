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

/* Page size in bytes; set by userspace (sysconf) before load. */
const volatile u64 kg_page_size = 4096;

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

struct oom_event _oom_event = {};

static __always_inline s64 clamp0(s64 v)
{
	return v < 0 ? 0 : v;
}

static __always_inline void emit(struct task_struct *task, u32 uid, const bool btf)
{
	struct oom_event *e;
	struct mm_struct *mm;
	u32 zero = 0;

	e = bpf_ringbuf_reserve(&oom_events, sizeof(*e), 0);
	if (!e) {
		u64 *lost = bpf_map_lookup_elem(&oom_lost, &zero);

		if (lost)
			(*lost)++;
		return;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->memcg_id = kg_task_cgroup_id(task, KG_MEMORY_SUBSYS, btf);
	e->cpu_cgroup_id = kg_task_cgroup_id(task, KG_CPU_SUBSYS, btf);
	e->uid = uid;
	/* Same approximation as the tracepoint itself (percpu_counter_read). */
	mm = BPF_CORE_READ(task, mm);
	if (mm) {
		e->anon_rss_bytes = clamp0(BPF_CORE_READ(mm, rss_stat[KG_MM_ANONPAGES].count)) * kg_page_size;
		e->file_rss_bytes = clamp0(BPF_CORE_READ(mm, rss_stat[KG_MM_FILEPAGES].count)) * kg_page_size;
		e->shmem_rss_bytes = clamp0(BPF_CORE_READ(mm, rss_stat[KG_MM_SHMEMPAGES].count)) * kg_page_size;
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

SEC("tp_btf/mark_victim")
int BPF_PROG(oom_mark_victim, struct task_struct *task, u32 uid)
{
	emit(task, uid, true);
	return 0;
}

SEC("raw_tp/mark_victim")
int BPF_PROG(oom_mark_victim_raw, struct task_struct *task, u32 uid)
{
	emit(task, uid, false);
	return 0;
}
