// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Drivers and baselines of the micro benchmark (docs/benchmarks.md).
 *
 * BPF_PROG_TEST_RUN repeats one packet. To spread traffic over the whole
 * rule space, every program here takes the next precomputed packet from
 * bench_keys (a per-CPU counter picks it, wrapping at a power of two) and
 * then:
 *   key_drop          nothing: the floor of the baselines
 *   key_hash4/6       one hash lookup of the destination address
 *   key_lpm4/6        one LPM trie lookup of the destination address
 *   key_big           one load at a random place of an ARRAY as big as the
 *                     fw stage's tables (bench_big_n KiB): the cost of one
 *                     cache- and TLB-missing access, to read the others by
 *   meta_drop         writes sl_meta as the parser would: floor of the fw stage
 *   meta_tail_fw      ... and tail-calls the real fw stage
 *   meta_tail_drop    ... and tail-calls a program that drops (tail call cost)
 *   pkt_drop          rewrites the frame's addresses, protocol and ports
 *   pkt_tail_chain    ... and tail-calls the real entry program (fw in its root)
 *   pkt_tail_parse    ... and tail-calls the real entry program (empty root)
 *   pkt_tail_drop     ... and tail-calls a program that drops
 * Every figure is a difference against its own floor, in the same run.
 *
 * The live benchmark's generator (BPF_F_TEST_XDP_LIVE_FRAMES) is gen_live:
 * the next packet's fields into the frame, the IPv4 header checksum, and a
 * redirect out of gen_ifindex. xdp_pass / xdp_drop are the device under
 * test's programs for the baselines.
 */
#include "chain_maps.h"
#include <bpf/bpf_endian.h>
#include "../bench_abi.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Number of precomputed packets minus one (a power of two minus one). */
const volatile __u32 bench_mask = 0;
/* Elements (1 KiB each) of bench_big. */
const volatile __u32 bench_big_n = 1;
/* The live generator's output device. */
const volatile __u32 gen_ifindex = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bench_key);
} bench_keys SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} bench_ctr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, BENCH_NSLOTS);
	__type(key, __u32);
	__type(value, __u32);
} bench_jmp SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} bench_hash4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct bench_addr6);
	__type(value, __u32);
} bench_hash6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct bench_lpm4_key);
	__type(value, __u32);
} bench_lpm4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct bench_lpm6_key);
	__type(value, __u32);
} bench_lpm6 SEC(".maps");

struct bench_kib {
	__u32 e[256];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bench_kib);
} bench_big SEC(".maps");

static __always_inline struct bench_key *next_key(void)
{
	__u32 zero = 0, i, *c = bpf_map_lookup_elem(&bench_ctr, &zero);

	if (!c)
		return NULL;
	i = *c & bench_mask;
	*c += 1;
	return bpf_map_lookup_elem(&bench_keys, &i);
}

/* The bare floor: what every other figure of a run is also shown above. */
SEC("xdp")
int xdp_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int key_drop(struct xdp_md *ctx)
{
	struct bench_key *k = next_key();

	/* read the key as the lookups do, so the floor pays for it too */
	if (!k || !k->daddr[0])
		return XDP_ABORTED;
	return XDP_DROP;
}

SEC("xdp")
int key_hash4(struct xdp_md *ctx)
{
	struct bench_key *k = next_key();

	if (!k || !k->daddr[0])
		return XDP_ABORTED;
	return bpf_map_lookup_elem(&bench_hash4, &k->daddr[0]) ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int key_hash6(struct xdp_md *ctx)
{
	struct bench_key *k = next_key();

	if (!k || !k->daddr[0])
		return XDP_ABORTED;
	return bpf_map_lookup_elem(&bench_hash6, k->daddr) ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int key_lpm4(struct xdp_md *ctx)
{
	struct bench_key *k = next_key();
	struct bench_lpm4_key lk;

	if (!k || !k->daddr[0])
		return XDP_ABORTED;
	lk.plen = 32;
	lk.addr = k->daddr[0];
	return bpf_map_lookup_elem(&bench_lpm4, &lk) ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int key_lpm6(struct xdp_md *ctx)
{
	struct bench_key *k = next_key();
	struct bench_lpm6_key lk;

	if (!k || !k->daddr[0])
		return XDP_ABORTED;
	lk.plen = 128;
	__builtin_memcpy(lk.addr, k->daddr, sizeof(lk.addr));
	return bpf_map_lookup_elem(&bench_lpm6, &lk) ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int key_big(struct xdp_md *ctx)
{
	struct bench_key *k = next_key();
	struct bench_kib *v;
	__u32 h, i;

	if (!k || !k->daddr[0])
		return XDP_ABORTED;
	h = (k->daddr[0] ^ k->daddr[3]) * 2654435761u;
	i = h % bench_big_n;
	v = bpf_map_lookup_elem(&bench_big, &i);
	if (!v)
		return XDP_ABORTED;
	return v->e[(h >> 8) & 255] ? XDP_PASS : XDP_DROP;
}

/* sl_meta as entry.bpf.c leaves it after parsing a TCP/UDP packet. */
static __always_inline int meta_write(struct xdp_md *ctx)
{
	struct bench_key *k = next_key();
	struct sl_meta *m = meta_get();

	if (!k || !m)
		return -1;
	__builtin_memset(m, 0, sizeof(*m));
	m->pkt_len = ctx_len(ctx);
	m->family = k->family;
	m->eth_proto = k->family == 4 ? 0x0800 : 0x86dd;
	m->l3_off = BENCH_L3_OFF;
	m->l4_off = BENCH_L3_OFF + (k->family == 4 ? 20 : 40);
	m->l4proto = k->proto;
	m->flags = SL_F_HAS_L4;
	m->sport = k->sport;
	m->dport = k->dport;
	__builtin_memcpy(m->saddr, k->saddr, sizeof(m->saddr));
	__builtin_memcpy(m->daddr, k->daddr, sizeof(m->daddr));
	return 0;
}

SEC("xdp")
int meta_drop(struct xdp_md *ctx)
{
	return meta_write(ctx) ? XDP_ABORTED : XDP_DROP;
}

SEC("xdp")
int meta_tail_fw(struct xdp_md *ctx)
{
	if (meta_write(ctx))
		return XDP_ABORTED;
	bpf_tail_call(ctx, &bench_jmp, BENCH_SLOT_FW);
	return XDP_ABORTED;
}

SEC("xdp")
int meta_tail_drop(struct xdp_md *ctx)
{
	if (meta_write(ctx))
		return XDP_ABORTED;
	bpf_tail_call(ctx, &bench_jmp, BENCH_SLOT_DROP);
	return XDP_ABORTED;
}

/* Rewrite the frame for the next packet: protocol, addresses, ports. */
static __always_inline int pkt_write(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct bench_key *k = next_key();
	__u8 *p = data;

	if (!k)
		return -1;
	if (k->family == 4) {
		if (data + BENCH_L3_OFF + 40 > end)
			return -1;
		p[BENCH_L3_OFF + 9] = k->proto;
		__builtin_memcpy(p + BENCH_L3_OFF + 12, &k->saddr[0], 4);
		__builtin_memcpy(p + BENCH_L3_OFF + 16, &k->daddr[0], 4);
		*(__u16 *)(p + BENCH_L3_OFF + 20) = bpf_htons(k->sport);
		*(__u16 *)(p + BENCH_L3_OFF + 22) = bpf_htons(k->dport);
	} else {
		if (data + BENCH_L3_OFF + 60 > end)
			return -1;
		p[BENCH_L3_OFF + 6] = k->proto;
		__builtin_memcpy(p + BENCH_L3_OFF + 8, k->saddr, 16);
		__builtin_memcpy(p + BENCH_L3_OFF + 24, k->daddr, 16);
		*(__u16 *)(p + BENCH_L3_OFF + 40) = bpf_htons(k->sport);
		*(__u16 *)(p + BENCH_L3_OFF + 42) = bpf_htons(k->dport);
	}
	return 0;
}

SEC("xdp")
int pkt_drop(struct xdp_md *ctx)
{
	return pkt_write(ctx) ? XDP_ABORTED : XDP_DROP;
}

SEC("xdp")
int pkt_tail_chain(struct xdp_md *ctx)
{
	if (pkt_write(ctx))
		return XDP_ABORTED;
	bpf_tail_call(ctx, &bench_jmp, BENCH_SLOT_CHAIN);
	return XDP_ABORTED;
}

SEC("xdp")
int pkt_tail_parse(struct xdp_md *ctx)
{
	if (pkt_write(ctx))
		return XDP_ABORTED;
	bpf_tail_call(ctx, &bench_jmp, BENCH_SLOT_PARSE);
	return XDP_ABORTED;
}

SEC("xdp")
int pkt_tail_drop(struct xdp_md *ctx)
{
	if (pkt_write(ctx))
		return XDP_ABORTED;
	bpf_tail_call(ctx, &bench_jmp, BENCH_SLOT_DROP);
	return XDP_ABORTED;
}

SEC("xdp")
int gen_live(struct xdp_md *ctx)
{
	void *data, *end;
	__u16 *w;
	__u32 sum = 0;
	int i;

	if (pkt_write(ctx))
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (data + BENCH_L3_OFF + 20 > end)
		return XDP_ABORTED;
	w = data + BENCH_L3_OFF;
	if ((*(__u8 *)w >> 4) == 4) { /* the stack checks the IPv4 header checksum */
		w[5] = 0;
#pragma unroll
		for (i = 0; i < 10; i++)
			sum += w[i];
		sum = (sum & 0xffff) + (sum >> 16);
		sum = (sum & 0xffff) + (sum >> 16);
		w[5] = (__u16)~sum;
	}
	return bpf_redirect(gen_ifindex, 0);
}
