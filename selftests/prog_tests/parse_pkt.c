// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The packet builder (selftests/pkt.h) that every fixture relies on:
 * layouts, length fields, checksums (each verifies to zero with its
 * pseudo-header), extension header encodings, errors. The checksums were
 * also cross-checked once against scapy's own computation.
 */
#include <arpa/inet.h>
#include "test_progs.h"
#include "pkt.h"

static uint16_t get16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

/* Ones' complement sum of the pseudo-header and the segment, checksum
 * included: 0 when the checksum is right. */
static uint16_t verify_l4(const uint8_t *l3, int family, const uint8_t *l4,
			  size_t len, uint8_t proto)
{
	uint8_t buf[PKT_MAX + 40];
	size_t n = 0;

	if (family == 4 && proto != IPPROTO_ICMP) {
		memcpy(buf, l3 + 12, 8);
		buf[8] = 0;
		buf[9] = proto;
		buf[10] = (uint8_t)(len >> 8);
		buf[11] = (uint8_t)len;
		n = 12;
	} else if (family == 6) {
		memcpy(buf, l3 + 8, 32);
		memset(buf + 32, 0, 8);
		buf[34] = (uint8_t)(len >> 8);
		buf[35] = (uint8_t)len;
		buf[39] = proto;
		n = 40;
	}
	memcpy(buf + n, l4, len);
	return pkt_csum(buf, n + len);
}

static void check_l4(const char *name, const struct pkt_spec *s, int l4_off)
{
	uint8_t b[PKT_MAX];
	int len = pkt_build(s, b, sizeof(b));
	const uint8_t *l3 = b + 14;

	if (!ASSERT_GT(len, 0, name))
		return;
	if (s->family == 4) {
		ASSERT_EQ(pkt_csum(l3, (size_t)(l3[0] & 15) * 4), 0, "ipv4 header checksum");
		ASSERT_EQ(get16(l3 + 2), len - 14, "ipv4 tot_len");
	} else {
		ASSERT_EQ(get16(l3 + 4), len - 54, "ipv6 payload_len");
	}
	ASSERT_EQ(get16(b + l4_off), s->sport, "sport");
	ASSERT_EQ(get16(b + l4_off + 2), s->dport, "dport");
	if (s->proto == IPPROTO_UDP)
		ASSERT_EQ(get16(b + l4_off + 4), len - l4_off, "udp length");
	ASSERT_EQ(verify_l4(l3, s->family, b + l4_off, (size_t)(len - l4_off), s->proto),
		  0, name);
}

void test_parse_pkt(void)
{
	uint8_t b[PKT_MAX];
	struct pkt p;
	int len, off;

	if (test__start_subtest("checksums")) {
		check_l4("tcp4", &(struct pkt_spec){ .family = 4, .proto = IPPROTO_TCP, .sport = 1234, .dport = 80, .payload_len = 11 }, 34);
		check_l4("udp4 options", &(struct pkt_spec){ .family = 4, .ip4 = { .opts = "\x01\x01\x01", .opts_len = 3 }, .proto = IPPROTO_UDP, .sport = 53, .dport = 9, .payload_len = 13 }, 38);
		check_l4("tcp6", &(struct pkt_spec){ .family = 6, .proto = IPPROTO_TCP, .sport = 1, .dport = 2, .payload_len = 7 }, 54);
		check_l4("udp6 ext", &(struct pkt_spec){ .family = 6, .next = 2, .ext = { { .type = 0 }, { .type = 51, .len = 12 } }, .proto = IPPROTO_UDP, .sport = 7, .dport = 8, .payload_len = 5 }, 74);
		/* ICMP: type/code where the ports would be. */
		len = pkt_build(&(struct pkt_spec){ .family = 4, .proto = IPPROTO_ICMP, .icmp_type = 8, .payload_len = 9 }, b, sizeof(b));
		if (ASSERT_GT(len, 0, "icmp4")) {
			ASSERT_EQ(b[34], 8, "icmp type");
			ASSERT_EQ(verify_l4(b + 14, 4, b + 34, (size_t)(len - 34), IPPROTO_ICMP), 0, "icmp4 checksum");
		}
		len = pkt_build(&(struct pkt_spec){ .family = 6, .proto = IPPROTO_ICMPV6, .icmp_type = 128, .icmp_code = 3, .payload_len = 4 }, b, sizeof(b));
		if (ASSERT_GT(len, 0, "icmp6")) {
			ASSERT_EQ(b[55], 3, "icmp6 code");
			ASSERT_EQ(verify_l4(b + 14, 6, b + 54, (size_t)(len - 54), IPPROTO_ICMPV6), 0, "icmp6 checksum");
		}
	}
	if (test__start_subtest("sctp_crc32c")) {
		uint32_t crc;

		ASSERT_EQ(pkt_crc32c("123456789", 9), 0xe3069283u, "crc32c check value");
		len = pkt_build(&(struct pkt_spec){ .family = 4, .proto = IPPROTO_SCTP, .sport = 1, .dport = 2, .payload_len = 16 }, b, sizeof(b));
		if (ASSERT_EQ(len, 34 + 12 + 16, "sctp4 length")) {
			crc = (uint32_t)b[42] | (uint32_t)b[43] << 8 |
			      (uint32_t)b[44] << 16 | (uint32_t)b[45] << 24;
			memset(b + 42, 0, 4);
			ASSERT_EQ(crc, pkt_crc32c(b + 34, 28), "sctp checksum, little-endian on the wire");
		}
	}
	if (test__start_subtest("layout")) {
		pkt_init(&p, b, sizeof(b));
		pkt_eth(&p, NULL);
		pkt_vlan(&p, 0x88a8, 5);
		pkt_vlan(&p, 0x8100, 7);
		pkt_ipv6(&p, &(struct pkt_ipv6){ .saddr = "fd00::1" });
		pkt_ipv6_ext(&p, 0, 2048);
		pkt_ipv6_ext(&p, 51, 12);
		pkt_ipv6_frag(&p, 100, true, 0xabcd);
		pkt_proto(&p, IPPROTO_TCP);
		pkt_bytes(&p, NULL, 10);
		len = pkt_finish(&p);
		ASSERT_EQ(len, 22 + 40 + 2048 + 12 + 8 + 10, "length");
		ASSERT_EQ(get16(b + 12), 0x88a8, "outer tpid");
		ASSERT_EQ(get16(b + 14), 5, "outer tci");
		ASSERT_EQ(get16(b + 16), 0x8100, "inner tpid");
		ASSERT_EQ(get16(b + 20), 0x86dd, "ethertype");
		ASSERT_EQ(b[22 + 6], 0, "next header: hop-by-hop");
		ASSERT_EQ(b[22 + 8], 0xfd, "saddr");
		off = 62;
		ASSERT_EQ(b[off], 51, "hop-by-hop next: ah");
		ASSERT_EQ(b[off + 1], 255, "hop-by-hop hdrlen (2048/8 - 1)");
		/* The PadN options must tile the header exactly. */
		{
			int o = off + 2, end = off + 2048;

			while (o < end && b[o] == 1)
				o += 2 + b[o + 1];
			ASSERT_EQ(o, end, "padn options tile the header");
		}
		off += 2048;
		ASSERT_EQ(b[off], 44, "ah next: fragment");
		ASSERT_EQ(b[off + 1], 1, "ah hdrlen (12/4 - 2)");
		off += 12;
		ASSERT_EQ(b[off], IPPROTO_TCP, "fragment next");
		ASSERT_EQ(get16(b + off + 2), 100 << 3 | 1, "fragment offset and M");
		ASSERT_EQ(get16(b + off + 6), 0xabcd, "fragment id");
		ASSERT_EQ(get16(b + 22 + 4), 2048 + 12 + 8 + 10, "payload_len");
		ASSERT_OK(pkt_pad_to(&p, 3000), "pad");
		ASSERT_EQ(p.len, 3000, "padded");
		ASSERT_EQ(get16(b + 22 + 4), 2048 + 12 + 8 + 10, "padding not in payload_len");

		len = pkt_build(&(struct pkt_spec){ .family = 4, .ip4 = { .frag = PKT_IP_MF | 3, .id = 9, .ttl = 7 }, .proto = IPPROTO_UDP, .no_l4 = true, .payload_len = 8 }, b, sizeof(b));
		ASSERT_EQ(len, 42, "ipv4 fragment length");
		ASSERT_EQ(get16(b + 14 + 6), 0x2003, "ipv4 frag field");
		ASSERT_EQ(b[14 + 8], 7, "ttl");
		ASSERT_EQ(b[14 + 9], IPPROTO_UDP, "protocol without a header");
		ASSERT_EQ(b[34], 0, "payload pattern 0, 1, 2...");
		ASSERT_EQ(b[41], 7, "payload pattern end");
		len = pkt_build(&(struct pkt_spec){ .ethertype = 0x88cc, .payload_len = 46 }, b, sizeof(b));
		ASSERT_EQ(len, 60, "non-IP frame");
		ASSERT_EQ(get16(b + 12), 0x88cc, "ethertype");
	}
	if (test__start_subtest("errors")) {
		ASSERT_EQ(pkt_build(&(struct pkt_spec){ .family = 4, .proto = IPPROTO_TCP }, b, 40), -ENOSPC, "buffer too small");
		ASSERT_EQ(pkt_build(&(struct pkt_spec){ .family = 4, .ip4 = { .saddr = "300.1.1.1" } }, b, sizeof(b)), -EINVAL, "bad address");
		ASSERT_EQ(pkt_build(&(struct pkt_spec){ .family = 6, .next = 1, .ext = { { .type = 60, .len = 12 } } }, b, sizeof(b)), -EINVAL, "ext length not a multiple of 8");
		ASSERT_EQ(pkt_build(&(struct pkt_spec){ .family = 6, .next = 1, .ext = { { .type = 51, .len = 12 } } }, b, sizeof(b)), 66, "ah length a multiple of 4");
		ASSERT_EQ(pkt_build(&(struct pkt_spec){ .family = 5 }, b, sizeof(b)), -EINVAL, "bad family");
		pkt_init(&p, b, sizeof(b));
		pkt_eth(&p, NULL);
		ASSERT_EQ(pkt_tcp(&p, 1, 2, 0), -EINVAL, "l4 without l3");
		ASSERT_EQ(pkt_finish(&p), -EINVAL, "errors are sticky");
	}
}
