/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Pod/container births (ADR 0016). Two groups of programs, all listed here;
 * what they do is in the headers included below:
 *
 * - lifecycle (always attached; rare events): cgroup_mkdir, cgroup_attach_task,
 *   sched_process_fork/exec/exit (birth_lifecycle.bpf.h, with the cgroup path
 *   classifier in birth_classify.bpf.h). They decide which processes are
 *   tracked (the birth_tracked map) and report cgroups made, tasks moved,
 *   forks, execs and namespace inode numbers.
 * - birth_sys_enter (raw_tp/sys_enter, birth_syscalls.bpf.h): attached by
 *   userspace ONLY while a capture window is open, because any syscall
 *   tracepoint puts every syscall on the host on the slow path.
 *
 * One object, one skeleton: the programs share the maps and the record of
 * birth_state.bpf.h, and userspace shares birth.h.
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
#include "birth_state.bpf.h"      /* maps, the record, tracked processes */
#include "birth_lifecycle.bpf.h"  /* on_mkdir … on_exit (+ the path classifier) */
#include "birth_syscalls.bpf.h"   /* on_sys_enter: writes, namespace flags */

/* Makes the skeleton generator emit the Rust types of the record and of
 * every enum userspace decodes it with (ADR 0085). */
struct birth_record _birth_record = {};
struct birth_tracked _birth_tracked = {};
enum birth_record_kind _birth_record_kind = BIRTH_REC_MKDIR;
enum birth_track_flags _birth_track_flags = BIRTH_TRACK_WRITES;
enum birth_ns_index _birth_ns_index = BIRTH_NS_MNT;
enum birth_clone_flag _birth_clone_flag = BIRTH_CLONE_NEWNS;
enum birth_syscall_nr _birth_syscall_nr = BIRTH_NR_CLONE;

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

SEC("raw_tp/sys_enter")
int BPF_PROG(birth_sys_enter, struct pt_regs *regs, long nr)
{
	on_sys_enter(regs, nr);
	return 0;
}
