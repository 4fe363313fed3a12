/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The load balancer function (docs/loadbalancer.md): its compile
 * (spec_lb.c) into the generation's maps, and its stage loader. */
#ifndef SLUICE_NF_LB_H
#define SLUICE_NF_LB_H

#include <stddef.h>
#include <stdint.h>
#include "spec.h"
#include "stage.h"
#include "shared/lb.h"

#define LB_FLOWS_PIN "lb_flows"
#define LB_REV_PIN "lb_rev"

struct lb_image {
	struct lb_config cfg;
	struct lb_svc_key *svc_keys;	/* lb_svc */
	struct lb_svc *svcs;
	size_t nsvc;
	uint32_t *maglev;		/* lb_maglev: every table, in order */
	size_t nmaglev;
	struct lb_backend *backends;	/* lb_backends: every service's, in
					 * order; .counter set by the loader */
	size_t nbackends;
	struct lb_addr_key *addr_keys;	/* lb_addrs: VIPs, dnat backends */
	uint32_t *addr_flags;		/* LB_ADDR_* */
	size_t naddrs;
	uint32_t flow_table_size;
};

int lb_compile(const struct spec_loadbalancer *lb, const char *path, struct lb_image *img,
	       struct sl_errs *errs);
void lb_image_free(struct lb_image *img);
/* Counter keys: one per backend, in lb_backends order. */
size_t lb_ncounters(const struct spec_loadbalancer *lb);
const char *lb_counter_key(const struct spec_loadbalancer *lb, size_t i);

/* Load stage idx of generation g; slots[i] is backend i's counter slot. */
int lb_stage_load(struct lb_image *img, const uint32_t *slots, struct stage_shared *sh,
		  struct stage_gen *g, uint32_t idx, struct stage_obj *out, char **log);

#endif
