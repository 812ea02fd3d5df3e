/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * TCP retransmits and resets per network namespace. Retransmit timers run in
 * softirq, so `current` is meaningless: attribute by the socket's netns.
 */
#include "common.bpf.h"
#include "tcp.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, TCP_MAX_NETNS);
	__type(key, __u32);
	__type(value, struct tcp_counts);
} tcp_counts SEC(".maps");

const struct tcp_counts tcp_zero = {};

/* Set by the loader from tcp_retransmit_skb's argument list in the running
 * kernel's BTF (src/probes/kernel.rs): whether it passes `err`. */
const volatile bool kg_tcp_retransmit_err = true;

static __always_inline struct tcp_counts *counts_for(u32 netns)
{
	return kg_lookup_or_init(&tcp_counts, &netns, &tcp_zero);
}

/* Where the tracepoint passes err, it also fires for retransmit attempts
 * that failed (e.g. the previous copy still sits in a device queue); the
 * kernel's RetransSegs counts only successful ones, and so do we. Where it
 * does not, it fires for successful ones only. */
static __always_inline void on_retransmit(u64 *ctx, const bool btf)
{
	struct tcp_counts *c;

	if (kg_tcp_retransmit_err && (int)ctx[2])
		return;
	c = counts_for(kg_sock_netns((const struct sock *)ctx[0], btf));
	if (c)
		c->retransmits++;
}

SEC("tp_btf/tcp_retransmit_skb")
int tcp_retransmit(u64 *ctx)
{
	on_retransmit(ctx, true);
	return 0;
}

/* sk is NULL when the reset answers a packet with no socket: then the
 * incoming skb's device tells the namespace. */
SEC("tp_btf/tcp_send_reset")
int BPF_PROG(tcp_send_reset, const struct sock *sk, const struct sk_buff *skb)
{
	struct tcp_counts *c = counts_for(kg_skb_netns(skb, sk, true));

	if (c)
		c->resets_sent++;
	return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(tcp_receive_reset, struct sock *sk)
{
	struct tcp_counts *c = counts_for(kg_sock_netns(sk, true));

	if (c)
		c->resets_received++;
	return 0;
}

SEC("raw_tp/tcp_retransmit_skb")
int tcp_retransmit_raw(u64 *ctx)
{
	on_retransmit(ctx, false);
	return 0;
}

SEC("raw_tp/tcp_send_reset")
int BPF_PROG(tcp_send_reset_raw, const struct sock *sk, const struct sk_buff *skb)
{
	struct tcp_counts *c = counts_for(kg_skb_netns(skb, sk, false));

	if (c)
		c->resets_sent++;
	return 0;
}

SEC("raw_tp/tcp_receive_reset")
int BPF_PROG(tcp_receive_reset_raw, struct sock *sk)
{
	struct tcp_counts *c = counts_for(kg_sock_netns(sk, false));

	if (c)
		c->resets_received++;
	return 0;
}
