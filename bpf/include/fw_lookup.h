/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The firewall's three indexes: address class (IPv4 compressed DIR-16-8-8, IPv6
 * binary search over prefix lengths) and destination port class. Each
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

/* Entry E of fw_lpm4 (a root entry or a node's external run). */
static __always_inline int fw_lpm4_entry(__u32 e, __u32 *v)
{
	__u32 k = e / FW_LPM4_ELEM_ENTRIES;
	union fw_lpm4_elem *el = bpf_map_lookup_elem(&fw_lpm4, &k);

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
static __always_inline int fw_lpm4_node(__u32 n, __u32 i, __u32 *v)
{
	union fw_lpm4_elem *el = bpf_map_lookup_elem(&fw_lpm4, &n);
	__u32 w = (i >> 6) & 3, r, cnt;

	if (!el)
		return -1;
	cnt = el->node.cnt;
	/* (2 << 63) - 1 is every bit */
	r = ((cnt & ~0xffu) >> (w * 8)) & 0xff;
	r += fw_popcount64(el->node.bm[w] & ((2ULL << (i & 63)) - 1)) - 1;
	if (cnt & FW_LPM4_NODE_EXT)
		return fw_lpm4_entry(el->node.v[0] + r, v);
	if (r >= FW_LPM4_NODE_INLINE)
		return -1;
	*v = el->node.v[r];
	return 0;
}

/* At most three dependent cache lines: root (16 bits), then a node per 8
 * bits. The address is in host order. */
static __always_inline __u32 fw_lpm4_class(__u32 root, __u32 a)
{
	__u32 v;

	if (fw_lpm4_entry(root + (a >> 16), &v))
		return FW_CLS_NONE;
	if (!(v & FW_LPM_CHUNK))
		return v;
	if (fw_lpm4_node(v & ~FW_LPM_CHUNK, (a >> 8) & 0xff, &v))
		return FW_CLS_NONE;
	if (!(v & FW_LPM_CHUNK))
		return v;
	if (fw_lpm4_node(v & ~FW_LPM_CHUNK, a & 0xff, &v))
		return FW_CLS_NONE;
	return (v & FW_LPM_CHUNK) ? FW_CLS_NONE : v;
}

/* Binary search over the field's distinct prefix lengths (Waldvogel): a hit
 * (a prefix or a marker) records its best-matching prefix class and goes
 * longer; a miss goes shorter. At most 8 probes for up to 255 lengths.
 * A global function: verified once, whatever the number of call sites.
 * Returns the class, or -1 on an inconsistent image. */
__noinline int fw_lpm6_class(__u32 field, __u32 a0, __u32 a1, __u32 a2,
			     __u32 a3)
{
	struct fw_lpm6_key key = {};
	struct fw_lpm6_len *len;
	struct fw_lpm6_val *v;
	int lo = 0, hi, mid, step, best = 0;
	__u32 k;

	field &= 1;
	key.field = field;
	hi = (int)fw_cfg.v6_nlens[field] - 1;
	for (step = 0; step < 8; step++) {
		if (lo > hi)
			break;
		mid = (lo + hi) >> 1;
		/* verifier: mid reaches the map only as a key, so lo and hi
		 * stay imprecise and the probes' two outcomes prune */
		k = field * FW_LPM6_LENS_STRIDE + (__u32)mid;
		len = bpf_map_lookup_elem(&fw_lpm6_lens, &k);
		if (!len)
			return -1;
		key.plen = len->plen;
		key.addr[0] = a0 & len->mask[0];
		key.addr[1] = a1 & len->mask[1];
		key.addr[2] = a2 & len->mask[2];
		key.addr[3] = a3 & len->mask[3];
		v = bpf_map_lookup_elem(&fw_lpm6, &key);
		if (v) {
			best = v->leaf;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	if (lo <= hi) /* more lengths than 8 probes cover: cannot happen */
		return -1;
	return best < 0 ? -1 : best;
}

static __always_inline __u32 fw_port_class(__u16 port)
{
	__u32 v;

	return fw_entry(&fw_port_cls, port, &v) ? FW_CLS_NONE : v;
}

#endif
