// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Reading and zeroing the chain's fw_counters through one shared mapping:
 * a batched lookup of ncpus x 301 024 elements would copy them one by one. */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

/* CPUs the map holds, after checking it has the layout this code knows;
 * a negative errno otherwise. */
static int map_ncpu(int fd)
{
	struct bpf_map_info info = {};
	uint32_t ilen = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &ilen))
		return -errno;
	if (info.type != BPF_MAP_TYPE_ARRAY || info.value_size != sizeof(struct sl_counter) ||
	    info.max_entries < FW_COUNTER_SLOTS || info.max_entries % FW_COUNTER_SLOTS)
		return -EINVAL;
	return (int)(info.max_entries / FW_COUNTER_SLOTS);
}

/* The whole map, mapped; *ncpu: CPUs it holds. */
static struct sl_counter *map_all(int fd, int prot, int *ncpu, size_t *len)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	*ncpu = map_ncpu(fd);
	if (*ncpu < 0) {
		errno = -*ncpu;
		return NULL;
	}
	*len = ((size_t)*ncpu * FW_COUNTER_SLOTS * sizeof(struct sl_counter) + page - 1) &
	       ~(size_t)(page - 1);
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
#define BATCH_SPINS 100	       /* tries before yielding the CPU */
#define BATCH_WAIT_NS 1000000000LL /* a fold takes ns: give up after 1 s */

struct batch {
	uint32_t n;
	uint32_t slot[FW_DEFER_LEN];
	uint32_t bytes[FW_DEFER_LEN];
	struct sl_counter at[FW_DEFER_LEN]; /* slot's counter at the take */
};

/* One CPU's part: through the whole map's mapping (a full read), or by
 * lookups of the few elements needed (one slot: mapping the map populates
 * every page of it, ncpus x 1 176, for a handful of reads). */
struct part {
	const struct sl_counter *mem; /* this CPU's part, or NULL: lookups */
	int fd;
	uint32_t cpu;
};

static __u64 load_once(const __u64 *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static int elem_read(const struct part *pt, uint32_t e, struct sl_counter *out)
{
	uint32_t k = pt->cpu * FW_COUNTER_SLOTS + e;

	if (pt->mem) {
		out->packets = load_once(&pt->mem[e].packets);
		out->bytes = load_once(&pt->mem[e].bytes);
		return 0;
	}
	return bpf_map_lookup_elem(pt->fd, &k, out) ? -errno : 0;
}

static bool rule_slot_ok(uint32_t slot)
{
	return slot && slot < FW_RULE_SLOTS;
}

/* The pending count in a batch header, as the stage reads it: never a
 * full batch (the fold empties it), anything else is no batch. */
static uint32_t batch_len(const struct sl_counter *hdr)
{
	return hdr->bytes < FW_DEFER_LEN ? (uint32_t)hdr->bytes : 0;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Step 1 for one CPU's part. A fold always ends, so a running one is
 * waited for (spinning, then yielding: the folding CPU may be a preempted
 * vCPU); only a sequence that stays odd for a second (a header that no
 * stage of this version wrote) gives -EBUSY, never a silent short read. */
static int batch_take(const struct part *pt, struct batch *b)
{
	struct sl_counter hdr, el, again;
	long long start = 0;
	uint32_t i, n, tries;
	int err;

	for (tries = 0;; tries++) {
		if (tries >= BATCH_SPINS) {
			if (!start)
				start = now_ns();
			else if (now_ns() - start > BATCH_WAIT_NS)
				return -EBUSY;
			sched_yield();
		}
		err = elem_read(pt, FW_DEFER_BASE, &hdr);
		if (err)
			return err;
		if (hdr.packets & 1)
			continue; /* a fold is running */
		n = batch_len(&hdr);
		for (i = 0; i < n && !err; i += 2) {
			err = elem_read(pt, FW_DEFER_BASE + 1 + i / 2, &el);
			b->slot[i] = (uint32_t)(el.packets >> 32);
			b->bytes[i] = (uint32_t)el.packets;
			b->slot[i + 1] = (uint32_t)(el.bytes >> 32);
			b->bytes[i + 1] = (uint32_t)el.bytes;
		}
		for (i = 0; i < n && !err; i++)
			if (rule_slot_ok(b->slot[i]))
				err = elem_read(pt, b->slot[i], &b->at[i]);
		if (!err)
			err = elem_read(pt, FW_DEFER_BASE, &again);
		if (err)
			return err;
		if (again.packets == hdr.packets) {
			b->n = n;
			return 0;
		}
	}
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
	int ncpu, cpu, err = 0;

	all = map_all(fd, PROT_READ, &ncpu, &len);
	if (!all)
		return NULL;
	sum = calloc(FW_COUNTER_SLOTS, sizeof(*sum));
	skip = calloc(FW_RULE_SLOTS, 1);
	if (!sum || !skip) {
		err = -ENOMEM;
		goto out;
	}
	for (cpu = 0; cpu < ncpu && !err; cpu++) {
		struct part pt = { all + (size_t)cpu * FW_COUNTER_SLOTS, fd, (uint32_t)cpu };

		err = batch_take(&pt, &b);
		if (err)
			break;
		batch_add(&b, sum, skip);
		for (s = 1; s < FW_RULE_SLOTS; s++) {
			if (skip[s])
				continue;
			sum[s].packets += load_once(&pt.mem[s].packets);
			sum[s].bytes += load_once(&pt.mem[s].bytes);
		}
		for (i = 0; i < b.n; i++)
			if (rule_slot_ok(b.slot[i]))
				skip[b.slot[i]] = 0;
	}
out:
	free(skip);
	munmap(all, len);
	if (err) {
		free(sum);
		errno = -err;
		return NULL;
	}
	return sum;
}

int fw_counters_get(int fd, uint32_t slot, struct sl_counter *sum)
{
	struct sl_counter c;
	struct batch b;
	uint32_t i, seen;
	int ncpu, cpu, err;

	if (!rule_slot_ok(slot))
		return -EINVAL;
	ncpu = map_ncpu(fd);
	if (ncpu < 0)
		return ncpu;
	memset(sum, 0, sizeof(*sum));
	for (cpu = 0; cpu < ncpu; cpu++) {
		struct part pt = { NULL, fd, (uint32_t)cpu };

		err = batch_take(&pt, &b);
		if (err)
			return err;
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
			err = elem_read(&pt, slot, &c);
			if (err)
				return err;
			sum->packets += c.packets;
			sum->bytes += c.bytes;
		}
	}
	return 0;
}

int fw_counters_pending(int fd, uint8_t *used)
{
	struct batch b;
	uint32_t i;
	int ncpu, cpu, err;

	ncpu = map_ncpu(fd);
	if (ncpu < 0)
		return ncpu;
	for (cpu = 0; cpu < ncpu; cpu++) {
		struct part pt = { NULL, fd, (uint32_t)cpu };

		err = batch_take(&pt, &b);
		if (err)
			return err;
		for (i = 0; i < b.n; i++)
			if (rule_slot_ok(b.slot[i]))
				used[b.slot[i]] = 1;
	}
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
