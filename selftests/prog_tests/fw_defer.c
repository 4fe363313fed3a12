// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Deferred counting (bpf/shared/fw.h): the firewall stage counts through a
 * per-CPU batch of FW_DEFER_LEN entries folded into fw_counters when full.
 *  - batch: 40 packets over two rules and the default, one by one; after
 *    each, every count read through the library is exact, the raw counters
 *    hold only the folded packets and the batch the rest (so the deferral
 *    is real), fw_counters_pending names exactly the slots with a count in
 *    the batch, and the fold sequence moved once per full batch.
 *  - concurrent_reads: a thread on the rig's CPU runs packets while this
 *    thread, on another CPU, reads the count (fw_counters_get and
 *    fw_counters_sum in turn): every read lies between the packets finished
 *    before it and those finished after it (+1 in flight), no read is below
 *    the one before, and the count is exact once the runner stops. These
 *    bounds are coarse: at ~800k packets/s a read spans hundreds of
 *    packets, so they catch a reader that loses or doubles whole batches or
 *    counters, not one that is off by less than a batch during a fold
 *    (tried: a reader without the fold sequence passes). That ordering is
 *    argued in user/lib/fw_counters.c. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include "test_progs.h"
#include "fw_run.h"
#include "fw_counters.h"

#define RULES "{'apiVersion':'sluice.dev/v1alpha1','kind':'NetworkFunctionChain'," \
	"'metadata':{'name':'t'},'spec':{'attach':[{'interface':'eth0','hook':'xdp'}]," \
	"'functions':[{'name':'fw','type':'firewall','defaultAction':'allow','rules':[" \
	"{'id':'a','action':'allow','dst':['10.0.0.0/8']}," \
	"{'id':'d','action':'deny','dst':['192.168.0.0/16']}]}]}}"
#define CONCURRENT_MS 1500
/* Reads made at least, however slow the machine (a VM under TCG makes a
 * few hundred a second), unless READS_MAX_MS runs out first. */
#define READS_MIN 300
#define READS_MAX_MS 20000

static int load_rules(struct fw_rig *rig)
{
	struct sl_errs errs = { 0 };
	struct spec *spec = NULL;
	struct fw_image img = { 0 };
	char *doc = fw_json(RULES), *log = NULL;
	int err = -ENOMEM;

	if (!doc)
		goto out;
	err = spec_parse(doc, strlen(doc), &spec, &errs);
	if (!err)
		err = fw_compile(&spec->fns[0].fw, "spec.functions[0]", &img, &errs);
	if (!err)
		err = fw_rig_load(rig, &img, &log);
	if (err) {
		errs_print(&errs, stdout);
		printf("%s\n", log ? log : "");
	}
out:
	free(log);
	fw_image_free(&img);
	spec_free(spec);
	errs_free(&errs);
	free(doc);
	return err;
}

/* Packet i goes to rule a, rule d or the default, in turn. */
static void pkt_of(int i, struct fw_ref_pkt *p)
{
	static const char *const dst[3] = { "10.1.2.3", "192.168.7.7", "172.16.0.1" };

	memset(p, 0, sizeof(*p));
	p->family = 4;
	p->proto = IPPROTO_UDP;
	p->flags = SL_F_HAS_L4;
	p->sport = 1000;
	p->dport = 53;
	p->len = 60 + (uint32_t)i;
	inet_pton(AF_INET, "198.51.100.1", p->saddr);
	inet_pton(AF_INET, dst[i % 3], p->daddr);
}

/* This CPU's raw element e of fw_counters (no batch added). */
static int raw_elem(struct fw_rig *rig, uint32_t e, struct sl_counter *c)
{
	uint32_t k = (uint32_t)rig->cpu * FW_COUNTER_SLOTS + e;

	return bpf_map_lookup_elem(rig->sh.fw_counters_fd, &k, c) ? -errno : 0;
}

static void batch(struct fw_rig *rig)
{
	uint64_t want_p[3] = { 0 }, want_b[3] = { 0 }, fold_p[3] = { 0 };
	uint32_t slot[3] = { fw_rig_rule_slot(rig, 0), fw_rig_rule_slot(rig, 1),
			     fw_rig_default_slot(rig) };
	struct sl_counter raw, hdr, *sum;
	uint8_t *used = calloc(FW_RULE_SLOTS, 1);
	struct fw_ref_pkt p;
	struct sl_meta m;
	uint64_t pk, by;
	uint32_t ret;
	char name[64];
	int i, j, k;

	if (!ASSERT_OK_PTR(used, "calloc"))
		return;
	for (i = 0; i < 40; i++) {
		pkt_of(i, &p);
		if (!ASSERT_OK(fw_rig_run(rig, &p, &m, &ret), "fw_rig_run"))
			break;
		want_p[i % 3]++;
		want_b[i % 3] += p.len;
		if ((i + 1) % FW_DEFER_LEN == 0)
			memcpy(fold_p, want_p, sizeof(fold_p));
		snprintf(name, sizeof(name), "after packet %d", i + 1);
		sum = fw_counters_sum(rig->sh.fw_counters_fd);
		if (!ASSERT_OK_PTR(sum, name))
			break;
		for (j = 0; j < 3; j++) {
			ASSERT_OK(fw_rig_counter(rig, slot[j], &pk, &by), name);
			ASSERT_EQ(pk, want_p[j], name);
			ASSERT_EQ(by, want_b[j], name);
			ASSERT_EQ(sum[slot[j]].packets, want_p[j], name);
			ASSERT_EQ(sum[slot[j]].bytes, want_b[j], name);
			/* the counter itself holds only what was folded */
			ASSERT_OK(raw_elem(rig, slot[j], &raw), name);
			ASSERT_EQ(raw.packets, fold_p[j], name);
		}
		for (k = FW_RULE_SLOTS; k < FW_COUNTER_SLOTS; k++)
			if (!ASSERT_EQ(sum[k].packets | sum[k].bytes, 0, "batch elements are no counters"))
				break;
		free(sum);
		/* the slot allocator's view: a slot with a count pending */
		memset(used, 0, FW_RULE_SLOTS);
		ASSERT_OK(fw_counters_pending(rig->sh.fw_counters_fd, used), name);
		for (j = 0; j < 3; j++)
			ASSERT_EQ(used[slot[j]], want_p[j] > fold_p[j], "slot pending");
		ASSERT_OK(raw_elem(rig, FW_DEFER_BASE, &hdr), name);
		ASSERT_EQ(hdr.bytes, (uint64_t)(i + 1) % FW_DEFER_LEN, "pending entries");
		ASSERT_EQ(hdr.packets, 2ull * ((uint64_t)(i + 1) / FW_DEFER_LEN), "fold sequence");
	}
	free(used);
}

struct runner {
	struct fw_rig *rig;
	atomic_long done;
	atomic_bool stop;
	int err;
};

static void *run_packets(void *arg)
{
	struct runner *ru = arg;
	struct fw_ref_pkt p;
	cpu_set_t set;
	uint32_t ret;

	CPU_ZERO(&set);
	CPU_SET(ru->rig->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		ru->err = -errno;
		return NULL;
	}
	pkt_of(0, &p); /* rule a */
	ru->err = fw_rig_put(ru->rig, &p);
	while (!ru->err && !atomic_load(&ru->stop)) {
		ru->err = fw_rig_exec(ru->rig, &ret, NULL);
		atomic_fetch_add(&ru->done, 1);
	}
	return NULL;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void concurrent_reads(struct fw_rig *rig)
{
	struct runner ru = { .rig = rig };
	long reads = 0, low = 0, high = 0, down = 0;
	uint64_t prev = 0, base, got;
	struct sl_counter c, *sum;
	pthread_t th;
	cpu_set_t set;
	double t0;
	long before, after;
	uint32_t slot;
	int other;

	if (!ASSERT_OK(load_rules(rig), "load_rules"))
		return;
	slot = fw_rig_rule_slot(rig, 0);
	if (!ASSERT_OK(fw_counters_get(rig->sh.fw_counters_fd, slot, &c), "base count"))
		return;
	base = c.packets;
	if (!ASSERT_OK(pthread_create(&th, NULL, run_packets, &ru), "pthread_create"))
		return;
	/* this thread reads from another CPU (the rig pinned it to its own):
	 * the first one it may run on */
	for (other = 0; other < rig->ncpus; other++) {
		if (other == rig->cpu)
			continue;
		CPU_ZERO(&set);
		CPU_SET(other, &set);
		if (!sched_setaffinity(0, sizeof(set), &set))
			break;
	}
	if (other >= rig->ncpus) {
		atomic_store(&ru.stop, true);
		pthread_join(th, NULL);
		test__skip("no second CPU to read from while the first counts");
		return;
	}
	for (t0 = now_ms(); (now_ms() - t0 < CONCURRENT_MS || reads < READS_MIN) &&
			    now_ms() - t0 < READS_MAX_MS;
	     reads++) {
		before = atomic_load(&ru.done);
		if (reads % 2) {
			sum = fw_counters_sum(rig->sh.fw_counters_fd);
			if (!ASSERT_OK_PTR(sum, "fw_counters_sum"))
				break;
			got = sum[slot].packets;
			free(sum);
		} else {
			if (!ASSERT_OK(fw_counters_get(rig->sh.fw_counters_fd, slot, &c),
				       "fw_counters_get"))
				break;
			got = c.packets;
		}
		after = atomic_load(&ru.done);
		got -= base;
		low += got < (uint64_t)before;
		high += got > (uint64_t)after + 1;
		down += got < prev;
		prev = got;
	}
	atomic_store(&ru.stop, true);
	pthread_join(th, NULL);
	CPU_ZERO(&set);
	CPU_SET(rig->cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
	ASSERT_OK(ru.err, "runner");
	if (env.verbose)
		printf("concurrent_reads: %ld reads, %ld packets (%ld folds); %ld low, %ld high, %ld down\n",
		       reads, atomic_load(&ru.done), atomic_load(&ru.done) / FW_DEFER_LEN, low, high,
		       down);
	ASSERT_GT(reads, 100, "reads");
	ASSERT_GT(atomic_load(&ru.done), 50 * FW_DEFER_LEN, "packets run");
	ASSERT_EQ(low, 0, "reads below the packets finished before them");
	ASSERT_EQ(high, 0, "reads above the packets finished after them");
	ASSERT_EQ(down, 0, "reads below the read before");
	/* quiet now: exact */
	if (ASSERT_OK(fw_counters_get(rig->sh.fw_counters_fd, slot, &c), "final count"))
		ASSERT_EQ(c.packets - base, atomic_load(&ru.done), "final count is exact");
}

/* reader_protocol: the readers against a writer in userspace that keeps the
 * stage's store order (bpf/include/fw_counters.h) on a map of the same
 * layout (one CPU), with a fold slowed down so that reads land inside
 * it. The writer counts into one slot and publishes how many packets it
 * has appended; every read must lie between that number before and after
 * it. A reader without the fold sequence counts the folded part of the
 * batch twice here. */
#define SYN_SLOT 7

struct syn {
	struct sl_counter *part;
	atomic_long done;
	atomic_bool stop;
};

static void syn_store(__u64 *p, __u64 v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static void *syn_writer(void *arg)
{
	struct syn *sy = arg;
	struct sl_counter *h = &sy->part[FW_DEFER_BASE], *c = &sy->part[SYN_SLOT];
	__u64 n = 0, e, *ent;
	volatile int spin;
	int i;

	while (!atomic_load(&sy->stop)) {
		ent = (__u64 *)&sy->part[FW_DEFER_BASE + 1 + n / 2] + (n & 1);
		syn_store(ent, (__u64)SYN_SLOT << 32 | 100);
		if (++n < FW_DEFER_LEN) {
			syn_store(&h->bytes, n);
		} else {
			syn_store(&h->packets, h->packets + 1);
			for (i = 0; i < FW_DEFER_LEN; i++) {
				e = ((__u64 *)&sy->part[FW_DEFER_BASE + 1])[i];
				syn_store(&c->packets, c->packets + 1);
				syn_store(&c->bytes, c->bytes + (uint32_t)e);
				for (spin = 0; spin < 100; spin++)
					; /* a slow fold: reads land inside it */
			}
			syn_store(&h->bytes, 0);
			syn_store(&h->packets, h->packets + 1);
			n = 0;
		}
		atomic_fetch_add(&sy->done, 1);
		for (spin = 0; spin < 400; spin++)
			; /* packets come apart: the reader gets between folds */
	}
	return NULL;
}

static void reader_protocol(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_MMAPABLE);
	size_t len = (size_t)FW_COUNTER_SLOTS * sizeof(struct sl_counter);
	struct syn sy = { 0 };
	long reads = 0, low = 0, high = 0, down = 0, before, after;
	uint64_t got, prev = 0;
	struct sl_counter c, *sum;
	pthread_t th;
	double t0;
	void *m = MAP_FAILED;
	int fd;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "fw_counters", 4, sizeof(struct sl_counter),
			    FW_COUNTER_SLOTS, &opts);
	if (!ASSERT_GE(fd, 0, "map_create"))
		return;
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!ASSERT_TRUE(m != MAP_FAILED, "mmap"))
		goto out;
	sy.part = m;
	if (!ASSERT_OK(pthread_create(&th, NULL, syn_writer, &sy), "pthread_create"))
		goto out;
	for (t0 = now_ms(); (now_ms() - t0 < CONCURRENT_MS / 3 || reads < READS_MIN) &&
			    now_ms() - t0 < READS_MAX_MS;
	     reads++) {
		before = atomic_load(&sy.done);
		if (reads % 8 == 7) {
			sum = fw_counters_sum(fd);
			if (!ASSERT_OK_PTR(sum, "fw_counters_sum"))
				break;
			c = sum[SYN_SLOT];
			free(sum);
		} else if (!ASSERT_OK(fw_counters_get(fd, SYN_SLOT, &c), "fw_counters_get")) {
			break;
		}
		after = atomic_load(&sy.done);
		got = c.packets;
		low += got < (uint64_t)before;
		high += got > (uint64_t)after + 1;
		down += got < prev;
		prev = got;
		if (c.bytes != c.packets * 100)
			high++; /* bytes and packets disagree: a torn read */
	}
	atomic_store(&sy.stop, true);
	pthread_join(th, NULL);
	if (env.verbose)
		printf("reader_protocol: %ld reads, %ld packets; %ld low, %ld high, %ld down\n",
		       reads, atomic_load(&sy.done), low, high, down);
	ASSERT_GT(reads, 200, "reads");
	ASSERT_GT(atomic_load(&sy.done), 100 * FW_DEFER_LEN, "packets written");
	ASSERT_EQ(low, 0, "reads below the packets written before them");
	ASSERT_EQ(high, 0, "reads above the packets written after them");
	ASSERT_EQ(down, 0, "reads below the read before");
	if (ASSERT_OK(fw_counters_get(fd, SYN_SLOT, &c), "final count"))
		ASSERT_EQ(c.packets, atomic_load(&sy.done), "final count is exact");
out:
	if (m != MAP_FAILED)
		munmap(m, len);
	close(fd);
}

void test_fw_defer(void)
{
	struct fw_rig rig;

	if (!ASSERT_OK(fw_rig_open(&rig), "fw_rig_open"))
		return;
	if (test__start_subtest("batch") && ASSERT_OK(load_rules(&rig), "load_rules"))
		batch(&rig);
	if (test__start_subtest("concurrent_reads"))
		concurrent_reads(&rig);
	if (test__start_subtest("reader_protocol"))
		reader_protocol();
	fw_rig_close(&rig);
}
