// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Reading and zeroing the chain's fw_counters through one shared mapping:
 * a batched lookup of ncpus x 301 024 elements would copy them one by one. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "fw_counters.h"
#include "shared/fw.h"

long fw_counters_entries(void)
{
	int ncpu = libbpf_num_possible_cpus();

	if (ncpu <= 0)
		return ncpu ?: -EINVAL;
	return (long)ncpu * FW_COUNTER_SLOTS;
}

/* The whole map, mapped; *ncpu: CPUs it holds. */
static struct sl_counter *map_all(int fd, int prot, int *ncpu, size_t *len)
{
	struct bpf_map_info info = {};
	uint32_t ilen = sizeof(info);
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	if (bpf_obj_get_info_by_fd(fd, &info, &ilen))
		return NULL;
	if (info.type != BPF_MAP_TYPE_ARRAY || info.value_size != sizeof(struct sl_counter) ||
	    info.max_entries < FW_COUNTER_SLOTS || info.max_entries % FW_COUNTER_SLOTS) {
		errno = EINVAL; /* not the layout this code knows */
		return NULL;
	}
	*ncpu = (int)(info.max_entries / FW_COUNTER_SLOTS);
	*len = ((size_t)info.max_entries * sizeof(struct sl_counter) + page - 1) & ~(size_t)(page - 1);
	p = mmap(NULL, *len, prot, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

struct sl_counter *fw_counters_sum(int fd)
{
	struct sl_counter *all, *sum;
	size_t len, s;
	int ncpu, cpu, err;

	all = map_all(fd, PROT_READ, &ncpu, &len);
	if (!all)
		return NULL;
	sum = calloc(FW_COUNTER_SLOTS, sizeof(*sum));
	if (sum) {
		for (cpu = 0; cpu < ncpu; cpu++) {
			const struct sl_counter *c = all + (size_t)cpu * FW_COUNTER_SLOTS;

			for (s = 0; s < FW_COUNTER_SLOTS; s++) {
				sum[s].packets += c[s].packets;
				sum[s].bytes += c[s].bytes;
			}
		}
	}
	err = errno;
	munmap(all, len);
	errno = err;
	return sum;
}

int fw_counters_get(int fd, uint32_t slot, struct sl_counter *sum)
{
	struct sl_counter *all;
	size_t len;
	int ncpu, cpu;

	if (slot >= FW_COUNTER_SLOTS)
		return -EINVAL;
	all = map_all(fd, PROT_READ, &ncpu, &len);
	if (!all)
		return -errno;
	memset(sum, 0, sizeof(*sum));
	for (cpu = 0; cpu < ncpu; cpu++) {
		sum->packets += all[(size_t)cpu * FW_COUNTER_SLOTS + slot].packets;
		sum->bytes += all[(size_t)cpu * FW_COUNTER_SLOTS + slot].bytes;
	}
	munmap(all, len);
	return 0;
}

int fw_counters_zero(int fd, const uint32_t *slots, size_t n)
{
	struct sl_counter *all;
	size_t len, i;
	int ncpu, cpu;

	if (!n)
		return 0;
	all = map_all(fd, PROT_READ | PROT_WRITE, &ncpu, &len);
	if (!all)
		return -errno;
	for (i = 0; i < n; i++) {
		if (slots[i] >= FW_COUNTER_SLOTS)
			continue;
		for (cpu = 0; cpu < ncpu; cpu++)
			memset(&all[(size_t)cpu * FW_COUNTER_SLOTS + slots[i]], 0,
			       sizeof(struct sl_counter));
	}
	munmap(all, len);
	return 0;
}
