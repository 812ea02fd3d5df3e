/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Birth probe: the cgroup path classifier (ADR 0016, 0065). A cgroup made by
 * a process nobody tracks yet opens capture only when its path looks like a
 * kubelet pod or a container; this decides that, the way workload.rs does,
 * cheaply. Included once, by birth.bpf.c (through birth_lifecycle.bpf.h).
 */
#pragma once

#include "common.bpf.h"
#include "birth.h"

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
