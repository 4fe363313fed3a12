// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The loadbalancer function: services (VIP, port, protocol, Maglev table
 * size) and their backends (address, port, weight, state), validated
 * completely; and its compile into the stage's maps (lb_compile,
 * nf_lb.h). docs/loadbalancer.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "spec_int.h"
#include "nf_lb.h"
#include "lb_maglev.h"

const char *const spec_lb_keys[] = { "name", "type", "services", "flowTableSize", "timeouts",
				     "fib", NULL };
const char *const spec_lb_service_keys[] = { "name", "vip", "port", "proto", "mode", "tableSize",
					     "backends", "encap", "guePort", "encapSource", NULL };
const char *const spec_lb_backend_keys[] = { "ip", "port", "weight", "state", NULL };

const struct enum_ent spec_lb_proto_names[] = {
	{ "tcp", IPPROTO_TCP },
	{ "udp", IPPROTO_UDP },
	{ NULL, 0 },
};
const struct enum_ent spec_lb_mode_names[] = {
	{ "dnat", LB_MODE_DNAT },
	{ "dsr", LB_MODE_DSR },
	{ NULL, 0 },
};
const struct enum_ent spec_lb_encap_names[] = {
	{ "ipip", LB_ENCAP_IPIP },
	{ "gue", LB_ENCAP_GUE },
	{ NULL, 0 },
};
const struct enum_ent spec_lb_state_names[] = {
	{ "active", SPEC_LB_ACTIVE },
	{ "draining", SPEC_LB_DRAINING },
	{ NULL, 0 },
};

/* A host address: a prefix of full length. */
static bool get_host(struct pctx *c, const char *key, const cJSON *v, struct spec_prefix *p)
{
	char why[96];
	const char *s;
	size_t m;
	int err;

	if (!get_string(c, key, v, &s))
		return false;
	m = path_key(c, key);
	err = spec_prefix_parse(s, p, why, sizeof(why));
	if (err || p->plen != (p->family == 4 ? 32 : 128)) {
		perr(c, "%s is not an IPv4 or IPv6 address%s%s%s", q(c, s), err ? " (" : "",
		     err ? why : "", err ? ")" : "");
		path_pop(c, m);
		return false;
	}
	path_pop(c, m);
	return true;
}

static bool same_addr(const struct spec_prefix *a, const struct spec_prefix *b)
{
	return a->family == b->family && !memcmp(a->addr, b->addr, sizeof(a->addr));
}

static void parse_backend(struct pctx *c, const cJSON *obj, struct spec_lb_service *svc,
			  struct spec_lb_backend *be, bool vip_ok)
{
	enum { IP, PORT, WEIGHT, STATE };
	const cJSON *v[5];
	char addr[SPEC_PREFIX_STRLEN], *slash;
	long l;
	int val;

	be->weight = 1;
	be->state = SPEC_LB_ACTIVE;
	be->port = svc->port;
	if (!obj_fields(c, obj, spec_lb_backend_keys, v))
		return;
	if (require(c, "ip", v[IP]) && get_host(c, "ip", v[IP], &be->ip) && vip_ok &&
	    be->ip.family != svc->vip.family)
		perr_at(c, "ip", "an IPv%u backend for an IPv%u vip: %s keeps the family",
			be->ip.family, svc->vip.family, svc->mode == LB_MODE_DSR ? "dsr" : "dnat");
	if (v[PORT] && get_int(c, "port", v[PORT], 1, 65535, &l)) {
		if (svc->mode == LB_MODE_DSR && svc->port && l != svc->port)
			perr_at(c, "port", "%ld: dsr does not rewrite the port, the backend serves the service's port %u",
				l, svc->port);
		be->port = (uint16_t)l;
	}
	if (v[WEIGHT] && get_int(c, "weight", v[WEIGHT], 1, 1000, &l))
		be->weight = (uint32_t)l;
	if (v[STATE] && get_enum(c, "state", v[STATE], spec_lb_state_names, &val))
		be->state = (enum spec_lb_state)val;
	if (be->ip.family) {
		spec_prefix_str(&be->ip, addr, sizeof(addr));
		slash = strchr(addr, '/');
		if (slash)
			*slash = '\0';
		snprintf(be->key, sizeof(be->key), be->ip.family == 6 ? "%s:[%s]:%u" : "%s:%s:%u",
			 svc->name ? svc->name : "?", addr, be->port);
	}
}

/* mode dsr: encap (default ipip), guePort (gue only), encapSource (an
 * address of the vip's family). Each is an error without mode dsr. */
static void parse_dsr(struct pctx *c, const cJSON *encap, const cJSON *gport, const cJSON *esrc,
		      struct spec_lb_service *svc, bool vip_ok)
{
	bool dsr = svc->mode == LB_MODE_DSR;
	long l;
	int val;

	if (dsr) {
		svc->encap = LB_ENCAP_IPIP;
		svc->gue_port = LB_GUE_PORT_DEFAULT;
	}
	if (encap && get_enum(c, "encap", encap, spec_lb_encap_names, &val)) {
		if (!dsr)
			perr_at(c, "encap", "only mode \"dsr\" encapsulates");
		else
			svc->encap = (uint8_t)val;
	}
	if (gport && get_int(c, "guePort", gport, 1, 65535, &l)) {
		if (!dsr || svc->encap != LB_ENCAP_GUE)
			perr_at(c, "guePort", "only encap \"gue\" (mode \"dsr\") has a GUE port");
		else
			svc->gue_port = (uint16_t)l;
	}
	if (esrc && get_host(c, "encapSource", esrc, &svc->encap_src)) {
		if (!dsr)
			perr_at(c, "encapSource", "only mode \"dsr\" has an outer source");
		else if (vip_ok && svc->encap_src.family != svc->vip.family)
			perr_at(c, "encapSource", "an IPv%u source for an IPv%u vip: the outer header has the vip's family",
				svc->encap_src.family, svc->vip.family);
	}
}

static void parse_service(struct pctx *c, const cJSON *obj, struct spec_lb_service *svc,
			  const struct spec_lb_service *prev, size_t nprev)
{
	enum { NAME, VIP, PORT, PROTO, MODE, TSIZE, BACKENDS, ENCAP, GUEPORT, ESRC };
	const cJSON *v[11], *it;
	const char *str, *why;
	bool vip_ok = false, port_ok = false, proto_ok = false;
	size_t i, j, n, m, m2;
	long l;
	int val;

	svc->table_size = LB_MAGLEV_DEFAULT_SIZE;
	svc->mode = LB_MODE_DNAT;
	if (!obj_fields(c, obj, spec_lb_service_keys, v))
		return;
	if (require(c, "name", v[NAME]) && get_string(c, "name", v[NAME], &str)) {
		why = dns_label_why(str);
		if (why)
			perr_at(c, "name", "%s is not a valid name: %s", q(c, str), why);
		svc->name = strdup(str);
		for (i = 0; i < nprev; i++)
			if (prev[i].name && !strcmp(prev[i].name, str))
				perr_at(c, "name", "duplicate service name %s (also services[%zu])",
					q(c, str), i);
	}
	if (require(c, "vip", v[VIP]))
		vip_ok = get_host(c, "vip", v[VIP], &svc->vip);
	if (require(c, "port", v[PORT]) && get_int(c, "port", v[PORT], 1, 65535, &l)) {
		svc->port = (uint16_t)l;
		port_ok = true;
	}
	if (require(c, "proto", v[PROTO]) &&
	    get_enum(c, "proto", v[PROTO], spec_lb_proto_names, &val)) {
		svc->proto = (uint8_t)val;
		proto_ok = true;
	}
	if (v[MODE] && get_enum(c, "mode", v[MODE], spec_lb_mode_names, &val))
		svc->mode = (uint8_t)val;
	parse_dsr(c, v[ENCAP], v[GUEPORT], v[ESRC], svc, vip_ok);
	if (v[TSIZE] && get_int(c, "tableSize", v[TSIZE], 3, LB_MAGLEV_MAX_SIZE, &l)) {
		if (!lb_is_prime((uint32_t)l))
			perr_at(c, "tableSize", "%ld is not a prime (Maglev needs one; 65537 and 655373 are)",
				l);
		else
			svc->table_size = (uint32_t)l;
	}
	if (vip_ok && port_ok && proto_ok) {
		for (i = 0; i < nprev; i++)
			if (same_addr(&prev[i].vip, &svc->vip) && prev[i].port == svc->port &&
			    prev[i].proto == svc->proto)
				perr(c, "the same vip, port and proto as services[%zu]", i);
	}
	if (!require(c, "backends", v[BACKENDS]) ||
	    !get_array(c, "backends", v[BACKENDS], 1, SPEC_LB_MAX_BACKENDS, &n))
		return;
	svc->backends = calloc(n, sizeof(*svc->backends));
	if (!svc->backends) {
		perr(c, "out of memory");
		return;
	}
	svc->nbackends = n;
	if (svc->table_size <= n)
		perr_at(c, "tableSize", "%u slots for %zu backends: Maglev needs more slots than backends (100 per backend spreads evenly)",
			svc->table_size, n);
	m = path_key(c, "backends");
	for (i = 0, it = v[BACKENDS]->child; it; it = it->next, i++) {
		m2 = path_idx(c, i);
		parse_backend(c, it, svc, &svc->backends[i], vip_ok);
		for (j = 0; j < i; j++)
			if (svc->backends[i].ip.family &&
			    same_addr(&svc->backends[j].ip, &svc->backends[i].ip) &&
			    svc->backends[j].port == svc->backends[i].port)
				perr(c, "duplicate backend (also backends[%zu])", j);
		path_pop(c, m2);
	}
	path_pop(c, m);
}

static void lb_free(struct spec_function *fn)
{
	size_t i;

	for (i = 0; i < fn->lb.nservices; i++) {
		free(fn->lb.services[i].name);
		free(fn->lb.services[i].backends);
	}
	free(fn->lb.services);
	fn->lb.services = NULL;
	fn->lb.nservices = 0;
}

static void lb_parse(struct pctx *c, const cJSON *obj, struct spec_function *fn)
{
	enum { NAME, TYPE, SERVICES, FLOWS, TIMEOUTS, FIB };
	struct spec_loadbalancer *lb = &fn->lb;
	const cJSON *v[7], *it;
	size_t n, i, m, m2;
	long l;

	lb->flow_table_size = LB_FLOWS_DEFAULT;
	spec_flow_timeouts(c, NULL, lb->timeouts, false);
	if (!obj_fields(c, obj, spec_lb_keys, v))
		return;
	spec_flow_timeouts(c, v[TIMEOUTS], lb->timeouts, false);
	if (v[FIB])
		get_bool(c, "fib", v[FIB], &lb->fib);
	if (v[FLOWS] && get_int(c, "flowTableSize", v[FLOWS], 1024, 16777216, &l))
		lb->flow_table_size = (uint32_t)l;
	if (!require(c, "services", v[SERVICES]) ||
	    !get_array(c, "services", v[SERVICES], 1, SPEC_LB_MAX_SERVICES, &n))
		return;
	lb->services = calloc(n, sizeof(*lb->services));
	if (!lb->services) {
		perr(c, "out of memory");
		return;
	}
	lb->nservices = n;
	m = path_key(c, "services");
	for (i = 0, it = v[SERVICES]->child; it; it = it->next, i++) {
		m2 = path_idx(c, i);
		parse_service(c, it, &lb->services[i], lb->services, i);
		path_pop(c, m2);
	}
	path_pop(c, m);
}

const struct spec_fn_ops spec_lb_ops = {
	.name = "loadbalancer",
	.type = SPEC_FN_LOADBALANCER,
	.keys = spec_lb_keys,
	.parse = lb_parse,
	.free = lb_free,
};

/* "fib": the stage redirects the packets it translates itself (a FIB
 * lookup, then a redirect that ends the chain), so no function may come
 * after it. */
void spec_lb_check_chain(struct pctx *c, const struct spec *s)
{
	size_t i, m, m2;

	m = path_key(c, "functions");
	for (i = 0; i + 1 < s->nfns; i++) {
		if (s->fns[i].type != SPEC_FN_LOADBALANCER || !s->fns[i].lb.fib)
			continue;
		m2 = path_idx(c, i);
		perr_at(c, "fib", "a loadbalancer with fib redirects the packets it translates, which ends the chain: it must be the last function (spec.functions[%zu] comes after it)",
			i + 1);
		path_pop(c, m2);
	}
	path_pop(c, m);
}

/* Compile -------------------------------------------------------------- */

void lb_image_free(struct lb_image *img)
{
	free(img->svc_keys);
	free(img->svcs);
	free(img->maglev);
	free(img->backends);
	free(img->addr_keys);
	free(img->addr_flags);
	memset(img, 0, sizeof(*img));
}

size_t lb_ncounters(const struct spec_loadbalancer *lb)
{
	size_t i, n = 0;

	for (i = 0; i < lb->nservices; i++)
		n += lb->services[i].nbackends;
	return n;
}

const char *lb_counter_key(const struct spec_loadbalancer *lb, size_t k)
{
	size_t i;

	for (i = 0; i < lb->nservices; i++) {
		if (k < lb->services[i].nbackends)
			return lb->services[i].backends[k].key;
		k -= lb->services[i].nbackends;
	}
	return "?";
}

/* Mark addr (family 4/6) in the lb_addrs image (deduplicated: a VIP of
 * several services, a backend of several). */
static void addr_mark(struct lb_image *img, const uint32_t *addr, uint8_t family, uint32_t flag)
{
	size_t i;

	for (i = 0; i < img->naddrs; i++) {
		if (img->addr_keys[i].family == family &&
		    !memcmp(img->addr_keys[i].addr, addr, sizeof(img->addr_keys[i].addr))) {
			img->addr_flags[i] |= flag;
			return;
		}
	}
	memset(&img->addr_keys[i], 0, sizeof(img->addr_keys[i]));
	memcpy(img->addr_keys[i].addr, addr, sizeof(img->addr_keys[i].addr));
	img->addr_keys[i].family = family;
	img->addr_flags[i] = flag;
	img->naddrs++;
}

/* The node's address toward dst (family 4 or 6, network order): the source
 * the routing table picks for it, read from a connected UDP socket (no
 * packet is sent). 0 or a negative errno. */
static int lb_node_source(int family, const uint32_t *dst, uint32_t *src)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int fd, err = 0;

	fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (family == 6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(9);
		memcpy(&a->sin6_addr, dst, 16);
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(9);
		memcpy(&a->sin_addr, dst, 4);
		len = sizeof(*a);
	}
	if (connect(fd, (struct sockaddr *)&ss, len) || getsockname(fd, (struct sockaddr *)&ss, &len)) {
		err = -errno;
		goto out;
	}
	memset(src, 0, 16);
	if (family == 6)
		memcpy(src, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
	else
		memcpy(src, &((struct sockaddr_in *)&ss)->sin_addr, 4);
out:
	close(fd);
	return err;
}

int lb_compile(const struct spec_loadbalancer *lb, const char *path, struct lb_image *img,
	       struct sl_errs *errs)
{
	struct lb_maglev_backend *mb = NULL;
	size_t i, j, nb = 0, nt = 0, base = 0, off = 0;
	int err = 0;

	memset(img, 0, sizeof(*img));
	for (i = 0; i < lb->nservices; i++) {
		nb += lb->services[i].nbackends;
		nt += lb->services[i].table_size;
	}
	img->svc_keys = calloc(lb->nservices ? lb->nservices : 1, sizeof(*img->svc_keys));
	img->svcs = calloc(lb->nservices ? lb->nservices : 1, sizeof(*img->svcs));
	img->backends = calloc(nb ? nb : 1, sizeof(*img->backends));
	img->maglev = calloc(nt ? nt : 1, sizeof(*img->maglev));
	mb = calloc(SPEC_LB_MAX_BACKENDS, sizeof(*mb));
	img->addr_keys = calloc(nb + lb->nservices + 1, sizeof(*img->addr_keys));
	img->addr_flags = calloc(nb + lb->nservices + 1, sizeof(*img->addr_flags));
	if (!img->svc_keys || !img->svcs || !img->backends || !img->maglev || !mb ||
	    !img->addr_keys || !img->addr_flags) {
		err = -ENOMEM;
		goto out;
	}
	img->nsvc = lb->nservices;
	img->nbackends = nb;
	img->nmaglev = nt;
	img->flow_table_size = lb->flow_table_size;
	img->cfg.nservices = (uint32_t)lb->nservices;
	img->cfg.flags = lb->fib ? LB_CFG_FIB : 0;
	for (i = 0; i < FLOW_NTIMEOUTS; i++)
		img->cfg.timeout_ns[i] = (uint64_t)(lb->timeouts[i] ? lb->timeouts[i] : 1) * 1000000000ull;
	for (i = 0; i < lb->nservices; i++) {
		const struct spec_lb_service *s = &lb->services[i];
		struct lb_svc *v = &img->svcs[i];
		uint32_t *t = img->maglev + off;

		memcpy(img->svc_keys[i].vip, s->vip.addr, 16);
		img->svc_keys[i].port = s->port;
		img->svc_keys[i].proto = s->proto;
		img->svc_keys[i].family = s->vip.family;
		v->table_off = (uint32_t)off;
		v->table_size = s->table_size;
		v->id = (uint32_t)i;
		v->mode = s->mode ? s->mode : LB_MODE_DNAT;
		if (v->mode == LB_MODE_DSR) {
			v->encap = s->encap;
			v->gue_port = s->gue_port;
			if (s->encap_src.family) {
				memcpy(v->encap_src, s->encap_src.addr, 16);
			} else {
				err = lb_node_source(s->vip.family, s->backends[0].ip.addr,
						     v->encap_src);
				if (err) {
					char p[96];

					snprintf(p, sizeof(p), "%s.services[%zu]", path, i);
					errs_add(errs, p, "no node address toward backend %s to be the outer source (%s): set encapSource",
						 s->backends[0].key, strerror(-err));
					goto out;
				}
			}
		}
		addr_mark(img, s->vip.addr, s->vip.family, LB_ADDR_VIP);
		for (j = 0; j < s->nbackends; j++) {
			struct lb_backend *b = &img->backends[base + j];

			if (v->mode != LB_MODE_DSR) /* dsr backends answer directly */
				addr_mark(img, s->backends[j].ip.addr, s->backends[j].ip.family,
					  LB_ADDR_BACKEND);
			memcpy(b->addr, s->backends[j].ip.addr, 16);
			b->port = s->backends[j].port;
			b->family = s->backends[j].ip.family;
			b->state = s->backends[j].state == SPEC_LB_DRAINING ? LB_BE_DRAINING
									 : LB_BE_ACTIVE;
			mb[j].key = s->backends[j].key;
			mb[j].weight = b->state == LB_BE_ACTIVE ? s->backends[j].weight : 0;
			v->nactive += mb[j].weight > 0;
		}
		err = lb_maglev_build(mb, s->nbackends, s->table_size, t);
		if (err) {
			char p[96];

			snprintf(p, sizeof(p), "%s.services[%zu]", path, i);
			errs_add(errs, p, "cannot build its Maglev table of %u slots: %s",
				 s->table_size, strerror(-err));
			goto out;
		}
		/* slots hold indexes into lb_backends */
		for (j = 0; j < s->table_size; j++)
			if (t[j] != LB_MAGLEV_EMPTY)
				t[j] += (uint32_t)base;
		base += s->nbackends;
		off += s->table_size;
	}
out:
	free(mb);
	if (err)
		lb_image_free(img);
	return err;
}
