/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Network function types, as the generation code sees them: one ops entry
 * per enum spec_fn_type (nf.c). Adding a function type is a spec parser
 * (a spec_fn_types[] entry), a compiler, a stage loader, and a line here.
 */
#ifndef SLUICE_NF_H
#define SLUICE_NF_H

#include <stddef.h>
#include <stdint.h>
#include "spec.h"
#include "stage.h"

struct nf_ops {
	enum spec_fn_type type;
	/* Compile the function into an image the loader takes. Spec-level
	 * errors (over a cap, ...) go to errs under path; -EINVAL then. */
	int (*compile)(const struct spec_function *fn, const char *path, void **img,
		       struct sl_errs *errs);
	void (*image_free)(void *img);
	/* Stable counter keys (rule ids, backend ids, ...): each gets a slot
	 * in the chain's fw_counters that it keeps across generations while
	 * its key stays. May be NULL: no counters. */
	size_t (*ncounters)(const struct spec_function *fn);
	const char *(*counter_key)(const struct spec_function *fn, size_t i);
	/* Load stage idx of generation g: slots[i] is the slot of key i.
	 * On a verifier rejection *log gets the log's tail (malloc'ed). */
	int (*load)(void *img, const uint32_t *slots, struct stage_shared *sh,
		    struct stage_gen *g, uint32_t idx, struct stage_obj *out, char **log);
};

/* NULL for a type without ops (a bug: the spec parser accepted it). */
const struct nf_ops *nf_ops_for(enum spec_fn_type type);

#endif
