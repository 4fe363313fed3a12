// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Building and committing a generation.
 *
 * apply = validate (done by the caller) -> compile every function -> load
 * every stage beside the live generation (fresh programs and config maps,
 * shared state and counter maps reused) -> fill the generation's own
 * PROG_ARRAY -> pin it under gen/N (stage_0 last) -> one
 * update of the root PROG_ARRAY slot (the commit) -> reconcile attach
 * points -> record state and history -> unpin the generation before the
 * previous one. A failure at any step before the commit leaves the live
 * generation alone and removes what this apply made; after the commit, an
 * attach failure puts the old stage 0 back in the slot.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "chain.h"
#include "attach.h"
#include "history.h"
#include "strmap.h"
#include "nf.h"
#include "shared/fw.h"
#include "fw_counters.h"
#include "entry.skel.h"
#include "shared/meta.h"

struct gen_build {
	uint32_t gen;
	struct stage_gen g;
	struct stage_obj stages[SL_MAX_STAGES];
	const struct nf_ops *ops[SL_MAX_STAGES];
	void *imgs[SL_MAX_STAGES];	/* compiled functions */
	uint32_t *slots[SL_MAX_STAGES];	/* counter slot of each counter key */
	size_t nstages;		/* stages loaded */
	size_t nimgs;		/* images compiled */
	cJSON *counters;	/* function -> rule id -> slot */
	uint32_t *new_slots;	/* slots to zero before commit */
	size_t nnew;
	uint32_t shared_new;	/* chain-level maps this apply created (bits) */
	char dir[PATH_MAX];	/* gen/N once pinned */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void build_free(struct gen_build *b)
{
	size_t i;

	for (i = 0; i < b->nstages; i++)
		stage_obj_destroy(&b->stages[i]);
	for (i = 0; i < b->nimgs; i++) {
		if (b->imgs[i])
			b->ops[i]->image_free(b->imgs[i]);
		free(b->slots[i]);
	}
	if (b->g.chain_fd >= 0)
		close(b->g.chain_fd);
	if (b->g.gen_stats_fd >= 0)
		close(b->g.gen_stats_fd);
	cJSON_Delete(b->counters);
	free(b->new_slots);
}

static uint32_t next_gen(const struct chain *c)
{
	uint32_t *gens, next = c->live > c->prev ? c->live : c->prev;
	size_t n;

	if (!hist_list(&c->paths, &gens, &n)) {
		if (n && gens[n - 1] > next)
			next = gens[n - 1];
		free(gens);
	}
	return next + 1;
}

/* Counter slots ------------------------------------------------------- */

struct slot_alloc {
	uint8_t *used;		/* FW_RULE_SLOTS bytes */
	uint32_t cursor;
	struct strmap old;	/* "function/rule id" -> slot, live then prev */
};

static int slot_key(char *out, size_t len, const char *fn, const char *id)
{
	/* '/' is in neither a function name nor a rule id */
	return snprintf(out, len, "%s/%s", fn, id) >= (int)len ? -ENAMETOOLONG : 0;
}

/* Record a generation's slots as used and findable; the live generation
 * goes first and wins for an id both have. */
static int slots_load(struct slot_alloc *sa, const cJSON *counters)
{
	const cJSON *fn, *r;
	char key[160];
	uint32_t have;

	cJSON_ArrayForEach(fn, counters) {
		cJSON_ArrayForEach(r, fn) {
			if (!cJSON_IsNumber(r) || r->valuedouble <= 0 ||
			    r->valuedouble >= FW_RULE_SLOTS ||
			    slot_key(key, sizeof(key), fn->string, r->string))
				continue;
			sa->used[(uint32_t)r->valuedouble] = 1;
			if (strmap_get(&sa->old, key, &have) &&
			    strmap_put(&sa->old, key, (uint32_t)r->valuedouble))
				return -ENOMEM;
		}
	}
	return 0;
}

static int slot_get(struct slot_alloc *sa, struct gen_build *b, cJSON *fn_obj,
		    const char *fn, const char *id, uint32_t *slot)
{
	char key[160];
	uint32_t s;

	if (slot_key(key, sizeof(key), fn, id) || strmap_get(&sa->old, key, &s)) {
		while (sa->cursor < FW_RULE_SLOTS && sa->used[sa->cursor])
			sa->cursor++;
		if (sa->cursor >= FW_RULE_SLOTS)
			return -ENOSPC;
		s = sa->cursor;
		sa->used[s] = 1;
		b->new_slots[b->nnew++] = s;
	}
	if (!cJSON_AddNumberToObject(fn_obj, id, s))
		return -ENOMEM;
	*slot = s;
	return 0;
}

static size_t ncounters(const struct gen_build *b, const struct spec *s, size_t i)
{
	return b->ops[i]->ncounters ? b->ops[i]->ncounters(&s->fns[i]) : 0;
}

static int slots_assign(struct chain *c, const struct spec *s, struct gen_build *b,
			struct sl_errs *errs)
{
	struct slot_alloc sa = { .cursor = 1 };
	size_t i, j, total = 0;
	cJSON *h;
	int err = 0, k;
	uint32_t gens[2] = { c->live, c->prev };

	for (i = 0; i < s->nfns; i++)
		total += ncounters(b, s, i);
	sa.used = calloc(FW_RULE_SLOTS, 1);
	b->new_slots = calloc(total + 1, sizeof(uint32_t));
	b->counters = cJSON_CreateObject();
	if (!sa.used || !b->new_slots || !b->counters || strmap_init(&sa.old, 2 * total)) {
		err = -ENOMEM;
		goto out;
	}
	for (k = 0; k < 2 && !err; k++) {
		if (!gens[k] || hist_counters(&c->paths, gens[k], &h))
			continue;
		err = slots_load(&sa, h);
		cJSON_Delete(h);
	}
	/* A slot that an older generation left a count pending for (in an
	 * idle CPU's batch) is not free yet: the count would land on the
	 * rule that got it. */
	if (!err && c->sh.fw_counters_fd >= 0)
		err = fw_counters_pending(c->sh.fw_counters_fd, sa.used);
	for (i = 0; i < s->nfns && !err; i++) {
		const struct spec_function *fn = &s->fns[i];
		size_t n = ncounters(b, s, i);
		cJSON *fo;

		if (!n)
			continue;
		b->slots[i] = calloc(n, sizeof(uint32_t));
		fo = cJSON_AddObjectToObject(b->counters, fn->name);
		if (!b->slots[i] || !fo) {
			err = -ENOMEM;
			break;
		}
		for (j = 0; j < n && !err; j++)
			err = slot_get(&sa, b, fo, fn->name, b->ops[i]->counter_key(fn, j),
				       &b->slots[i][j]);
	}
	if (err == -ENOSPC)
		errs_add(errs, "spec.functions",
			 "no free counter slots: the live, previous and new generations together need more than %u",
			 FW_RULE_SLOTS - 1);
out:
	strmap_free(&sa.old);
	free(sa.used);
	return err;
}

static int slots_zero(int fd, const uint32_t *slots, size_t n)
{
	return fw_counters_zero(fd, slots, n);
}

/* Compile every function through its type's ops. */
static int compile_all(const struct spec *s, struct gen_build *b, struct sl_errs *errs)
{
	char path[64];
	size_t i;
	int err;

	for (i = 0; i < s->nfns; i++) {
		snprintf(path, sizeof(path), "spec.functions[%zu]", i);
		b->ops[i] = nf_ops_for(s->fns[i].type);
		if (!b->ops[i]) {
			errs_add(errs, path, "function type \"%s\" is not built into this sluice",
				 spec_fn_type_str(s->fns[i].type));
			return -EINVAL;
		}
		b->nimgs = i + 1;
		err = b->ops[i]->compile(&s->fns[i], path, &b->imgs[i], errs);
		if (err)
			return err;
	}
	return 0;
}

/* Build --------------------------------------------------------------- */

static int build_stages(struct stage_shared *sh, const struct spec *s, struct gen_build *b,
			struct sl_errs *errs)
{
	char path[64];
	size_t i;
	int err;

	b->g.gen = b->gen;
	b->g.nstages = s->nfns;
	b->g.tc = attach_spec_is_tc(s);
	for (i = 0; i < s->nfns; i++) {
		const struct spec_function *fn = &s->fns[i];
		char *log = NULL;

		snprintf(path, sizeof(path), "spec.functions[%zu]", i);
		err = b->ops[i]->load(b->imgs[i], b->slots[i], sh, &b->g, i, &b->stages[i], &log);
		if (err) {
			errs_add(errs, path, "loading function \"%s\" failed: %s%s%s",
				 fn->name, strerror(-err), log ? "; verifier log tail:\n" : "",
				 log ? log : "");
			free(log);
			return err;
		}
		free(log);
		b->nstages = i + 1;
	}
	return 0;
}

/* Slot i: stage i; slot nstages: the commit program of a stage that
 * defers work to the chain's end (at most one stage has one: conntrack). */
static int fill_chain(struct gen_build *b)
{
	uint32_t i, last = (uint32_t)b->nstages;

	for (i = 0; i < b->nstages; i++)
		if (bpf_map_update_elem(b->g.chain_fd, &i, &b->stages[i].prog_fd, BPF_ANY))
			return -errno;
	for (i = 0; i < b->nstages; i++)
		if (b->stages[i].commit_fd > 0 &&
		    bpf_map_update_elem(b->g.chain_fd, &last, &b->stages[i].commit_fd, BPF_ANY))
			return -errno;
	return 0;
}

/* Pin the generation under gen/N. bpffs cannot rename, so the directory
 * fills in place, stage_0 last: the live generation is found by stage_0's
 * program id, and a directory that is neither live nor the recorded previous
 * one is swept by the next writer, whole or not. */
static int pin_gen(struct chain *c, const struct spec *s, struct gen_build *b)
{
	char name[128];
	size_t i, j;
	int err;

	snprintf(b->dir, sizeof(b->dir), "%s/%u", c->paths.gen, b->gen);
	pin_rmtree(b->dir);
	err = mkdir_p(b->dir);
	if (!err)
		err = pin_fd(b->g.chain_fd, b->dir, "sl_chain");
	if (!err)
		err = pin_fd(b->g.gen_stats_fd, b->dir, "sl_gen_stats");
	for (i = 0; i < b->nstages && !err; i++) {
		for (j = 0; j < b->stages[i].npins && !err; j++) {
			snprintf(name, sizeof(name), "%s_%s", s->fns[i].name,
				 b->stages[i].pins[j].name);
			err = pin_fd(b->stages[i].pins[j].fd, b->dir, name);
		}
	}
	for (i = b->nstages; i-- > 0 && !err;) {
		snprintf(name, sizeof(name), "stage_%zu", i);
		err = pin_fd(b->stages[i].prog_fd, b->dir, name);
	}
	if (!err)
		err = fault_at("pin");
	return err;
}

static int root_set(struct chain *c, int prog_fd)
{
	uint32_t key = 0;

	if (prog_fd < 0)
		return bpf_map_delete_elem(c->root_fd, &key) && errno != ENOENT ? -errno : 0;
	return bpf_map_update_elem(c->root_fd, &key, &prog_fd, BPF_ANY) ? -errno : 0;
}

/* Chain-level shared maps as a bit mask: bit 0 fw_counters, bit 1 + i
 * stage_shared_names[i]. The first stage that declares one creates it;
 * the apply that did pins it at the chain root, or forgets it on failure. */
static uint32_t shared_mask(const struct stage_shared *sh)
{
	uint32_t m = sh->fw_counters_fd >= 0;
	int i;

	for (i = 0; i < STAGE_MAX_EXTRA; i++)
		if (sh->extra_fd[i] > 0)
			m |= 2u << i;
	return m;
}

static const char *shared_name(int bit)
{
	return bit ? stage_shared_names[bit - 1] : "fw_counters";
}

static int *shared_fd(struct stage_shared *sh, int bit)
{
	return bit ? &sh->extra_fd[bit - 1] : &sh->fw_counters_fd;
}

static int shared_pin_new(struct chain *c, uint32_t mask, struct sl_errs *errs)
{
	int bit, err;

	for (bit = 0; bit <= STAGE_MAX_EXTRA; bit++) {
		if (!(mask & (1u << bit)))
			continue;
		err = pin_fd(*shared_fd(&c->sh, bit), c->paths.pin, shared_name(bit));
		if (err) {
			errs_add(errs, NULL, "cannot pin %s: %s", shared_name(bit), strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Unpin and close what this apply created, so that a later apply in the
 * same process (the agent) creates and pins it afresh. */
static void shared_forget(struct chain *c, uint32_t mask)
{
	char path[PATH_MAX];
	int bit, *fd;

	for (bit = 0; bit <= STAGE_MAX_EXTRA; bit++) {
		if (!(mask & (1u << bit)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", c->paths.pin, shared_name(bit));
		unlink(path);
		fd = shared_fd(&c->sh, bit);
		close(*fd);
		*fd = bit ? 0 : -1;
	}
}

/* Undo what a failed apply made, keeping the live generation. */
static void apply_undo(struct chain *c, struct gen_build *b)
{
	if (b->dir[0])
		pin_rmtree(b->dir);
	if (!c->live) {
		/* The chain never had a generation: leave no trace of it. */
		pin_rmtree(c->paths.pin);
		return;
	}
	shared_forget(c, b->shared_new);
	b->shared_new = 0;
}

static bool same_as_live(struct chain *c, const struct spec *s)
{
	const char *sha;
	bool same = false;
	cJSON *h;

	if (!c->live || hist_read(&c->paths, c->live, &h))
		return false;
	sha = hist_str(h, "sha256");
	same = sha && !strcmp(sha, s->sha256);
	cJSON_Delete(h);
	return same;
}

int gen_apply(struct chain *c, const struct spec *s, const struct apply_opts *o,
	      struct apply_result *res, struct sl_errs *errs)
{
	struct gen_build b = { .g = { .chain_fd = -1, .gen_stats_fd = -1 } };
	char **added = NULL;
	size_t nadded = 0, i;
	cJSON *attach;
	int old_stage0 = -1, err;
	uint64_t t0 = now_ns(), t1;
	uint32_t shared_had = shared_mask(&c->sh);

	memset(res, 0, sizeof(*res));
	err = attach_check(s, errs);
	if (err)
		goto fail_spec;
	if (attach_spec_is_tc(s) != c->tc) {
		errs_add(errs, "spec.attach[0].hook",
			 "chain %s runs at %s; to move it to %s, detach it first (sluice detach)",
			 c->name, c->tc ? "TC" : "XDP", c->tc ? "XDP" : "TC");
		goto fail_spec;
	}
	if (!o->dry_run && same_as_live(c, s)) {
		/* Declarative: the same spec twice changes nothing. Only put
		 * back attach points someone removed by hand. */
		err = attach_reconcile(&c->paths, c->entry_fd, s, &added, &nadded, errs);
		for (i = 0; i < nadded; i++)
			free(added[i]);
		free(added);
		res->gen = c->live;
		res->prev = c->prev;
		res->unchanged = true;
		return err;
	}

	err = compile_all(s, &b, errs);
	if (err)
		goto fail_spec;
	if ((err = fault_at("compile")))
		goto fail;

	b.gen = next_gen(c);
	err = slots_assign(c, s, &b, errs);
	if (err)
		goto fail_spec;
	err = build_stages(&c->sh, s, &b, errs);
	/* Also when a later stage failed: an earlier one may have created a
	 * shared map that the undo must forget. */
	b.shared_new = shared_mask(&c->sh) & ~shared_had;
	if (err)
		goto fail;
	err = fill_chain(&b);
	/* a fw_counters made by this apply is zero already */
	if (!err && !(b.shared_new & 1) && b.nnew)
		err = slots_zero(c->sh.fw_counters_fd, b.new_slots, b.nnew);
	if (!err)
		err = fault_at("load");
	if (err) {
		errs_add(errs, NULL, "building generation %u failed: %s", b.gen, strerror(-err));
		goto fail;
	}
	if (o->dry_run) {
		res->gen = b.gen;
		res->build_ns = now_ns() - t0;
		if (b.shared_new || c->created)
			apply_undo(c, &b);
		build_free(&b);
		return 0;
	}
	err = shared_pin_new(c, b.shared_new, errs);
	if (err)
		goto fail;
	err = pin_gen(c, s, &b);
	if (err) {
		errs_add(errs, NULL, "cannot pin generation %u: %s", b.gen, strerror(-err));
		goto fail;
	}
	attach = attach_to_json(s);
	err = attach ? hist_write(&c->paths, b.gen, s->sha256, HIST_STAGED, s->canonical,
				  attach, b.counters) : -ENOMEM;
	cJSON_Delete(attach);
	if (!err)
		err = fault_at("history");
	if (err) {
		errs_add(errs, NULL, "cannot write history for generation %u: %s", b.gen,
			 strerror(-err));
		goto fail;
	}
	t1 = now_ns();
	res->build_ns = t1 - t0;

	/* The commit: one PROG_ARRAY slot update. */
	if (c->live)
		old_stage0 = gen_pin_get(c, c->live, "stage_0");
	err = fault_at("commit") ?: root_set(c, b.stages[0].prog_fd);
	res->commit_ns = now_ns() - t1;
	if (err) {
		errs_add(errs, NULL, "commit of generation %u failed: %s", b.gen, strerror(-err));
		goto fail_hist;
	}
	err = attach_reconcile(&c->paths, c->entry_fd, s, &added, &nadded, errs);
	if (!err)
		err = fault_at("attach");
	if (err) {
		/* Put the old generation back before anything else. */
		root_set(c, old_stage0);
		attach_unpin(&c->paths, added, nadded);
		goto fail_hist;
	}
	res->prev = c->live;
	res->gen = b.gen;
	c->prev = c->live;
	c->live = b.gen;
	err = state_write(&c->paths, c->live, c->prev);
	if (err)
		errs_add(errs, NULL, "warning: generation %u is live but state.json was not written: %s",
			 b.gen, strerror(-err));
	hist_set_result(&c->paths, b.gen, HIST_COMMITTED);
	hist_log(&c->paths, o->reason ? "rollback" : "apply", b.gen, s->sha256,
		 "committed", o->reason);
	hist_prune(&c->paths, c->history_keep, c->live, c->prev);
	err = 0;
	goto out;

fail_hist:
	hist_set_result(&c->paths, b.gen, HIST_FAILED);
	hist_log(&c->paths, "apply", b.gen, s->sha256, "failed", errs->n ? errs->v[errs->n - 1].msg : NULL);
fail:
	apply_undo(c, &b);
	goto out;
fail_spec:
	err = -EINVAL;
	if (c->created)
		apply_undo(c, &b);
out:
	if (old_stage0 >= 0)
		close(old_stage0);
	for (i = 0; i < nadded; i++)
		free(added[i]);
	free(added);
	build_free(&b);
	if (!err)
		chain_sweep_old(c);
	return err;
}

/* Warm: the same one-slot update as a commit, no rebuild, no spec parse:
 * only the small history metadata (its attach points and hash) is read. */
static int rollback_warm(struct chain *c, uint32_t gen, struct apply_result *res,
			 struct sl_errs *errs)
{
	struct spec attach_only = {};
	char **added = NULL;
	size_t nadded = 0, i;
	uint32_t old_live = c->live;
	uint64_t t0;
	cJSON *meta = NULL;
	int stage0, old_stage0 = -1, err;

	err = hist_read(&c->paths, gen, &meta);
	if (!err)
		err = attach_from_json(cJSON_GetObjectItemCaseSensitive(meta, "attach"),
				       &attach_only.attach, &attach_only.nattach);
	if (err) {
		errs_add(errs, NULL, "the history of generation %u is unreadable: %s", gen,
			 strerror(-err));
		goto out;
	}
	stage0 = gen_pin_get(c, gen, "stage_0");
	if (stage0 < 0) {
		err = stage0;
		errs_add(errs, NULL, "generation %u is not pinned: %s", gen, strerror(-err));
		goto out;
	}
	if (old_live)
		old_stage0 = gen_pin_get(c, old_live, "stage_0");
	t0 = now_ns();
	err = root_set(c, stage0);
	res->commit_ns = now_ns() - t0;
	close(stage0);
	if (err) {
		errs_add(errs, NULL, "rollback to generation %u failed: %s", gen, strerror(-err));
		goto out;
	}
	/* Its attach points may differ from the live one's. */
	err = attach_reconcile(&c->paths, c->entry_fd, &attach_only, &added, &nadded, errs);
	if (!err && (err = fault_at("rollback-attach")))
		errs_add(errs, NULL, "injected fault: rollback-attach");
	if (err) {
		/* As in apply: the generation that was live goes back into the
		 * slot, the attach points this rollback added go, and the
		 * rollback is reported failed with nothing changed. */
		if (old_stage0 >= 0)
			root_set(c, old_stage0);
		attach_unpin(&c->paths, added, nadded);
		hist_log(&c->paths, "rollback", gen, hist_str(meta, "sha256"), "failed",
			 errs->n ? errs->v[errs->n - 1].msg : NULL);
		goto out;
	}
	c->prev = old_live;
	c->live = gen;
	state_write(&c->paths, c->live, c->prev);
	hist_log(&c->paths, "rollback", gen, hist_str(meta, "sha256"), "committed", NULL);
	hist_prune(&c->paths, c->history_keep, c->live, c->prev);
	res->gen = gen;
	res->prev = c->prev;
out:
	for (i = 0; i < nadded; i++)
		free(added[i]);
	free(added);
	if (old_stage0 >= 0)
		close(old_stage0);
	free(attach_only.attach);
	cJSON_Delete(meta);
	return err;
}

int gen_rollback(struct chain *c, uint32_t gen, struct apply_result *res,
		 struct sl_errs *errs)
{
	struct apply_opts o = {};
	struct spec *s = NULL;
	char reason[64];
	char *text = NULL;
	int err;

	memset(res, 0, sizeof(*res));
	if (!gen)
		gen = c->prev;
	if (!gen) {
		errs_add(errs, NULL, "no previous generation to roll back to");
		return -ENOENT;
	}
	if (gen == c->live) {
		res->gen = c->live;
		res->prev = c->prev;
		res->unchanged = true;
		return 0;
	}
	if (gen == c->prev)
		return rollback_warm(c, gen, res, errs);
	/* Cold: rebuild it from history as a new generation. */
	err = hist_read_spec(&c->paths, gen, &text);
	if (err) {
		errs_add(errs, NULL, "generation %u is not in the history of chain %s", gen, c->name);
		return -ENOENT;
	}
	if (spec_parse(text, strlen(text), &s, errs)) {
		errs_add(errs, NULL, "the spec of generation %u in history does not parse", gen);
		err = -EINVAL;
		goto out;
	}
	snprintf(reason, sizeof(reason), "rollback to %u", gen);
	o.reason = reason;
	err = gen_apply(c, s, &o, res, errs);
out:
	free(text);
	spec_free(s);
	return err;
}

/* Private generations (sluice test) ------------------------------------ */

struct gen_private_impl {
	struct entry *entry;
	struct gen_build b;
	struct stage_shared sh;
};

void gen_private_free(struct gen_private *gp)
{
	struct gen_private_impl *pi = gp->impl;
	int i;

	if (!pi)
		return;
	build_free(&pi->b);
	if (pi->sh.fw_counters_fd >= 0)
		close(pi->sh.fw_counters_fd);
	for (i = 0; i < STAGE_MAX_EXTRA; i++)
		if (pi->sh.extra_fd[i] > 0)
			close(pi->sh.extra_fd[i]);
	entry__destroy(pi->entry);
	free(pi);
	gp->impl = NULL;
	gp->entry_fd = gp->meta_fd = -1;
}

int gen_private_build(const struct spec *s, struct gen_private *gp, struct sl_errs *errs)
{
	struct gen_private_impl *pi;
	uint32_t slot = 1, key = 0;
	size_t i, j;
	int err;

	gp->entry_fd = gp->meta_fd = -1;
	gp->impl = pi = calloc(1, sizeof(*pi));
	if (!pi)
		return -ENOMEM;
	pi->b.g.chain_fd = pi->b.g.gen_stats_fd = -1;
	pi->b.g.tc = attach_spec_is_tc(s);
	pi->sh.fw_counters_fd = -1;
	err = compile_all(s, &pi->b, errs);
	if (err) {
		err = -EINVAL;
		goto fail;
	}
	for (i = 0; i < s->nfns; i++) {
		size_t n = ncounters(&pi->b, s, i);

		/* Fresh counters: slots in order. */
		pi->b.slots[i] = calloc(n + 1, sizeof(uint32_t));
		if (!pi->b.slots[i]) {
			err = -ENOMEM;
			goto fail;
		}
		for (j = 0; j < n; j++)
			pi->b.slots[i][j] = slot++;
	}
	pi->entry = entry_open_for(pi->b.g.tc);
	if (pi->entry && entry__load(pi->entry)) {
		entry__destroy(pi->entry);
		pi->entry = NULL;
	}
	if (!pi->entry) {
		err = -errno ?: -EINVAL;
		errs_add(errs, NULL, "cannot load the entry program: %s", strerror(-err));
		goto fail;
	}
	pi->sh.meta_fd = bpf_map__fd(pi->entry->maps.sl_meta_scratch);
	pi->sh.drops_fd = bpf_map__fd(pi->entry->maps.sl_drops);
	pi->b.gen = 1;
	err = build_stages(&pi->sh, s, &pi->b, errs);
	if (!err)
		err = fill_chain(&pi->b);
	if (!err && bpf_map_update_elem(bpf_map__fd(pi->entry->maps.sl_root), &key,
					&pi->b.stages[0].prog_fd, BPF_ANY))
		err = -errno;
	if (err)
		goto fail;
	gp->entry_fd = bpf_program__fd(pi->entry->progs.sl_entry);
	gp->meta_fd = pi->sh.meta_fd;
	return 0;
fail:
	gen_private_free(gp);
	return err;
}
