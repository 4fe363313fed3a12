// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The load balancer's and the NAT's flow tables from the CLI:
 *   sluice services gc
 *   sluice nat [list] [--all] | gc
 * gc removes expired entries (it takes the writer lock), like `sluice
 * conntrack gc`; list prints the NAT's mappings (docs/nat.md). And the
 * tables' part of `sluice stats` (flows_stats). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <cjson/cJSON.h>
#include "cli.h"
#include "nf_ct.h"
#include "nf_flow.h"
#include "nf_nat.h"

/* The flow tables of kind in `sluice stats`: entries (live) of each, and
 * the counters of lbnat_stats (docs/loadbalancer.md, docs/nat.md). */
void flows_stats(struct chain *c, enum flow_kind kind)
{
	static const char *const tname[2][2] = { { "lb_flows", "lb_rev" }, { "nat_flows", "nat_rev" } };
	uint64_t v[FLOW_STAT__MAX] = { 0 }, now = ct_now_ns(), n, live;
	int fds[3], i;
	unsigned int k;

	flow_chain_fds(c, kind, &fds[0], &fds[1], &fds[2]);
	if (!fds[0] || !fds[2] || flow_stats_read(fds[2], kind, v)) {
		out_human("  (no flow table)\n");
		return;
	}
	out_obj_begin("flow_tables");
	for (i = 0; i < 2; i++) {
		char fmt[64];

		if (!fds[i] || flow_count(fds[i], now, &n, &live))
			continue;
		out_obj_begin(tname[kind][i]);
		snprintf(fmt, sizeof(fmt), "  %s: %%llu entries", tname[kind][i]);
		out_u64("entries", fmt, n);
		out_u64("live_entries", " (%llu live)", live);
		out_u64("max_entries", " of %llu\n", ct_table_size(fds[i]));
		out_obj_end();
	}
	out_obj_end();
	out_human("  %-32s %14s\n", "COUNTER", "VALUE");
	out_obj_begin("flow_counters");
	for (k = 0; k < FLOW_STAT__MAX; k++) {
		char fmt[64];

		if (kind == FLOW_KIND_LB && k == FLOW_STAT_ADOPTED)
			continue; /* the NAT's */
		if (kind == FLOW_KIND_NAT && (k == FLOW_STAT_FIB_REDIRECT || k == FLOW_STAT_FIB_STACK))
			continue; /* the load balancer's */
		snprintf(fmt, sizeof(fmt), "  %-32s %%14llu\n", flow_stat_name(k));
		out_u64(flow_stat_name(k), fmt, v[k]);
	}
	out_obj_end();
}

void nat_stats(struct chain *c, const cJSON *fn)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");

	out_obj_begin(NULL);
	out_str("name", "function %s", cJSON_IsString(name) ? name->valuestring : "?");
	out_str("type", " (%s)\n", "nat");
	flows_stats(c, FLOW_KIND_NAT);
	out_obj_end();
}

int flows_gc_cmd(enum flow_kind kind)
{
	const char *what = kind == FLOW_KIND_NAT ? "nat" : "services";
	struct flow_gc_result res;
	struct chain c;
	int err;

	err = cli_chain_open(&c, CHAIN_LOCK);
	if (err)
		return cli_exit_for(err);
	err = flow_gc_chain(&c, kind, 0, &res);
	if (err == -ENOENT) {
		out_error("chain %s has no %s flow table", c.name,
			  kind == FLOW_KIND_NAT ? "nat" : "loadbalancer");
		chain_close(&c);
		return SL_EXIT_NOT_FOUND;
	}
	if (err) {
		out_error("%s gc: %s", what, strerror(-err));
		chain_close(&c);
		return SL_EXIT_RUNTIME;
	}
	out_obj_begin(NULL);
	out_str("table", "%s gc: ", what);
	out_u64("scanned", "%llu flows scanned", res.scanned);
	out_u64("removed", ", %llu expired removed", res.removed);
	out_u64("live", ", %llu left", res.scanned - res.removed);
	out_u64("scanned_rev", "; reverse: %llu scanned", res.scanned_rev);
	out_u64("removed_rev", ", %llu expired removed", res.removed_rev);
	out_u64("live_rev", ", %llu left\n", res.scanned_rev - res.removed_rev);
	out_obj_end();
	out_finish();
	chain_close(&c);
	return SL_EXIT_OK;
}

static void addr_str(const uint32_t *a, int family, char *buf, size_t len)
{
	if (!inet_ntop(family == 6 ? AF_INET6 : AF_INET, a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

static void ep_str(const uint32_t *a, uint16_t port, int family, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN];

	addr_str(a, family, s, sizeof(s));
	snprintf(buf, len, family == 6 ? "[%s]:%u" : "%s:%u", s, port);
}

static int nat_list(bool all)
{
	struct nat_key k, nk;
	struct nat_val v;
	struct chain c;
	bool first = true;
	uint64_t now;
	int fwd, rev, stats, err;

	err = cli_chain_open(&c, 0);
	if (err)
		return cli_exit_for(err);
	flow_chain_fds(&c, FLOW_KIND_NAT, &fwd, &rev, &stats);
	if (!fwd) {
		out_error("chain %s has no nat flow table", c.name);
		chain_close(&c);
		return SL_EXIT_NOT_FOUND;
	}
	now = ct_now_ns();
	out_human("%-5s %-46s %-46s %-46s %-16s %9s\n", "PROTO", "SRC", "DST", "TRANSLATED",
		  "STATE", "EXPIRES");
	out_arr_begin(NULL);
	while (!bpf_map_get_next_key(fwd, first ? NULL : &k, &nk)) {
		char s[64], d[64], t[64], e[32];
		int64_t left;

		first = false;
		k = nk;
		if (bpf_map_lookup_elem(fwd, &k, &v))
			continue;
		left = (int64_t)(v.expires_ns - now);
		if (left <= 0 && !all)
			continue;
		ep_str(k.saddr, k.sport, k.family, s, sizeof(s));
		ep_str(k.daddr, k.dport, k.family, d, sizeof(d));
		ep_str(v.addr, v.port, k.family, t, sizeof(t));
		snprintf(e, sizeof(e), "%llds", (long long)(left > 0 ? left / 1000000000 : 0));
		out_obj_begin(NULL);
		out_str("proto", "%-5s", k.proto == 6 ? "tcp" : k.proto == 17 ? "udp" : "icmp");
		out_str("src", " %-46s", s);
		out_str("dst", " %-46s", d);
		out_str("translated", " %-46s", t);
		out_str("state", " %-16s", flow_state_name(v.state));
		out_human(" %9s\n", left > 0 ? e : "expired");
		if (out_is_json())
			out_u64("expires_s", NULL, left > 0 ? (uint64_t)left / 1000000000 : 0);
		out_obj_end();
	}
	out_arr_end();
	out_finish();
	chain_close(&c);
	return SL_EXIT_OK;
}

int cmd_nat(int argc, char **argv)
{
	bool all = false;
	int i = 1;

	if (argc == 2 && !strcmp(argv[1], "gc"))
		return flows_gc_cmd(FLOW_KIND_NAT);
	if (i < argc && !strcmp(argv[i], "list"))
		i++;
	if (i < argc && !strcmp(argv[i], "--all")) {
		all = true;
		i++;
	}
	if (i < argc) {
		out_error("usage: sluice nat [list] [--all] | gc");
		return SL_EXIT_INVALID;
	}
	return nat_list(all);
}
