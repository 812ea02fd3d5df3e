/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Packet drops by reason, per network namespace. skb:kfree_skb fires for
 * every freed skb, including normal consumption, so non-drops are filtered
 * here. Reason numbers are kernel-specific: userspace names them from the
 * running kernel's BTF.
 */
#include "common.bpf.h"
#include "netdrop.h"

/* SKB_NOT_DROPPED_YET (0) and SKB_CONSUMED (1) are not drops. */
#define KG_FIRST_DROP_REASON 2

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, NETDROP_MAX_KEYS);
	__type(key, struct netdrop_key);
	__type(value, __u64);
} netdrop_counts SEC(".maps");

struct netdrop_key _netdrop_key = {};

static __always_inline void count(struct netdrop_key *key)
{
	u64 one = 1, *v;

	v = bpf_map_lookup_elem(&netdrop_counts, key);
	if (v) {
		(*v)++;
		return;
	}
	bpf_map_update_elem(&netdrop_counts, key, &one, BPF_NOEXIST);
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(netdrop_kfree_skb, struct sk_buff *skb, void *location, enum skb_drop_reason reason,
	     struct sock *rx_sk)
{
	struct netdrop_key key;

	if ((u32)reason < KG_FIRST_DROP_REASON)
		return 0;
	key.netns = kg_skb_netns(skb, rx_sk, true);
	key.reason = reason;
	count(&key);
	return 0;
}

SEC("raw_tp/kfree_skb")
int BPF_PROG(netdrop_kfree_skb_raw, struct sk_buff *skb, void *location, enum skb_drop_reason reason,
	     struct sock *rx_sk)
{
	struct netdrop_key key;

	if ((u32)reason < KG_FIRST_DROP_REASON)
		return 0;
	key.netns = kg_skb_netns(skb, rx_sk, false);
	key.reason = reason;
	count(&key);
	return 0;
}
