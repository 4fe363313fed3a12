// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Delegated IPAM: find the plugin named by ipam.type in CNI_PATH and run it
 * with the same environment, CNI_COMMAND set, and the network config on
 * stdin (libcni's ExecPluginWithResult). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "cni.h"

extern char **environ;

int cni_ipam_find(const char *type, char *path, size_t len, struct cni_err *e)
{
	const char *cp = getenv("CNI_PATH");
	char *dirs, *dir, *save = NULL;
	struct stat st;

	/* CVE-2021-20206: the type is a file name, never a path. */
	if (!type || !*type || strchr(type, '/') || !strcmp(type, ".") || !strcmp(type, "..") ||
	    strlen(type) > 255)
		return cni_fail(e, CNI_E_CONFIG, "invalid IPAM plugin type",
				"ipam.type \"%s\" must be a plain file name", type ? type : "");
	if (!cp || !*cp)
		return cni_fail(e, CNI_E_ENV, "CNI_PATH is not set", "needed to find IPAM \"%s\"", type);
	dirs = strdup(cp);
	if (!dirs)
		return cni_fail(e, CNI_E_IO, "out of memory", "%s", "");
	for (dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		if (!*dir)
			continue;
		if (snprintf(path, len, "%s/%s", dir, type) >= (int)len)
			continue;
		if (!stat(path, &st) && S_ISREG(st.st_mode) && !access(path, X_OK)) {
			free(dirs);
			return 0;
		}
	}
	free(dirs);
	return cni_fail(e, CNI_E_IPAM, "IPAM plugin not found",
			"failed to find plugin \"%s\" in path [%s]", type, cp);
}

/* Run path with CNI_COMMAND=cmd, stdin in; stdout into *out. Returns the
 * exit status or -errno. */
static int run(const char *path, const char *cmd, const char *in, char **out)
{
	int pin[2], pout[2], status;
	size_t cap = 4096, len = 0, inlen = strlen(in), off = 0;
	char *buf = malloc(cap);
	pid_t pid;

	if (!buf)
		return -ENOMEM;
	if (pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC)) {
		free(buf);
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		free(buf);
		return -errno;
	}
	if (pid == 0) {
		char *argv[] = { (char *)path, NULL };

		dup2(pin[0], 0);
		dup2(pout[1], 1);
		setenv("CNI_COMMAND", cmd, 1);
		execve(path, argv, environ);
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
		ssize_t n;

		if (len + 1 >= cap) {
			char *nb;

			if (cap >= CNI_STDIN_MAX)
				break;
			nb = realloc(buf, cap * 2);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		n = read(pout[0], buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	buf[len] = 0;
	close(pout[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	*out = buf;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int cni_ipam_exec(const char *path, const char *cmd, const cJSON *conf, const char *ver,
		  char **out, struct cni_err *e)
{
	cJSON *c = cJSON_Duplicate(conf, 1);
	char *in;
	int rc;

	*out = NULL;
	if (!c)
		return cni_fail(e, CNI_E_IO, "out of memory", "%s", "");
	cJSON_DeleteItemFromObject(c, "cniVersion");
	cJSON_AddStringToObject(c, "cniVersion", ver);
	in = cJSON_PrintUnformatted(c);
	cJSON_Delete(c);
	if (!in)
		return cni_fail(e, CNI_E_IO, "out of memory", "%s", "");
	rc = run(path, cmd, in, out);
	free(in);
	if (rc < 0)
		return cni_fail(e, CNI_E_IPAM, "cannot run the IPAM plugin", "%s: %s", path, strerror(-rc));
	if (rc) {
		/* Pass the plugin's own error through. */
		cJSON *j = cJSON_Parse(*out ? *out : "");
		cJSON *code = j ? cJSON_GetObjectItem(j, "code") : NULL;
		cJSON *msg = j ? cJSON_GetObjectItem(j, "msg") : NULL;
		cJSON *det = j ? cJSON_GetObjectItem(j, "details") : NULL;
		int ret = cni_fail(e, cJSON_IsNumber(code) && code->valueint > 0 ? code->valueint : CNI_E_IPAM,
				   cJSON_IsString(msg) ? msg->valuestring : "IPAM plugin failed",
				   "ipam %s %s: %s", cmd, path,
				   cJSON_IsString(det) ? det->valuestring : (*out ? *out : ""));

		cJSON_Delete(j);
		free(*out);
		*out = NULL;
		return ret;
	}
	return 0;
}

static int ver_num(const char *v)
{
	int a = 0, b = 0, c = 0;

	if (sscanf(v, "%d.%d.%d", &a, &b, &c) < 2)
		return -1;
	return a * 10000 + b * 100 + c;
}

int cni_ipam_version(const char *path, const char *want, char *ver, size_t len)
{
	char *out = NULL;
	cJSON *j, *sv, *it;
	int best = -1, w = ver_num(want), rc;

	*ver = 0;
	rc = run(path, "VERSION", "{\"cniVersion\":\"0.4.0\"}", &out);
	if (rc) {
		free(out);
		return rc < 0 ? rc : -EIO;
	}
	j = cJSON_Parse(out);
	free(out);
	sv = j ? cJSON_GetObjectItem(j, "supportedVersions") : NULL;
	cJSON_ArrayForEach(it, sv) {
		int n;

		if (!cJSON_IsString(it))
			continue;
		n = ver_num(it->valuestring);
		if (n <= w && n > best) {
			best = n;
			snprintf(ver, len, "%s", it->valuestring);
		}
	}
	cJSON_Delete(j);
	return *ver ? 0 : -ENOTSUP;
}

int cni_ip_from_str(const char *s, int *family, uint8_t addr[16], int *plen)
{
	char buf[64], *slash;
	int max;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = 0;
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1)
		*family = AF_INET;
	else if (inet_pton(AF_INET6, buf, addr) == 1)
		*family = AF_INET6;
	else
		return -EINVAL;
	max = *family == AF_INET ? 32 : 128;
	if (plen) {
		char *end;
		long n = slash ? strtol(slash, &end, 10) : max;

		if (slash && (*end || end == slash || n < 0 || n > max))
			return -EINVAL;
		*plen = (int)n;
	}
	return 0;
}

void cni_ip_to_str(int family, const uint8_t *addr, char *out, size_t len)
{
	if (!inet_ntop(family, addr, out, len))
		snprintf(out, len, "?");
}

int cni_ipam_parse(const char *out, struct cni_ipam_result *r, struct cni_err *e)
{
	cJSON *j = cJSON_Parse(out ? out : ""), *it, *ips, *routes;

	memset(r, 0, sizeof(*r));
	if (!j)
		return cni_fail(e, CNI_E_IPAM, "IPAM result is not JSON", "%.200s", out ? out : "");
	ips = cJSON_GetObjectItem(j, "ips");
	cJSON_ArrayForEach(it, ips) {
		cJSON *a = cJSON_GetObjectItem(it, "address"), *g = cJSON_GetObjectItem(it, "gateway");
		struct cni_ip *ip;

		if (r->nips == CNI_MAX_IPS)
			break;
		ip = &r->ips[r->nips];
		if (!cJSON_IsString(a) || cni_ip_from_str(a->valuestring, &ip->family, ip->addr, &ip->plen))
			goto bad;
		if (cJSON_IsString(g)) {
			int fam;

			if (cni_ip_from_str(g->valuestring, &fam, ip->gw, NULL) || fam != ip->family)
				goto bad;
			ip->has_gw = true;
		}
		r->nips++;
	}
	routes = cJSON_GetObjectItem(j, "routes");
	cJSON_ArrayForEach(it, routes) {
		cJSON *d = cJSON_GetObjectItem(it, "dst"), *g = cJSON_GetObjectItem(it, "gw");
		struct cni_route *rt;

		if (r->nroutes == CNI_MAX_ROUTES)
			break;
		rt = &r->routes[r->nroutes];
		if (!cJSON_IsString(d) || cni_ip_from_str(d->valuestring, &rt->family, rt->dst, &rt->plen))
			goto bad;
		if (cJSON_IsString(g)) {
			int fam;

			if (cni_ip_from_str(g->valuestring, &fam, rt->gw, NULL) || fam != rt->family)
				goto bad;
			rt->has_gw = true;
		}
		r->nroutes++;
	}
	if (!r->nips) {
		cJSON_Delete(j);
		return cni_fail(e, CNI_E_IPAM, "IPAM returned no address", "%.200s", out);
	}
	it = cJSON_GetObjectItem(j, "dns");
	r->dns = it ? cJSON_Duplicate(it, 1) : NULL;
	cJSON_Delete(j);
	return 0;
bad:
	cJSON_Delete(j);
	return cni_fail(e, CNI_E_IPAM, "IPAM result is malformed", "%.200s", out);
}

void cni_ipam_result_free(struct cni_ipam_result *r)
{
	cJSON_Delete(r->dns);
	r->dns = NULL;
}
