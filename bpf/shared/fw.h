/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Firewall ABI: the map images userspace compiles from a spec and the
 * firewall stage reads. docs/firewall.md describes the classifier.
 *
 * Classification in short: every rule is expanded into atoms (one src
 * prefix, one dst prefix, one protocol, one port range each). Three indexes
 * map a packet to candidate lists of atoms: its source address class, its
 * destination address class and its destination port class. Each candidate
 * list holds, in rule order, every atom that could match a packet of that
 * class, cut after the first atom that surely matches. The stage looks the
 * indexes up (most selective first, stopping once a list is short), scans
 * the shortest list and checks each atom exactly; the first match wins.
 * Address classes come from a 16-bit root and compressed 8-bit nodes that
 * end in short prefix tails (one table per family); their leaves hold
 * short lists inline.
 */
#ifndef SLUICE_SHARED_FW_H
#define SLUICE_SHARED_FW_H

#include <linux/types.h>

/* IPv4 address table (map fw_lpm4, ARRAY of union fw_lpm4_elem, 64 B: one
 * cache line each). Entries are __u32 numbered across elements: entry E is
 * e[E % 16] of element E / 16. The source root is entries [0, 65536), the
 * destination root [65536, 131072), indexed by the top 16 bits of the
 * address. An entry is a leaf (FW_LPM_CHUNK clear), FW_LPM_CHUNK | n:
 * element n is a node standing for a 256-entry chunk indexed by the next 8
 * bits (a node's entry may point to another node, for the last 8), or
 * FW_LPM_CHUNK | FW_LPM_TAIL | n: element n is a tail (below). A leaf is
 * the address's class (0: no prefix of this field covers it), or, for a
 * short list, the list itself (FW_LPM_LIST): that saves the bucket lookup.
 * fw_lpm6 uses the same entries and nodes.
 *
 * A node (poptrie-style) stores its chunk's 256 entries as runs of equal
 * entries: bit i of bm is set when entry i starts a run (bit 0 always is).
 * Entry i belongs to run r = (runs starting before i's 64-bit word) +
 * popcount(bm[i / 64] & bits 0..i % 64) - 1. A chunk of at most
 * FW_LPM4_NODE_INLINE runs (nearly all of them: one prefix makes at most 3)
 * keeps them in v[], so one level costs one cache line; else (cnt byte 0
 * is FW_LPM4_NODE_EXT) run r is entry v[0] + r of the table. */
#define FW_LPM4_ROOT_BITS 16
#define FW_LPM4_ROOT_SIZE (1u << FW_LPM4_ROOT_BITS)
#define FW_LPM4_CHUNK_SIZE 256u	  /* entries of a (node's) chunk */
#define FW_LPM4_ELEM_ENTRIES 16u  /* entries per map element */
#define FW_LPM4_SRC_ROOT 0u
#define FW_LPM4_DST_ROOT FW_LPM4_ROOT_SIZE
#define FW_LPM4_FIRST_NODE (2 * FW_LPM4_ROOT_SIZE / FW_LPM4_ELEM_ENTRIES)
#define FW_LPM4_NODE_INLINE 7u
#define FW_LPM4_NODE_EXT 1u
#define FW_LPM_CHUNK 0x80000000u

struct fw_lpm4_node {
	__u64 bm[4];	/* run starts, entry i is bit i % 64 of bm[i / 64] */
	__u32 cnt;	/* byte w (1..3): runs starting in bm[0..w-1];
			 * byte 0: FW_LPM4_NODE_EXT or 0 */
	__u32 v[FW_LPM4_NODE_INLINE]; /* the runs' entries; EXT: v[0] is the
				       * table entry of the first run */
};

/* fw_atom*.flags */
#define FW_ATOM_L4 0x01	   /* constrains ports or ICMP type/code */
#define FW_ATOM_AUDIT 0x02 /* the rule is in audit mode: count, never decide */
#define FW_ATOM_PROTO 0x04 /* proto is checked (else any protocol) */
#define FW_ATOM_DENY 0x08  /* the rule denies (else allows) */
#define FW_ATOM_STATE 0x10 /* states is checked: the packet's sl_meta.ct_state
			    * must be one of its bits (1 << SL_CT_*) */

/* An atom: one src prefix x one dst prefix x one source port range x one
 * destination port range of one rule. Addresses are in host order with the
 * host bits zero; an address matches when its top slen (dlen) bits equal
 * src (dst); length 0 is "any". Ports are host order and inclusive; an atom
 * without FW_ATOM_L4 carries 0..65535 in both. Atoms of one rule never
 * overlap (the compiler drops covered prefixes and merges port ranges), so
 * at most one atom per rule matches a packet. counter is the rule's slot in
 * fw_counters: the loader stamps it from fw_rules, so that deciding needs
 * no other lookup. */
struct fw_atom4 {
	__u32 src, dst;
	__u16 sport_lo, sport_hi; /* ICMP: code */
	__u16 dport_lo, dport_hi; /* ICMP: type */
	__u32 rule;		  /* index in fw_rules */
	__u32 counter;
	__u8 slen, dlen;
	__u8 proto;		  /* IPPROTO_*, with FW_ATOM_PROTO */
	__u8 flags;		  /* FW_ATOM_* */
	__u8 states;		  /* with FW_ATOM_STATE */
	__u8 pad[3];
};
_Static_assert(sizeof(struct fw_atom4) == 32, "fw_atom4 ABI");

/* A range of the IPv4 table with at most FW_LPM4_TAIL_PFX prefixes longer
 * than its depth ends in a tail (entry FW_LPM_CHUNK | FW_LPM_TAIL | n,
 * element n): the prefixes, longest first, and the leaf of the range's best
 * shorter prefix; an unused slot has length 0 and leaf = fallback. With
 * prefixes spread over the space nearly every /16 holding a longer one
 * holds at most 4: the root and a tail, where DIR-16-8-8 took one or two
 * nodes. fw_lpm6 has the same, with 2 prefixes of 128 bits. */
#define FW_LPM_TAIL 0x40000000u
#define FW_LPM4_TAIL_PFX 4
struct fw_lpm4_tail {
	__u32 addr[FW_LPM4_TAIL_PFX]; /* host order, masked to plen */
	__u32 leaf[FW_LPM4_TAIL_PFX];
	__u32 fallback;
	__u8 plen[FW_LPM4_TAIL_PFX];
	__u8 inl;		      /* bit i: atom i of the group is the
				       * first atom of leaf[i]'s list */
	__u8 pad[3];
};

/* Inline first atoms (IPv4 only). An IPv4 tail is the first element of a
 * group of FW_LPM4_TAIL_ELEMS: the tail, then two elements of two atoms
 * each. Atom i of the group (atom[i % 2] of element n + 1 + i / 2) is a
 * copy of the first atom of the list leaf[i] names, counter slot stamped,
 * when bit i of inl says so (the list is not empty). The stage checks the
 * list's first atom there: when it decides, as it usually does, a packet
 * reads no fw_cand4 line (on another page), and the atom's address does
 * not wait for the tail's data, only for the slot, which the core
 * usually predicts. An unused slot (plen 0) holds the fallback's atom; a
 * tail with four prefixes has no inline atom for its fallback. A group
 * never straddles a 4 KiB page (the builder pads before it): one TLB
 * entry for its three lines. */
#define FW_LPM4_TAIL_ELEMS 3u
#define FW_LPM4_PAGE_ELEMS 64u

union fw_lpm4_elem {
	__u32 e[FW_LPM4_ELEM_ENTRIES];
	struct fw_lpm4_node node;
	struct fw_lpm4_tail tail;
	struct fw_atom4 atom[2];
};
_Static_assert(sizeof(union fw_lpm4_elem) == 64, "fw_lpm4_elem ABI");

/* The port table (map fw_port_cls) uses chunks of 256 entries. */
struct fw_chunk {
	__u32 e[FW_LPM4_CHUNK_SIZE];
};
_Static_assert(sizeof(struct fw_chunk) == 1024, "fw_chunk ABI");

/* Leaf = FW_LPM_LIST | len << FW_LIST_LEN_SHIFT | off: the candidate list
 * fw_cand[off, off + len) of the index; without FW_LPM_LIST, a class. */
#define FW_LPM_LIST 0x40000000u
#define FW_LIST_LEN_SHIFT 24
#define FW_LIST_MAX_LEN 63u	   /* 6 bits */
#define FW_LIST_MAX_OFF 0xffffffu /* 24 bits */

/* Address fields */
#define FW_FIELD_SRC 0
#define FW_FIELD_DST 1

/* IPv6 address classes (map fw_lpm6, ARRAY of union fw_lpm6_elem): the
 * same compressed nodes as fw_lpm4 (a 16-bit root per field, entries
 * [0, 65536) for the source and [65536, 131072) for the destination, then
 * nodes of 8 bits each), but only as deep as needed: an entry may instead
 * point to a tail (FW_LPM_CHUNK | FW_LPM_TAIL | n), element n holding
 * the at most FW_LPM6_TAIL_PFX prefixes longer than the entry's depth
 * inside its range, longest first, and the leaf of the range's best shorter
 * prefix. A range with more prefixes gets a node for the next 8 bits. With
 * prefixes spread over the space, the tail comes one or two levels below
 * the root: 3-4 dependent cache lines whatever the prefix lengths. */
#define FW_LPM6_TAIL_PFX 2
#define FW_LPM6_FIRST_NODE FW_LPM4_FIRST_NODE
#define FW_LPM6_MAX_LEVELS 14 /* nodes below the root: (128 - 16) / 8 */

struct fw_lpm6_tail {
	__u32 addr[FW_LPM6_TAIL_PFX][4]; /* host-order words, masked to plen */
	__u32 leaf[FW_LPM6_TAIL_PFX];
	__u32 fallback;			 /* leaf when no prefix matches */
	__u8 plen[FW_LPM6_TAIL_PFX];	 /* unused slot: 0 with leaf = fallback */
	__u8 pad[6];
};

union fw_lpm6_elem {
	__u32 e[FW_LPM4_ELEM_ENTRIES];
	struct fw_lpm4_node node;
	struct fw_lpm6_tail tail;
};
_Static_assert(sizeof(union fw_lpm6_elem) == 64, "fw_lpm6_elem ABI");

/* Destination port (ICMP: type) to port class: map fw_port_cls, ARRAY of
 * 256 struct fw_chunk; port p's class is e[p % 256] of chunk p / 256. */
#define FW_PORT_SPACE 65536u

/* Candidate list of one class: atoms fw_cand[off .. off+len) of the
 * family's candidate array (maps fw_cand4 / fw_cand6). The array starts
 * with every atom in rule order, [0, natoms): the fallback list when no
 * index applies; the lists of the indexes follow, as copies of the atoms, so
 * a scan reads one contiguous run of memory. Buckets (maps fw_bkt4 /
 * fw_bkt6) are indexed by class: source classes first, then destination
 * classes, then port classes; the stage adds the index's base (in .rodata)
 * to the class the index returned. */
struct fw_bucket {
	__u32 off;
	__u32 len;
};
_Static_assert(sizeof(struct fw_bucket) == 8, "fw_bucket ABI");

struct fw_atom6 {
	__u32 src[4], dst[4];	  /* host-order words */
	__u16 sport_lo, sport_hi;
	__u16 dport_lo, dport_hi;
	__u32 rule;
	__u32 counter;
	__u8 slen, dlen;
	__u8 proto;
	__u8 flags;
	__u8 states;
	__u8 pad[3];
};
_Static_assert(sizeof(struct fw_atom6) == 56, "fw_atom6 ABI");

/* fw_rule.action */
#define FW_ACT_ALLOW 1
#define FW_ACT_DENY 2
/* fw_rule.flags */
#define FW_RULE_AUDIT 0x01

/* One per rule, in spec order (map fw_rules, ARRAY). */
struct fw_rule {
	__u32 counter; /* slot in the chain's shared fw_counters map */
	__u8 action;   /* FW_ACT_* */
	__u8 flags;    /* FW_RULE_* */
	__u16 pad;
};
_Static_assert(sizeof(struct fw_rule) == 8, "fw_rule ABI");

/* Rule ids, for people reading maps with bpftool (map fw_rule_ids). */
#define FW_RULE_ID_LEN 64
struct fw_rule_id {
	char id[FW_RULE_ID_LEN];
};
_Static_assert(sizeof(struct fw_rule_id) == FW_RULE_ID_LEN, "fw_rule_id ABI");

/* Shared, pinned counters (map fw_counters, a flat ARRAY of struct
 * sl_counter with FW_COUNTER_SLOTS per possible CPU, CPU-major: CPU c's
 * counter of slot s is element c * FW_COUNTER_SLOTS + s). Userspace gives
 * every (function, rule id) a slot that stays the same across generations,
 * so the counters survive them; slot 0 is never used. */
#define FW_COUNTER_SLOTS (3 * 100000 + 1024)

/* Deferred counting (docs/firewall.md, "Counters"). At 100k rules a
 * counter update is a cache miss that nothing else overlaps: the packet's
 * last dependent access. The firewall stage therefore appends (slot, bytes)
 * to its CPU's batch and, when the batch is full, folds all FW_DEFER_LEN
 * into their counters at once, where the misses overlap one another.
 *
 * The batch lives in fw_counters itself, in FW_DEFER_ELEMS elements at
 * FW_DEFER_BASE of each CPU's part, so that it is shared by every
 * generation like the counters (nothing pending is lost at a commit) and
 * read through the same mapping: element 0 holds the fold sequence in
 * .packets (odd while a fold runs) and the count of pending entries in
 * .bytes; elements 1.. hold the entries two per element (.packets, then
 * .bytes), each slot << 32 | bytes. Slots from FW_DEFER_BASE up are never
 * given to a rule. Readers add the pending entries (user/lib/fw_counters.c
 * says why a concurrent read never counts one twice). */
#define FW_DEFER_LEN 16
#define FW_DEFER_ELEMS (1 + FW_DEFER_LEN / 2)
/* 64-byte aligned (the part's stride is a multiple of 4 elements) */
#define FW_DEFER_BASE (FW_COUNTER_SLOTS - 12)
/* Slots a rule may have: 1 .. FW_RULE_SLOTS - 1. */
#define FW_RULE_SLOTS FW_DEFER_BASE
_Static_assert(FW_COUNTER_SLOTS % 4 == 0 && FW_DEFER_BASE % 4 == 0 && FW_DEFER_LEN % 2 == 0 &&
	       FW_DEFER_BASE + FW_DEFER_ELEMS <= FW_COUNTER_SLOTS, "fw_counters batch layout");

/* Cap on atoms scanned per packet: a safety net for the verifier and the
 * CPU. The compiler rejects specs whose worst candidate scan is above it;
 * the stage drops with FW_SCAN_LIMIT if it ever gets there. */
#define FW_MAX_SCAN 4096

/* The three indexes, in fw_fam_cfg.base[] and .order[]. */
#define FW_IDX_SRC 0
#define FW_IDX_DST 1
#define FW_IDX_PORT 2
#define FW_IDX_NONE 0xff

/* Stop looking up further indexes once a list this short is in hand: one
 * more lookup would cost about as much as it could save. */
#define FW_SCAN_GOOD4 2
#define FW_SCAN_GOOD6 4

/* Per address family part of the stage config. */
struct fw_fam_cfg {
	__u32 base[3];	  /* bucket of class 0 of each index (FW_IDX_*) */
	__u32 natoms;	  /* the fallback list: fw_cand[0, natoms) */
	__u32 scan_good;  /* FW_SCAN_GOOD4/6; tests set 0 to take every lookup */
	__u8 order[3];	  /* indexes to look up, most selective first;
			   * FW_IDX_NONE ends the list (field unused or not
			   * indexed) */
	__u8 pad;
};
_Static_assert(sizeof(struct fw_fam_cfg) == 24, "fw_fam_cfg ABI");

/* The stage's whole config, in .rodata (const volatile fw_cfg): set before
 * load, so the verifier prunes what a rule set does not use. */
struct fw_config {
	struct fw_fam_cfg f4, f6;
	__u32 default_counter;	/* fw_counters slot of the default action */
	__u8 default_action;	/* FW_ACT_* */
	__u8 audit;		/* function-wide audit mode */
	__u8 pad2[2];
	__u32 features;		/* FW_FEAT_*: checks some rule needs (the
				 * verifier prunes the others) */
	__u32 pad;
};
_Static_assert(sizeof(struct fw_config) == 64, "fw_config ABI");

/* fw_config.features */
#define FW_FEAT_STATE 0x1	/* a rule matches conntrack states */

#endif
