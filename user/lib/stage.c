// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "stage.h"

/* Names of the extra chain-level maps (struct stage_shared.extra_fd). */
const char *const stage_shared_names[STAGE_MAX_EXTRA] = {
	"ct_table", "ct_stats", /* conntrack (nf_ct.h) */
	"lb_flows", "lb_rev",	/* loadbalancer (nf_lb.h) */
	"nat_flows", "nat_rev",	/* nat (nf_nat.h) */
};

void stage_obj_destroy(struct stage_obj *so)
{
	if (so->skel && so->destroy)
		so->destroy(so->skel);
	so->skel = NULL;
	so->npins = 0;
	so->prog_fd = -1;
}

static int reuse_one(struct bpf_object *obj, const char *name, int fd)
{
	struct bpf_map *map;

	if (fd < 0)
		return 0;
	map = bpf_object__find_map_by_name(obj, name);
	if (!map)
		return 0; /* this object does not use it */
	return bpf_map__reuse_fd(map, fd);
}

int stage_reuse_maps(struct bpf_object *obj, const struct stage_shared *sh,
		     const struct stage_gen *g)
{
	int err;

	int i;

	err = reuse_one(obj, "sl_meta_scratch", sh->meta_fd);
	if (!err)
		err = reuse_one(obj, "sl_drops", sh->drops_fd);
	if (!err)
		err = reuse_one(obj, "fw_counters", sh->fw_counters_fd);
	for (i = 0; !err && i < STAGE_MAX_EXTRA && stage_shared_names[i]; i++)
		err = reuse_one(obj, stage_shared_names[i], sh->extra_fd[i] ?: -1);
	if (!err && g)
		err = reuse_one(obj, "sl_chain", g->chain_fd);
	if (!err && g)
		err = reuse_one(obj, "sl_gen_stats", g->gen_stats_fd);
	return err;
}

static int take_one(struct bpf_object *obj, const char *name, int *fd)
{
	struct bpf_map *map;
	int dup_fd;

	if (*fd >= 0)
		return 0;
	map = bpf_object__find_map_by_name(obj, name);
	if (!map)
		return 0;
	dup_fd = fcntl(bpf_map__fd(map), F_DUPFD_CLOEXEC, 3);
	if (dup_fd < 0)
		return -errno;
	*fd = dup_fd;
	return 0;
}

int stage_take_maps(struct bpf_object *obj, struct stage_shared *sh,
		    struct stage_gen *g)
{
	int err;

	int i;

	err = take_one(obj, "sl_meta_scratch", &sh->meta_fd);
	if (!err)
		err = take_one(obj, "sl_drops", &sh->drops_fd);
	if (!err)
		err = take_one(obj, "fw_counters", &sh->fw_counters_fd);
	for (i = 0; !err && i < STAGE_MAX_EXTRA && stage_shared_names[i]; i++) {
		int fd = sh->extra_fd[i] ?: -1;

		err = take_one(obj, stage_shared_names[i], &fd);
		sh->extra_fd[i] = fd < 0 ? 0 : fd;
	}
	if (!err && g)
		err = take_one(obj, "sl_chain", &g->chain_fd);
	if (!err && g)
		err = take_one(obj, "sl_gen_stats", &g->gen_stats_fd);
	return err;
}
