/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Birth probe: what the lifecycle programs do (ADR 0016). Always attached;
 * rare events. They decide which processes are tracked and report cgroups
 * made, tasks moved, forks, execs (with namespace inode numbers) and exits.
 * The programs themselves (tp_btf, each with a raw_tp twin) are in
 * birth.bpf.c. Included once, by birth.bpf.c.
 */
#pragma once

#include "birth_classify.bpf.h"
#include "birth_state.bpf.h"

/* Container runtimes by their comm after exec ("containerd-shim-runc-v2" is
 * cut to 15 characters). Their exec pre-arms capture (see ADR 0016). */
static __always_inline bool runtime_comm(const char *c)
{
	if (c[0] == 'r' && c[1] == 'u' && c[2] == 'n' && c[3] == 'c')
		return true;
	if (c[0] == 'c' && c[1] == 'r' && c[2] == 'u' && c[3] == 'n' && c[4] == 0)
		return true;
	if (c[0] == 'c' && c[1] == 'o' && c[2] == 'n' && c[3] == 'm' && c[4] == 'o' && c[5] == 'n')
		return true;
	return c[0] == 'c' && c[1] == 'o' && c[2] == 'n' && c[3] == 't' && c[4] == 'a' &&
	       c[5] == 'i' && c[6] == 'n' && c[7] == 'e' && c[8] == 'r' && c[9] == 'd' &&
	       c[10] == '-' && c[11] == 's' && c[12] == 'h' && c[13] == 'i' && c[14] == 'm';
}

/* Whether @cgrp is in the hierarchy whose cgroup ids exec records carry
 * (kg_task_cgroup_id with KG_CPU_SUBSYS): cgroup2 on v2, the cpu
 * controller's on v1. */
static __always_inline bool exec_hierarchy(struct cgroup *cgrp)
{
	if (kg_cgroup_v2)
		return BPF_CORE_READ(cgrp, root, hierarchy_id) == 0;
	return BPF_CORE_READ(cgrp, subsys[KG_CPU_SUBSYS]) != NULL;
}

static __always_inline void on_mkdir(struct cgroup *cgrp, const char *path)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32, zero = 0, flags, cls;
	char comm[BIRTH_COMM_LEN] = {};
	struct birth_record *e;
	char *buf;
	long len;

	buf = bpf_map_lookup_elem(&birth_scratch, &zero);
	if (!buf)
		return;
	len = bpf_probe_read_kernel_str(buf, BIRTH_PATH_MAX, path);
	if (len <= 0)
		return;
	u64 wake = BPF_RB_NO_WAKEUP;

	flags = tracked_flags(tgid);
	cls = classify(buf, len - 1);
	if (!flags && !cls)
		return;
	if ((cls & PATH_CONTAINER) && exec_hierarchy(cgrp)) {
		u64 id = BPF_CORE_READ(cgrp, kn, id);
		u32 one = 1;

		bpf_map_update_elem(&birth_cgroups, &id, &one, BPF_ANY);
	}
	bpf_get_current_comm(comm, sizeof(comm));
	if (!flags) {
		/* Nothing armed the syscall program for this maker yet (kubelet, or a
		 * runtime started before the observer): wake userspace now. */
		wake = BPF_RB_FORCE_WAKEUP;
		/* A container cgroup made by an untracked process (a runtime we do
		 * not know by name), or any cgroup made by a runtime whose exec we
		 * did not see: follow it fully. A pod-level kubepods cgroup made by
		 * anyone else: its maker is a long-lived agent (kubelet); only its
		 * cgroup file writes matter. */
		flags = ((cls & PATH_CONTAINER) || runtime_comm(comm)) ? BIRTH_TRACK_FULL
								       : BIRTH_TRACK_WRITES;
		track(tgid, flags);
	} else if (!(flags & BIRTH_TRACK_FULL) && runtime_comm(comm)) {
		/* A runtime tracked for writes only (its exec was skipped, see
		 * birth_cgroups) making cgroups: follow it fully from now. By comm,
		 * never by path alone: systemd makes both pod slices and container
		 * scopes and must stay a writes-only maker. */
		wake = BPF_RB_FORCE_WAKEUP;
		flags |= BIRTH_TRACK_FULL;
		track(tgid, flags);
	}
	e = record(BIRTH_REC_MKDIR);
	if (!e)
		return;
	e->arg = BPF_CORE_READ(cgrp, kn, id);
	e->hierarchy_id = BPF_CORE_READ(cgrp, root, hierarchy_id);
	e->level = BPF_CORE_READ(cgrp, level);
	e->flags = flags;
	read_ns((struct task_struct *)bpf_get_current_task(), e->ns);
	bpf_probe_read_kernel_str(e->path, sizeof(e->path), buf);
	bpf_ringbuf_submit(e, wake);
}

static __always_inline void on_attach(struct cgroup *dst, const char *path, struct task_struct *task)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32, moved;
	struct birth_record *e;

	if (!(tracked_flags(tgid) & BIRTH_TRACK_FULL))
		return;
	moved = BPF_CORE_READ(task, tgid);
	/* runc starts `runc init` before it makes the cgroups, then moves it in. */
	track(moved, BIRTH_TRACK_FULL);
	e = record(BIRTH_REC_ATTACH);
	if (!e)
		return;
	e->arg = BPF_CORE_READ(dst, kn, id);
	e->hierarchy_id = BPF_CORE_READ(dst, root, hierarchy_id);
	e->target = moved;
	e->flags = BIRTH_TRACK_FULL;
	bpf_probe_read_kernel_str(e->path, sizeof(e->path), path);
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

static __always_inline void on_fork(struct task_struct *parent, struct task_struct *child)
{
	u32 ptgid = BPF_CORE_READ(parent, tgid), ctgid, cpid;
	struct birth_record *e;

	if (!(tracked_flags(ptgid) & BIRTH_TRACK_FULL))
		return;
	ctgid = BPF_CORE_READ(child, tgid);
	cpid = BPF_CORE_READ(child, pid);
	if (ctgid == ptgid || cpid != ctgid)
		return; /* a thread: already covered by its tgid */
	track(ctgid, BIRTH_TRACK_FULL);
	e = record(BIRTH_REC_FORK);
	if (!e)
		return;
	e->target = ctgid;
	e->flags = BIRTH_TRACK_FULL;
	read_ns(child, e->ns);
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

static __always_inline void on_exec(struct task_struct *task, struct linux_binprm *bprm)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32, flags;
	u64 cgid = kg_task_cgroup_id(task, KG_CPU_SUBSYS, false);
	char comm[BIRTH_COMM_LEN] = {};
	u64 wake = BPF_RB_NO_WAKEUP;
	struct birth_record *e;

	flags = tracked_flags(tgid);
	if (!(flags & BIRTH_TRACK_FULL)) {
		bpf_get_current_comm(comm, sizeof(comm));
		if (runtime_comm(comm)) {
			/* A runtime just started: userspace attaches the syscall
			 * program (pre-arm) on this record, so wake it now. */
			wake = BPF_RB_FORCE_WAKEUP;
		} else if (!bpf_map_lookup_elem(&birth_cgroups, &cgid)) {
			return;
		}
		/* else: an exec inside a container cgroup a runtime just made,
		 * by a process whose fork or attach the kernel skipped. */
		track(tgid, BIRTH_TRACK_FULL);
	}
	e = record(BIRTH_REC_EXEC);
	if (!e)
		return;
	e->arg = cgid;
	e->flags = BIRTH_TRACK_FULL;
	read_ns(task, e->ns);
	bpf_probe_read_kernel_str(e->path, sizeof(e->path), BPF_CORE_READ(bprm, filename));
	bpf_ringbuf_submit(e, wake);
}

static __always_inline void on_exit(struct task_struct *task)
{
	u32 tgid = BPF_CORE_READ(task, tgid);
	struct birth_tracked *t;
	struct birth_record *e;
	u64 syscalls;

	/* The process ends when its last thread does, whichever that is. Not at
	 * the leader's exit: a thread that execs kills the leader first (same
	 * tgid afterwards), and the leader may leave before its threads. */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return;
	t = bpf_map_lookup_elem(&birth_tracked, &tgid);
	if (!t)
		return;
	syscalls = t->syscalls;
	bpf_map_delete_elem(&birth_tracked, &tgid);
	e = record(BIRTH_REC_EXIT);
	if (!e)
		return;
	e->arg = syscalls;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}
