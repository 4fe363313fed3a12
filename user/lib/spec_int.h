/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Internals of the spec parser, shared by spec.c (document, metadata,
 * attach, function dispatch), spec_fw.c (firewall) and spec_json.c (the
 * helpers below). Not part of libsluice's API; tests may include it.
 *
 * Every parse step works at a current JSON path (c->path) that callers
 * extend with path_key()/path_idx() and restore with path_pop(); an error is
 * recorded at that path. Parsing never stops at the first error: a bad field
 * is reported and skipped, and checks that depend on it are not made (so one
 * mistake yields one error, not a cascade).
 */
#ifndef SLUICE_SPEC_INT_H
#define SLUICE_SPEC_INT_H

#include <cjson/cJSON.h>
#include "spec.h"

#define SPEC_PATH_MAX 512
#define SPEC_QUOTE_MAX 64 /* longest value quoted in a message */

struct pctx {
	struct sl_errs *errs;
	size_t nerr;	   /* errors found by this parse, recorded or not */
	size_t plen;
	char path[SPEC_PATH_MAX];
	unsigned qi;	   /* next quote buffer */
	char qbuf[4][SPEC_QUOTE_MAX * 4 + 8];
};

/* Extend the path with ".key" (or "key" at the root) or "[i]"; both return
 * a mark for path_pop(). Keys that are not identifiers are written as
 * ["key"] so a path always reads back unambiguously. */
size_t path_key(struct pctx *c, const char *key);
size_t path_idx(struct pctx *c, size_t i);
static inline void path_pop(struct pctx *c, size_t mark)
{
	c->plen = mark;
	c->path[mark] = '\0';
}

/* Record an error at the current path. */
void perr(struct pctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Record an error at the current path + ".key". */
void perr_at(struct pctx *c, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* s in double quotes, escaped (\", \\, \xNN for bytes outside printable
 * ASCII) and cut at SPEC_QUOTE_MAX characters: safe to print in a message.
 * Valid until four more calls. */
const char *q(struct pctx *c, const char *s);
/* "object", "array", "string", "number", "boolean", "null" */
const char *json_type_name(const cJSON *v);

/* Walk obj's members once. The value of keys[i] (a NULL-terminated list)
 * lands in val[i] (NULL when absent); an unknown key is an error naming it
 * and the closest known key, a repeated key is an error. Returns false, with
 * an error at the current path, when obj is not an object. */
bool obj_fields(struct pctx *c, const cJSON *obj, const char *const keys[],
		const cJSON *val[]);
/* The known key closest to key within edit distance 2 (ASCII case folded),
 * or NULL. */
const char *closest_key(const char *key, const char *const keys[]);

/* Likewise among the names of an enum table. */
struct enum_ent;
const char *closest_enum(const char *s, const struct enum_ent *tbl);

/* Typed access to a member value v (non-NULL) at current path + ".key"
 * (key NULL: at the current path). Each returns false after recording an
 * error naming the expected type or the range. */
bool get_string(struct pctx *c, const char *key, const cJSON *v, const char **out);
bool get_bool(struct pctx *c, const char *key, const cJSON *v, bool *out);
bool get_int(struct pctx *c, const char *key, const cJSON *v, long min, long max,
	     long *out);
/* An array of at most max elements (and at least min); *n its length. */
bool get_array(struct pctx *c, const char *key, const cJSON *v, size_t min,
	       size_t max, size_t *n);

struct enum_ent {
	const char *name;
	int val;
};
/* A string that is one of tbl's names (NULL-terminated table). */
bool get_enum(struct pctx *c, const char *key, const cJSON *v,
	      const struct enum_ent *tbl, int *out);
/* A required member: error "required field is missing" when v is NULL. */
bool require(struct pctx *c, const char *key, const cJSON *v);

/* NULL when s is a DNS label (RFC 1123: 1-63 of [a-z0-9-], starting and
 * ending with a letter or digit); otherwise why not. */
const char *dns_label_why(const char *s);

/* The document as cJSON_PrintUnformatted() prints it, faster
 * (spec_canon.c); malloc'd, NUL-terminated, *len its length. hint: the
 * expected length (the input's), 0 if unknown. NULL on ENOMEM. */
char *spec_canonical(const cJSON *root, size_t hint, size_t *len);

/* Network function types: each is one table entry with its own parse and
 * free. parse() is called with the function's object, the current path at
 * "spec.functions[i]", fn->name and fn->type already set; it validates
 * every member (including "name" and "type", listed in its keys). */
struct spec_fn_ops {
	const char *name; /* the spec's "type" */
	enum spec_fn_type type;
	const char *const *keys; /* members it accepts, for docs and tests */
	void (*parse)(struct pctx *c, const cJSON *obj, struct spec_function *fn);
	void (*free)(struct spec_function *fn);
};

extern const struct spec_fn_ops spec_fw_ops;
extern const struct spec_fn_ops spec_ct_ops;
extern const struct spec_fn_ops spec_lb_ops;
extern const struct spec_fn_ops spec_nat_ops;
/* Checks across functions that involve conntrack (spec_ct.c): at most one
 * conntrack function; a firewall rule with `state` needs one before it. */
struct spec;
void spec_ct_check_chain(struct pctx *c, const struct spec *s);
/* A loadbalancer with "fib" must be the chain's last function. */
void spec_lb_check_chain(struct pctx *c, const struct spec *s);
extern const struct spec_fn_ops *const spec_fn_types[]; /* NULL-terminated */

/* Known member names of each object, exported for the schema test. */
extern const char *const spec_root_keys[];
extern const char *const spec_metadata_keys[];
extern const char *const spec_spec_keys[];
extern const char *const spec_attach_keys[];
extern const char *const spec_fw_keys[];
extern const char *const spec_fw_rule_keys[];
extern const char *const spec_ct_keys[];
extern const char *const spec_ct_timeout_keys[];
extern const char *const spec_lb_keys[];
extern const char *const spec_nat_keys[];
/* "timeouts" of a loadbalancer (icmp: false) or nat function (spec_flow.c):
 * defaults, then the object's values, errors at their paths. */
void spec_flow_timeouts(struct pctx *c, const cJSON *v, uint32_t *timeouts, bool icmp);
extern const char *const spec_flow_timeout_keys[];
extern const char *const spec_lb_service_keys[];
extern const char *const spec_lb_backend_keys[];
extern const struct enum_ent spec_lb_proto_names[];
extern const struct enum_ent spec_lb_mode_names[];
extern const struct enum_ent spec_lb_state_names[];
extern const struct enum_ent spec_ct_state_names[];
extern const struct enum_ent spec_hook_names[];
extern const struct enum_ent spec_mode_names[];
extern const struct enum_ent spec_action_names[];

/* Protocol names accepted by spec_proto_parse() (spec_net.c). */
extern const struct enum_ent spec_proto_names[];

#endif
