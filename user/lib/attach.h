/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Attach points: the entry program on an interface through a bpf_link
 * pinned as PIN/<chain>/link_<ifname>_<hook>, so it outlives sluice and
 * the agent, and detaching is unpinning. */
#ifndef SLUICE_ATTACH_H
#define SLUICE_ATTACH_H

#include <stdbool.h>
#include <stdint.h>
#include "spec.h"
#include "pin.h"
#include "errs.h"
#include <cjson/cJSON.h>

struct attach_info {
	char pin_name[64];	/* link_<ifname>_<hook> */
	char ifname[IF_NAMESIZE]; /* from the pin name */
	uint32_t ifindex;	/* from the link; 0 if the device is gone */
	uint32_t link_id, prog_id;
	char hook[16];
};

/* Pre-check before anything is built: every interface exists here, every
 * hook is supported. Errors carry the attach entry's JSON path. */
int attach_check(const struct spec *s, struct sl_errs *errs);
/* Make the pinned links equal the spec's attach list: attach what is
 * missing, then remove what is no longer wanted. *added gets the names of
 * links this call created (to undo on failure; freed by the caller). */
int attach_reconcile(const char *pin_dir, int entry_fd, const struct spec *s,
		     char ***added, size_t *nadded, struct sl_errs *errs);
/* Pinned links of a chain. */
int attach_list(const char *pin_dir, struct attach_info **out, size_t *n);
void attach_unpin(const char *pin_dir, char **names, size_t n);
/* A spec's attach list as JSON (for the history) and back. */
cJSON *attach_to_json(const struct spec *s);
int attach_from_json(const cJSON *arr, struct spec_attach **out, size_t *n);

#endif
