/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The firewall's three indexes: address class (a root, compressed nodes
 * and prefix tails per family) and destination port class. Each
 * returns the class, or FW_CLS_NONE when a lookup failed (the image is
 * inconsistent): the caller then ignores that index, never guesses. */
#ifndef SLUICE_FW_LOOKUP_H
#define SLUICE_FW_LOOKUP_H

#include <bpf/bpf_endian.h>
#include "fw_maps.h"

#define FW_CLS_NONE 0xffffffffu

/* Leaves (FW_LPM_LIST or a class) of the address indexes and classes of
 * the port index all come back as a __u32; FW_CLS_NONE is none. */

/* Entry E of a chunked table (fw_port_cls): one inlined array
 * lookup and an indexed load. */
static __always_inline int fw_entry(void *map, __u32 e, __u32 *v)
{
	__u32 chunk = e / FW_LPM4_CHUNK_SIZE;
	struct fw_chunk *c = bpf_map_lookup_elem(map, &chunk);

	if (!c)
		return -1;
	*v = c->e[e % FW_LPM4_CHUNK_SIZE];
	return 0;
}

/* Entry E of fw_lpm4 or fw_lpm6 (a root entry or a node's external run):
 * both are arrays of 64-byte elements of 16 entries. */
static __always_inline int fw_lpm_entry(void *map, __u32 e, __u32 *v)
{
	__u32 k = e / FW_LPM4_ELEM_ENTRIES;
	union fw_lpm4_elem *el = bpf_map_lookup_elem(map, &k);

	if (!el)
		return -1;
	*v = el->e[e % FW_LPM4_ELEM_ENTRIES];
	return 0;
}

/* Set bits of a 64-bit word: BPF has no popcount instruction. */
static __always_inline __u32 fw_popcount64(__u64 x)
{
	x = x - ((x >> 1) & 0x5555555555555555ULL);
	x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return (__u32)((x * 0x0101010101010101ULL) >> 56);
}

/* Entry i (0..255) of the chunk node n stands for (shared/fw.h): one cache
 * line, unless the node keeps its runs outside. */
static __always_inline int fw_lpm_node(void *map, __u32 n, __u32 i, __u32 *v)
{
	union fw_lpm4_elem *el = bpf_map_lookup_elem(map, &n);
	__u32 w = (i >> 6) & 3, r, cnt;

	if (!el)
		return -1;
	cnt = el->node.cnt;
	/* (2 << 63) - 1 is every bit */
	r = ((cnt & ~0xffu) >> (w * 8)) & 0xff;
	r += fw_popcount64(el->node.bm[w] & ((2ULL << (i & 63)) - 1)) - 1;
	if (cnt & FW_LPM4_NODE_EXT)
		return fw_lpm_entry(map, el->node.v[0] + r, v);
	if (r >= FW_LPM4_NODE_INLINE)
		return -1;
	*v = el->node.v[r];
	return 0;
}

#define fw_lpm4_entry(e, v) fw_lpm_entry(&fw_lpm4, e, v)
#define fw_lpm4_node(n, i, v) fw_lpm_node(&fw_lpm4, n, i, v)

/* The inline copy of the first atom of slot i's list in the tail group
 * that starts at element k (shared/fw.h), or NULL. */
static __always_inline const struct fw_atom4 *fw_lpm4_inline(const struct fw_lpm4_tail *t,
							     __u32 k, int i)
{
	union fw_lpm4_elem *g;
	__u32 e = k + 1 + i / 2;

	if (!(t->inl & (1u << i)))
		return NULL;
	g = bpf_map_lookup_elem(&fw_lpm4, &e);
	return g ? &g->atom[i % 2] : NULL;
}

/* Root (16 bits), a node per 8 bits while the range holds more than
 * FW_LPM4_TAIL_PFX longer prefixes (rarely), then a leaf or a tail: its
 * prefixes longest first, else the range's best shorter one. Usually two
 * dependent cache lines: the root entry, then the tail. The address is in
 * host order. *first is the list's first atom when the tail's group holds
 * it inline, else NULL. No load of the group's atom lines is forced here:
 * the slot that will match is usually predicted, so the core fetches that
 * atom's line beside the tail's anyway, and touching both atom lines
 * measured slower than touching none (docs/benchmarks.md). */
static __always_inline __u32 fw_lpm4_class(__u32 root, __u32 a,
					   const struct fw_atom4 **first)
{
	struct fw_lpm4_tail *t;
	__u32 v, k;
	int i;

	*first = NULL;
	if (fw_lpm4_entry(root + (a >> 16), &v))
		return FW_CLS_NONE;
	if ((v & FW_LPM_CHUNK) && !(v & FW_LPM_TAIL) &&
	    fw_lpm4_node(v & ~FW_LPM_CHUNK, (a >> 8) & 0xff, &v))
		return FW_CLS_NONE;
	if ((v & FW_LPM_CHUNK) && !(v & FW_LPM_TAIL) &&
	    fw_lpm4_node(v & ~FW_LPM_CHUNK, a & 0xff, &v))
		return FW_CLS_NONE;
	if (!(v & FW_LPM_CHUNK))
		return v;
	if (!(v & FW_LPM_TAIL)) /* a node below /32: inconsistent */
		return FW_CLS_NONE;
	k = v & ~(FW_LPM_CHUNK | FW_LPM_TAIL);
	t = bpf_map_lookup_elem(&fw_lpm4, &k);
	if (!t)
		return FW_CLS_NONE;
	/* an unused slot has length 0: it matches and holds the fallback */
#pragma unroll
	for (i = 0; i < FW_LPM4_TAIL_PFX; i++) {
		if ((a & fw_mask(t->plen[i])) == t->addr[i]) {
			*first = fw_lpm4_inline(t, k, i);
			return t->leaf[i];
		}
	}
	return t->fallback;
}

/* Whether the host-order address a0..a3 is in slot i of a tail. */
static __always_inline int fw_lpm6_in(const struct fw_lpm6_tail *t, int i, __u32 a0,
				      __u32 a1, __u32 a2, __u32 a3)
{
	__u32 len = t->plen[i];

	return !(((a0 & fw_mask_w(len, 0)) ^ t->addr[i][0]) |
		 ((a1 & fw_mask_w(len, 1)) ^ t->addr[i][1]) |
		 ((a2 & fw_mask_w(len, 2)) ^ t->addr[i][2]) |
		 ((a3 & fw_mask_w(len, 3)) ^ t->addr[i][3]));
}

/* One level below the IPv6 root: on a node, 8 more bits of the address;
 * a leaf or a tail ends the walk. */
#define FW_LPM6_LEVEL(word, shift)                                             \
	do {                                                                   \
		if (!(v & FW_LPM_CHUNK) || (v & FW_LPM_TAIL))                 \
			goto walked;                                           \
		if (fw_lpm_node(&fw_lpm6, v & ~FW_LPM_CHUNK, ((word) >> (shift)) & 0xff, &v)) \
			return -1;                                             \
	} while (0)

/* IPv6: root (16 bits), then a node per 8 bits while the range holds more
 * than FW_LPM6_TAIL_PFX longer prefixes, then a tail: its prefixes longest
 * first, else the range's best shorter prefix. Each level's shift is a
 * constant. A global function: verified once for both fields. The address
 * is in host order. Returns the leaf, or -1 on an inconsistent image. */
__noinline long fw_lpm6_class(__u32 field, __u32 a0, __u32 a1, __u32 a2, __u32 a3)
{
	struct fw_lpm6_tail *t;
	__u32 v, k;

	if (fw_lpm_entry(&fw_lpm6, (field & 1) * FW_LPM4_ROOT_SIZE + (a0 >> 16), &v))
		return -1;
	FW_LPM6_LEVEL(a0, 8);
	FW_LPM6_LEVEL(a0, 0);
	FW_LPM6_LEVEL(a1, 24);
	FW_LPM6_LEVEL(a1, 16);
	FW_LPM6_LEVEL(a1, 8);
	FW_LPM6_LEVEL(a1, 0);
	FW_LPM6_LEVEL(a2, 24);
	FW_LPM6_LEVEL(a2, 16);
	FW_LPM6_LEVEL(a2, 8);
	FW_LPM6_LEVEL(a2, 0);
	FW_LPM6_LEVEL(a3, 24);
	FW_LPM6_LEVEL(a3, 16);
	FW_LPM6_LEVEL(a3, 8);
	FW_LPM6_LEVEL(a3, 0);
walked:
	if (!(v & FW_LPM_CHUNK))
		return v;
	if (!(v & FW_LPM_TAIL)) /* a node below /128: inconsistent */
		return -1;
	k = v & ~(FW_LPM_CHUNK | FW_LPM_TAIL);
	t = bpf_map_lookup_elem(&fw_lpm6, &k);
	if (!t)
		return -1;
	if (fw_lpm6_in(t, 0, a0, a1, a2, a3))
		return t->leaf[0];
	if (fw_lpm6_in(t, 1, a0, a1, a2, a3))
		return t->leaf[1];
	return t->fallback;
}

static __always_inline __u32 fw_port_class(__u16 port)
{
	__u32 v;

	return fw_entry(&fw_port_cls, port, &v) ? FW_CLS_NONE : v;
}

#endif
