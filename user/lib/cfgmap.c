// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Writable mappings of config maps and their freeze (cfgmap.h).
 *
 * bpf_map_freeze fails with EBUSY while any writable mapping of the map
 * exists. MADV_DONTFORK keeps our mapping out of children, but it is set
 * after the mmap: a fork() by another thread in between (an agent's
 * helper, a test's pinger running ping) copies the mapping into the child,
 * which holds it until it execs or exits. Two defences:
 *  - the window is closed to fork(): it runs under a lock that a
 *    pthread_atfork handler also takes, so a fork waits for the madvise;
 *  - a child made any other way (a raw clone without CLONE_VM) can still
 *    hold one, so the freeze waits, bounded, for it to go away.
 * posix_spawn and vfork share the address space and copy nothing. */
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include "cfgmap.h"

static pthread_mutex_t cfgmap_fork_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t cfgmap_once = PTHREAD_ONCE_INIT;

static void cfgmap_fork_prepare(void)
{
	pthread_mutex_lock(&cfgmap_fork_lock);
}

static void cfgmap_fork_done(void)
{
	pthread_mutex_unlock(&cfgmap_fork_lock);
}

static void cfgmap_register_atfork(void)
{
	/* Failure (ENOMEM) leaves only the bounded wait in cfgmap_freeze. */
	pthread_atfork(cfgmap_fork_prepare, cfgmap_fork_done, cfgmap_fork_done);
}

void *cfgmap_mmap(int fd, size_t *len)
{
	struct bpf_map_info info = {};
	uint32_t ilen = sizeof(info);
	long page = sysconf(_SC_PAGESIZE);
	void *m;
	int err;

	if (bpf_obj_get_info_by_fd(fd, &info, &ilen))
		return NULL;
	/* The kernel pads ARRAY values to 8 bytes, in the mapping too: a
	 * caller writing value_size strides would land on the wrong bytes. */
	if (info.type != BPF_MAP_TYPE_ARRAY || info.value_size % 8) {
		errno = EINVAL;
		return NULL;
	}
	*len = (size_t)info.max_entries * info.value_size;
	*len = (*len + (size_t)page - 1) & ~((size_t)page - 1);

	pthread_once(&cfgmap_once, cfgmap_register_atfork);
	pthread_mutex_lock(&cfgmap_fork_lock);
	m = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m != MAP_FAILED && madvise(m, *len, MADV_DONTFORK)) {
		err = errno;
		munmap(m, *len);
		errno = err;
		m = MAP_FAILED;
	}
	pthread_mutex_unlock(&cfgmap_fork_lock);
	return m == MAP_FAILED ? NULL : m;
}

int cfgmap_freeze(int fd)
{
	const struct timespec step = { .tv_nsec = 1000 * 1000 };
	int waited_ms;

	for (waited_ms = 0;; waited_ms++) {
		if (!bpf_map_freeze(fd))
			return 0;
		if (errno != EBUSY || waited_ms >= CFGMAP_FREEZE_WAIT_MS)
			return -errno;
		nanosleep(&step, NULL);
	}
}
