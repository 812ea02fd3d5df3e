/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Trivial programs of each attach type, used only by `doctor` to find out
 * which program types this kernel loads and attaches. Userspace enables one
 * at a time (autoload off for the rest).
 */
#include "common.bpf.h"

SEC("tracepoint/sched/sched_process_exit")
int probe_tracepoint(void *ctx)
{
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(probe_tp_btf, struct task_struct *p)
{
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(probe_raw_tp, struct task_struct *p)
{
	return 0;
}

SEC("fentry/do_exit")
int BPF_PROG(probe_fentry, long code)
{
	return 0;
}

SEC("kprobe/do_exit")
int BPF_KPROBE(probe_kprobe, long code)
{
	return 0;
}
