// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The live benchmark's two helpers (tier 3, tools/bench/live.sh):
 *
 *   sluice-bench live-gen -f FAM -n N [-s SEED] -i IFNAME -m DMAC [-T MS]
 *	pushes frames out of IFNAME with BPF_PROG_TEST_RUN in live-frames mode
 *	(BPF_F_TEST_XDP_LIVE_FRAMES): gen_live writes the next precomputed
 *	packet (to the host of a random rule of the same rule set) into each
 *	frame and redirects it. Runs for about MS ms and prints
 *	"frames <sent> wall_ns <time inside the test runs>". The receiver's
 *	NAPI poll runs on this CPU when each batch ends (local_bh_enable), so
 *	the time includes the device under test's work.
 *   sluice-bench xdp-attach IFNAME pass|drop PIN
 *	attaches xdp_pass or xdp_drop to IFNAME (native) through a bpf_link
 *	pinned at PIN; removing PIN detaches it. */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bench.h"
#include "bench_abi.h"
#include "rules.h"
#include "bench.skel.h"

int cmd_live_gen(int argc, char **argv)
{
	unsigned long n = 1000, seed = 1, ms = 1000;
	const char *ifname = NULL, *mac = NULL;
	uint8_t dmac[6], frame[BENCH_FRAME6_LEN];
	uint64_t sent = 0, spent = 0, frames = 4096, t0;
	struct bench_key *keys = NULL;
	struct bench *b = NULL;
	unsigned int ifindex;
	struct bset set;
	int fam = 4, opt, err;
	uint32_t *idx, count = NKEYS, i, len;

	while ((opt = getopt(argc, argv, "f:n:s:i:m:T:")) != -1) {
		switch (opt) {
		case 'f': fam = atoi(optarg); break;
		case 'n': n = strtoul(optarg, NULL, 0); break;
		case 's': seed = strtoul(optarg, NULL, 0); break;
		case 'i': ifname = optarg; break;
		case 'm': mac = optarg; break;
		case 'T': ms = strtoul(optarg, NULL, 0); break;
		default: goto usage;
		}
	}
	if (!ifname || !mac || (fam != 4 && fam != 6) ||
	    sscanf(mac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &dmac[0], &dmac[1], &dmac[2], &dmac[3],
		   &dmac[4], &dmac[5]) != 6)
		goto usage;
	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		fprintf(stderr, "live-gen: no interface %s\n", ifname);
		return 1;
	}
	err = bset_gen(&set, n, fam, 0, seed);
	if (err) {
		fprintf(stderr, "live-gen: rule set: %s\n", strerror(-err));
		return 1;
	}
	keys = calloc(NKEYS, sizeof(*keys));
	idx = calloc(NKEYS, sizeof(*idx));
	b = bench__open();
	if (!keys || !idx || !b) {
		err = -ENOMEM;
		goto out;
	}
	bench_make_keys(keys, NKEYS, &set, seed);
	b->rodata->bench_mask = NKEYS - 1;
	b->rodata->gen_ifindex = ifindex;
	err = bpf_map__set_max_entries(b->maps.bench_keys, NKEYS) ?: bench__load(b);
	if (err)
		goto out;
	for (i = 0; i < NKEYS; i++)
		idx[i] = i;
	{
		LIBBPF_OPTS(bpf_map_batch_opts, bo);

		if (bpf_map_update_batch(bpf_map__fd(b->maps.bench_keys), idx, keys, &count, &bo)) {
			err = -errno;
			goto out;
		}
	}
	len = bench_build_frame(&keys[0], dmac, frame);
	/* Grow the run until one takes ~100 ms, stop after ms in all. */
	while (spent < ms * 1000000ull) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len,
			    .repeat = (int)frames, .flags = BPF_F_TEST_XDP_LIVE_FRAMES,
			    .batch_size = 64);
		uint64_t d;

		t0 = bench_now_ns();
		if (bpf_prog_test_run_opts(bpf_program__fd(b->progs.gen_live), &o)) {
			err = -errno;
			goto out;
		}
		d = bench_now_ns() - t0;
		spent += d;
		sent += frames;
		if (d < 100000000ull && frames < (1u << 24))
			frames *= 2;
	}
	printf("frames %llu wall_ns %llu\n", (unsigned long long)sent, (unsigned long long)spent);
out:
	if (err)
		fprintf(stderr, "live-gen: %s\n", strerror(-err));
	bench__destroy(b);
	free(keys);
	free(idx);
	bset_free(&set);
	return err ? 1 : 0;
usage:
	fprintf(stderr, "usage: sluice-bench live-gen -f 4|6 -n N [-s SEED] -i IFNAME -m DMAC [-T MS]\n");
	return 2;
}

int cmd_xdp_attach(int argc, char **argv)
{
	struct bpf_link *link;
	struct bench *b;
	unsigned int ifindex;
	int err;

	if (argc != 4 || (strcmp(argv[2], "pass") && strcmp(argv[2], "drop"))) {
		fprintf(stderr, "usage: sluice-bench xdp-attach IFNAME pass|drop PIN\n");
		return 2;
	}
	ifindex = if_nametoindex(argv[1]);
	if (!ifindex) {
		fprintf(stderr, "xdp-attach: no interface %s\n", argv[1]);
		return 1;
	}
	b = bench__open_and_load();
	if (!b) {
		fprintf(stderr, "xdp-attach: load: %s\n", strerror(errno));
		return 1;
	}
	link = bpf_program__attach_xdp(strcmp(argv[2], "pass") ? b->progs.xdp_drop : b->progs.xdp_pass,
				       (int)ifindex);
	err = libbpf_get_error(link);
	if (!err)
		err = bpf_link__pin(link, argv[3]);
	if (err)
		fprintf(stderr, "xdp-attach: %s: %s\n", argv[1], strerror(-err));
	bpf_link__destroy(link); /* the pin keeps it attached */
	bench__destroy(b);
	return err ? 1 : 0;
}
