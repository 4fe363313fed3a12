// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The one way sluice-cni runs code in the pod's netns: save the current
 * netns, setns() into the pod's, run, restore. The plugin is single-threaded,
 * so nothing else runs in the wrong namespace meanwhile. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/ioctl.h>
#include <linux/nsfs.h>
#include <linux/magic.h>
#include "cni.h"

int cni_in_netns(int nsfd, int (*fn)(void *), void *arg)
{
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), ret, err;

	if (self < 0)
		return -errno;
	if (setns(nsfd, CLONE_NEWNET)) {
		err = -errno;
		close(self);
		return err;
	}
	ret = fn(arg);
	if (setns(self, CLONE_NEWNET)) {
		/* Continuing in the pod's netns would act on the wrong host. */
		_exit(CNI_E_IO);
	}
	close(self);
	return ret;
}

int cni_netns_open(const char *path)
{
	struct statfs sfs;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), err;

	if (fd < 0) {
		/* /proc/<pid>/ns/net is a magic link: follow it, then check. */
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
	}
	if (fstatfs(fd, &sfs) || sfs.f_type != NSFS_MAGIC ||
	    ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET) {
		err = -EINVAL;
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return err;
}

bool cni_netns_is_self(int nsfd)
{
	struct stat a, b;

	if (stat("/proc/self/ns/net", &a) || fstat(nsfd, &b))
		return false;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int cni_sysctl_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW), err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		err = -errno;
	close(fd);
	return err;
}
