// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The pod datapath (docs/cni.md): sluice-cni attaches it at TC ingress of
 * every pod's host veth, after the operator's chain, whose filter comes
 * first (priority 1) and, when it passes a packet, hands it on to the next
 * filter (TC_ACT_UNSPEC, bpf/include/stage.h): policy and load balancing
 * judge and translate the packet, then this program delivers it.
 *
 * A packet to another local pod's address (the endpoints map) goes straight
 * into that pod, as the node would route it but without the host stack:
 * Ethernet source = the destination's host veth, destination = the pod's
 * interface, TTL (hop limit) one less, then bpf_redirect_peer() into the
 * pod's netns (or bpf_redirect() out of its host veth, pod_peer = 0).
 * Everything else goes to the stack untouched: the node itself, other
 * nodes, ARP and neighbour discovery, TTLs about to expire (the stack sends
 * the ICMP error). Each outcome is counted in pod_stats. TC only: a redirect
 * into a peer exists only there. */
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "shared/cni.h"
#include "shared/meta.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* 1: bpf_redirect_peer (from TC ingress into the pod's netns, the packet
 * never queues); 0: bpf_redirect to the host veth's egress. */
const volatile __u8 pod_peer = 1;

/* PIN_ROOT/cni/endpoints, the plugin's map (reused by the loader). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CNI_EP_MAX);
	__type(key, struct sl_cni_ep_key);
	__type(value, struct sl_cni_ep);
} sl_cni_eps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, POD_STAT_MAX);
	__type(key, __u32);
	__type(value, struct sl_counter);
} pod_stats SEC(".maps");

#define IP4_TTL_OFF (ETH_HLEN + offsetof(struct iphdr, ttl))
#define IP4_CSUM_OFF (ETH_HLEN + offsetof(struct iphdr, check))
#define IP6_HOP_OFF (ETH_HLEN + offsetof(struct ipv6hdr, hop_limit))

static __always_inline int pod_count(__u32 what, __u32 bytes)
{
	struct sl_counter *c = bpf_map_lookup_elem(&pod_stats, &what);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
	return TC_ACT_OK;
}

static __always_inline int pod_drop(__u32 bytes)
{
	pod_count(POD_STAT_REWRITE, bytes);
	return TC_ACT_SHOT;
}

SEC("tc")
int sl_pod(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct sl_cni_ep_key k = {};
	struct sl_cni_ep *ep;
	__u32 len = skb->len, ifindex;
	__u8 macs[12], hop;
	__u16 oldw = 0, neww = 0;
	int v6;

	if ((void *)(eth + 1) > end)
		return pod_count(POD_STAT_OTHER, len);
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end || ip->version != 4 || ip->ihl < 5)
			return pod_count(POD_STAT_OTHER, len);
		k.family = 4;
		__builtin_memcpy(k.addr, &ip->daddr, 4);
		hop = ip->ttl;
		/* the checksummed word that holds the TTL: TTL, protocol */
		oldw = bpf_htons((__u16)hop << 8 | ip->protocol);
		neww = bpf_htons((__u16)(hop - 1) << 8 | ip->protocol);
		v6 = 0;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end || ip6->version != 6)
			return pod_count(POD_STAT_OTHER, len);
		k.family = 6;
		__builtin_memcpy(k.addr, &ip6->daddr, 16);
		hop = ip6->hop_limit;
		v6 = 1;
	} else {
		return pod_count(POD_STAT_OTHER, len);
	}

	ep = bpf_map_lookup_elem(&sl_cni_eps, &k);
	if (!ep)
		return pod_count(POD_STAT_STACK, len);
	ifindex = ep->ifindex;
	if (ifindex == skb->ingress_ifindex)
		return pod_count(POD_STAT_SELF, len);
	if (hop <= 1)
		return pod_count(POD_STAT_TTL, len);
	__builtin_memcpy(macs, ep->pod_mac, 6);
	__builtin_memcpy(macs + 6, ep->mac, 6);

	/* Packet pointers are invalid from here on: helpers only. */
	hop--;
	if (v6) {
		if (bpf_skb_store_bytes(skb, IP6_HOP_OFF, &hop, 1, 0))
			return pod_drop(len);
	} else {
		if (bpf_l3_csum_replace(skb, IP4_CSUM_OFF, oldw, neww, 2) ||
		    bpf_skb_store_bytes(skb, IP4_TTL_OFF, &hop, 1, 0))
			return pod_drop(len);
	}
	if (bpf_skb_store_bytes(skb, 0, macs, sizeof(macs), 0))
		return pod_drop(len);
	pod_count(POD_STAT_REDIRECT, len);
	if (pod_peer)
		return bpf_redirect_peer(ifindex, 0);
	return bpf_redirect(ifindex, 0);
}
