/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Internals of the firewall compiler (fw_compile.c and the files it is
 * split into): the family-independent atom form, address classes,
 * candidate lists, and a sort template. Not part of libsluice's API. */
#ifndef SLUICE_FW_INTERNAL_H
#define SLUICE_FW_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "fw_compile.h"

/* Addresses as 128-bit host-order integers; IPv4 in the top 32 bits, so a
 * prefix length means the same for both families. */
typedef unsigned __int128 fw_u128;

struct fw_pfx {
	fw_u128 addr; /* host bits zero */
	uint8_t plen; /* 0: any (a /0 is normalised to any) */
};

static inline fw_u128 fw_mask(unsigned plen)
{
	return plen ? ~(fw_u128)0 << (128 - plen) : 0;
}

static inline bool fw_pfx_covers(const struct fw_pfx *p, fw_u128 a)
{
	return (a & fw_mask(p->plen)) == p->addr;
}

static inline int fw_pfx_cmp(const struct fw_pfx *a, const struct fw_pfx *b)
{
	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	return (int)a->plen - (int)b->plen;
}

/* An atom while compiling, for both families. */
struct fw_catom {
	struct fw_pfx pfx[2];	 /* FW_FIELD_SRC, FW_FIELD_DST */
	uint16_t slo, shi, dlo, dhi;
	uint32_t rule;
	uint8_t proto;
	uint8_t flags;		 /* FW_ATOM_* */
	uint8_t states;		 /* with FW_ATOM_STATE */
};

/* Distinct prefixes of one address field of one family. Class c (1..n) is
 * pfx[c - 1]; class 0 is "no prefix covers". Sorted by (addr, plen): a
 * depth-first preorder of the prefix tree, so a parent precedes its
 * children. */
struct fw_field {
	struct fw_pfx *pfx;
	uint32_t *parent;	 /* class of the longest strictly covering
				  * prefix, 0 for none; per class, [0] unused */
	size_t n;
	uint32_t *atom_cls;	 /* per atom: its class in this field, 0 = any */
	uint32_t *by_cls_off;	 /* CSR: atoms of class c are */
	uint32_t *by_cls;	 /* by_cls[by_cls_off[c] .. by_cls_off[c+1]) */
};

/* Candidate lists of one index of one family. */
struct fw_lists {
	bool indexed;		 /* lists built and worth a lookup */
	const char *why_not;	 /* when not indexed: why (for errors) */
	uint32_t *cand;
	size_t ncand, cap;
	struct fw_bucket *bkt;	 /* per class */
	size_t nbkt;
	size_t max, min, total;	 /* list lengths: longest, shortest, sum */
	double mean;		 /* over classes */
	uint32_t *cut;		 /* address index: per class, the last atom */
};

struct fw_fam {
	int family;		 /* 4 or 6 */
	unsigned bits;		 /* 32 or 128 */
	struct fw_catom *atoms;
	size_t n, cap;
	struct fw_field f[2];
	struct fw_lists idx[3];	 /* FW_IDX_* */
	size_t scan_bound;
};

/* fw_classes.c */
int fw_field_build(struct fw_fam *fam, int field);
void fw_field_free(struct fw_field *f);

/* fw_buckets.c. Address lists in two steps: the exact size of every list
 * (fw_lists_addr_size, O(n log n)), so that an index too big or of no use
 * is never built; then the lists (fw_lists_addr_build, O(output)). */
int fw_lists_addr_size(struct fw_fam *fam, int field);
int fw_lists_addr_build(struct fw_fam *fam, int field);
/* Port classes for both families at once: fills port_cls (FW_PORT_SPACE
 * entries) and fam[i]->idx[FW_IDX_PORT]. A family's port index is not built
 * when every one of its lists would be at least bound[i] long (the address
 * indexes already do as well). Returns 0 or -ENOMEM. */
int fw_lists_port(struct fw_fam *fam[2], const size_t bound[2], uint32_t *port_cls,
		  size_t *nclasses);
void fw_lists_free(struct fw_lists *l);
/* Free the lists and say why the index is not built. */
void fw_lists_drop(struct fw_lists *l, const char *why);

/* fw_lpm4.c: the DIR-16-8-8 chunks the two IPv4 fields would need: a
 * bound on the IPv4 table's nodes and tails, checked against the cap
 * before building. */
size_t fw_lpm4_chunks(const struct fw_fam *fam);

/* What the leaves of one family's address classes hold, per field
 * (FW_FIELD_*) and class. */
struct fw_leaves {
	uint32_t *leaf[2];		   /* FW_LPM_LIST or the class */
	const struct fw_atom4 **first4[2]; /* IPv4: the list's first atom (its
					    * counter not stamped), NULL: empty */
};

/* fw_lpm.c: the address table of a family from its leaves. -E2BIG when it
 * needs more than max_elems elements. */
int fw_lpm_build(const struct fw_fam *fam, const struct fw_leaves *lv, size_t max_elems,
		 struct fw_lpm_table *out);

/* Caps that are only a compiler's business (the others: fw_compile.h). */
#define FW_PORT_WORK_FACTOR 4 /* port lists: work before giving up, x cap */

/* An introsort template: FW_DEFINE_SORT(name, T, less) defines
 * `static void name(T *a, size_t n)` ordering by `less(const T *, const T *)`.
 * Inline comparisons make it several times faster than qsort(3). */
#define FW_DEFINE_SORT(name, T, less)                                          \
	static void name##_isort(T *a, size_t n)                               \
	{                                                                      \
		size_t i, j;                                                   \
		for (i = 1; i < n; i++) {                                      \
			T t = a[i];                                            \
			for (j = i; j > 0 && less(&t, &a[j - 1]); j--)         \
				a[j] = a[j - 1];                               \
			a[j] = t;                                              \
		}                                                              \
	}                                                                      \
	static void name##_sift(T *a, size_t i, size_t n)                      \
	{                                                                      \
		for (;;) {                                                     \
			size_t c = 2 * i + 1;                                  \
			T t;                                                   \
			if (c >= n)                                            \
				return;                                        \
			if (c + 1 < n && less(&a[c], &a[c + 1]))               \
				c++;                                           \
			if (!less(&a[i], &a[c]))                               \
				return;                                        \
			t = a[i], a[i] = a[c], a[c] = t;                       \
			i = c;                                                 \
		}                                                              \
	}                                                                      \
	static void name##_hsort(T *a, size_t n)                               \
	{                                                                      \
		size_t i;                                                      \
		T t;                                                           \
		for (i = n / 2; i-- > 0;)                                      \
			name##_sift(a, i, n);                                  \
		for (i = n; i-- > 1;) {                                        \
			t = a[0], a[0] = a[i], a[i] = t;                       \
			name##_sift(a, 0, i);                                  \
		}                                                              \
	}                                                                      \
	static void name##_qsort(T *a, size_t n, int depth)                    \
	{                                                                      \
		while (n > 24) {                                               \
			size_t i, j, m = n / 2;                                \
			T p, t;                                                \
			if (depth-- <= 0) {                                    \
				name##_hsort(a, n);                            \
				return;                                        \
			}                                                      \
			if (less(&a[m], &a[0]))                                \
				t = a[m], a[m] = a[0], a[0] = t;               \
			if (less(&a[n - 1], &a[0]))                            \
				t = a[n - 1], a[n - 1] = a[0], a[0] = t;       \
			if (less(&a[n - 1], &a[m]))                            \
				t = a[n - 1], a[n - 1] = a[m], a[m] = t;       \
			p = a[m];                                              \
			i = 0, j = n - 1;                                      \
			for (;;) {                                             \
				while (less(&a[i], &p))                        \
					i++;                                   \
				while (less(&p, &a[j]))                        \
					j--;                                   \
				if (i >= j)                                    \
					break;                                 \
				t = a[i], a[i] = a[j], a[j] = t;               \
				i++, j--;                                      \
			}                                                      \
			/* [0, j] <= p <= [j+1, n): recurse on the smaller */  \
			if (j + 1 < n - j - 1) {                               \
				name##_qsort(a, j + 1, depth);                 \
				a += j + 1, n -= j + 1;                        \
			} else {                                               \
				name##_qsort(a + j + 1, n - j - 1, depth);     \
				n = j + 1;                                     \
			}                                                      \
		}                                                              \
		name##_isort(a, n);                                            \
	}                                                                      \
	static __attribute__((unused)) void name(T *a, size_t n)               \
	{                                                                      \
		int depth = 0;                                                 \
		size_t m;                                                      \
		for (m = n; m; m >>= 1)                                        \
			depth += 2;                                            \
		name##_qsort(a, n, depth);                                     \
	}

static inline bool fw_u32_less(const uint32_t *a, const uint32_t *b)
{
	return *a < *b;
}

/* Growable arrays: ensure room for `more` elements. */
int fw_grow(void **v, size_t *cap, size_t n, size_t more, size_t elem);

#endif
