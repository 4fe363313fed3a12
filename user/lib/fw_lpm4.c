// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The IPv4 table's cap: the chunks a plain DIR-16-8-8 table of the two
 * fields would need (one per distinct /16 holding a longer prefix, one more
 * per distinct /24 holding a prefix longer than /24). Every node or tail of
 * the table fw_lpm.c builds stands for a range such a chunk covers, so this
 * bounds them (the runs a node keeps outside come on top, at most 16
 * elements per node). Counted before anything is built. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "fw_internal.h"

static inline uint32_t pfx4(const struct fw_pfx *p)
{
	return (uint32_t)(p->addr >> 96);
}

/* Sets the bit; returns whether it was clear. */
static inline bool bit_set(uint64_t *bm, uint32_t i)
{
	uint64_t b = 1ull << (i & 63);
	bool was = !(bm[i >> 6] & b);

	bm[i >> 6] |= b;
	return was;
}

size_t fw_lpm4_chunks(const struct fw_fam *fam)
{
	uint64_t *l2 = calloc(FW_LPM4_ROOT_SIZE / 64, sizeof(uint64_t));
	uint64_t *l3 = calloc((1u << 24) / 64, sizeof(uint64_t));
	size_t n = 0, i;
	int field;

	if (!l2 || !l3) {
		free(l2);
		free(l3);
		return SIZE_MAX;
	}
	for (field = 0; field < 2; field++) {
		const struct fw_field *f = &fam->f[field];

		memset(l2, 0, FW_LPM4_ROOT_SIZE / 8);
		memset(l3, 0, (1u << 24) / 8);
		for (i = 0; i < f->n; i++) {
			uint32_t a = pfx4(&f->pfx[i]);

			if (f->pfx[i].plen > 16)
				n += bit_set(l2, a >> 16);
			if (f->pfx[i].plen > 24)
				n += bit_set(l3, a >> 8);
		}
	}
	free(l2);
	free(l3);
	return n;
}
