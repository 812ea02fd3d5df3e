/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/* Shared between tcp.bpf.c and src/probes/tcp.rs. */
#pragma once

#define TCP_MAX_NETNS 4096

/* Per network namespace TCP trouble counters. */
struct tcp_counts {
	__u64 retransmits;
	__u64 resets_sent;
	__u64 resets_received;
};
