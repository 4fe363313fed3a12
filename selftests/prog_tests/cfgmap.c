// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* cfgmap: a config map can be frozen although children are forked around
 * its writable mapping (the e2e_atomic_traffic flake: a pinger thread's
 * fork of ping copied the mapping and the generation's freeze failed with
 * EBUSY).
 *  - child_holds_mapping: a child holds a writable mapping for 100 ms;
 *    a plain freeze fails with EBUSY, cfgmap_freeze waits and succeeds.
 *  - fork_storm: a thread forks children that live 20 ms while maps are
 *    mapped, written, unmapped and frozen with the plain freeze: none of
 *    the children may have inherited a mapping. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include "test_progs.h"
#include "cfgmap.h"

#define STORM_MAPS 300
#define STORM_MS 1500
#define MAP_ENTRIES (64 * 1024) /* 512 KiB of 8-byte values */

static int map_new(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_MMAPABLE);

	return bpf_map_create(BPF_MAP_TYPE_ARRAY, "cfgmap_test", 4, 8, MAP_ENTRIES, &opts);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void child_holds_mapping(void)
{
	size_t len = (size_t)MAP_ENTRIES * 8;
	double t0, waited;
	pid_t pid = -1;
	void *m = MAP_FAILED;
	int fd, err, status;

	fd = map_new();
	if (!ASSERT_GE(fd, 0, "map_create"))
		return;
	/* No MADV_DONTFORK: the child gets a writable mapping of its own. */
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!ASSERT_TRUE(m != MAP_FAILED, "mmap"))
		goto out;
	pid = fork();
	if (pid == 0) {
		usleep(100 * 1000);
		_exit(0);
	}
	if (!ASSERT_GT(pid, 0, "fork"))
		goto out;
	munmap(m, len);
	m = MAP_FAILED;

	err = bpf_map_freeze(fd) ? -errno : 0;
	if (!ASSERT_EQ(err, -EBUSY, "plain freeze while the child maps it"))
		goto out;
	t0 = now_ms();
	err = cfgmap_freeze(fd);
	waited = now_ms() - t0;
	ASSERT_OK(err, "cfgmap_freeze");
	ASSERT_GE(waited, 20, "cfgmap_freeze waited for the child (ms)");
	ASSERT_LT(waited, CFGMAP_FREEZE_WAIT_MS, "and no longer than its bound (ms)");
out:
	if (m != MAP_FAILED)
		munmap(m, len);
	if (pid > 0)
		waitpid(pid, &status, 0);
	close(fd);
}

static atomic_bool storm_stop;
static atomic_long storm_forks;

static void *forker(void *arg)
{
	(void)arg;
	while (!atomic_load(&storm_stop)) {
		pid_t pid = fork();

		if (pid == 0) {
			usleep(20 * 1000); /* long enough to be seen by a freeze */
			_exit(0);
		}
		if (pid > 0) {
			waitpid(pid, NULL, 0);
			atomic_fetch_add(&storm_forks, 1);
		}
	}
	return NULL;
}

static void fork_storm(void)
{
	long failed = 0, frozen = 0, maps = 0;
	pthread_t th[2];
	int nth = 0, i;
	double t0;

	atomic_store(&storm_stop, false);
	atomic_store(&storm_forks, 0);
	for (i = 0; i < 2; i++)
		if (!pthread_create(&th[i], NULL, forker, NULL))
			nth++;
	if (!ASSERT_EQ(nth, 2, "forker threads"))
		goto out;
	t0 = now_ms();
	for (i = 0; i < STORM_MAPS || now_ms() - t0 < STORM_MS; i++) {
		size_t len;
		void *m;
		int fd = map_new();

		if (!ASSERT_GE(fd, 0, "map_create"))
			break;
		m = cfgmap_mmap(fd, &len);
		if (!ASSERT_OK_PTR(m, "cfgmap_mmap")) {
			close(fd);
			break;
		}
		memset(m, i & 0xff, len);
		munmap(m, len);
		/* The plain freeze: any child holding a mapping fails it. */
		if (bpf_map_freeze(fd))
			failed++;
		else
			frozen++;
		close(fd);
		maps++;
	}
out:
	atomic_store(&storm_stop, true);
	while (nth > 0)
		pthread_join(th[--nth], NULL);
	if (env.verbose)
		printf("fork_storm: %ld maps, %ld frozen, %ld failed, %ld forks\n", maps, frozen, failed,
		       atomic_load(&storm_forks));
	ASSERT_EQ(failed, 0, "freezes failed by an inherited mapping");
	ASSERT_EQ(frozen, maps, "maps frozen");
	ASSERT_GE(maps, STORM_MAPS, "maps made");
	ASSERT_GT(atomic_load(&storm_forks), 10, "forks during the storm");
}

void test_cfgmap(void)
{
	if (test__start_subtest("child_holds_mapping"))
		child_holds_mapping();
	if (test__start_subtest("fork_storm"))
		fork_storm();
}
