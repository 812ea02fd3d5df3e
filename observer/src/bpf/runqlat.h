/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/* Shared between runqlat.bpf.c and src/probes/runqlat.rs. */
#pragma once

/* log2(ns) slots: slot i counts delays in [2^i, 2^(i+1)) ns; the last slot
 * also takes everything longer (2^36 ns ~ 69 s). */
#define RUNQLAT_SLOTS 37
/* Distinct cgroups tracked at once; LRU evicts the coldest beyond this. */
#define RUNQLAT_MAX_CGROUPS 4096

/* Who stole the CPU (ADR 0095): culprit cgroups kept per victim cgroup and
 * CPU. A bounded top-k: a culprit that finds every slot taken replaces the
 * smallest when its overlap is larger (the smallest folds into other_ns),
 * else folds in itself; each fold is counted in `cut`. */
#define RUNQLAT_CULPRITS 8
/* Recent run slices per CPU walked when a waiting task gets the CPU. */
#define RUNQLAT_SLICES 16

struct runqlat_culprit {
	__u64 cgroup;
	__u64 ns;
};

/* The victim's waits on this CPU split by what ran meanwhile (rq clock ns). */
struct runqlat_stolen {
	struct runqlat_culprit culprits[RUNQLAT_CULPRITS];
	/* Tasks of the victim's own cgroup ran. */
	__u64 self_ns;
	/* Culprits folded out of the top-k. */
	__u64 other_ns;
	/* Not covered by a remembered slice: older than the ring, or the CPU
	 * was idle (idle is never blamed). */
	__u64 unknown_ns;
	/* Culprit slots evicted or refused (cardinality cut, like the label cap). */
	__u64 cut;
};

struct runqlat_hist {
	__u64 slots[RUNQLAT_SLOTS];
	__u64 sum_ns;
	struct runqlat_stolen stolen;
};
