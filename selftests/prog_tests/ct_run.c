// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "ct_run.h"
#include "pkt.h"
#include "fw_run.h"

#define META_STRIDE ((sizeof(struct sl_meta) + 7) & ~7ul)

/* The fd of the map called name used by program prog_fd, or -ENOENT. */
static int prog_map(int prog_fd, const char *name)
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info), ids[32], i, n;
	int fd;

	info.nr_map_ids = 32;
	info.map_ids = (uint64_t)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return -errno;
	n = info.nr_map_ids < 32 ? info.nr_map_ids : 32;
	for (i = 0; i < n; i++) {
		struct bpf_map_info mi = {};
		uint32_t ml = sizeof(mi);

		fd = bpf_map_get_fd_by_id(ids[i]);
		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &mi, &ml) && !strcmp(mi.name, name))
			return fd;
		close(fd);
	}
	return -ENOENT;
}

/* The stage program that uses map `want`: sl_root[0] of the entry, or a
 * later stage through its sl_chain. */
static int find_prog(int entry_fd, const char *want)
{
	uint32_t key = 0, id, i;
	int root, prog, chain, p;

	root = prog_map(entry_fd, "sl_root");
	if (root < 0)
		return root;
	if (bpf_map_lookup_elem(root, &key, &id)) {
		close(root);
		return -errno;
	}
	close(root);
	prog = bpf_prog_get_fd_by_id(id);
	if (prog < 0)
		return -errno;
	chain = prog_map(prog, "sl_chain");
	close(prog);
	if (chain < 0)
		return chain;
	for (i = 0; i < SL_MAX_STAGES; i++) {
		int m;

		if (bpf_map_lookup_elem(chain, &i, &id))
			continue;
		p = bpf_prog_get_fd_by_id(id);
		if (p < 0)
			continue;
		m = prog_map(p, want);
		if (m >= 0) {
			close(m);
			close(chain);
			return p;
		}
		close(p);
	}
	close(chain);
	return -ENOENT;
}

int ct_rig_open(struct ct_rig *r, const char *spec_json)
{
	struct sl_errs errs = { 0 };
	cpu_set_t set;
	char *doc = fw_json(spec_json);
	int err, prog;

	memset(r, 0, sizeof(*r));
	r->gp.entry_fd = r->table_fd = r->stats_fd = -1;
	err = doc ? spec_parse(doc, strlen(doc), &r->spec, &errs) : -ENOMEM;
	free(doc);
	if (err) {
		errs_print(&errs, stdout);
		errs_free(&errs);
		return err;
	}
	err = gen_private_build(r->spec, &r->gp, &errs);
	if (err) {
		errs_print(&errs, stdout);
		errs_free(&errs);
		return err;
	}
	errs_free(&errs);
	/* a chain without conntrack has no table: table_fd stays -1 */
	prog = find_prog(r->gp.entry_fd, "ct_table");
	if (prog >= 0) {
		r->table_fd = prog_map(prog, "ct_table");
		r->stats_fd = prog_map(prog, "ct_stats");
		close(prog);
		if (r->table_fd < 0 || r->stats_fd < 0)
			return -ENOENT;
	}
	r->ncpus = libbpf_num_possible_cpus();
	r->cpu = sched_getcpu();
	if (r->cpu < 0)
		r->cpu = 0;
	CPU_ZERO(&set);
	CPU_SET(r->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return -errno;
	r->percpu = calloc((size_t)r->ncpus, META_STRIDE);
	return r->percpu ? 0 : -ENOMEM;
}

void ct_rig_close(struct ct_rig *r)
{
	gen_private_free(&r->gp);
	spec_free(r->spec);
	if (r->table_fd >= 0)
		close(r->table_fd);
	if (r->stats_fd >= 0)
		close(r->stats_fd);
	free(r->percpu);
	memset(r, 0, sizeof(*r));
	r->table_fd = r->stats_fd = -1;
}

static int ct_build(struct pkt *k, const struct ct_p *p, uint8_t *buf, size_t cap)
{
	struct pkt_ipv4 o4 = { .saddr = p->src, .daddr = p->dst };
	struct pkt_ipv6 o6 = { .saddr = p->src, .daddr = p->dst };
	uint8_t inner[512];
	struct pkt ik;
	int n;

	pkt_init(k, buf, cap);
	pkt_eth(k, NULL);
	if (p->family == 4) {
		if (p->frag_later)
			o4.frag = 100; /* offset 800 bytes */
		pkt_ipv4(k, &o4);
	} else {
		pkt_ipv6(k, &o6);
	}
	if (p->frag_later) {
		pkt_proto(k, p->proto);
		pkt_bytes(k, NULL, 64);
		return pkt_finish(k);
	}
	switch (p->proto) {
	case IPPROTO_TCP:
		pkt_tcp(k, p->sport, p->dport, p->flags);
		break;
	case IPPROTO_UDP:
		pkt_udp(k, p->sport, p->dport);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (p->proto == IPPROTO_ICMP)
			pkt_icmp(k, p->icmp_type, p->icmp_code);
		else
			pkt_icmp6(k, p->icmp_type, p->icmp_code);
		if (k->l4_off >= 0 && !p->inner) {
			buf[k->l4_off + 4] = (uint8_t)(p->icmp_id >> 8);
			buf[k->l4_off + 5] = (uint8_t)p->icmp_id;
		}
		if (p->inner) {
			n = ct_build(&ik, p->inner, inner, sizeof(inner));
			if (n < 0)
				return n;
			/* the quote: the inner IP header and 8 bytes of L4 */
			pkt_bytes(k, inner + ik.l3_off,
				  (size_t)(ik.l4_off + 8 - ik.l3_off));
		}
		break;
	default:
		pkt_proto(k, p->proto);
		break;
	}
	if (p->payload)
		pkt_bytes(k, NULL, p->payload);
	return pkt_finish(k);
}

int ct_frame(const struct ct_p *p, uint8_t *buf, size_t cap)
{
	struct pkt k;

	return ct_build(&k, p, buf, cap);
}

int ct_send(struct ct_rig *r, const struct ct_p *p, struct sl_meta *m, uint32_t *retval)
{
	uint8_t buf[1024];
	uint32_t zero = 0;
	int n = ct_frame(p, buf, sizeof(buf));
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = buf, .repeat = 1);

	if (n < 0)
		return n;
	opts.data_size_in = (uint32_t)n;
	if (bpf_prog_test_run_opts(r->gp.entry_fd, &opts))
		return -errno;
	if (retval)
		*retval = opts.retval;
	if (bpf_map_lookup_elem(r->gp.meta_fd, &zero, r->percpu))
		return -errno;
	if (m)
		*m = *(struct sl_meta *)((char *)r->percpu + (size_t)r->cpu * META_STRIDE);
	return 0;
}

void ct_key_of(const struct ct_p *p, struct ct_key *out)
{
	struct ct_key k = {};
	uint32_t a[4] = {}, b[4] = {};
	uint16_t ap = p->sport, bp = p->dport;
	int af = p->family == 4 ? AF_INET : AF_INET6, swap = 0, i;

	inet_pton(af, p->src, a);
	inet_pton(af, p->dst, b);
	if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6)
		ap = bp = p->icmp_id;
	else if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP && p->proto != IPPROTO_SCTP)
		ap = bp = 0;
	for (i = 0; i < 4; i++) {
		if (ntohl(a[i]) != ntohl(b[i])) {
			swap = ntohl(b[i]) < ntohl(a[i]);
			break;
		}
	}
	if (i == 4)
		swap = bp < ap;
	memcpy(k.addr[0], swap ? b : a, 16);
	memcpy(k.addr[1], swap ? a : b, 16);
	k.port[0] = swap ? bp : ap;
	k.port[1] = swap ? ap : bp;
	k.proto = p->proto;
	k.family = (uint8_t)p->family;
	*out = k;
}

int ct_lookup(struct ct_rig *r, const struct ct_p *p, struct ct_entry *e)
{
	struct ct_key k;

	ct_key_of(p, &k);
	return bpf_map_lookup_elem(r->table_fd, &k, e) ? -errno : 0;
}

int ct_rig_map(struct ct_rig *r, const char *name)
{
	int prog = find_prog(r->gp.entry_fd, name), fd;

	if (prog < 0)
		return prog;
	fd = prog_map(prog, name);
	close(prog);
	return fd;
}

int ct_send_raw(struct ct_rig *r, const void *in, size_t len, void *out, uint32_t *out_len,
		struct sl_meta *m, uint32_t *retval)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = (uint32_t)len,
		    .data_out = out, .data_size_out = *out_len, .repeat = 1);
	uint32_t zero = 0;

	if (bpf_prog_test_run_opts(r->gp.entry_fd, &opts))
		return -errno;
	*out_len = opts.data_size_out;
	if (retval)
		*retval = opts.retval;
	if (bpf_map_lookup_elem(r->gp.meta_fd, &zero, r->percpu))
		return -errno;
	if (m)
		*m = *(struct sl_meta *)((char *)r->percpu + (size_t)r->cpu * META_STRIDE);
	return 0;
}

uint64_t ct_stat_get(struct ct_rig *r, unsigned int slot)
{
	uint64_t v[CT_STAT_SLOTS];

	if (ct_stats_read(r->stats_fd, v))
		return ~0ull;
	return slot < CT_STAT_SLOTS ? v[slot] : ~0ull;
}

struct ct_p ct_rev(const struct ct_p *p, uint8_t flags)
{
	struct ct_p q = *p;

	q.src = p->dst;
	q.dst = p->src;
	q.sport = p->dport;
	q.dport = p->sport;
	q.flags = flags;
	q.inner = NULL;
	return q;
}
