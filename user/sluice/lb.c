// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sluice services: the live generation's load balancer services, their
 * backends (weight, state), each backend's counters and its pinned flows
 * (docs/loadbalancer.md). Also the loadbalancer part of `sluice stats`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <cjson/cJSON.h>
#include "cli.h"
#include "history.h"
#include "metrics.h"
#include "nf_ct.h"
#include "nf_lb.h"
#include "nf_flow.h"
#include "shared/fw.h"

/* Pinned flows per backend address:port (a small linear table: backends
 * are few). */
struct be_flows {
	struct lb_nat *be;
	uint64_t *n;
	size_t cnt, cap;
};

static void flows_count(int fd, struct be_flows *bf)
{
	struct lb_flow_key k, nk;
	struct lb_nat v;
	bool first = true;
	uint64_t now = ct_now_ns();
	size_t i;

	while (!bpf_map_get_next_key(fd, first ? NULL : &k, &nk)) {
		first = false;
		k = nk;
		/* live flows only: a dead one is no flow (the sweep's) */
		if (bpf_map_lookup_elem(fd, &k, &v) || v.expires_ns <= now)
			continue;
		for (i = 0; i < bf->cnt; i++)
			if (!memcmp(bf->be[i].addr, v.addr, 16) && bf->be[i].port == v.port)
				break;
		if (i == bf->cnt) {
			if (bf->cnt == bf->cap) {
				size_t nc = bf->cap ? 2 * bf->cap : 64;
				struct lb_nat *nb = realloc(bf->be, nc * sizeof(*nb));
				uint64_t *nn = realloc(bf->n, nc * sizeof(*nn));

				if (nb)
					bf->be = nb;
				if (nn)
					bf->n = nn;
				if (!nb || !nn)
					return;
				bf->cap = nc;
			}
			bf->be[i] = v;
			bf->n[i] = 0;
			bf->cnt++;
		}
		bf->n[i]++;
	}
}

static uint64_t flows_of(const struct be_flows *bf, const struct spec_lb_backend *b)
{
	size_t i;

	for (i = 0; i < bf->cnt; i++)
		if (!memcmp(bf->be[i].addr, b->ip.addr, 16) && bf->be[i].port == b->port)
			return bf->n[i];
	return 0;
}

static void print_lb(const struct spec_function *fn, const cJSON *slots,
		     const struct sl_counter *all, const struct be_flows *bf, struct chain *stats)
{
	const cJSON *fs = cJSON_GetObjectItemCaseSensitive(slots, fn->name);
	char vip[SPEC_PREFIX_STRLEN], ip[SPEC_PREFIX_STRLEN], *p;
	size_t i, j;

	out_obj_begin(NULL);
	out_str("name", "function %s", fn->name);
	out_str("type", " (%s)\n", "loadbalancer");
	out_human("  %-16s %-28s %-5s %-28s %6s %-9s %12s %14s %8s\n", "SERVICE", "VIP", "PROTO",
		  "BACKEND", "WEIGHT", "STATE", "PACKETS", "BYTES", "FLOWS");
	out_arr_begin("services");
	for (i = 0; i < fn->lb.nservices; i++) {
		const struct spec_lb_service *s = &fn->lb.services[i];

		spec_prefix_str(&s->vip, vip, sizeof(vip));
		if ((p = strchr(vip, '/')))
			*p = '\0';
		out_obj_begin(NULL);
		out_str("name", NULL, s->name);
		out_str("vip", NULL, vip);
		out_u64("port", NULL, s->port);
		out_str("proto", NULL, s->proto == 6 ? "tcp" : "udp");
		out_u64("table_size", NULL, s->table_size);
		out_arr_begin("backends");
		for (j = 0; j < s->nbackends; j++) {
			const struct spec_lb_backend *b = &s->backends[j];
			const cJSON *slot = cJSON_GetObjectItemCaseSensitive(fs, b->key);
			struct sl_counter v = { 0, 0 };
			char vp[80], bp[80];

			if (all && cJSON_IsNumber(slot) && slot->valuedouble > 0 &&
			    slot->valuedouble < FW_RULE_SLOTS)
				v = all[(uint32_t)slot->valuedouble];
			spec_prefix_str(&b->ip, ip, sizeof(ip));
			if ((p = strchr(ip, '/')))
				*p = '\0';
			snprintf(vp, sizeof(vp), s->vip.family == 6 ? "[%s]:%u" : "%s:%u", vip, s->port);
			snprintf(bp, sizeof(bp), b->ip.family == 6 ? "[%s]:%u" : "%s:%u", ip, b->port);
			out_human("  %-16s %-28s %-5s", j ? "" : s->name, j ? "" : vp,
				  j ? "" : (s->proto == 6 ? "tcp" : "udp"));
			out_obj_begin(NULL);
			out_str("ip", NULL, ip);
			out_u64("port", NULL, b->port);
			out_str("backend", " %-28s", bp);
			out_u64("weight", " %6llu", b->weight);
			out_str("state", " %-9s", b->state == SPEC_LB_DRAINING ? "draining" : "active");
			out_u64("packets", " %12llu", v.packets);
			out_u64("bytes", " %14llu", v.bytes);
			out_u64("flows", " %8llu\n", flows_of(bf, b));
			out_obj_end();
		}
		out_arr_end();
		out_obj_end();
	}
	out_arr_end();
	if (stats) /* sluice stats: the flow tables too */
		flows_stats(stats, FLOW_KIND_LB);
	out_obj_end();
}

/* Every loadbalancer function of the live generation (fn_name: only that
 * one, for stats). Returns the number printed, or a negative errno. */
static int lb_print_live(struct chain *c, const char *fn_name)
{
	struct sl_errs errs = { 0 };
	struct be_flows bf = { 0 };
	struct sl_counter *all = NULL;
	struct spec *s = NULL;
	cJSON *slots = NULL;
	char *text = NULL;
	int *flows, n = 0, err;
	size_t i;

	err = hist_read_spec(&c->paths, c->live, &text);
	if (!err && spec_parse(text, strlen(text), &s, &errs))
		err = -EINVAL;
	if (!err && hist_counters(&c->paths, c->live, &slots))
		slots = NULL;
	if (err)
		goto out;
	all = c->sh.fw_counters_fd >= 0 ? metrics_fw_counters(c->sh.fw_counters_fd) : NULL;
	flows = ct_shared_fd(&c->sh, LB_FLOWS_PIN);
	if (flows && *flows > 0)
		flows_count(*flows, &bf);
	for (i = 0; i < s->nfns; i++) {
		if (s->fns[i].type != SPEC_FN_LOADBALANCER ||
		    (fn_name && strcmp(fn_name, s->fns[i].name)))
			continue;
		print_lb(&s->fns[i], slots, all, &bf, fn_name ? c : NULL);
		n++;
	}
out:
	free(bf.be);
	free(bf.n);
	free(all);
	cJSON_Delete(slots);
	spec_free(s);
	free(text);
	errs_free(&errs);
	return err ? err : n;
}

void lb_stats(struct chain *c, const cJSON *fn)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");

	if (cJSON_IsString(name))
		lb_print_live(c, name->valuestring);
}

int cmd_services(int argc, char **argv)
{
	struct chain c;
	int err, n;

	if (argc == 2 && !strcmp(argv[1], "gc"))
		return flows_gc_cmd(FLOW_KIND_LB);
	if (argc > 1) {
		out_error("usage: sluice services | sluice services gc");
		return SL_EXIT_INVALID;
	}
	err = cli_chain_open(&c, 0);
	if (err)
		return cli_exit_for(err);
	if (!c.live) {
		out_error("chain %s has no live generation", c.name);
		chain_close(&c);
		return SL_EXIT_NOT_FOUND;
	}
	out_arr_begin(NULL);
	n = lb_print_live(&c, NULL);
	out_arr_end();
	out_finish();
	chain_close(&c);
	if (n < 0) {
		out_error("services: %s", strerror(-n));
		return SL_EXIT_RUNTIME;
	}
	return SL_EXIT_OK;
}
