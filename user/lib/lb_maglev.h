/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Maglev consistent hashing (Eisenbud et al., NSDI 2016) with weights:
 * the lookup table of one load-balancer service. Pure userspace. */
#ifndef SLUICE_LB_MAGLEV_H
#define SLUICE_LB_MAGLEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LB_MAGLEV_DEFAULT_SIZE 65537u
#define LB_MAGLEV_MAX_SIZE 4194301u /* prime; 16 MiB of __u32 */
#define LB_MAGLEV_EMPTY UINT32_MAX

struct lb_maglev_backend {
	const char *key;  /* its identity ("198.51.100.2:8080"): the hash input,
			   * so a backend keeps its permutation whatever the
			   * others are */
	uint32_t weight;  /* 0: no slots (draining, removed) */
};

bool lb_is_prime(uint32_t n);

/* Fill table[0..m) with backend indexes (into b) by Maglev's permutation
 * fill, each backend taking turns in proportion to its weight; m must be
 * a prime above n. The result depends on the set of (key, weight) only,
 * never on the order of b. With no backend of weight > 0, every slot is
 * LB_MAGLEV_EMPTY. Returns 0, -EINVAL (m not prime, m <= n, duplicate
 * key) or -ENOMEM. */
int lb_maglev_build(const struct lb_maglev_backend *b, size_t n, uint32_t m, uint32_t *table);

/* The two hashes of a key (offset, skip); exposed for tests. */
uint64_t lb_hash64(const void *data, size_t len, uint64_t seed);

#endif
