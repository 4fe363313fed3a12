/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Conntrack ABI: the flow table the conntrack stage keeps, its counters
 * and its config. docs/conntrack.md describes the states and timeouts.
 *
 * The table (map ct_table, LRU_HASH, pinned at the chain root) and its
 * counters (map ct_stats) belong to the chain, not to a generation: every
 * generation's conntrack stage reuses them, so flows survive applies,
 * rollbacks and agent restarts.
 *
 * A key names a flow the same way from both ends: its two endpoints are
 * stored in canonical order, the lower (address, port) first, and the
 * entry says which endpoint opened the flow (ct_entry.orig). One lookup
 * serves a packet of either direction.
 */
#ifndef SLUICE_SHARED_CT_H
#define SLUICE_SHARED_CT_H

#include <linux/types.h>

/* sl_meta.ct_state: what the conntrack stage says about the packet; the
 * firewall's rule field `state` matches it (bit 1 << state). 0 when no
 * conntrack stage ran before (or the packet is not IP). */
#define SL_CT_NONE 0
#define SL_CT_NEW 1	    /* opens a flow, or its opener has had no reply yet */
#define SL_CT_ESTABLISHED 2 /* a flow that has seen packets both ways */
#define SL_CT_RELATED 3	    /* an ICMP error about a tracked flow */
#define SL_CT_INVALID 4	    /* fits no flow and may not open one */
#define SL_CT_NSTATES 5

/* ct_entry.state */
enum ct_proto_state {
	CT_S_NONE = 0,
	CT_S_TCP_SYN_SENT,	/* opener's SYN seen */
	CT_S_TCP_SYN_RECV,	/* the answer's SYN+ACK seen */
	CT_S_TCP_ESTABLISHED,	/* the opener's ACK of it seen */
	CT_S_TCP_FIN_WAIT,	/* one side sent FIN */
	CT_S_TCP_CLOSING,	/* both sides sent FIN */
	CT_S_TCP_CLOSE,		/* RST seen */
	CT_S_UDP,		/* no reply yet */
	CT_S_UDP_REPLIED,	/* packets both ways */
	CT_S_ICMP,		/* echo request seen (reply: CT_F_SEEN_REPLY) */
	CT_S_OTHER,		/* any other protocol */
	CT_S__MAX,
};

/* Timeouts, per state, in .rodata (ct_config.timeout_ns[]); indexes: */
enum ct_timeout {
	CT_TO_TCP_SYN_SENT = 0,
	CT_TO_TCP_SYN_RECV,
	CT_TO_TCP_ESTABLISHED,
	CT_TO_TCP_FIN_WAIT,
	CT_TO_TCP_CLOSING,
	CT_TO_TCP_CLOSE,
	CT_TO_UDP,
	CT_TO_UDP_REPLIED,
	CT_TO_ICMP,
	CT_TO_OTHER,
	CT_TO__MAX,
};

struct ct_key {
	__u32 addr[2][4];	/* network order; IPv4 in [i][0], rest 0 */
	__u16 port[2];		/* host order; ICMP echo: the id in both;
				 * other protocols: 0 */
	__u8 proto;		/* IPPROTO_* */
	__u8 family;		/* 4 or 6 */
	__u16 pad;		/* 0 */
};
_Static_assert(sizeof(struct ct_key) == 40, "ct_key ABI");

/* ct_entry.flags */
#define CT_F_SEEN_REPLY 0x01	/* a packet went from the answerer back */
#define CT_F_FIN_ORIG 0x02	/* the opener sent FIN */
#define CT_F_FIN_REPLY 0x04	/* the answerer sent FIN */

/* Direction index of the counters: 0 from the opener, 1 back to it. */
#define CT_DIR_ORIG 0
#define CT_DIR_REPLY 1

struct ct_entry {
	__u64 expires_ns;	/* CLOCK_BOOTTIME; past it the entry is dead
				 * (the stage treats it as absent, the GC
				 * removes it) */
	__u64 created_ns;	/* CLOCK_BOOTTIME */
	__u64 packets[2];	/* per direction (CT_DIR_*) */
	__u64 bytes[2];
	__u8 state;		/* enum ct_proto_state */
	__u8 orig;		/* key endpoint (0 or 1) that opened the flow */
	__u8 flags;		/* CT_F_* */
	__u8 pad[5];
};
_Static_assert(sizeof(struct ct_entry) == 56, "ct_entry ABI");

/* What the ct stage leaves for its commit program (map ct_pending, a
 * PERCPU_ARRAY of one, the ct object's own): done only when the packet
 * leaves the chain accepted (bpf/include/stage.h, stage_leave). Valid
 * while the packet's sl_meta.commit has SL_COMMIT_CT (the entry program
 * clears that for every packet). In shared/ for the tests that drive
 * ct_commit directly. */
#define CT_PEND_OPEN 1 /* create the flow: insert it, or take over the dead
			* or closed entry of its key */
#define CT_PEND_STEP 2 /* a live flow's state change */

struct ct_pending {
	struct ct_key key;
	struct ct_entry entry;	/* OPEN: the entry to create; STEP: its
				 * state, flags and expires_ns to write, and
				 * created_ns of the flow it steps */
	__u64 now_ns;		/* when the stage judged the packet */
	__u8 op;		/* CT_PEND_* */
	__u8 old_state;		/* STEP: the entry as the stage saw it */
	__u8 old_flags;
	__u8 pad[5];
};
_Static_assert(sizeof(struct ct_pending) == 112, "ct_pending ABI");

/* Counters (map ct_stats, PERCPU_ARRAY of __u64, CT_STAT_SLOTS entries,
 * shared by every generation). Append only: the map is pinned. */
#define CT_STATS(X)                                                            \
	X(NEW, "new")			/* packets per sl_meta.ct_state */     \
	X(ESTABLISHED, "established")                                         \
	X(RELATED, "related")                                                 \
	X(INVALID, "invalid")                                                 \
	X(CREATED, "created")		/* entries inserted */                 \
	X(REUSED, "reused_expired")	/* a dead entry taken over in place */ \
	X(INSERT_FULL, "insert_failed_full")	/* -E2BIG / -ENOMEM */         \
	X(INSERT_BUSY, "insert_failed_busy")	/* -EBUSY and lock contention */ \
	X(GC_REMOVED, "gc_removed")	/* written by the userspace sweep */   \
	X(UNTRACKED, "untracked")	/* IP packets the stage does not track \
					 * (ICMP other than echo and errors) */

#define CT_STAT_ENUM(name, str) CT_STAT_##name,
enum ct_stat {
	CT_STATS(CT_STAT_ENUM)
	CT_STAT__MAX,
};
#undef CT_STAT_ENUM
#define CT_STAT_SLOTS 32
_Static_assert(CT_STAT__MAX <= CT_STAT_SLOTS, "ct_stats map too small");

/* The stage's config, in .rodata (const volatile ct_cfg). */
struct ct_config {
	__u64 timeout_ns[CT_TO__MAX];
};
_Static_assert(sizeof(struct ct_config) == 8 * CT_TO__MAX, "ct_config ABI");

/* Table size: bounds of the spec's tableSize. */
#define CT_TABLE_MIN 1024
#define CT_TABLE_MAX (16u << 20)
#define CT_TABLE_DEFAULT 65536

#endif
