// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Candidate lists: for every class of an index, the atoms (in rule order)
 * that can match a packet of that class, cut after the first atom that
 * surely matches every packet of the class.
 *
 * Address index: the list of class c is the merge of its parent's list and
 * c's own atoms (class 0, "no prefix covers", holds the atoms with "any" in
 * the field and is every top-level prefix's parent). Walking the prefixes in
 * preorder, the parent's list is already built, and the merge stops at the
 * cut, so the work is the size of the output: no quadratic blow-up over
 * nested prefixes.
 *
 * Port index: elementary intervals of the destination port ranges; the list
 * of an interval is the atoms without a destination port constraint plus
 * the atoms whose range covers the interval. Intervals with identical lists
 * (in both families) share a class.
 *
 * An index whose lists would exceed FW_MAX_CAND_INDEX entries is not built:
 * its lookup is skipped, the others and the fallback (every atom) remain. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "fw_internal.h"

FW_DEFINE_SORT(u32_sort, uint32_t, fw_u32_less)

#define NO_CUT UINT32_MAX

void fw_lists_free(struct fw_lists *l)
{
	free(l->cand);
	free(l->bkt);
	free(l->cut);
	l->cand = NULL;
	l->bkt = NULL;
	l->cut = NULL;
	l->ncand = l->cap = l->nbkt = 0;
	l->indexed = false;
}

void fw_lists_drop(struct fw_lists *l, const char *why)
{
	fw_lists_free(l);
	l->why_not = why;
}

/* Surely matches every packet whose `field` address is covered by the
 * atom's prefix in that field: everything else is "any", and it decides. */
static inline bool univ_except(const struct fw_catom *a, int field)
{
	return !a->pfx[!field].plen &&
	       !(a->flags & (FW_ATOM_L4 | FW_ATOM_PROTO | FW_ATOM_AUDIT | FW_ATOM_STATE));
}

static inline bool match_all(const struct fw_catom *a)
{
	return !a->pfx[0].plen && univ_except(a, FW_FIELD_SRC);
}

/* Merge two ascending, disjoint lists, keeping elements <= cut. */
static size_t merge_cut(const uint32_t *a, size_t na, const uint32_t *b,
			size_t nb, uint32_t cut, uint32_t *out)
{
	size_t i = 0, j = 0, k = 0;
	uint32_t x;

	while (i < na || j < nb) {
		if (j >= nb || (i < na && a[i] < b[j]))
			x = a[i++];
		else
			x = b[j++];
		if (x > cut)
			break;
		out[k++] = x;
	}
	return k;
}

static void lists_stats(struct fw_lists *l)
{
	size_t i;

	l->max = l->total = 0;
	l->min = SIZE_MAX;
	for (i = 0; i < l->nbkt; i++) {
		l->total += l->bkt[i].len;
		if (l->bkt[i].len > l->max)
			l->max = l->bkt[i].len;
		if (l->bkt[i].len < l->min)
			l->min = l->bkt[i].len;
	}
	l->mean = l->nbkt ? (double)l->total / (double)l->nbkt : 0;
}

/* Elements of the ascending list v[0..n) that are <= x. */
static uint32_t count_le(const uint32_t *v, uint32_t n, uint32_t x)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (v[mid] <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The list of class c is (atoms of class 0, of c's ancestors and of c)
 * restricted to indexes <= cut[c], the first atom on that path that surely
 * matches. Its length, walking the classes in preorder:
 *   - when c does not cut earlier than its parent, the parent's length plus
 *     c's own atoms up to the cut (one binary search);
 *   - when it does, a count along the path: one binary search per
 *     ancestor, O(depth log n), depth <= 32 (IPv4) or 128 (IPv6).
 * Nothing is materialised, so an index too big or of no use costs only
 * this. */
int fw_lists_addr_size(struct fw_fam *fam, int field)
{
	const struct fw_field *f = &fam->f[field];
	struct fw_lists *l = &fam->idx[field];
	uint32_t *stack = NULL, *len = NULL, c, k, own_cut, depth = 0;
	int err = -ENOMEM;

	memset(l, 0, sizeof(*l));
	if (!f->n) /* no prefix in the field: every list would be all atoms */
		return 0;
	l->nbkt = f->n + 1;
	l->cut = malloc(l->nbkt * sizeof(*l->cut));
	len = malloc(l->nbkt * sizeof(*len));
	stack = malloc(l->nbkt * sizeof(*stack));
	if (!l->cut || !len || !stack)
		goto out;
	for (c = 0; c <= f->n; c++) {
		const uint32_t *own = f->by_cls + f->by_cls_off[c];
		uint32_t nown = f->by_cls_off[c + 1] - f->by_cls_off[c];
		uint32_t pcut = NO_CUT, plen = 0, x, d;

		if (c) {
			while (depth && stack[depth - 1] != f->parent[c])
				depth--;
			stack[depth++] = c;
			pcut = l->cut[f->parent[c]];
			plen = len[f->parent[c]];
		}
		own_cut = NO_CUT;
		for (k = 0; k < nown; k++) {
			if (univ_except(&fam->atoms[own[k]], field)) {
				own_cut = own[k];
				break;
			}
		}
		x = l->cut[c] = own_cut < pcut ? own_cut : pcut;
		if (x == NO_CUT) {
			len[c] = plen + nown;
		} else if (x == pcut) {
			len[c] = plen + count_le(own, nown, x);
		} else { /* cut by c's own atom: count the whole path */
			len[c] = count_le(f->by_cls, f->by_cls_off[1], x); /* class 0 */
			for (d = 0; d < depth; d++) {
				uint32_t q = stack[d];

				len[c] += count_le(f->by_cls + f->by_cls_off[q],
						   f->by_cls_off[q + 1] - f->by_cls_off[q], x);
			}
		}
	}
	l->bkt = malloc(l->nbkt * sizeof(*l->bkt));
	if (!l->bkt)
		goto out;
	for (c = 0; c <= f->n; c++)
		l->bkt[c] = (struct fw_bucket){ 0, len[c] };
	lists_stats(l);
	free(l->bkt);
	l->bkt = NULL;
	err = 0;
out:
	free(len);
	free(stack);
	if (err)
		fw_lists_free(l);
	return err;
}

int fw_lists_addr_build(struct fw_fam *fam, int field)
{
	const struct fw_field *f = &fam->f[field];
	struct fw_lists *l = &fam->idx[field];
	uint32_t c, p;

	l->cap = l->total ? l->total : 1;
	l->cand = malloc(l->cap * sizeof(*l->cand));
	l->bkt = calloc(l->nbkt, sizeof(*l->bkt));
	if (!l->cand || !l->bkt || !l->cut) {
		fw_lists_free(l);
		return -ENOMEM;
	}
	for (c = 0; c <= f->n; c++) {
		const uint32_t *own = f->by_cls + f->by_cls_off[c];
		size_t nown = f->by_cls_off[c + 1] - f->by_cls_off[c];
		const uint32_t *plist = NULL;
		size_t nplist = 0, len;

		if (c) {
			p = f->parent[c];
			plist = l->cand + l->bkt[p].off;
			nplist = l->bkt[p].len;
		}
		len = merge_cut(plist, nplist, own, nown, l->cut[c], l->cand + l->ncand);
		l->bkt[c].off = (uint32_t)l->ncand;
		l->bkt[c].len = (uint32_t)len;
		l->ncand += len;
	}
	free(l->cut);
	l->cut = NULL;
	if (l->ncand != l->total) { /* the sizing disagrees: a bug */
		fw_lists_free(l);
		return -EFAULT;
	}
	l->indexed = true;
	lists_stats(l);
	return 0;
}

/* ---- destination ports ---- */

struct port_class {
	uint64_t hash;
	uint32_t off[2], len[2];
};

struct port_ctx {
	struct fw_fam *fam[2];
	bool on[2];		/* family's port lists still being built */
	size_t work[2];
	uint32_t *nodport[2];	/* atoms without a dport constraint */
	size_t nnodport[2];
	/* atoms by range start and by range end + 1 (CSR over 65537) */
	uint32_t *start_off, *end_off, *by_start, *by_end; /* fam << 31 | atom */
	/* the active set: atoms whose range covers the current interval */
	uint32_t *active, *pos;	/* pos: per (family, atom) */
	size_t nactive;
	uint32_t *tmp;		/* gathered active atoms of one family */
	struct port_class *cls;
	size_t ncls, cls_cap;
	uint32_t *table;	/* open addressing: class + 1, 0 = empty */
	size_t table_mask;
};

static inline bool dport_any(const struct fw_catom *a)
{
	return a->dlo == 0 && a->dhi == 65535;
}

static uint64_t hash_u32s(uint64_t h, const uint32_t *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= v[i];
		h *= 0x100000001b3ull;
		h ^= h >> 29;
	}
	return h;
}

static void port_ctx_free(struct port_ctx *pc)
{
	free(pc->nodport[0]);
	free(pc->nodport[1]);
	free(pc->start_off);
	free(pc->end_off);
	free(pc->by_start);
	free(pc->by_end);
	free(pc->active);
	free(pc->pos);
	free(pc->tmp);
	free(pc->cls);
	free(pc->table);
}

static void port_disable(struct port_ctx *pc, int i, const char *why)
{
	pc->on[i] = false;
	fw_lists_drop(&pc->fam[i]->idx[FW_IDX_PORT], why);
}

/* The list of the current interval for family i, appended to its cand. */
static int port_list(struct port_ctx *pc, int i, uint32_t *off, uint32_t *len)
{
	struct fw_fam *fam = pc->fam[i];
	struct fw_lists *l = &fam->idx[FW_IDX_PORT];
	size_t n = 0, k, out;
	uint32_t cut = NO_CUT;

	for (k = 0; k < pc->nactive; k++)
		if ((pc->active[k] >> 31) == (uint32_t)i)
			pc->tmp[n++] = pc->active[k] & 0x7fffffff;
	u32_sort(pc->tmp, n);
	if (fw_grow((void **)&l->cand, &l->cap, l->ncand, n + pc->nnodport[i],
		    sizeof(*l->cand)))
		return -ENOMEM;
	out = merge_cut(pc->tmp, n, pc->nodport[i], pc->nnodport[i], NO_CUT,
			l->cand + l->ncand);
	/* Cut after the first atom that matches everything. */
	for (k = 0; k < out; k++) {
		if (match_all(&fam->atoms[l->cand[l->ncand + k]])) {
			cut = (uint32_t)k;
			break;
		}
	}
	if (cut != NO_CUT)
		out = cut + 1;
	*off = (uint32_t)l->ncand;
	*len = (uint32_t)out;
	pc->work[i] += out;
	return 0;
}

/* The class of the current interval: an existing one with the same lists,
 * or a new one. */
static int port_class_of(struct port_ctx *pc, uint32_t *cls_out)
{
	struct port_class c = { 0 };
	uint64_t h = 0xcbf29ce484222325ull;
	size_t slot;
	int i, err;

	for (i = 0; i < 2; i++) {
		if (!pc->on[i])
			continue;
		err = port_list(pc, i, &c.off[i], &c.len[i]);
		if (err)
			return err;
		h = hash_u32s(h ^ (uint64_t)(i + 1) << 40,
			      pc->fam[i]->idx[FW_IDX_PORT].cand + c.off[i], c.len[i]);
	}
	c.hash = h;
	for (slot = h & pc->table_mask; pc->table[slot]; slot = (slot + 1) & pc->table_mask) {
		const struct port_class *o = &pc->cls[pc->table[slot] - 1];
		bool same = o->hash == h;

		for (i = 0; same && i < 2; i++) {
			const uint32_t *cand = pc->fam[i]->idx[FW_IDX_PORT].cand;

			if (!pc->on[i])
				continue;
			same = o->len[i] == c.len[i] &&
			       (!c.len[i] || !memcmp(cand + o->off[i], cand + c.off[i],
						     c.len[i] * sizeof(*cand)));
		}
		if (same) { /* reuse: forget the lists just appended */
			*cls_out = pc->table[slot] - 1;
			return 0;
		}
	}
	if (fw_grow((void **)&pc->cls, &pc->cls_cap, pc->ncls, 1, sizeof(*pc->cls)))
		return -ENOMEM;
	for (i = 0; i < 2; i++) {
		struct fw_lists *l = &pc->fam[i]->idx[FW_IDX_PORT];

		if (!pc->on[i])
			continue;
		l->ncand += c.len[i];
		if (l->ncand > FW_MAX_CAND_INDEX)
			port_disable(pc, i, "its candidate lists exceed " FW_STR(FW_MAX_CAND_INDEX) " entries");
		else if (pc->work[i] > FW_PORT_WORK_FACTOR * (size_t)FW_MAX_CAND_INDEX)
			port_disable(pc, i, "building its candidate lists took too long");
	}
	pc->cls[pc->ncls] = c;
	pc->table[slot] = (uint32_t)++pc->ncls;
	*cls_out = (uint32_t)(pc->ncls - 1);
	return 0;
}

static void port_active_add(struct port_ctx *pc, uint32_t e, size_t n0)
{
	uint32_t key = (e >> 31) ? (uint32_t)n0 + (e & 0x7fffffff) : e;

	pc->pos[key] = (uint32_t)pc->nactive;
	pc->active[pc->nactive++] = e;
}

static void port_active_del(struct port_ctx *pc, uint32_t e, size_t n0)
{
	uint32_t key = (e >> 31) ? (uint32_t)n0 + (e & 0x7fffffff) : e;
	uint32_t at = pc->pos[key], last = pc->active[--pc->nactive];
	uint32_t lkey = (last >> 31) ? (uint32_t)n0 + (last & 0x7fffffff) : last;

	pc->active[at] = last;
	pc->pos[lkey] = at;
}

int fw_lists_port(struct fw_fam *fam[2], const size_t bound[2], uint32_t *port_cls,
		  size_t *nclasses)
{
	struct port_ctx pc = { .fam = { fam[0], fam[1] } };
	size_t nrange = 0, n0 = fam[0]->n, k, tmpmax = 0, ncon[2] = { 0, 0 };
	uint32_t v, next, cls, e;
	int i, err = -ENOMEM;

	*nclasses = 0;
	for (i = 0; i < 2; i++) {
		memset(&fam[i]->idx[FW_IDX_PORT], 0, sizeof(fam[i]->idx[FW_IDX_PORT]));
		for (k = 0; k < fam[i]->n; k++)
			if (!dport_any(&fam[i]->atoms[k]))
				ncon[i]++;
		/* Without a constrained atom every list is every atom. Every
		 * list holds the unconstrained atoms: when they are as many as
		 * the address indexes' worst case, no list can do better. */
		pc.on[i] = ncon[i] > 0;
		if (pc.on[i] && fam[i]->n - ncon[i] >= bound[i]) {
			pc.on[i] = false;
			fam[i]->idx[FW_IDX_PORT].why_not =
				"every list would be as long as the address indexes' longest";
		}
		if (!pc.on[i])
			continue;
		nrange += ncon[i];
		if (ncon[i] > tmpmax)
			tmpmax = ncon[i];
	}
	if (!pc.on[0] && !pc.on[1])
		return 0;

	pc.start_off = calloc(FW_PORT_SPACE + 2, sizeof(uint32_t));
	pc.end_off = calloc(FW_PORT_SPACE + 2, sizeof(uint32_t));
	pc.by_start = malloc(nrange * sizeof(uint32_t));
	pc.by_end = malloc(nrange * sizeof(uint32_t));
	pc.active = malloc(nrange * sizeof(uint32_t));
	pc.pos = malloc((fam[0]->n + fam[1]->n) * sizeof(uint32_t));
	pc.tmp = malloc(tmpmax * sizeof(uint32_t));
	pc.table_mask = 1;
	while (pc.table_mask < 2 * (2 * nrange + 2))
		pc.table_mask <<= 1;
	if (pc.table_mask > 4u * FW_PORT_SPACE)
		pc.table_mask = 4u * FW_PORT_SPACE;
	pc.table = calloc(pc.table_mask, sizeof(uint32_t));
	pc.table_mask--;
	for (i = 0; i < 2; i++)
		pc.nodport[i] = malloc((fam[i]->n - ncon[i] + 1) * sizeof(uint32_t));
	if (!pc.start_off || !pc.end_off || !pc.by_start || !pc.by_end ||
	    !pc.active || !pc.pos || !pc.tmp || !pc.table || !pc.nodport[0] ||
	    !pc.nodport[1])
		goto out;

	/* Counting sort of the constrained atoms by start and by end + 1. */
	for (i = 0; i < 2; i++) {
		for (k = 0; pc.on[i] && k < fam[i]->n; k++) {
			const struct fw_catom *a = &fam[i]->atoms[k];

			if (dport_any(a)) {
				pc.nodport[i][pc.nnodport[i]++] = (uint32_t)k;
				continue;
			}
			pc.start_off[a->dlo + 1]++;
			pc.end_off[a->dhi + 1 + 1]++;
		}
	}
	for (v = 0; v <= FW_PORT_SPACE; v++) {
		pc.start_off[v + 1] += pc.start_off[v];
		pc.end_off[v + 1] += pc.end_off[v];
	}
	for (i = 0; i < 2; i++) {
		for (k = 0; pc.on[i] && k < fam[i]->n; k++) {
			const struct fw_catom *a = &fam[i]->atoms[k];

			if (dport_any(a))
				continue;
			e = (uint32_t)i << 31 | (uint32_t)k;
			pc.by_start[pc.start_off[a->dlo]++] = e;
			pc.by_end[pc.end_off[a->dhi + 1]++] = e;
		}
	}
	for (v = FW_PORT_SPACE + 1; v > 0; v--) {
		pc.start_off[v] = pc.start_off[v - 1];
		pc.end_off[v] = pc.end_off[v - 1];
	}
	pc.start_off[0] = pc.end_off[0] = 0;

	/* Sweep the port space interval by interval. */
	for (v = 0; v < FW_PORT_SPACE; v = next) {
		for (k = pc.end_off[v]; k < pc.end_off[v + 1]; k++)
			port_active_del(&pc, pc.by_end[k], n0);
		for (k = pc.start_off[v]; k < pc.start_off[v + 1]; k++)
			port_active_add(&pc, pc.by_start[k], n0);
		for (next = v + 1; next < FW_PORT_SPACE; next++)
			if (pc.start_off[next] != pc.start_off[next + 1] ||
			    pc.end_off[next] != pc.end_off[next + 1])
				break;
		if (!pc.on[0] && !pc.on[1])
			break;
		err = port_class_of(&pc, &cls);
		if (err)
			goto out;
		for (k = v; k < next; k++)
			port_cls[k] = cls;
	}
	for (i = 0; i < 2; i++) {
		struct fw_lists *l = &fam[i]->idx[FW_IDX_PORT];
		size_t c;

		if (!pc.on[i])
			continue;
		l->nbkt = pc.ncls;
		l->bkt = malloc(pc.ncls * sizeof(*l->bkt));
		if (!l->bkt)
			goto out_err;
		for (c = 0; c < pc.ncls; c++)
			l->bkt[c] = (struct fw_bucket){ pc.cls[c].off[i], pc.cls[c].len[i] };
		l->indexed = true;
		lists_stats(l);
	}
	*nclasses = pc.ncls;
	err = 0;
	goto out;
out_err:
	err = -ENOMEM;
out:
	if (err)
		for (i = 0; i < 2; i++)
			fw_lists_free(&fam[i]->idx[FW_IDX_PORT]);
	port_ctx_free(&pc);
	return err;
}
