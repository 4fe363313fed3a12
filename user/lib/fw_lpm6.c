// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* IPv6 address classes: a binary search over the field's sorted distinct
 * prefix lengths (Waldvogel, Varghese, Turner, Plattner 1997) in one hash
 * keyed by (field, length, masked address).
 *
 * The search for an address probes the middle length; a hit goes longer, a
 * miss shorter. For a prefix P of length index k, every probe on the way to
 * k that is shorter than P must hit, so a marker (P masked to that length)
 * is stored there. A marker may also be hit by an address that P does not
 * cover; the search then goes longer and may find nothing more. So every
 * entry, marker or prefix, carries its best matching prefix (bmp): the
 * longest real prefix no longer than the entry that covers it. The last hit
 * of a search then holds the answer:
 *   - the search keeps lo <= k* <= hi, k* the index of the answer, until it
 *     hits at a length >= the answer's; a probe shorter than the answer hits
 *     (the answer's own marker), a probe longer than it may hit a marker;
 *   - any hit at a length L >= the answer's length has bmp = the answer,
 *     since a real prefix no longer than L covering the address masked to L
 *     covers the address, and none is longer than the answer.
 * The bmp of a marker of P at length L is the deepest ancestor of P (in the
 * prefix tree) no longer than L: any real prefix covering P/L covers P. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "fw_internal.h"

struct tab {
	struct fw_lpm6_key *keys;
	struct fw_lpm6_val *vals;
	size_t n, cap;
	uint32_t *slot; /* index + 1, 0 = empty */
	size_t mask;
};

static uint64_t key_hash(const struct fw_lpm6_key *k)
{
	uint64_t h = (uint64_t)k->field << 8 | k->plen;
	int i;

	for (i = 0; i < 4; i++) {
		h ^= k->addr[i];
		h *= 0x9e3779b97f4a7c15ull;
		h ^= h >> 32;
	}
	return h;
}

static void key_make(struct fw_lpm6_key *k, int field, unsigned plen, fw_u128 a)
{
	int i;

	memset(k, 0, sizeof(*k));
	k->field = (uint8_t)field;
	k->plen = (uint8_t)plen;
	a &= fw_mask(plen);
	for (i = 0; i < 4; i++) /* network order words */
		k->addr[i] = __builtin_bswap32((uint32_t)(a >> (96 - 32 * i)));
}

/* The field's distinct prefix lengths, ascending, and the index of each. */
static int lens_of(const struct fw_field *f, uint8_t lens[128], int idx_of[129])
{
	bool has[129] = { false };
	int l, nl = 0;
	size_t c;

	for (c = 0; c < f->n; c++)
		has[f->pfx[c].plen] = true;
	for (l = 1; l <= 128; l++) {
		idx_of[l] = nl;
		if (has[l])
			lens[nl++] = (uint8_t)l;
	}
	return nl;
}

/* Markers on the binary-search path to each length index (shorter ones the
 * search must hit on its way). */
static int path_marks(int k, int nl, int marks[8])
{
	int lo = 0, hi = nl - 1, mid, n = 0;

	while ((mid = (lo + hi) / 2) != k) {
		if (mid < k) {
			marks[n++] = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return n;
}

static int tab_put(struct tab *t, const struct fw_lpm6_key *k, uint32_t cls)
{
	size_t s = key_hash(k) & t->mask;

	for (; t->slot[s]; s = (s + 1) & t->mask) {
		uint32_t i = t->slot[s] - 1;

		if (!memcmp(&t->keys[i], k, sizeof(*k)))
			/* The same key has the same bmp, whoever put it. */
			return t->vals[i].leaf == cls ? 0 : -EFAULT;
	}
	if (t->n == t->cap)
		return -E2BIG; /* sized for the worst case: cannot happen */
	t->keys[t->n] = *k;
	t->vals[t->n].leaf = cls;
	t->slot[s] = (uint32_t)++t->n;
	return 0;
}

int fw_lpm6_build(const struct fw_fam *fam, struct fw_config *cfg,
		  struct fw_lpm6_len *lens_out, uint32_t *const leaf[2], size_t max_entries,
		  struct fw_lpm6_key **keys, struct fw_lpm6_val **vals, size_t *n)
{
	struct tab t = { 0 };
	size_t worst = 0, c;
	int field, err = -ENOMEM;

	/* Entries at most: each prefix and the markers on its search path,
	 * whose number depends only on the index of its length. */
	for (field = 0; field < 2; field++) {
		const struct fw_field *f = &fam->f[field];
		int idx_of[129], marks[8], nl, l, nmarks[128];
		uint8_t lens[128];

		nl = lens_of(f, lens, idx_of);
		for (l = 0; l < nl; l++)
			nmarks[l] = path_marks(l, nl, marks);
		for (c = 0; c < f->n; c++)
			worst += 1 + (size_t)nmarks[idx_of[f->pfx[c].plen]];
	}
	t.cap = worst ? worst : 1;
	t.keys = malloc(t.cap * sizeof(*t.keys));
	t.vals = malloc(t.cap * sizeof(*t.vals));
	t.mask = 1;
	while (t.mask < 2 * t.cap)
		t.mask <<= 1;
	t.slot = calloc(t.mask, sizeof(*t.slot));
	t.mask--;
	if (!t.keys || !t.vals || !t.slot)
		goto out;

	for (field = 0; field < 2; field++) {
		const struct fw_field *f = &fam->f[field];
		int idx_of[129], nl, l, w;
		uint8_t lens[128];

		nl = lens_of(f, lens, idx_of);
		cfg->v6_nlens[field] = (uint8_t)nl;
		for (l = 0; l < nl; l++) {
			struct fw_lpm6_len *e = &lens_out[field * FW_LPM6_LENS_STRIDE + l];
			fw_u128 m = fw_mask(lens[l]);

			e->plen = lens[l];
			for (w = 0; w < 4; w++)
				e->mask[w] = __builtin_bswap32((uint32_t)(m >> (96 - 32 * w)));
		}

		for (c = 0; c < f->n; c++) {
			const struct fw_pfx *p = &f->pfx[c];
			int marks[8], nm = path_marks(idx_of[p->plen], nl, marks), m;
			uint32_t a;
			struct fw_lpm6_key key;

			key_make(&key, field, p->plen, p->addr);
			err = tab_put(&t, &key, leaf[field][c + 1]);
			if (err)
				goto out;
			/* Markers from the longest down: the bmp only moves up
			 * the ancestors. */
			a = f->parent[c + 1];
			for (m = nm - 1; m >= 0; m--) {
				unsigned L = lens[marks[m]];

				while (a && f->pfx[a - 1].plen > L)
					a = f->parent[a];
				key_make(&key, field, L, p->addr);
				err = tab_put(&t, &key, leaf[field][a]);
				if (err)
					goto out;
			}
		}
	}
	if (t.n > max_entries) {
		*n = t.n;
		err = -E2BIG;
		goto out;
	}
	*keys = t.keys;
	*vals = t.vals;
	*n = t.n;
	t.keys = NULL;
	t.vals = NULL;
	err = 0;
out:
	free(t.keys);
	free(t.vals);
	free(t.slot);
	return err;
}
