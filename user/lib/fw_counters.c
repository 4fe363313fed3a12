// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Reading and zeroing the chain's fw_counters through one shared mapping:
 * a batched lookup of ncpus x 301 024 elements would copy them one by one. */
#include <errno.h>
#include <stdbool.h>
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

/* Reading while the firewall counts (shared/fw.h, "Deferred counting").
 * A CPU's count of slot s is its counter plus its batch's pending entries
 * for s, and a fold moves entries from the batch into counters while we
 * read. Read in the wrong order, an entry is counted twice (in the batch,
 * then again in the counter) or not at all, and a total can go down
 * between two reads: a Prometheus counter reset. So, per CPU:
 *  1. take the batch and, right after, the counters of its slots, under one
 *     even fold sequence (retried when a fold began meanwhile): for those
 *     slots, counter + pending is exactly the count at that moment;
 *  2. read every other slot's counter afterwards: nothing was pending for
 *     it at that moment, so the counter holds at least that moment's count,
 *     and at most the count now.
 * Every figure is then between the count when the read began and the
 * count when it ended: nothing twice, never less than an earlier read.
 * The ordering rests on the loads below being ordered (acquire, and x86
 * keeps loads in order) and on the firewall's stores being ordered (x86
 * keeps stores in order; bpf/include/fw_counters.h). */
#define BATCH_TRIES 10000

struct batch {
	uint32_t n;
	uint32_t slot[FW_DEFER_LEN];
	uint32_t bytes[FW_DEFER_LEN];
	struct sl_counter at[FW_DEFER_LEN]; /* slot's counter at the take */
};

static __u64 load_once(const __u64 *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* Entry i of a part's batch (two per element, .packets first). */
static uint64_t batch_entry(const struct sl_counter *part, uint32_t i)
{
	const struct sl_counter *e = &part[FW_DEFER_BASE + 1 + i / 2];

	return load_once(i & 1 ? &e->bytes : &e->packets);
}

static bool rule_slot_ok(uint32_t slot)
{
	return slot && slot < FW_RULE_SLOTS;
}

/* Step 1 for one CPU's part. After BATCH_TRIES folds in a row got in the
 * way (a CPU folding every few hundred nanoseconds), the batch is left
 * out: its entries are then missing from this read only. */
static void batch_take(const struct sl_counter *part, struct batch *b)
{
	const struct sl_counter *h = &part[FW_DEFER_BASE];
	uint64_t seq, n, e;
	uint32_t i, tries;

	for (tries = 0; tries < BATCH_TRIES; tries++) {
		seq = load_once(&h->packets);
		if (seq & 1)
			continue; /* a fold is running */
		n = load_once(&h->bytes);
		if (n > FW_DEFER_LEN)
			n = 0; /* not a batch this code wrote */
		for (i = 0; i < n; i++) {
			e = batch_entry(part, i);
			b->slot[i] = (uint32_t)(e >> 32);
			b->bytes[i] = (uint32_t)e;
		}
		for (i = 0; i < n; i++) {
			if (!rule_slot_ok(b->slot[i]))
				continue;
			b->at[i].packets = load_once(&part[b->slot[i]].packets);
			b->at[i].bytes = load_once(&part[b->slot[i]].bytes);
		}
		if (load_once(&h->packets) == seq) {
			b->n = (uint32_t)n;
			return;
		}
	}
	b->n = 0;
}

/* Add CPU part's batch to sum[] (step 1), flagging its slots in skip[]. */
static void batch_add(const struct batch *b, struct sl_counter *sum, uint8_t *skip)
{
	uint32_t i;

	for (i = 0; i < b->n; i++) {
		uint32_t s = b->slot[i];

		if (!rule_slot_ok(s))
			continue;
		if (!skip[s]) {
			skip[s] = 1;
			sum[s].packets += b->at[i].packets;
			sum[s].bytes += b->at[i].bytes;
		}
		sum[s].packets++;
		sum[s].bytes += b->bytes[i];
	}
}

struct sl_counter *fw_counters_sum(int fd)
{
	struct sl_counter *all, *sum = NULL;
	uint8_t *skip = NULL;
	struct batch b;
	size_t len, s;
	uint32_t i;
	int ncpu, cpu, err;

	all = map_all(fd, PROT_READ, &ncpu, &len);
	if (!all)
		return NULL;
	sum = calloc(FW_COUNTER_SLOTS, sizeof(*sum));
	skip = calloc(FW_RULE_SLOTS, 1);
	if (!sum || !skip) {
		free(sum);
		sum = NULL;
		goto out;
	}
	for (cpu = 0; cpu < ncpu; cpu++) {
		const struct sl_counter *c = all + (size_t)cpu * FW_COUNTER_SLOTS;

		batch_take(c, &b);
		batch_add(&b, sum, skip);
		for (s = 1; s < FW_RULE_SLOTS; s++) {
			if (skip[s])
				continue;
			sum[s].packets += load_once(&c[s].packets);
			sum[s].bytes += load_once(&c[s].bytes);
		}
		for (i = 0; i < b.n; i++)
			if (rule_slot_ok(b.slot[i]))
				skip[b.slot[i]] = 0;
	}
out:
	err = errno;
	free(skip);
	munmap(all, len);
	errno = err;
	return sum;
}

int fw_counters_get(int fd, uint32_t slot, struct sl_counter *sum)
{
	struct sl_counter *all;
	struct batch b;
	uint8_t seen;
	size_t len;
	uint32_t i;
	int ncpu, cpu;

	if (!rule_slot_ok(slot))
		return -EINVAL;
	all = map_all(fd, PROT_READ, &ncpu, &len);
	if (!all)
		return -errno;
	memset(sum, 0, sizeof(*sum));
	for (cpu = 0; cpu < ncpu; cpu++) {
		const struct sl_counter *c = all + (size_t)cpu * FW_COUNTER_SLOTS;

		batch_take(c, &b);
		seen = 0;
		for (i = 0; i < b.n; i++) {
			if (b.slot[i] != slot)
				continue;
			if (!seen++) {
				sum->packets += b.at[i].packets;
				sum->bytes += b.at[i].bytes;
			}
			sum->packets++;
			sum->bytes += b.bytes[i];
		}
		if (!seen) {
			sum->packets += load_once(&c[slot].packets);
			sum->bytes += load_once(&c[slot].bytes);
		}
	}
	munmap(all, len);
	return 0;
}

int fw_counters_pending(int fd, uint8_t *used)
{
	struct sl_counter *all;
	size_t len;
	uint32_t i, s;
	uint64_t n;
	int ncpu, cpu;

	all = map_all(fd, PROT_READ, &ncpu, &len);
	if (!all)
		return -errno;
	for (cpu = 0; cpu < ncpu; cpu++) {
		const struct sl_counter *c = all + (size_t)cpu * FW_COUNTER_SLOTS;

		n = load_once(&c[FW_DEFER_BASE].bytes);
		for (i = 0; i < n && i < FW_DEFER_LEN; i++) {
			s = (uint32_t)(batch_entry(c, i) >> 32);
			if (rule_slot_ok(s))
				used[s] = 1;
		}
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
		if (!rule_slot_ok(slots[i]))
			continue;
		for (cpu = 0; cpu < ncpu; cpu++)
			memset(&all[(size_t)cpu * FW_COUNTER_SLOTS + slots[i]], 0,
			       sizeof(struct sl_counter));
	}
	munmap(all, len);
	return 0;
}
