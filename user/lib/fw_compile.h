/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Compiling a firewall function into the map images of bpf/shared/fw.h.
 * Pure userspace: no kernel access, so it is unit-tested directly and
 * against a reference model of first-match semantics. docs/firewall.md
 * describes the classifier, its costs and the caps below. */
#ifndef SLUICE_FW_COMPILE_H
#define SLUICE_FW_COMPILE_H

#include <stdint.h>
#include <stddef.h>
#include "spec.h"
#include "shared/fw.h"

/* Caps, per function (docs/firewall.md, "Memory and caps"). Decimal so that
 * error messages can quote them. */
#define FW_MAX_ATOMS 1048576	     /* per family: 32 MiB (v4), 80 MiB (v6) */
#define FW_MAX_CAND_INDEX 2097152    /* atoms in one index's lists, per family
				      * (64 MiB v4, 112 MiB v6): an index over
				      * it is not built */
#define FW_LPM4_MAX_CHUNKS 262144    /* DIR-16-8-8 chunks the IPv4 prefixes
				      * would need: bounds the table's 64 B nodes
				      * and tails (+ runs) */
#define FW_LPM6_MAX_ELEMS 1048576    /* IPv6 roots, nodes and tails: 64 B
				      * each, 64 MiB */

#define FW_STR_(x) #x
#define FW_STR(x) FW_STR_(x)

/* An address table (fw_lpm4, fw_lpm6): t has n __u32 entries (a multiple
 * of 16); tails lists the elements that start an IPv4 tail group (the
 * loader stamps the counter slots of their inline atoms; none for IPv6). */
struct fw_lpm_table {
	uint32_t *t;
	size_t n;
	uint32_t *tails;
	size_t ntails;
};

struct fw_image {
	/* The stage's .rodata (default_counter is set by the loader). */
	struct fw_config cfg;

	/* map images */
	struct fw_lpm_table lpm4;    /* fw_lpm4 */
	struct fw_lpm_table lpm6;    /* fw_lpm6 */
	uint32_t *port_cls;	     /* fw_port_cls: FW_PORT_SPACE entries, or
				      * NULL when no family uses the index */
	/* Map fw_cand4 holds the atoms (the fallback list) then the index
	 * lists as copies of atoms: entry natoms4 + k is atoms4[cand4[k]].
	 * The loader expands it; bucket offsets are positions in the map. */
	struct fw_bucket *bkt4, *bkt6;
	size_t nbkt4, nbkt6;
	struct fw_atom4 *atoms4;
	struct fw_atom6 *atoms6;
	size_t natoms4, natoms6;
	uint32_t *cand4, *cand6;     /* the lists: atom indexes */
	size_t ncand4, ncand6;
	struct fw_rule *rules;	     /* .counter left 0: the generation fills
				      * it, the loader stamps it into the atoms */
	struct fw_rule_id *ids;
	size_t nrules;

	/* figures for docs, tests and `sluice status` */
	size_t max_scan4, max_scan6; /* worst candidate scan per packet */
	size_t nclasses4[3], nclasses6[3]; /* per index, 0: not indexed */
	size_t max_list4[3], max_list6[3];
	size_t lpm4_chunks;
	size_t bytes;		     /* all map images together */
};

/* path is the function's JSON path ("spec.functions[1]") for errors.
 * Returns 0, -EINVAL (errors in errs: a rule the compiler cannot take, or a
 * cap exceeded) or -ENOMEM. */
int fw_compile(const struct spec_firewall *fw, const char *path,
	       struct fw_image *img, struct sl_errs *errs);
void fw_image_free(struct fw_image *img);

#endif
