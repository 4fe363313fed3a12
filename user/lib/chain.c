// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Opening a chain: the lock, the entry program and shared maps (created
 * once, then adopted from the pins), and recovery of what a killed apply may
 * have left: the live generation is read from the kernel, and generations
 * that are neither live nor the warm previous one are removed. Nothing here ever detaches a datapath.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "chain.h"
#include "history.h"
#include "attach.h"
#include "entry.skel.h"
#include "entry_tc.skel.h"

STAGE_TWIN_CHECK(entry, entry_tc);

/* The entry program of a chain's hook family. */
struct entry *entry_open_for(bool tc)
{
	return tc ? (struct entry *)entry_tc__open() : entry__open();
}

int fault_at(const char *step)
{
	const char *f = getenv("SLUICE_TEST_FAULT");

	return f && !strcmp(f, step) ? -EIO : 0;
}

static int lock_take(struct chain *c, int wait_ms)
{
	char path[PATH_MAX];
	int fd, err, waited = 0;

	err = mkdir_p(c->paths.state);
	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/lock", c->paths.state);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX | LOCK_NB)) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			err = -errno;
			close(fd);
			return err;
		}
		if (waited >= wait_ms) {
			close(fd);
			return -EWOULDBLOCK;
		}
		usleep(10000);
		waited += 10;
	}
	c->lock_fd = fd;
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void close_extras(struct stage_shared *sh)
{
	int i;

	for (i = 0; i < STAGE_MAX_EXTRA; i++) {
		if (sh->extra_fd[i] > 0)
			close(sh->extra_fd[i]);
		sh->extra_fd[i] = 0;
	}
}

void chain_close(struct chain *c)
{
	close_fd(&c->entry_fd);
	close_fd(&c->root_fd);
	close_fd(&c->sh.meta_fd);
	close_fd(&c->sh.drops_fd);
	close_fd(&c->sh.fw_counters_fd);
	close_extras(&c->sh);
	close_fd(&c->lock_fd); /* releases the flock */
}

static int entry_adopt(struct chain *c)
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);
	int i;

	c->entry_fd = pin_get(c->paths.pin, "entry");
	if (c->entry_fd < 0)
		return c->entry_fd;
	/* A chain runs at XDP or at TC, fixed when it was created. */
	if (bpf_obj_get_info_by_fd(c->entry_fd, &info, &len))
		return -errno;
	c->tc = info.type == BPF_PROG_TYPE_SCHED_CLS;
	c->root_fd = pin_get(c->paths.pin, "sl_root");
	c->sh.meta_fd = pin_get(c->paths.pin, "sl_meta_scratch");
	c->sh.drops_fd = pin_get(c->paths.pin, "sl_drops");
	c->sh.fw_counters_fd = pin_get(c->paths.pin, "fw_counters");
	if (c->sh.fw_counters_fd < 0)
		c->sh.fw_counters_fd = -1; /* created by the first firewall */
	for (i = 0; i < STAGE_MAX_EXTRA && stage_shared_names[i]; i++) {
		int fd = pin_get(c->paths.pin, stage_shared_names[i]);

		/* created by the first stage that declares it, when absent */
		c->sh.extra_fd[i] = fd < 0 ? 0 : fd;
	}
	if (c->root_fd < 0 || c->sh.meta_fd < 0 || c->sh.drops_fd < 0)
		return -EUCLEAN;
	return 0;
}

/* Load the entry program of this sluice build, reusing whichever of the
 * chain-level maps are already pinned and pinning the others. */
static struct entry *entry_load(struct chain *c)
{
	static const char *const names[] = { "sl_root", "sl_meta_scratch", "sl_drops" };
	struct entry *skel;
	struct bpf_map *maps[3];
	bool pinned[3] = {};
	int err = 0, i, fd;

	skel = entry_open_for(c->tc);
	if (!skel)
		return NULL;
	maps[0] = skel->maps.sl_root;
	maps[1] = skel->maps.sl_meta_scratch;
	maps[2] = skel->maps.sl_drops;
	for (i = 0; i < 3 && !err; i++) {
		fd = pin_get(c->paths.pin, names[i]);
		if (fd < 0)
			continue;
		err = bpf_map__reuse_fd(maps[i], fd);
		close(fd);
		pinned[i] = true;
	}
	if (!err)
		err = entry__load(skel);
	for (i = 0; i < 3 && !err; i++)
		if (!pinned[i])
			err = pin_fd(bpf_map__fd(maps[i]), c->paths.pin, names[i]);
	if (err) {
		entry__destroy(skel);
		errno = -err;
		return NULL;
	}
	return skel;
}

static int entry_create(struct chain *c)
{
	struct entry *skel;
	int err, root_fd;

	err = mkdir_p(c->paths.pin);
	if (err)
		return err;
	/* Maps already pinned: a writer died between unpinning an old entry
	 * and pinning the new one; this is no new chain. */
	root_fd = pin_get(c->paths.pin, "sl_root");
	if (root_fd >= 0)
		close(root_fd);
	skel = entry_load(c);
	if (!skel)
		return -errno ?: -EINVAL;
	/* The entry pin goes last: its presence means the set is whole. */
	err = pin_fd(bpf_program__fd(skel->progs.sl_entry), c->paths.pin, "entry");
	entry__destroy(skel);
	if (err)
		return err;
	c->created = root_fd < 0;
	return entry_adopt(c);
}

static int prog_info(int fd, struct bpf_prog_info *info)
{
	uint32_t len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	return bpf_obj_get_info_by_fd(fd, info, &len) ? -errno : 0;
}

/* Point every attach point at prog_fd with bpf_link_update (no detach, no
 * gap) where it points elsewhere. */
static int links_point_to(struct chain *c, int prog_fd, uint32_t prog_id)
{
	struct dirent *de;
	int err = 0;
	DIR *d;

	d = opendir(c->paths.pin);
	if (!d)
		return -errno;
	while (!err && (de = readdir(d))) {
		struct bpf_link_info info = {};
		uint32_t len = sizeof(info);
		int link_fd;

		if (strncmp(de->d_name, "link_", 5))
			continue;
		link_fd = pin_get(c->paths.pin, de->d_name);
		if (link_fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(link_fd, &info, &len) && info.prog_id != prog_id &&
		    bpf_link_update(link_fd, prog_fd, NULL))
			err = -errno;
		close(link_fd);
	}
	closedir(d);
	return err;
}

/* A sluice upgrade brings a new entry program: move every attach point to
 * it, then re-pin it. Every step is idempotent, so a writer killed half way
 * is finished by the next one (which also repairs links left on an old
 * entry). */
static int entry_upgrade(struct chain *c)
{
	struct bpf_prog_info old_info, new_info;
	struct entry *skel;
	char path[PATH_MAX];
	int new_fd, err;

	skel = entry_load(c);
	if (!skel)
		return -errno ?: -EINVAL;
	new_fd = bpf_program__fd(skel->progs.sl_entry);
	err = prog_info(c->entry_fd, &old_info) ?: prog_info(new_fd, &new_info);
	if (err)
		goto out;
	if (!memcmp(old_info.tag, new_info.tag, BPF_TAG_SIZE)) {
		err = links_point_to(c, c->entry_fd, old_info.id) ?:
		      attach_repoint_tc(&c->paths, c->entry_fd);
		goto out;
	}
	err = links_point_to(c, new_fd, new_info.id) ?: attach_repoint_tc(&c->paths, new_fd);
	if (err)
		goto out;
	/* Between unlink and pin a reader sees no entry; the next writer's
	 * entry_create() adopts the pinned maps and this runs again. */
	snprintf(path, sizeof(path), "%s/entry", c->paths.pin);
	if (unlink(path) && errno != ENOENT)
		err = -errno;
	if (!err)
		err = pin_fd(new_fd, c->paths.pin, "entry");
	if (!err) {
		close(c->entry_fd);
		c->entry_fd = pin_get(c->paths.pin, "entry");
		if (c->entry_fd < 0)
			err = c->entry_fd;
	}
out:
	entry__destroy(skel);
	return err;
}

/* The generation whose stage 0 sits in the root slot, by program id. */
static int live_from_kernel(struct chain *c, uint32_t *live)
{
	uint32_t key = 0, prog_id = 0;
	struct dirent *de;
	DIR *d;

	*live = 0;
	if (bpf_map_lookup_elem(c->root_fd, &key, &prog_id))
		return errno == ENOENT ? 0 : -errno; /* empty slot */
	d = opendir(c->paths.gen);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		struct bpf_prog_info info = {};
		uint32_t len = sizeof(info);
		char dir[PATH_MAX];
		unsigned long g;
		char *end;
		int fd;

		g = strtoul(de->d_name, &end, 10);
		if (end == de->d_name || *end)
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", c->paths.gen, de->d_name);
		fd = pin_get(dir, "stage_0");
		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.id == prog_id)
			*live = (uint32_t)g;
		close(fd);
	}
	closedir(d);
	return 0;
}

/* Remove generations other than live and prev, whole or partial. */
void chain_sweep_old(struct chain *c)
{
	struct dirent *de;
	DIR *d;

	d = opendir(c->paths.gen);
	if (!d)
		return;
	while ((de = readdir(d))) {
		char dir[PATH_MAX];
		unsigned long g;
		char *end;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		g = strtoul(de->d_name, &end, 10);
		if (end != de->d_name && !*end && (g == c->live || g == c->prev))
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", c->paths.gen, de->d_name);
		pin_rmtree(dir);
	}
	closedir(d);
}

static bool gen_pinned(struct chain *c, uint32_t gen)
{
	char dir[PATH_MAX];
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/%u/stage_0", c->paths.gen, gen);
	return gen && !stat(dir, &st);
}

int gen_pin_get(const struct chain *c, uint32_t gen, const char *name)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/%u", c->paths.gen, gen);
	return pin_get(dir, name);
}

static int chain_recover(struct chain *c, bool sweep)
{
	uint32_t st_live, st_prev;
	int err;

	err = live_from_kernel(c, &c->live);
	if (err)
		return err;
	err = state_read(&c->paths, &st_live, &st_prev);
	if (err)
		return err;
	/* Killed between commit and the state write: what the state calls
	 * live was live just before, so it is the warm previous one. */
	c->prev = st_live != c->live ? st_live : st_prev;
	if (c->prev == c->live || !gen_pinned(c, c->prev))
		c->prev = 0;
	if (sweep) {
		chain_sweep_old(c);
		if (st_live != c->live || st_prev != c->prev)
			state_write(&c->paths, c->live, c->prev);
	}
	return 0;
}

int chain_open(struct chain *c, const struct chain_opts *o, const char *name,
	       unsigned int flags)
{
	const char *pin_root = o->pin_root ?: SL_DEFAULT_PIN_ROOT;
	const char *state_dir = o->state_dir ?: SL_DEFAULT_STATE_DIR;
	int err;

	memset(c, 0, sizeof(*c));
	c->lock_fd = c->entry_fd = c->root_fd = -1;
	c->sh.meta_fd = c->sh.drops_fd = c->sh.fw_counters_fd = -1;
	if (strlen(name) >= sizeof(c->name))
		return -ENAMETOOLONG;
	strcpy(c->name, name);
	c->history_keep = o->history_keep ?: SL_HISTORY_KEEP_DEFAULT;
	err = paths_init(&c->paths, pin_root, state_dir, name);
	if (err)
		return err;
	if (flags & CHAIN_LOCK) {
		err = lock_take(c, o->lock_wait_ms);
		if (err)
			return err;
	}
	c->tc = flags & CHAIN_TC;
	err = entry_adopt(c);
	if (err == -ENOENT && (flags & CHAIN_CREATE)) {
		c->tc = flags & CHAIN_TC;
		close_fd(&c->root_fd);
		close_fd(&c->sh.meta_fd);
		close_fd(&c->sh.drops_fd);
		close_fd(&c->sh.fw_counters_fd);
		close_extras(&c->sh);
		err = entry_create(c);
	}
	if (!err && (flags & CHAIN_LOCK) && !c->created)
		err = entry_upgrade(c);
	if (err)
		goto err_close;
	err = chain_recover(c, flags & CHAIN_LOCK);
	if (err)
		goto err_close;
	return 0;
err_close:
	chain_close(c);
	return err;
}

bool chain_exists(const struct chain_opts *o, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s/entry", o->pin_root ?: SL_DEFAULT_PIN_ROOT, name);
	return !stat(path, &st);
}

int chain_find_only(const struct chain_opts *o, char *name, size_t len)
{
	const char *root = o->pin_root ?: SL_DEFAULT_PIN_ROOT;
	struct dirent *de;
	int found = 0;
	DIR *d;

	d = opendir(root);
	if (!d)
		return -ENOENT;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !chain_exists(o, de->d_name))
			continue;
		if (found++ == 0)
			snprintf(name, len, "%s", de->d_name);
	}
	closedir(d);
	if (!found)
		return -ENOENT;
	return found > 1 ? -E2BIG : 0;
}

int chain_detach(struct chain *c)
{
	int err;

	/* Attach points first: traffic goes back to the stack before the
	 * maps go away. */
	err = attach_detach_all(&c->paths);
	if (err)
		return err;
	err = pin_rmtree(c->paths.pin);
	if (err)
		return err;
	hist_log(&c->paths, "detach", c->live, NULL, "ok", NULL);
	err = state_write(&c->paths, 0, 0);
	c->live = c->prev = 0;
	return err;
}
