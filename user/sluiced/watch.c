// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Watching spec files with inotify.
 *
 * A mounted ConfigMap is a directory whose files are symlinks through
 * "..data", itself a symlink to a timestamped directory; kubelet updates it
 * by writing a new timestamped directory and renaming a new "..data" over
 * the old one (one rename: readers see the old set or the new set). No
 * event arrives for the file names themselves, so the agent watches
 * directories, not files: every directory given, the directory of every
 * file given, and the directories their symlinks resolve to, re-resolved
 * after every scan. Any event there leads to a (debounced) rescan, which
 * compares content hashes, so spurious events cost a read and nothing else.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include "sluiced.h"

#define WATCH_MASK (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | \
		    IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

static int ifd = -1;

int watch_init(void)
{
	ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	return ifd < 0 ? -errno : 0;
}

int watch_fd(void)
{
	return ifd;
}

static void watch_dir(const char *dir)
{
	/* inotify_add_watch() of a watched inode returns its existing
	 * watch: calling this on every scan adds only what is new. */
	if (inotify_add_watch(ifd, dir, WATCH_MASK) < 0 && errno != ENOENT)
		LOG(LOG_WARN, "cannot watch directory", KS("dir", dir), KS("error", strerror(errno)));
}

static void watch_parent(const char *path)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	watch_dir(dirname(tmp));
}

void watch_refresh(void)
{
	char real[PATH_MAX];
	struct stat st;
	int i;

	for (i = 0; i < agent.npaths; i++) {
		const char *p = agent.paths[i];

		if (!stat(p, &st) && S_ISDIR(st.st_mode)) {
			watch_dir(p);
			if (realpath(p, real) && strcmp(real, p))
				watch_dir(real);
			continue;
		}
		watch_parent(p);
		if (realpath(p, real) && strcmp(real, p))
			watch_parent(real);
	}
	/* The files found in directories: a symlink there may point elsewhere. */
	for (i = 0; i < agent.nsrc; i++)
		if (agent.src[i].present && realpath(agent.src[i].path, real))
			watch_parent(real);
}

bool watch_read(void)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool relevant = false;
	ssize_t n;

	for (;;) {
		n = read(ifd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			if (ev->mask & IN_Q_OVERFLOW)
				relevant = true;
			else if (!(ev->mask & IN_IGNORED))
				relevant = true;
			if (ev->len)
				LOG(LOG_DEBUG, "watch event", KS("name", ev->name),
				    KN("mask", ev->mask));
			p += sizeof(*ev) + ev->len;
		}
	}
	return relevant;
}
