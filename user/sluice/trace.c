// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* trace: one crafted packet through the live generation's real programs
 * (BPF_PROG_TEST_RUN on the pinned entry), printing what each stage
 * decided and why. The packet is counted in stats like real traffic.
 *
 *   sluice trace tcp 10.0.0.1:40000 192.0.2.10:80 [flags S] [vlan ID]
 *   sluice trace udp [2001:db8::1]:53 [2001:db8::2]:53
 *   sluice trace icmp 10.0.0.1 10.0.0.2 [type 8] [code 0]
 *   sluice trace 47 10.0.0.1 10.0.0.2
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cjson/cJSON.h>
#include "cli.h"
#include "history.h"
#include "names.h"
#include "pkt.h"
#include "shared/meta.h"

struct trace_pkt {
	struct pkt_spec ps;
	char saddr[INET6_ADDRSTRLEN], daddr[INET6_ADDRSTRLEN];
};

/* "1.2.3.4", "1.2.3.4:80", "2001:db8::1", "[2001:db8::1]:80" */
static int parse_endpoint(const char *arg, char *addr, uint16_t *port, int *family)
{
	const char *host = arg, *port_str = NULL, *close;
	char buf[INET6_ADDRSTRLEN], *end;
	struct in6_addr a6;
	struct in_addr a4;
	unsigned long p;
	size_t hlen;

	*port = 0;
	if (arg[0] == '[') {
		close = strchr(arg, ']');
		if (!close || (close[1] && close[1] != ':'))
			return -EINVAL;
		host = arg + 1;
		hlen = close - host;
		port_str = close[1] ? close + 2 : NULL;
	} else {
		const char *colon = strchr(arg, ':');

		/* One colon: address and port; more: a bare IPv6 address. */
		if (colon && !strchr(colon + 1, ':')) {
			hlen = colon - arg;
			port_str = colon + 1;
		} else {
			hlen = strlen(arg);
		}
	}
	if (hlen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, host, hlen);
	buf[hlen] = '\0';
	if (port_str) {
		errno = 0;
		p = strtoul(port_str, &end, 10);
		if (errno || *end || !*port_str || p > 65535)
			return -EINVAL;
		*port = (uint16_t)p;
	}
	if (inet_pton(AF_INET, buf, &a4) == 1)
		*family = 4;
	else if (inet_pton(AF_INET6, buf, &a6) == 1)
		*family = 6;
	else
		return -EINVAL;
	snprintf(addr, INET6_ADDRSTRLEN, "%s", buf);
	return 0;
}

static int parse_num(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(s, &end, 0);
	return errno || *end || !*s || *v > max ? -EINVAL : 0;
}

static int parse_flags(const char *s, uint8_t *flags)
{
	static const char letters[] = "FSRPAU"; /* FIN SYN RST PSH ACK URG */
	const char *c;

	*flags = 0;
	for (c = s; *c; c++) {
		const char *l = strchr(letters, *c);

		if (!l)
			return -EINVAL;
		*flags |= 1u << (l - letters);
	}
	return 0;
}

static int parse_packet(int argc, char **argv, struct trace_pkt *t)
{
	struct pkt_spec *ps = &t->ps;
	int fam_s, fam_d, i;
	unsigned long v;

	if (argc < 4)
		return -EINVAL;
	if (!strcmp(argv[1], "tcp"))
		ps->proto = IPPROTO_TCP;
	else if (!strcmp(argv[1], "udp"))
		ps->proto = IPPROTO_UDP;
	else if (!strcmp(argv[1], "sctp"))
		ps->proto = IPPROTO_SCTP;
	else if (!strcmp(argv[1], "icmp"))
		ps->proto = IPPROTO_ICMP;
	else if (!strcmp(argv[1], "icmpv6"))
		ps->proto = IPPROTO_ICMPV6;
	else if (!parse_num(argv[1], 255, &v))
		ps->proto = (uint8_t)v;
	else
		return -EINVAL;
	if (parse_endpoint(argv[2], t->saddr, &ps->sport, &fam_s) ||
	    parse_endpoint(argv[3], t->daddr, &ps->dport, &fam_d) || fam_s != fam_d)
		return -EINVAL;
	ps->family = fam_s;
	if (fam_s == 4) {
		ps->ip4.saddr = t->saddr;
		ps->ip4.daddr = t->daddr;
	} else {
		ps->ip6.saddr = t->saddr;
		ps->ip6.daddr = t->daddr;
	}
	if (ps->proto == IPPROTO_TCP)
		ps->tcp_flags = PKT_TCP_SYN;
	if (ps->proto == IPPROTO_ICMP)
		ps->icmp_type = 8;
	if (ps->proto == IPPROTO_ICMPV6)
		ps->icmp_type = 128;
	for (i = 4; i < argc; i += 2) {
		if (i + 1 >= argc)
			return -EINVAL;
		if (!strcmp(argv[i], "flags")) {
			if (ps->proto != IPPROTO_TCP || parse_flags(argv[i + 1], &ps->tcp_flags))
				return -EINVAL;
		} else if (!strcmp(argv[i], "type")) {
			if (parse_num(argv[i + 1], 255, &v))
				return -EINVAL;
			ps->icmp_type = (uint8_t)v;
		} else if (!strcmp(argv[i], "code")) {
			if (parse_num(argv[i + 1], 255, &v))
				return -EINVAL;
			ps->icmp_code = (uint8_t)v;
		} else if (!strcmp(argv[i], "vlan")) {
			if (parse_num(argv[i + 1], 4095, &v) || ps->nvlan >= PKT_MAX_VLAN)
				return -EINVAL;
			ps->vlan[ps->nvlan++].tci = (uint16_t)v;
		} else {
			return -EINVAL;
		}
	}
	return 0;
}

static const cJSON *live_functions(const cJSON *hist)
{
	const cJSON *doc = cJSON_GetObjectItemCaseSensitive(hist, "spec");
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(doc, "spec");

	return cJSON_GetObjectItemCaseSensitive(spec, "functions");
}

static const char *rule_id(const cJSON *fn, uint32_t rule)
{
	const cJSON *r;

	if (!rule)
		return "(default)";
	r = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(fn, "rules"), (int)rule - 1);
	r = cJSON_GetObjectItemCaseSensitive(r, "id");
	return cJSON_IsString(r) ? r->valuestring : "?";
}

int cmd_trace(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	struct trace_pkt t = {};
	uint8_t frame[PKT_MAX];
	const cJSON *fns = NULL;
	cJSON *hist = NULL;
	int ncpu, cpu, len, err, ret = SL_EXIT_RUNTIME;
	size_t vsz = (sizeof(struct sl_meta) + 7) & ~(size_t)7;
	const struct sl_meta *m;
	struct chain c;
	cpu_set_t set;
	void *vals = NULL;
	uint32_t zero = 0, i;

	if (parse_packet(argc, argv, &t)) {
		out_error("usage: sluice trace PROTO SRC[:PORT] DST[:PORT] [flags FSRPAU] "
			  "[type N] [code N] [vlan ID]; PROTO is tcp, udp, sctp, icmp, "
			  "icmpv6 or a number; IPv6 with a port as [ADDR]:PORT");
		return SL_EXIT_INVALID;
	}
	len = pkt_build(&t.ps, frame, sizeof(frame));
	if (len < 0) {
		out_error("cannot build the packet: %s", strerror(-len));
		return SL_EXIT_INVALID;
	}
	err = cli_chain_open(&c, 0);
	if (err)
		return cli_exit_for(err);
	if (!c.live) {
		out_error("chain %s has no live generation", c.name);
		ret = SL_EXIT_NOT_FOUND;
		goto out;
	}
	if (!hist_read(&c.paths, c.live, &hist))
		fns = live_functions(hist);
	/* The metadata is per CPU: run and read on the same one. */
	cpu = sched_getcpu();
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	ncpu = libbpf_num_possible_cpus();
	vals = calloc(ncpu > 0 ? ncpu : 1, vsz);
	if (!vals || sched_setaffinity(0, sizeof(set), &set)) {
		out_error("cannot pin to CPU %d: %s", cpu, strerror(errno));
		goto out;
	}
	opts.data_in = frame;
	opts.data_size_in = len;
	opts.repeat = 1;
	if (bpf_prog_test_run_opts(c.entry_fd, &opts) ||
	    bpf_map_lookup_elem(c.sh.meta_fd, &zero, vals)) {
		out_error("test run failed: %s", strerror(errno));
		goto out;
	}
	m = (const struct sl_meta *)((char *)vals + (size_t)cpu * vsz);

	out_obj_begin(NULL);
	out_str("chain", "chain %s", c.name);
	out_u64("generation", ", generation %llu", m->gen);
	out_u64("bytes", ", %llu-byte frame\n", (uint64_t)len);
	out_human("  %-5s %-16s %-9s %-28s %s\n", "STAGE", "FUNCTION", "VERDICT", "REASON", "RULE");
	out_arr_begin("stages");
	for (i = 0; i < m->nstages && i < SL_MAX_STAGES; i++) {
		const struct sl_trace_rec *tr = &m->trace[i];
		const cJSON *fn = cJSON_GetArrayItem(fns, tr->stage);
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");

		out_obj_begin(NULL);
		out_u64("stage", "  %-5llu", tr->stage);
		out_str("function", " %-16s", cJSON_IsString(name) ? name->valuestring : "?");
		out_str("verdict", " %-9s", verdict_str(tr->verdict));
		out_str("reason", " %-28s", tr->reason ? drop_reason_str(tr->reason) : "-");
		out_str("rule", " %s\n", rule_id(fn, tr->rule));
		out_obj_end();
	}
	out_arr_end();
	out_str("verdict", "result: %s", verdict_str(m->verdict));
	out_str("reason", m->reason ? " (%s)" : NULL, drop_reason_str(m->reason));
	out_str("xdp_action", ", XDP action %s\n", opts.retval == XDP_DROP ? "XDP_DROP" :
			opts.retval == XDP_PASS ? "XDP_PASS" : "other");
	out_obj_end();
	out_finish();
	ret = SL_EXIT_OK;
out:
	free(vals);
	cJSON_Delete(hist);
	chain_close(&c);
	return ret;
}
