/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Compiling a firewall function into the map images of bpf/shared/fw.h.
 * Pure userspace: no kernel access, so it is unit-tested directly and
 * against a reference model of first-match semantics. */
#ifndef SLUICE_FW_COMPILE_H
#define SLUICE_FW_COMPILE_H

#include <stdint.h>
#include <stddef.h>
#include "spec.h"
#include "shared/fw.h"

struct fw_image {
	/* values for the stage's .rodata */
	uint8_t default_action;	     /* FW_ACT_* */
	uint8_t audit;		     /* whole function in audit mode */
	uint32_t bkt4_base[3];	     /* class base per index: src, dst, port */
	uint32_t bkt6_base[3];
	uint8_t v6_lens[2][FW_LPM6_MAX_LENS]; /* sorted distinct lengths per field */
	uint8_t v6_nlens[2];
	uint8_t v4_used[2];	     /* field has prefixes: do the lookup */

	/* map images */
	uint32_t *lpm4;		     /* fw_lpm4 */
	size_t nlpm4;
	struct fw_lpm6_key *lpm6_keys; /* fw_lpm6 */
	struct fw_lpm6_val *lpm6_vals;
	size_t nlpm6;
	uint32_t *port_cls;	     /* fw_port_cls, FW_PORT_SPACE entries */
	struct fw_bucket *bkt4, *bkt6;
	size_t nbkt4, nbkt6;
	uint32_t *cand4, *cand6;
	size_t ncand4, ncand6;
	struct fw_atom4 *atoms4;
	struct fw_atom6 *atoms6;
	size_t natoms4, natoms6;
	struct fw_rule *rules;	     /* .counter left 0: the generation fills it */
	struct fw_rule_id *ids;
	size_t nrules;

	/* figures for docs and tests */
	size_t max_scan4, max_scan6; /* worst candidate scan per packet */
};

/* path is the function's JSON path ("spec.functions[1]") for errors. */
int fw_compile(const struct spec_firewall *fw, const char *path,
	       struct fw_image *img, struct sl_errs *errs);
void fw_image_free(struct fw_image *img);

#endif
