/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What the micro benchmark's driver programs (tools/bench/bpf/bench.bpf.c)
 * share with their loader (tools/bench/micro.c). */
#ifndef SLUICE_BENCH_ABI_H
#define SLUICE_BENCH_ABI_H

#include <linux/types.h>

/* One precomputed packet: what the driver writes into sl_meta (fw stage
 * alone) or into the frame (through the entry program), and the key of
 * the hash and LPM baselines. */
struct bench_key {
	__u8 family;	 /* 4 or 6 */
	__u8 proto;	 /* IPPROTO_TCP / IPPROTO_UDP */
	__u16 pad;
	__u16 sport, dport; /* host order */
	__u32 saddr[4];	 /* network order; IPv4 in [0] */
	__u32 daddr[4];
};
_Static_assert(sizeof(struct bench_key) == 40, "bench_key ABI");

/* Tail-call slots of the driver's PROG_ARRAY (map bench_jmp). */
#define BENCH_SLOT_FW 0	    /* the real fw stage */
#define BENCH_SLOT_DROP 1   /* a program that only drops */
#define BENCH_SLOT_CHAIN 2  /* the real entry program, fw stage in its root */
#define BENCH_SLOT_PARSE 3  /* the real entry program, empty root */
#define BENCH_NSLOTS 4

struct bench_lpm4_key {
	__u32 plen;
	__u32 addr;
};

struct bench_lpm6_key {
	__u32 plen;
	__u32 addr[4];
};

struct bench_addr6 {
	__u32 a[4];
};

/* Frame layout the packet drivers rewrite: Ethernet, IPv4 or IPv6 without
 * options or extension headers, then 20 bytes of L4 (a TCP header, or a
 * UDP header and 12 bytes of payload). */
#define BENCH_L3_OFF 14
#define BENCH_FRAME4_LEN 64
#define BENCH_FRAME6_LEN 80

#endif
