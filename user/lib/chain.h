/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A chain and its generations: the lifecycle behind apply, rollback,
 * status, stats and detach. See docs/generations.md.
 *
 * Every writer holds the chain lock (flock on STATE_DIR/<chain>/lock) from
 * chain_open(CHAIN_LOCK) to chain_close(), so the CLI and the agent never
 * interleave a commit. The live generation is read from the kernel (the
 * program in slot 0 of the pinned root PROG_ARRAY), never trusted from a
 * file.
 */
#ifndef SLUICE_CHAIN_H
#define SLUICE_CHAIN_H

#include <stdbool.h>
#include <stdint.h>
#include "pin.h"
#include "spec.h"
#include "stage.h"

/* Exit codes of the CLI (docs/operations.md). */
enum sl_exit {
	SL_EXIT_OK = 0,
	SL_EXIT_RUNTIME = 1,	/* the kernel or the system said no */
	SL_EXIT_INVALID = 2,	/* invalid spec or usage */
	SL_EXIT_LOCKED = 3,	/* another writer holds the chain lock */
	SL_EXIT_NOT_FOUND = 4,	/* no such chain or generation */
	SL_EXIT_TEST_FAILED = 5, /* sluice test: an expectation failed */
};

struct chain_opts {
	const char *pin_root;	/* default SL_DEFAULT_PIN_ROOT */
	const char *state_dir;	/* default SL_DEFAULT_STATE_DIR */
	int lock_wait_ms;	/* how long to wait for the lock */
	uint32_t history_keep;	/* generations whose history files stay on
				 * disk (live and prev always); 0: default */
};

/* Enough to roll back through a long run of changes, bounded on disk: a
 * generation's files hold its whole spec (MiBs at 100k rules). */
#define SL_HISTORY_KEEP_DEFAULT 100
#define SL_HISTORY_KEEP_MIN 2

#define CHAIN_LOCK 0x1	 /* take the writer lock */
#define CHAIN_CREATE 0x2 /* create the chain (entry program, shared maps) */
#define CHAIN_TC 0x4	 /* create it at TC (sched_cls programs), not XDP */

struct chain {
	char name[64];
	struct chain_paths paths;
	int lock_fd;
	int entry_fd;		/* the entry (root) program */
	int root_fd;		/* sl_root: one slot, the live stage 0 */
	struct stage_shared sh;
	uint32_t live;		/* from the kernel; 0: none */
	uint32_t prev;		/* warm rollback target; 0: none */
	bool created;		/* this open created the chain */
	bool tc;		/* runs at TC, else at XDP (fixed at creation) */
	uint32_t history_keep;	/* chain_opts.history_keep, defaulted */
};

int chain_open(struct chain *c, const struct chain_opts *o, const char *name,
	       unsigned int flags);
void chain_close(struct chain *c);
/* The only chain under the pin root, for commands without -c. */
int chain_find_only(const struct chain_opts *o, char *name, size_t len);
bool chain_exists(const struct chain_opts *o, const char *name);

struct apply_opts {
	bool dry_run;		/* validate, compile, load (verifier), discard */
	const char *reason;	/* history log message, e.g. "rollback to 3" */
};

struct apply_result {
	uint32_t gen;		/* the generation now live (or that would be) */
	uint32_t prev;
	bool unchanged;		/* same spec already live: nothing done */
	uint64_t build_ns, commit_ns; /* build (compile..pin) and commit */
};

/* Validate-compile-build-commit. Returns 0, -EINVAL for spec-level errors
 * (in errs, exit 2), other negative errno for runtime failures (message in
 * errs). The live generation is untouched on any failure. */
int gen_apply(struct chain *c, const struct spec *s, const struct apply_opts *o,
	      struct apply_result *res, struct sl_errs *errs);
/* Switch back to gen (0: the warm previous one). O(1) when gen is warm;
 * otherwise rebuilds gen's spec from history as a new generation. */
int gen_rollback(struct chain *c, uint32_t gen, struct apply_result *res,
		 struct sl_errs *errs);
/* Detach every attach point and remove all pins; history stays. */
int chain_detach(struct chain *c);

/* Unpin generations other than live and prev, whole or partial. */
void chain_sweep_old(struct chain *c);
/* Generation dir fd helpers for status/stats. */
int gen_pin_get(const struct chain *c, uint32_t gen, const char *name);

/* A private generation: the entry program, its maps and every stage of the
 * spec loaded into the kernel but not pinned, not attached and not shared
 * with any chain: packets reach it only through BPF_PROG_TEST_RUN on
 * entry_fd. `sluice test` runs a spec's expectations on it before the spec
 * touches traffic. Freed (and gone from the kernel) with gen_private_free. */
struct gen_private {
	int entry_fd;
	int meta_fd;
	void *impl;
};

int gen_private_build(const struct spec *s, struct gen_private *gp, struct sl_errs *errs);
void gen_private_free(struct gen_private *gp);

/* The entry skeleton of a hook family (struct entry_tc has the same layout). */
struct entry;
struct entry *entry_open_for(bool tc);

/* fault_at(), the SLUICE_TEST_FAULT test hook, is declared in stage.h. */

#endif
