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

static __always_inline struct tcp_counts *counts_for(u32 netns)
{
	struct tcp_counts *c = bpf_map_lookup_elem(&tcp_counts, &netns);

	if (c)
		return c;
	bpf_map_update_elem(&tcp_counts, &netns, &tcp_zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&tcp_counts, &netns);
}

/* The tracepoint also fires for retransmit attempts that failed (err != 0,
 * e.g. the previous copy still sits in a device queue); the kernel's
 * RetransSegs counts only successful ones, and so do we. */
SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(tcp_retransmit, const struct sock *sk, const struct sk_buff *skb, int err)
{
	struct tcp_counts *c;

	if (err)
		return 0;
	c = counts_for(kg_sock_netns(sk, true));

	if (c)
		c->retransmits++;
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
int BPF_PROG(tcp_retransmit_raw, const struct sock *sk, const struct sk_buff *skb, int err)
{
	struct tcp_counts *c;

	if (err)
		return 0;
	c = counts_for(kg_sock_netns(sk, false));

	if (c)
		c->retransmits++;
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
