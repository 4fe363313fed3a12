/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Running the real firewall stage on a packet description, for the fw*
 * tests: the stage is loaded as the only stage of a generation
 * (sl_stage 0, sl_nstages 1), the thread is pinned to one CPU, the packet's
 * sl_meta is written into that CPU's sl_meta_scratch slot, and
 * BPF_PROG_TEST_RUN runs fw_stage; the slot is read back. */
#ifndef SLUICE_FW_RUN_H
#define SLUICE_FW_RUN_H

#include <stdint.h>
#include "fw_compile.h"
#include "nf_fw.h"
#include "stage.h"
#include "shared/meta.h"
#include "fw_ref.h"

struct fw_rig {
	struct stage_shared sh;
	struct stage_gen g;
	struct stage_obj so;
	int cpu, ncpus;
	void *percpu;		/* ncpus values of the biggest per-CPU map */
	uint32_t slot0;		/* counter slot of rule 0 of the loaded image */
	size_t nrules;
	uint32_t verified_insns;
};

int fw_rig_open(struct fw_rig *r);
void fw_rig_close(struct fw_rig *r);
/* Loads img (replacing what was loaded): rule i counts in slot slot0 + i,
 * the default in slot0 + nrules; those slots are zeroed first. */
int fw_rig_load(struct fw_rig *r, struct fw_image *img, char **log);
/* The packet's metadata into the slot; one run of the stage (ns: the
 * kernel's duration, may be NULL). */
int fw_rig_put(struct fw_rig *r, const struct fw_ref_pkt *p);
int fw_rig_exec(struct fw_rig *r, uint32_t *retval, uint32_t *ns);
/* Both, then meta gets the slot as the stage left it. */
int fw_rig_run(struct fw_rig *r, const struct fw_ref_pkt *p, struct sl_meta *meta,
	       uint32_t *retval);
/* Sum over CPUs of a counter slot. */
int fw_rig_counter(struct fw_rig *r, uint32_t slot, uint64_t *packets, uint64_t *bytes);
static inline uint32_t fw_rig_rule_slot(const struct fw_rig *r, size_t rule)
{
	return r->slot0 + (uint32_t)rule;
}
static inline uint32_t fw_rig_default_slot(const struct fw_rig *r)
{
	return r->slot0 + (uint32_t)r->nrules;
}

/* Helpers the fw tests share. */

/* splitmix64: a seeded, reproducible stream. */
struct fw_rng {
	uint64_t s;
};
uint64_t fw_rnd(struct fw_rng *r);
static inline uint32_t fw_below(struct fw_rng *r, uint32_t n)
{
	return (uint32_t)(fw_rnd(r) % n);
}
/* Clear the host bits of p below its length. */
void fw_prefix_mask(struct spec_prefix *p);
/* Free the lists and the rules of a hand-built firewall. */
void fw_rules_free(struct spec_firewall *fw);
/* A JSON document written with ' for " (malloc'ed). */
char *fw_json(const char *single_quoted);

#endif
