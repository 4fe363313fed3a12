// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The load balancer stage loader: skeleton, .rodata, map sizes, the chain's
 * flow tables and counters reused, the generation's maps filled with batch
 * updates and frozen. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "nf_lb.h"
#include "nf_ct.h"
#include "chain.h"
#include "lb.skel.h"
#include "lb_tc.skel.h"

STAGE_TWIN_CHECK(lb, lb_tc);

static void lb_skel_destroy(void *skel)
{
	lb__destroy(skel);
}

static int fill(struct bpf_map *map, const void *keys, const void *vals, size_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t count = (uint32_t)n;

	if (!n)
		return 0;
	if (bpf_map_update_batch(bpf_map__fd(map), keys, vals, &count, &opts))
		return -errno;
	return count == n ? 0 : -EIO;
}

static int fill_array(struct bpf_map *map, const void *vals, size_t n)
{
	uint32_t *keys;
	size_t i;
	int err;

	if (!n)
		return 0;
	keys = malloc(n * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		keys[i] = (uint32_t)i;
	err = fill(map, keys, vals, n);
	free(keys);
	return err;
}

int lb_stage_load(struct lb_image *img, const uint32_t *slots, struct stage_shared *sh,
		  struct stage_gen *g, uint32_t idx, struct stage_obj *out, char **log)
{
	int *flows = ct_shared_fd(sh, LB_FLOWS_PIN);
	uint32_t size = img->flow_table_size ? img->flow_table_size : LB_FLOWS_DEFAULT;
	struct lb *skel;
	size_t i;
	int err;

	if (log)
		*log = NULL;
	memset(out, 0, sizeof(*out));
	out->prog_fd = -1;
	if (!flows || !ct_shared_fd(sh, LB_REV_PIN))
		return -ENOENT;
	for (i = 0; i < img->nbackends; i++)
		img->backends[i].counter = slots ? slots[i] : 0;

	skel = g && g->tc ? (struct lb *)lb_tc__open() : lb__open();
	if (!skel)
		return -errno ?: -ENOMEM;
	STAGE_SET_RODATA(skel, g, idx);
	skel->rodata->lb_cfg = img->cfg;
	if (*flows > 0 && ct_table_size(*flows))
		size = ct_table_size(*flows); /* the chain's table stays */
	err = bpf_map__set_max_entries(skel->maps.lb_flows, size);
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.lb_rev, size);
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.lb_svc, img->nsvc ? img->nsvc : 1);
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.lb_maglev, img->nmaglev ? img->nmaglev : 1);
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.lb_backends,
					       img->nbackends ? img->nbackends : 1);
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.lb_addrs, img->naddrs ? img->naddrs : 1);
	if (!err)
		err = stage_load(skel->skeleton, skel->obj, skel->progs.lb_stage, sh, g, log);
	if (!err)
		err = fill(skel->maps.lb_svc, img->svc_keys, img->svcs, img->nsvc);
	if (!err)
		err = fill_array(skel->maps.lb_maglev, img->maglev, img->nmaglev);
	if (!err)
		err = fill_array(skel->maps.lb_backends, img->backends, img->nbackends);
	if (!err)
		err = fill(skel->maps.lb_addrs, img->addr_keys, img->addr_flags, img->naddrs);
	if (err)
		goto fail;
	{
		struct bpf_map *const pin[] = { skel->maps.lb_svc, skel->maps.lb_maglev,
						skel->maps.lb_backends, skel->maps.lb_addrs,
						skel->maps.rodata };

		err = stage_pin_config(out, pin, sizeof(pin) / sizeof(pin[0]),
				       skel->maps.rodata, "lb_config");
		if (err)
			goto fail;
	}
	out->prog_fd = bpf_program__fd(skel->progs.lb_stage);
	out->skel = skel;
	out->destroy = lb_skel_destroy;
	return 0;
fail:
	lb__destroy(skel);
	memset(out, 0, sizeof(*out));
	out->prog_fd = -1;
	return err;
}
