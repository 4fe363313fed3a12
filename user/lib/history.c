// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "history.h"

static int hist_path(const struct chain_paths *p, uint32_t gen, char *out)
{
	int n = snprintf(out, PATH_MAX, "%s/%u.json", p->hist, gen);

	return n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static int write_json(const char *path, const cJSON *doc)
{
	char *s = cJSON_PrintUnformatted(doc);
	int err;

	if (!s)
		return -ENOMEM;
	err = file_write_atomic(path, s, strlen(s));
	free(s);
	return err;
}

static int read_json(const char *path, cJSON **out)
{
	char *buf;
	int err;

	err = file_read(path, &buf, NULL, HIST_MAX_FILE);
	if (err)
		return err;
	*out = cJSON_Parse(buf);
	free(buf);
	return *out ? 0 : -EBADMSG;
}

static int part_path(const struct chain_paths *p, uint32_t gen, const char *part,
		     char *out)
{
	int n = snprintf(out, PATH_MAX, "%s/%u.%s.json", p->hist, gen, part);

	return n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static int spec_path(const struct chain_paths *p, uint32_t gen, char *out)
{
	return part_path(p, gen, "spec", out);
}

int hist_write(const struct chain_paths *p, uint32_t gen, const char *sha256,
	       const char *result, const char *spec_canonical,
	       const cJSON *attach, const cJSON *counters)
{
	char path[PATH_MAX];
	cJSON *doc;
	int err;

	err = mkdir_p(p->hist);
	if (!err)
		err = spec_path(p, gen, path);
	/* The spec goes in a file of its own, as it was hashed: readers of the
	 * metadata (every apply) never parse a 10 MB document. */
	if (!err)
		err = file_write_atomic(path, spec_canonical, strlen(spec_canonical));
	if (!err && counters)
		err = part_path(p, gen, "counters", path) ?: write_json(path, counters);
	if (!err)
		err = hist_path(p, gen, path);
	if (err)
		return err;
	doc = cJSON_CreateObject();
	if (!doc)
		return -ENOMEM;
	cJSON_AddNumberToObject(doc, "generation", gen);
	cJSON_AddStringToObject(doc, "sha256", sha256);
	cJSON_AddNumberToObject(doc, "created", (double)time(NULL));
	cJSON_AddNumberToObject(doc, "committed", 0);
	cJSON_AddStringToObject(doc, "result", result);
	if (attach)
		cJSON_AddItemToObject(doc, "attach", cJSON_Duplicate(attach, 1));
	err = write_json(path, doc);
	cJSON_Delete(doc);
	return err;
}

int hist_read(const struct chain_paths *p, uint32_t gen, cJSON **out)
{
	char path[PATH_MAX];
	int err = hist_path(p, gen, path);

	return err ?: read_json(path, out);
}

int hist_read_spec(const struct chain_paths *p, uint32_t gen, char **text)
{
	char path[PATH_MAX];
	int err = spec_path(p, gen, path);

	return err ?: file_read(path, text, NULL, HIST_MAX_FILE);
}

int hist_counters(const struct chain_paths *p, uint32_t gen, cJSON **doc)
{
	char path[PATH_MAX];
	int err = part_path(p, gen, "counters", path);

	return err ?: read_json(path, doc);
}

int hist_spec_doc(const struct chain_paths *p, uint32_t gen, cJSON **doc)
{
	char *text;
	int err = hist_read_spec(p, gen, &text);

	if (err)
		return err;
	*doc = cJSON_Parse(text);
	free(text);
	return *doc ? 0 : -EBADMSG;
}

int hist_set_result(const struct chain_paths *p, uint32_t gen, const char *result)
{
	char path[PATH_MAX];
	cJSON *doc;
	int err;

	err = hist_path(p, gen, path);
	if (!err)
		err = read_json(path, &doc);
	if (err)
		return err;
	cJSON_ReplaceItemInObject(doc, "result", cJSON_CreateString(result));
	if (!strcmp(result, HIST_COMMITTED))
		cJSON_ReplaceItemInObject(doc, "committed",
					  cJSON_CreateNumber((double)time(NULL)));
	err = write_json(path, doc);
	cJSON_Delete(doc);
	return err;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int hist_list(const struct chain_paths *p, uint32_t **gens, size_t *n)
{
	uint32_t *v = NULL, *nv;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	*gens = NULL;
	*n = 0;
	d = opendir(p->hist);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		unsigned long g;
		char *end;

		g = strtoul(de->d_name, &end, 10);
		if (end == de->d_name || strcmp(end, ".json") || !g || g > UINT32_MAX)
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
		}
		v[cnt++] = (uint32_t)g;
	}
	closedir(d);
	qsort(v, cnt, sizeof(*v), cmp_u32);
	*gens = v;
	*n = cnt;
	return 0;
}

int hist_prune(const struct chain_paths *p, uint32_t keep, uint32_t live, uint32_t prev)
{
	static const char *const parts[] = { "spec", "counters" };
	char path[PATH_MAX];
	uint32_t *gens;
	size_t n, i, j;
	int err, removed = 0;

	err = hist_list(p, &gens, &n);
	if (err)
		return err;
	/* gens is ascending: everything before the newest `keep` goes. */
	for (i = 0; n > keep && i < n - keep; i++) {
		if (gens[i] == live || gens[i] == prev)
			continue;
		/* The parts first: a meta file without them is still listed
		 * and pruned by the next call; parts without a meta file are
		 * never found again. */
		for (j = 0; j < sizeof(parts) / sizeof(parts[0]); j++)
			if (!part_path(p, gens[i], parts[j], path))
				unlink(path);
		if (!hist_path(p, gens[i], path) && !unlink(path))
			removed++;
	}
	free(gens);
	return removed;
}

int hist_log(const struct chain_paths *p, const char *action, uint32_t gen,
	     const char *sha256, const char *result, const char *msg)
{
	char path[PATH_MAX];
	cJSON *line;
	char *s;
	int fd, err = 0;

	if (snprintf(path, sizeof(path), "%s/log.jsonl", p->hist) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	err = mkdir_p(p->hist);
	if (err)
		return err;
	line = cJSON_CreateObject();
	cJSON_AddNumberToObject(line, "time", (double)time(NULL));
	cJSON_AddStringToObject(line, "action", action);
	cJSON_AddNumberToObject(line, "generation", gen);
	if (sha256)
		cJSON_AddStringToObject(line, "sha256", sha256);
	cJSON_AddStringToObject(line, "result", result);
	if (msg)
		cJSON_AddStringToObject(line, "message", msg);
	s = cJSON_PrintUnformatted(line);
	cJSON_Delete(line);
	if (!s)
		return -ENOMEM;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
	} else {
		/* One write per line: O_APPEND keeps lines whole. */
		size_t len = strlen(s);

		s[len] = '\n';
		if (write(fd, s, len + 1) != (ssize_t)(len + 1))
			err = -EIO;
		close(fd);
	}
	free(s);
	return err;
}

int state_read(const struct chain_paths *p, uint32_t *live, uint32_t *prev)
{
	char path[PATH_MAX];
	cJSON *doc;
	int err;

	*live = *prev = 0;
	if (snprintf(path, sizeof(path), "%s/state.json", p->state) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	err = read_json(path, &doc);
	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	*live = (uint32_t)hist_num(doc, "live");
	*prev = (uint32_t)hist_num(doc, "prev");
	cJSON_Delete(doc);
	return 0;
}

int state_write(const struct chain_paths *p, uint32_t live, uint32_t prev)
{
	char path[PATH_MAX];
	cJSON *doc;
	int err;

	err = mkdir_p(p->state);
	if (err)
		return err;
	if (snprintf(path, sizeof(path), "%s/state.json", p->state) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	doc = cJSON_CreateObject();
	cJSON_AddNumberToObject(doc, "live", live);
	cJSON_AddNumberToObject(doc, "prev", prev);
	cJSON_AddNumberToObject(doc, "updated", (double)time(NULL));
	err = write_json(path, doc);
	cJSON_Delete(doc);
	return err;
}

const char *hist_str(const cJSON *h, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(h, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int64_t hist_num(const cJSON *h, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(h, key);

	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}
