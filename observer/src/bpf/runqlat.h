/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/* Shared between runqlat.bpf.c and src/probes/runqlat.rs. */
#pragma once

/* log2(ns) slots: slot i counts delays in [2^i, 2^(i+1)) ns; the last slot
 * also takes everything longer (2^36 ns ~ 69 s). */
#define RUNQLAT_SLOTS 37
/* Distinct cgroups tracked at once; LRU evicts the coldest beyond this. */
#define RUNQLAT_MAX_CGROUPS 4096

struct runqlat_hist {
	__u64 slots[RUNQLAT_SLOTS];
	__u64 sum_ns;
};
