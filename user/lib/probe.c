// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "probe.h"

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

int probe_parse(int argc, char **argv, struct probe_pkt *t)
{
	struct pkt_spec *ps = &t->ps;
	int fam_s, fam_d, i;
	unsigned long v;

	if (argc < 3)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	if (!strcmp(argv[0], "tcp"))
		ps->proto = IPPROTO_TCP;
	else if (!strcmp(argv[0], "udp"))
		ps->proto = IPPROTO_UDP;
	else if (!strcmp(argv[0], "sctp"))
		ps->proto = IPPROTO_SCTP;
	else if (!strcmp(argv[0], "icmp"))
		ps->proto = IPPROTO_ICMP;
	else if (!strcmp(argv[0], "icmpv6"))
		ps->proto = IPPROTO_ICMPV6;
	else if (!parse_num(argv[0], 255, &v))
		ps->proto = (uint8_t)v;
	else
		return -EINVAL;
	if (parse_endpoint(argv[1], t->saddr, &ps->sport, &fam_s) ||
	    parse_endpoint(argv[2], t->daddr, &ps->dport, &fam_d) || fam_s != fam_d)
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
	for (i = 3; i < argc; i += 2) {
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

int probe_parse_str(const char *text, struct probe_pkt *p)
{
	char buf[512], *argv[32], *tok, *save = NULL;
	int argc = 0;

	if (strlen(text) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, text);
	for (tok = strtok_r(buf, " \t", &save); tok && argc < 32;
	     tok = strtok_r(NULL, " \t", &save))
		argv[argc++] = tok;
	if (tok)
		return -EINVAL;
	return probe_parse(argc, argv, p);
}

int probe_run(int entry_fd, int meta_fd, const struct probe_pkt *p,
	      struct probe_result *res)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	size_t vsz = (sizeof(struct sl_meta) + 7) & ~(size_t)7;
	uint8_t frame[PKT_MAX];
	int ncpu, cpu, err = 0;
	uint32_t zero = 0;
	cpu_set_t set, old;
	void *vals;

	res->len = pkt_build(&p->ps, frame, sizeof(frame));
	if (res->len < 0)
		return res->len;
	ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return ncpu ?: -EINVAL;
	vals = calloc(ncpu, vsz);
	if (!vals)
		return -ENOMEM;
	/* The metadata is per CPU: run and read on the same one. */
	if (sched_getaffinity(0, sizeof(old), &old)) {
		err = -errno;
		goto out;
	}
	cpu = sched_getcpu();
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		err = -errno;
		goto out;
	}
	opts.data_in = frame;
	opts.data_size_in = res->len;
	opts.repeat = 1;
	if (bpf_prog_test_run_opts(entry_fd, &opts) ||
	    bpf_map_lookup_elem(meta_fd, &zero, vals))
		err = -errno;
	sched_setaffinity(0, sizeof(old), &old);
	if (err)
		goto out;
	memcpy(&res->meta, (char *)vals + (size_t)cpu * vsz, sizeof(res->meta));
	res->retval = opts.retval;
out:
	free(vals);
	return err;
}
