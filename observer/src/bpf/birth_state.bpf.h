/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Birth probe state (ADR 0016): the maps every birth program shares, the
 * record every program fills, and which processes are tracked. Included once,
 * by birth.bpf.c.
 */
#pragma once

#include "common.bpf.h"
#include "birth.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024); /* ~9000 records of 440 B */
} birth_rb SEC(".maps");

/* Records dropped because the ring buffer was full (index 0). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} birth_lost SEC(".maps");

/* Tracked processes. A hash (not LRU) so a busy host cannot evict a
 * container's runtime mid-start; entries leave on exit or when userspace
 * closes the window; a full map just stops tracking new tgids. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct birth_tracked);
} birth_tracked SEC(".maps");

/* Container cgroups made since the observer started (key: the cgroup id that
 * exec records carry: cgroup2's on v2, the cpu controller's on v1). A process
 * that execs inside one is followed even when the kernel skipped the fork or
 * attach that would have tracked it: from 7.x on, a tracepoint program can be
 * preempted, and the same program's next event on that CPU is then skipped
 * (counted as a recursion miss). LRU: userspace deletes an entry when its
 * window closes; entries of cgroups that never had a window age out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u32);
} birth_cgroups SEC(".maps");

/* Scratch for the mkdir path (too big for the 512-byte stack with a record). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, char[BIRTH_PATH_MAX]);
} birth_scratch SEC(".maps");

/* A zeroed record of @kind about the current task, reserved in the ring
 * buffer (counted as lost when it is full). */
static __always_inline struct birth_record *record(u32 kind)
{
	struct birth_record *e;
	struct task_struct *task;
	u64 id = bpf_get_current_pid_tgid();

	e = kg_ringbuf_reserve(&birth_rb, &birth_lost, sizeof(*e));
	if (!e)
		return NULL;
	__builtin_memset(e, 0, sizeof(*e));
	task = (struct task_struct *)bpf_get_current_task();
	e->ts_ns = bpf_ktime_get_ns();
	e->kind = kind;
	e->pid = (u32)id;
	e->tgid = id >> 32;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

/* The namespace inode numbers of @t, in birth.h's order (enum birth_ns_index). */
static __always_inline void read_ns(struct task_struct *t, u32 *ns)
{
	struct nsproxy *nsp = BPF_CORE_READ(t, nsproxy);

	ns[BIRTH_NS_USER] = BPF_CORE_READ(t, cred, user_ns, ns.inum);
	/* Exiting tasks have no nsproxy any more. */
	if (!nsp)
		return;
	ns[BIRTH_NS_MNT] = BPF_CORE_READ(nsp, mnt_ns, ns.inum);
	ns[BIRTH_NS_UTS] = BPF_CORE_READ(nsp, uts_ns, ns.inum);
	ns[BIRTH_NS_IPC] = BPF_CORE_READ(nsp, ipc_ns, ns.inum);
	ns[BIRTH_NS_PID] = BPF_CORE_READ(nsp, pid_ns_for_children, ns.inum);
	ns[BIRTH_NS_NET] = BPF_CORE_READ(nsp, net_ns, ns.inum);
	ns[BIRTH_NS_CGROUP] = BPF_CORE_READ(nsp, cgroup_ns, ns.inum);
	if (bpf_core_field_exists(nsp->time_ns_for_children))
		ns[BIRTH_NS_TIME] = BPF_CORE_READ(nsp, time_ns_for_children, ns.inum);
}

/* enum birth_track_flags of @tgid; 0 when untracked. */
static __always_inline u32 tracked_flags(u32 tgid)
{
	struct birth_tracked *t = bpf_map_lookup_elem(&birth_tracked, &tgid);

	return t ? t->flags : 0;
}

/* Track @tgid, adding @flags to what it has. A full map just stops
 * tracking new tgids. */
static __always_inline void track(u32 tgid, u32 flags)
{
	struct birth_tracked init = { .flags = flags };
	struct birth_tracked *t = kg_lookup_or_init(&birth_tracked, &tgid, &init);

	if (t)
		t->flags |= flags;
}
