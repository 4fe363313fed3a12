// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The packet builder (API and conventions in pkt.h). */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include "pkt.h"

#define ETH_TYPE_IPV4 0x0800
#define ETH_TYPE_IPV6 0x86dd
#define ETH_TYPE_ARP 0x0806
#define ETH_TYPE_VLAN 0x8100

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = v >> 8;
	b[1] = v;
}

static void put32(uint8_t *b, uint32_t v)
{
	put16(b, v >> 16);
	put16(b + 2, v);
}

static uint16_t get16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

/* Reserves n zeroed bytes at the end; NULL (and a sticky error) if full. */
static uint8_t *pkt_put(struct pkt *p, size_t n)
{
	uint8_t *h;

	if (p->err)
		return NULL;
	if (p->finished) {
		p->err = -EINVAL;
		return NULL;
	}
	if (n > p->cap - p->len) {
		p->err = -ENOSPC;
		return NULL;
	}
	h = p->buf + p->len;
	memset(h, 0, n);
	p->len += n;
	return h;
}

static int fail(struct pkt *p, int err)
{
	if (!p->err)
		p->err = err;
	return p->err;
}

void pkt_init(struct pkt *p, void *buf, size_t cap)
{
	memset(p, 0, sizeof(*p));
	p->buf = buf;
	p->cap = cap;
	p->type_slot = p->proto_slot = -1;
	p->l3_off = p->l4_off = p->udp_len_off = -1;
}

static void fill_type(struct pkt *p, uint16_t type)
{
	if (p->type_slot >= 0)
		put16(p->buf + p->type_slot, type);
	p->type_slot = -1;
}

static void fill_proto(struct pkt *p, uint8_t proto)
{
	if (p->proto_slot >= 0)
		p->buf[p->proto_slot] = proto;
	p->proto_slot = -1;
}

int pkt_eth(struct pkt *p, const struct pkt_eth *e)
{
	static const uint8_t zero[6];
	uint8_t *h = pkt_put(p, PKT_ETH_HLEN);

	if (!h)
		return p->err;
	if (e && memcmp(e->dst, zero, 6))
		memcpy(h, e->dst, 6);
	else
		memcpy(h, (uint8_t[6]){ 2, 0, 0, 0, 0, 2 }, 6);
	if (e && memcmp(e->src, zero, 6))
		memcpy(h + 6, e->src, 6);
	else
		memcpy(h + 6, (uint8_t[6]){ 2, 0, 0, 0, 0, 1 }, 6);
	put16(h + 12, 0xffff);
	p->type_slot = 12;
	return 0;
}

int pkt_vlan(struct pkt *p, uint16_t tpid, uint16_t tci)
{
	uint8_t *h = pkt_put(p, PKT_VLAN_HLEN);

	if (!h)
		return p->err;
	fill_type(p, tpid);
	put16(h, tci);
	put16(h + 2, 0xffff);
	p->type_slot = (int)(h + 2 - p->buf);
	return 0;
}

int pkt_ethertype(struct pkt *p, uint16_t type)
{
	if (p->err)
		return p->err;
	fill_type(p, type);
	return 0;
}

static int parse_addr(int af, const char *s, const char *def, void *out)
{
	return inet_pton(af, s ? s : def, out) == 1 ? 0 : -EINVAL;
}

int pkt_ipv4(struct pkt *p, const struct pkt_ipv4 *o)
{
	static const struct pkt_ipv4 def;
	size_t optlen, hlen;
	uint8_t *h;

	if (!o)
		o = &def;
	if (p->l3_off >= 0 || o->opts_len > 40)
		return fail(p, -EINVAL);
	optlen = (o->opts_len + 3) & ~(size_t)3;
	hlen = PKT_IPV4_HLEN + optlen;
	h = pkt_put(p, hlen);
	if (!h)
		return p->err;
	fill_type(p, ETH_TYPE_IPV4);
	h[0] = (uint8_t)((o->version ? o->version : 4) << 4 |
			 (o->ihl ? o->ihl & 0x0f : hlen / 4));
	h[1] = o->tos;
	put16(h + 4, o->id);
	put16(h + 6, o->frag);
	h[8] = o->ttl ? o->ttl : 64;
	h[9] = o->proto ? o->proto : 255;
	if (parse_addr(AF_INET, o->saddr, PKT_DEF_SADDR4, h + 12) ||
	    parse_addr(AF_INET, o->daddr, PKT_DEF_DADDR4, h + 16))
		return fail(p, -EINVAL);
	if (o->opts_len)
		memcpy(h + PKT_IPV4_HLEN, o->opts, o->opts_len);
	p->family = 4;
	p->l3_off = (int)(h - p->buf);
	p->l3_hlen = (int)hlen;
	p->len_override = o->tot_len;
	p->proto_slot = o->proto ? -1 : p->l3_off + 9;
	p->l4proto = h[9];
	return 0;
}

int pkt_ipv6(struct pkt *p, const struct pkt_ipv6 *o)
{
	static const struct pkt_ipv6 def;
	uint8_t *h;

	if (!o)
		o = &def;
	if (p->l3_off >= 0)
		return fail(p, -EINVAL);
	h = pkt_put(p, PKT_IPV6_HLEN);
	if (!h)
		return p->err;
	fill_type(p, ETH_TYPE_IPV6);
	put32(h, (uint32_t)(o->version ? o->version : 6) << 28 |
		 (uint32_t)o->tclass << 20 | (o->flow & 0xfffff));
	h[6] = o->proto ? o->proto : 59;
	h[7] = o->hop_limit ? o->hop_limit : 64;
	if (parse_addr(AF_INET6, o->saddr, PKT_DEF_SADDR6, h + 8) ||
	    parse_addr(AF_INET6, o->daddr, PKT_DEF_DADDR6, h + 24))
		return fail(p, -EINVAL);
	p->family = 6;
	p->l3_off = (int)(h - p->buf);
	p->l3_hlen = PKT_IPV6_HLEN;
	p->len_override = o->payload_len;
	p->proto_slot = o->proto ? -1 : p->l3_off + 6;
	p->l4proto = h[6];
	return 0;
}

/* A new header of len bytes whose first byte is its next header. */
static uint8_t *ext_put(struct pkt *p, uint8_t type, size_t len)
{
	uint8_t *h;

	if (p->family != 6) {
		fail(p, -EINVAL);
		return NULL;
	}
	h = pkt_put(p, len);
	if (!h)
		return NULL;
	fill_proto(p, type);
	h[0] = 59;
	p->proto_slot = (int)(h - p->buf);
	p->l4proto = 59;
	return h;
}

int pkt_ipv6_ext(struct pkt *p, uint8_t type, size_t len)
{
	size_t unit = type == 51 ? 4 : 8;
	uint8_t *h;

	if (len < 8 || len % unit || len > (type == 51 ? 257 * 4 : 256 * 8))
		return fail(p, -EINVAL);
	h = ext_put(p, type, len);
	if (!h)
		return p->err;
	h[1] = (uint8_t)(type == 51 ? len / 4 - 2 : len / 8 - 1);
	if (type == 0 || type == 60) {
		/* PadN options (Pad1 for a last single byte) covering the
		 * rest: a valid header. */
		size_t off = 2, n;

		while (off < len) {
			if (len - off == 1)
				break; /* Pad1 is a zero byte */
			n = len - off - 2;
			if (n > 255)
				n = 255;
			h[off] = 1;
			h[off + 1] = (uint8_t)n;
			off += n + 2;
		}
	}
	return 0;
}

int pkt_ipv6_frag(struct pkt *p, uint16_t offset, bool more, uint32_t id)
{
	uint8_t *h;

	if (offset > 0x1fff)
		return fail(p, -EINVAL);
	h = ext_put(p, 44, 8);
	if (!h)
		return p->err;
	put16(h + 2, (uint16_t)(offset << 3 | (more ? 1 : 0)));
	put32(h + 4, id);
	return 0;
}

static uint8_t *l4_put(struct pkt *p, uint8_t proto, size_t hlen)
{
	uint8_t *h;

	if (p->l3_off < 0 || p->l4_off >= 0) {
		fail(p, -EINVAL);
		return NULL;
	}
	h = pkt_put(p, hlen);
	if (!h)
		return NULL;
	fill_proto(p, proto);
	p->l4_off = (int)(h - p->buf);
	p->l4proto = proto;
	return h;
}

int pkt_tcp(struct pkt *p, uint16_t sport, uint16_t dport, uint8_t flags)
{
	uint8_t *h = l4_put(p, IPPROTO_TCP, 20);

	if (!h)
		return p->err;
	put16(h, sport);
	put16(h + 2, dport);
	put32(h + 4, 1);		     /* seq */
	put32(h + 8, flags & PKT_TCP_ACK ? 1 : 0);
	h[12] = 5 << 4;			     /* data offset */
	h[13] = flags;
	put16(h + 14, 65535);		     /* window */
	return 0;
}

int pkt_udp(struct pkt *p, uint16_t sport, uint16_t dport)
{
	uint8_t *h = l4_put(p, IPPROTO_UDP, 8);

	if (!h)
		return p->err;
	put16(h, sport);
	put16(h + 2, dport);
	p->udp_len_off = p->l4_off + 4;
	return 0;
}

int pkt_sctp(struct pkt *p, uint16_t sport, uint16_t dport, uint32_t vtag)
{
	uint8_t *h = l4_put(p, IPPROTO_SCTP, 12);

	if (!h)
		return p->err;
	put16(h, sport);
	put16(h + 2, dport);
	put32(h + 4, vtag);
	return 0;
}

int pkt_icmp(struct pkt *p, uint8_t type, uint8_t code)
{
	uint8_t *h = l4_put(p, IPPROTO_ICMP, 8);

	if (!h)
		return p->err;
	h[0] = type;
	h[1] = code;
	return 0;
}

int pkt_icmp6(struct pkt *p, uint8_t type, uint8_t code)
{
	uint8_t *h = l4_put(p, IPPROTO_ICMPV6, 8);

	if (!h)
		return p->err;
	h[0] = type;
	h[1] = code;
	return 0;
}

int pkt_proto(struct pkt *p, uint8_t proto)
{
	if (p->err)
		return p->err;
	if (p->l3_off < 0)
		return fail(p, -EINVAL);
	fill_proto(p, proto);
	p->l4proto = proto;
	return 0;
}

int pkt_bytes(struct pkt *p, const void *data, size_t len)
{
	uint8_t *h = pkt_put(p, len);
	size_t i;

	if (!h)
		return p->err;
	if (data)
		memcpy(h, data, len);
	else
		for (i = 0; i < len; i++)
			h[i] = (uint8_t)i;
	return 0;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *d, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += get16(d + i);
	if (len & 1)
		sum += (uint32_t)d[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t pkt_csum(const void *data, size_t len)
{
	return csum_fold(csum_add(0, data, len));
}

uint32_t pkt_crc32c(const void *data, size_t len)
{
	const uint8_t *d = data;
	uint32_t crc = 0xffffffff;
	size_t i;
	int k;

	for (i = 0; i < len; i++) {
		crc ^= d[i];
		for (k = 0; k < 8; k++)
			crc = crc >> 1 ^ (0x82f63b78 & -(crc & 1));
	}
	return ~crc;
}

void pkt_ipv4_fix_csum(void *frame, size_t l3_off)
{
	uint8_t *h = (uint8_t *)frame + l3_off;
	size_t hlen = (h[0] & 0x0f) * 4u;

	put16(h + 10, 0);
	put16(h + 10, pkt_csum(h, hlen < PKT_IPV4_HLEN ? PKT_IPV4_HLEN : hlen));
}

static void l4_csum(struct pkt *p)
{
	uint8_t *l3 = p->buf + p->l3_off, *l4 = p->buf + p->l4_off;
	size_t len = p->len - (size_t)p->l4_off;
	uint8_t pseudo[40];
	uint32_t sum = 0, crc;
	int off;

	switch (p->l4proto) {
	case IPPROTO_TCP:
		off = 16;
		break;
	case IPPROTO_UDP:
		off = 6;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		off = 2;
		break;
	case IPPROTO_SCTP:
		put32(l4 + 8, 0);
		crc = pkt_crc32c(l4, len);
		/* CRC32c goes on the wire least significant byte first. */
		l4[8] = (uint8_t)crc;
		l4[9] = (uint8_t)(crc >> 8);
		l4[10] = (uint8_t)(crc >> 16);
		l4[11] = (uint8_t)(crc >> 24);
		return;
	default:
		return;
	}
	put16(l4 + off, 0);
	if (p->family == 4 && p->l4proto != IPPROTO_ICMP) {
		memcpy(pseudo, l3 + 12, 8);
		pseudo[8] = 0;
		pseudo[9] = p->l4proto;
		put16(pseudo + 10, (uint16_t)len);
		sum = csum_add(sum, pseudo, 12);
	} else if (p->family == 6) {
		memcpy(pseudo, l3 + 8, 32);
		put32(pseudo + 32, (uint32_t)len);
		put32(pseudo + 36, p->l4proto);
		sum = csum_add(sum, pseudo, 40);
	}
	sum = csum_fold(csum_add(sum, l4, len));
	if (p->l4proto == IPPROTO_UDP && sum == 0)
		sum = 0xffff;
	put16(l4 + off, (uint16_t)sum);
}

static uint16_t len_field(int override, size_t computed)
{
	if (override == PKT_LEN_ZERO)
		return 0;
	return override ? (uint16_t)override : (uint16_t)computed;
}

int pkt_finish(struct pkt *p)
{
	uint8_t *l3;

	if (p->err)
		return p->err;
	if (p->finished)
		return (int)p->len;
	if (p->l3_off >= 0) {
		l3 = p->buf + p->l3_off;
		if (p->udp_len_off >= 0)
			put16(p->buf + p->udp_len_off,
			      (uint16_t)(p->len - (size_t)p->l4_off));
		if (p->l4_off >= 0)
			l4_csum(p);
		if (p->family == 4) {
			put16(l3 + 2, len_field(p->len_override,
						p->len - (size_t)p->l3_off));
			put16(l3 + 10, 0);
			put16(l3 + 10, pkt_csum(l3, (size_t)p->l3_hlen));
		} else {
			put16(l3 + 4, len_field(p->len_override,
						p->len - (size_t)p->l3_off -
							PKT_IPV6_HLEN));
		}
	}
	p->finished = true;
	return (int)p->len;
}

int pkt_pad_to(struct pkt *p, size_t len)
{
	if (p->err)
		return p->err;
	if (!p->finished)
		return fail(p, -EINVAL);
	if (len <= p->len)
		return 0;
	if (len > p->cap)
		return fail(p, -ENOSPC);
	memset(p->buf + p->len, 0, len - p->len);
	p->len = len;
	return 0;
}

int pkt_build(const struct pkt_spec *s, void *buf, size_t cap)
{
	struct pkt p;
	int i;

	if (s->nvlan < 0 || s->nvlan > PKT_MAX_VLAN || s->next < 0 ||
	    s->next > PKT_MAX_EXT)
		return -EINVAL;
	pkt_init(&p, buf, cap);
	pkt_eth(&p, &s->eth);
	for (i = 0; i < s->nvlan; i++)
		pkt_vlan(&p, s->vlan[i].tpid ? s->vlan[i].tpid : ETH_TYPE_VLAN,
			 s->vlan[i].tci);
	switch (s->family) {
	case 4:
		pkt_ipv4(&p, &s->ip4);
		break;
	case 6:
		pkt_ipv6(&p, &s->ip6);
		for (i = 0; i < s->next; i++) {
			const struct pkt_ext *e = &s->ext[i];

			if (e->type == 44)
				pkt_ipv6_frag(&p, e->frag_off, e->more, e->id);
			else
				pkt_ipv6_ext(&p, e->type, e->len ? e->len : 8);
		}
		break;
	case 0:
		pkt_ethertype(&p, s->ethertype ? s->ethertype : ETH_TYPE_ARP);
		break;
	default:
		return -EINVAL;
	}
	if (s->family && s->proto) {
		if (s->no_l4) {
			pkt_proto(&p, s->proto);
		} else {
			switch (s->proto) {
			case IPPROTO_TCP:
				pkt_tcp(&p, s->sport, s->dport, s->tcp_flags);
				break;
			case IPPROTO_UDP:
				pkt_udp(&p, s->sport, s->dport);
				break;
			case IPPROTO_SCTP:
				pkt_sctp(&p, s->sport, s->dport, 1);
				break;
			case IPPROTO_ICMP:
				pkt_icmp(&p, s->icmp_type, s->icmp_code);
				break;
			case IPPROTO_ICMPV6:
				pkt_icmp6(&p, s->icmp_type, s->icmp_code);
				break;
			default:
				pkt_proto(&p, s->proto);
				break;
			}
		}
	}
	if (s->payload_len)
		pkt_bytes(&p, s->payload, s->payload_len);
	pkt_finish(&p);
	if (s->pad_to)
		pkt_pad_to(&p, s->pad_to);
	return p.err ? p.err : (int)p.len;
}
