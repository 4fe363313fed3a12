// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Address classes of one family (layouts in shared/fw.h): a 65536-entry
 * root per field indexed by the top 16 bits, then compressed 256-entry
 * nodes (poptrie-style runs) for 8 more bits each, only where a range
 * holds more prefixes longer than its depth than a tail takes
 * (FW_LPM4_TAIL_PFX IPv4 prefixes, FW_LPM6_TAIL_PFX IPv6 ones); a range
 * with fewer ends in a tail that holds them (longest first) and the leaf
 * of the range's best shorter prefix.
 *
 * Built top-down over the field's prefixes, which are sorted in preorder
 * (by address, then length): the prefixes inside a range are contiguous,
 * and within a node, the prefixes longer than the node's 8 bits that fall
 * into one entry are contiguous too once the shorter ones are skipped (a
 * shorter prefix inside an entry's range starts at the range's first
 * address, so it sorts before every longer one there). A prefix no longer
 * than the node's depth is expanded over the entries it covers (controlled
 * prefix expansion); in preorder a parent comes before its children, so
 * the deepest one is written last and wins. The builder recurses at most
 * FW_LPM6_MAX_LEVELS deep (IPv4: 2).
 *
 * Why tails: with prefixes spread over the space, a /16 (IPv4) or a /24
 * (IPv6) rarely holds more than a tail takes, so nearly every lookup is
 * the root, at most one node and a tail. For IPv4 that is one dependent
 * cache line fewer than DIR-16-8-8's nodes for /25-/32; for IPv6 it
 * replaced a binary search over the lengths that made about four hash
 * probes of two misses each. An IPv4 tail also carries, in the two
 * elements after it, copies of its lists' first atoms (shared/fw.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "fw_internal.h"

struct b6 {
	union fw_lpm6_elem *el;
	size_t n, cap, max;
	uint32_t *tails;      /* elements that are IPv4 tail groups */
	size_t ntails, tcap;
	const struct fw_field *f;
	const uint32_t *leaf; /* per class */
	const struct fw_atom4 *const *first4; /* per class: first atom or NULL */
	bool v4;	      /* IPv4 tails */
	size_t tail_max;      /* prefixes a tail takes */
};

/* Room for k more zeroed elements; returns the first one's index. */
static int elems_add(struct b6 *b, size_t k, uint32_t *first)
{
	if (b->n + k > b->max)
		return -E2BIG;
	if (b->n + k > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		void *p;

		while (cap < b->n + k)
			cap *= 2;
		p = realloc(b->el, cap * sizeof(*b->el));
		if (!p)
			return -ENOMEM;
		b->el = p;
		b->cap = cap;
	}
	memset(b->el + b->n, 0, k * sizeof(*b->el));
	*first = (uint32_t)b->n;
	b->n += k;
	return 0;
}

/* The 8 bits of a below its top d bits. */
static inline uint32_t bits8(fw_u128 a, unsigned d)
{
	return (uint32_t)(a >> (120 - d)) & 0xff;
}

/* IPv4: up to FW_LPM4_TAIL_PFX 32-bit prefixes, then the first atoms of
 * their lists (shared/fw.h, inline first atoms) in the group's next two
 * elements. */
static void tail4(struct b6 *b, union fw_lpm6_elem *el, size_t lo, size_t hi, uint32_t fb)
{
	union fw_lpm4_elem *g = (union fw_lpm4_elem *)el;
	struct fw_lpm4_tail *t = &g->tail;
	uint32_t cls[FW_LPM4_TAIL_PFX];
	size_t i, j, n = hi - lo;

	t->fallback = b->leaf[fb];
	for (j = 0; j < FW_LPM4_TAIL_PFX; j++)
		cls[j] = fb; /* plen 0: matches, gives the fallback */
	/* longest first (insertion sort: stable, at most 4) */
	for (i = 0; i < n; i++) {
		const struct fw_pfx *p = &b->f->pfx[lo + i];

		for (j = i; j > 0 && t->plen[j - 1] < p->plen; j--) {
			t->plen[j] = t->plen[j - 1];
			t->addr[j] = t->addr[j - 1];
			cls[j] = cls[j - 1];
		}
		t->plen[j] = p->plen;
		t->addr[j] = (uint32_t)(p->addr >> 96);
		cls[j] = (uint32_t)(lo + i + 1);
	}
	for (j = 0; j < FW_LPM4_TAIL_PFX; j++) {
		const struct fw_atom4 *a = b->first4 ? b->first4[cls[j]] : NULL;

		t->leaf[j] = b->leaf[cls[j]];
		if (a) {
			g[1 + j / 2].atom[j % 2] = *a;
			t->inl |= 1u << j;
		}
	}
}

/* IPv6: up to FW_LPM6_TAIL_PFX 128-bit prefixes. */
static void tail6(struct b6 *b, union fw_lpm6_elem *el, size_t lo, size_t hi, uint32_t fb)
{
	struct fw_lpm6_tail *t = &el->tail;
	size_t i, j;
	int w;

	t->fallback = b->leaf[fb];
	for (j = 0; j < FW_LPM6_TAIL_PFX; j++)
		t->leaf[j] = t->fallback; /* plen 0: matches, gives the fallback */
	for (i = lo, j = 0; i < hi; i++, j++) {
		const struct fw_pfx *p = &b->f->pfx[i];

		t->plen[j] = p->plen;
		t->leaf[j] = b->leaf[i + 1];
		for (w = 0; w < 4; w++)
			t->addr[j][w] = (uint32_t)(p->addr >> (96 - 32 * w));
	}
	/* Longest first: with nested prefixes the first match is the
	 * deepest (FW_LPM6_TAIL_PFX is 2: one swap sorts). */
	if (hi - lo == 2 && t->plen[0] < t->plen[1]) {
		struct fw_lpm6_tail s = *t;

		for (w = 0; w < 4; w++) {
			t->addr[0][w] = s.addr[1][w];
			t->addr[1][w] = s.addr[0][w];
		}
		t->plen[0] = s.plen[1];
		t->plen[1] = s.plen[0];
		t->leaf[0] = s.leaf[1];
		t->leaf[1] = s.leaf[0];
	}
}

/* Note an IPv4 tail group for the loader, which stamps the counter slots
 * of its inline atoms (IPv6 tails have none: no list of them is kept). */
static int tail_record(struct b6 *b, uint32_t e)
{
	if (b->ntails == b->tcap) {
		size_t cap = b->tcap ? 2 * b->tcap : 1024;
		void *p = realloc(b->tails, cap * sizeof(*b->tails));

		if (!p)
			return -ENOMEM;
		b->tails = p;
		b->tcap = cap;
	}
	b->tails[b->ntails++] = e;
	return 0;
}

static int tail_make(struct b6 *b, size_t lo, size_t hi, uint32_t fb, uint32_t *out)
{
	uint32_t e, pad;
	int err;

	if (b->v4) {
		/* a group within one page: pad to the next when it would
		 * straddle (elements are page-aligned in the map) */
		if (b->n % FW_LPM4_PAGE_ELEMS > FW_LPM4_PAGE_ELEMS - FW_LPM4_TAIL_ELEMS) {
			err = elems_add(b, FW_LPM4_PAGE_ELEMS - b->n % FW_LPM4_PAGE_ELEMS, &pad);
			if (err)
				return err;
		}
		err = elems_add(b, FW_LPM4_TAIL_ELEMS, &e);
		if (!err)
			err = tail_record(b, e);
	} else {
		err = elems_add(b, 1, &e);
	}
	if (err)
		return err;
	*out = FW_LPM_CHUNK | FW_LPM_TAIL | e;
	if (b->v4)
		tail4(b, &b->el[e], lo, hi, fb);
	else
		tail6(b, &b->el[e], lo, hi, fb);
	return 0;
}

/* A 256-entry chunk as a node (runs inline, or after the node). */
static int node_pack(struct b6 *b, const uint32_t *c, uint32_t *out)
{
	uint32_t runs = 1, e, ext = 0, r = 0, *v, i;
	struct fw_lpm4_node *nd;
	int err;

	for (i = 1; i < FW_LPM4_CHUNK_SIZE; i++)
		runs += c[i] != c[i - 1];
	err = elems_add(b, 1, &e);
	if (!err && runs > FW_LPM4_NODE_INLINE)
		err = elems_add(b, (runs + FW_LPM4_ELEM_ENTRIES - 1) / FW_LPM4_ELEM_ENTRIES, &ext);
	if (err)
		return err;
	nd = &b->el[e].node;
	v = nd->v;
	if (runs > FW_LPM4_NODE_INLINE) {
		nd->cnt = FW_LPM4_NODE_EXT;
		nd->v[0] = ext * FW_LPM4_ELEM_ENTRIES;
		v = b->el[ext].e; /* the elements after it are contiguous */
	}
	for (i = 0; i < FW_LPM4_CHUNK_SIZE; i++) {
		if (i && i % 64 == 0)
			nd->cnt |= r << (8 * (i / 64));
		if (i && c[i] == c[i - 1])
			continue;
		nd->bm[i / 64] |= 1ull << (i % 64);
		v[r++] = c[i];
	}
	*out = FW_LPM_CHUNK | e;
	return 0;
}

/* The entry for a range of depth d (bits) whose prefixes longer than d
 * are pfx[lo, hi), and whose best shorter prefix is class fb. */
static int range_entry(struct b6 *b, size_t lo, size_t hi, unsigned d, uint32_t fb,
		       uint32_t *out)
{
	uint32_t cls[FW_LPM4_CHUNK_SIZE], c[FW_LPM4_CHUNK_SIZE], k, i;
	const struct fw_pfx *pfx = b->f->pfx;
	size_t j, g;
	int err;

	if (lo == hi) {
		*out = b->leaf[fb];
		return 0;
	}
	if (hi - lo <= b->tail_max)
		return tail_make(b, lo, hi, fb, out);
	if (d + 8 > 128) /* prefixes longer than /128: cannot happen */
		return -EFAULT;
	for (i = 0; i < FW_LPM4_CHUNK_SIZE; i++)
		cls[i] = fb;
	for (j = lo; j < hi; j++) {
		if (pfx[j].plen > d + 8)
			continue;
		k = bits8(pfx[j].addr, d);
		for (i = 0; i < (1u << (d + 8 - pfx[j].plen)); i++)
			cls[k + i] = (uint32_t)j + 1;
	}
	for (i = 0; i < FW_LPM4_CHUNK_SIZE; i++)
		c[i] = b->leaf[cls[i]];
	for (j = lo; j < hi;) {
		if (pfx[j].plen <= d + 8) {
			j++;
			continue;
		}
		k = bits8(pfx[j].addr, d);
		/* a shorter one is never inside: it would sort first */
		for (g = j + 1; g < hi && pfx[g].plen > d + 8 && bits8(pfx[g].addr, d) == k; g++)
			;
		err = range_entry(b, j, g, d + 8, cls[k], &c[k]);
		if (err)
			return err;
		j = g;
	}
	return node_pack(b, c, out);
}

int fw_lpm_build(const struct fw_fam *fam, const struct fw_leaves *lv, size_t max_elems,
		 struct fw_lpm_table *out)
{
	struct b6 b = { .max = max_elems, .v4 = fam->family == 4 };
	uint32_t first, *cls;
	size_t j, g, n;
	int field, err;

	memset(out, 0, sizeof(*out));
	b.tail_max = b.v4 ? FW_LPM4_TAIL_PFX : FW_LPM6_TAIL_PFX;
	cls = malloc(FW_LPM4_ROOT_SIZE * sizeof(*cls));
	if (!cls)
		return -ENOMEM;
	err = elems_add(&b, FW_LPM6_FIRST_NODE, &first);
	if (err)
		goto fail;
	for (field = 0; field < 2; field++) {
		const struct fw_field *f = &fam->f[field];
		uint32_t base = (uint32_t)field * FW_LPM4_ROOT_SIZE, k;

		b.f = f;
		b.leaf = lv->leaf[field];
		b.first4 = b.v4 ? lv->first4[field] : NULL;
		/* Root classes: prefixes up to /16 expanded, parents first. */
		for (k = 0; k < FW_LPM4_ROOT_SIZE; k++)
			cls[k] = 0;
		for (j = 0; j < f->n; j++) {
			if (f->pfx[j].plen > 16)
				continue;
			k = (uint32_t)(f->pfx[j].addr >> 112);
			n = (size_t)1 << (16 - f->pfx[j].plen);
			while (n--)
				cls[k++] = (uint32_t)j + 1;
		}
		/* b.el moves as it grows: index it afresh each time */
		for (k = 0; k < FW_LPM4_ROOT_SIZE; k++)
			((uint32_t *)b.el)[base + k] = lv->leaf[field][cls[k]];
		for (j = 0; j < f->n;) {
			uint32_t v;

			if (f->pfx[j].plen <= 16) {
				j++;
				continue;
			}
			k = (uint32_t)(f->pfx[j].addr >> 112);
			for (g = j + 1; g < f->n && f->pfx[g].plen > 16 &&
					(uint32_t)(f->pfx[g].addr >> 112) == k;
			     g++)
				;
			err = range_entry(&b, j, g, 16, cls[k], &v);
			if (err)
				goto fail;
			((uint32_t *)b.el)[base + k] = v;
			j = g;
		}
	}
	free(cls);
	out->t = (uint32_t *)b.el;
	out->n = b.n * FW_LPM4_ELEM_ENTRIES;
	out->tails = b.tails;
	out->ntails = b.ntails;
	return 0;
fail:
	free(cls);
	free(b.el);
	free(b.tails);
	return err;
}
