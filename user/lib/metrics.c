// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Reading a chain's counters and map usage for metrics; see metrics.h. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cjson/cJSON.h>
#include "metrics.h"
#include "nf_ct.h"
#include "nf_flow.h"
#include "history.h"
#include "shared/fw.h"
#include "fw_counters.h"

struct sl_counter *metrics_fw_counters(int fd)
{
	return fd < 0 ? NULL : fw_counters_sum(fd);
}

/* Counts of frozen maps, by map id: their contents never change. */
#define FROZEN_CACHE 256
static struct {
	uint32_t id;
	uint64_t entries;
} frozen_cache[FROZEN_CACHE];
static unsigned int frozen_next;
static pthread_mutex_t frozen_mu = PTHREAD_MUTEX_INITIALIZER;

static bool frozen_get(uint32_t id, uint64_t *entries)
{
	bool found = false;
	size_t i;

	pthread_mutex_lock(&frozen_mu);
	for (i = 0; i < FROZEN_CACHE && !found; i++) {
		if (frozen_cache[i].id == id) {
			*entries = frozen_cache[i].entries;
			found = true;
		}
	}
	pthread_mutex_unlock(&frozen_mu);
	return found;
}

static void frozen_put(uint32_t id, uint64_t entries)
{
	pthread_mutex_lock(&frozen_mu);
	frozen_cache[frozen_next % FROZEN_CACHE].id = id;
	frozen_cache[frozen_next % FROZEN_CACHE].entries = entries;
	frozen_next++;
	pthread_mutex_unlock(&frozen_mu);
}

static void fdinfo_read(int fd, struct metrics_map *m)
{
	char path[64], line[128];
	unsigned long long v;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "memlock: %llu", &v) == 1)
			m->memlock_bytes = v;
		else if (sscanf(line, "frozen: %llu", &v) == 1)
			m->frozen = v != 0;
	}
	fclose(f);
}

static bool is_hash(uint32_t type)
{
	switch (type) {
	case BPF_MAP_TYPE_HASH:
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_LRU_HASH:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
	case BPF_MAP_TYPE_LPM_TRIE:
		return true;
	default:
		return false;
	}
}

/* Keys of a hash-type map: batched where the kernel can, else one by one. */
static int64_t count_keys(int fd, const struct bpf_map_info *info)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int ncpu = libbpf_num_possible_cpus();
	size_t vsz = info->value_size, chunk = 1024;
	void *keys = NULL, *vals = NULL, *key = NULL, *next = NULL;
	char batch[64];
	bool first = true;
	int64_t total = 0;
	uint32_t n;
	int err;

	if (info->type == BPF_MAP_TYPE_PERCPU_HASH || info->type == BPF_MAP_TYPE_LRU_PERCPU_HASH)
		vsz = ((vsz + 7) & ~7ul) * (ncpu > 0 ? ncpu : 1);
	if (info->type != BPF_MAP_TYPE_LPM_TRIE && info->key_size <= sizeof(batch)) {
		keys = malloc(chunk * info->key_size);
		vals = malloc(chunk * vsz);
		if (!keys || !vals)
			goto out_nomem;
		for (;;) {
			n = chunk;
			err = bpf_map_lookup_batch(fd, first ? NULL : batch, batch, keys, vals, &n,
						   &opts);
			first = false;
			if (err && errno != ENOENT) {
				if (total == 0 && (errno == EINVAL || errno == ENOTSUP ||
						   errno == EOPNOTSUPP || errno == 524 /* ENOTSUPP */))
					break; /* fall back to get_next_key */
				total = -errno;
				goto out;
			}
			total += n;
			if (err)
				goto out;
		}
	}
	key = calloc(1, info->key_size);
	next = calloc(1, info->key_size);
	if (!key || !next)
		goto out_nomem;
	total = 0;
	for (err = bpf_map_get_next_key(fd, NULL, next); !err;
	     err = bpf_map_get_next_key(fd, key, next)) {
		memcpy(key, next, info->key_size);
		total++;
	}
	if (errno != ENOENT)
		total = -errno;
	goto out;
out_nomem:
	total = -ENOMEM;
out:
	free(keys);
	free(vals);
	free(key);
	free(next);
	return total;
}

/* Slots of fw_counters that the live and previous generations hold. */
static uint64_t counter_slots_used(const struct chain *c)
{
	uint32_t gens[2] = { c->live, c->prev };
	uint8_t *used = calloc(FW_RULE_SLOTS, 1);
	const cJSON *fn, *r;
	uint64_t n = 0;
	cJSON *h;
	int k;

	if (!used)
		return 0;
	for (k = 0; k < 2; k++) {
		if (!gens[k] || hist_counters(&c->paths, gens[k], &h))
			continue;
		cJSON_ArrayForEach(fn, h) {
			cJSON_ArrayForEach(r, fn) {
				uint32_t s;

				if (!cJSON_IsNumber(r) || r->valuedouble < 0 ||
				    r->valuedouble >= FW_RULE_SLOTS)
					continue;
				s = (uint32_t)r->valuedouble;
				n += !used[s];
				used[s] = 1;
			}
		}
		cJSON_Delete(h);
	}
	free(used);
	return n;
}

static int map_usage(const struct chain *c, int fd, const char *name, uint32_t gen,
		     struct metrics_map *m)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info), k, v;
	int64_t cnt;

	memset(m, 0, sizeof(*m));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->generation = gen;
	m->id = info.id;
	m->type = info.type;
	m->max_entries = info.max_entries;
	fdinfo_read(fd, m);
	if (m->frozen && frozen_get(info.id, &m->entries))
		return 0;
	if (is_hash(info.type)) {
		cnt = count_keys(fd, &info);
		if (cnt < 0)
			return (int)cnt;
		m->entries = cnt;
	} else if (info.type == BPF_MAP_TYPE_PROG_ARRAY) {
		for (k = 0; k < info.max_entries && k < 4096; k++)
			m->entries += !bpf_map_lookup_elem(fd, &k, &v);
	} else if (!strcmp(name, "fw_counters")) {
		/* one part per CPU: the capacity is the rule slots */
		m->max_entries = FW_RULE_SLOTS - 1;
		m->entries = counter_slots_used(c);
	} else {
		m->entries = info.max_entries;
	}
	if (m->frozen)
		frozen_put(info.id, m->entries);
	return 0;
}

static int push(struct metrics_map **v, size_t *n, size_t *cap, const struct metrics_map *m)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct metrics_map *nv = realloc(*v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = *m;
	return 0;
}

/* Every map pinned directly in dir (programs and links are skipped). */
static int dir_maps(const struct chain *c, const char *dir, uint32_t gen,
		    struct metrics_map **v, size_t *n, size_t *cap)
{
	struct metrics_map m;
	struct dirent *de;
	int err = 0, fd;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (!err && (de = readdir(d))) {
		if (de->d_name[0] == '.' || de->d_type == DT_DIR ||
		    !strncmp(de->d_name, "link_", 5) || !strncmp(de->d_name, "stage_", 6) ||
		    !strcmp(de->d_name, "entry"))
			continue;
		fd = pin_get(dir, de->d_name);
		if (fd < 0)
			continue; /* swept meanwhile, or not a map */
		if (!map_usage(c, fd, de->d_name, gen, &m))
			err = push(v, n, cap, &m);
		close(fd);
	}
	closedir(d);
	return err;
}

static int map_cmp(const void *a, const void *b)
{
	const struct metrics_map *x = a, *y = b;

	if (x->generation != y->generation)
		return x->generation < y->generation ? -1 : 1;
	return strcmp(x->name, y->name);
}

int metrics_chain_maps(const struct chain *c, struct metrics_map **out, size_t *n)
{
	struct metrics_map *v = NULL;
	size_t cap = 0;
	char dir[PATH_MAX];
	int err;

	*out = NULL;
	*n = 0;
	err = dir_maps(c, c->paths.pin, 0, &v, n, &cap);
	if (!err && c->live) {
		snprintf(dir, sizeof(dir), "%s/%u", c->paths.gen, c->live);
		err = dir_maps(c, dir, c->live, &v, n, &cap);
	}
	if (err) {
		free(v);
		*n = 0;
		return err;
	}
	if (*n)
		qsort(v, *n, sizeof(*v), map_cmp);
	*out = v;
	return 0;
}

/* Flow tables --------------------------------------------------------- */

struct ct_count {
	uint64_t now, total, live;
};

static int ct_count_cb(const struct ct_key *k, const struct ct_entry *e, void *arg)
{
	struct ct_count *c = arg;

	(void)k;
	c->total++;
	c->live += e->expires_ns > c->now;
	return 0;
}

size_t metrics_flow_tables(struct chain *c, struct metrics_flow_table *out)
{
	static const char *const names[2][2] = { { "lb_flows", "lb_rev" },
						 { "nat_flows", "nat_rev" } };
	uint64_t now = ct_now_ns();
	size_t n = 0;
	int *t, *s, kind, fds[3];

	t = ct_shared_fd(&c->sh, CT_TABLE_PIN);
	s = ct_shared_fd(&c->sh, CT_STATS_PIN);
	if (t && *t > 0) {
		struct metrics_flow_table *m = &out[n++];
		struct ct_count cc = { .now = now };
		uint64_t st[CT_STAT_SLOTS] = { 0 };

		memset(m, 0, sizeof(*m));
		m->name = CT_TABLE_PIN;
		ct_walk(*t, ct_count_cb, &cc);
		m->entries = cc.total;
		m->live = cc.live;
		if (s && *s > 0 && !ct_stats_read(*s, st)) {
			m->has_counters = true;
			m->created = st[CT_STAT_CREATED];
			m->expired = st[CT_STAT_GC_REMOVED];
			m->insert_full = st[CT_STAT_INSERT_FULL];
			m->insert_busy = st[CT_STAT_INSERT_BUSY];
			m->reused = st[CT_STAT_REUSED];
		}
	}
	for (kind = FLOW_KIND_LB; kind <= FLOW_KIND_NAT; kind++) {
		uint64_t st[FLOW_STAT__MAX] = { 0 };
		bool have;
		int i;

		flow_chain_fds(c, (enum flow_kind)kind, &fds[0], &fds[1], &fds[2]);
		have = fds[2] && !flow_stats_read(fds[2], (enum flow_kind)kind, st);
		for (i = 0; i < 2; i++) {
			struct metrics_flow_table *m;

			if (!fds[i])
				continue;
			m = &out[n++];
			memset(m, 0, sizeof(*m));
			m->name = names[kind][i];
			flow_count(fds[i], now, &m->entries, &m->live);
			if (!have)
				continue;
			m->expired = st[i ? FLOW_STAT_GC_REMOVED_REV : FLOW_STAT_GC_REMOVED];
			if (i)
				continue;
			m->has_counters = true;
			m->created = st[FLOW_STAT_CREATED];
			m->insert_full = st[FLOW_STAT_INSERT_FULL];
			m->insert_busy = st[FLOW_STAT_INSERT_BUSY];
			m->reused = st[FLOW_STAT_REUSED];
			m->fib_redirected = st[FLOW_STAT_FIB_REDIRECT];
			m->fib_stack = st[FLOW_STAT_FIB_STACK];
			m->adopted = st[FLOW_STAT_ADOPTED];
		}
	}
	return n;
}
