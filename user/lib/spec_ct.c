// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The conntrack function: table size and per-state timeouts
 * (docs/conntrack.md), the checks across functions that involve it, and
 * its compile into the stage's .rodata (ct_compile, nf_ct.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "spec_int.h"
#include "nf_ct.h"

_Static_assert(SPEC_CT_NTIMEOUTS == CT_TO__MAX, "spec and ABI timeouts differ");

const char *const spec_ct_keys[] = { "name", "type", "tableSize", "timeouts", NULL };

/* In the order of enum ct_timeout. */
const char *const spec_ct_timeout_keys[] = {
	"tcpSynSent", "tcpSynRecv", "tcpEstablished", "tcpFinWait", "tcpClosing",
	"tcpClose", "udp", "udpReplied", "icmp", "other", NULL,
};

const uint32_t spec_ct_timeout_defaults[SPEC_CT_NTIMEOUTS] = {
	60, 60, 21600, 120, 30, 10, 30, 180, 30, 60,
};

const struct enum_ent spec_ct_state_names[] = {
	{ "new", SL_CT_NEW },
	{ "established", SL_CT_ESTABLISHED },
	{ "related", SL_CT_RELATED },
	{ "invalid", SL_CT_INVALID },
	{ NULL, 0 },
};

static void ct_parse(struct pctx *c, const cJSON *obj, struct spec_function *fn)
{
	enum { NAME, TYPE, SIZE, TIMEOUTS };
	struct spec_conntrack *ct = &fn->ct;
	const cJSON *v[5], *tv[SPEC_CT_NTIMEOUTS + 1];
	size_t m, i;
	long l;

	ct->table_size = CT_TABLE_DEFAULT;
	memcpy(ct->timeouts, spec_ct_timeout_defaults, sizeof(ct->timeouts));
	if (!obj_fields(c, obj, spec_ct_keys, v))
		return;
	if (v[SIZE] && get_int(c, "tableSize", v[SIZE], CT_TABLE_MIN, CT_TABLE_MAX, &l))
		ct->table_size = (uint32_t)l;
	if (!v[TIMEOUTS])
		return;
	m = path_key(c, "timeouts");
	if (obj_fields(c, v[TIMEOUTS], spec_ct_timeout_keys, tv)) {
		for (i = 0; i < SPEC_CT_NTIMEOUTS; i++)
			if (tv[i] && get_int(c, spec_ct_timeout_keys[i], tv[i], 1,
					     SPEC_CT_MAX_TIMEOUT, &l))
				ct->timeouts[i] = (uint32_t)l;
	}
	path_pop(c, m);
}

static void ct_free(struct spec_function *fn)
{
}

const struct spec_fn_ops spec_ct_ops = {
	.name = "conntrack",
	.type = SPEC_FN_CONNTRACK,
	.keys = spec_ct_keys,
	.parse = ct_parse,
	.free = ct_free,
};

void spec_ct_check_chain(struct pctx *c, const struct spec *s)
{
	size_t i, j, first = SIZE_MAX, m, m2, m3, m4;

	m = path_key(c, "functions");
	for (i = 0; i < s->nfns; i++) {
		const struct spec_function *fn = &s->fns[i];

		m2 = path_idx(c, i);
		if (fn->type == SPEC_FN_CONNTRACK) {
			if (first == SIZE_MAX)
				first = i;
			else
				perr_at(c, "type",
					"a chain has one conntrack function (its table is the chain's), and spec.functions[%zu] is one already",
					first);
		} else if (fn->type == SPEC_FN_FIREWALL) {
			m3 = path_key(c, "rules");
			for (j = 0; j < fn->fw.nrules; j++) {
				if (!fn->fw.rules[j].states || first != SIZE_MAX)
					continue;
				m4 = path_idx(c, j);
				perr_at(c, "state",
					"matching a conntrack state needs a conntrack function before this firewall in spec.functions");
				path_pop(c, m4);
			}
			path_pop(c, m3);
		}
		path_pop(c, m2);
	}
	path_pop(c, m);
}

int ct_compile(const struct spec_conntrack *ct, const char *path, struct ct_image *img,
	       struct sl_errs *errs)
{
	size_t i;

	memset(img, 0, sizeof(*img));
	if (ct->table_size < CT_TABLE_MIN || ct->table_size > CT_TABLE_MAX) {
		errs_add(errs, path, "tableSize %u is out of range %u..%u", ct->table_size,
			 CT_TABLE_MIN, CT_TABLE_MAX);
		return -EINVAL;
	}
	img->table_size = ct->table_size;
	for (i = 0; i < CT_TO__MAX; i++)
		img->cfg.timeout_ns[i] = (uint64_t)ct->timeouts[i] * 1000000000ull;
	return 0;
}
