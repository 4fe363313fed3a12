// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Address classes of one field of one family: the distinct prefixes of the
 * field, sorted into a depth-first preorder of the prefix tree, each with its
 * parent (longest strictly covering prefix) and its atoms. A packet's class
 * in the field is the deepest prefix covering its address (0: none).
 * O(n log n) in the number of atoms. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "fw_internal.h"

int fw_grow(void **v, size_t *cap, size_t n, size_t more, size_t elem)
{
	size_t want = n + more, c = *cap ? *cap : 16;
	void *p;

	if (want <= *cap)
		return 0;
	while (c < want)
		c *= 2;
	p = realloc(*v, c * elem);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = c;
	return 0;
}

/* A run of consecutive atoms with the same prefix in the field (a rule's
 * expansion repeats each prefix over the other dimensions). */
struct run {
	struct fw_pfx pfx;
	uint32_t first, count;
};

static inline bool run_less(const struct run *a, const struct run *b)
{
	return fw_pfx_cmp(&a->pfx, &b->pfx) < 0;
}

FW_DEFINE_SORT(run_sort, struct run, run_less)

void fw_field_free(struct fw_field *f)
{
	free(f->pfx);
	free(f->parent);
	free(f->atom_cls);
	free(f->by_cls_off);
	free(f->by_cls);
	memset(f, 0, sizeof(*f));
}

int fw_field_build(struct fw_fam *fam, int field)
{
	struct fw_field *f = &fam->f[field];
	struct run *runs = NULL;
	uint32_t *stack = NULL, cls = 0;
	size_t nruns = 0, i, j, depth = 0;
	int err = -ENOMEM;

	memset(f, 0, sizeof(*f));
	f->atom_cls = calloc(fam->n ? fam->n : 1, sizeof(*f->atom_cls));
	if (!f->atom_cls)
		goto out;
	for (i = 0; i < fam->n; i = j) {
		const struct fw_pfx *p = &fam->atoms[i].pfx[field];

		for (j = i + 1; j < fam->n && !fw_pfx_cmp(&fam->atoms[j].pfx[field], p); j++)
			;
		if (!p->plen)
			continue;
		if (!(nruns & (nruns - 1))) { /* grow at powers of two */
			void *r = realloc(runs, (nruns ? 2 * nruns : 1) * sizeof(*runs));

			if (!r)
				goto out;
			runs = r;
		}
		runs[nruns++] = (struct run){ *p, (uint32_t)i, (uint32_t)(j - i) };
	}
	run_sort(runs, nruns);

	/* Distinct prefixes; at most nruns of them. */
	f->pfx = malloc((nruns ? nruns : 1) * sizeof(*f->pfx));
	f->parent = calloc(nruns + 1, sizeof(*f->parent));
	stack = malloc((nruns ? nruns : 1) * sizeof(*stack));
	if (!f->pfx || !f->parent || !stack)
		goto out;
	for (i = 0; i < nruns; i++) {
		const struct run *r = &runs[i];

		if (!cls || fw_pfx_cmp(&f->pfx[cls - 1], &r->pfx)) {
			f->pfx[cls++] = r->pfx;
			/* Preorder: pop what does not cover the new prefix;
			 * the top is then its parent. */
			while (depth &&
			       !fw_pfx_covers(&f->pfx[stack[depth - 1] - 1], r->pfx.addr))
				depth--;
			f->parent[cls] = depth ? stack[depth - 1] : 0;
			stack[depth++] = cls;
		}
		for (j = 0; j < r->count; j++)
			f->atom_cls[r->first + j] = cls;
	}
	f->n = cls;

	/* Atoms by class, each class's atoms in rule order. */
	f->by_cls_off = calloc(f->n + 2, sizeof(*f->by_cls_off));
	f->by_cls = malloc((fam->n ? fam->n : 1) * sizeof(*f->by_cls));
	if (!f->by_cls_off || !f->by_cls)
		goto out;
	for (i = 0; i < fam->n; i++)
		f->by_cls_off[f->atom_cls[i] + 1]++;
	for (i = 0; i <= f->n; i++)
		f->by_cls_off[i + 1] += f->by_cls_off[i];
	/* Fill with a moving cursor per class (reuses stack as cursors is
	 * not enough room: use the offsets, then shift back). */
	for (i = 0; i < fam->n; i++)
		f->by_cls[f->by_cls_off[f->atom_cls[i]]++] = (uint32_t)i;
	for (i = f->n + 1; i > 0; i--)
		f->by_cls_off[i] = f->by_cls_off[i - 1];
	f->by_cls_off[0] = 0;
	err = 0;
out:
	free(runs);
	free(stack);
	if (err)
		fw_field_free(f);
	return err;
}
