/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/* Shared between netdrop.bpf.c and src/probes/netdrop.rs. */
#pragma once

/* Distinct (netns, reason) pairs counted at once; LRU beyond this. */
#define NETDROP_MAX_KEYS 8192

/* Reason value for drops on kernels whose kfree_skb passes none (< 5.17).
 * An enum so the skeleton gives userspace the value (ADR 0085). */
enum netdrop_reason_special {
	NETDROP_REASON_UNKNOWN = 0xffffffffU,
};

struct netdrop_key {
	__u32 netns; /* network namespace inode, 0 if unknown */
	__u32 reason; /* enum skb_drop_reason value of the running kernel, or NETDROP_REASON_UNKNOWN */
};
