/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The stage contract: every network function is one program of this shape.
 *
 *	SEC(SL_SEC_HOOK) int fw_stage(SL_CTX *ctx)
 *	{
 *		struct sl_meta *meta = stage_begin(ctx);
 *		if (!meta)
 *			return CTX_ACT_DROP;		// counted by stage_begin
 *		...
 *		return stage_next(ctx, meta, SL_VERDICT_CONTINUE, rule);
 *		return stage_drop(ctx, meta, SL_DROP_..., rule);
 *		return stage_audit(ctx, meta, SL_DROP_..., rule); // audit mode
 *		return stage_leave(ctx, meta, XDP_TX);	// ends the chain itself
 *	}
 *
 * The loader sets sl_gen, sl_stage and sl_nstages in .rodata before load. The
 * first stage stamps the generation into the metadata; later stages check
 * it. A packet can only reach a stage through its own generation's
 * sl_chain, so a mismatch is a bug, dropped and counted, never passed.
 *
 * Commit at the end of the chain: a stage may leave work that must happen
 * only if the packet is accepted (conntrack's insert of a new flow: a flow
 * a later stage drops must leave no state). It sets a bit in meta->commit
 * and keeps what to do in its own per-CPU scratch; its loader puts a commit
 * program in the chain's slot sl_nstages. Every path out of the chain that
 * accepts the packet goes through stage_leave(): the pass at the end of
 * the last stage, and a stage that transmits or redirects (it passes its
 * action). stage_leave tail-calls the commit program when there is work;
 * that program does it and returns the action. A drop never commits.
 */
#ifndef SLUICE_STAGE_H
#define SLUICE_STAGE_H

#include "chain_maps.h"

const volatile __u32 sl_gen = 0;
const volatile __u32 sl_stage = 0;
const volatile __u32 sl_nstages = 1;
/* Test hook, set only under SLUICE_TEST_FAULT=verifier so the failure path
 * of a real verifier rejection can be tested. Clear, its branch is dead
 * code the verifier prunes: it costs nothing in production. */
const volatile __u32 sl_test_verifier_reject = 0;

/* This generation's chain: slot i holds stage i; slot sl_nstages the
 * commit program, when a stage of the chain has one (stage_leave). */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, SL_CHAIN_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} sl_chain SEC(".maps");

/* This generation's own counters, one slot. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_gen_stats);
} sl_gen_stats SEC(".maps");

static __always_inline struct sl_gen_stats *gen_stats_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&sl_gen_stats, &zero);
}

static __always_inline void trace_add(struct sl_meta *meta, __u8 verdict,
				      __u8 reason, __u32 rule)
{
	__u32 i = meta->nstages;

	if (i >= SL_MAX_STAGES)
		return;
	meta->trace[i].verdict = verdict;
	meta->trace[i].reason = reason;
	meta->trace[i].stage = sl_stage;
	meta->trace[i].rule = rule;
	meta->nstages = i + 1;
}

static __always_inline int stage_drop(SL_CTX *ctx, struct sl_meta *meta,
				      __u32 reason, __u32 rule)
{
	struct sl_gen_stats *gs = gen_stats_get();

	trace_add(meta, SL_VERDICT_DROP, reason, rule);
	meta->verdict = SL_VERDICT_DROP;
	meta->reason = reason;
	drop_count(reason, meta->pkt_len);
	if (gs)
		gs->dropped++;
	return CTX_ACT_DROP;
}

static __always_inline struct sl_meta *stage_begin(SL_CTX *ctx)
{
	struct sl_meta *meta = meta_get();
	struct sl_gen_stats *gs;

	if (!meta) {
		drop_count(SL_DROP_NO_META, ctx_len(ctx));
		return NULL;
	}
	if (sl_test_verifier_reject) {
		/* verifier: rejected on purpose, a read through a scalar */
		return (struct sl_meta *)(unsigned long)bpf_get_prandom_u32();
	}
	if (sl_stage == 0) {
		meta->gen = sl_gen;
		gs = gen_stats_get();
		if (gs) {
			gs->packets++;
			gs->bytes += meta->pkt_len;
		}
	} else if (meta->gen != sl_gen) {
		stage_drop(ctx, meta, SL_DROP_GEN_MISMATCH, 0);
		return NULL;
	}
	return meta;
}

/* The packet is accepted: count it and hand back its action. At TC a pass
 * (TC_ACT_OK) leaves as TC_ACT_UNSPEC (tcx calls it TCX_NEXT): the next
 * cls_bpf filter on the hook runs, and with none the stack takes the
 * packet as with TC_ACT_OK. That is how sluice-cni's pod datapath
 * (bpf/pod.bpf.c, priority 2) delivers what a pod's chain passed. */
static __always_inline int stage_pass(struct sl_meta *meta, int act)
{
	struct sl_gen_stats *gs = gen_stats_get();

	meta->verdict = SL_VERDICT_PASS;
	if (gs)
		gs->passed++;
#ifdef SL_HOOK_TC
	if (act == TC_ACT_OK)
		return TC_ACT_UNSPEC;
#endif
	return act;
}

/* The packet leaves the chain accepted, with act (CTX_ACT_OK, or a stage's
 * own XDP_TX / redirect action, its bpf_redirect*() already called: the
 * target is per-CPU state a tail call keeps). Work a stage deferred to
 * this point (meta->commit) is done first by the commit program in slot
 * sl_nstages, which returns act; it is there whenever a stage that defers
 * is in the chain, so a failed call is a bug: dropped, counted. */
static __always_inline int stage_leave(SL_CTX *ctx, struct sl_meta *meta, int act)
{
	if (meta->commit) {
		meta->leave_act = (__u8)act;
		bpf_tail_call(ctx, &sl_chain, sl_nstages);
		return stage_drop(ctx, meta, SL_DROP_TAIL_CALL, 0);
	}
	return stage_pass(meta, act);
}

/* Go on after this stage's trace record: tail call the next stage, or
 * leave the chain when this is the last one. */
static __always_inline int stage_go_on(SL_CTX *ctx, struct sl_meta *meta)
{
	if (sl_stage + 1 >= sl_nstages) {
		if (!meta->commit)
			return stage_pass(meta, CTX_ACT_OK);
		/* stage_leave, sharing the tail call below: the commit
		 * program's slot, sl_nstages, is sl_stage + 1 here */
		meta->leave_act = CTX_ACT_OK;
	}
	bpf_tail_call(ctx, &sl_chain, sl_stage + 1);
	/* The slot is empty or the chain is too deep: fail closed. */
	return stage_drop(ctx, meta, SL_DROP_TAIL_CALL, 0);
}

/* Record this stage's verdict (CONTINUE or AUDIT) and go on. */
static __always_inline int stage_next(SL_CTX *ctx, struct sl_meta *meta,
				      __u8 verdict, __u32 rule)
{
	trace_add(meta, verdict, 0, rule);
	return stage_go_on(ctx, meta);
}

/* Audit mode: record the drop this stage would have made (verdict AUDIT with
 * its reason) and go on. */
static __always_inline int stage_audit(SL_CTX *ctx, struct sl_meta *meta,
				       __u32 reason, __u32 rule)
{
	trace_add(meta, SL_VERDICT_AUDIT, reason, rule);
	return stage_go_on(ctx, meta);
}

#endif
