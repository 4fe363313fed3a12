// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Atomicity under traffic: a packet driver runs the real entry program
 * (BPF_PROG_TEST_RUN on the pinned entry, which tail-calls whatever
 * generation is live) while specs A and B are committed alternately, each
 * commit a new generation. After every packet the driver reads the
 * per-packet metadata of its CPU: the generation stamped into it and the
 * verdict. Every verdict must be what the stamped generation's rules say,
 * and traffic both specs allow must never be dropped.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "test_progs.h"
#include "netns.h"
#include "pkt.h"
#include "chain.h"
#include "spec.h"
#include "shared/meta.h"

#define ATOMIC_COMMITS 1000

struct driver {
	int entry_fd, meta_fd;
	volatile bool stop;
	long checked, wrong, both_allowed_dropped, unstamped, foreign;
	volatile uint32_t max_gen_seen;
	int err;
};

static const char *spec_fmt =
	"{\"apiVersion\":\"sluice.dev/v1alpha1\",\"kind\":\"NetworkFunctionChain\","
	"\"metadata\":{\"name\":\"atomic\"},\"spec\":{"
	"\"attach\":[{\"interface\":\"veth0\",\"hook\":\"xdp\"}],"
	"\"functions\":["
	"{\"name\":\"fw1\",\"type\":\"firewall\",\"defaultAction\":\"allow\","
	"\"rules\":[{\"id\":\"deny\",\"action\":\"deny\",\"proto\":\"tcp\",\"dstPorts\":[%d]}]},"
	"{\"name\":\"fw2\",\"type\":\"firewall\",\"defaultAction\":\"allow\","
	"\"rules\":[{\"id\":\"deny\",\"action\":\"deny\",\"proto\":\"tcp\",\"dstPorts\":[%d]}]}]}}";

/* Generation g holds spec A when odd, B when even. Both have two stages, so
 * a packet judged partly by each generation would show: A's first stage
 * denies 1000 and its second 1001; B's 2000 and 2001. */
static bool expect_drop(uint32_t gen, int dport)
{
	int base = gen % 2 ? 1000 : 2000;

	return dport == base || dport == base + 1;
}

static void *drive(void *arg)
{
	struct driver *d = arg;
	int ncpu = libbpf_num_possible_cpus();
	size_t vsz = (sizeof(struct sl_meta) + 7) & ~7ul;
	static const int ports[] = { 1000, 1001, 2000, 2001, 3000 };
	uint8_t pkts[5][PKT_MAX];
	int lens[5], i;
	void *vals;
	cpu_set_t set;
	unsigned int seed = 42;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		d->err = -errno;
		return NULL;
	}
	vals = calloc(ncpu, vsz);
	for (i = 0; i < 5; i++) {
		struct pkt_spec ps = {
			.family = 4, .proto = IPPROTO_TCP, .sport = 40000,
			.dport = ports[i], .tcp_flags = PKT_TCP_SYN,
		};
		lens[i] = pkt_build(&ps, pkts[i], sizeof(pkts[i]));
	}
	while (!d->stop) {
		LIBBPF_OPTS(bpf_test_run_opts, opts);
		const struct sl_meta *m = vals; /* CPU 0's value comes first */
		uint32_t zero = 0;
		int k = rand_r(&seed) % 5;
		bool dropped;

		opts.data_in = pkts[k];
		opts.data_size_in = lens[k];
		opts.repeat = 1;
		if (bpf_prog_test_run_opts(d->entry_fd, &opts) ||
		    bpf_map_lookup_elem(d->meta_fd, &zero, vals)) {
			d->err = -errno;
			break;
		}
		dropped = opts.retval == XDP_DROP;
		/* A real packet on this CPU (IPv6 neighbour discovery on the
		 * attached veth) may run the chain between the test run and
		 * the read and overwrite the record: skip, never judge, what
		 * is not ours. */
		if (m->l4proto != IPPROTO_TCP || m->sport != 40000 || m->dport != ports[k]) {
			d->foreign++;
			continue;
		}
		d->checked++;
		if (!m->gen) {
			d->unstamped++;
			continue;
		}
		if (m->gen > d->max_gen_seen)
			d->max_gen_seen = m->gen;
		if (dropped != expect_drop(m->gen, ports[k]) ||
		    (m->verdict == SL_VERDICT_DROP) != dropped)
			d->wrong++;
		if (ports[k] == 3000 && dropped)
			d->both_allowed_dropped++;
	}
	free(vals);
	return NULL;
}

void test_atomic(void)
{
	struct chain_opts co = { .lock_wait_ms = 1000 };
	struct driver d = { .entry_fd = -1, .meta_fd = -1 };
	struct spec *specs[2] = {};
	char pin[PATH_MAX], tmp[PATH_MAX], text[1024];
	struct netns_pair ns;
	struct chain c;
	bool chain_ok = false, thread_ok = false;
	pthread_t th;
	int i, oldns = -1, err;
	struct timespec t0, t1;

	if (!ASSERT_OK(netns_pair_create(&ns), "netns") ||
	    !ASSERT_OK(netns_pin_root(pin, sizeof(pin)), "pin root") ||
	    !ASSERT_OK(netns_tmpdir(tmp, sizeof(tmp)), "state dir"))
		goto cleanup;
	co.pin_root = pin;
	co.state_dir = tmp;
	for (i = 0; i < 2; i++) {
		struct sl_errs errs = {};

		snprintf(text, sizeof(text), spec_fmt, i ? 2000 : 1000, i ? 2001 : 1001);
		err = spec_parse(text, strlen(text), &specs[i], &errs);
		errs_free(&errs);
		if (!ASSERT_OK(err, "spec"))
			goto cleanup;
	}
	oldns = netns_enter(ns.a);
	if (!ASSERT_GE(oldns, 0, "enter netns"))
		goto cleanup;
	err = chain_open(&c, &co, "atomic", CHAIN_LOCK | CHAIN_CREATE);
	if (!ASSERT_OK(err, "chain_open"))
		goto cleanup;
	chain_ok = true;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 1; i <= ATOMIC_COMMITS; i++) {
		struct apply_opts ao = {};
		struct apply_result res;
		struct sl_errs errs = {};

		err = gen_apply(&c, specs[(i + 1) % 2], &ao, &res, &errs);
		if (err)
			errs_print(&errs, stdout);
		errs_free(&errs);
		if (!ASSERT_OK(err, "apply") || !ASSERT_EQ(res.gen, i, "generation number"))
			goto cleanup;
		if (i == 1) {
			/* The driver starts once there is a generation. */
			d.entry_fd = dup(c.entry_fd);
			d.meta_fd = dup(c.sh.meta_fd);
			if (!ASSERT_OK(pthread_create(&th, NULL, drive, &d), "driver"))
				goto cleanup;
			thread_ok = true;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* Let the driver see the last generation too (it may be starved of
	 * CPU on a loaded machine: wait for it, up to 10 s). */
	for (i = 0; i < 1000 && d.max_gen_seen < ATOMIC_COMMITS && !d.err; i++)
		usleep(10000);

cleanup:
	if (thread_ok) {
		d.stop = true;
		pthread_join(th, NULL);
		printf("    %d commits in %.1f s; %ld packets checked, %ld wrong, "
		       "%ld both-allowed dropped, highest generation seen %u, "
		       "%ld records overwritten by real traffic (not judged)\n",
		       ATOMIC_COMMITS,
		       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
		       d.checked, d.wrong, d.both_allowed_dropped, d.max_gen_seen, d.foreign);
		ASSERT_LT(d.foreign, d.checked / 1000 + 10, "foreign records are rare");
		ASSERT_OK(d.err, "driver errors");
		ASSERT_GT(d.checked, ATOMIC_COMMITS, "packets checked");
		ASSERT_EQ(d.wrong, 0, "packets judged against their generation's rules");
		ASSERT_EQ(d.both_allowed_dropped, 0, "traffic both specs allow never dropped");
		ASSERT_EQ(d.unstamped, 0, "every packet stamped with a generation");
		ASSERT_EQ(d.max_gen_seen, ATOMIC_COMMITS, "the driver saw the last generation");
	}
	if (d.entry_fd >= 0)
		close(d.entry_fd);
	if (d.meta_fd >= 0)
		close(d.meta_fd);
	if (chain_ok) {
		chain_detach(&c);
		chain_close(&c);
	}
	if (oldns >= 0)
		netns_restore(oldns);
	spec_free(specs[0]);
	spec_free(specs[1]);
	netns_cleanup_all();
}
