/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The chain's counter map fw_counters (bpf/include/fw_counters.h): a flat
 * ARRAY with FW_COUNTER_SLOTS counters per possible CPU, CPU-major, the
 * top of each CPU's part holding its batch of deferred counts (shared/fw.h).
 * Read and zeroed through one shared mapping. */
#ifndef SLUICE_FW_COUNTERS_H
#define SLUICE_FW_COUNTERS_H

#include <stddef.h>
#include <stdint.h>
#include "shared/meta.h"

/* max_entries of the map on this machine (FW_COUNTER_SLOTS x possible
 * CPUs), or a negative errno. */
long fw_counters_entries(void);
/* Every slot summed over CPUs (FW_COUNTER_SLOTS entries; those from
 * FW_RULE_SLOTS up, the batches', are 0), the firewall's pending counts
 * included; NULL on failure (errno set). free() it. Each figure lies
 * between the count when the call began and the count when it returned
 * (fw_counters.c). */
struct sl_counter *fw_counters_sum(int fd);
/* One rule slot summed over CPUs, pending counts included. */
int fw_counters_get(int fd, uint32_t slot, struct sl_counter *sum);
/* Zero the given rule slots on every CPU (the counters; call it only for
 * slots that nothing has pending: fw_counters_pending). */
int fw_counters_zero(int fd, const uint32_t *slots, size_t n);
/* Set used[s] for every slot s with a count pending in a CPU's batch
 * (used: FW_RULE_SLOTS bytes). A CPU that went idle keeps its batch until
 * its next packet: such a slot must not go to another rule meanwhile. */
int fw_counters_pending(int fd, uint8_t *used);

#endif
