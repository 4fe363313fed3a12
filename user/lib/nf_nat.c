// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The NAT stage loader: skeleton, .rodata, the chain's flow tables reused,
 * nat_src filled and frozen. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "nf_nat.h"
#include "nf_ct.h"
#include "cfgmap.h"
#include "chain.h"
#include "nat.skel.h"
#include "nat_tc.skel.h"

STAGE_TWIN_CHECK(nat, nat_tc);

static void nat_skel_destroy(void *skel)
{
	nat__destroy(skel);
}

int nat_stage_load(struct nat_image *img, struct stage_shared *sh, struct stage_gen *g,
		   uint32_t idx, struct stage_obj *out, char **log)
{
	int *flows = ct_shared_fd(sh, NAT_FLOWS_PIN);
	uint32_t size = img->flow_table_size ? img->flow_table_size : NAT_FLOWS_DEFAULT, one = 1;
	struct nat *skel;
	size_t i;
	int err;

	if (log)
		*log = NULL;
	memset(out, 0, sizeof(*out));
	out->prog_fd = -1;
	if (!flows || !ct_shared_fd(sh, NAT_REV_PIN))
		return -ENOENT;
	skel = g && g->tc ? (struct nat *)nat_tc__open() : nat__open();
	if (!skel)
		return -errno ?: -ENOMEM;
	STAGE_SET_RODATA(skel, g, idx);
	skel->rodata->nat_cfg = img->cfg;
	if (*flows > 0 && ct_table_size(*flows))
		size = ct_table_size(*flows); /* the chain's tables stay */
	err = bpf_map__set_max_entries(skel->maps.nat_flows, size);
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.nat_rev, size);
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.nat_src, img->nsrc ? img->nsrc : 1);
	if (!err)
		err = stage_load(skel->skeleton, skel->obj, skel->progs.nat_stage, sh, g, log);
	for (i = 0; !err && i < img->nsrc; i++)
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.nat_src), &img->src[i], &one, BPF_ANY))
			err = -errno;
	if (!err)
		err = cfgmap_freeze(bpf_map__fd(skel->maps.nat_src));
	if (err)
		goto fail;
	out->pins[0].name = "nat_src";
	out->pins[0].fd = bpf_map__fd(skel->maps.nat_src);
	out->pins[1].name = "nat_config";
	out->pins[1].fd = bpf_map__fd(skel->maps.rodata);
	out->npins = 2;
	out->prog_fd = bpf_program__fd(skel->progs.nat_stage);
	out->skel = skel;
	out->destroy = nat_skel_destroy;
	return 0;
fail:
	nat__destroy(skel);
	memset(out, 0, sizeof(*out));
	out->prog_fd = -1;
	return err;
}
