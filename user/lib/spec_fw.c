// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The firewall function: defaultAction, audit and an ordered list of rules
 * (first match wins). Every rule is checked on its own (syntax, ranges) and
 * as a whole (ports need a protocol with ports, ICMP fields need ICMP,
 * address families that can meet); rule ids are unique per function. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "spec_int.h"

const char *const spec_fw_keys[] = { "name", "type", "defaultAction", "audit", "rules", NULL };
const char *const spec_fw_rule_keys[] = {
	"id", "action", "audit", "proto", "src", "dst", "srcPorts", "dstPorts",
	"icmpType", "icmpCode", "state", NULL,
};

enum { R_ID, R_ACTION, R_AUDIT, R_PROTO, R_SRC, R_DST, R_SPORTS, R_DPORTS,
       R_ICMPTYPE, R_ICMPCODE, R_STATE, R_NKEYS };

#define FAM4 1u
#define FAM6 2u

/* Rule ids seen so far: open addressing, index + 1 per slot (0: empty). */
struct idtab {
	uint32_t *slot;
	size_t mask;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

static int idtab_init(struct idtab *t, size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n)
		cap <<= 1;
	t->slot = calloc(cap, sizeof(*t->slot));
	t->mask = cap - 1;
	return t->slot ? 0 : -ENOMEM;
}

/* Insert rules[i].id; returns the index of an earlier rule with the same id,
 * or -1. */
static long idtab_insert(struct idtab *t, const struct spec_fw_rule *rules, size_t i)
{
	size_t h = (size_t)hash_str(rules[i].id) & t->mask;

	while (t->slot[h]) {
		size_t j = t->slot[h] - 1;

		if (!strcmp(rules[j].id, rules[i].id))
			return (long)j;
		h = (h + 1) & t->mask;
	}
	t->slot[h] = (uint32_t)(i + 1);
	return -1;
}

/* The rules' ids and lists come from one bump allocator per function
 * (spec_firewall.mem): a 100k-rule spec makes ~250k of them, and malloc
 * plus free cost more than the parsing. */
struct chunk {
	struct chunk *next;
	size_t used, cap;
	max_align_t data[];
};

#define CHUNK_BYTES (256u << 10)

static void *fw_alloc(struct spec_firewall *fw, size_t n)
{
	struct chunk *c = fw->mem, *nc;
	size_t cap;

	n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	if (!c || c->cap - c->used < n) {
		cap = n > CHUNK_BYTES / 4 ? n : CHUNK_BYTES;
		nc = malloc(sizeof(*nc) + cap);
		if (!nc)
			return NULL;
		nc->used = 0;
		nc->cap = cap;
		if (c && cap != CHUNK_BYTES) {
			/* a big one-off: keep filling the current chunk */
			nc->next = c->next;
			c->next = nc;
			nc->used = n;
			return (char *)nc->data;
		}
		nc->next = c;
		fw->mem = c = nc;
	}
	c->used += n;
	return (char *)c->data + c->used - n;
}

static void *fw_calloc(struct spec_firewall *fw, size_t n, size_t size)
{
	void *p;

	if (size && n > SIZE_MAX / size)
		return NULL;
	p = fw_alloc(fw, n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

static char *fw_strdup(struct spec_firewall *fw, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = fw_alloc(fw, n);

	if (p)
		memcpy(p, s, n);
	return p;
}

struct fw_pctx {
	struct pctx *c;
	struct spec_firewall *fw;
	struct idtab ids;
	size_t nprefixes;	/* in all rules so far */
	bool prefix_limit;	/* SPEC_MAX_PREFIXES reported */
};

static const char *rule_id_why(const char *s)
{
	size_t n = strlen(s), i;

	if (!n || n > SPEC_MAX_RULE_ID_LEN)
		return "must be 1-63 characters";
	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == ':' ||
		      ch == '-'))
			return "may contain only letters, digits and _ . : -";
	}
	return NULL;
}

/* src or dst: a non-empty list of prefixes. *fams gets FAM4/FAM6 of the
 * valid entries. */
static void parse_prefixes(struct fw_pctx *f, const char *key, const cJSON *arr,
			   size_t budget, struct spec_prefix **out, size_t *nout,
			   unsigned *fams)
{
	struct pctx *c = f->c;
	char why[96], meant[SPEC_PREFIX_STRLEN];
	const cJSON *it;
	size_t n, i, k = 0, m, m2;
	int err;

	m = path_key(c, key);
	if (!cJSON_IsArray(arr)) {
		perr(c, "expected an array of prefixes, got %s", json_type_name(arr));
		goto out;
	}
	n = (size_t)cJSON_GetArraySize(arr);
	if (!n) {
		perr(c, "empty list: an empty set never means \"any\"; omit \"%s\" to match any address",
		     key);
		goto out;
	}
	if (n > budget) {
		perr(c, "has %zu prefixes: src and dst together may hold at most %u",
		     n, SPEC_MAX_PREFIXES_PER_RULE);
		goto out;
	}
	if (!f->prefix_limit && f->nprefixes + n > SPEC_MAX_PREFIXES) {
		perr(c, "the function's rules hold more than %u prefixes in all (the limit)",
		     SPEC_MAX_PREFIXES);
		f->prefix_limit = true;
	}
	f->nprefixes += n;
	if (f->prefix_limit)
		goto out;
	*out = fw_calloc(f->fw, n, sizeof(**out));
	if (!*out) {
		perr(c, "out of memory");
		goto out;
	}
	for (i = 0, it = arr->child; it; it = it->next, i++) {
		struct spec_prefix *p = &(*out)[k];

		m2 = path_idx(c, i);
		if (!cJSON_IsString(it)) {
			perr(c, "expected a string (an IPv4 or IPv6 prefix), got %s",
			     json_type_name(it));
		} else if ((err = spec_prefix_parse(it->valuestring, p, why, sizeof(why)))) {
			if (err == -ERANGE)
				perr(c, "%s has host bits set: did you mean \"%s\"?",
				     q(c, it->valuestring),
				     spec_prefix_str(p, meant, sizeof(meant)));
			else
				perr(c, "%s is not a valid prefix (%s)", q(c, it->valuestring),
				     why);
		} else {
			*fams |= p->family == 4 ? FAM4 : FAM6;
			k++;
		}
		path_pop(c, m2);
	}
	*nout = k;
out:
	path_pop(c, m);
}

/* srcPorts or dstPorts: a non-empty list of ports ("N", "N-M" or N). */
static void parse_ports(struct fw_pctx *f, const char *key, const cJSON *arr,
			size_t budget, struct spec_port_range **out, size_t *nout)
{
	struct pctx *c = f->c;
	const cJSON *it;
	char why[96];
	size_t n, i, k = 0, m, m2;
	double d;

	m = path_key(c, key);
	if (!cJSON_IsArray(arr)) {
		perr(c, "expected an array of ports, got %s", json_type_name(arr));
		goto out;
	}
	n = (size_t)cJSON_GetArraySize(arr);
	if (!n) {
		perr(c, "empty list: an empty set never means \"any\"; omit \"%s\" to match any port",
		     key);
		goto out;
	}
	if (n > budget) {
		perr(c, "has %zu entries: srcPorts and dstPorts together may hold at most %u",
		     n, SPEC_MAX_PORTS_PER_RULE);
		goto out;
	}
	*out = fw_calloc(f->fw, n, sizeof(**out));
	if (!*out) {
		perr(c, "out of memory");
		goto out;
	}
	for (i = 0, it = arr->child; it; it = it->next, i++) {
		struct spec_port_range *r = &(*out)[k];

		m2 = path_idx(c, i);
		if (cJSON_IsNumber(it)) {
			d = it->valuedouble;
			if (d != d || d < 0 || d > 65535 || d != (double)(long)d) {
				perr(c, "%g is not a valid port (an integer 0-65535)", d);
			} else {
				r->lo = r->hi = (uint16_t)d;
				k++;
			}
		} else if (cJSON_IsString(it)) {
			if (spec_port_range_parse(it->valuestring, r, why, sizeof(why)))
				perr(c, "%s is not a valid port range (%s)",
				     q(c, it->valuestring), why);
			else
				k++;
		} else {
			perr(c, "expected a port (an integer, or a string \"N\" or \"N-M\"), got %s",
			     json_type_name(it));
		}
		path_pop(c, m2);
	}
	*nout = k;
out:
	path_pop(c, m);
}

/* state: a non-empty list of conntrack states (new, established, related,
 * invalid); r->states gets their bits. */
static void parse_states(struct pctx *c, const cJSON *arr, struct spec_fw_rule *r)
{
	const cJSON *it;
	size_t i, m, m2;
	int val;

	m = path_key(c, "state");
	if (!cJSON_IsArray(arr)) {
		perr(c, "expected an array of conntrack states, got %s", json_type_name(arr));
	} else if (!cJSON_GetArraySize(arr)) {
		perr(c, "empty list: an empty set never means \"any\"; omit \"state\" to match any state");
	} else {
		for (i = 0, it = arr->child; it; it = it->next, i++) {
			m2 = path_idx(c, i);
			if (get_enum(c, NULL, it, spec_ct_state_names, &val))
				r->states |= (uint8_t)(1u << val);
			path_pop(c, m2);
		}
	}
	path_pop(c, m);
}

/* Result of parsing an optional field: absent, valid, or reported bad. */
enum { F_ABSENT, F_OK, F_BAD };

static int parse_proto(struct pctx *c, const cJSON *v, int *proto)
{
	const char *near;
	size_t m;
	int p;

	if (!v)
		return F_ABSENT;
	m = path_key(c, "proto");
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;

		if (d != d || d < 0 || d > 255 || d != (double)(long)d) {
			perr(c, "%g is not a valid protocol number (0-255)", d);
			goto bad;
		}
		p = (int)d;
	} else if (cJSON_IsString(v)) {
		p = spec_proto_parse(v->valuestring);
		if (p < 0) {
			near = closest_enum(v->valuestring, spec_proto_names);
			perr(c, "%s is not a known protocol (a name such as \"tcp\", \"udp\", \"sctp\", \"icmp\", \"icmpv6\", or a number 1-255)%s%s%s",
			     q(c, v->valuestring), near ? "; did you mean \"" : "",
			     near ? near : "", near ? "\"?" : "");
			goto bad;
		}
	} else {
		perr(c, "expected a protocol name or number, got %s", json_type_name(v));
		goto bad;
	}
	if (p == 0) {
		perr(c, "protocol 0 (IPv6 hop-by-hop) is never a packet's transport protocol; omit \"proto\" to match any protocol");
		goto bad;
	}
	*proto = p;
	path_pop(c, m);
	return F_OK;
bad:
	path_pop(c, m);
	return F_BAD;
}

static const char *proto_name(int p, char *buf, size_t len)
{
	const char *n = spec_proto_str(p);

	if (n)
		snprintf(buf, len, "\"%s\"", n);
	else
		snprintf(buf, len, "%d", p);
	return buf;
}

static const char *fams_str(unsigned fams)
{
	return fams == FAM4 ? "IPv4" : "IPv6";
}

static void parse_rule(struct fw_pctx *f, const cJSON *obj, size_t idx)
{
	struct pctx *c = f->c;
	struct spec_fw_rule *r = &f->fw->rules[idx];
	const cJSON *v[R_NKEYS + 1];
	unsigned sfam = 0, dfam = 0;
	int has_proto, has_type = F_ABSENT, has_code = F_ABSENT, val;
	size_t nports_json = 0, nsrc_json = 0;
	const char *str, *why;
	char pname[16];
	long l, prev;

	r->proto = -1;
	r->icmp_type = -1;
	r->icmp_code = -1;
	if (!obj_fields(c, obj, spec_fw_rule_keys, v))
		return;

	if (require(c, "id", v[R_ID]) && get_string(c, "id", v[R_ID], &str)) {
		why = rule_id_why(str);
		if (why) {
			perr_at(c, "id", "%s is not a valid rule id: %s", q(c, str), why);
		} else {
			r->id = fw_strdup(f->fw, str);
			if (!r->id) {
				perr(c, "out of memory");
			} else if ((prev = idtab_insert(&f->ids, f->fw->rules, idx)) >= 0) {
				perr_at(c, "id", "duplicate rule id %s (also rules[%ld])",
					q(c, str), prev);
			}
		}
	}
	if (require(c, "action", v[R_ACTION]) &&
	    get_enum(c, "action", v[R_ACTION], spec_action_names, &val))
		r->action = (enum spec_action)val;
	if (v[R_AUDIT])
		get_bool(c, "audit", v[R_AUDIT], &r->audit);
	has_proto = parse_proto(c, v[R_PROTO], &r->proto);

	if (v[R_SRC]) {
		parse_prefixes(f, "src", v[R_SRC], SPEC_MAX_PREFIXES_PER_RULE, &r->src,
			       &r->nsrc, &sfam);
		if (cJSON_IsArray(v[R_SRC]))
			nsrc_json = (size_t)cJSON_GetArraySize(v[R_SRC]);
	}
	if (v[R_DST])
		parse_prefixes(f, "dst", v[R_DST],
			       nsrc_json < SPEC_MAX_PREFIXES_PER_RULE ?
				       SPEC_MAX_PREFIXES_PER_RULE - nsrc_json : 0,
			       &r->dst, &r->ndst, &dfam);
	if (v[R_SPORTS]) {
		parse_ports(f, "srcPorts", v[R_SPORTS], SPEC_MAX_PORTS_PER_RULE,
			    &r->sports, &r->nsports);
		if (cJSON_IsArray(v[R_SPORTS]))
			nports_json = (size_t)cJSON_GetArraySize(v[R_SPORTS]);
	}
	if (v[R_DPORTS])
		parse_ports(f, "dstPorts", v[R_DPORTS],
			    nports_json < SPEC_MAX_PORTS_PER_RULE ?
				    SPEC_MAX_PORTS_PER_RULE - nports_json : 0,
			    &r->dports, &r->ndports);
	if (v[R_ICMPTYPE]) {
		has_type = get_int(c, "icmpType", v[R_ICMPTYPE], 0, 255, &l) ? F_OK : F_BAD;
		if (has_type == F_OK)
			r->icmp_type = (int)l;
	}
	if (v[R_ICMPCODE]) {
		has_code = get_int(c, "icmpCode", v[R_ICMPCODE], 0, 255, &l) ? F_OK : F_BAD;
		if (has_code == F_OK)
			r->icmp_code = (int)l;
	}

	if (v[R_STATE])
		parse_states(c, v[R_STATE], r);

	/* Fields that only make sense together. */
	if (has_proto != F_BAD) {
		bool ports_ok = has_proto == F_OK &&
				(r->proto == IPPROTO_TCP || r->proto == IPPROTO_UDP ||
				 r->proto == IPPROTO_SCTP);
		bool icmp_ok = has_proto == F_OK &&
			       (r->proto == IPPROTO_ICMP || r->proto == IPPROTO_ICMPV6);
		const char *ports_key = v[R_SPORTS] ? "srcPorts" : "dstPorts";

		if ((v[R_SPORTS] || v[R_DPORTS]) && !ports_ok) {
			if (has_proto == F_ABSENT)
				perr_at(c, ports_key, "ports need \"proto\": \"tcp\", \"udp\" or \"sctp\" (proto is not set)");
			else
				perr_at(c, ports_key, "ports need \"proto\": \"tcp\", \"udp\" or \"sctp\" (proto is %s)",
					proto_name(r->proto, pname, sizeof(pname)));
		}
		if (v[R_ICMPTYPE] && !icmp_ok) {
			if (has_proto == F_ABSENT)
				perr_at(c, "icmpType", "needs \"proto\": \"icmp\" or \"icmpv6\" (proto is not set)");
			else
				perr_at(c, "icmpType", "needs \"proto\": \"icmp\" or \"icmpv6\" (proto is %s)",
					proto_name(r->proto, pname, sizeof(pname)));
		}
	}
	if (v[R_ICMPCODE] && !v[R_ICMPTYPE])
		perr_at(c, "icmpCode", "needs \"icmpType\": a code is defined only within a type");
	/* Families: judged on the valid entries; a list with errors is
	 * reported already. */
	if (sfam && dfam && !(sfam & dfam))
		perr_at(c, "dst", "the rule can never match: src holds only %s prefixes and dst only %s",
			fams_str(sfam), fams_str(dfam));
	else if (has_proto == F_OK && (r->proto == IPPROTO_ICMP || r->proto == IPPROTO_ICMPV6)) {
		unsigned need = r->proto == IPPROTO_ICMP ? FAM4 : FAM6;
		const char *bad = (sfam && !(sfam & need)) ? "src" :
				  (dfam && !(dfam & need)) ? "dst" : NULL;

		if (bad)
			perr_at(c, "proto", "the rule can never match: \"%s\" is %s only and %s holds only %s prefixes%s",
				r->proto == IPPROTO_ICMP ? "icmp" : "icmpv6",
				need == FAM4 ? "IPv4" : "IPv6", bad,
				need == FAM4 ? "IPv6" : "IPv4",
				need == FAM4 ? " (use \"icmpv6\")" : " (use \"icmp\")");
	}
}

/* Double the rule array (zeroed tail) and rebuild the id table for it. */
static int grow_rules(struct fw_pctx *f, size_t *cap)
{
	size_t ncap = *cap ? *cap * 2 : 64, i;
	struct spec_fw_rule *nr;

	if (ncap > SPEC_MAX_RULES)
		ncap = SPEC_MAX_RULES;
	nr = realloc(f->fw->rules, ncap * sizeof(*nr));
	if (!nr)
		return -ENOMEM;
	memset(nr + *cap, 0, (ncap - *cap) * sizeof(*nr));
	f->fw->rules = nr;
	free(f->ids.slot);
	if (idtab_init(&f->ids, ncap))
		return -ENOMEM;
	for (i = 0; i < *cap; i++)
		if (nr[i].id)
			idtab_insert(&f->ids, nr, i);
	*cap = ncap;
	return 0;
}

static void fw_free(struct spec_function *fn)
{
	struct spec_firewall *fw = &fn->fw;
	struct chunk *c, *next;

	for (c = fw->mem; c; c = next) {
		next = c->next;
		free(c);
	}
	fw->mem = NULL;
	free(fw->rules);
	fw->rules = NULL;
	fw->nrules = 0;
}

static void fw_parse(struct pctx *c, const cJSON *obj, struct spec_function *fn)
{
	enum { NAME, TYPE, DEFACT, AUDIT, RULES };
	struct fw_pctx f = { .c = c, .fw = &fn->fw };
	const cJSON *v[6], *it;
	size_t n, i, m, m2, cap = 0;
	int val;

	if (!obj_fields(c, obj, spec_fw_keys, v))
		return;
	if (require(c, "defaultAction", v[DEFACT]) &&
	    get_enum(c, "defaultAction", v[DEFACT], spec_action_names, &val))
		fn->fw.default_action = (enum spec_action)val;
	if (v[AUDIT])
		get_bool(c, "audit", v[AUDIT], &fn->fw.audit);
	if (!v[RULES])
		return; /* no rules: every packet gets the default action */
	if (!cJSON_IsArray(v[RULES])) {
		perr_at(c, "rules", "expected an array, got %s", json_type_name(v[RULES]));
		return;
	}
	/* No separate counting walk: on a big list every rule node is a
	 * cache miss (~15 ms for 100k). Grow as we go and stop at the limit. */
	m = path_key(c, "rules");
	for (i = 0, it = v[RULES]->child; it; it = it->next, i++) {
		if (i == SPEC_MAX_RULES) {
			for (n = i; it; it = it->next)
				n++;
			perr(c, "has %zu entries, more than the limit of %u", n, SPEC_MAX_RULES);
			break;
		}
		if (i == cap && grow_rules(&f, &cap)) {
			perr(c, "out of memory");
			break;
		}
		fn->fw.nrules = i + 1;
		m2 = path_idx(c, i);
		parse_rule(&f, it, i);
		path_pop(c, m2);
	}
	path_pop(c, m);
	free(f.ids.slot);
}

const struct spec_fn_ops spec_fw_ops = {
	.name = "firewall",
	.type = SPEC_FN_FIREWALL,
	.keys = spec_fw_keys,
	.parse = fw_parse,
	.free = fw_free,
};
