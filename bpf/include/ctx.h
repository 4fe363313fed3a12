/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Context shim: lets parsers and helpers compile for XDP and TC alike.
 * Every program is written once, for SL_CTX, in <name>.bpf.c; its TC
 * twin <name>_tc.bpf.c defines SL_HOOK_TC and includes it. */
#ifndef SLUICE_CTX_H
#define SLUICE_CTX_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#ifdef SL_HOOK_TC
#define SL_CTX struct __sk_buff
#define CTX_ACT_OK TC_ACT_OK
#define CTX_ACT_DROP TC_ACT_SHOT
#define SL_SEC_HOOK "tc"
#else
#define SL_CTX struct xdp_md
#define CTX_ACT_OK XDP_PASS
#define CTX_ACT_DROP XDP_DROP
#define SL_SEC_HOOK "xdp"
#endif

static __always_inline void *ctx_data(const SL_CTX *ctx)
{
	return (void *)(unsigned long)ctx->data;
}

static __always_inline void *ctx_data_end(const SL_CTX *ctx)
{
	return (void *)(unsigned long)ctx->data_end;
}

/* Bytes on the wire: for an skb that is its whole length, not only the
 * linear part between data and data_end. */
static __always_inline __u32 ctx_len(const SL_CTX *ctx)
{
#ifdef SL_HOOK_TC
	return ctx->len;
#else
	return (__u32)(ctx_data_end(ctx) - ctx_data(ctx));
#endif
}

#endif
