// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The nat function: source NAT / masquerade to an address (per family)
 * and a port range, for the listed sources (docs/nat.md); and its compile
 * (nat_compile, nf_nat.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "spec_int.h"
#include "nf_nat.h"

const char *const spec_nat_keys[] = { "name", "type", "address", "address6", "ports",
				      "sources", "flowTableSize", "timeouts", NULL };

static bool get_addr(struct pctx *c, const char *key, const cJSON *v, int family,
		     struct spec_prefix *p)
{
	char why[96];
	const char *s;
	size_t m;
	int err;

	if (!get_string(c, key, v, &s))
		return false;
	m = path_key(c, key);
	err = spec_prefix_parse(s, p, why, sizeof(why));
	if (err || p->family != family || p->plen != (family == 4 ? 32 : 128)) {
		perr(c, "%s is not an IPv%d address", q(c, s), family);
		path_pop(c, m);
		return false;
	}
	path_pop(c, m);
	return true;
}

static void nat_parse(struct pctx *c, const cJSON *obj, struct spec_function *fn)
{
	enum { NAME, TYPE, ADDR, ADDR6, PORTS, SOURCES, FLOWS, TIMEOUTS };
	struct spec_nat *n = &fn->nat;
	const cJSON *v[9], *it;
	struct spec_prefix p;
	char why[96];
	size_t cnt, i, m, m2;
	long l;

	n->ports.lo = 1024;
	n->ports.hi = 65535;
	n->flow_table_size = NAT_FLOWS_DEFAULT;
	spec_flow_timeouts(c, NULL, n->timeouts, true);
	if (!obj_fields(c, obj, spec_nat_keys, v))
		return;
	spec_flow_timeouts(c, v[TIMEOUTS], n->timeouts, true);
	if (v[ADDR] && get_addr(c, "address", v[ADDR], 4, &p))
		n->addr4 = p.addr[0];
	if (v[ADDR6] && get_addr(c, "address6", v[ADDR6], 6, &p))
		memcpy(n->addr6, p.addr, 16);
	if (!v[ADDR] && !v[ADDR6])
		perr(c, "needs \"address\" (IPv4) or \"address6\" (IPv6), or both: the source to translate to");
	if (v[PORTS]) {
		const char *s;

		if (get_string(c, "ports", v[PORTS], &s) &&
		    spec_port_range_parse(s, &n->ports, why, sizeof(why)))
			perr_at(c, "ports", "%s is not a port range (%s)", q(c, s), why);
		else if (n->ports.lo == 0)
			perr_at(c, "ports", "port 0 is not a source port");
	}
	if (v[FLOWS] && get_int(c, "flowTableSize", v[FLOWS], 1024, 16777216, &l))
		n->flow_table_size = (uint32_t)l;
	if (!require(c, "sources", v[SOURCES]) ||
	    !get_array(c, "sources", v[SOURCES], 1, SPEC_NAT_MAX_SOURCES, &cnt))
		return;
	n->sources = calloc(cnt, sizeof(*n->sources));
	if (!n->sources) {
		perr(c, "out of memory");
		return;
	}
	m = path_key(c, "sources");
	for (i = 0, it = v[SOURCES]->child; it; it = it->next, i++) {
		const char *s;

		m2 = path_idx(c, i);
		if (get_string(c, NULL, it, &s)) {
			if (spec_prefix_parse(s, &n->sources[n->nsources], why, sizeof(why)))
				perr(c, "%s is not a valid prefix (%s)", q(c, s), why);
			else
				n->nsources++;
		}
		path_pop(c, m2);
	}
	path_pop(c, m);
}

static void nat_free(struct spec_function *fn)
{
	free(fn->nat.sources);
	fn->nat.sources = NULL;
	fn->nat.nsources = 0;
}

const struct spec_fn_ops spec_nat_ops = {
	.name = "nat",
	.type = SPEC_FN_NAT,
	.keys = spec_nat_keys,
	.parse = nat_parse,
	.free = nat_free,
};

void nat_image_free(struct nat_image *img)
{
	free(img->src);
	memset(img, 0, sizeof(*img));
}

int nat_compile(const struct spec_nat *n, const char *path, struct nat_image *img,
		struct sl_errs *errs)
{
	size_t i;

	memset(img, 0, sizeof(*img));
	img->src = calloc(n->nsources ? n->nsources : 1, sizeof(*img->src));
	if (!img->src)
		return -ENOMEM;
	for (i = 0; i < n->nsources; i++) {
		img->src[i].prefixlen = 32 + n->sources[i].plen;
		img->src[i].family = n->sources[i].family;
		memcpy(img->src[i].addr, n->sources[i].addr, 16);
	}
	img->nsrc = n->nsources;
	img->cfg.addr4 = n->addr4;
	memcpy(img->cfg.addr6, n->addr6, 16);
	img->cfg.port_lo = n->ports.lo;
	img->cfg.port_hi = n->ports.hi;
	img->flow_table_size = n->flow_table_size;
	for (i = 0; i < FLOW_NTIMEOUTS; i++)
		img->cfg.timeout_ns[i] = (uint64_t)(n->timeouts[i] ? n->timeouts[i] : 1) * 1000000000ull;
	return 0;
}
