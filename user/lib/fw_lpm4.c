// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* IPv4 address classes as a compressed DIR-16-8-8 table (layout in
 * shared/fw.h): one 65536-entry root per field indexed by the top 16 bits,
 * then 256-entry chunks for the next 8 and the last 8 bits; a leaf holds the
 * class's list or the class (fw.h). The table is first built plain (chunks
 * of 256 entries, numbered from TMP_FIRST_CHUNK), then every chunk is
 * compressed into a 64-byte node of runs. Prefixes are written in
 * ascending length order, so a longer prefix overwrites the entries of the
 * shorter ones it is nested in, and a new chunk starts as a copy of the
 * entry it replaces: the table gives every address its deepest covering
 * prefix. A prefix up to /16 costs no chunk, /17-/24 one chunk per distinct
 * /16, /25-/32 one more per distinct /24. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "fw_internal.h"

/* The plain table: the roots are its first chunks. */
#define TMP_FIRST_CHUNK (2 * FW_LPM4_ROOT_SIZE / FW_LPM4_CHUNK_SIZE)

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

static inline void fill(uint32_t *t, size_t from, size_t n, uint32_t v)
{
	size_t i;

	for (i = 0; i < n; i++)
		t[from + i] = v;
}

/* The chunk behind entry *e, made (as a copy of *e) if there is none. */
static uint32_t chunk_of(uint32_t *t, uint32_t *e, uint32_t *next)
{
	uint32_t c;

	if (*e & FW_LPM_CHUNK)
		return *e & ~FW_LPM_CHUNK;
	c = (*next)++;
	fill(t, (size_t)c * FW_LPM4_CHUNK_SIZE, FW_LPM4_CHUNK_SIZE, *e);
	*e = FW_LPM_CHUNK | c;
	return c;
}

static int build_plain(const struct fw_fam *fam, size_t nchunks, uint32_t *const leaf[2],
		       uint32_t **out, size_t *nout)
{
	size_t n = 2 * (size_t)FW_LPM4_ROOT_SIZE + nchunks * FW_LPM4_CHUNK_SIZE;
	uint32_t *t, *order = NULL, next = TMP_FIRST_CHUNK;
	uint32_t off[34];
	size_t i;
	int field, l;

	/* Roots start as class 0; every chunk is written whole when made. */
	t = malloc(n * sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (field = 0; field < 2; field++) {
		const struct fw_field *f = &fam->f[field];
		uint32_t root = field == FW_FIELD_SRC ? FW_LPM4_SRC_ROOT : FW_LPM4_DST_ROOT;

		fill(t, root, FW_LPM4_ROOT_SIZE, leaf[field][0]);

		/* Classes by ascending length (counting sort). */
		free(order);
		order = malloc((f->n ? f->n : 1) * sizeof(*order));
		if (!order)
			goto nomem;
		memset(off, 0, sizeof(off));
		for (i = 0; i < f->n; i++)
			off[f->pfx[i].plen + 1]++;
		for (l = 0; l < 33; l++)
			off[l + 1] += off[l];
		for (i = 0; i < f->n; i++)
			order[off[f->pfx[i].plen]++] = (uint32_t)i;

		for (i = 0; i < f->n; i++) {
			const struct fw_pfx *p = &f->pfx[order[i]];
			uint32_t cls = leaf[field][order[i] + 1], a = pfx4(p), c;
			uint32_t *e;

			if (p->plen <= 16) {
				fill(t, root + (a >> 16), (size_t)1 << (16 - p->plen), cls);
				continue;
			}
			e = &t[root + (a >> 16)];
			c = chunk_of(t, e, &next);
			if (p->plen <= 24) {
				fill(t, (size_t)c * FW_LPM4_CHUNK_SIZE + ((a >> 8) & 0xff),
				     (size_t)1 << (24 - p->plen), cls);
				continue;
			}
			e = &t[(size_t)c * FW_LPM4_CHUNK_SIZE + ((a >> 8) & 0xff)];
			c = chunk_of(t, e, &next);
			fill(t, (size_t)c * FW_LPM4_CHUNK_SIZE + (a & 0xff),
			     (size_t)1 << (32 - p->plen), cls);
		}
	}
	free(order);
	if (next - TMP_FIRST_CHUNK != nchunks) { /* fw_lpm4_chunks() disagrees */
		free(t);
		return -EFAULT;
	}
	*out = t;
	*nout = n;
	return 0;
nomem:
	free(t);
	return -ENOMEM;
}

/* A plain-table entry in the compressed table: chunk c is node
 * FW_LPM4_FIRST_NODE + c - TMP_FIRST_CHUNK. */
static inline uint32_t remap(uint32_t v)
{
	if (!(v & FW_LPM_CHUNK))
		return v;
	return FW_LPM_CHUNK | (FW_LPM4_FIRST_NODE + (v & ~FW_LPM_CHUNK) - TMP_FIRST_CHUNK);
}

static uint32_t runs_of(const uint32_t *c)
{
	uint32_t i, n = 1;

	for (i = 1; i < FW_LPM4_CHUNK_SIZE; i++)
		n += c[i] != c[i - 1];
	return n;
}

int fw_lpm4_build(const struct fw_fam *fam, size_t nchunks, uint32_t *const leaf[2],
		  uint32_t **out, size_t *nout)
{
	size_t nplain, next_runs = 0, nelem, c, i;
	uint32_t *plain, *t = NULL, ext;
	uint16_t *runs = NULL;
	union fw_lpm4_elem *el;
	int err;

	err = build_plain(fam, nchunks, leaf, &plain, &nplain);
	if (err)
		return err;
	/* Runs kept outside their node go after the nodes. */
	runs = malloc((nchunks ? nchunks : 1) * sizeof(*runs));
	if (!runs)
		goto nomem;
	for (c = 0; c < nchunks; c++) {
		runs[c] = (uint16_t)runs_of(plain + (TMP_FIRST_CHUNK + c) * FW_LPM4_CHUNK_SIZE);
		if (runs[c] > FW_LPM4_NODE_INLINE)
			next_runs += runs[c];
	}
	nelem = FW_LPM4_FIRST_NODE + nchunks +
		(next_runs + FW_LPM4_ELEM_ENTRIES - 1) / FW_LPM4_ELEM_ENTRIES;
	t = calloc(nelem, sizeof(*el));
	if (!t)
		goto nomem;
	el = (union fw_lpm4_elem *)t;
	for (i = 0; i < 2 * (size_t)FW_LPM4_ROOT_SIZE; i++)
		t[i] = remap(plain[i]);
	ext = (uint32_t)((FW_LPM4_FIRST_NODE + nchunks) * FW_LPM4_ELEM_ENTRIES);
	for (c = 0; c < nchunks; c++) {
		const uint32_t *p = plain + (TMP_FIRST_CHUNK + c) * FW_LPM4_CHUNK_SIZE;
		struct fw_lpm4_node *nd = &el[FW_LPM4_FIRST_NODE + c].node;
		uint32_t n = runs[c], r = 0, *v = nd->v;

		if (n > FW_LPM4_NODE_INLINE) {
			nd->cnt = FW_LPM4_NODE_EXT;
			nd->v[0] = ext;
			v = t + ext;
			ext += n;
		}
		for (i = 0; i < FW_LPM4_CHUNK_SIZE; i++) {
			if (i && i % 64 == 0)
				nd->cnt |= r << (8 * (i / 64));
			if (i && p[i] == p[i - 1])
				continue;
			nd->bm[i / 64] |= 1ull << (i % 64);
			v[r++] = remap(p[i]);
		}
	}
	free(plain);
	free(runs);
	*out = t;
	*nout = nelem * FW_LPM4_ELEM_ENTRIES;
	return 0;
nomem:
	free(plain);
	free(runs);
	return -ENOMEM;
}
