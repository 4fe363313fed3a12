/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* pkt: a small packet builder, for test fixtures and `sluice trace`.
 *
 * Two levels, same result:
 *
 * 1. One call from a description (most fixtures):
 *
 *	struct pkt_spec s = {
 *		.family = 4,
 *		.ip4 = { .saddr = "192.0.2.1", .daddr = "198.51.100.7" },
 *		.proto = IPPROTO_TCP, .sport = 1234, .dport = 80,
 *		.tcp_flags = PKT_TCP_SYN,
 *	};
 *	uint8_t buf[PKT_MAX];
 *	int len = pkt_build(&s, buf, sizeof(buf));	// frame length or -errno
 *
 * 2. Composable steps, in wire order, for shapes the spec does not cover:
 *
 *	struct pkt p;
 *	pkt_init(&p, buf, sizeof(buf));
 *	pkt_eth(&p, NULL);				// default MACs
 *	pkt_vlan(&p, ETH_P_8021AD, 100);
 *	pkt_ipv6(&p, &(struct pkt_ipv6){ .daddr = "2001:db8::2" });
 *	pkt_ipv6_ext(&p, 60, 8);			// destination options
 *	pkt_ipv6_frag(&p, 0, true, 7);			// first fragment
 *	pkt_udp(&p, 53, 53);
 *	pkt_bytes(&p, "hello", 5);
 *	len = pkt_finish(&p);				// lengths + checksums
 *
 * Every header leaves its "next protocol" field pending and the next step
 * fills it: the Ethernet type is set by pkt_vlan / pkt_ipv4 / pkt_ipv6 /
 * pkt_ethertype, the IP protocol or IPv6 next header by pkt_ipv6_ext,
 * pkt_ipv6_frag, pkt_tcp, pkt_udp, pkt_sctp, pkt_icmp, pkt_icmp6. A field set
 * explicitly in the options (pkt_ipv4.proto, pkt_ipv6.proto) is kept. A slot
 * never filled keeps 0xffff (Ethernet), 255 (IPv4) or 59 (IPv6, no next
 * header).
 *
 * pkt_finish() writes what depends on what follows: IPv4 tot_len and header
 * checksum, IPv6 payload_len, UDP length, and the L4 checksum (TCP, UDP,
 * ICMPv6 with the pseudo-header, ICMP without, SCTP CRC32c) over the bytes
 * of the datagram that are in the buffer. The IPv6 pseudo-header uses the
 * fixed header's destination (routing headers are not followed). Errors are
 * sticky: a failed step (-ENOSPC, -EINVAL) makes pkt_finish() return it.
 * After pkt_finish(), pkt_pad_to() may append Ethernet padding that no
 * length field covers.
 *
 * Multi-byte arguments are in host order. One IP header per packet.
 */
#ifndef SLUICE_SELFTESTS_PKT_H
#define SLUICE_SELFTESTS_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#define PKT_MAX 4096 /* room for any fixture (BPF_PROG_TEST_RUN's XDP limit) */

#define PKT_ETH_HLEN 14
#define PKT_VLAN_HLEN 4
#define PKT_IPV4_HLEN 20
#define PKT_IPV6_HLEN 40

/* pkt_ipv4.frag: flags and offset (in 8-byte units), as in the header */
#define PKT_IP_DF 0x4000
#define PKT_IP_MF 0x2000
#define PKT_IP_OFFMASK 0x1fff

/* TCP flags */
#define PKT_TCP_FIN 0x01
#define PKT_TCP_SYN 0x02
#define PKT_TCP_RST 0x04
#define PKT_TCP_PSH 0x08
#define PKT_TCP_ACK 0x10
#define PKT_TCP_URG 0x20

/* Length overrides: 0 means "computed"; PKT_LEN_ZERO writes a literal 0. */
#define PKT_LEN_ZERO (-1)

/* Default addresses (documentation ranges). */
#define PKT_DEF_SADDR4 "192.0.2.1"
#define PKT_DEF_DADDR4 "198.51.100.1"
#define PKT_DEF_SADDR6 "2001:db8::1"
#define PKT_DEF_DADDR6 "2001:db8::2"

struct pkt_eth {
	uint8_t dst[6], src[6]; /* all zero: 02:00:00:00:00:02 / :01 */
};

struct pkt_ipv4 {
	const char *saddr, *daddr; /* NULL: PKT_DEF_*ADDR4 */
	uint8_t proto;		   /* 0: filled by the next step */
	uint8_t ttl;		   /* 0: 64 */
	uint8_t tos;
	uint16_t id;
	uint16_t frag;		   /* PKT_IP_DF | PKT_IP_MF | offset */
	const void *opts;	   /* IPv4 options, zero-padded to 4 bytes */
	size_t opts_len;	   /* <= 40 */
	/* Malformations (written as is, never "fixed" by pkt_finish): */
	uint8_t version;	   /* 0: 4 */
	uint8_t ihl;		   /* 0: from the options; else the nibble */
	int tot_len;		   /* 0: computed; PKT_LEN_ZERO; else as is */
};

struct pkt_ipv6 {
	const char *saddr, *daddr; /* NULL: PKT_DEF_*ADDR6 */
	uint8_t proto;		   /* 0: filled by the next step */
	uint8_t hop_limit;	   /* 0: 64 */
	uint8_t tclass;
	uint32_t flow;
	uint8_t version;	   /* 0: 6 */
	int payload_len;	   /* 0: computed; PKT_LEN_ZERO; else as is */
};

/* One IPv6 extension header for pkt_spec. */
struct pkt_ext {
	uint8_t type;	  /* 0, 43, 44, 51, 60, 135, 139, 140, ... */
	uint16_t len;	  /* total bytes; 0: 8. Ignored for 44 (always 8) */
	uint16_t frag_off; /* 44: offset in 8-byte units */
	bool more;	  /* 44: M flag */
	uint32_t id;	  /* 44: identification */
};

#define PKT_MAX_VLAN 4
#define PKT_MAX_EXT 12

struct pkt_spec {
	struct pkt_eth eth;
	int nvlan;
	struct {
		uint16_t tpid; /* 0: 0x8100 */
		uint16_t tci;
	} vlan[PKT_MAX_VLAN];
	int family;	     /* 4, 6, or 0: Ethernet payload only */
	uint16_t ethertype;  /* family 0: the type (0: 0x0806, ARP) */
	struct pkt_ipv4 ip4; /* family 4 */
	struct pkt_ipv6 ip6; /* family 6 */
	int next;	     /* IPv6 extension headers, in order */
	struct pkt_ext ext[PKT_MAX_EXT];
	uint8_t proto;	     /* IPPROTO_*: TCP/UDP/SCTP/ICMP/ICMPV6 get a
				header; others only set the protocol */
	bool no_l4;	     /* set the protocol, build no L4 header (a
				non-first fragment's payload) */
	uint16_t sport, dport;
	uint8_t tcp_flags;
	uint8_t icmp_type, icmp_code;
	const void *payload; /* NULL with payload_len: bytes 0, 1, 2, ... */
	size_t payload_len;
	size_t pad_to;	     /* pad the frame with zeros to this length */
};

/* The builder state; fields are read-only for users except buf/len. */
struct pkt {
	uint8_t *buf;
	size_t cap;
	size_t len;
	int err;
	int type_slot;	/* offset of the pending Ethernet type, -1 */
	int proto_slot; /* offset of the pending IP protocol, -1 */
	int family;
	int l3_off;	/* -1 until an IP header */
	int l3_hlen;	/* IPv4 header bytes written */
	int l4_off;	/* -1 until an L4 header */
	uint8_t l4proto;
	int len_override; /* struct pkt_ipv4.tot_len / pkt_ipv6.payload_len */
	int udp_len_off;  /* -1 */
	bool finished;
};

void pkt_init(struct pkt *p, void *buf, size_t cap);
int pkt_eth(struct pkt *p, const struct pkt_eth *e); /* e may be NULL */
int pkt_vlan(struct pkt *p, uint16_t tpid, uint16_t tci);
int pkt_ethertype(struct pkt *p, uint16_t type);
int pkt_ipv4(struct pkt *p, const struct pkt_ipv4 *o); /* o may be NULL */
int pkt_ipv6(struct pkt *p, const struct pkt_ipv6 *o); /* o may be NULL */
/* A generic extension header of len bytes (multiple of 8, AH: of 4, >= 8)
 * with its length field in the type's unit; options are PadN. */
int pkt_ipv6_ext(struct pkt *p, uint8_t type, size_t len);
int pkt_ipv6_frag(struct pkt *p, uint16_t offset, bool more, uint32_t id);
int pkt_tcp(struct pkt *p, uint16_t sport, uint16_t dport, uint8_t flags);
int pkt_udp(struct pkt *p, uint16_t sport, uint16_t dport);
int pkt_sctp(struct pkt *p, uint16_t sport, uint16_t dport, uint32_t vtag);
int pkt_icmp(struct pkt *p, uint8_t type, uint8_t code);
int pkt_icmp6(struct pkt *p, uint8_t type, uint8_t code);
/* Sets the pending IP protocol without writing a header. */
int pkt_proto(struct pkt *p, uint8_t proto);
/* Appends len bytes of data; data NULL: bytes 0, 1, 2, ... */
int pkt_bytes(struct pkt *p, const void *data, size_t len);
/* Lengths and checksums; returns the frame length or -errno. */
int pkt_finish(struct pkt *p);
/* After pkt_finish: zero-pad the frame to len bytes (no-op if longer). */
int pkt_pad_to(struct pkt *p, size_t len);

/* Everything from a description; returns the frame length or -errno. */
int pkt_build(const struct pkt_spec *s, void *buf, size_t cap);

/* Checksum helpers, exposed for tests that rewrite packets. */
uint16_t pkt_csum(const void *data, size_t len); /* ones' complement, folded
						    and inverted */
uint32_t pkt_crc32c(const void *data, size_t len);
/* Recompute the IPv4 header checksum of the header at l3_off. */
void pkt_ipv4_fix_csum(void *frame, size_t l3_off);

#endif
