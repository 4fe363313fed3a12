// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Per-CPU counter maps from userspace; see percpu.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "percpu.h"

int percpu_sum(int fd, uint32_t key, uint64_t *sum, size_t n_u64)
{
	int ncpu = libbpf_num_possible_cpus(), cpu;
	uint64_t *vals;
	size_t j;
	int err = 0;

	memset(sum, 0, n_u64 * sizeof(*sum));
	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc(ncpu, n_u64 * sizeof(uint64_t));
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, vals))
		err = -errno;
	for (cpu = 0; cpu < ncpu && !err; cpu++)
		for (j = 0; j < n_u64; j++)
			sum[j] += vals[cpu * n_u64 + j];
	free(vals);
	return err;
}

int percpu_sum_slots(int fd, uint32_t first, uint32_t n, uint64_t *out)
{
	uint32_t i;
	int err = 0;

	for (i = 0; i < n && !err; i++)
		err = percpu_sum(fd, first + i, &out[i], 1);
	return err;
}

int percpu_add_cpu0(int fd, uint32_t key, uint64_t v)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;
	int err = 0;

	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, vals) ||
	    (vals[0] += v, bpf_map_update_elem(fd, &key, vals, BPF_ANY)))
		err = -errno;
	free(vals);
	return err;
}
