/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The nat function (docs/nat.md): its compile (spec_nat.c) and its stage
 * loader. */
#ifndef SLUICE_NF_NAT_H
#define SLUICE_NF_NAT_H

#include <stddef.h>
#include <stdint.h>
#include "spec.h"
#include "stage.h"
#include "shared/nat.h"

#define NAT_FLOWS_PIN "nat_flows"
#define NAT_REV_PIN "nat_rev"

struct nat_image {
	struct nat_config cfg;
	struct nat_src_key *src;	/* nat_src */
	size_t nsrc;
	uint32_t flow_table_size;
};

int nat_compile(const struct spec_nat *n, const char *path, struct nat_image *img,
		struct sl_errs *errs);
void nat_image_free(struct nat_image *img);
int nat_stage_load(struct nat_image *img, struct stage_shared *sh, struct stage_gen *g,
		   uint32_t idx, struct stage_obj *out, char **log);

#endif
