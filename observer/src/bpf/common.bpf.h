/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Helpers shared by the observer's BPF programs (kernel side only; nothing in
 * here is visible to userspace). Every probe includes this once.
 */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/*
 * Set by userspace before load. true: the host runs the unified cgroup v2
 * hierarchy only, so a task's cgroup is css_set->dfl_cgrp. false (v1 or
 * hybrid): resolve through the controller's css, because on v1 hosts the
 * default hierarchy is the root for almost every task and
 * bpf_get_current_cgroup_id() would attribute everything to "/".
 */
const volatile bool kg_cgroup_v2 = false;

/* Controller indexes come from the running kernel's BTF (CO-RE): the order
 * of enum cgroup_subsys_id depends on the kernel config, never hard-code. */
#define KG_CPU_SUBSYS bpf_core_enum_value(enum cgroup_subsys_id, cpu_cgrp_id)
#define KG_MEMORY_SUBSYS bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id)

/*
 * The cgroup id (kernfs inode number, equal to the cgroup directory's st_ino)
 * of @task in the hierarchy of controller @subsys.
 *
 * @btf selects direct BTF pointer dereference (tp_btf programs, ~3 ns) over
 * BPF_CORE_READ (raw_tp fallback, ~150 ns). It is a compile-time constant at
 * every call site, so the unused branch is removed before the verifier sees
 * it.
 */
static __always_inline u64 kg_task_cgroup_id(struct task_struct *task, int subsys, const bool btf)
{
	struct cgroup *cg;

	if (btf) {
		struct css_set *cs = task->cgroups;

		if (!cs)
			return 0;
		if (kg_cgroup_v2) {
			cg = cs->dfl_cgrp;
		} else {
			struct cgroup_subsys_state *css = cs->subsys[subsys];

			if (!css)
				return 0;
			cg = css->cgroup;
		}
		if (!cg || !cg->kn)
			return 0;
		return cg->kn->id;
	}

	if (kg_cgroup_v2)
		cg = BPF_CORE_READ(task, cgroups, dfl_cgrp);
	else
		cg = BPF_CORE_READ(task, cgroups, subsys[subsys], cgroup);
	if (!cg)
		return 0;
	return BPF_CORE_READ(cg, kn, id);
}

/*
 * Set by the loader from the running kernel's BTF (src/probes/kernel.rs,
 * ADR 0065): BPF task storage and bpf_get_current_task_btf() exist (5.11+).
 * Without them, per-task state lives in pid-keyed LRU hashes. Branches on
 * these constants are dead code the verifier never walks on kernels that
 * lack the feature.
 */
const volatile bool kg_task_storage = true;

/*
 * The value of @key in hash @map, created from @init if absent (another CPU
 * may create it first: then its entry is used). NULL only when the map is
 * full and cannot evict.
 */
static __always_inline void *kg_lookup_or_init(void *map, const void *key, const void *init)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

/* One more in the lost-records counter @lost (a one-element PERCPU_ARRAY). */
static __always_inline void kg_count_lost(void *lost)
{
	u32 zero = 0;
	u64 *n = bpf_map_lookup_elem(lost, &zero);

	if (n)
		(*n)++;
}

/* @size bytes reserved in ring buffer @rb; NULL, counted in @lost, when it
 * is full. */
static __always_inline void *kg_ringbuf_reserve(void *rb, void *lost, const u64 size)
{
	void *e = bpf_ringbuf_reserve(rb, size, 0);

	if (!e)
		kg_count_lost(lost);
	return e;
}

/* floor(log2(v)) for v > 0; 0 for v == 0. Branch-light, verifier friendly. */
static __always_inline u32 kg_log2(u64 v)
{
	u32 r = 0, shift;

	shift = (v > 0xFFFFFFFFULL) << 5; v >>= shift; r |= shift;
	shift = (v > 0xFFFF) << 4; v >>= shift; r |= shift;
	shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
	shift = (v > 0xF) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

/* Network namespace inode of a socket (0 if unknown). */
static __always_inline u32 kg_sock_netns(const struct sock *sk, const bool btf)
{
	if (!sk)
		return 0;
	if (btf) {
		struct net *net = sk->__sk_common.skc_net.net;

		return net ? net->ns.inum : 0;
	}
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

/*
 * Network namespace inode of a packet. Packet events fire in softirq context
 * where `current` is whatever task was interrupted, so attribute by the
 * device's namespace, else the owning socket's.
 */
static __always_inline u32 kg_skb_netns(const struct sk_buff *skb, const struct sock *sk, const bool btf)
{
	u32 inum = 0;

	if (!skb)
		return kg_sock_netns(sk, btf);
	if (btf) {
		struct net_device *dev = skb->dev;

		if (dev && dev->nd_net.net)
			inum = dev->nd_net.net->ns.inum;
		if (!inum)
			inum = kg_sock_netns(sk ? sk : skb->sk, btf);
		return inum;
	}
	inum = BPF_CORE_READ(skb, dev, nd_net.net, ns.inum);
	if (!inum)
		inum = kg_sock_netns(sk ? sk : BPF_CORE_READ(skb, sk), btf);
	return inum;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
