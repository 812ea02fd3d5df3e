/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * cgroup directory creation/removal, to keep userspace's id -> path map
 * current without polling cgroupfs. Rare events: a ring buffer is fine.
 */
#include "common.bpf.h"
#include "cgroup_events.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024); /* ~3700 events of 288 B */
} cgroup_events_rb SEC(".maps");

/* Events dropped because the ring buffer was full (index 0). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} cgroup_events_lost SEC(".maps");

/* Makes the skeleton generator emit the Rust types for the event and its
 * kinds (ADR 0085). */
struct cgroup_event _cgroup_event = {};
enum cgroup_event_kind _cgroup_event_kind = CGROUP_EVENT_MKDIR;

static __always_inline void emit(struct cgroup *cgrp, const char *path, u32 kind)
{
	struct cgroup_event *e;

	e = kg_ringbuf_reserve(&cgroup_events_rb, &cgroup_events_lost, sizeof(*e));
	if (!e)
		return;
	e->id = BPF_CORE_READ(cgrp, kn, id);
	e->hierarchy_id = BPF_CORE_READ(cgrp, root, hierarchy_id);
	e->level = BPF_CORE_READ(cgrp, level);
	e->kind = kind;
	e->_pad = 0;
	bpf_probe_read_kernel_str(e->path, sizeof(e->path), path);
	bpf_ringbuf_submit(e, 0);
}

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(cgroup_mkdir, struct cgroup *cgrp, const char *path)
{
	emit(cgrp, path, CGROUP_EVENT_MKDIR);
	return 0;
}

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(cgroup_rmdir, struct cgroup *cgrp, const char *path)
{
	emit(cgrp, path, CGROUP_EVENT_RMDIR);
	return 0;
}

SEC("raw_tp/cgroup_mkdir")
int BPF_PROG(cgroup_mkdir_raw, struct cgroup *cgrp, const char *path)
{
	emit(cgrp, path, CGROUP_EVENT_MKDIR);
	return 0;
}

SEC("raw_tp/cgroup_rmdir")
int BPF_PROG(cgroup_rmdir_raw, struct cgroup *cgrp, const char *path)
{
	emit(cgrp, path, CGROUP_EVENT_RMDIR);
	return 0;
}
