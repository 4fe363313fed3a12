// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The pod datapath loader and its TC attach (poddp.h). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <openssl/evp.h>
#include "attach.h"
#include "poddp.h"
#include "pin.h"
#include "pod.skel.h"

int poddp_load(int ep_fd, int stats_fd, bool peer, int *prog_fd, int *stats_out)
{
	struct pod *skel = pod__open();
	int err = 0;

	*prog_fd = -1;
	if (stats_out)
		*stats_out = -1;
	if (!skel)
		return -errno ?: -ENOMEM;
	skel->rodata->pod_peer = peer;
	if (ep_fd >= 0)
		err = bpf_map__reuse_fd(skel->maps.sl_cni_eps, ep_fd);
	if (!err && stats_fd >= 0)
		err = bpf_map__reuse_fd(skel->maps.pod_stats, stats_fd);
	if (!err)
		err = pod__load(skel);
	if (err)
		goto out;
	*prog_fd = dup(bpf_program__fd(skel->progs.sl_pod));
	if (*prog_fd < 0) {
		err = -errno;
		goto out;
	}
	if (stats_out) {
		*stats_out = dup(bpf_map__fd(skel->maps.pod_stats));
		if (*stats_out < 0) {
			err = -errno;
			close(*prog_fd);
			*prog_fd = -1;
		}
	}
out:
	pod__destroy(skel);
	return err;
}

int poddp_pin_name(char *name, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	const void *elf;
	size_t sz;
	char hex[13];

	elf = pod__elf_bytes(&sz);
	if (!EVP_Digest(elf, sz, md, &mdlen, EVP_sha256(), NULL) || mdlen < 6)
		return -EIO;
	for (i = 0; i < 6; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
	snprintf(name, len, "pod-%s", hex);
	return 0;
}

/* Unpin the programs of other builds: filters keep their program loaded,
 * so the veths attached with one go on with it. */
static void unpin_others(const char *dir, const char *keep)
{
	struct dirent *d;
	DIR *dp = opendir(dir);
	char path[PATH_MAX];

	while (dp && (d = readdir(dp))) {
		if (strncmp(d->d_name, "pod-", 4) || !strcmp(d->d_name, keep))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		unlink(path);
	}
	if (dp)
		closedir(dp);
}

int poddp_get(const char *pin_root, int ep_fd, bool create)
{
	char dir[PATH_MAX], name[32];
	int fd, stats, err;

	if (snprintf(dir, sizeof(dir), "%s/cni", pin_root) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	err = poddp_pin_name(name, sizeof(name));
	if (err)
		return err;
	fd = pin_get(dir, name);
	if (fd >= 0 || !create || fd != -ENOENT)
		return fd;
	/* Counters outlive a reload: reuse them when a pin is left. */
	stats = pin_get(dir, "pod_stats");
	if (stats < 0 && stats != -ENOENT)
		return stats;
	err = poddp_load(ep_fd, stats, true, &fd, stats < 0 ? &stats : NULL);
	if (err)
		goto out;
	err = pin_fd(stats, dir, "pod_stats");
	if (err == -EEXIST)
		err = 0;
	if (!err)
		err = pin_fd(fd, dir, name);
	if (!err)
		unpin_others(dir, name);
out:
	if (stats >= 0)
		close(stats);
	if (err && fd >= 0) {
		close(fd);
		fd = -1;
	}
	return err ? err : fd;
}

int poddp_stats_get(const char *pin_root)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/cni", pin_root);
	return pin_get(dir, "pod_stats");
}

uint32_t poddp_tc_prog(int ifindex)
{
	return attach_tc_query(ifindex, false, POD_TC_HANDLE, POD_TC_PRIO);
}

/* No owner check: whatever sits at POD_TC_HANDLE is replaced, an earlier
 * build's sl_pod included. */
int poddp_tc_attach(int ifindex, int prog_fd)
{
	return attach_tc_replace(ifindex, false, POD_TC_HANDLE, POD_TC_PRIO, prog_fd, NULL);
}

int poddp_tc_detach(int ifindex)
{
	return attach_tc_delete(ifindex, false, POD_TC_HANDLE, POD_TC_PRIO);
}
