/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The firewall's three indexes: address class (IPv4 DIR-16-8-8, IPv6
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

/* Entry E of a chunked table (fw_lpm4, fw_port_cls): one inlined array
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

/* At most three dependent loads: root (16 bits), then 8 and 8. The address
 * is in host order. */
static __always_inline __u32 fw_lpm4_class(__u32 root, __u32 a)
{
	__u32 v;

	if (fw_entry(&fw_lpm4, root + (a >> 16), &v))
		return FW_CLS_NONE;
	if (!(v & FW_LPM_CHUNK))
		return v;
	if (fw_entry(&fw_lpm4, ((v & ~FW_LPM_CHUNK) << 8) | ((a >> 8) & 0xff), &v))
		return FW_CLS_NONE;
	if (!(v & FW_LPM_CHUNK))
		return v;
	if (fw_entry(&fw_lpm4, ((v & ~FW_LPM_CHUNK) << 8) | (a & 0xff), &v))
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
