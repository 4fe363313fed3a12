/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Per-packet metadata: written by the entry program's parser, read and
 * extended by every stage of the chain. It lives in a per-CPU scratch array
 * (one slot): a packet's programs, entry and all its tail calls, run on one
 * CPU without preemption, so the slot belongs to that packet until its
 * verdict. Userspace reads it after BPF_PROG_TEST_RUN (`sluice trace`) to
 * see what each stage decided.
 */
#ifndef SLUICE_SHARED_META_H
#define SLUICE_SHARED_META_H

#include <linux/types.h>

#define SL_MAX_STAGES 8	     /* functions in one chain */
/* Slots of a generation's PROG_ARRAY: its stages, then (slot nstages) the
 * commit program of a stage that defers work to the chain's end
 * (bpf/include/stage.h, stage_leave). */
#define SL_CHAIN_SLOTS (SL_MAX_STAGES + 1)
#define SL_MAX_VLAN 2	     /* VLAN tags the parser walks */
#define SL_MAX_IPV6_EXTHDR 8 /* IPv6 extension headers the parser walks */

/* sl_meta.flags */
#define SL_F_HAS_L4 0x0001	/* ports (or ICMP type/code) are valid */
#define SL_F_FRAG 0x0002	/* packet is a fragment (first or not) */
#define SL_F_FRAG_LATER 0x0004	/* a non-first fragment: no L4 header */
#define SL_F_IPV4_OPTS 0x0008	/* IPv4 header carries options */
#define SL_F_IPV6_EXT 0x0010	/* IPv6 extension headers were walked */

/* sl_meta.commit: work a stage left for the commit program, done only when
 * the packet leaves the chain accepted (stage.h, stage_leave). */
#define SL_COMMIT_CT 0x01	/* a conntrack insert or state change */

/* A stage's verdict for the trace and the final result. */
enum sl_verdict {
	SL_VERDICT_NONE = 0,
	SL_VERDICT_CONTINUE = 1, /* stage done, go to the next */
	SL_VERDICT_PASS = 2,	 /* chain done: pass to the stack */
	SL_VERDICT_DROP = 3,
	SL_VERDICT_AUDIT = 4,	 /* would have dropped; audit mode continued */
};

/* One record per stage the packet went through. */
struct sl_trace_rec {
	__u8 verdict;	 /* enum sl_verdict */
	__u8 reason;	 /* enum sl_drop_reason when verdict is DROP or AUDIT */
	__u16 stage;	 /* index in the chain */
	__u32 rule;	 /* matched rule index + 1, 0 = default action */
};
_Static_assert(sizeof(struct sl_trace_rec) == 8, "sl_trace_rec ABI");

struct sl_meta {
	__u32 gen;	   /* generation that judges this packet */
	__u32 pkt_len;	   /* bytes on the wire (from data to data_end) */
	__u16 flags;	   /* SL_F_* */
	__u8 family;	   /* 4 or 6, 0 when not IP */
	__u8 l4proto;	   /* IPPROTO_* of the upper layer */
	__u16 l3_off;	   /* from the start of the frame */
	__u16 l4_off;	   /* valid with SL_F_HAS_L4 */
	__u16 sport;	   /* host order; ICMP: code */
	__u16 dport;	   /* host order; ICMP: type */
	__u16 eth_proto;   /* host order, after VLAN tags */
	__u8 vlan_depth;
	__u8 tcp_flags;
	__u32 saddr[4];	   /* network order; IPv4 in saddr[0] */
	__u32 daddr[4];
	__u8 nstages;	   /* trace records used */
	__u8 verdict;	   /* final enum sl_verdict */
	__u8 reason;	   /* final enum sl_drop_reason */
	__u8 ct_state;	   /* SL_CT_* (shared/ct.h), set by a conntrack
			    * stage; 0 when none ran */
	__u8 commit;	   /* SL_COMMIT_*: pending until the packet
			    * leaves the chain accepted */
	__u8 leave_act;	   /* the action it leaves with (XDP_PASS,
			    * XDP_TX, TC_ACT_OK, ...), for the commit
			    * program to return */
	__u16 pad2;
	struct sl_trace_rec trace[SL_MAX_STAGES];
};
_Static_assert(sizeof(struct sl_meta) == 64 + 8 * SL_MAX_STAGES, "sl_meta ABI");

/* Per-packet and per-byte counter value of every counter map. */
struct sl_counter {
	__u64 packets;
	__u64 bytes;
};
_Static_assert(sizeof(struct sl_counter) == 16, "sl_counter ABI");

/* Per-generation counters (packets judged, verdicts), one per CPU. */
struct sl_gen_stats {
	__u64 packets;
	__u64 passed;
	__u64 dropped;
	__u64 bytes;
};
_Static_assert(sizeof(struct sl_gen_stats) == 32, "sl_gen_stats ABI");

#endif
