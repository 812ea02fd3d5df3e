/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/* Shared between birth.bpf.c and src/probes/birth.rs (see ADR 0016): the
 * record layout and every constant userspace needs, declared once (ADR 0085). */
#pragma once

#define BIRTH_PATH_MAX 256
#define BIRTH_VALUE_MAX 64
#define BIRTH_COMM_LEN 16
#define BIRTH_NS_TYPES 8

/* What one birth_record reports. */
enum birth_record_kind {
	BIRTH_REC_MKDIR = 1,  /* cgroup directory made (tracked task, or a pod/container-looking path) */
	BIRTH_REC_ATTACH = 2, /* a tracked task moved a task into a cgroup */
	BIRTH_REC_FORK = 3,   /* a tracked process forked a new process */
	BIRTH_REC_EXEC = 4,   /* a tracked process, or a container runtime binary, exec'd */
	BIRTH_REC_EXIT = 5,   /* a tracked process exited (carries its final syscall count) */
	BIRTH_REC_WRITE = 6,  /* a tracked task wrote to a cgroup control file */
	BIRTH_REC_NS = 7,     /* clone/clone3/unshare with CLONE_NEW* flags, or setns */
};

/* birth_tracked.flags */
enum birth_track_flags {
	BIRTH_TRACK_WRITES = 1, /* cgroup file writes only: a long-lived agent (kubelet), not followed */
	BIRTH_TRACK_FULL = 2,   /* runtime/container process: syscalls counted, forks followed */
};

/* Order of birth_record.ns[]. Userspace names them (mnt, uts, …) in one
 * table keyed by these values (src/probes/birth.rs, ADR 0085). */
enum birth_ns_index {
	BIRTH_NS_MNT = 0,
	BIRTH_NS_UTS = 1,
	BIRTH_NS_IPC = 2,
	BIRTH_NS_PID = 3, /* pid_ns_for_children: what unshare(CLONE_NEWPID) changes */
	BIRTH_NS_NET = 4,
	BIRTH_NS_USER = 5,
	BIRTH_NS_CGROUP = 6,
	BIRTH_NS_TIME = 7, /* time_ns_for_children */
};

/* The kernel's CLONE_NEW* flags (include/uapi/linux/sched.h): what NS
 * records carry in `arg`. */
enum birth_clone_flag {
	BIRTH_CLONE_NEWTIME = 0x00000080,
	BIRTH_CLONE_NEWNS = 0x00020000,
	BIRTH_CLONE_NEWCGROUP = 0x02000000,
	BIRTH_CLONE_NEWUTS = 0x04000000,
	BIRTH_CLONE_NEWIPC = 0x08000000,
	BIRTH_CLONE_NEWUSER = 0x10000000,
	BIRTH_CLONE_NEWPID = 0x20000000,
	BIRTH_CLONE_NEWNET = 0x40000000,
};

/* Syscall numbers of the build's target architecture: raw_tp/sys_enter sees
 * the number, not a name, and NS records carry it in `target`. */
#if defined(__TARGET_ARCH_x86)
#define BIRTH_NR(x86_64, arm64) (x86_64)
#elif defined(__TARGET_ARCH_arm64)
#define BIRTH_NR(x86_64, arm64) (arm64)
#else
#error "birth.h: syscall numbers for this architecture are missing"
#endif

enum birth_syscall_nr {
	BIRTH_NR_WRITE = BIRTH_NR(1, 64),
	BIRTH_NR_PWRITE64 = BIRTH_NR(18, 68),
	BIRTH_NR_WRITEV = BIRTH_NR(20, 66),
	BIRTH_NR_CLONE = BIRTH_NR(56, 220),
	BIRTH_NR_UNSHARE = BIRTH_NR(272, 97),
	BIRTH_NR_SETNS = BIRTH_NR(308, 268),
	BIRTH_NR_CLONE3 = BIRTH_NR(435, 435),
};

/* Value of the birth_tracked map (key: tgid). */
struct birth_tracked {
	__u64 syscalls; /* counted only while the syscall program is attached */
	__u32 flags;    /* enum birth_track_flags */
	__u32 _pad;
};

/* One raw step of a container start, in ring-buffer order. */
struct birth_record {
	__u64 ts_ns; /* CLOCK_MONOTONIC */
	__u64 arg;   /* MKDIR/ATTACH/WRITE: cgroup id; EXEC: cpu cgroup id; EXIT: syscalls; NS: flags */
	__u32 kind;  /* enum birth_record_kind */
	__u32 pid;   /* acting thread */
	__u32 tgid;  /* acting process */
	__u32 ppid;  /* acting process's real parent (tgid) */
	__u32 target;       /* FORK: child tgid; ATTACH: moved tgid; NS: syscall nr; WRITE: bytes asked */
	__u32 hierarchy_id; /* MKDIR/ATTACH/WRITE: /proc/cgroups hierarchy (0 = cgroup2) */
	__u32 level;        /* MKDIR: depth below the hierarchy root */
	__u32 flags;        /* tracked flags of tgid (FORK: of the child) */
	__u32 ns[BIRTH_NS_TYPES]; /* FORK: child's namespaces; others: the actor's (inode numbers) */
	char comm[BIRTH_COMM_LEN];
	char value[BIRTH_VALUE_MAX]; /* WRITE: first bytes written */
	char path[BIRTH_PATH_MAX];   /* MKDIR/ATTACH: cgroup path; EXEC: filename; WRITE: file name */
};
