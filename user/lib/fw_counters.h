/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The chain's counter map fw_counters (bpf/include/fw_counters.h): a flat
 * ARRAY with FW_COUNTER_SLOTS counters per possible CPU, CPU-major. Read
 * and zeroed through one shared mapping. */
#ifndef SLUICE_FW_COUNTERS_H
#define SLUICE_FW_COUNTERS_H

#include <stddef.h>
#include <stdint.h>
#include "shared/meta.h"

/* max_entries of the map on this machine (FW_COUNTER_SLOTS x possible
 * CPUs), or a negative errno. */
long fw_counters_entries(void);
/* Every slot summed over CPUs (FW_COUNTER_SLOTS entries); NULL on failure
 * (errno set). free() it. */
struct sl_counter *fw_counters_sum(int fd);
/* One slot summed over CPUs. */
int fw_counters_get(int fd, uint32_t slot, struct sl_counter *sum);
/* Zero the given slots on every CPU. */
int fw_counters_zero(int fd, const uint32_t *slots, size_t n);

#endif
