// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Entry (root) program: attached once per attach point through a pinned
 * bpf_link. It parses the packet into the per-CPU metadata and tail-calls
 * slot 0 of sl_root, which holds the live generation's first stage. Commit
 * and rollback replace that one slot; this program only changes when sluice
 * itself is upgraded.
 */
#include "chain_maps.h"
#include "parse/packet.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* One slot: the live generation's stage 0. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} sl_root SEC(".maps");

static __always_inline int entry_drop(struct sl_meta *meta, __u32 reason)
{
	meta->verdict = SL_VERDICT_DROP;
	meta->reason = reason;
	drop_count(reason, meta->pkt_len);
	return CTX_ACT_DROP;
}

SEC(SL_SEC_HOOK)
int sl_entry(SL_CTX *ctx)
{
	struct sl_meta *meta = meta_get();
	int ret;

	if (!meta) {
		drop_count(SL_DROP_NO_META, ctx_len(ctx));
		return CTX_ACT_DROP;
	}
	__builtin_memset(meta, 0, sizeof(*meta));
	meta->pkt_len = ctx_len(ctx);

	ret = parse_packet(ctx, meta);
	if (ret < 0)
		return entry_drop(meta, -ret);

	bpf_tail_call(ctx, &sl_root, 0);
	/* No generation committed (or it was torn down): fail closed. */
	return entry_drop(meta, SL_DROP_NO_GENERATION);
}
