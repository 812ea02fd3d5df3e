/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/* Shared between cgroup_events.bpf.c and src/probes/cgroup_events.rs. */
#pragma once

#define CGROUP_PATH_MAX 256

enum cgroup_event_kind {
	CGROUP_EVENT_MKDIR = 1,
	CGROUP_EVENT_RMDIR = 2,
};

/* One cgroup directory created or removed in any hierarchy. */
struct cgroup_event {
	__u64 id;           /* kernfs id == directory inode */
	__u32 hierarchy_id; /* /proc/cgroups hierarchy; 0 = cgroup v2 */
	__u32 level;        /* depth below the hierarchy root */
	__u32 kind;         /* enum cgroup_event_kind */
	__u32 _pad;
	char path[CGROUP_PATH_MAX]; /* path relative to the hierarchy root */
};
