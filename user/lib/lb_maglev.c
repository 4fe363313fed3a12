// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Maglev table generation with weights.
 *
 * Every backend has a permutation of the m slots: offset + j * skip (mod
 * m), offset and skip from two hashes of its key. Backends take turns, each
 * claiming the next slot of its permutation that is still free, until the
 * table is full. Weights: in round r, backend i takes a turn when
 * floor((r + 1) * w_i / w_max) > floor(r * w_i / w_max), so over the fill
 * it takes w_i / w_max turns per round: slot shares follow the weights.
 * Backends take their turns in the order of their keys, so the table is a
 * function of the backend set alone. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lb_maglev.h"

bool lb_is_prime(uint32_t n)
{
	uint32_t d;

	if (n < 2)
		return false;
	if (n % 2 == 0)
		return n == 2;
	for (d = 3; (uint64_t)d * d <= n; d += 2)
		if (n % d == 0)
			return false;
	return true;
}

/* 64-bit FNV-1a, then a murmur3 finaliser for avalanche. */
uint64_t lb_hash64(const void *data, size_t len, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ull ^ seed;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

struct perm {
	size_t idx;	/* into the caller's array */
	const char *key;
	uint32_t offset, skip, next, weight;
};

static int by_key(const void *a, const void *b)
{
	return strcmp(((const struct perm *)a)->key, ((const struct perm *)b)->key);
}

int lb_maglev_build(const struct lb_maglev_backend *b, size_t n, uint32_t m, uint32_t *table)
{
	struct perm *p;
	uint32_t wmax = 0, filled = 0, c;
	uint64_t r;
	size_t i, np = 0;

	if (!lb_is_prime(m) || m <= n || m > LB_MAGLEV_MAX_SIZE)
		return -EINVAL;
	for (c = 0; c < m; c++)
		table[c] = LB_MAGLEV_EMPTY;
	p = calloc(n ? n : 1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		size_t len = strlen(b[i].key);

		if (!b[i].weight)
			continue;
		p[np].idx = i;
		p[np].key = b[i].key;
		p[np].weight = b[i].weight;
		p[np].offset = (uint32_t)(lb_hash64(b[i].key, len, 0x6d61676c6576ull) % m);
		p[np].skip = (uint32_t)(lb_hash64(b[i].key, len, 0x736b6970ull) % (m - 1)) + 1;
		if (b[i].weight > wmax)
			wmax = b[i].weight;
		np++;
	}
	qsort(p, np, sizeof(*p), by_key);
	for (i = 1; i < np; i++) {
		if (!strcmp(p[i].key, p[i - 1].key)) {
			free(p);
			return -EINVAL;
		}
	}
	for (r = 0; np && filled < m; r++) {
		for (i = 0; i < np && filled < m; i++) {
			struct perm *q = &p[i];

			if ((r + 1) * q->weight / wmax == r * q->weight / wmax)
				continue;
			do {
				c = (uint32_t)(((uint64_t)q->offset + (uint64_t)q->next * q->skip) % m);
				q->next++;
			} while (table[c] != LB_MAGLEV_EMPTY);
			table[c] = (uint32_t)q->idx;
			filled++;
		}
	}
	free(p);
	return 0;
}
