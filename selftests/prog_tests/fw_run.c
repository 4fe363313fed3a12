// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "fw_run.h"
#include "fw_counters.h"

#define META_STRIDE ((sizeof(struct sl_meta) + 7) & ~7ul)

int fw_rig_open(struct fw_rig *r)
{
	cpu_set_t set;

	memset(r, 0, sizeof(*r));
	r->sh.meta_fd = r->sh.drops_fd = r->sh.fw_counters_fd = -1;
	r->g.chain_fd = r->g.gen_stats_fd = -1;
	r->g.gen = 1;
	r->g.nstages = 1;
	r->so.prog_fd = -1;
	r->slot0 = 1;
	r->ncpus = libbpf_num_possible_cpus();
	if (r->ncpus <= 0)
		return -EINVAL;
	r->cpu = sched_getcpu();
	if (r->cpu < 0)
		r->cpu = 0;
	CPU_ZERO(&set);
	CPU_SET(r->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return -errno;
	r->percpu = calloc((size_t)r->ncpus, META_STRIDE);
	return r->percpu ? 0 : -ENOMEM;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void fw_rig_close(struct fw_rig *r)
{
	stage_obj_destroy(&r->so);
	close_fd(&r->sh.meta_fd);
	close_fd(&r->sh.drops_fd);
	close_fd(&r->sh.fw_counters_fd);
	close_fd(&r->g.chain_fd);
	close_fd(&r->g.gen_stats_fd);
	free(r->percpu);
	r->percpu = NULL;
}

/* fw_counters is flat, a part per CPU (bpf/include/fw_counters.h): one
 * element per CPU, without mapping the whole map for every check. */
static int zero_slot(struct fw_rig *r, uint32_t slot)
{
	struct sl_counter zero = {};
	uint32_t k;
	int cpu;

	for (cpu = 0; cpu < r->ncpus; cpu++) {
		k = (uint32_t)cpu * FW_COUNTER_SLOTS + slot;
		if (bpf_map_update_elem(r->sh.fw_counters_fd, &k, &zero, 0))
			return -errno;
	}
	return 0;
}

int fw_rig_load(struct fw_rig *r, struct fw_image *img, char **log)
{
	size_t i;
	int err;

	stage_obj_destroy(&r->so);
	/* Fresh slots for every image, wrapping before the end of the map. */
	r->slot0 += (uint32_t)r->nrules + 1;
	if (r->slot0 + img->nrules + 1 >= FW_RULE_SLOTS) {
		r->slot0 = 1;
		/* An old image's pending counts would fold into the new
		 * image's slots: drop them (nothing runs the stage now). */
		err = zero_slot(r, FW_DEFER_BASE); /* the batch's header */
		if (err)
			return err;
	}
	r->nrules = img->nrules;
	for (i = 0; i < img->nrules; i++)
		img->rules[i].counter = fw_rig_rule_slot(r, i);
	err = fw_stage_load(img, fw_rig_default_slot(r), &r->sh, &r->g, 0, &r->so, log);
	if (err)
		return err;
	r->verified_insns = fw_prog_verified_insns(r->so.prog_fd);
	for (i = 0; i <= img->nrules; i++) {
		err = zero_slot(r, r->slot0 + (uint32_t)i);
		if (err)
			return err;
	}
	return 0;
}

int fw_rig_put(struct fw_rig *r, const struct fw_ref_pkt *p)
{
	struct sl_meta *m = (struct sl_meta *)((char *)r->percpu + (size_t)r->cpu * META_STRIDE);
	uint32_t zero = 0;

	memset(r->percpu, 0, (size_t)r->ncpus * META_STRIDE);
	m->pkt_len = p->len;
	m->flags = p->flags;
	m->family = p->family;
	m->l4proto = p->proto;
	m->sport = p->sport;
	m->dport = p->dport;
	m->ct_state = p->ct_state;
	m->eth_proto = p->family == 4 ? 0x0800 : p->family == 6 ? 0x86dd : 0x0806;
	memcpy(m->saddr, p->saddr, sizeof(m->saddr));
	memcpy(m->daddr, p->daddr, sizeof(m->daddr));
	return bpf_map_update_elem(r->sh.meta_fd, &zero, r->percpu, 0) ? -errno : 0;
}

int fw_rig_exec(struct fw_rig *r, uint32_t *retval, uint32_t *ns)
{
	static uint8_t frame[64]; /* the stage reads only the metadata */
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = sizeof(frame),
		    .repeat = 1);

	if (bpf_prog_test_run_opts(r->so.prog_fd, &opts))
		return -errno;
	*retval = opts.retval;
	if (ns)
		*ns = opts.duration;
	return 0;
}

int fw_rig_run(struct fw_rig *r, const struct fw_ref_pkt *p, struct sl_meta *meta,
	       uint32_t *retval)
{
	uint32_t zero = 0;
	int err;

	err = fw_rig_put(r, p);
	if (!err)
		err = fw_rig_exec(r, retval, NULL);
	if (err)
		return err;
	if (bpf_map_lookup_elem(r->sh.meta_fd, &zero, r->percpu))
		return -errno;
	*meta = *(struct sl_meta *)((char *)r->percpu + (size_t)r->cpu * META_STRIDE);
	return 0;
}

int fw_rig_counter(struct fw_rig *r, uint32_t slot, uint64_t *packets, uint64_t *bytes)
{
	struct sl_counter c;
	int err;

	*packets = *bytes = 0;
	/* through the library: the stage's pending counts included */
	err = fw_counters_get(r->sh.fw_counters_fd, slot, &c);
	if (err)
		return err;
	*packets = c.packets;
	*bytes = c.bytes;
	return 0;
}

uint64_t fw_rnd(struct fw_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void fw_prefix_mask(struct spec_prefix *p)
{
	int i, bits = p->plen;

	for (i = 0; i < 4; i++, bits -= 32) {
		uint32_t m = bits >= 32 ? ~0u : bits <= 0 ? 0 : ~0u << (32 - bits);

		p->addr[i] = htonl(ntohl(p->addr[i]) & m);
	}
}

void fw_rules_free(struct spec_firewall *fw)
{
	size_t i;

	for (i = 0; fw->rules && i < fw->nrules; i++) {
		free(fw->rules[i].src);
		free(fw->rules[i].dst);
		free(fw->rules[i].sports);
		free(fw->rules[i].dports);
	}
	free(fw->rules);
	fw->rules = NULL;
	fw->nrules = 0;
}

char *fw_json(const char *single_quoted)
{
	char *d = strdup(single_quoted), *p;

	for (p = d; p && *p; p++)
		if (*p == '\'')
			*p = '"';
	return d;
}
