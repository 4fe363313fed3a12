// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "stage.h"
#include "fw_counters.h"
#include "cfgmap.h"

/* Names of the extra chain-level maps (struct stage_shared.extra_fd). */
const char *const stage_shared_names[STAGE_MAX_EXTRA] = {
	"ct_table", "ct_stats", /* conntrack (nf_ct.h) */
	"lb_flows", "lb_rev",	/* loadbalancer (nf_lb.h) */
	"nat_flows", "nat_rev",	/* nat (nf_nat.h) */
	"lbnat_stats",		/* both: their tables' counters (nf_flow.h) */
};

void stage_obj_destroy(struct stage_obj *so)
{
	if (so->skel && so->destroy)
		so->destroy(so->skel);
	so->skel = NULL;
	so->npins = 0;
	so->prog_fd = -1;
	so->commit_fd = 0;
}

/* The first stage that uses fw_counters creates it: one flat array with a
 * part per possible CPU (bpf/include/fw_counters.h), sized here. */
static int size_counters(struct bpf_object *obj, int fd)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, "fw_counters");
	long n = fw_counters_entries();

	if (fd >= 0 || !map)
		return 0;
	return n < 0 ? (int)n : bpf_map__set_max_entries(map, (uint32_t)n);
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
	if (!err)
		err = size_counters(obj, sh->fw_counters_fd);
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

char *stage_log_begin(struct bpf_program *prog, bool want)
{
	char *buf = want ? malloc(STAGE_LOG_SIZE) : NULL;

	if (buf) {
		buf[0] = '\0';
		/* libbpf asks for the log only when a load fails. */
		bpf_program__set_log_buf(prog, buf, STAGE_LOG_SIZE);
	}
	return buf;
}

void stage_log_end(char *buf, int err, char **log)
{
	const char *p = buf;
	size_t len;

	if (err && buf && buf[0] && log) {
		len = strlen(buf);
		if (len > STAGE_LOG_TAIL) {
			p = buf + len - STAGE_LOG_TAIL;
			while (*p && *p != '\n')
				p++;
			if (*p)
				p++;
		}
		*log = strdup(p);
	}
	free(buf);
}

int stage_pin_config(struct stage_obj *out, struct bpf_map *const *maps, size_t n,
		     const struct bpf_map *rodata, const char *rodata_name)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int fd = bpf_map__fd(maps[i]);

		if (out->npins >= STAGE_MAX_PINS)
			return -E2BIG;
		/* .rodata is frozen by libbpf already */
		if (maps[i] != rodata) {
			int err = cfgmap_freeze(fd);

			if (err)
				return err;
		}
		out->pins[out->npins].name = maps[i] == rodata ? rodata_name :
						 bpf_map__name(maps[i]);
		out->pins[out->npins].fd = fd;
		out->npins++;
	}
	return 0;
}

int stage_load(struct bpf_object_skeleton *skel, struct bpf_object *obj,
	       struct bpf_program *prog, struct stage_shared *sh, struct stage_gen *g,
	       char **log)
{
	char *logbuf;
	int err;

	err = stage_reuse_maps(obj, sh, g);
	if (err)
		return err;
	logbuf = stage_log_begin(prog, log != NULL);
	err = bpf_object__load_skeleton(skel);
	if (err)
		err = -errno ?: err;
	stage_log_end(logbuf, err, log);
	return err ?: stage_take_maps(obj, sh, g);
}
