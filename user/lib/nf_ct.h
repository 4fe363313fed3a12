/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The conntrack function (docs/conntrack.md): its compile (spec_ct.c), its
 * stage loader, and the chain-level table's tools: expiry sweep (GC),
 * listing, counters. */
#ifndef SLUICE_NF_CT_H
#define SLUICE_NF_CT_H

#include <stdbool.h>
#include <stdint.h>
#include "spec.h"
#include "stage.h"
#include "shared/ct.h"

/* Names of the chain-level maps, pinned at the chain root. */
#define CT_TABLE_PIN "ct_table"
#define CT_STATS_PIN "ct_stats"

struct ct_image {
	struct ct_config cfg;	/* the stage's .rodata */
	uint32_t table_size;	/* max_entries of ct_table when it is made */
};

/* path: the function's JSON path, for errors. 0 or -EINVAL. */
int ct_compile(const struct spec_conntrack *ct, const char *path, struct ct_image *img,
	       struct sl_errs *errs);

/* Load the ct stage for chain position stage_idx of generation g, reusing
 * the shared chain maps, ct_table and ct_stats among them
 * (stage_shared_names; created when absent, their fds written back).
 * out->commit_fd is its commit program, for the chain's slot g->nstages. A
 * table that exists with another size than img->table_size is kept: its
 * size wins (changing it would drop every flow; docs/conntrack.md) and
 * *kept_size says so (may be NULL). On a verifier rejection *log gets the
 * log's tail. */
int ct_stage_load(const struct ct_image *img, struct stage_shared *sh, struct stage_gen *g,
		  uint32_t stage_idx, struct stage_obj *out, uint32_t *kept_size, char **log);
/* The fd of a registered chain-level map in sh (0: none yet), or NULL when
 * the name is not registered. */
int *ct_shared_fd(struct stage_shared *sh, const char *name);

/* max_entries of a map fd, 0 on error. */
uint32_t ct_table_size(int table_fd);

/* Time as the stage sees it (CLOCK_BOOTTIME, ns). */
uint64_t ct_now_ns(void);

/* Every entry of the table, in no order; cb returning non-zero stops the
 * walk with that value. */
typedef int (*ct_walk_fn)(const struct ct_key *k, const struct ct_entry *e, void *arg);
int ct_walk(int table_fd, ct_walk_fn cb, void *arg);

struct ct_gc_result {
	uint64_t scanned;	/* entries seen */
	uint64_t removed;	/* expired and deleted */
	uint64_t live;		/* left */
};
/* The expiry sweep: deletes every entry whose expiry is before now_ns (0:
 * the current time), re-reading each one right before deleting it, so an
 * entry a packet refreshed meanwhile stays. Adds the count to ct_stats'
 * gc_removed (stats_fd < 0: not counted). */
int ct_gc(int table_fd, int stats_fd, uint64_t now_ns, struct ct_gc_result *res);

/* Sum over CPUs of every counter (CT_STAT_SLOTS values). */
int ct_stats_read(int stats_fd, uint64_t *out);
/* "new", "established", ... (CT_STATS) or NULL */
const char *ct_stat_name(unsigned int slot);
/* "new", "established", "related", "invalid", "none" */
const char *ct_state_name(unsigned int sl_ct_state);
/* "syn_sent", "established", "udp", ... */
const char *ct_proto_state_name(unsigned int ct_proto_state);

/* Flows the LRU dropped to make room: created - gc_removed - live. An
 * estimate only when entries were deleted by other means (detach). */
uint64_t ct_evicted(const uint64_t *stats, uint64_t live);

#endif
