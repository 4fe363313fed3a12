// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The firewall stage loader: skeleton, .rodata config, map sizes, load,
 * then the map images (every one an ARRAY filled through a shared mapping)
 * and bpf_map_freeze on every config map. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "nf_fw.h"
#include "cfgmap.h"
#include "chain.h"
#include "fw.skel.h"
#include "fw_tc.skel.h"

STAGE_TWIN_CHECK(fw, fw_tc);
_Static_assert(sizeof(*((struct fw *)0)->rodata) == sizeof(*((struct fw_tc *)0)->rodata),
	       "fw and fw_tc .rodata differ");

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
		{ skel->maps.fw_lpm4, img->lpm4.n / FW_LPM4_ELEM_ENTRIES },
		{ skel->maps.fw_lpm6, img->lpm6.n / FW_LPM4_ELEM_ENTRIES },
		{ skel->maps.fw_port_cls, img->port_cls ? FW_PORT_SPACE / FW_LPM4_CHUNK_SIZE : 0 },
		{ skel->maps.fw_bkt4, img->nbkt4 },
		{ skel->maps.fw_bkt6, img->nbkt6 },
		{ skel->maps.fw_cand4, img->natoms4 + img->ncand4 },
		{ skel->maps.fw_cand6, img->natoms6 + img->ncand6 },
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

/* A writable mapping of a config map; unmapped before the freeze
 * (cfgmap.h: a writable mapping makes the freeze fail). */
static void *map_mmap(struct bpf_map *map, size_t *len)
{
	return cfgmap_mmap(bpf_map__fd(map), len);
}

/* A big ARRAY through a shared mapping: one memcpy instead of a syscall
 * copy per element. */
static int fill_mmap(struct bpf_map *map, const void *data, size_t n)
{
	size_t bytes = n * bpf_map__value_size(map), len;
	void *m;

	if (!n)
		return 0;
	m = map_mmap(map, &len);
	if (!m)
		return -errno;
	if (bytes > len) {
		munmap(m, len);
		return -EINVAL;
	}
	memcpy(m, data, bytes);
	munmap(m, len);
	return 0;
}

/* The counter slot of rule r (0 when r is not a rule of the image). */
static uint32_t rule_slot(const struct fw_image *img, uint32_t r)
{
	return r < img->nrules ? img->rules[r].counter : 0;
}

/* Map fw_cand: the atoms with each rule's counter slot stamped in (the
 * slots are given after compiling, by the generation), then the lists as
 * copies of them. Written once, straight into the mapping. */
#define FILL_CAND(T, m, atoms, natoms, cand, ncand, img)                       \
	do {                                                                   \
		T *m_ = (T *)(m);                                              \
		size_t i_;                                                     \
		memcpy(m_, atoms, (natoms) * sizeof(T));                       \
		for (i_ = 0; i_ < (natoms); i_++)                              \
			m_[i_].counter = rule_slot((img), m_[i_].rule);       \
		for (i_ = 0; i_ < (ncand); i_++)                               \
			m_[(natoms) + i_] = m_[(cand)[i_]];                    \
	} while (0)

static int fill_cand(struct bpf_map *map, const struct fw_image *img, int family)
{
	size_t n = family == 4 ? img->natoms4 + img->ncand4 : img->natoms6 + img->ncand6;
	size_t len;
	void *m;

	if (!n)
		return 0;
	m = map_mmap(map, &len);
	if (!m)
		return -errno;
	if (n * bpf_map__value_size(map) > len) {
		munmap(m, len);
		return -EINVAL;
	}
	if (family == 4)
		FILL_CAND(struct fw_atom4, m, img->atoms4, img->natoms4, img->cand4, img->ncand4, img);
	else
		FILL_CAND(struct fw_atom6, m, img->atoms6, img->natoms6, img->cand6, img->ncand6, img);
	munmap(m, len);
	return 0;
}

/* An address table, with the counter slots of the IPv4 tails' inline
 * atoms stamped from fw_rules (the generation assigns slots after
 * compiling). */
static int fill_lpm(struct bpf_map *map, const struct fw_image *img, int family)
{
	const struct fw_lpm_table *lt = family == 4 ? &img->lpm4 : &img->lpm6;
	size_t n = lt->n / FW_LPM4_ELEM_ENTRIES, len, i, j;
	void *m;

	if (!n)
		return 0;
	m = map_mmap(map, &len);
	if (!m)
		return -errno;
	if (n * bpf_map__value_size(map) > len || bpf_map__value_size(map) != 64) {
		munmap(m, len);
		return -EINVAL;
	}
	memcpy(m, lt->t, n * 64);
	for (i = 0; i < lt->ntails; i++) { /* IPv4 tail groups only */
		union fw_lpm4_elem *g;

		if ((size_t)lt->tails[i] + FW_LPM4_TAIL_ELEMS > n)
			continue;
		g = &((union fw_lpm4_elem *)m)[lt->tails[i]];
		for (j = 0; j < FW_LPM4_TAIL_PFX; j++) {
			struct fw_atom4 *a = &g[1 + j / 2].atom[j % 2];

			if (g->tail.inl & (1u << j))
				a->counter = rule_slot(img, a->rule);
		}
	}
	munmap(m, len);
	return 0;
}

static int fill_maps(struct fw *skel, const struct fw_image *img)
{
	int err;

	err = fill_lpm(skel->maps.fw_lpm4, img, 4);
	if (!err)
		err = fill_lpm(skel->maps.fw_lpm6, img, 6);
	if (!err && img->port_cls)
		err = fill_mmap(skel->maps.fw_port_cls, img->port_cls,
				FW_PORT_SPACE / FW_LPM4_CHUNK_SIZE);
	if (!err)
		err = fill_mmap(skel->maps.fw_bkt4, img->bkt4, img->nbkt4);
	if (!err)
		err = fill_mmap(skel->maps.fw_bkt6, img->bkt6, img->nbkt6);
	if (!err)
		err = fill_cand(skel->maps.fw_cand4, img, 4);
	if (!err)
		err = fill_cand(skel->maps.fw_cand6, img, 6);
	if (!err)
		err = fill_mmap(skel->maps.fw_rules, img->rules, img->nrules);
	if (!err)
		err = fill_mmap(skel->maps.fw_rule_ids, img->ids, img->nrules);
	return err;
}

int fw_stage_load(const struct fw_image *img, uint32_t default_counter_slot,
		  struct stage_shared *sh, struct stage_gen *g, uint32_t stage_idx,
		  struct stage_obj *out, char **log)
{
	struct fw *skel;
	int err;

	if (log)
		*log = NULL;
	memset(out, 0, sizeof(*out));
	out->prog_fd = -1;

	skel = g && g->tc ? (struct fw *)fw_tc__open() : fw__open();
	if (!skel)
		return -errno ?: -ENOMEM;

	STAGE_SET_RODATA(skel, g, stage_idx);
	skel->rodata->fw_cfg = img->cfg;
	skel->rodata->fw_cfg.default_counter = default_counter_slot;

	err = set_sizes(skel, img);
	if (!err)
		err = stage_load(skel->skeleton, skel->obj, skel->progs.fw_stage, sh, g, log);
	if (!err)
		err = fill_maps(skel, img);
	if (err)
		goto fail;

	{
		struct bpf_map *const pin[] = {
			skel->maps.fw_lpm4,  skel->maps.fw_lpm6,
			skel->maps.fw_port_cls, skel->maps.fw_bkt4, skel->maps.fw_bkt6,
			skel->maps.fw_cand4, skel->maps.fw_cand6, skel->maps.fw_rules,
			skel->maps.fw_rule_ids, skel->maps.rodata,
		};

		err = stage_pin_config(out, pin, sizeof(pin) / sizeof(pin[0]),
				       skel->maps.rodata, "fw_config");
		if (err)
			goto fail;
	}
	out->prog_fd = bpf_program__fd(skel->progs.fw_stage);
	out->skel = skel;
	out->destroy = fw_skel_destroy;
	return 0;
fail:
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
