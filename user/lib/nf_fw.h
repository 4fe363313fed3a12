/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Loading a compiled firewall function (struct fw_image) as one stage of a
 * generation: the program, its config maps filled and frozen. */
#ifndef SLUICE_NF_FW_H
#define SLUICE_NF_FW_H

#include <stdint.h>
#include "fw_compile.h"
#include "stage.h"

/* Opens and loads the fw stage for chain position stage_idx of generation g,
 * reusing the shared and per-generation maps (created and written back
 * when -1), fills and freezes the config maps, and fills out: prog_fd, the
 * skeleton, and pins (name and fd of every config map, for the caller to
 * pin in the generation directory). The caller has set img->rules[].counter
 * (slots in fw_counters) and gives the default action's slot.
 *
 * Returns 0 or a negative errno. When the verifier rejects the program and
 * log is not NULL, *log gets the tail of the verifier log (malloc'ed, for
 * the caller to print and free); otherwise *log is NULL. */
int fw_stage_load(const struct fw_image *img, uint32_t default_counter_slot,
		  struct stage_shared *sh, struct stage_gen *g, uint32_t stage_idx,
		  struct stage_obj *out, char **log);

/* The verifier's count of processed instructions for a loaded program, 0
 * when the kernel does not say. */
uint32_t fw_prog_verified_insns(int prog_fd);

#endif
