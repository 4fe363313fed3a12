/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Attach points: the entry program on an interface. XDP through a bpf_link
 * pinned as PIN/<chain>/link_<ifname>_<hook>; TC through a cls_bpf filter
 * at sluice's handle and priority, recorded as STATE/<chain>/tc/<ifname>_<hook>.
 * Both outlive sluice and the agent. */
#ifndef SLUICE_ATTACH_H
#define SLUICE_ATTACH_H

#include <stdbool.h>
#include <stdint.h>
#include "spec.h"
#include "pin.h"
#include "errs.h"
#include <cjson/cJSON.h>

/* sluice's cls_bpf filter on a clsact hook: first in line (priority 1),
 * with a handle of its own. */
#define SL_TC_HANDLE 0x51c
#define SL_TC_PRIO 1
/* The name of the program that may be replaced at SL_TC_HANDLE: a chain's
 * entry (bpf/entry.bpf.c), ours or one that a killed run left behind. */
#define SL_TC_PROG "sl_entry"

struct attach_info {
	char pin_name[64];	/* link_<ifname>_<hook> or tc:<ifname>_<hook> */
	char ifname[IF_NAMESIZE]; /* from the pin name */
	uint32_t ifindex;	/* from the link; 0 if the device is gone */
	uint32_t link_id, prog_id; /* link_id 0 for TC: no link */
	char hook[16];
};

/* Pre-check before anything is built: every interface exists here, and the
 * attach points are all XDP or all TC. Errors carry the JSON path. */
int attach_check(const struct spec *s, struct sl_errs *errs);
/* The spec's chain runs at TC (its attach points are tc-*). */
bool attach_spec_is_tc(const struct spec *s);
/* Make the pinned links equal the spec's attach list: attach what is
 * missing, then remove what is no longer wanted. *added gets the names of
 * links this call created (to undo on failure; freed by the caller). */
int attach_reconcile(const struct chain_paths *p, int entry_fd, const struct spec *s,
		     char ***added, size_t *nadded, struct sl_errs *errs);
/* The attach points of a chain. */
int attach_list(const struct chain_paths *p, struct attach_info **out, size_t *n);
/* Detach the named attach points (names as attach_reconcile gives them). */
void attach_unpin(const struct chain_paths *p, char **names, size_t n);
/* Detach every attach point of the chain. */
int attach_detach_all(const struct chain_paths *p);
/* Point every TC attach point at entry_fd (one netlink replace each). */
int attach_repoint_tc(const struct chain_paths *p, int entry_fd);

/* One cls_bpf filter on a clsact hook, at (ifindex, ingress or egress,
 * handle, priority); sluice's chains use SL_TC_*, sluice-cni's pod
 * datapath POD_TC_* (shared/cni.h). */

/* The id of the program at the filter; 0 when there is none or it cannot
 * be read. */
uint32_t attach_tc_query(int ifindex, bool egress, uint32_t handle, uint32_t prio);
/* Put prog_fd at the filter: the clsact qdisc created if missing, the
 * filter created, or replaced in one netlink operation. owner names the
 * program that may be replaced there (-EBUSY for any other); NULL
 * replaces whatever is there. 0 or a negative errno. */
int attach_tc_replace(int ifindex, bool egress, uint32_t handle, uint32_t prio, int prog_fd,
		      const char *owner);
/* Remove the filter; one already gone (no filter, no clsact qdisc, no
 * device) is 0. Otherwise a negative errno. */
int attach_tc_delete(int ifindex, bool egress, uint32_t handle, uint32_t prio);
/* Program id is loaded and its name is name. */
bool attach_prog_named(uint32_t id, const char *name);

/* A spec's attach list as JSON (for the history) and back. */
cJSON *attach_to_json(const struct spec *s);
int attach_from_json(const cJSON *arr, struct spec_attach **out, size_t *n);

#endif
