// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sluice conntrack: the chain's flow table (docs/conntrack.md).
 *
 *   sluice conntrack [list] [proto P] [addr A[/LEN]] [src A[/LEN]] [dst A[/LEN]]
 *                    [port N] [state S] [--all]
 *   sluice conntrack gc
 *
 * list shows live flows as their opener sent them (src = the opener); src
 * and dst filter on that direction, addr and port on either end. --all
 * shows entries past their expiry too (the GC has not removed them yet).
 * gc removes expired entries (it takes the writer lock).
 * And conntrack_stats() is the conntrack part of `sluice stats`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cjson/cJSON.h>
#include "cli.h"
#include "nf_ct.h"
#include "history.h"

struct ct_filter {
	int proto;		  /* -1: any */
	struct spec_prefix addr, src, dst;
	bool has_addr, has_src, has_dst;
	int port;		  /* -1: any */
	int state;		  /* enum ct_proto_state, -1: any */
	bool all;
	uint64_t now;
	uint64_t shown;
};

static bool in_prefix(const struct spec_prefix *p, uint8_t family, const uint32_t *a)
{
	int bits = p->plen, i;

	if (p->family != family)
		return false;
	for (i = 0; i < 4 && bits > 0; i++, bits -= 32) {
		uint32_t m = bits >= 32 ? ~0u : ~0u << (32 - bits);

		if ((ntohl(a[i]) & m) != (ntohl(p->addr[i]) & m))
			return false;
	}
	return true;
}

static int state_by_name(const char *s)
{
	unsigned int i;

	for (i = 1; i < CT_S__MAX; i++)
		if (!strcmp(ct_proto_state_name(i), s))
			return (int)i;
	return -1;
}

static void addr_str(uint8_t family, const uint32_t *a, uint16_t port, bool ports, char *buf,
		     size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	inet_ntop(family == 6 ? AF_INET6 : AF_INET, a, ip, sizeof(ip));
	if (!ports)
		snprintf(buf, len, "%s", ip);
	else if (family == 6)
		snprintf(buf, len, "[%s]:%u", ip, port);
	else
		snprintf(buf, len, "%s:%u", ip, port);
}

static int list_one(const struct ct_key *k, const struct ct_entry *e, void *arg)
{
	struct ct_filter *f = arg;
	int o = e->orig & 1, r = !o;
	bool ports = k->proto == IPPROTO_TCP || k->proto == IPPROTO_UDP || k->proto == IPPROTO_SCTP;
	char s[64], d[64], pname[16];
	const char *pn = spec_proto_str(k->proto);
	int64_t left = (int64_t)(e->expires_ns - f->now) / 1000000000ll;

	if (!f->all && e->expires_ns <= f->now)
		return 0;
	if (f->proto >= 0 && k->proto != f->proto)
		return 0;
	if (f->state >= 0 && e->state != f->state)
		return 0;
	if (f->has_addr && !in_prefix(&f->addr, k->family, k->addr[0]) &&
	    !in_prefix(&f->addr, k->family, k->addr[1]))
		return 0;
	if (f->has_src && !in_prefix(&f->src, k->family, k->addr[o]))
		return 0;
	if (f->has_dst && !in_prefix(&f->dst, k->family, k->addr[r]))
		return 0;
	if (f->port >= 0 && (!ports || (k->port[0] != f->port && k->port[1] != f->port)))
		return 0;
	if (!pn) {
		snprintf(pname, sizeof(pname), "%u", k->proto);
		pn = pname;
	}
	addr_str(k->family, k->addr[o], k->port[o], ports, s, sizeof(s));
	addr_str(k->family, k->addr[r], k->port[r], ports, d, sizeof(d));
	out_obj_begin(NULL);
	out_str("proto", "%-7s", pn);
	out_str("src", " %-40s", s);
	out_str("dst", " %-40s", d);
	if (k->proto == IPPROTO_ICMP || k->proto == IPPROTO_ICMPV6)
		out_u64("icmp_id", NULL, k->port[0]);
	out_str("state", " %-12s", ct_proto_state_name(e->state));
	out_bool("seen_reply", NULL, e->flags & CT_F_SEEN_REPLY);
	out_i64("expires_s", " %8lld", left);
	out_u64("orig_packets", " %10llu", e->packets[CT_DIR_ORIG]);
	out_u64("reply_packets", "/%-10llu", e->packets[CT_DIR_REPLY]);
	out_u64("orig_bytes", " %12llu", e->bytes[CT_DIR_ORIG]);
	out_u64("reply_bytes", "/%-12llu\n", e->bytes[CT_DIR_REPLY]);
	out_obj_end();
	f->shown++;
	return 0;
}

static int table_fds(struct chain *c, int *table, int *stats)
{
	int *t = ct_shared_fd(&c->sh, CT_TABLE_PIN), *s = ct_shared_fd(&c->sh, CT_STATS_PIN);

	*table = t && *t > 0 ? *t : -1;
	*stats = s && *s > 0 ? *s : -1;
	return *table < 0 ? -ENOENT : 0;
}

static int prefix_arg(const char *what, const char *s, struct spec_prefix *p)
{
	char why[96];

	if (spec_prefix_parse(s, p, why, sizeof(why)) == -EINVAL) {
		out_error("%s: %s is not an address or prefix (%s)", what, s, why);
		return -EINVAL;
	}
	return 0;
}

static int parse_filter(int argc, char **argv, struct ct_filter *f)
{
	char *end;
	long l;
	int i;

	for (i = 0; i < argc; i++) {
		const char *kw = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(kw, "--all")) {
			f->all = true;
			continue;
		}
		if (!v) {
			out_error("conntrack: %s needs a value", kw);
			return -EINVAL;
		}
		i++;
		if (!strcmp(kw, "proto")) {
			f->proto = spec_proto_parse(v);
			if (f->proto < 0) {
				out_error("conntrack: unknown protocol %s", v);
				return -EINVAL;
			}
		} else if (!strcmp(kw, "addr")) {
			if (prefix_arg(kw, v, &f->addr))
				return -EINVAL;
			f->has_addr = true;
		} else if (!strcmp(kw, "src")) {
			if (prefix_arg(kw, v, &f->src))
				return -EINVAL;
			f->has_src = true;
		} else if (!strcmp(kw, "dst")) {
			if (prefix_arg(kw, v, &f->dst))
				return -EINVAL;
			f->has_dst = true;
		} else if (!strcmp(kw, "port")) {
			l = strtol(v, &end, 10);
			if (*end || l < 0 || l > 65535) {
				out_error("conntrack: port %s is not 0-65535", v);
				return -EINVAL;
			}
			f->port = (int)l;
		} else if (!strcmp(kw, "state")) {
			f->state = state_by_name(v);
			if (f->state < 0) {
				out_error("conntrack: unknown state %s (syn_sent, syn_recv, established, fin_wait, closing, close, udp, udp_replied, icmp, other)",
					  v);
				return -EINVAL;
			}
		} else {
			out_error("conntrack: unknown keyword %s (proto, addr, src, dst, port, state, --all)",
				  kw);
			return -EINVAL;
		}
	}
	return 0;
}

static int cmd_gc(void)
{
	struct ct_gc_result res;
	struct chain c;
	int table, stats, err;

	err = cli_chain_open(&c, CHAIN_LOCK);
	if (err)
		return cli_exit_for(err);
	if (table_fds(&c, &table, &stats)) {
		out_error("chain %s has no conntrack table", c.name);
		chain_close(&c);
		return SL_EXIT_NOT_FOUND;
	}
	err = ct_gc(table, stats, 0, &res);
	if (err) {
		out_error("conntrack gc: %s", strerror(-err));
		chain_close(&c);
		return SL_EXIT_RUNTIME;
	}
	out_obj_begin(NULL);
	out_u64("scanned", "conntrack gc: %llu entries scanned", res.scanned);
	out_u64("removed", ", %llu expired removed", res.removed);
	out_u64("live", ", %llu left\n", res.live);
	out_obj_end();
	out_finish();
	chain_close(&c);
	return SL_EXIT_OK;
}

int cmd_conntrack(int argc, char **argv)
{
	struct ct_filter f = { .proto = -1, .port = -1, .state = -1 };
	struct chain c;
	int table, stats, err, a = 1;

	if (argc > 1 && !strcmp(argv[1], "gc")) {
		if (argc > 2) {
			out_error("usage: sluice conntrack gc");
			return SL_EXIT_INVALID;
		}
		return cmd_gc();
	}
	if (argc > 1 && !strcmp(argv[1], "list"))
		a = 2;
	if (parse_filter(argc - a, argv + a, &f))
		return SL_EXIT_INVALID;
	err = cli_chain_open(&c, 0);
	if (err)
		return cli_exit_for(err);
	if (table_fds(&c, &table, &stats)) {
		out_error("chain %s has no conntrack table", c.name);
		chain_close(&c);
		return SL_EXIT_NOT_FOUND;
	}
	f.now = ct_now_ns();
	out_human("%-7s %-40s %-40s %-12s %8s %21s %25s\n", "PROTO", "SRC", "DST", "STATE",
		  "EXPIRES", "PACKETS (ORIG/REPLY)", "BYTES (ORIG/REPLY)");
	out_arr_begin(NULL);
	err = ct_walk(table, list_one, &f);
	out_arr_end();
	out_finish();
	if (!out_is_json())
		printf("%llu flows\n", (unsigned long long)f.shown);
	chain_close(&c);
	if (err) {
		out_error("conntrack: reading the table: %s", strerror(-err));
		return SL_EXIT_RUNTIME;
	}
	return SL_EXIT_OK;
}

static int count_one(const struct ct_key *k, const struct ct_entry *e, void *arg)
{
	uint64_t *n = arg;

	n[0]++;
	n[1] += e->expires_ns > n[2];
	return 0;
}

/* The conntrack part of `sluice stats`, for the function fn (history spec). */
void conntrack_stats(struct chain *c, const cJSON *fn)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
	uint64_t v[CT_STAT_SLOTS] = { 0 }, n[3] = { 0, 0, ct_now_ns() };
	int table, stats;
	unsigned int i;

	out_obj_begin(NULL);
	out_str("name", "function %s", cJSON_IsString(name) ? name->valuestring : "?");
	out_str("type", " (%s)\n", "conntrack");
	if (table_fds(c, &table, &stats) || stats < 0 || ct_walk(table, count_one, n) ||
	    ct_stats_read(stats, v)) {
		out_human("  (no conntrack table)\n");
		out_obj_end();
		return;
	}
	out_u64("entries", "  table: %llu entries", n[0]);
	out_u64("live_entries", " (%llu live)", n[1]);
	out_u64("max_entries", " of %llu", ct_table_size(table));
	out_u64("evicted", ", %llu evicted by the LRU (table full)\n", ct_evicted(v, n[0]));
	out_human("  %-32s %14s\n", "COUNTER", "VALUE");
	out_obj_begin("counters");
	for (i = 0; i < CT_STAT__MAX; i++) {
		char fmt[64];

		snprintf(fmt, sizeof(fmt), "  %-32s %%14llu\n", ct_stat_name(i));
		out_u64(ct_stat_name(i), fmt, v[i]);
	}
	out_obj_end();
	out_obj_end();
}
