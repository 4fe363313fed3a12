// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The firewall stage loader: skeleton, .rodata config, map sizes, load,
 * then the map images (mmap for the big arrays, batch updates for the
 * rest) and bpf_map_freeze on every config map. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "nf_fw.h"
#include "fw.skel.h"

#define FW_LOG_SIZE (4u << 20)	/* verifier log buffer, used on failure */
#define FW_LOG_TAIL 8192	/* bytes of it handed to the caller */

static void fw_skel_destroy(void *skel)
{
	fw__destroy(skel);
}

static size_t at_least_1(size_t n)
{
	return n ? n : 1;
}

/* Map sizes from the image; empty tables still get one entry. */
static int set_sizes(struct fw *skel, const struct fw_image *img)
{
	struct {
		struct bpf_map *map;
		size_t n;
	} v[] = {
		{ skel->maps.fw_lpm4, img->nlpm4 / FW_LPM4_CHUNK_SIZE },
		{ skel->maps.fw_lpm6, img->nlpm6 },
		{ skel->maps.fw_lpm6_lens, FW_LPM6_LENS_ENTRIES },
		{ skel->maps.fw_port_cls, img->port_cls ? FW_PORT_SPACE / FW_LPM4_CHUNK_SIZE : 0 },
		{ skel->maps.fw_bkt4, img->nbkt4 },
		{ skel->maps.fw_bkt6, img->nbkt6 },
		{ skel->maps.fw_cand4, img->ncand4 },
		{ skel->maps.fw_cand6, img->ncand6 },
		{ skel->maps.fw_atoms4, img->natoms4 },
		{ skel->maps.fw_atoms6, img->natoms6 },
		{ skel->maps.fw_rules, img->nrules },
		{ skel->maps.fw_rule_ids, img->nrules },
	};
	size_t i;
	int err;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		if (v[i].n > UINT32_MAX)
			return -E2BIG;
		err = bpf_map__set_max_entries(v[i].map, (uint32_t)at_least_1(v[i].n));
		if (err)
			return err;
	}
	return 0;
}

/* A big ARRAY through a shared mapping: one memcpy instead of a syscall
 * copy per element. Unmapped before the freeze (a writable mapping would
 * make bpf_map_freeze fail with EBUSY). The value size must be a multiple
 * of 8: the kernel pads ARRAY values to 8 bytes, in the mapping too. */
static int fill_mmap(struct bpf_map *map, const void *data, size_t bytes)
{
	size_t len = (size_t)bpf_map__max_entries(map) * bpf_map__value_size(map);
	long page = sysconf(_SC_PAGESIZE);
	void *m;

	if (!bytes)
		return 0;
	if (bpf_map__value_size(map) % 8 || bytes > len)
		return -EINVAL;
	len = (len + (size_t)page - 1) & ~((size_t)page - 1);
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(map), 0);
	if (m == MAP_FAILED)
		return -errno;
	memcpy(m, data, bytes);
	munmap(m, len);
	return 0;
}

/* An ARRAY from index 0, in one BPF_MAP_UPDATE_BATCH. */
static int fill_array(struct bpf_map *map, const void *vals, size_t n, uint32_t *keys)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t count = (uint32_t)n;
	size_t i;

	if (!n)
		return 0;
	for (i = 0; i < n; i++)
		keys[i] = (uint32_t)i;
	if (bpf_map_update_batch(bpf_map__fd(map), keys, vals, &count, &opts))
		return -errno;
	return count == n ? 0 : -EIO;
}

static int fill_maps(struct fw *skel, const struct fw_image *img)
{
	size_t nkeys = 1, i;
	uint32_t *keys;
	int err = 0;

	size_t ns[] = { FW_LPM6_LENS_ENTRIES, img->nbkt4, img->nbkt6, img->ncand4, img->ncand6,
			img->natoms4, img->natoms6, img->nrules };
	for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		if (ns[i] > nkeys)
			nkeys = ns[i];
	keys = malloc(nkeys * sizeof(*keys));
	if (!keys)
		return -ENOMEM;

	err = fill_mmap(skel->maps.fw_lpm4, img->lpm4, img->nlpm4 * sizeof(*img->lpm4));
	if (!err && img->port_cls)
		err = fill_mmap(skel->maps.fw_port_cls, img->port_cls,
				FW_PORT_SPACE * sizeof(*img->port_cls));
	if (!err && img->nlpm6) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		uint32_t count = (uint32_t)img->nlpm6;

		if (bpf_map_update_batch(bpf_map__fd(skel->maps.fw_lpm6), img->lpm6_keys,
					 img->lpm6_vals, &count, &opts))
			err = -errno;
		else if (count != img->nlpm6)
			err = -EIO;
	}
	if (!err)
		err = fill_array(skel->maps.fw_lpm6_lens, img->lpm6_lens, FW_LPM6_LENS_ENTRIES, keys);
	if (!err)
		err = fill_array(skel->maps.fw_bkt4, img->bkt4, img->nbkt4, keys);
	if (!err)
		err = fill_array(skel->maps.fw_bkt6, img->bkt6, img->nbkt6, keys);
	if (!err)
		err = fill_array(skel->maps.fw_cand4, img->cand4, img->ncand4, keys);
	if (!err)
		err = fill_array(skel->maps.fw_cand6, img->cand6, img->ncand6, keys);
	if (!err)
		err = fill_array(skel->maps.fw_atoms4, img->atoms4, img->natoms4, keys);
	if (!err)
		err = fill_array(skel->maps.fw_atoms6, img->atoms6, img->natoms6, keys);
	if (!err)
		err = fill_array(skel->maps.fw_rules, img->rules, img->nrules, keys);
	if (!err)
		err = fill_array(skel->maps.fw_rule_ids, img->ids, img->nrules, keys);
	free(keys);
	return err;
}

/* Keep the last FW_LOG_TAIL bytes, starting at a line. */
static char *log_tail(const char *buf)
{
	size_t len = strlen(buf);
	const char *p = buf;

	if (len > FW_LOG_TAIL) {
		p = buf + len - FW_LOG_TAIL;
		while (*p && *p != '\n')
			p++;
		if (*p)
			p++;
	}
	return strdup(p);
}

int fw_stage_load(const struct fw_image *img, uint32_t default_counter_slot,
		  struct stage_shared *sh, struct stage_gen *g, uint32_t stage_idx,
		  struct stage_obj *out, char **log)
{
	char *logbuf = NULL;
	struct fw *skel;
	size_t i;
	int err;

	if (log)
		*log = NULL;
	memset(out, 0, sizeof(*out));
	out->prog_fd = -1;

	skel = fw__open();
	if (!skel)
		return -errno ?: -ENOMEM;

	skel->rodata->sl_gen = g ? g->gen : 0;
	skel->rodata->sl_stage = stage_idx;
	skel->rodata->sl_nstages = g ? g->nstages : 1;
	skel->rodata->fw_cfg = img->cfg;
	skel->rodata->fw_cfg.default_counter = default_counter_slot;

	err = set_sizes(skel, img);
	if (!err)
		err = stage_reuse_maps(skel->obj, sh, g);
	if (err)
		goto fail;

	logbuf = log ? malloc(FW_LOG_SIZE) : NULL;
	if (logbuf) {
		logbuf[0] = '\0';
		/* libbpf asks for the log only when a load fails. */
		bpf_program__set_log_buf(skel->progs.fw_stage, logbuf, FW_LOG_SIZE);
	}
	err = fw__load(skel);
	if (err) {
		err = -errno ?: err;
		if (logbuf && logbuf[0])
			*log = log_tail(logbuf);
		goto fail;
	}
	err = stage_take_maps(skel->obj, sh, g);
	if (!err)
		err = fill_maps(skel, img);
	if (err)
		goto fail;

	{
		struct bpf_map *pin[] = {
			skel->maps.fw_lpm4,  skel->maps.fw_lpm6,   skel->maps.fw_lpm6_lens,
			skel->maps.fw_port_cls,
			skel->maps.fw_bkt4,  skel->maps.fw_bkt6,   skel->maps.fw_cand4,
			skel->maps.fw_cand6, skel->maps.fw_atoms4, skel->maps.fw_atoms6,
			skel->maps.fw_rules, skel->maps.fw_rule_ids, skel->maps.rodata,
		};

		for (i = 0; i < sizeof(pin) / sizeof(pin[0]); i++) {
			int fd = bpf_map__fd(pin[i]);

			/* .rodata is frozen by libbpf already */
			if (pin[i] != skel->maps.rodata && bpf_map_freeze(fd)) {
				err = -errno;
				goto fail;
			}
			out->pins[out->npins].name = pin[i] == skel->maps.rodata ?
							     "fw_config" : bpf_map__name(pin[i]);
			out->pins[out->npins].fd = fd;
			out->npins++;
		}
	}
	free(logbuf);
	out->prog_fd = bpf_program__fd(skel->progs.fw_stage);
	out->skel = skel;
	out->destroy = fw_skel_destroy;
	return 0;
fail:
	free(logbuf);
	fw__destroy(skel);
	memset(out, 0, sizeof(*out));
	out->prog_fd = -1;
	return err;
}

uint32_t fw_prog_verified_insns(int prog_fd)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return 0;
	return info.verified_insns;
}
