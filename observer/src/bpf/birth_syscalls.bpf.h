/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Birth probe: what the syscall program does (ADR 0016). birth_sys_enter
 * (raw_tp/sys_enter, in birth.bpf.c) is attached by userspace ONLY while a
 * capture window is open, because any syscall tracepoint puts every syscall
 * on the host on the slow path. Filtered to tracked tgids: counts their
 * syscalls, reports writes to cgroup control files with the bytes written,
 * and namespace flags of clone/clone3/unshare/setns. Syscall numbers and
 * CLONE_NEW* flags are birth.h's (ADR 0085). Included once, by birth.bpf.c.
 */
#pragma once

#include "birth_state.bpf.h"

#define CGROUP_SUPER_MAGIC 0x27e0eb
#define CGROUP2_SUPER_MAGIC 0x63677270

/* clone(2) has no room for CLONE_NEWTIME: 0x80 is part of the exit signal there. */
#define KG_NS_FLAGS_CLONE                                                                          \
	(BIRTH_CLONE_NEWNS | BIRTH_CLONE_NEWCGROUP | BIRTH_CLONE_NEWUTS | BIRTH_CLONE_NEWIPC |     \
	 BIRTH_CLONE_NEWUSER | BIRTH_CLONE_NEWPID | BIRTH_CLONE_NEWNET)
#define KG_NS_FLAGS (KG_NS_FLAGS_CLONE | BIRTH_CLONE_NEWTIME)

/* A write of @count bytes from @buf to @fd: recorded when @fd is a cgroup
 * control file (its cgroup id, hierarchy, name and the first bytes). */
static __always_inline void on_write(u32 fd, const void *buf, u64 count)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct file **fds;
	struct dentry *d, *dir;
	struct kernfs_node *kn;
	struct cgroup *cgrp;
	struct birth_record *e;
	struct file *f = NULL;
	unsigned long magic;
	u32 n;

	if (fd >= BPF_CORE_READ(task, files, fdt, max_fds))
		return;
	fds = BPF_CORE_READ(task, files, fdt, fd);
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	if (!f)
		return;
	d = BPF_CORE_READ(f, f_path.dentry);
	magic = BPF_CORE_READ(d, d_sb, s_magic);
	if (magic != CGROUP_SUPER_MAGIC && magic != CGROUP2_SUPER_MAGIC)
		return;
	/* A control file's directory is a cgroup: its kernfs node's priv. */
	dir = BPF_CORE_READ(d, d_parent);
	kn = (struct kernfs_node *)BPF_CORE_READ(dir, d_inode, i_private);
	if (!kn)
		return;
	cgrp = (struct cgroup *)BPF_CORE_READ(kn, priv);
	e = record(BIRTH_REC_WRITE);
	if (!e)
		return;
	e->arg = BPF_CORE_READ(kn, id);
	if (cgrp)
		e->hierarchy_id = BPF_CORE_READ(cgrp, root, hierarchy_id);
	e->target = count > 0xffffffff ? 0xffffffff : (u32)count;
	n = count < BIRTH_VALUE_MAX - 1 ? (u32)count : BIRTH_VALUE_MAX - 1;
	bpf_probe_read_user(e->value, n & (BIRTH_VALUE_MAX - 1), buf);
	bpf_probe_read_kernel_str(e->path, sizeof(e->path), BPF_CORE_READ(d, d_name.name));
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

/* Syscall @nr created (or, setns, joined) the namespaces in @flags. */
static __always_inline void on_ns(long nr, u64 flags)
{
	struct birth_record *e = record(BIRTH_REC_NS);

	if (!e)
		return;
	e->target = (u32)nr;
	e->arg = flags;
	read_ns((struct task_struct *)bpf_get_current_task(), e->ns);
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

/* Everything birth_sys_enter does for one syscall entry @nr with registers
 * @regs: filtered to tracked processes. */
static __always_inline void on_sys_enter(struct pt_regs *regs, long nr)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct birth_tracked *t = bpf_map_lookup_elem(&birth_tracked, &tgid);
	struct iovec iov = {};
	u64 flags;

	if (!t)
		return;
	if (t->flags & BIRTH_TRACK_FULL)
		__sync_fetch_and_add(&t->syscalls, 1);
	/* One on_ns call per case, not one shared tail for clone, clone3 and
	 * unshare: a build with the shared tail (on_ns inlined once, flags and
	 * mask both unknown to the verifier) locked up runc in the 6.1 guest of
	 * the kernel matrix (2026-12-06), where this shape passes. */
	switch (nr) {
	case BIRTH_NR_WRITE:
	case BIRTH_NR_PWRITE64:
		on_write((u32)PT_REGS_PARM1_CORE_SYSCALL(regs),
			 (const void *)PT_REGS_PARM2_CORE_SYSCALL(regs),
			 PT_REGS_PARM3_CORE_SYSCALL(regs));
		break;
	case BIRTH_NR_WRITEV:
		/* The first iovec is enough for cgroup files (one value per write). */
		bpf_probe_read_user(&iov, sizeof(iov), (const void *)PT_REGS_PARM2_CORE_SYSCALL(regs));
		on_write((u32)PT_REGS_PARM1_CORE_SYSCALL(regs), iov.iov_base, iov.iov_len);
		break;
	case BIRTH_NR_CLONE:
		flags = PT_REGS_PARM1_CORE_SYSCALL(regs);
		if ((t->flags & BIRTH_TRACK_FULL) && (flags & KG_NS_FLAGS_CLONE))
			on_ns(nr, flags & KG_NS_FLAGS_CLONE);
		break;
	case BIRTH_NR_CLONE3:
		flags = 0;
		bpf_probe_read_user(&flags, sizeof(flags),
				    (const void *)PT_REGS_PARM1_CORE_SYSCALL(regs));
		if ((t->flags & BIRTH_TRACK_FULL) && (flags & KG_NS_FLAGS))
			on_ns(nr, flags & KG_NS_FLAGS);
		break;
	case BIRTH_NR_UNSHARE:
		flags = PT_REGS_PARM1_CORE_SYSCALL(regs);
		if ((t->flags & BIRTH_TRACK_FULL) && (flags & KG_NS_FLAGS))
			on_ns(nr, flags & KG_NS_FLAGS);
		break;
	case BIRTH_NR_SETNS:
		if (t->flags & BIRTH_TRACK_FULL)
			on_ns(nr, PT_REGS_PARM2_CORE_SYSCALL(regs));
		break;
	}
}
