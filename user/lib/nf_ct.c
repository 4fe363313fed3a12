// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The conntrack stage loader (the stage and its commit program) and the
 * chain-level table's tools: expiry sweep, walk, counters
 * (docs/conntrack.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "nf_ct.h"
#include "chain.h"
#include "percpu.h"
#include "ct.skel.h"
#include "ct_tc.skel.h"

STAGE_TWIN_CHECK(ct, ct_tc);
_Static_assert(sizeof(*((struct ct *)0)->rodata) == sizeof(*((struct ct_tc *)0)->rodata),
	       "ct and ct_tc .rodata differ");

static void ct_skel_destroy(void *skel)
{
	ct__destroy(skel);
}

uint32_t ct_table_size(int fd)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.max_entries;
}

int *ct_shared_fd(struct stage_shared *sh, const char *name)
{
	int i;

	for (i = 0; i < STAGE_MAX_EXTRA && stage_shared_names[i]; i++)
		if (!strcmp(stage_shared_names[i], name))
			return &sh->extra_fd[i];
	return NULL;
}

int ct_stage_load(const struct ct_image *img, struct stage_shared *sh, struct stage_gen *g,
		  uint32_t stage_idx, struct stage_obj *out, uint32_t *kept_size, char **log)
{
	int *table_fd = ct_shared_fd(sh, CT_TABLE_PIN), *stats_fd = ct_shared_fd(sh, CT_STATS_PIN);
	uint32_t size = img->table_size;
	struct ct *skel;
	int err;

	if (log)
		*log = NULL;
	if (kept_size)
		*kept_size = 0;
	memset(out, 0, sizeof(*out));
	out->prog_fd = -1;
	if (!table_fd || !stats_fd)
		return -ENOENT; /* not registered in stage_shared_names */

	skel = g && g->tc ? (struct ct *)ct_tc__open() : ct__open();
	if (!skel)
		return -errno ?: -ENOMEM;
	STAGE_SET_RODATA(skel, g, stage_idx);
	skel->rodata->ct_cfg = img->cfg;

	if (*table_fd > 0) {
		uint32_t have = ct_table_size(*table_fd);

		if (have && have != size) {
			/* The chain's table stays: its flows are the point. */
			size = have;
			if (kept_size)
				*kept_size = have;
		}
	}
	err = bpf_map__set_max_entries(skel->maps.ct_table, size);
	if (!err)
		err = stage_load(skel->skeleton, skel->obj, skel->progs.ct_stage, sh, g, log);
	if (err)
		goto fail;
	/* .rodata (frozen by libbpf) for the generation directory */
	out->pins[0].name = "ct_config";
	out->pins[0].fd = bpf_map__fd(skel->maps.rodata);
	out->npins = 1;
	out->prog_fd = bpf_program__fd(skel->progs.ct_stage);
	/* Flows are made only by packets the chain accepts: ct_commit, in
	 * the chain's slot after the last stage (bpf/ct.bpf.c). */
	out->commit_fd = bpf_program__fd(skel->progs.ct_commit);
	out->skel = skel;
	out->destroy = ct_skel_destroy;
	return 0;
fail:
	ct__destroy(skel);
	memset(out, 0, sizeof(*out));
	out->prog_fd = -1;
	return err;
}

uint64_t ct_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#define WALK_BATCH 1024

int ct_walk(int table_fd, ct_walk_fn cb, void *arg)
{
	struct ct_key *keys = calloc(WALK_BATCH, sizeof(*keys));
	struct ct_entry *vals = calloc(WALK_BATCH, sizeof(*vals));
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint64_t in = 0, outb = 0;
	bool first = true, done = false;
	uint32_t n, i;
	int err = 0, ret;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	while (!done && !err) {
		n = WALK_BATCH;
		ret = bpf_map_lookup_batch(table_fd, first ? NULL : &in, &outb, keys, vals, &n,
					   &opts);
		if (ret) {
			if (errno != ENOENT) {
				err = -errno;
				break;
			}
			done = true; /* the last batch, possibly with entries */
		}
		first = false;
		in = outb;
		for (i = 0; i < n && !err; i++)
			err = cb(&keys[i], &vals[i], arg);
	}
out:
	free(keys);
	free(vals);
	return err;
}

struct gc_ctx {
	uint64_t now;
	struct ct_key *dead;
	size_t n, cap;
	struct ct_gc_result *res;
};

static int gc_collect(const struct ct_key *k, const struct ct_entry *e, void *arg)
{
	struct gc_ctx *g = arg;
	struct ct_key *nd;

	g->res->scanned++;
	if (e->expires_ns > g->now)
		return 0;
	if (g->n == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 1024;
		nd = realloc(g->dead, g->cap * sizeof(*nd));
		if (!nd)
			return -ENOMEM;
		g->dead = nd;
	}
	g->dead[g->n++] = *k;
	return 0;
}

int ct_gc(int table_fd, int stats_fd, uint64_t now_ns, struct ct_gc_result *res)
{
	struct gc_ctx g = { .now = now_ns ? now_ns : ct_now_ns(), .res = res };
	struct ct_entry e;
	size_t i;
	int err;

	memset(res, 0, sizeof(*res));
	err = ct_walk(table_fd, gc_collect, &g);
	for (i = 0; i < g.n && !err; i++) {
		/* Re-read right before the delete: a packet may have renewed
		 * it since the walk. */
		if (bpf_map_lookup_elem(table_fd, &g.dead[i], &e) || e.expires_ns > g.now)
			continue;
		if (!bpf_map_delete_elem(table_fd, &g.dead[i]))
			res->removed++;
	}
	free(g.dead);
	res->live = res->scanned - res->removed;
	if (!err && stats_fd >= 0 && res->removed)
		/* only the sweep writes this slot, under the chain lock */
		err = percpu_add_cpu0(stats_fd, CT_STAT_GC_REMOVED, res->removed);
	return err;
}

int ct_stats_read(int stats_fd, uint64_t *out)
{
	return percpu_sum_slots(stats_fd, 0, CT_STAT_SLOTS, out);
}

const char *ct_stat_name(unsigned int slot)
{
	static const char *const names[] = {
#define X(name, str) str,
		CT_STATS(X)
#undef X
	};

	return slot < sizeof(names) / sizeof(names[0]) ? names[slot] : NULL;
}

const char *ct_state_name(unsigned int s)
{
	static const char *const names[] = { "none", "new", "established", "related", "invalid" };

	return s < SL_CT_NSTATES ? names[s] : "unknown";
}

const char *ct_proto_state_name(unsigned int s)
{
	static const char *const names[] = {
		"none", "syn_sent", "syn_recv", "established", "fin_wait", "closing",
		"close", "udp", "udp_replied", "icmp", "other",
	};

	return s < CT_S__MAX ? names[s] : "unknown";
}

uint64_t ct_evicted(const uint64_t *stats, uint64_t live)
{
	uint64_t gone = stats[CT_STAT_GC_REMOVED] + live;

	return stats[CT_STAT_CREATED] > gone ? stats[CT_STAT_CREATED] - gone : 0;
}
