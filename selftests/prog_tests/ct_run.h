/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Running real packets through a private generation (the real entry
 * program and parser, then the spec's stages) for the ct* tests, and
 * reading the conntrack table and counters it made. */
#ifndef SLUICE_CT_RUN_H
#define SLUICE_CT_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include "chain.h"
#include "nf_ct.h"
#include "shared/meta.h"

/* A packet: TCP, UDP, ICMP/ICMPv6 (echo id, or an error quoting inner). */
struct ct_p {
	int family;		/* 4 or 6 */
	uint8_t proto;
	const char *src, *dst;
	uint16_t sport, dport;
	uint8_t flags;		/* TCP */
	uint8_t icmp_type, icmp_code;
	uint16_t icmp_id;
	const struct ct_p *inner; /* ICMP error: the datagram it quotes */
	bool frag_later;	/* a non-first fragment (IPv4) */
	uint16_t payload;	/* bytes after the L4 header */
};

struct ct_rig {
	struct spec *spec;
	struct gen_private gp;
	int table_fd, stats_fd;
	int cpu, ncpus;
	void *percpu;
};

/* spec_json: a document written with ' for ". */
int ct_rig_open(struct ct_rig *r, const char *spec_json);
void ct_rig_close(struct ct_rig *r);
int ct_frame(const struct ct_p *p, uint8_t *buf, size_t cap);
/* One packet through the chain: its metadata and the XDP action. */
int ct_send(struct ct_rig *r, const struct ct_p *p, struct sl_meta *m, uint32_t *retval);
/* The table key of p's flow (the same from either direction). */
void ct_key_of(const struct ct_p *p, struct ct_key *k);
/* The entry of p's flow (either direction): 0, or -ENOENT. */
int ct_lookup(struct ct_rig *r, const struct ct_p *p, struct ct_entry *e);
/* A map of the chain's stages by name (an fd to close), or -ENOENT. */
int ct_rig_map(struct ct_rig *r, const char *name);
/* A raw frame through the chain; out gets the frame as it left
 * (*out_len: its room, then its length). */
int ct_send_raw(struct ct_rig *r, const void *in, size_t len, void *out, uint32_t *out_len,
		struct sl_meta *m, uint32_t *retval);
/* Sum of a ct_stats slot. */
uint64_t ct_stat_get(struct ct_rig *r, unsigned int slot);
/* The reverse of p (addresses and ports swapped). */
struct ct_p ct_rev(const struct ct_p *p, uint8_t flags);

#endif
