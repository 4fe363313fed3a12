// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Maglev (user/lib/lb_maglev.c): for N = 3, 10, 100, 400 backends in a
 * 65537-slot table, removing one moves at most 1/N + 1% of flows and
 * changes at most 1% of the slots that belonged to the others; the same
 * set in any order gives the same table; slot shares follow weights. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "test_progs.h"
#include "lb_maglev.h"

#define M LB_MAGLEV_DEFAULT_SIZE
#define FLOWS 200000

static void keys_make(char (*keys)[32], struct lb_maglev_backend *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(keys[i], 32, "198.51.%zu.%zu:8080", i / 250, i % 250 + 1);
		b[i].key = keys[i];
		b[i].weight = 1;
	}
}

static void removal(size_t n)
{
	char (*keys)[32] = calloc(n, 32), label[64];
	struct lb_maglev_backend *b = calloc(n, sizeof(*b)), *b2 = calloc(n, sizeof(*b2));
	uint32_t *t1 = calloc(M, 4), *t2 = calloc(M, 4);
	size_t gone = n / 2, i, j, moved = 0, others = 0, others_changed = 0;
	double moved_pct, changed_pct;

	keys_make(keys, b, n);
	/* b2: the same set without backend `gone` (indexes shift after it) */
	for (i = 0, j = 0; i < n; i++)
		if (i != gone)
			b2[j++] = b[i];
	if (!ASSERT_OK(lb_maglev_build(b, n, M, t1), "build") ||
	    !ASSERT_OK(lb_maglev_build(b2, n - 1, M, t2), "build without one"))
		goto out;
	for (i = 0; i < M; i++) {
		uint32_t before = t1[i], after = t2[i] >= gone ? t2[i] + 1 : t2[i];

		if (before != gone) {
			others++;
			others_changed += before != after;
		}
	}
	for (i = 0; i < FLOWS; i++) {
		uint64_t tuple[2] = { i * 0x9e3779b97f4a7c15ull, i };
		uint32_t s = (uint32_t)(lb_hash64(tuple, sizeof(tuple), 0) % M);
		uint32_t before = t1[s], after = t2[s] >= gone ? t2[s] + 1 : t2[s];

		moved += before != after;
	}
	moved_pct = 100.0 * (double)moved / FLOWS;
	changed_pct = 100.0 * (double)others_changed / (double)others;
	printf("    N=%-4zu remove one: %.3f%% of flows moved (bound %.3f%%), %.3f%% of the others' slots changed\n",
	       n, moved_pct, 100.0 / (double)n + 1.0, changed_pct);
	snprintf(label, sizeof(label), "N=%zu flows moved", n);
	ASSERT_LE(moved_pct, 100.0 / (double)n + 1.0, label);
	snprintf(label, sizeof(label), "N=%zu others' slots changed", n);
	ASSERT_LE(changed_pct, 1.0, label);
out:
	free(keys);
	free(b);
	free(b2);
	free(t1);
	free(t2);
}

void test_lb_maglev(void)
{
	if (test__start_subtest("remove_one")) {
		removal(3);
		removal(10);
		removal(100);
		removal(400);
	}
	if (test__start_subtest("order_independent")) {
		char keys[50][32];
		struct lb_maglev_backend b[50], s[50];
		uint32_t *t1 = calloc(M, 4), *t2 = calloc(M, 4);
		size_t i, k, bad = 0;

		keys_make(keys, b, 50);
		b[7].weight = 3;
		for (k = 0; k < 5; k++) {
			/* a shuffle: s[i] = b[perm[i]], the table maps back */
			size_t perm[50];

			for (i = 0; i < 50; i++)
				perm[i] = i;
			for (i = 49; i > 0; i--) {
				size_t j = (size_t)(lb_hash64(&i, sizeof(i), k) % (i + 1)), t = perm[i];

				perm[i] = perm[j];
				perm[j] = t;
			}
			for (i = 0; i < 50; i++)
				s[i] = b[perm[i]];
			ASSERT_OK(lb_maglev_build(b, 50, M, t1), "build");
			ASSERT_OK(lb_maglev_build(s, 50, M, t2), "build shuffled");
			for (i = 0; i < M; i++)
				bad += t1[i] != perm[t2[i]];
		}
		ASSERT_EQ(bad, 0, "same table in any order");
		free(t1);
		free(t2);
	}
	if (test__start_subtest("weights")) {
		char keys[4][32];
		struct lb_maglev_backend b[4];
		uint32_t *t = calloc(M, 4), cnt[4] = { 0 };
		size_t i;

		keys_make(keys, b, 4);
		b[0].weight = 1;
		b[1].weight = 2;
		b[2].weight = 5;
		b[3].weight = 0; /* draining: no slots */
		ASSERT_OK(lb_maglev_build(b, 4, M, t), "build");
		for (i = 0; i < M; i++)
			if (ASSERT_LT(t[i], 3, "slot owner"))
				cnt[t[i]]++;
		printf("    weights 1:2:5:0 -> slots %u:%u:%u:%u\n", cnt[0], cnt[1], cnt[2], cnt[3]);
		ASSERT_LE(abs((int)cnt[0] * 8 - (int)M), (int)M / 100, "weight 1 share");
		ASSERT_LE(abs((int)cnt[1] * 8 - 2 * (int)M), (int)M / 100, "weight 2 share");
		ASSERT_LE(abs((int)cnt[2] * 8 - 5 * (int)M), (int)M / 100, "weight 5 share");
		ASSERT_EQ(lb_maglev_build(b, 4, 65536, t), -EINVAL, "not prime");
		b[1].key = b[0].key;
		ASSERT_EQ(lb_maglev_build(b, 4, M, t), -EINVAL, "duplicate key");
		b[0].weight = b[1].weight = b[2].weight = 0;
		ASSERT_OK(lb_maglev_build(b, 3, M, t), "no weight");
		ASSERT_EQ(t[0], LB_MAGLEV_EMPTY, "empty table");
		free(t);
	}
}
