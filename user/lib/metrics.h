/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Reading what a chain counts, for the agent's metrics (sluiced): per-CPU
 * counters summed, every rule counter in one batched read, and the usage of
 * each pinned map (entries in use, capacity, memory). Read-only: nothing
 * here takes the chain lock or changes a map.
 */
#ifndef SLUICE_METRICS_H
#define SLUICE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "chain.h"
#include "percpu.h"
#include "shared/meta.h"

/* Every slot of fw_counters summed over CPUs (FW_COUNTER_SLOTS entries),
 * through one mapping; NULL on failure. free() it. */
struct sl_counter *metrics_fw_counters(int fd);

struct metrics_map {
	char name[80];		/* pin name: "sl_drops", "fw_fw_lpm6" */
	uint32_t generation;	/* 0: a chain-level (shared) map */
	uint32_t id, type;	/* BPF map id and type */
	uint32_t max_entries;	/* capacity */
	uint64_t entries;	/* in use (see metrics_chain_maps) */
	uint64_t memlock_bytes;	/* kernel memory charged, from fdinfo */
	bool frozen;
};

/* The maps of the chain (the shared ones) and of its live generation.
 * Entries in use: counted for hash-type maps, set slots for PROG_ARRAYs,
 * slots held by the live and previous generations for fw_counters, and
 * max_entries for other arrays (preallocated, sized by the compiler to what
 * they hold). Frozen maps never change, so their counts are cached by map
 * id across calls. *out freed with free(). */
int metrics_chain_maps(const struct chain *c, struct metrics_map **out, size_t *n);

/* The chain's flow tables (docs/metrics.md): conntrack's ct_table, the
 * load balancer's lb_flows/lb_rev, the NAT's nat_flows/nat_rev, each with
 * its entries (all, and live: not past their expiry) and the counters of
 * its function (counters of a pair on its forward table; expired on each:
 * what the sweeps removed). */
struct metrics_flow_table {
	const char *name;	/* "ct_table", "lb_flows", ... */
	uint64_t entries, live;
	uint64_t created, expired, insert_full, insert_busy, reused;
	bool has_counters;	/* a forward table (the pair's counters) */
	/* lb_flows: packets the stage redirected by its FIB lookup, and
	 * those it left to the stack ("fib"); nat_flows: flows that found
	 * their own reverse entry again (port_adopted) */
	uint64_t fib_redirected, fib_stack, adopted;
};
#define METRICS_FLOW_TABLES 5
/* Fills out[] with the tables the chain has; returns how many. */
size_t metrics_flow_tables(struct chain *c, struct metrics_flow_table *out);

#endif
