/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Per-CPU counter maps from userspace: a key's value is one copy per
 * possible CPU, so reading means summing the copies, and a count only
 * userspace makes (a sweep's) is added to CPU 0's copy. */
#ifndef SLUICE_PERCPU_H
#define SLUICE_PERCPU_H

#include <stddef.h>
#include <stdint.h>

/* Sum the per-CPU value at key: n_u64 counters per CPU. */
int percpu_sum(int fd, uint32_t key, uint64_t *sum, size_t n_u64);
/* out[i] = the sum of the single-u64 value at key first + i, i < n. */
int percpu_sum_slots(int fd, uint32_t first, uint32_t n, uint64_t *out);
/* Add v to CPU 0's copy of the single-u64 value at key. Only for slots
 * that nothing but userspace writes, under the chain lock: the
 * read-modify-write is not atomic. */
int percpu_add_cpu0(int fd, uint32_t key, uint64_t v);

#endif
