// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The ops of every network function type. */
#include <errno.h>
#include <stdlib.h>
#include "nf.h"
#include "fw_compile.h"
#include "nf_fw.h"
#include "nf_ct.h"
#include "nf_lb.h"
#include "nf_nat.h"

/* firewall ------------------------------------------------------------ */

#define FW_DEFAULT_KEY "(default)"

static int fw_ops_compile(const struct spec_function *fn, const char *path, void **img,
			  struct sl_errs *errs)
{
	struct fw_image *fi = calloc(1, sizeof(*fi));
	int err;

	if (!fi)
		return -ENOMEM;
	err = fw_compile(&fn->fw, path, fi, errs);
	if (err) {
		fw_image_free(fi);
		free(fi);
		return err;
	}
	*img = fi;
	return 0;
}

static void fw_ops_free(void *img)
{
	fw_image_free(img);
	free(img);
}

/* Key 0 is the default action's, then one per rule in order. */
static size_t fw_ops_ncounters(const struct spec_function *fn)
{
	return fn->fw.nrules + 1;
}

static const char *fw_ops_counter_key(const struct spec_function *fn, size_t i)
{
	return i ? fn->fw.rules[i - 1].id : FW_DEFAULT_KEY;
}

static int fw_ops_load(void *img, const uint32_t *slots, struct stage_shared *sh,
		       struct stage_gen *g, uint32_t idx, struct stage_obj *out, char **log)
{
	struct fw_image *fi = img;
	size_t i;

	for (i = 0; i < fi->nrules; i++)
		fi->rules[i].counter = slots[i + 1];
	return fw_stage_load(fi, slots[0], sh, g, idx, out, log);
}

/* conntrack (nf_ct.h) ---------------------------------------------------- */

static int ct_ops_compile(const struct spec_function *fn, const char *path, void **img,
			  struct sl_errs *errs)
{
	struct ct_image *ci = calloc(1, sizeof(*ci));
	int err;

	if (!ci)
		return -ENOMEM;
	err = ct_compile(&fn->ct, path, ci, errs);
	if (err) {
		free(ci);
		return err;
	}
	*img = ci;
	return 0;
}

static int ct_ops_load(void *img, const uint32_t *slots, struct stage_shared *sh,
		       struct stage_gen *g, uint32_t idx, struct stage_obj *out, char **log)
{
	return ct_stage_load(img, sh, g, idx, out, NULL, log);
}

/* loadbalancer (nf_lb.h) ------------------------------------------------- */

static int lb_ops_compile(const struct spec_function *fn, const char *path, void **img,
			  struct sl_errs *errs)
{
	struct lb_image *li = calloc(1, sizeof(*li));
	int err;

	if (!li)
		return -ENOMEM;
	err = lb_compile(&fn->lb, path, li, errs);
	if (err) {
		free(li);
		return err;
	}
	*img = li;
	return 0;
}

static void lb_ops_free(void *img)
{
	lb_image_free(img);
	free(img);
}

static size_t lb_ops_ncounters(const struct spec_function *fn)
{
	return lb_ncounters(&fn->lb);
}

static const char *lb_ops_counter_key(const struct spec_function *fn, size_t i)
{
	return lb_counter_key(&fn->lb, i);
}

static int lb_ops_load(void *img, const uint32_t *slots, struct stage_shared *sh,
		       struct stage_gen *g, uint32_t idx, struct stage_obj *out, char **log)
{
	return lb_stage_load(img, slots, sh, g, idx, out, log);
}

/* nat (nf_nat.h) -------------------------------------------------------- */

static int nat_ops_compile(const struct spec_function *fn, const char *path, void **img,
			   struct sl_errs *errs)
{
	struct nat_image *ni = calloc(1, sizeof(*ni));
	int err;

	if (!ni)
		return -ENOMEM;
	err = nat_compile(&fn->nat, path, ni, errs);
	if (err) {
		free(ni);
		return err;
	}
	*img = ni;
	return 0;
}

static void nat_ops_free(void *img)
{
	nat_image_free(img);
	free(img);
}

static int nat_ops_load(void *img, const uint32_t *slots, struct stage_shared *sh,
			struct stage_gen *g, uint32_t idx, struct stage_obj *out, char **log)
{
	return nat_stage_load(img, sh, g, idx, out, log);
}

static const struct nf_ops nf_types[] = {
	{
		.type = SPEC_FN_FIREWALL,
		.compile = fw_ops_compile,
		.image_free = fw_ops_free,
		.ncounters = fw_ops_ncounters,
		.counter_key = fw_ops_counter_key,
		.load = fw_ops_load,
	},
	{
		.type = SPEC_FN_CONNTRACK,
		.compile = ct_ops_compile,
		.image_free = free,
		.load = ct_ops_load,
	},
	{
		.type = SPEC_FN_LOADBALANCER,
		.compile = lb_ops_compile,
		.image_free = lb_ops_free,
		.ncounters = lb_ops_ncounters,
		.counter_key = lb_ops_counter_key,
		.load = lb_ops_load,
	},
	{
		.type = SPEC_FN_NAT,
		.compile = nat_ops_compile,
		.image_free = nat_ops_free,
		.load = nat_ops_load,
	},
};

const struct nf_ops *nf_ops_for(enum spec_fn_type type)
{
	size_t i;

	for (i = 0; i < sizeof(nf_types) / sizeof(nf_types[0]); i++)
		if (nf_types[i].type == type)
			return &nf_types[i];
	return NULL;
}
