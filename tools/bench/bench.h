/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* sluice-bench: the benchmark driver behind `make bench` (tools/bench/run.sh)
 * and the budget test. One binary, one verb per job. */
#ifndef SLUICE_BENCH_H
#define SLUICE_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define NKEYS_LOG2 17 /* 131072 precomputed packets */
#define NKEYS (1u << NKEYS_LOG2)

struct bench_key;
struct bset;

int cmd_micro(int argc, char **argv);
int cmd_live_gen(int argc, char **argv);
int cmd_xdp_attach(int argc, char **argv);

/* Packets spread over the whole rule space: key j goes to the host address
 * of a random rule of set, with its protocol and port. */
void bench_make_keys(struct bench_key *keys, size_t nkeys, const struct bset *set,
		     uint64_t seed);
/* The frame of k (Ethernet to dmac, or a made-up address when NULL);
 * returns its length. f holds BENCH_FRAME6_LEN bytes. */
uint32_t bench_build_frame(const struct bench_key *k, const uint8_t *dmac, uint8_t *f);

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
