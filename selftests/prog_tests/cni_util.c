// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include "test_progs.h"
#include "cni_util.h"

int cni_rig_setup(struct cni_rig *r)
{
	int err;

	memset(r, 0, sizeof(*r));
	r->oldns = -1;
	err = netns_create("node", r->node);
	if (!err)
		err = netns_pin_root(r->pin, sizeof(r->pin));
	if (!err)
		err = netns_tmpdir(r->tmp, sizeof(r->tmp));
	if (err)
		return err;
	snprintf(r->state, sizeof(r->state), "%s/state", r->tmp);
	snprintf(r->ipam, sizeof(r->ipam), "%s/ipam", r->tmp);
	snprintf(r->plugin, sizeof(r->plugin), "%s", test__build_path("sluice-cni"));
	snprintf(r->cni_path, sizeof(r->cni_path), "%s:/usr/lib/cni", env.build_dir);
	signal(SIGPIPE, SIG_IGN);
	/* The plugin runs in the node netns: this thread moves there, and
	 * every plugin it starts inherits it. */
	r->oldns = netns_enter(r->node);
	return r->oldns < 0 ? r->oldns : 0;
}

void cni_rig_teardown(struct cni_rig *r)
{
	if (r->oldns >= 0)
		netns_restore(r->oldns);
	r->oldns = -1;
}

char *cni_conf(struct cni_rig *r, const char *ver, const char *net, const char *subnet,
	       const char *extra)
{
	char buf[8192];
	cJSON *j, *x, *it;
	char *s;

	snprintf(buf, sizeof(buf),
		 "{\"cniVersion\":\"%s\",\"name\":\"%s\",\"type\":\"sluice-cni\",\"pinRoot\":\"%s\","
		 "\"stateDir\":\"%s\",\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"%s\","
		 "\"ranges\":[[{\"subnet\":\"%s\"}]]}}",
		 ver, net, r->pin, r->state, r->ipam, subnet);
	j = cJSON_Parse(buf);
	if (extra && (x = cJSON_Parse(extra))) {
		while ((it = x->child)) {
			cJSON_DetachItemViaPointer(x, it);
			cJSON_DeleteItemFromObject(j, it->string);
			cJSON_AddItemToObject(j, it->string, it);
		}
		cJSON_Delete(x);
	}
	s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return s;
}

int cni_exec(struct cni_rig *r, const char *cmd, const char *cid, const char *netns,
	     const char *ifname, const char *const *envv, const char *in, size_t inlen, char *out,
	     size_t outlen)
{
	int pin[2], pout[2], status;
	size_t off = 0, len = 0;
	pid_t pid;

	if (pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		char *argv[] = { r->plugin, NULL };

		dup2(pin[0], 0);
		dup2(pout[1], 1);
		clearenv();
		setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
		if (cmd)
			setenv("CNI_COMMAND", cmd, 1);
		if (cid)
			setenv("CNI_CONTAINERID", cid, 1);
		if (netns)
			setenv("CNI_NETNS", netns, 1);
		if (ifname)
			setenv("CNI_IFNAME", ifname, 1);
		setenv("CNI_PATH", r->cni_path, 1);
		for (; envv && *envv; envv++) {
			char *kv = strdup(*envv), *eq = strchr(kv, '=');

			if (!eq)
				unsetenv(kv);
			else {
				*eq = 0;
				setenv(kv, eq + 1, 1);
			}
		}
		execv(r->plugin, argv);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	while (off < inlen) {
		ssize_t n = write(pin[1], in + off, inlen - off);

		if (n <= 0)
			break;
		off += n;
	}
	close(pin[1]);
	for (;;) {
		ssize_t n = read(pout[0], out + len, outlen - len - 1);

		if (n <= 0)
			break;
		len += n;
		if (len + 1 >= outlen)
			break;
	}
	out[len] = 0;
	close(pout[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int cni_err_code(const char *out)
{
	cJSON *j = cJSON_Parse(out), *c = cJSON_GetObjectItem(j, "code");
	int code = cJSON_IsNumber(c) ? c->valueint : -1;

	cJSON_Delete(j);
	return code;
}

int cni_count_links(struct cni_rig *r)
{
	struct if_nameindex *ni = if_nameindex(), *p;
	int n = 0;

	for (p = ni; p && p->if_index; p++)
		n += !strncmp(p->if_name, "sl", 2);
	if (ni)
		if_freenameindex(ni);
	return n;
}

static int count_dir(const char *dir, bool ipam)
{
	struct dirent *d;
	DIR *dp = opendir(dir);
	int n = 0;

	while (dp && (d = readdir(dp))) {
		if (d->d_name[0] == '.' || !strcmp(d->d_name, "lock") ||
		    !strncmp(d->d_name, "last_reserved_ip", 16))
			continue;
		n += ipam || strstr(d->d_name, ".json");
	}
	if (dp)
		closedir(dp);
	return n;
}

int cni_count_ipam(struct cni_rig *r, const char *net)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", r->ipam, net);
	return count_dir(p, true);
}

int cni_count_records(struct cni_rig *r, const char *net)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/cni/%s/ep", r->state, net);
	return count_dir(p, false);
}

int cni_count_endpoints(struct cni_rig *r)
{
	char p[PATH_MAX];
	uint8_t k[20], next[20];
	int fd, n = 0;
	void *prev = NULL;

	snprintf(p, sizeof(p), "%s/cni/endpoints", r->pin);
	fd = bpf_obj_get(p);
	if (fd < 0)
		return 0;
	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(k, next, sizeof(k));
		prev = k;
		n++;
	}
	close(fd);
	return n;
}
