// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The datapath parser (bpf/include/parse/), through the real entry program:
 * crafted packets run with BPF_PROG_TEST_RUN, then this CPU's sl_meta and the
 * drop counters are checked. No generation is committed, so a packet that
 * parses drops with NO_GENERATION: that is how "parsed" is told apart from
 * a parse drop. docs/datapath.md is the policy these fixtures pin down.
 */
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include "test_progs.h"
#include "pkt.h"
#include "parse_run.h"

#ifndef IPPROTO_ICMPV6
#define IPPROTO_ICMPV6 58
#endif

#define L4 SL_F_HAS_L4
#define FRAG SL_F_FRAG
#define LATER SL_F_FRAG_LATER
#define OPTS SL_F_IPV4_OPTS
#define EXT SL_F_IPV6_EXT

#define SP 40000
#define DP 443

/* Bytes a non-first fragment carries where a naive parser looks for ports:
 * sport 22, dport 80. Never to be seen as ports. */
static const uint8_t fake_ports[24] = { 0x00, 0x16, 0x00, 0x50, 0xde, 0xad,
					0xbe, 0xef, 0x50, 0x02 };

/* Expected metadata of a packet that parses. */
struct exp {
	__u16 flags;
	__u8 family, l4proto, vlan_depth, tcp_flags;
	__u16 eth_proto, l3_off, l4_off, sport, dport;
	__u32 saddr[4], daddr[4];
};

struct pcase {
	const char *desc;
	struct pkt_spec s;
	void (*mut)(uint8_t *b, int *len);
	int reason;   /* 0: parses */
	__u16 flags;  /* expected meta->flags */
	__u16 l4_off; /* expected meta->l4_off */
};

static void addr_of(int family, const char *s, const char *def, __u32 *out)
{
	memset(out, 0, 16);
	inet_pton(family == 4 ? AF_INET : AF_INET6, s ? s : def, out);
}

/* What the parser must find in a packet built from s, given the flags and
 * the L4 offset it should report; the rest follows from the spec. */
static struct exp exp_from_spec(const struct pkt_spec *s, __u16 flags,
				__u16 l4_off)
{
	struct exp e = { .flags = flags, .family = (__u8)s->family };

	e.vlan_depth = (__u8)s->nvlan;
	e.l3_off = (__u16)(PKT_ETH_HLEN + PKT_VLAN_HLEN * s->nvlan);
	e.l4_off = l4_off;
	switch (s->family) {
	case 4:
		e.eth_proto = ETH_P_IP;
		e.l4proto = s->ip4.proto ? s->ip4.proto :
			    s->proto ? s->proto : 255;
		addr_of(4, s->ip4.saddr, PKT_DEF_SADDR4, e.saddr);
		addr_of(4, s->ip4.daddr, PKT_DEF_DADDR4, e.daddr);
		break;
	case 6:
		e.eth_proto = ETH_P_IPV6;
		e.l4proto = s->proto ? s->proto : 59;
		addr_of(6, s->ip6.saddr, PKT_DEF_SADDR6, e.saddr);
		addr_of(6, s->ip6.daddr, PKT_DEF_DADDR6, e.daddr);
		break;
	default:
		e.eth_proto = s->ethertype ? s->ethertype : ETH_P_ARP;
		break;
	}
	if (flags & L4) {
		if (e.l4proto == IPPROTO_ICMP || e.l4proto == IPPROTO_ICMPV6) {
			e.dport = s->icmp_type;
			e.sport = s->icmp_code;
		} else {
			e.sport = s->sport;
			e.dport = s->dport;
		}
		if (e.l4proto == IPPROTO_TCP)
			e.tcp_flags = s->tcp_flags;
	}
	return e;
}

/* Runs one packet and checks the outcome: the reason (0: parses), the
 * verdict, the drop counter, and with reason 0 every field of e. */
static void check_pkt(struct prun *r, const char *desc, const uint8_t *pkt,
		      int len, int reason, const struct exp *e)
{
	int want = reason ? reason : SL_DROP_NO_GENERATION;
	struct prun_res res;
	const struct sl_meta *m = &res.meta;
	char name[160];
	bool ok = true;

#define CHK(cond, what)                                                        \
	({                                                                     \
		snprintf(name, sizeof(name), "%s: %s", desc, what);            \
		ok &= cond;                                                    \
	})
	if (!CHK(ASSERT_OK(prun_run(r, pkt, (__u32)len, &res), name), "run"))
		return;
	snprintf(name, sizeof(name), "%s: reason %s (want %s)", desc,
		 prun_reason_name(m->reason), prun_reason_name(want));
	if (!ASSERT_EQ(m->reason, want, name))
		return;
	CHK(ASSERT_EQ(res.retval, XDP_DROP, name), "verdict XDP_DROP");
	CHK(ASSERT_EQ(m->verdict, SL_VERDICT_DROP, name), "meta verdict");
	CHK(ASSERT_EQ(m->pkt_len, len, name), "pkt_len");
	CHK(ASSERT_EQ(res.drops, 1, name), "drop counted once");
	CHK(ASSERT_EQ(res.drop_bytes, len, name), "drop bytes");
	if (reason || !e)
		return;
	CHK(ASSERT_EQ(m->flags, e->flags, name), "flags");
	CHK(ASSERT_EQ(m->family, e->family, name), "family");
	CHK(ASSERT_EQ(m->eth_proto, e->eth_proto, name), "eth_proto");
	CHK(ASSERT_EQ(m->vlan_depth, e->vlan_depth, name), "vlan_depth");
	CHK(ASSERT_EQ(m->l3_off, e->l3_off, name), "l3_off");
	CHK(ASSERT_EQ(m->l4proto, e->l4proto, name), "l4proto");
	CHK(ASSERT_EQ(m->l4_off, e->l4_off, name), "l4_off");
	CHK(ASSERT_EQ(m->sport, e->sport, name), "sport");
	CHK(ASSERT_EQ(m->dport, e->dport, name), "dport");
	CHK(ASSERT_EQ(m->tcp_flags, e->tcp_flags, name), "tcp_flags");
	CHK(ASSERT_MEMEQ(m->saddr, e->saddr, 16, name), "saddr");
	CHK(ASSERT_MEMEQ(m->daddr, e->daddr, 16, name), "daddr");
	CHK(ASSERT_EQ(m->gen, 0, name), "gen");
	CHK(ASSERT_EQ(m->nstages, 0, name), "nstages");
#undef CHK
	if (!ok && env.verbose)
		printf("    (%s: flags 0x%x l4proto %u l4_off %u ports %u->%u)\n",
		       desc, m->flags, m->l4proto, m->l4_off, m->sport,
		       m->dport);
}

static void mut_cut2(uint8_t *b, int *len) { *len -= 2; }
static void mut_v4_version6(uint8_t *b, int *len) { b[14] = 0x65; }
static void mut_v4_version0(uint8_t *b, int *len) { b[14] = 0x05; }
static void mut_v6_version4(uint8_t *b, int *len) { b[14] = 0x40; }
static void mut_v6_version0(uint8_t *b, int *len) { b[14] = 0x00; }

#define TCP .proto = IPPROTO_TCP, .sport = SP, .dport = DP, .tcp_flags = PKT_TCP_SYN
#define UDP .proto = IPPROTO_UDP, .sport = 5353, .dport = 53
#define SCTP .proto = IPPROTO_SCTP, .sport = 2905, .dport = 3868
#define FAKE .no_l4 = true, .payload = fake_ports, .payload_len = sizeof(fake_ports)
#define V(t) { .tpid = (t), .tci = 100 }
#define X(t, ...) { .type = (t), __VA_ARGS__ }

static const uint8_t opt8[8] = { 0x00, 0x16, 0x00, 0x50, 0, 0, 0, 0 };
static const uint8_t opt4[4] = { 0x01, 0x01, 0x01, 0x00 };

static const struct pcase cases[] = {
	/* Ethernet, VLAN, non-IP */
	{ "arp", { .family = 0 }, NULL, 0, 0, 0 },
	{ "802.3 length field", { .ethertype = 0x0040, .payload_len = 46 }, NULL, 0, 0, 0 },
	{ "tpid 0x9100 is not a vlan", { .ethertype = 0x9100, .payload_len = 46 }, NULL, 0, 0, 0 },
	{ "14 bytes arp", { .ethertype = ETH_P_ARP }, NULL, 0, 0, 0 },
	{ "14 bytes ipv4", { .ethertype = ETH_P_IP }, NULL, SL_DROP_PARSE_TRUNC_IPV4 },
	{ "14 bytes ipv6", { .ethertype = ETH_P_IPV6 }, NULL, SL_DROP_PARSE_TRUNC_IPV6 },
	{ "14 bytes 8021q", { .ethertype = ETH_P_8021Q }, NULL, SL_DROP_PARSE_TRUNC_VLAN },
	{ "14 bytes 8021ad", { .ethertype = ETH_P_8021AD }, NULL, SL_DROP_PARSE_TRUNC_VLAN },
	{ "vlan cut in tag 1", { .nvlan = 1, .vlan = { V(0x8100) } }, mut_cut2, SL_DROP_PARSE_TRUNC_VLAN },
	{ "vlan cut in tag 2", { .nvlan = 2, .vlan = { V(0x88a8), V(0x8100) } }, mut_cut2, SL_DROP_PARSE_TRUNC_VLAN },
	{ "vlan 8021q arp", { .nvlan = 1, .vlan = { V(0x8100) } }, NULL, 0, 0, 0 },
	{ "vlan 8021q tcp4", { .nvlan = 1, .vlan = { V(0x8100) }, .family = 4, TCP }, NULL, 0, L4, 38 },
	{ "vlan 8021ad udp6", { .nvlan = 1, .vlan = { V(0x88a8) }, .family = 6, UDP }, NULL, 0, L4, 58 },
	{ "qinq 8021ad+8021q tcp4", { .nvlan = 2, .vlan = { V(0x88a8), V(0x8100) }, .family = 4, TCP }, NULL, 0, L4, 42 },
	{ "vlan 8021q+8021q icmp6", { .nvlan = 2, .vlan = { V(0x8100), V(0x8100) }, .family = 6, .proto = IPPROTO_ICMPV6, .icmp_type = 128 }, NULL, 0, L4, 62 },
	{ "vlan 8021q+8021ad udp4", { .nvlan = 2, .vlan = { V(0x8100), V(0x88a8) }, .family = 4, UDP }, NULL, 0, L4, 42 },
	{ "vlan 3 tags 8021q", { .nvlan = 3, .vlan = { V(0x8100), V(0x8100), V(0x8100) }, .family = 4, TCP }, NULL, SL_DROP_PARSE_VLAN_DEPTH },
	{ "vlan 3 tags mixed", { .nvlan = 3, .vlan = { V(0x88a8), V(0x8100), V(0x88a8) }, .family = 6, TCP }, NULL, SL_DROP_PARSE_VLAN_DEPTH },
	{ "vlan 3 tags arp", { .nvlan = 3, .vlan = { V(0x88a8), V(0x88a8), V(0x8100) } }, NULL, SL_DROP_PARSE_VLAN_DEPTH },
	{ "vlan 4 tags", { .nvlan = 4, .vlan = { V(0x8100), V(0x8100), V(0x8100), V(0x8100) }, .family = 4, UDP }, NULL, SL_DROP_PARSE_VLAN_DEPTH },

	/* IPv4 */
	{ "tcp4", { .family = 4, TCP }, NULL, 0, L4, 34 },
	{ "tcp4 flags", { .family = 4, .proto = IPPROTO_TCP, .sport = 1, .dport = 2, .tcp_flags = PKT_TCP_ACK | PKT_TCP_FIN | PKT_TCP_PSH }, NULL, 0, L4, 34 },
	{ "udp4", { .family = 4, UDP }, NULL, 0, L4, 34 },
	{ "sctp4", { .family = 4, SCTP }, NULL, 0, L4, 34 },
	{ "icmp4 echo", { .family = 4, .proto = IPPROTO_ICMP, .icmp_type = 8 }, NULL, 0, L4, 34 },
	{ "icmp4 unreach", { .family = 4, .proto = IPPROTO_ICMP, .icmp_type = 3, .icmp_code = 13 }, NULL, 0, L4, 34 },
	{ "gre4 has no ports", { .family = 4, .proto = 47, .payload_len = 8 }, NULL, 0, 0, 34 },
	{ "esp4 has no ports", { .family = 4, .proto = 50, .payload_len = 16 }, NULL, 0, 0, 34 },
	{ "tcp4 addresses", { .family = 4, .ip4 = { .saddr = "10.1.2.3", .daddr = "172.16.254.1" }, TCP }, NULL, 0, L4, 34 },
	{ "tcp4 df is no fragment", { .family = 4, .ip4 = { .frag = PKT_IP_DF }, TCP }, NULL, 0, L4, 34 },
	{ "tcp4 reserved flag is no fragment", { .family = 4, .ip4 = { .frag = 0x8000 }, TCP }, NULL, 0, L4, 34 },
	{ "udp4 ethernet padding", { .family = 4, UDP, .pad_to = 60 }, NULL, 0, L4, 34 },
	{ "ipv4 version 6", { .family = 4, TCP }, mut_v4_version6, SL_DROP_PARSE_IPV4_VERSION },
	{ "ipv4 version 0", { .family = 4, TCP }, mut_v4_version0, SL_DROP_PARSE_IPV4_VERSION },
	{ "ipv4 ihl 15 past the frame", { .family = 4, .ip4 = { .ihl = 15 }, UDP }, NULL, SL_DROP_PARSE_TRUNC_IPV4 },
	{ "ipv4 tot_len < ihl*4", { .family = 4, .ip4 = { .opts = opt4, .opts_len = 4, .tot_len = 20 }, UDP }, NULL, SL_DROP_PARSE_IPV4_LEN },
	{ "ipv4 tot_len 0", { .family = 4, .ip4 = { .tot_len = PKT_LEN_ZERO }, TCP }, NULL, SL_DROP_PARSE_IPV4_LEN },
	{ "ipv4 tot_len past the frame", { .family = 4, .ip4 = { .tot_len = 41 }, TCP }, NULL, SL_DROP_PARSE_IPV4_LEN },
	{ "ipv4 tot_len 65535", { .family = 4, .ip4 = { .tot_len = 65535 }, TCP }, NULL, SL_DROP_PARSE_IPV4_LEN },
	{ "udp4 cut by tot_len, padding behind", { .family = 4, .ip4 = { .tot_len = 24 }, UDP, .pad_to = 60 }, NULL, SL_DROP_PARSE_TRUNC_L4 },
	{ "tcp4 cut by tot_len, padding behind", { .family = 4, .ip4 = { .tot_len = 39 }, TCP, .pad_to = 60 }, NULL, SL_DROP_PARSE_TRUNC_L4 },
	{ "tcp4 header of 16 bytes", { .family = 4, .proto = IPPROTO_TCP, .no_l4 = true, .payload = fake_ports, .payload_len = 16 }, NULL, SL_DROP_PARSE_TRUNC_L4 },
	{ "udp4 options, ports after them", { .family = 4, .ip4 = { .opts = opt8, .opts_len = 8 }, UDP }, NULL, 0, L4 | OPTS, 42 },

	/* IPv4 fragments */
	{ "frag4 first tcp", { .family = 4, .ip4 = { .frag = PKT_IP_MF, .id = 7 }, TCP, .payload_len = 8 }, NULL, 0, FRAG | L4, 34 },
	{ "frag4 middle tcp", { .family = 4, .ip4 = { .frag = PKT_IP_MF | 100 }, .proto = IPPROTO_TCP, FAKE }, NULL, 0, FRAG | LATER, 0 },
	{ "frag4 last udp", { .family = 4, .ip4 = { .frag = 100 }, .proto = IPPROTO_UDP, FAKE }, NULL, 0, FRAG | LATER, 0 },
	{ "frag4 last icmp", { .family = 4, .ip4 = { .frag = 3 }, .proto = IPPROTO_ICMP, FAKE }, NULL, 0, FRAG | LATER, 0 },
	{ "frag4 tcp offset 1 (rfc1858)", { .family = 4, .ip4 = { .frag = PKT_IP_MF | 1 }, .proto = IPPROTO_TCP, FAKE }, NULL, SL_DROP_FRAG_OVERLAP },
	{ "frag4 tcp offset 1, last", { .family = 4, .ip4 = { .frag = 1 }, .proto = IPPROTO_TCP, FAKE }, NULL, SL_DROP_FRAG_OVERLAP },
	{ "frag4 udp offset 1 is fine", { .family = 4, .ip4 = { .frag = PKT_IP_MF | 1 }, .proto = IPPROTO_UDP, FAKE }, NULL, 0, FRAG | LATER, 0 },
	{ "frag4 tcp offset 2", { .family = 4, .ip4 = { .frag = 2 }, .proto = IPPROTO_TCP, FAKE }, NULL, 0, FRAG | LATER, 0 },
	{ "frag4 tiny first tcp", { .family = 4, .ip4 = { .frag = PKT_IP_MF }, .proto = IPPROTO_TCP, .no_l4 = true, .payload = fake_ports, .payload_len = 16 }, NULL, SL_DROP_FRAG_TINY },
	{ "frag4 tiny first tcp, 8 bytes", { .family = 4, .ip4 = { .frag = PKT_IP_MF }, .proto = IPPROTO_TCP, .no_l4 = true, .payload = fake_ports, .payload_len = 8 }, NULL, SL_DROP_FRAG_TINY },
	{ "frag4 tiny first udp", { .family = 4, .ip4 = { .frag = PKT_IP_MF }, .proto = IPPROTO_UDP, .no_l4 = true, .payload = fake_ports, .payload_len = 4 }, NULL, SL_DROP_FRAG_TINY },
	{ "frag4 tiny first sctp", { .family = 4, .ip4 = { .frag = PKT_IP_MF }, .proto = IPPROTO_SCTP, .no_l4 = true, .payload = fake_ports, .payload_len = 8 }, NULL, SL_DROP_FRAG_TINY },
	{ "frag4 tiny first icmp", { .family = 4, .ip4 = { .frag = PKT_IP_MF }, .proto = IPPROTO_ICMP, .no_l4 = true, .payload = fake_ports, .payload_len = 4 }, NULL, SL_DROP_FRAG_TINY },
	{ "frag4 empty first tcp", { .family = 4, .ip4 = { .frag = PKT_IP_MF }, .proto = IPPROTO_TCP, .no_l4 = true }, NULL, SL_DROP_FRAG_TINY },
	{ "frag4 first udp, exactly the header", { .family = 4, .ip4 = { .frag = PKT_IP_MF }, UDP }, NULL, 0, FRAG | L4, 34 },
	{ "frag4 first gre (no L4 rule applies)", { .family = 4, .ip4 = { .frag = PKT_IP_MF }, .proto = 47, .payload_len = 2 }, NULL, 0, FRAG, 34 },
	{ "frag4 first tcp with options", { .family = 4, .ip4 = { .frag = PKT_IP_MF, .opts = opt8, .opts_len = 8 }, TCP }, NULL, 0, FRAG | OPTS | L4, 42 },
	{ "frag4 middle tcp with options", { .family = 4, .ip4 = { .frag = PKT_IP_MF | 9, .opts = opt8, .opts_len = 8 }, .proto = IPPROTO_TCP, FAKE }, NULL, 0, FRAG | LATER | OPTS, 0 },

	/* IPv6 */
	{ "tcp6", { .family = 6, TCP }, NULL, 0, L4, 54 },
	{ "udp6", { .family = 6, UDP }, NULL, 0, L4, 54 },
	{ "sctp6", { .family = 6, SCTP }, NULL, 0, L4, 54 },
	{ "icmp6 echo", { .family = 6, .proto = IPPROTO_ICMPV6, .icmp_type = 128 }, NULL, 0, L4, 54 },
	{ "icmp6 unreach", { .family = 6, .proto = IPPROTO_ICMPV6, .icmp_type = 1, .icmp_code = 4 }, NULL, 0, L4, 54 },
	{ "icmp (1) in ipv6 reads type/code too", { .family = 6, .proto = IPPROTO_ICMP, .icmp_type = 8 }, NULL, 0, L4, 54 },
	{ "tcp6 addresses", { .family = 6, .ip6 = { .saddr = "fd00:200::17", .daddr = "2001:db8:ffff::ffff:1" }, TCP }, NULL, 0, L4, 54 },
	{ "udp6 ethernet padding", { .family = 6, UDP, .pad_to = 100 }, NULL, 0, L4, 54 },
	{ "esp6 ends the walk", { .family = 6, .proto = 50, .payload_len = 16 }, NULL, 0, 0, 54 },
	{ "no next header (59)", { .family = 6, .proto = 59, .payload_len = 4 }, NULL, 0, 0, 54 },
	{ "ipv6 version 4", { .family = 6, TCP }, mut_v6_version4, SL_DROP_PARSE_IPV6_VERSION },
	{ "ipv6 version 0", { .family = 6, TCP }, mut_v6_version0, SL_DROP_PARSE_IPV6_VERSION },
	{ "ipv6 payload_len past the frame", { .family = 6, .ip6 = { .payload_len = 21 }, TCP }, NULL, SL_DROP_PARSE_TRUNC_IPV6 },
	{ "ipv6 payload_len 65535", { .family = 6, .ip6 = { .payload_len = 65535 }, UDP }, NULL, SL_DROP_PARSE_TRUNC_IPV6 },
	{ "ipv6 payload_len 0 (jumbo)", { .family = 6, .ip6 = { .payload_len = PKT_LEN_ZERO }, TCP }, NULL, SL_DROP_PARSE_TRUNC_L4 },
	{ "udp6 cut by payload_len, padding behind", { .family = 6, .ip6 = { .payload_len = 6 }, UDP, .pad_to = 80 }, NULL, SL_DROP_PARSE_TRUNC_L4 },

	/* IPv6 extension headers, one of each */
	{ "ext hop-by-hop", { .family = 6, .next = 1, .ext = { X(0) }, TCP }, NULL, 0, EXT | L4, 62 },
	{ "ext routing", { .family = 6, .next = 1, .ext = { X(43, .len = 24) }, TCP }, NULL, 0, EXT | L4, 78 },
	{ "ext destination", { .family = 6, .next = 1, .ext = { X(60, .len = 16) }, UDP }, NULL, 0, EXT | L4, 70 },
	{ "ext ah 12 bytes ((1+2)*4)", { .family = 6, .next = 1, .ext = { X(51, .len = 12) }, TCP }, NULL, 0, EXT | L4, 66 },
	{ "ext ah 24 bytes ((4+2)*4)", { .family = 6, .next = 1, .ext = { X(51, .len = 24) }, UDP }, NULL, 0, EXT | L4, 78 },
	{ "ext ah then esp", { .family = 6, .next = 1, .ext = { X(51, .len = 16) }, .proto = 50, .payload_len = 8 }, NULL, 0, EXT, 70 },
	{ "ext mobility", { .family = 6, .next = 1, .ext = { X(135) }, TCP }, NULL, 0, EXT | L4, 62 },
	{ "ext hip", { .family = 6, .next = 1, .ext = { X(139, .len = 40) }, TCP }, NULL, 0, EXT | L4, 94 },
	{ "ext shim6", { .family = 6, .next = 1, .ext = { X(140) }, SCTP }, NULL, 0, EXT | L4, 62 },
	{ "ext hop-by-hop 2048 bytes", { .family = 6, .next = 1, .ext = { X(0, .len = 2048) }, TCP }, NULL, 0, EXT | L4, 2102 },
	{ "ext hop-by-hop then icmp6 (mld)", { .family = 6, .next = 1, .ext = { X(0) }, .proto = IPPROTO_ICMPV6, .icmp_type = 143 }, NULL, 0, EXT | L4, 62 },
	{ "ext chain of 8", { .family = 6, .next = 8, .ext = { X(0), X(43), X(44), X(51, .len = 12), X(60), X(135), X(139), X(140) }, TCP }, NULL, 0, EXT | L4, 122 },
	{ "ext chain of 8, then esp", { .family = 6, .next = 8, .ext = { X(0), X(60), X(60), X(60), X(60), X(60), X(60), X(51) }, .proto = 50, .payload_len = 8 }, NULL, 0, EXT, 118 },
	{ "ext chain of 8, then no next header", { .family = 6, .next = 8, .ext = { X(0), X(60), X(60), X(60), X(60), X(60), X(60), X(60) } }, NULL, 0, EXT, 118 },
	{ "ext chain of 9", { .family = 6, .next = 9, .ext = { X(0), X(43), X(44), X(51, .len = 12), X(60), X(135), X(139), X(140), X(60) }, TCP }, NULL, SL_DROP_PARSE_IPV6_EXTHDR_DEPTH },
	{ "ext chain of 9, then esp", { .family = 6, .next = 9, .ext = { X(60), X(60), X(60), X(60), X(60), X(60), X(60), X(60), X(60) }, .proto = 50 }, NULL, SL_DROP_PARSE_IPV6_EXTHDR_DEPTH },
	{ "ext chain of 12", { .family = 6, .next = 12, .ext = { X(60), X(60), X(60), X(60), X(60), X(60), X(60), X(60), X(60), X(60), X(60), X(60) }, UDP }, NULL, SL_DROP_PARSE_IPV6_EXTHDR_DEPTH },
	{ "ext cut by payload_len", { .family = 6, .ip6 = { .payload_len = 12 }, .next = 1, .ext = { X(0, .len = 16) }, UDP }, NULL, SL_DROP_PARSE_TRUNC_IPV6_EXTHDR },
	{ "ext of 4 bytes", { .family = 6, .ip6 = { .payload_len = 4 }, .next = 1, .ext = { X(60) } }, NULL, SL_DROP_PARSE_TRUNC_IPV6_EXTHDR },
	{ "ext header missing", { .family = 6, .proto = 60 }, NULL, SL_DROP_PARSE_TRUNC_IPV6_EXTHDR },
	{ "ext ah cut by payload_len", { .family = 6, .ip6 = { .payload_len = 20 }, .next = 1, .ext = { X(51, .len = 24) }, UDP }, NULL, SL_DROP_PARSE_TRUNC_IPV6_EXTHDR },

	/* IPv6 fragments */
	{ "frag6 first tcp", { .family = 6, .next = 1, .ext = { X(44, .more = true, .id = 9) }, TCP, .payload_len = 8 }, NULL, 0, EXT | FRAG | L4, 62 },
	{ "frag6 middle tcp", { .family = 6, .next = 1, .ext = { X(44, .frag_off = 100, .more = true) }, .proto = IPPROTO_TCP, FAKE }, NULL, 0, EXT | FRAG | LATER, 0 },
	{ "frag6 last udp", { .family = 6, .next = 1, .ext = { X(44, .frag_off = 100) }, .proto = IPPROTO_UDP, FAKE }, NULL, 0, EXT | FRAG | LATER, 0 },
	{ "frag6 last icmp6", { .family = 6, .next = 1, .ext = { X(44, .frag_off = 2) }, .proto = IPPROTO_ICMPV6, FAKE }, NULL, 0, EXT | FRAG | LATER, 0 },
	{ "frag6 atomic (rfc6946)", { .family = 6, .next = 1, .ext = { X(44) }, TCP }, NULL, 0, EXT | L4, 62 },
	{ "frag6 tcp offset 1", { .family = 6, .next = 1, .ext = { X(44, .frag_off = 1, .more = true) }, .proto = IPPROTO_TCP, FAKE }, NULL, SL_DROP_FRAG_OVERLAP },
	{ "frag6 udp offset 1 is fine", { .family = 6, .next = 1, .ext = { X(44, .frag_off = 1) }, .proto = IPPROTO_UDP, FAKE }, NULL, 0, EXT | FRAG | LATER, 0 },
	{ "frag6 tiny first tcp", { .family = 6, .next = 1, .ext = { X(44, .more = true) }, .proto = IPPROTO_TCP, .no_l4 = true, .payload = fake_ports, .payload_len = 10 }, NULL, SL_DROP_FRAG_TINY },
	{ "frag6 tiny first udp", { .family = 6, .next = 1, .ext = { X(44, .more = true) }, .proto = IPPROTO_UDP, .no_l4 = true, .payload = fake_ports, .payload_len = 4 }, NULL, SL_DROP_FRAG_TINY },
	{ "frag6 tiny first sctp", { .family = 6, .next = 1, .ext = { X(44, .more = true) }, .proto = IPPROTO_SCTP, .no_l4 = true, .payload = fake_ports, .payload_len = 8 }, NULL, SL_DROP_FRAG_TINY },
	{ "frag6 tiny first icmp6", { .family = 6, .next = 1, .ext = { X(44, .more = true) }, .proto = IPPROTO_ICMPV6, .no_l4 = true, .payload = fake_ports, .payload_len = 4 }, NULL, SL_DROP_FRAG_TINY },
	{ "frag6 first, cut inside a later ext header", { .family = 6, .ip6 = { .payload_len = 12 }, .next = 2, .ext = { X(44, .more = true), X(60, .len = 16) }, TCP }, NULL, SL_DROP_PARSE_TRUNC_IPV6_EXTHDR },
	{ "frag6 first, dstopts after it", { .family = 6, .next = 2, .ext = { X(44, .more = true), X(60) }, UDP }, NULL, 0, EXT | FRAG | L4, 70 },
	{ "frag6 first after hop-by-hop", { .family = 6, .next = 2, .ext = { X(0), X(44, .more = true) }, TCP }, NULL, 0, EXT | FRAG | L4, 70 },
	{ "frag6 middle, garbage that looks like ext headers", { .family = 6, .next = 1, .ext = { X(44, .frag_off = 50, .more = true) }, .proto = 60, FAKE }, NULL, 0, EXT | FRAG | LATER, 0 },
	{ "frag6 middle after 7 ext headers", { .family = 6, .next = 8, .ext = { X(0), X(60), X(60), X(60), X(60), X(60), X(60), X(44, .frag_off = 8) }, .proto = IPPROTO_TCP, FAKE }, NULL, 0, EXT | FRAG | LATER, 0 },
};

static int build_case(const struct pcase *c, uint8_t *buf, int *len)
{
	*len = pkt_build(&c->s, buf, PKT_MAX);
	if (*len < 0)
		return *len;
	if (c->mut)
		c->mut(buf, len);
	return 0;
}

static void run_table(struct prun *r)
{
	uint8_t buf[PKT_MAX];
	struct exp e;
	size_t i;
	int len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct pcase *c = &cases[i];

		if (!ASSERT_OK(build_case(c, buf, &len), c->desc))
			continue;
		e = exp_from_spec(&c->s, c->flags, c->l4_off);
		check_pkt(r, c->desc, buf, len, c->reason, &e);
	}
}

/* IHL 0..4: malformed. IHL 5..15: options skipped, ports from after them
 * (the options hold bytes that look like ports). */
static void run_ihl(struct prun *r)
{
	uint8_t buf[PKT_MAX], opts[40];
	struct pkt_spec s = { .family = 4, TCP };
	char desc[64];
	struct exp e;
	int ihl, len, i;

	for (i = 0; i < 40; i += 4) {
		opts[i] = 0x00;
		opts[i + 1] = 0x16;
		opts[i + 2] = 0x00;
		opts[i + 3] = 0x50;
	}
	for (ihl = 0; ihl <= 15; ihl++) {
		snprintf(desc, sizeof(desc), "ihl %d", ihl);
		s.ip4.opts = ihl > 5 ? opts : NULL;
		s.ip4.opts_len = ihl > 5 ? (size_t)(ihl - 5) * 4 : 0;
		len = pkt_build(&s, buf, sizeof(buf));
		if (!ASSERT_GT(len, 0, desc))
			continue;
		/* The nibble by hand: 0 in pkt_ipv4.ihl means "computed". */
		buf[14] = (uint8_t)(0x40 | ihl);
		pkt_ipv4_fix_csum(buf, 14);
		if (ihl < 5) {
			check_pkt(r, desc, buf, len, SL_DROP_PARSE_IPV4_IHL, NULL);
			continue;
		}
		e = exp_from_spec(&s, L4 | (ihl > 5 ? OPTS : 0),
				  (__u16)(14 + ihl * 4));
		check_pkt(r, desc, buf, len, 0, &e);
	}
}

/* Header layout of a sweep's base packet, derived from its spec. */
struct layout {
	int l3_off, l3_hlen;  /* IPv4: IHL*4; IPv6: 40 */
	int next;
	int ext_end[PKT_MAX_EXT]; /* end offset of each ext header */
	int l4_off, l4_need;
	bool first_frag;
	int full;
};

static int l4_need(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP: return 20;
	case IPPROTO_UDP: return 8;
	case IPPROTO_SCTP: return 12;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: return 8;
	}
	return 0;
}

static void layout_of(const struct pkt_spec *s, int full, struct layout *l)
{
	int i, off;

	memset(l, 0, sizeof(*l));
	l->full = full;
	l->l3_off = PKT_ETH_HLEN + PKT_VLAN_HLEN * s->nvlan;
	if (s->family == 4) {
		l->l3_hlen = 20 + (int)((s->ip4.opts_len + 3) & ~3u);
		l->first_frag = (s->ip4.frag & PKT_IP_MF) &&
				!(s->ip4.frag & PKT_IP_OFFMASK);
	} else {
		l->l3_hlen = 40;
	}
	off = l->l3_off + l->l3_hlen;
	l->next = s->next;
	for (i = 0; i < s->next; i++) {
		if (s->ext[i].type == 44) {
			off += 8;
			if (s->ext[i].more && !s->ext[i].frag_off)
				l->first_frag = true;
		} else {
			off += s->ext[i].len ? s->ext[i].len : 8;
		}
		l->ext_end[i] = off;
	}
	l->l4_off = off;
	l->l4_need = l4_need(s->proto);
}

/* The reason for the frame cut to len bytes; fixed: the IP length field was
 * rewritten to end where the frame does. 0: parses. */
static int cut_reason(const struct layout *l, int family, int len, bool fixed)
{
	int i;

	if (len < l->l3_off)
		return SL_DROP_PARSE_TRUNC_VLAN;
	if (len < l->l3_off + (family == 4 ? 20 : 40))
		return family == 4 ? SL_DROP_PARSE_TRUNC_IPV4 :
				     SL_DROP_PARSE_TRUNC_IPV6;
	if (len < l->l3_off + l->l3_hlen)
		return SL_DROP_PARSE_TRUNC_IPV4;
	if (!fixed)
		return len == l->full ? 0 :
		       family == 4 ? SL_DROP_PARSE_IPV4_LEN :
				     SL_DROP_PARSE_TRUNC_IPV6;
	for (i = 0; i < l->next; i++)
		if (len < l->ext_end[i])
			return SL_DROP_PARSE_TRUNC_IPV6_EXTHDR;
	if (len < l->l4_off + l->l4_need)
		return l->first_frag ? SL_DROP_FRAG_TINY : SL_DROP_PARSE_TRUNC_L4;
	return 0;
}

struct sweep_base {
	const char *desc;
	struct pkt_spec s;
	__u16 flags;
};

static const struct sweep_base sweeps[] = {
	{ "tcp4", { .family = 4, TCP, .payload_len = 6 }, L4 },
	{ "udp4", { .family = 4, UDP, .payload_len = 6 }, L4 },
	{ "icmp4", { .family = 4, .proto = IPPROTO_ICMP, .icmp_type = 8, .payload_len = 6 }, L4 },
	{ "sctp4", { .family = 4, SCTP, .payload_len = 6 }, L4 },
	{ "tcp4 vlan", { .nvlan = 1, .vlan = { V(0x8100) }, .family = 4, TCP, .payload_len = 3 }, L4 },
	{ "udp4 qinq", { .nvlan = 2, .vlan = { V(0x88a8), V(0x8100) }, .family = 4, UDP, .payload_len = 3 }, L4 },
	{ "icmp4 vlan", { .nvlan = 1, .vlan = { V(0x88a8) }, .family = 4, .proto = IPPROTO_ICMP, .icmp_type = 0, .payload_len = 3 }, L4 },
	{ "tcp4 options", { .family = 4, .ip4 = { .opts = opt8, .opts_len = 8 }, TCP, .payload_len = 2 }, L4 | OPTS },
	{ "udp4 first fragment", { .family = 4, .ip4 = { .frag = PKT_IP_MF }, UDP, .payload_len = 8 }, L4 | FRAG },
	{ "tcp6", { .family = 6, TCP, .payload_len = 6 }, L4 },
	{ "udp6", { .family = 6, UDP, .payload_len = 6 }, L4 },
	{ "icmp6", { .family = 6, .proto = IPPROTO_ICMPV6, .icmp_type = 128, .payload_len = 6 }, L4 },
	{ "tcp6 vlan", { .nvlan = 1, .vlan = { V(0x8100) }, .family = 6, TCP, .payload_len = 3 }, L4 },
	{ "udp6 qinq", { .nvlan = 2, .vlan = { V(0x88a8), V(0x8100) }, .family = 6, UDP, .payload_len = 3 }, L4 },
	{ "icmp6 vlan", { .nvlan = 1, .vlan = { V(0x88a8) }, .family = 6, .proto = IPPROTO_ICMPV6, .icmp_type = 135, .payload_len = 3 }, L4 },
	{ "tcp6 ext chain, first fragment", { .family = 6, .next = 4, .ext = { X(0), X(51, .len = 12), X(44, .more = true), X(60, .len = 16) }, TCP, .payload_len = 4 }, L4 | EXT | FRAG },
	{ "udp6 vlan ext chain", { .nvlan = 1, .vlan = { V(0x8100) }, .family = 6, .next = 3, .ext = { X(43, .len = 24), X(135), X(140) }, UDP, .payload_len = 4 }, L4 | EXT },
};

/* Rewrites the IP length field to end at len (when it is in the frame). */
static void fix_len(uint8_t *b, const struct layout *l, int family, int len)
{
	int v = len - l->l3_off - (family == 4 ? 0 : 40);

	if (family == 4 && len >= l->l3_off + 4) {
		b[l->l3_off + 2] = (uint8_t)(v >> 8);
		b[l->l3_off + 3] = (uint8_t)v;
		if (len >= l->l3_off + l->l3_hlen)
			pkt_ipv4_fix_csum(b, (size_t)l->l3_off);
	} else if (family == 6 && len >= l->l3_off + 6 && v >= 0) {
		b[l->l3_off + 4] = (uint8_t)(v >> 8);
		b[l->l3_off + 5] = (uint8_t)v;
	}
}

/* Every length from 14 bytes (the least BPF_PROG_TEST_RUN takes) to the full
 * frame: each must drop for the right truncation reason or parse with the
 * full packet's fields, never read past the end, never pass with garbage
 * ports. fixed: the IP length field follows the cut, so the cut reaches the
 * extension headers and L4 instead of stopping at the IP length check. */
static void run_sweep(struct prun *r, bool fixed)
{
	uint8_t base[PKT_MAX], buf[PKT_MAX];
	struct layout l;
	char desc[128];
	struct exp e;
	size_t i;
	int full, len;

	for (i = 0; i < sizeof(sweeps) / sizeof(sweeps[0]); i++) {
		const struct sweep_base *sb = &sweeps[i];

		full = pkt_build(&sb->s, base, sizeof(base));
		if (!ASSERT_GT(full, 0, sb->desc))
			continue;
		layout_of(&sb->s, full, &l);
		e = exp_from_spec(&sb->s, sb->flags, (__u16)l.l4_off);
		for (len = PKT_ETH_HLEN; len <= full; len++) {
			memcpy(buf, base, (size_t)len);
			if (fixed)
				fix_len(buf, &l, sb->s.family, len);
			snprintf(desc, sizeof(desc), "%s cut to %d/%d%s",
				 sb->desc, len, full, fixed ? " (length fixed)" : "");
			check_pkt(r, desc, buf, len,
				  cut_reason(&l, sb->s.family, len, fixed), &e);
		}
	}
}

static void run_counters(struct prun *r)
{
	struct pkt_spec s = { .family = 4, .ip4 = { .ihl = 3 }, TCP };
	uint8_t buf[PKT_MAX];
	__u64 p0, b0, p1, b1, n0, n1, nb;
	struct prun_res res;
	int len, i;

	len = pkt_build(&s, buf, sizeof(buf));
	if (!ASSERT_GT(len, 0, "build"))
		return;
	ASSERT_OK(prun_drops(r, SL_DROP_PARSE_IPV4_IHL, &p0, &b0), "read ihl");
	ASSERT_OK(prun_drops(r, SL_DROP_NO_GENERATION, &n0, &nb), "read nogen");
	for (i = 0; i < 10; i++)
		ASSERT_OK(prun_run(r, buf, (__u32)len, &res), "run");
	ASSERT_OK(prun_drops(r, SL_DROP_PARSE_IPV4_IHL, &p1, &b1), "read ihl");
	ASSERT_OK(prun_drops(r, SL_DROP_NO_GENERATION, &n1, &nb), "read nogen");
	/* prun_run runs each packet twice (once to learn the reason). */
	ASSERT_EQ(p1 - p0, 20, "ihl drops counted");
	ASSERT_EQ(b1 - b0, 20 * (__u64)len, "ihl drop bytes counted");
	ASSERT_EQ(n1 - n0, 0, "no other reason moved");
}

/* With a generation in sl_root (a program that passes), a packet that
 * parses goes on to it, and one that does not never does. */
static void run_with_generation(struct prun *r)
{
	struct bpf_insn pass[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0,
		  .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct pkt_spec ok = { .family = 6, TCP };
	struct pkt_spec bad = { .family = 6, .next = 9, .ext = { X(60), X(60), X(60), X(60), X(60), X(60), X(60), X(60), X(60) }, TCP };
	uint8_t buf[PKT_MAX];
	struct prun_res res;
	__u32 zero = 0;
	int pfd, len;

	/* A PROG_ARRAY takes programs of its owner's type and expected
	 * attach type: libbpf loads SEC("xdp") with BPF_XDP. */
	LIBBPF_OPTS(bpf_prog_load_opts, opts,
		    .expected_attach_type = BPF_XDP);

	pfd = bpf_prog_load(BPF_PROG_TYPE_XDP, "sl_test_pass", "GPL", pass, 2,
			    &opts);
	if (!ASSERT_GE(pfd, 0, "load pass program"))
		return;
	if (!ASSERT_OK(bpf_map_update_elem(r->root_fd, &zero, &pfd, BPF_ANY),
		       "commit pass generation"))
		goto cleanup;

	len = pkt_build(&ok, buf, sizeof(buf));
	if (ASSERT_OK(prun_run(r, buf, (__u32)len, &res), "run ok")) {
		ASSERT_EQ(res.retval, XDP_PASS, "parsed packet reaches the generation");
		ASSERT_EQ(res.meta.reason, 0, "no drop reason");
		ASSERT_EQ(res.meta.l4_off, 54, "meta filled before the tail call");
		ASSERT_EQ(res.meta.dport, DP, "dport");
	}
	len = pkt_build(&bad, buf, sizeof(buf));
	if (ASSERT_OK(prun_run(r, buf, (__u32)len, &res), "run bad")) {
		ASSERT_EQ(res.retval, XDP_DROP, "parse drop never reaches the generation");
		ASSERT_EQ(res.meta.reason, SL_DROP_PARSE_IPV6_EXTHDR_DEPTH, "reason");
	}
	ASSERT_OK(bpf_map_delete_elem(r->root_fd, &zero), "uncommit");
	len = pkt_build(&ok, buf, sizeof(buf));
	if (ASSERT_OK(prun_run(r, buf, (__u32)len, &res), "run after")) {
		ASSERT_EQ(res.retval, XDP_DROP, "empty root fails closed");
		ASSERT_EQ(res.meta.reason, SL_DROP_NO_GENERATION, "reason");
	}
cleanup:
	close(pfd);
}

/* The verifier accepted the entry program (prun_open loaded it); keep its
 * cost in check. */
#define ENTRY_VERIFIED_INSNS_BUDGET 20000

static void run_verifier(struct prun *r)
{
	__u32 n = prun_verified_insns(r);

	if (env.verbose)
		printf("    sl_entry verified_insns %u\n", n);
	ASSERT_GT(n, 0, "verified_insns reported");
	ASSERT_LT(n, ENTRY_VERIFIED_INSNS_BUDGET, "verified_insns budget");
}

void test_parse(void)
{
	struct prun r;
	int err;

	err = prun_open(&r);
	if (!ASSERT_OK(err, "load entry skeleton"))
		return;
	if (test__start_subtest("verifier"))
		run_verifier(&r);
	if (test__start_subtest("fixtures"))
		run_table(&r);
	if (test__start_subtest("ipv4_ihl"))
		run_ihl(&r);
	if (test__start_subtest("truncate"))
		run_sweep(&r, false);
	if (test__start_subtest("truncate_length_fixed"))
		run_sweep(&r, true);
	if (test__start_subtest("drop_counters"))
		run_counters(&r);
	if (test__start_subtest("with_generation"))
		run_with_generation(&r);
	prun_close(&r);
}
