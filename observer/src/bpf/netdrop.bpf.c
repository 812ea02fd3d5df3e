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

/* Set by the loader from skb:kfree_skb's argument list in the running
 * kernel's BTF (src/probes/kernel.rs): (skb, location) before 5.17, then
 * + reason, then + rx_sk (6.11+). Arguments the kernel does not pass are
 * never read: their branches are dead code to the verifier. */
const volatile bool kg_kfree_skb_reason = true;
const volatile bool kg_kfree_skb_rx_sk = true;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, NETDROP_MAX_KEYS);
	__type(key, struct netdrop_key);
	__type(value, __u64);
} netdrop_counts SEC(".maps");

/* Makes the skeleton generator emit the key's and the sentinel's Rust types. */
struct netdrop_key _netdrop_key = {};
enum netdrop_reason_special _netdrop_reason_special = NETDROP_REASON_UNKNOWN;

const __u64 netdrop_zero = 0;

static __always_inline void count(struct netdrop_key *key)
{
	u64 *v = kg_lookup_or_init(&netdrop_counts, key, &netdrop_zero);

	/* Per-CPU value: no atomics needed. */
	if (v)
		(*v)++;
}

static __always_inline void on_kfree_skb(u64 *ctx, const bool btf)
{
	struct sk_buff *skb = (struct sk_buff *)ctx[0];
	struct sock *rx_sk = NULL;
	struct netdrop_key key;

	/* Before 5.17 kfree_skb() is the "dropped" free (consume_skb() the
	 * normal one) but says not why. */
	key.reason = NETDROP_REASON_UNKNOWN;
	if (kg_kfree_skb_reason) {
		key.reason = (u32)ctx[2];
		if (key.reason < KG_FIRST_DROP_REASON)
			return;
	}
	if (kg_kfree_skb_rx_sk)
		rx_sk = (struct sock *)ctx[3];
	key.netns = kg_skb_netns(skb, rx_sk, btf);
	count(&key);
}

SEC("tp_btf/kfree_skb")
int netdrop_kfree_skb(u64 *ctx)
{
	on_kfree_skb(ctx, true);
	return 0;
}

SEC("raw_tp/kfree_skb")
int netdrop_kfree_skb_raw(u64 *ctx)
{
	on_kfree_skb(ctx, false);
	return 0;
}
