/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Running the entry program (the parser) on crafted packets, for the
 * parse_*.c tests: load the entry skeleton, pin the thread to one CPU, run
 * with BPF_PROG_TEST_RUN and read that CPU's sl_meta and the drop counters.
 */
#ifndef SLUICE_PARSE_RUN_H
#define SLUICE_PARSE_RUN_H

#include <stdint.h>
#include <linux/types.h>
#include "shared/meta.h"
#include "shared/drop_reasons.h"

struct entry;

struct prun {
	struct entry *skel;
	int prog_fd;
	int meta_fd;
	int drops_fd;
	int root_fd;
	int cpu;   /* the CPU the thread is pinned to */
	int ncpus; /* possible CPUs: entries of a per-CPU value array */
	void *percpu; /* scratch for per-CPU lookups */
};

/* The outcome of one run. */
struct prun_res {
	__u32 retval;	   /* XDP verdict */
	struct sl_meta meta;
	__u64 drops;	   /* packets counted for the run's reason, delta */
	__u64 drop_bytes;  /* bytes counted for it, delta */
};

int prun_open(struct prun *r);
void prun_close(struct prun *r);
/* Runs one packet; 0 or -errno. */
int prun_run(struct prun *r, const void *pkt, __u32 len, struct prun_res *res);
/* Sum over CPUs of sl_drops[reason]. */
int prun_drops(struct prun *r, __u32 reason, __u64 *packets, __u64 *bytes);
/* Verified instruction count of the entry program (0 if unknown). */
__u32 prun_verified_insns(struct prun *r);
/* The drop reason's name (the X-macro string). */
const char *prun_reason_name(unsigned reason);

#endif
