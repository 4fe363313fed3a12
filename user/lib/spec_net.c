// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Address prefixes, port ranges and IP protocols as the spec writes them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "spec_int.h"

const struct enum_ent spec_proto_names[] = {
	{ "icmp", IPPROTO_ICMP },	/* 1 */
	{ "igmp", 2 },
	{ "ipip", IPPROTO_IPIP },	/* 4: IPv4 in IPv4 */
	{ "tcp", IPPROTO_TCP },		/* 6 */
	{ "udp", IPPROTO_UDP },		/* 17 */
	{ "ipv6", IPPROTO_IPV6 },	/* 41: IPv6 in IP (6in4) */
	{ "gre", IPPROTO_GRE },		/* 47 */
	{ "esp", IPPROTO_ESP },		/* 50 */
	{ "ah", IPPROTO_AH },		/* 51 */
	{ "icmpv6", IPPROTO_ICMPV6 },	/* 58 */
	{ "ipv6-icmp", IPPROTO_ICMPV6 },/* 58, the IANA / /etc/protocols name */
	{ "ospf", 89 },
	{ "pim", IPPROTO_PIM },		/* 103 */
	{ "vrrp", 112 },
	{ "l2tp", 115 },
	{ "sctp", IPPROTO_SCTP },	/* 132 */
	{ "udplite", IPPROTO_UDPLITE },	/* 136 */
	{ NULL, 0 },
};

/* Decimal without sign, spaces or leading zeros; *end past the digits. */
static int parse_dec(const char *s, unsigned long max, unsigned long *out,
		     const char **end)
{
	unsigned long v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	if (*p == '0' && p[1] >= '0' && p[1] <= '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > max) {
			/* keep scanning so the caller sees the number's end */
			while (p[1] >= '0' && p[1] <= '9')
				p++;
			*end = p + 1;
			*out = max + 1;
			return -ERANGE;
		}
	}
	*out = v;
	*end = p;
	return 0;
}

static void mask_addr(struct spec_prefix *p, uint32_t out[4])
{
	unsigned words = p->family == 4 ? 1 : 4, i;
	unsigned bits = p->plen;

	for (i = 0; i < 4; i++)
		out[i] = 0;
	for (i = 0; i < words; i++) {
		uint32_t m;

		if (bits >= 32)
			m = 0xffffffffu;
		else if (bits == 0)
			m = 0;
		else
			m = 0xffffffffu << (32 - bits);
		out[i] = p->addr[i] & htonl(m);
		bits = bits >= 32 ? bits - 32 : 0;
	}
}

int spec_prefix_parse(const char *s, struct spec_prefix *p, char *why, size_t whylen)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/'), *end;
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long plen = 0, max;
	uint32_t masked[4];
	int err;

	memset(p, 0, sizeof(*p));
	if (!alen || alen >= sizeof(addr)) {
		snprintf(why, whylen, alen ? "address too long" : "no address");
		return -EINVAL;
	}
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, p->addr) == 1) {
		p->family = 4;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, p->addr) == 1) {
		p->family = 6;
		max = 128;
	} else {
		snprintf(why, whylen, "not an IPv4 or IPv6 address");
		return -EINVAL;
	}
	if (!slash) {
		p->plen = (uint8_t)max;
		return 0;
	}
	err = parse_dec(slash + 1, 255, &plen, &end);
	if (err == -EINVAL || (!err && *end)) {
		snprintf(why, whylen, "length must be a decimal number 0-%lu", max);
		return -EINVAL;
	}
	if (err || plen > max) {
		if (err)
			snprintf(why, whylen, "length > %lu", max);
		else
			snprintf(why, whylen, "length %lu > %lu", plen, max);
		return -EINVAL;
	}
	p->plen = (uint8_t)plen;
	mask_addr(p, masked);
	if (memcmp(masked, p->addr, sizeof(masked))) {
		memcpy(p->addr, masked, sizeof(masked));
		snprintf(why, whylen, "host bits set");
		return -ERANGE;
	}
	return 0;
}

char *spec_prefix_str(const struct spec_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s/%u", a, p->plen);
	return buf;
}

int spec_port_range_parse(const char *s, struct spec_port_range *r, char *why,
			  size_t whylen)
{
	unsigned long lo, hi;
	const char *end;
	int err;

	err = parse_dec(s, 65535, &lo, &end);
	if (err == -EINVAL)
		goto syntax;
	if (err) {
		snprintf(why, whylen, "port > 65535");
		return -ERANGE;
	}
	if (!*end) {
		r->lo = r->hi = (uint16_t)lo;
		return 0;
	}
	if (*end != '-')
		goto syntax;
	err = parse_dec(end + 1, 65535, &hi, &end);
	if (err == -EINVAL || (!err && *end))
		goto syntax;
	if (err) {
		snprintf(why, whylen, "port > 65535");
		return -ERANGE;
	}
	if (*end)
		goto syntax;
	if (lo > hi) {
		snprintf(why, whylen, "range start %lu > end %lu", lo, hi);
		return -ERANGE;
	}
	r->lo = (uint16_t)lo;
	r->hi = (uint16_t)hi;
	return 0;
syntax:
	snprintf(why, whylen, "expected \"N\" or \"N-M\" with decimal ports 0-65535");
	return -EINVAL;
}

int spec_proto_parse(const char *s)
{
	unsigned long v;
	const char *end;
	size_t i;

	for (i = 0; spec_proto_names[i].name; i++)
		if (!strcmp(s, spec_proto_names[i].name))
			return spec_proto_names[i].val;
	if (parse_dec(s, 255, &v, &end) == 0 && !*end)
		return (int)v;
	return -EINVAL;
}

const char *spec_proto_str(int proto)
{
	size_t i;

	for (i = 0; spec_proto_names[i].name; i++)
		if (spec_proto_names[i].val == proto)
			return spec_proto_names[i].name;
	return NULL;
}
