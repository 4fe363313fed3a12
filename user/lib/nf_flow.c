// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The expiry sweep and the counters of the load balancer's and the NAT's
 * flow tables (nf_flow.h, shared/flow.h). */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "nf_flow.h"
#include "nf_ct.h"
#include "nf_lb.h"
#include "nf_nat.h"
#include "percpu.h"

/* One walker serves the four tables: the same key, and the expiry at the
 * same offset of a value of the same size. */
_Static_assert(sizeof(struct lb_flow_key) == sizeof(struct nat_key), "flow keys");
_Static_assert(sizeof(struct lb_nat) == sizeof(struct nat_val), "flow values");
_Static_assert(offsetof(struct lb_nat, expires_ns) == offsetof(struct nat_val, expires_ns),
	       "expires_ns offset");
#define KEY_SZ sizeof(struct nat_key)
#define VAL_SZ sizeof(struct nat_val)
#define EXP_OFF offsetof(struct nat_val, expires_ns)

static uint64_t val_expires(const void *v)
{
	uint64_t e;

	memcpy(&e, (const char *)v + EXP_OFF, sizeof(e));
	return e;
}

#define WALK_BATCH 1024

/* Every (key, value) of fd to cb, in batches (keys of dead entries
 * collected into *dead when dead != NULL). */
struct walk {
	uint64_t now, scanned, live;
	unsigned char *dead;
	size_t n, cap;
};

static int walk(int fd, struct walk *w, bool collect)
{
	unsigned char *keys = calloc(WALK_BATCH, KEY_SZ), *vals = calloc(WALK_BATCH, VAL_SZ);
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	unsigned char in[KEY_SZ], outb[KEY_SZ];
	bool first = true, done = false;
	uint32_t n, i;
	int err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	while (!done && !err) {
		n = WALK_BATCH;
		/* the hash map's batch cursor is a bucket index (4 bytes);
		 * in/out are sized for a key, which is larger */
		if (bpf_map_lookup_batch(fd, first ? NULL : in, outb, keys, vals, &n, &opts)) {
			if (errno != ENOENT) {
				err = -errno;
				break;
			}
			done = true; /* the last batch, possibly with entries */
		}
		first = false;
		memcpy(in, outb, sizeof(in));
		for (i = 0; i < n; i++) {
			w->scanned++;
			if (val_expires(vals + i * VAL_SZ) > w->now) {
				w->live++;
				continue;
			}
			if (!collect)
				continue;
			if (w->n == w->cap) {
				size_t nc = w->cap ? 2 * w->cap : 1024;
				unsigned char *nd = realloc(w->dead, nc * KEY_SZ);

				if (!nd) {
					err = -ENOMEM;
					break;
				}
				w->dead = nd;
				w->cap = nc;
			}
			memcpy(w->dead + w->n++ * KEY_SZ, keys + i * KEY_SZ, KEY_SZ);
		}
	}
out:
	free(keys);
	free(vals);
	return err;
}

static int sweep(int fd, uint64_t now, uint64_t *scanned, uint64_t *removed)
{
	struct walk w = { .now = now };
	unsigned char v[VAL_SZ];
	size_t i;
	int err;

	*scanned = *removed = 0;
	if (fd <= 0)
		return 0;
	err = walk(fd, &w, true);
	for (i = 0; i < w.n && !err; i++) {
		const void *k = w.dead + i * KEY_SZ;

		/* Re-read right before the delete: gone or replaced since
		 * the walk (a new flow on a freed key) stays. */
		if (bpf_map_lookup_elem(fd, k, v) || val_expires(v) > now)
			continue;
		if (!bpf_map_delete_elem(fd, k))
			(*removed)++;
	}
	*scanned = w.scanned;
	free(w.dead);
	return err;
}

static uint32_t stat_base(enum flow_kind kind)
{
	return kind == FLOW_KIND_NAT ? FLOW_STATS_NAT : FLOW_STATS_LB;
}

static uint64_t now_or(uint64_t now_ns)
{
	return now_ns ? now_ns : ct_now_ns();
}

int flow_gc(int fwd_fd, int rev_fd, int stats_fd, enum flow_kind kind, uint64_t now_ns,
	    struct flow_gc_result *res)
{
	uint64_t now = now_or(now_ns);
	int err;

	memset(res, 0, sizeof(*res));
	err = sweep(fwd_fd, now, &res->scanned, &res->removed);
	if (!err)
		err = sweep(rev_fd, now, &res->scanned_rev, &res->removed_rev);
	/* only the sweep writes these slots, under the chain lock */
	if (stats_fd > 0 && res->removed)
		err = err ?: percpu_add_cpu0(stats_fd, stat_base(kind) + FLOW_STAT_GC_REMOVED, res->removed);
	if (stats_fd > 0 && res->removed_rev)
		err = err ?: percpu_add_cpu0(stats_fd, stat_base(kind) + FLOW_STAT_GC_REMOVED_REV,
				      res->removed_rev);
	return err;
}

void flow_chain_fds(struct chain *c, enum flow_kind kind, int *fwd, int *rev, int *stats)
{
	int *f = ct_shared_fd(&c->sh, kind == FLOW_KIND_NAT ? NAT_FLOWS_PIN : LB_FLOWS_PIN);
	int *r = ct_shared_fd(&c->sh, kind == FLOW_KIND_NAT ? NAT_REV_PIN : LB_REV_PIN);
	int *s = ct_shared_fd(&c->sh, LBNAT_STATS_PIN);

	*fwd = f && *f > 0 ? *f : 0;
	*rev = r && *r > 0 ? *r : 0;
	*stats = s && *s > 0 ? *s : 0;
}

int flow_gc_chain(struct chain *c, enum flow_kind kind, uint64_t now_ns,
		  struct flow_gc_result *res)
{
	int fwd, rev, stats;

	memset(res, 0, sizeof(*res));
	flow_chain_fds(c, kind, &fwd, &rev, &stats);
	if (!fwd)
		return -ENOENT;
	return flow_gc(fwd, rev ? rev : -1, stats ? stats : -1, kind, now_ns, res);
}

int flow_stats_read(int stats_fd, enum flow_kind kind, uint64_t *out)
{
	return percpu_sum_slots(stats_fd, stat_base(kind), FLOW_STAT__MAX, out);
}

const char *flow_stat_name(unsigned int slot)
{
	static const char *const names[] = {
#define X(name, str) str,
		FLOW_STATS(X)
#undef X
	};

	return slot < sizeof(names) / sizeof(names[0]) ? names[slot] : NULL;
}

const char *flow_state_name(unsigned int s)
{
	static const char *const names[] = {
		"none", "tcp_syn_sent", "tcp_established", "tcp_closing", "udp", "udp_replied", "icmp",
	};

	return s < FLOW_S__MAX ? names[s] : "unknown";
}

int flow_count(int fd, uint64_t now_ns, uint64_t *total, uint64_t *live)
{
	struct walk w = { .now = now_or(now_ns) };
	int err = walk(fd, &w, false);

	*total = w.scanned;
	if (live)
		*live = w.live;
	return err;
}
