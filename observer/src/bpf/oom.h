/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/* Shared between oom.bpf.c and src/probes/oom.rs. */
#pragma once

/* The kernel chose a task to kill for memory (oom:mark_victim). */
struct oom_event {
	__u64 ts_ns;         /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u64 memcg_id;      /* victim's memory cgroup id (v1) or cgroup id (v2) */
	__u64 cpu_cgroup_id; /* victim's cpu cgroup id (v1) or cgroup id (v2) */
	__u64 anon_rss_bytes;
	__u64 file_rss_bytes;
	__u64 shmem_rss_bytes;
	__u64 total_vm_bytes;
	__u32 pid;  /* thread id of the victim */
	__u32 tgid; /* process id of the victim */
	__s32 oom_score_adj;
	__u32 uid;
	char comm[16];
};
