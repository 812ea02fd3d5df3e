/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/* Shared between memreclaim.bpf.c and src/probes/memreclaim.rs. */
#pragma once

#define MEMRECLAIM_MAX_CGROUPS 4096

/* Direct memcg reclaim (a task stalled reclaiming its cgroup's memory
 * because the cgroup hit its limit), per memory cgroup. */
struct memreclaim_stats {
	__u64 count;
	__u64 total_ns;
	__u64 nr_reclaimed; /* pages */
};
