// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Reading spec files and applying them through libsluice.
 *
 * Every write goes through chain_open(CHAIN_LOCK) ... chain_close(): the
 * same flock as the CLI, held for one apply and never while idle. An apply
 * of the spec that is already live is a no-op in gen_apply() (same sha256:
 * nothing is built, loaded or detached; only attach points removed by hand
 * come back), which is how a (re)started agent adopts the pinned datapath.
 * A spec that fails validation is never applied: the live generation keeps
 * running and the errors, with their JSON paths, go to the log, the
 * metrics and /status.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/evp.h>
#include <cjson/cJSON.h>
#include "sluiced.h"
#include "history.h"
#include "spec.h"
#include "attach.h"

const double hist_bounds[HIST_BUCKETS] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
					   1, 2.5, 5, 10, 30, 60, 120 };

const char *apply_res_str(enum apply_res r)
{
	static const char *const names[RES__MAX] = {
		[RES_NONE] = "none",	       [RES_COMMITTED] = "committed",
		[RES_UNCHANGED] = "unchanged", [RES_INVALID] = "invalid",
		[RES_FAILED] = "failed",       [RES_LOCKED] = "locked",
	};

	return r < RES__MAX ? names[r] : "unknown";
}

struct chain_stat *chain_stat_get(const char *name, bool create)
{
	int i;

	for (i = 0; i < agent.nchains; i++)
		if (!strcmp(agent.chains[i].name, name))
			return &agent.chains[i];
	if (!create || agent.nchains >= MAX_CHAINS)
		return NULL;
	memset(&agent.chains[agent.nchains], 0, sizeof(agent.chains[0]));
	snprintf(agent.chains[agent.nchains].name, sizeof(agent.chains[0].name), "%s", name);
	return &agent.chains[agent.nchains++];
}

int chain_live(const char *name, uint32_t *gen, uint32_t *prev, char sha[65])
{
	struct chain c;
	cJSON *h;
	int err;

	*gen = *prev = 0;
	sha[0] = '\0';
	if (!chain_exists(&agent.copts, name))
		return -ENOENT;
	err = chain_open(&c, &agent.copts, name, 0);
	if (err)
		return err;
	*gen = c.live;
	*prev = c.prev;
	if (c.live && !hist_read(&c.paths, c.live, &h)) {
		snprintf(sha, 65, "%s", hist_str(h, "sha256") ?: "");
		cJSON_Delete(h);
	}
	chain_close(&c);
	return 0;
}

static void sha256_hex(const char *buf, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0, i;

	EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL);
	for (i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
	out[64] = '\0';
}

static void errs_clear(struct source *s)
{
	size_t i;

	for (i = 0; i < s->nerrs; i++)
		free(s->errs[i]);
	s->nerrs = s->more_errs = 0;
}

/* Keep errors for /status and log each one with its JSON path. */
static void errs_keep(struct source *s, const struct sl_errs *e, const char *what)
{
	size_t i;

	errs_clear(s);
	for (i = 0; i < e->n; i++) {
		char *line = NULL;

		LOG(LOG_ERROR, what, KS("file", s->path), KS("chain", s->chain),
		    KS("path", e->v[i].path), KS("error", e->v[i].msg));
		if (s->nerrs < MAX_ERRS_KEPT &&
		    asprintf(&line, "%s%s%s", e->v[i].path, e->v[i].path[0] ? ": " : "",
			     e->v[i].msg) >= 0)
			s->errs[s->nerrs++] = line;
		else
			s->more_errs++;
	}
	s->more_errs += e->dropped;
}

static void errs_keep_one(struct source *s, const char *msg)
{
	errs_clear(s);
	s->errs[0] = strdup(msg);
	s->nerrs = s->errs[0] ? 1 : 0;
}

static struct source *source_get(const char *path)
{
	int i;

	for (i = 0; i < agent.nsrc; i++)
		if (!strcmp(agent.src[i].path, path))
			return &agent.src[i];
	if (agent.nsrc >= MAX_SOURCES) {
		LOG(LOG_ERROR, "too many spec files; ignoring", KS("file", path),
		    KN("max", MAX_SOURCES));
		return NULL;
	}
	memset(&agent.src[agent.nsrc], 0, sizeof(agent.src[0]));
	snprintf(agent.src[agent.nsrc].path, PATH_MAX, "%s", path);
	return &agent.src[agent.nsrc++];
}

/* The chain a document names, when it is readable enough to tell. */
static void guess_chain(const char *buf, char *out, size_t len)
{
	cJSON *doc = cJSON_Parse(buf);
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(doc, "metadata");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(md, "name");

	if (cJSON_IsString(name) && strlen(name->valuestring) < len &&
	    strspn(name->valuestring, "abcdefghijklmnopqrstuvwxyz0123456789-") ==
		    strlen(name->valuestring))
		snprintf(out, len, "%s", name->valuestring);
	cJSON_Delete(doc);
}

static void record(const char *chain, const char *file, enum apply_res r, double secs,
		   uint32_t gen, bool observe)
{
	struct chain_stat *cs;
	int b;

	if (!chain[0])
		return;
	cs = chain_stat_get(chain, true);
	if (!cs)
		return;
	snprintf(cs->file, sizeof(cs->file), "%s", file);
	cs->last = r;
	cs->last_time = wall_s();
	cs->last_duration = secs;
	if (gen)
		cs->last_gen = gen;
	cs->results[r]++;
	if (observe) {
		for (b = 0; b < HIST_BUCKETS; b++)
			if (secs <= hist_bounds[b])
				break;
		if (b < HIST_BUCKETS)
			cs->buckets[b]++;
		cs->hist_count++;
		cs->hist_sum += secs;
	}
}

static bool chain_taken(const struct source *self, const char *chain, const char **by)
{
	int i;

	for (i = 0; i < agent.nsrc; i++) {
		const struct source *o = &agent.src[i];

		if (o != self && o->present && o->valid && !strcmp(o->chain, chain)) {
			*by = o->path;
			return true;
		}
	}
	return false;
}

/* Read one file; parse it when its bytes changed (or force). */
static void source_read(struct source *s, bool force)
{
	struct sl_errs errs = {};
	struct spec *sp = NULL;
	char sha[65], chain[64] = "", msg[PATH_MAX + 128];
	const char *by;
	size_t len = 0;
	char *buf = NULL;
	int err;

	err = file_read(s->path, &buf, &len, SPEC_MAX_FILE_BYTES);
	if (err) {
		if (s->raw_sha[0] || s->nerrs == 0 || force)
			LOG(LOG_ERROR, "cannot read spec file", KS("file", s->path),
			    KS("error", strerror(-err)));
		snprintf(msg, sizeof(msg), "cannot read %s: %s", s->path, strerror(-err));
		pthread_mutex_lock(&agent.mu);
		s->raw_sha[0] = '\0';
		s->valid = false;
		s->pending = false;
		errs_keep_one(s, msg);
		pthread_mutex_unlock(&agent.mu);
		return;
	}
	sha256_hex(buf, len, sha);
	if (!force && !strcmp(sha, s->raw_sha)) {
		free(buf);
		return;
	}
	err = spec_parse(buf, len, &sp, &errs);
	if (err)
		guess_chain(buf, chain, sizeof(chain));
	free(buf);

	pthread_mutex_lock(&agent.mu);
	snprintf(s->raw_sha, sizeof(s->raw_sha), "%s", sha);
	spec_free(s->spec);
	s->spec = NULL;
	s->pending = false;
	if (!err && chain_taken(s, sp->name, &by)) {
		snprintf(msg, sizeof(msg), "metadata.name: chain \"%s\" is already defined by %s",
			 sp->name, by);
		snprintf(chain, sizeof(chain), "%s", sp->name);
		spec_free(sp);
		sp = NULL;
		errs_add(&errs, "metadata.name", "chain \"%s\" is already defined by %s", chain, by);
		err = -EINVAL;
	}
	if (err) {
		/* The chain keeps running its live generation. */
		if (chain[0] && !s->chain[0])
			snprintf(s->chain, sizeof(s->chain), "%s", chain);
		s->valid = false;
		s->desired_sha[0] = '\0';
		errs_keep(s, &errs, "invalid spec");
		LOG(LOG_ERROR, "invalid spec: not applied, the live generation keeps running",
		    KS("file", s->path), KS("chain", s->chain), KN("errors", errs.n + errs.dropped));
		record(s->chain, s->path, RES_INVALID, 0, 0, false);
	} else {
		if (s->chain[0] && strcmp(s->chain, sp->name))
			LOG(LOG_WARN, "spec file now names another chain; the old one is left running",
			    KS("file", s->path), KS("old_chain", s->chain), KS("chain", sp->name));
		snprintf(s->chain, sizeof(s->chain), "%s", sp->name);
		snprintf(s->desired_sha, sizeof(s->desired_sha), "%s", sp->sha256);
		s->valid = true;
		s->spec = sp;
		s->pending = true;
		s->retry_at_ms = 0;
		s->backoff_ms = 0;
		errs_clear(s);
		LOG(LOG_INFO, "spec read", KS("file", s->path), KS("chain", s->chain),
		    KS("sha256", s->desired_sha));
	}
	pthread_mutex_unlock(&agent.mu);
	errs_free(&errs);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Spec files of a directory: *.json, not hidden (kubelet's "..data" and
 * timestamped directories start with dots), regular files after symlinks. */
static void scan_dir(const char *dir, char ***names, size_t *n)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d) {
		LOG(LOG_WARN, "cannot read directory", KS("dir", dir), KS("error", strerror(errno)));
		return;
	}
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		char path[PATH_MAX];
		struct stat st;
		char **nv;

		if (de->d_name[0] == '.' || l < 6 || strcmp(de->d_name + l - 5, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		nv = realloc(*names, (*n + 1) * sizeof(char *));
		if (!nv)
			break;
		*names = nv;
		(*names)[(*n)++] = strdup(path);
	}
	closedir(d);
}

void sources_scan(bool force)
{
	char **names = NULL;
	size_t n = 0, i;
	struct stat st;
	int k;

	for (k = 0; k < agent.npaths; k++) {
		if (!stat(agent.paths[k], &st) && S_ISDIR(st.st_mode)) {
			size_t from = n;

			scan_dir(agent.paths[k], &names, &n);
			qsort(names + from, n - from, sizeof(char *), name_cmp);
		} else {
			char **nv = realloc(names, (n + 1) * sizeof(char *));

			if (!nv)
				break;
			names = nv;
			names[n++] = strdup(agent.paths[k]);
		}
	}
	pthread_mutex_lock(&agent.mu);
	for (k = 0; k < agent.nsrc; k++) {
		struct source *s = &agent.src[k];
		bool found = false;

		for (i = 0; i < n && !found; i++)
			found = names[i] && !strcmp(names[i], s->path);
		if (s->present && !found) {
			/* Never detach: a chain stays as it is when its file goes. */
			LOG(LOG_WARN, "spec file gone; its chain is left running as it is",
			    KS("file", s->path), KS("chain", s->chain));
			s->present = s->valid = s->pending = false;
			s->raw_sha[0] = '\0';
			spec_free(s->spec);
			s->spec = NULL;
		}
	}
	pthread_mutex_unlock(&agent.mu);
	for (i = 0; i < n; i++) {
		struct source *s;

		if (!names[i])
			continue;
		pthread_mutex_lock(&agent.mu);
		s = source_get(names[i]);
		if (s)
			s->present = true;
		pthread_mutex_unlock(&agent.mu);
		if (s)
			source_read(s, force);
		free(names[i]);
	}
	free(names);
}

void sources_check_live(void)
{
	uint32_t gen, prev;
	char sha[65];
	int i;

	for (i = 0; i < agent.nsrc; i++) {
		struct source *s = &agent.src[i];

		if (!s->present || !s->valid || s->pending)
			continue;
		chain_live(s->chain, &gen, &prev, sha);
		if (strcmp(sha, s->desired_sha)) {
			LOG(LOG_WARN, "the live generation is not the desired spec; re-applying",
			    KS("file", s->path), KS("chain", s->chain), KN("live_generation", gen),
			    KS("live_sha256", sha), KS("sha256", s->desired_sha));
			s->raw_sha[0] = '\0'; /* re-read and re-apply */
		}
	}
	sources_scan(false);
}

static void schedule_retry(struct source *s, uint32_t first_ms, uint32_t max_ms)
{
	s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : first_ms;
	if (s->backoff_ms > max_ms)
		s->backoff_ms = max_ms;
	s->retry_at_ms = mono_ms() + s->backoff_ms;
}

static void source_apply(struct source *s)
{
	struct apply_opts ao = { .reason = NULL };
	struct apply_result res = {};
	struct sl_errs errs = {};
	enum apply_res r;
	struct chain c;
	uint64_t t0 = mono_ms();
	double secs;
	int err;

	pthread_mutex_lock(&agent.mu);
	agent.applying = true;
	pthread_mutex_unlock(&agent.mu);
	/* a new chain runs at TC when its spec's hooks are TC ones (as with
	 * `sluice apply`) */
	err = chain_open(&c, &agent.copts, s->chain,
			 CHAIN_LOCK | CHAIN_CREATE | (attach_spec_is_tc(s->spec) ? CHAIN_TC : 0));
	if (err == -EWOULDBLOCK) {
		r = RES_LOCKED;
	} else if (err) {
		errs_add(&errs, NULL, "cannot open chain \"%s\": %s", s->chain, strerror(-err));
		r = RES_FAILED;
	} else {
		err = gen_apply(&c, s->spec, &ao, &res, &errs);
		chain_close(&c); /* releases the lock */
		r = !err ? (res.unchanged ? RES_UNCHANGED : RES_COMMITTED) :
		    err == -EINVAL ? RES_INVALID : RES_FAILED;
	}
	secs = (mono_ms() - t0) / 1000.0;

	pthread_mutex_lock(&agent.mu);
	agent.applying = false;
	record(s->chain, s->path, r, secs, err ? 0 : res.gen, r != RES_LOCKED);
	switch (r) {
	case RES_COMMITTED:
	case RES_UNCHANGED:
		s->pending = false;
		s->retry_at_ms = 0;
		s->backoff_ms = 0;
		errs_clear(s);
		spec_free(s->spec);
		s->spec = NULL;
		if (r == RES_COMMITTED)
			LOG(LOG_INFO, "generation committed", KS("chain", s->chain),
			    KS("file", s->path), KN("generation", res.gen), KN("previous", res.prev),
			    KS("sha256", s->desired_sha), KN("build_ms", res.build_ns / 1e6),
			    KN("commit_us", res.commit_ns / 1e3));
		else
			LOG(LOG_INFO, "live generation already has this spec: adopted, nothing changed",
			    KS("chain", s->chain), KS("file", s->path), KN("generation", res.gen),
			    KS("sha256", s->desired_sha));
		for (size_t i = 0; i < errs.n; i++) /* warnings after a commit */
			LOG(LOG_WARN, errs.v[i].msg, KS("chain", s->chain));
		break;
	case RES_LOCKED:
		LOG(LOG_WARN, "chain locked by another writer (sluice or sluiced); will retry",
		    KS("chain", s->chain));
		schedule_retry(s, 1000, 5000);
		break;
	case RES_INVALID:
		/* Validated already: what is left is the node (a missing
		 * interface) or the compiler's caps. Retry slowly. */
		errs_keep(s, &errs, "apply rejected the spec");
		LOG(LOG_ERROR, "apply rejected the spec; the live generation is unchanged",
		    KS("chain", s->chain), KS("file", s->path));
		schedule_retry(s, 10000, 300000);
		break;
	default:
		errs_keep(s, &errs, "apply failed");
		LOG(LOG_ERROR, "apply failed; the live generation is unchanged; will retry",
		    KS("chain", s->chain), KS("file", s->path), KS("error", strerror(-err)));
		schedule_retry(s, 1000, 60000);
		break;
	}
	pthread_mutex_unlock(&agent.mu);
	errs_free(&errs);
}

int sources_apply_due(void)
{
	uint64_t now = mono_ms();
	int i, next = -1;

	for (i = 0; i < agent.nsrc; i++) {
		struct source *s = &agent.src[i];

		if (!s->present || !s->pending || !s->spec)
			continue;
		if (s->retry_at_ms <= now) {
			source_apply(s);
			now = mono_ms();
		}
		if (s->pending) {
			int wait = s->retry_at_ms > now ? (int)(s->retry_at_ms - now) : 0;

			if (next < 0 || wait < next)
				next = wait;
		}
	}
	return next;
}
