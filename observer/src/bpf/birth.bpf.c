/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Pod/container births (ADR 0016). Two groups of programs:
 *
 * - lifecycle (always attached; rare events): cgroup_mkdir, cgroup_attach_task,
 *   sched_process_fork/exec/exit. They decide which processes are tracked (the
 *   birth_tracked map) and report cgroups made, tasks moved, forks, execs and
 *   namespace inode numbers.
 * - birth_sys_enter (raw_tp/sys_enter): attached by userspace ONLY while a
 *   capture window is open, because any syscall tracepoint puts every syscall
 *   on the host on the slow path. Filtered to tracked tgids: counts their
 *   syscalls, reports writes to cgroup control files with the bytes written,
 *   and namespace flags of clone/clone3/unshare/setns.
 *
 * Only records that must change what is attached (a runtime's exec, a cgroup
 * made by an untracked process) wake userspace; the rest wait for its next
 * poll (100 ms), so a container start costs a few wake-ups, not hundreds.
 *
 * Everything reads through BPF_CORE_READ so one source serves tp_btf and the
 * raw_tp fallback; these events are rare enough that the ~150 ns does not
 * matter.
 */
#include "common.bpf.h"
#include "birth.h"

#define CGROUP_SUPER_MAGIC 0x27e0eb
#define CGROUP2_SUPER_MAGIC 0x63677270

#define KG_CLONE_NEWTIME 0x00000080
#define KG_CLONE_NEWNS 0x00020000
#define KG_CLONE_NEWCGROUP 0x02000000
#define KG_CLONE_NEWUTS 0x04000000
#define KG_CLONE_NEWIPC 0x08000000
#define KG_CLONE_NEWUSER 0x10000000
#define KG_CLONE_NEWPID 0x20000000
#define KG_CLONE_NEWNET 0x40000000
/* clone(2) has no room for CLONE_NEWTIME: 0x80 is part of the exit signal there. */
#define KG_NS_FLAGS_CLONE                                                                          \
	(KG_CLONE_NEWNS | KG_CLONE_NEWCGROUP | KG_CLONE_NEWUTS | KG_CLONE_NEWIPC |                 \
	 KG_CLONE_NEWUSER | KG_CLONE_NEWPID | KG_CLONE_NEWNET)
#define KG_NS_FLAGS (KG_NS_FLAGS_CLONE | KG_CLONE_NEWTIME)

/* x86-64 syscall numbers (the raw_tp sees the number, not a name). */
#if defined(__TARGET_ARCH_x86)
#define KG_NR_WRITE 1
#define KG_NR_PWRITE64 18
#define KG_NR_WRITEV 20
#define KG_NR_CLONE 56
#define KG_NR_UNSHARE 272
#define KG_NR_SETNS 308
#define KG_NR_CLONE3 435
#elif defined(__TARGET_ARCH_arm64)
#define KG_NR_WRITE 64
#define KG_NR_PWRITE64 68
#define KG_NR_WRITEV 66
#define KG_NR_CLONE 220
#define KG_NR_UNSHARE 97
#define KG_NR_SETNS 268
#define KG_NR_CLONE3 435
#else
#error "birth.bpf.c: syscall numbers for this architecture are missing"
#endif

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

/* Scratch for the mkdir path (too big for the 512-byte stack with a record). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, char[BIRTH_PATH_MAX]);
} birth_scratch SEC(".maps");

/* Makes the skeleton generator emit the Rust types. */
struct birth_record _birth_record = {};
struct birth_tracked _birth_tracked = {};

static __always_inline struct birth_record *record(u32 kind)
{
	struct birth_record *e;
	struct task_struct *task;
	u64 id = bpf_get_current_pid_tgid();
	u32 zero = 0;

	e = bpf_ringbuf_reserve(&birth_rb, sizeof(*e), 0);
	if (!e) {
		u64 *lost = bpf_map_lookup_elem(&birth_lost, &zero);

		if (lost)
			(*lost)++;
		return NULL;
	}
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

static __always_inline u32 tracked_flags(u32 tgid)
{
	struct birth_tracked *t = bpf_map_lookup_elem(&birth_tracked, &tgid);

	return t ? t->flags : 0;
}

static __always_inline void track(u32 tgid, u32 flags)
{
	struct birth_tracked *t = bpf_map_lookup_elem(&birth_tracked, &tgid);
	struct birth_tracked v = { .flags = flags };

	if (t) {
		t->flags |= flags;
		return;
	}
	bpf_map_update_elem(&birth_tracked, &tgid, &v, BPF_NOEXIST);
}

#define PATH_KUBEPODS 1  /* a component mentions kubepods (kubelet layouts) */
#define PATH_CONTAINER 2 /* the last component carries a 64-hex container id */
#define PATH_MASK (BIRTH_PATH_MAX - 1)

/*
 * The path classifier below is branch-free arithmetic on purpose: the
 * verifier then walks one path through it on every kernel (5.10 has no
 * bpf_loop, and 6.1's verifier mis-tracked the bpf_loop version, which
 * classified nothing). x >> 63 of a u64 is its sign bit: (x - 1) >> 63 is 1
 * exactly when x == 0 for small x, (d | (n - d)) >> 63 is 1 exactly when d is
 * outside [0, n]. barrier_var() hides each operand's range from clang, which
 * would otherwise fold these back into compares, i.e. branches (BPF has no
 * set-on-condition), and a branch per character is a path per character to
 * the verifier.
 */

/* The sign bit of @v: 1 when @v < 0. */
static __always_inline u64 neg_bit(s64 v)
{
	barrier_var(v);
	return (u64)v >> 63;
}

/* 1 when @c is a lowercase hex digit ('0'-'9', 'a'-'f'), else 0. */
static __always_inline u64 hex_bit(s64 c)
{
	s64 d = c - '0', a = c - 'a';

	return 1 ^ (neg_bit(d | (9 - d)) & neg_bit(a | (5 - a)));
}

/* 1 when @a == @b (bytes), else 0. */
static __always_inline u64 eq_bit(s64 a, s64 b)
{
	return neg_bit((a ^ b) - 1);
}

/* 1 when the 64 characters of @buf before index @end are hex digits and the
 * one before them is '/' or '-' (`<id>`, `cri-containerd-<id>`, `crio-<id>`,
 * `docker-<id>`, `libpod-<id>`), else 0. */
static __always_inline u64 id_ends_at(const char *buf, s64 end)
{
	u64 ok = neg_bit(64 - end); /* end > 64 */
	s64 sep;
	int j;

	for (j = 0; j < 64; j++)
		ok &= hex_bit((u8)buf[(end - 64 + j) & PATH_MASK]);
	sep = (u8)buf[(end - 65) & PATH_MASK];
	return ok & (eq_bit(sep, '/') | eq_bit(sep, '-'));
}

/* Classify the @len characters (no NUL) of the path in @buf the way
 * workload.rs does, cheaply: "kubepods" anywhere, and a 64-hex container id
 * ending the last component, bare or before ".scope". */
static __always_inline u32 classify(const char *buf, s64 len)
{
	static const char scope[] = ".scope";
	u64 kube = 0, sfx = 1, out;
	int i, k;

	len &= PATH_MASK;
	for (i = 0; i + 8 <= BIRTH_PATH_MAX; i++) {
		s64 x = 0;

		x |= (u8)buf[i] ^ 'k';
		x |= (u8)buf[(i + 1) & PATH_MASK] ^ 'u';
		x |= (u8)buf[(i + 2) & PATH_MASK] ^ 'b';
		x |= (u8)buf[(i + 3) & PATH_MASK] ^ 'e';
		x |= (u8)buf[(i + 4) & PATH_MASK] ^ 'p';
		x |= (u8)buf[(i + 5) & PATH_MASK] ^ 'o';
		x |= (u8)buf[(i + 6) & PATH_MASK] ^ 'd';
		x |= (u8)buf[(i + 7) & PATH_MASK] ^ 's';
		/* all eight matched, within the string (i + 8 <= len) */
		kube |= neg_bit(x - 1) & neg_bit(i + 7 - len);
	}
	for (k = 0; k < 6; k++)
		sfx &= eq_bit((u8)buf[(len - 6 + k) & PATH_MASK], scope[k]);
	out = kube * PATH_KUBEPODS;
	out |= (id_ends_at(buf, len) | (sfx & id_ends_at(buf, len - 6))) * PATH_CONTAINER;
	return (u32)out;
}

static __always_inline void on_mkdir(struct cgroup *cgrp, const char *path)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32, zero = 0, flags, cls;
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
	if (!flags) {
		/* Nothing armed the syscall program for this maker yet (kubelet, or a
		 * runtime started before the observer): wake userspace now. */
		wake = BPF_RB_FORCE_WAKEUP;
		/* A container cgroup made by an untracked process (a runtime we do
		 * not know by name): follow it fully. A pod-level kubepods cgroup:
		 * its maker is a long-lived agent (kubelet); only its cgroup file
		 * writes matter. */
		flags = (cls & PATH_CONTAINER) ? BIRTH_TRACK_FULL : BIRTH_TRACK_WRITES;
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

static __always_inline void on_exec(struct task_struct *task, struct linux_binprm *bprm)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32, flags;
	char comm[BIRTH_COMM_LEN] = {};
	u64 wake = BPF_RB_NO_WAKEUP;
	struct birth_record *e;

	flags = tracked_flags(tgid);
	if (!(flags & BIRTH_TRACK_FULL)) {
		bpf_get_current_comm(comm, sizeof(comm));
		if (!runtime_comm(comm))
			return;
		track(tgid, BIRTH_TRACK_FULL);
		/* A runtime just started: userspace attaches the syscall program
		 * (pre-arm) on this record, so wake it now. */
		wake = BPF_RB_FORCE_WAKEUP;
	}
	e = record(BIRTH_REC_EXEC);
	if (!e)
		return;
	e->arg = kg_task_cgroup_id(task, KG_CPU_SUBSYS, false);
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

	if (BPF_CORE_READ(task, pid) != tgid)
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

/* Lifecycle programs: tp_btf, each with a raw_tp twin (suffix _raw). */
SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(birth_mkdir, struct cgroup *cgrp, const char *path)
{
	on_mkdir(cgrp, path);
	return 0;
}

SEC("raw_tp/cgroup_mkdir")
int BPF_PROG(birth_mkdir_raw, struct cgroup *cgrp, const char *path)
{
	on_mkdir(cgrp, path);
	return 0;
}

SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(birth_attach, struct cgroup *dst, const char *path, struct task_struct *task)
{
	on_attach(dst, path, task);
	return 0;
}

SEC("raw_tp/cgroup_attach_task")
int BPF_PROG(birth_attach_raw, struct cgroup *dst, const char *path, struct task_struct *task)
{
	on_attach(dst, path, task);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(birth_fork, struct task_struct *parent, struct task_struct *child)
{
	on_fork(parent, child);
	return 0;
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(birth_fork_raw, struct task_struct *parent, struct task_struct *child)
{
	on_fork(parent, child);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(birth_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	on_exec(task, bprm);
	return 0;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(birth_exec_raw, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	on_exec(task, bprm);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(birth_exit, struct task_struct *task)
{
	on_exit(task);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(birth_exit_raw, struct task_struct *task)
{
	on_exit(task);
	return 0;
}

/* ---- syscall program: attached only while a window is open ---- */

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

SEC("raw_tp/sys_enter")
int BPF_PROG(birth_sys_enter, struct pt_regs *regs, long nr)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct birth_tracked *t = bpf_map_lookup_elem(&birth_tracked, &tgid);
	struct iovec iov = {};
	u64 flags;

	if (!t)
		return 0;
	if (t->flags & BIRTH_TRACK_FULL)
		__sync_fetch_and_add(&t->syscalls, 1);
	switch (nr) {
	case KG_NR_WRITE:
	case KG_NR_PWRITE64:
		on_write((u32)PT_REGS_PARM1_CORE_SYSCALL(regs),
			 (const void *)PT_REGS_PARM2_CORE_SYSCALL(regs),
			 PT_REGS_PARM3_CORE_SYSCALL(regs));
		break;
	case KG_NR_WRITEV:
		/* The first iovec is enough for cgroup files (one value per write). */
		bpf_probe_read_user(&iov, sizeof(iov), (const void *)PT_REGS_PARM2_CORE_SYSCALL(regs));
		on_write((u32)PT_REGS_PARM1_CORE_SYSCALL(regs), iov.iov_base, iov.iov_len);
		break;
	case KG_NR_CLONE:
		flags = PT_REGS_PARM1_CORE_SYSCALL(regs);
		if ((t->flags & BIRTH_TRACK_FULL) && (flags & KG_NS_FLAGS_CLONE))
			on_ns(nr, flags & KG_NS_FLAGS_CLONE);
		break;
	case KG_NR_CLONE3:
		flags = 0;
		bpf_probe_read_user(&flags, sizeof(flags),
				    (const void *)PT_REGS_PARM1_CORE_SYSCALL(regs));
		if ((t->flags & BIRTH_TRACK_FULL) && (flags & KG_NS_FLAGS))
			on_ns(nr, flags & KG_NS_FLAGS);
		break;
	case KG_NR_UNSHARE:
		flags = PT_REGS_PARM1_CORE_SYSCALL(regs);
		if ((t->flags & BIRTH_TRACK_FULL) && (flags & KG_NS_FLAGS))
			on_ns(nr, flags & KG_NS_FLAGS);
		break;
	case KG_NR_SETNS:
		if (t->flags & BIRTH_TRACK_FULL)
			on_ns(nr, PT_REGS_PARM2_CORE_SYSCALL(regs));
		break;
	}
	return 0;
}
