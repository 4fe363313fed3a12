// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The backend's half of the load balancer's dsr mode (docs/loadbalancer.md):
 * at TC ingress on a backend's interface, strip what lb_encap.h put before
 * the client's packet (an outer IPv4 header with protocol 4, an outer IPv6
 * one with next header 41, or either with a UDP header to the GUE port
 * whose payload starts with an IP header of the same family), so that the
 * stack delivers the inner packet to the VIP configured on the backend
 * (on lo). For backends whose kernel has no ipip, ip6tnl or fou (the
 * kernel's own tunnels do the same job where they exist). Anything else
 * passes untouched; a packet that cannot be shrunk is dropped. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "shared/lb.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u16 lb_decap_gue_port = LB_GUE_PORT_DEFAULT; /* host order */

SEC("tc")
int lb_decap(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct udphdr *u;
	__u8 *inner;
	int hlen;

	if ((void *)(eth + 1) > end)
		return TC_ACT_OK;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end || ip->ihl != 5 ||
		    (ip->frag_off & bpf_htons(0x3fff)) /* MF or an offset */)
			return TC_ACT_OK;
		if (ip->protocol == IPPROTO_IPIP) {
			hlen = 20;
		} else if (ip->protocol == IPPROTO_UDP) {
			u = (void *)(ip + 1);
			inner = (void *)(u + 1);
			if ((void *)(inner + 1) > end || u->dest != bpf_htons(lb_decap_gue_port) ||
			    (*inner >> 4) != 4)
				return TC_ACT_OK;
			hlen = 28;
		} else {
			return TC_ACT_OK;
		}
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			return TC_ACT_OK;
		if (ip6->nexthdr == IPPROTO_IPV6) {
			hlen = 40;
		} else if (ip6->nexthdr == IPPROTO_UDP) {
			u = (void *)(ip6 + 1);
			inner = (void *)(u + 1);
			if ((void *)(inner + 1) > end || u->dest != bpf_htons(lb_decap_gue_port) ||
			    (*inner >> 4) != 6)
				return TC_ACT_OK;
			hlen = 48;
		} else {
			return TC_ACT_OK;
		}
	} else {
		return TC_ACT_OK;
	}
	if (bpf_skb_adjust_room(skb, -hlen, BPF_ADJ_ROOM_MAC, 0))
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}
