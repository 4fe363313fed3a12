// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sluice-cni: the CNI plugin (docs/cni.md).
 *
 * Dispatch on CNI_COMMAND, config on stdin, result on stdout; errors as
 * {"cniVersion","code","msg","details"} on stdout with exit 1. Every input
 * is validated the way libcni does before anything touches the system. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <openssl/sha.h>
#include "cni.h"
#include "pin.h"
#include "chain.h"
#include "attach.h"
#include "poddp.h"

static const char *const versions[] = { "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0" };
#define NVERSIONS (sizeof(versions) / sizeof(versions[0]))

struct ctx {
	const char *cmd;
	const char *ver;	/* validated cniVersion; NULL until known */
	char verbuf[16];
	int vnum;		/* 300, 301, 400, 10000, 10100 */
	cJSON *conf;
	/* environment */
	const char *cid, *netns, *ifname;
	char pod_ns[64], pod_name[256], args_chain[64];
	/* config */
	const char *name, *chain, *pin_root, *state_dir, *mode;
	cJSON *ipam;
	char ipam_type[256];
	int mtu;
	bool chained;
	/* derived */
	char host[IF_NAMESIZE];
	char hash[65];
	char netdir[PATH_MAX];	/* STATE_DIR/cni/<network> */
	char recpath[PATH_MAX];
	int lock_fd;
};

static struct cni_err err_out;

int cni_fail(struct cni_err *e, int code, const char *msg, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	snprintf(e->msg, sizeof(e->msg), "%s", msg);
	va_start(ap, fmt);
	vsnprintf(e->details, sizeof(e->details), fmt, ap);
	va_end(ap);
	return -1;
}

static int emit_error(const struct ctx *c, const struct cni_err *e)
{
	cJSON *j = cJSON_CreateObject();
	char *s;

	cJSON_AddStringToObject(j, "cniVersion", c->ver ? c->ver : "1.1.0");
	cJSON_AddNumberToObject(j, "code", e->code);
	cJSON_AddStringToObject(j, "msg", e->msg);
	if (e->details[0])
		cJSON_AddStringToObject(j, "details", e->details);
	s = cJSON_PrintUnformatted(j);
	printf("%s\n", s);
	fflush(stdout);
	fprintf(stderr, "sluice-cni: %s %s: %s (%d)\n", c->cmd ? c->cmd : "?", e->msg, e->details,
		e->code);
	free(s);
	cJSON_Delete(j);
	return 1;
}

/* --- validation (libcni pkg/utils) --------------------------------------- */

/* ValidateContainerID / ValidateNetworkName: ^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$ */
static bool valid_id(const char *s)
{
	if (!s || !isalnum((unsigned char)*s) || strlen(s) > 4096)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-')
			return false;
	return true;
}

/* ValidateInterfaceName: 1-15 bytes, not . or .., no / : or whitespace. */
static bool valid_ifname(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (!n || n >= IF_NAMESIZE || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || isspace((unsigned char)*s))
			return false;
	return true;
}

/* An absolute directory path without . or .. components. */
static bool valid_dir(const char *s)
{
	const char *p;

	if (!s || *s != '/' || strlen(s) > 200)
		return false;
	for (p = s; *p; p++) {
		if (*p == '/' && p[1] == '.' && (p[2] == '/' || !p[2] ||
						 (p[2] == '.' && (p[3] == '/' || !p[3]))))
			return false;
		if (isspace((unsigned char)*p) || (unsigned char)*p < 0x20)
			return false;
	}
	return true;
}

/* Nesting depth of a JSON text, strings skipped. */
static int json_depth(const char *s, size_t n)
{
	int d = 0, max = 0;
	bool str = false;
	size_t i;

	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				str = false;
			continue;
		}
		if (ch == '"')
			str = true;
		else if (ch == '{' || ch == '[') {
			if (++d > max)
				max = d;
		} else if (ch == '}' || ch == ']')
			d--;
	}
	return max;
}

static int version_num(const char *v)
{
	size_t i;
	static const int nums[] = { 300, 301, 400, 10000, 10100 };

	for (i = 0; v && i < NVERSIONS; i++)
		if (!strcmp(v, versions[i]))
			return nums[i];
	return 0;
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *it = cJSON_GetObjectItem(o, key); /* case-insensitive, as Go */

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

static void parse_cni_args(struct ctx *c)
{
	const char *a = getenv("CNI_ARGS");
	char *dup, *kv, *save = NULL;

	if (!a)
		return;
	dup = strdup(a);
	if (!dup)
		return;
	for (kv = strtok_r(dup, ";", &save); kv; kv = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(kv, '=');

		if (!eq)
			continue;
		*eq++ = 0;
		if (!strcmp(kv, "K8S_POD_NAMESPACE"))
			snprintf(c->pod_ns, sizeof(c->pod_ns), "%s", eq);
		else if (!strcmp(kv, "K8S_POD_NAME"))
			snprintf(c->pod_name, sizeof(c->pod_name), "%s", eq);
		else if (!strcmp(kv, "SLUICE_CHAIN"))
			snprintf(c->args_chain, sizeof(c->args_chain), "%s", eq);
	}
	free(dup);
}

static int read_stdin(char **out, size_t *len, struct cni_err *e)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap + 1);

	if (!buf)
		return cni_fail(e, CNI_E_IO, "out of memory", "%s", "");
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *nb;

			if (cap > CNI_STDIN_MAX) {
				free(buf);
				return cni_fail(e, CNI_E_DECODE, "network config too large",
						"stdin exceeds %d bytes", CNI_STDIN_MAX);
			}
			nb = realloc(buf, cap * 2 + 1);
			if (!nb) {
				free(buf);
				return cni_fail(e, CNI_E_IO, "out of memory", "%s", "");
			}
			buf = nb;
			cap *= 2;
		}
		r = read(0, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return cni_fail(e, CNI_E_IO, "cannot read stdin", "%s", strerror(errno));
		}
		if (!r)
			break;
		n += r;
	}
	if (n > CNI_STDIN_MAX) {
		free(buf);
		return cni_fail(e, CNI_E_DECODE, "network config too large", "stdin exceeds %d bytes",
				CNI_STDIN_MAX);
	}
	buf[n] = 0;
	*out = buf;
	*len = n;
	return 0;
}

static int need_env(struct ctx *c, bool cid, bool ifname, bool netns, struct cni_err *e)
{
	if (cid && (!c->cid || !*c->cid))
		return cni_fail(e, CNI_E_ENV, "required env variables [CNI_CONTAINERID] missing", "%s", "");
	if (cid && !valid_id(c->cid))
		return cni_fail(e, CNI_E_ENV, "invalid characters in containerID",
				"CNI_CONTAINERID must match [a-zA-Z0-9][a-zA-Z0-9_.-]*");
	if (ifname && (!c->ifname || !*c->ifname))
		return cni_fail(e, CNI_E_ENV, "required env variables [CNI_IFNAME] missing", "%s", "");
	if (ifname && !valid_ifname(c->ifname))
		return cni_fail(e, CNI_E_ENV, "invalid interface name",
				"CNI_IFNAME must be 1-15 bytes without '/', ':' or whitespace");
	if (netns && (!c->netns || !*c->netns))
		return cni_fail(e, CNI_E_ENV, "required env variables [CNI_NETNS] missing", "%s", "");
	if (!getenv("CNI_PATH") || !*getenv("CNI_PATH"))
		return cni_fail(e, CNI_E_ENV, "required env variables [CNI_PATH] missing", "%s", "");
	return 0;
}

/* Config fields shared by every command but VERSION. */
static int parse_conf(struct ctx *c, struct cni_err *e)
{
	cJSON *m = cJSON_GetObjectItem(c->conf, "mtu");
	const char *t;

	c->name = jstr(c->conf, "name");
	if (!valid_id(c->name) || strlen(c->name) > 63)
		return cni_fail(e, CNI_E_CONFIG, "invalid network name",
				"name \"%s\" must match [a-zA-Z0-9][a-zA-Z0-9_.-]* (at most 63)",
				c->name ? c->name : "");
	c->pin_root = jstr(c->conf, "pinRoot");
	if (!c->pin_root)
		c->pin_root = SL_DEFAULT_PIN_ROOT;
	c->state_dir = jstr(c->conf, "stateDir");
	if (!c->state_dir)
		c->state_dir = SL_DEFAULT_STATE_DIR;
	if (!valid_dir(c->pin_root) || !valid_dir(c->state_dir))
		return cni_fail(e, CNI_E_CONFIG, "invalid pinRoot or stateDir",
				"absolute paths without '.' or '..' components");
	c->chain = c->args_chain[0] ? c->args_chain : jstr(c->conf, "chain");
	if (c->chain && (!valid_id(c->chain) || strlen(c->chain) > 63))
		return cni_fail(e, CNI_E_CONFIG, "invalid chain name",
				"chain \"%s\" must match [a-zA-Z0-9][a-zA-Z0-9_.-]*", c->chain);
	c->mode = jstr(c->conf, "mode");
	if (c->mode && strcmp(c->mode, "veth") && strcmp(c->mode, "chained"))
		return cni_fail(e, CNI_E_CONFIG, "invalid mode", "mode \"%s\": veth or chained", c->mode);
	c->chained = c->mode && !strcmp(c->mode, "chained");
	c->mtu = cJSON_IsNumber(m) ? m->valueint : 1500;
	if (c->mtu < 576 || c->mtu > 65535)
		return cni_fail(e, CNI_E_CONFIG, "invalid mtu", "%d", c->mtu);
	c->ipam = cJSON_GetObjectItem(c->conf, "ipam");
	if (c->ipam && !cJSON_IsObject(c->ipam))
		return cni_fail(e, CNI_E_CONFIG, "invalid ipam", "ipam must be an object");
	t = c->ipam ? jstr(c->ipam, "type") : NULL;
	if (c->ipam && cJSON_GetObjectItem(c->ipam, "type") && !t)
		return cni_fail(e, CNI_E_CONFIG, "invalid IPAM plugin type", "ipam.type must be a string");
	snprintf(c->ipam_type, sizeof(c->ipam_type), "%s", t ? t : "host-local");
	if (!*c->ipam_type || strchr(c->ipam_type, '/') || !strcmp(c->ipam_type, ".") ||
	    !strcmp(c->ipam_type, ".."))
		return cni_fail(e, CNI_E_CONFIG, "invalid IPAM plugin type",
				"ipam.type \"%s\" must be a plain file name", c->ipam_type);
	if (snprintf(c->netdir, sizeof(c->netdir), "%s/cni/%s", c->state_dir, c->name) >=
	    (int)sizeof(c->netdir))
		return cni_fail(e, CNI_E_CONFIG, "stateDir too long", "%s", c->state_dir);
	return 0;
}

/* The attachment's names: host veth "sl" + 12 hex of sha256(cid \0 ifname),
 * record STATE/cni/<net>/ep/<64 hex>.json */
static void derive(struct ctx *c, const char *cid, const char *ifname)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char buf[PATH_MAX * 2];
	size_t n = strlen(cid) + 1;
	int i;

	snprintf(buf, sizeof(buf), "%s", cid);
	snprintf(buf + n, sizeof(buf) - n, "%s", ifname);
	SHA256((unsigned char *)buf, n + strlen(ifname), md);
	for (i = 0; i < SHA256_DIGEST_LENGTH; i++)
		sprintf(c->hash + 2 * i, "%02x", md[i]);
	snprintf(c->host, sizeof(c->host), "sl%.12s", c->hash);
	snprintf(c->recpath, sizeof(c->recpath), "%s/ep/%s.json", c->netdir, c->hash);
}

static int lock_take(struct ctx *c, int how, struct cni_err *e)
{
	char path[PATH_MAX], ep[PATH_MAX];
	int waited;

	snprintf(ep, sizeof(ep), "%s/ep", c->netdir);
	if (mkdir_p(ep))
		return cni_fail(e, CNI_E_IO, "cannot create the state directory", "%s: %s", ep,
				strerror(errno));
	snprintf(path, sizeof(path), "%s/lock", c->netdir);
	c->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (c->lock_fd < 0)
		return cni_fail(e, CNI_E_IO, "cannot open the lock", "%s: %s", path, strerror(errno));
	for (waited = 0; flock(c->lock_fd, how | LOCK_NB); waited += 10) {
		struct timespec ts = { 0, 10 * 1000000L };

		if (errno != EWOULDBLOCK || waited > 60000)
			return cni_fail(e, CNI_E_AGAIN, "shared state is locked", "%s", path);
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* --- results ------------------------------------------------------------- */

static void mac_str(const uint8_t *m, char *out)
{
	sprintf(out, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static void add_ip(struct ctx *c, cJSON *arr, const struct cni_ip *ip, int iface)
{
	cJSON *o = cJSON_CreateObject();
	char a[INET6_ADDRSTRLEN], buf[INET6_ADDRSTRLEN + 8];

	if (c->vnum < 10000)
		cJSON_AddStringToObject(o, "version", ip->family == AF_INET ? "4" : "6");
	cni_ip_to_str(ip->family, ip->addr, a, sizeof(a));
	snprintf(buf, sizeof(buf), "%s/%d", a, ip->plen);
	cJSON_AddStringToObject(o, "address", buf);
	if (ip->has_gw) {
		cni_ip_to_str(ip->family, ip->gw, a, sizeof(a));
		cJSON_AddStringToObject(o, "gateway", a);
	}
	if (iface >= 0)
		cJSON_AddNumberToObject(o, "interface", iface);
	cJSON_AddItemToArray(arr, o);
}

static void add_route(cJSON *arr, const struct cni_route *r)
{
	cJSON *o = cJSON_CreateObject();
	char a[INET6_ADDRSTRLEN], buf[INET6_ADDRSTRLEN + 8];

	cni_ip_to_str(r->family, r->dst, a, sizeof(a));
	snprintf(buf, sizeof(buf), "%s/%d", a, r->plen);
	cJSON_AddStringToObject(o, "dst", buf);
	if (r->has_gw) {
		cni_ip_to_str(r->family, r->gw, a, sizeof(a));
		cJSON_AddStringToObject(o, "gw", a);
	}
	cJSON_AddItemToArray(arr, o);
}

static void print_json(cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);

	printf("%s\n", s);
	fflush(stdout);
	free(s);
}

/* --- records ------------------------------------------------------------- */

static int record_write(struct ctx *c, const struct cni_ipam_result *r, bool chained)
{
	cJSON *j = cJSON_CreateObject(), *ips = cJSON_AddArrayToObject(j, "ips");
	char *s;
	int i, err;

	cJSON_AddStringToObject(j, "containerID", c->cid);
	cJSON_AddStringToObject(j, "ifname", c->ifname);
	cJSON_AddStringToObject(j, "netns", c->netns);
	cJSON_AddStringToObject(j, "host", c->host);
	cJSON_AddBoolToObject(j, "chained", chained);
	if (c->chain)
		cJSON_AddStringToObject(j, "chain", c->chain);
	cJSON_AddStringToObject(j, "podNamespace", c->pod_ns);
	cJSON_AddStringToObject(j, "podName", c->pod_name);
	for (i = 0; i < r->nips; i++)
		add_ip(c, ips, &r->ips[i], -1);
	s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	err = s ? file_write_atomic(c->recpath, s, strlen(s)) : -ENOMEM;
	free(s);
	return err;
}

static cJSON *record_read(const char *path)
{
	char *s = NULL;
	size_t len;
	cJSON *j;

	if (file_read(path, &s, &len, 65536))
		return NULL;
	j = cJSON_Parse(s);
	free(s);
	return j;
}

/* --- endpoints map ------------------------------------------------------- */

static void ep_key(struct sl_cni_ep_key *k, const struct cni_ip *ip)
{
	memset(k, 0, sizeof(*k));
	k->family = ip->family == AF_INET ? 4 : 6;
	memcpy(k->addr, ip->addr, ip->family == AF_INET ? 4 : 16);
}

/* Delete every entry of this network for (cid, ifname); cid NULL: every
 * entry of this network whose attachment keep() rejects. */
static int ep_sweep(int fd, const char *network, const char *cid, const char *ifname,
		    bool (*keep)(const char *cid, const char *ifname, void *), void *arg)
{
	struct sl_cni_ep_key k, next, *prev = NULL;
	struct sl_cni_ep_key *del = calloc(CNI_EP_MAX, sizeof(*del));
	struct sl_cni_ep v;
	int n = 0, i;

	if (!del)
		return -ENOMEM;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &v))
			continue;
		if (strncmp(v.network, network, sizeof(v.network)))
			continue;
		if (cid ? (!strncmp(v.container_id, cid, sizeof(v.container_id)) &&
			   !strncmp(v.ifname, ifname, sizeof(v.ifname)))
			: !keep(v.container_id, v.ifname, arg))
			if (n < CNI_EP_MAX)
				del[n++] = k;
	}
	for (i = 0; i < n; i++)
		bpf_map_delete_elem(fd, &del[i]);
	free(del);
	return n;
}

/* --- chain attach -------------------------------------------------------- */

/* The chain's pinned entry program (sched_cls), or <0. */
static int chain_entry(struct ctx *c, uint32_t *id, struct cni_err *e)
{
	char dir[PATH_MAX];
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);
	int fd;

	snprintf(dir, sizeof(dir), "%s/%s", c->pin_root, c->chain);
	fd = pin_get(dir, "entry");
	if (fd < 0)
		return cni_fail(e, CNI_E_CHAIN, "chain not found", "no %s/entry: apply the chain first",
				dir);
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.type != BPF_PROG_TYPE_SCHED_CLS) {
		close(fd);
		return cni_fail(e, CNI_E_CHAIN, "chain does not run at TC",
				"chain \"%s\" must attach at tc-ingress/tc-egress", c->chain);
	}
	*id = info.id;
	return fd;
}

/* The chain's entry at sluice's handle on the host veth's ingress. Like
 * sluice's own attach points, it replaces only a sluice entry program
 * there (an earlier ADD's, or another generation's), never another's. */
static int chain_attach(struct ctx *c, int ifindex, struct cni_err *e)
{
	uint32_t id;
	int fd, err;

	fd = chain_entry(c, &id, e);
	if (fd < 0)
		return -1;
	err = attach_tc_replace(ifindex, false, SL_TC_HANDLE, SL_TC_PRIO, fd, SL_TC_PROG);
	close(fd);
	if (err)
		return cni_fail(e, CNI_E_CHAIN, "cannot attach the chain", "%s on %s: %s%s", c->chain,
				c->host, strerror(-err),
				err == -EBUSY ? " (another program holds sluice's tc handle)" : "");
	return 0;
}

/* --- the pod datapath ---------------------------------------------------- */

/* The pod datapath program of this pin root (bpf/pod.bpf.c), loaded and
 * pinned by the first ADD or STATUS that needs it; creators serialize on
 * STATE_DIR/cni/datapath.lock so that one program and one counter map are
 * pinned. */
static int datapath_get(struct ctx *c, int epfd, bool create, struct cni_err *e)
{
	char path[PATH_MAX];
	int lfd, fd;

	fd = poddp_get(c->pin_root, epfd, false);
	if (fd >= 0 || !create || fd != -ENOENT)
		goto done;
	snprintf(path, sizeof(path), "%s/cni", c->state_dir);
	if (mkdir_p(path))
		return cni_fail(e, CNI_E_IO, "cannot create the state directory", "%s: %s", path,
				strerror(errno));
	snprintf(path, sizeof(path), "%s/cni/datapath.lock", c->state_dir);
	lfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lfd < 0 || flock(lfd, LOCK_EX)) {
		cni_fail(e, CNI_E_IO, "cannot take the datapath lock", "%s: %s", path,
			 strerror(errno));
		if (lfd >= 0)
			close(lfd);
		return -1;
	}
	fd = poddp_get(c->pin_root, epfd, true);
	close(lfd);
done:
	if (fd < 0)
		return cni_fail(e, CNI_E_DATAPATH, "pod datapath not available", "%s/cni: %s",
				c->pin_root, strerror(-fd));
	return fd;
}

static uint32_t prog_id(int fd)
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/* --- IPAM ---------------------------------------------------------------- */

/* The config IPAM sees: ours, with ipam.type defaulted. */
static cJSON *ipam_conf(struct ctx *c)
{
	cJSON *j = cJSON_Duplicate(c->conf, 1), *ipam;

	if (!j)
		return NULL;
	cJSON_DeleteItemFromObject(j, "prevResult");
	ipam = cJSON_GetObjectItem(j, "ipam");
	if (!ipam) {
		ipam = cJSON_AddObjectToObject(j, "ipam");
	}
	if (!cJSON_GetObjectItem(ipam, "type"))
		cJSON_AddStringToObject(ipam, "type", c->ipam_type);
	return j;
}

/* Run IPAM cmd for (cid, ifname) in the version it shares with us. */
static int ipam_run(struct ctx *c, const char *cmd, const char *cid, const char *ifname,
		    char **out, struct cni_err *e)
{
	char path[PATH_MAX], ver[16];
	cJSON *conf;
	int err;

	*out = NULL;
	if (cni_ipam_find(c->ipam_type, path, sizeof(path), e))
		return -1;
	/* Plugins older than the requested version (host-local 1.1 speaks up
	 * to 1.0.0) get the highest one they speak. */
	snprintf(ver, sizeof(ver), "%s", c->ver);
	if (c->vnum >= 10100 && cni_ipam_version(path, c->ver, ver, sizeof(ver)))
		return cni_fail(e, CNI_E_IPAM, "IPAM plugin speaks no compatible version", "%s", path);
	if ((!strcmp(cmd, "STATUS") || !strcmp(cmd, "GC")) && strcmp(ver, "1.1.0")) {
		*out = NULL;
		return 1; /* not supported by this IPAM: nothing to ask */
	}
	conf = ipam_conf(c);
	if (!conf)
		return cni_fail(e, CNI_E_IO, "out of memory", "%s", "");
	if (cid)
		setenv("CNI_CONTAINERID", cid, 1);
	if (ifname)
		setenv("CNI_IFNAME", ifname, 1);
	err = cni_ipam_exec(path, cmd, conf, ver, out, e);
	cJSON_Delete(conf);
	return err;
}

/* --- ADD ----------------------------------------------------------------- */

struct pod_setup {
	struct ctx *c;
	struct cni_ipam_result *r;
	int ifindex;
	uint8_t mac[6];
	struct cni_route routes[CNI_MAX_ROUTES + CNI_MAX_IPS];
	int nroutes;
	struct cni_err *e;
};

static const struct cni_ip *gw_of(const struct cni_ipam_result *r, int family)
{
	int i;

	for (i = 0; i < r->nips; i++)
		if (r->ips[i].family == family && r->ips[i].has_gw)
			return &r->ips[i];
	return NULL;
}

/* Inside the pod's netns: addresses (a /32 or /128 when there is a
 * gateway: everything goes through the host), the link up, the gateway as
 * an on-link host route, then the routes. */
static int pod_setup(void *arg)
{
	struct pod_setup *p = arg;
	struct mnl_socket *nl = cnl_open();
	int i, err = 0;

	if (!nl)
		return cni_fail(p->e, CNI_E_NETLINK, "netlink in the pod netns", "%s", strerror(errno));
	err = cnl_link_get(nl, p->c->ifname, &p->ifindex, p->mac);
	if (err)
		goto out;
	if (gw_of(p->r, AF_INET6) || (p->r->nips && p->r->ips[0].family == AF_INET6)) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/accept_dad", p->c->ifname);
		cni_sysctl_write(path, "0");
	}
	for (i = 0; i < p->r->nips && !err; i++) {
		const struct cni_ip *ip = &p->r->ips[i];

		err = cnl_addr_add(nl, p->ifindex, ip->family, ip->addr,
				   ip->has_gw ? (ip->family == AF_INET ? 32 : 128) : ip->plen);
	}
	if (!err)
		err = cnl_link_up(nl, p->ifindex);
	for (i = 0; i < p->r->nips && !err; i++) {
		const struct cni_ip *ip = &p->r->ips[i];
		int j, dup = 0;

		if (!ip->has_gw)
			continue;
		for (j = 0; j < i; j++)
			dup |= p->r->ips[j].has_gw && !memcmp(p->r->ips[j].gw, ip->gw, 16);
		if (!dup)
			err = cnl_route_add(nl, ip->family, ip->gw, ip->family == AF_INET ? 32 : 128,
					    NULL, p->ifindex, true);
		/* Another attachment in this netns already routes the gateway. */
		if (err == -EEXIST)
			err = 0;
	}
	if (!err && fault_at("cni-pod-addr"))
		err = -EIO;
	/* IPAM routes via the gateway; a default route per family without. */
	for (i = 0; i < p->r->nroutes; i++)
		p->routes[p->nroutes++] = p->r->routes[i];
	for (i = AF_INET; i <= AF_INET6; i += AF_INET6 - AF_INET) {
		const struct cni_ip *g = gw_of(p->r, i);
		bool have = false;
		int j;

		for (j = 0; j < p->r->nroutes; j++)
			have |= p->r->routes[j].family == i;
		if (g && !have) {
			struct cni_route *rt = &p->routes[p->nroutes++];

			memset(rt, 0, sizeof(*rt));
			rt->family = i;
			rt->has_gw = true;
			memcpy(rt->gw, g->gw, 16);
		}
	}
	for (i = 0; i < p->nroutes && !err; i++) {
		struct cni_route *rt = &p->routes[i];
		const struct cni_ip *g = gw_of(p->r, rt->family);

		if (!rt->has_gw && g) {
			rt->has_gw = true;
			memcpy(rt->gw, g->gw, 16);
		}
		err = cnl_route_add(nl, rt->family, rt->dst, rt->plen, rt->has_gw ? rt->gw : NULL,
				    p->ifindex, false);
		if (err == -EEXIST)
			err = 0;
	}
	if (!err && fault_at("cni-pod-route"))
		err = -EIO;
out:
	cnl_close(nl);
	if (err)
		return cni_fail(p->e, CNI_E_NETLINK, "cannot configure the pod interface", "%s: %s",
				p->c->ifname, strerror(-err));
	return 0;
}

/* Chained mode: the earlier plugin made the pod interface; its index and
 * MAC for the endpoint entries. */
static int pod_link(void *arg)
{
	struct pod_setup *p = arg;
	struct mnl_socket *nl = cnl_open();
	int err;

	if (!nl)
		return cni_fail(p->e, CNI_E_NETLINK, "netlink in the pod netns", "%s", strerror(errno));
	err = cnl_link_get(nl, p->c->ifname, &p->ifindex, p->mac);
	cnl_close(nl);
	if (err)
		return cni_fail(p->e, CNI_E_CONFIG, "no pod interface from the earlier plugin",
				"%s in %s: %s", p->c->ifname, p->c->netns, strerror(-err));
	return 0;
}

static int host_sysctls(struct ctx *c)
{
	char path[PATH_MAX];
	int err;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/accept_ra", c->host);
	err = cni_sysctl_write(path, "0");
	return err == -ENOENT ? 0 : err; /* no IPv6 on this node: nothing to refuse */
}

static int cmd_add(struct ctx *c, struct cni_err *e)
{
	struct cni_ipam_result r = {};
	struct pod_setup ps = {};
	struct mnl_socket *nl = NULL;
	char *out = NULL;
	int nsfd = -1, hidx = 0, epfd = -1, dpfd, i, err;
	bool ipam_done = false, veth_done = false, chain_done = false, dp_done = false;
	bool ep_done = false;
	uint8_t hmac[6] = {};
	cJSON *res, *ifs, *ips, *routes, *o;
	char mac[18];

	if (need_env(c, true, true, true, e) || parse_conf(c, e))
		return -1;
	nsfd = cni_netns_open(c->netns);
	if (nsfd < 0)
		return cni_fail(e, CNI_E_ENV, "CNI_NETNS is not a network namespace", "%s: %s",
				c->netns, strerror(-nsfd));
	if (cni_netns_is_self(nsfd)) {
		close(nsfd);
		return cni_fail(e, CNI_E_ENV, "CNI_NETNS is the plugin's own netns", "%s", c->netns);
	}
	derive(c, c->cid, c->ifname);
	if (lock_take(c, LOCK_SH, e))
		goto fail_early;
	if (!access(c->recpath, F_OK)) {
		cni_fail(e, CNI_E_NETLINK, "attachment exists",
			 "container %s already has %s on network %s", c->cid, c->ifname, c->name);
		goto fail_early;
	}
	nl = cnl_open();
	if (!nl) {
		cni_fail(e, CNI_E_NETLINK, "netlink", "%s", strerror(errno));
		goto fail_early;
	}
	if (c->chained) {
		/* Chained: the earlier plugin's host interface, nothing created. */
		cJSON *prev = cJSON_GetObjectItem(c->conf, "prevResult"), *it;
		char *ps_;

		if (!cJSON_IsObject(prev)) {
			cni_fail(e, CNI_E_CONFIG, "chained mode needs prevResult", "%s", "");
			goto fail_early;
		}
		ps_ = cJSON_PrintUnformatted(prev);
		err = cni_ipam_parse(ps_, &r, e);
		free(ps_);
		if (err)
			goto fail_early;
		c->host[0] = 0;
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(prev, "interfaces")) {
			const char *n = jstr(it, "name"), *sb = jstr(it, "sandbox");

			if (n && (!sb || !*sb) && valid_ifname(n)) {
				snprintf(c->host, sizeof(c->host), "%s", n);
				break;
			}
		}
		if (!c->host[0] || cnl_link_get(nl, c->host, &hidx, hmac)) {
			cni_fail(e, CNI_E_CONFIG, "no host interface in prevResult", "%s", c->host);
			goto fail_early;
		}
		ps.c = c;
		ps.e = e;
		err = cni_in_netns(nsfd, pod_link, &ps);
		if (err) {
			if (err != -1)
				cni_fail(e, CNI_E_NETLINK, "cannot enter the pod netns", "%s",
					 strerror(-err));
			goto fail_early;
		}
		goto datapath;
	}

	/* 1. addresses */
	if (ipam_run(c, "ADD", NULL, NULL, &out, e))
		goto rollback;
	ipam_done = true;
	if (cni_ipam_parse(out, &r, e))
		goto rollback;
	if (fault_at("cni-ipam")) {
		cni_fail(e, CNI_E_FAULT, "fault injected", "after cni-ipam");
		goto rollback;
	}
	/* 2. the veth pair, pod end straight into the pod's netns */
	err = cnl_veth_create(nl, c->host, c->ifname, nsfd, c->mtu);
	if (err) {
		cni_fail(e, CNI_E_NETLINK, "cannot create the veth pair", "%s/%s: %s", c->host,
			 c->ifname, strerror(-err));
		goto rollback;
	}
	veth_done = true;
	err = cnl_link_get(nl, c->host, &hidx, hmac);
	if (!err)
		err = host_sysctls(c);
	if (err || fault_at("cni-veth")) {
		cni_fail(e, err ? CNI_E_NETLINK : CNI_E_FAULT, "cannot set up the host veth", "%s: %s",
			 c->host, err ? strerror(-err) : "fault injected");
		goto rollback;
	}
	/* 3. the pod side */
	ps.c = c;
	ps.r = &r;
	ps.e = e;
	err = cni_in_netns(nsfd, pod_setup, &ps);
	if (err) {
		if (err != -1)
			cni_fail(e, CNI_E_NETLINK, "cannot enter the pod netns", "%s", strerror(-err));
		goto rollback;
	}
	/* 4. the host side: up, the gateways, a route to each pod address */
	err = cnl_link_up(nl, hidx);
	for (i = 0; i < r.nips && !err; i++) {
		const struct cni_ip *ip = &r.ips[i];
		int fl = ip->family == AF_INET ? 32 : 128;

		if (ip->has_gw)
			err = cnl_addr_add(nl, hidx, ip->family, ip->gw, fl);
		if (!err)
			err = cnl_route_add(nl, ip->family, ip->addr, fl, NULL, hidx, true);
	}
	if (!err && r.nips) {
		cni_sysctl_write("/proc/sys/net/ipv4/ip_forward", "1");
		cni_sysctl_write("/proc/sys/net/ipv6/conf/all/forwarding", "1");
	}
	if (err || fault_at("cni-host")) {
		cni_fail(e, err ? CNI_E_NETLINK : CNI_E_FAULT, "cannot configure the host side", "%s: %s",
			 c->host, err ? strerror(-err) : "fault injected");
		goto rollback;
	}
datapath:
	/* 5. at TC ingress of the host veth (what the pod sends): the chain
	 * (priority 1), then the pod datapath (priority 2), in that order so
	 * that the datapath never delivers a packet the chain has not judged */
	epfd = cni_ep_map_open(c->pin_root, true);
	if (epfd < 0) {
		cni_fail(e, CNI_E_ENDPOINT, "cannot open the endpoints map", "%s/cni/endpoints: %s",
			 c->pin_root, strerror(-epfd));
		goto rollback;
	}
	if (c->chain) {
		if (chain_attach(c, hidx, e))
			goto rollback;
		chain_done = true;
	}
	if (fault_at("cni-chain")) {
		cni_fail(e, CNI_E_FAULT, "fault injected", "after cni-chain");
		goto rollback;
	}
	dpfd = datapath_get(c, epfd, true, e);
	if (dpfd < 0)
		goto rollback;
	err = poddp_tc_attach(hidx, dpfd);
	close(dpfd);
	if (err) {
		cni_fail(e, CNI_E_DATAPATH, "cannot attach the pod datapath", "%s: %s", c->host,
			 strerror(-err));
		goto rollback;
	}
	dp_done = true;
	if (fault_at("cni-datapath")) {
		cni_fail(e, CNI_E_FAULT, "fault injected", "after cni-datapath");
		goto rollback;
	}
	/* 6. the endpoint entries: from here the datapath delivers to the pod */
	ep_done = true;
	for (i = 0; i < r.nips; i++) {
		struct sl_cni_ep_key k;
		struct sl_cni_ep v = {};

		ep_key(&k, &r.ips[i]);
		v.ifindex = hidx;
		v.pod_ifindex = ps.ifindex;
		snprintf(v.container_id, sizeof(v.container_id), "%s", c->cid);
		snprintf(v.ifname, sizeof(v.ifname), "%s", c->ifname);
		snprintf(v.netns, sizeof(v.netns), "%s", c->netns);
		snprintf(v.pod_namespace, sizeof(v.pod_namespace), "%s", c->pod_ns);
		snprintf(v.pod_name, sizeof(v.pod_name), "%s", c->pod_name);
		snprintf(v.network, sizeof(v.network), "%s", c->name);
		snprintf(v.chain, sizeof(v.chain), "%s", c->chain ? c->chain : "");
		memcpy(v.mac, hmac, 6);
		memcpy(v.pod_mac, ps.mac, 6);
		if (bpf_map_update_elem(epfd, &k, &v, BPF_ANY)) {
			cni_fail(e, CNI_E_ENDPOINT, "cannot record the endpoint", "%s", strerror(errno));
			goto rollback;
		}
	}
	if (fault_at("cni-endpoint")) {
		cni_fail(e, CNI_E_FAULT, "fault injected", "after cni-endpoint");
		goto rollback;
	}
	/* 7. the record DEL and GC work from */
	err = record_write(c, &r, c->chained);
	if (err || fault_at("cni-record")) {
		cni_fail(e, err ? CNI_E_IO : CNI_E_FAULT, "cannot write the attachment record", "%s: %s",
			 c->recpath, err ? strerror(-err) : "fault injected");
		unlink(c->recpath);
		goto rollback;
	}

	if (c->chained) {
		res = cJSON_Duplicate(cJSON_GetObjectItem(c->conf, "prevResult"), 1);
		cJSON_DeleteItemFromObject(res, "cniVersion");
		cJSON_AddStringToObject(res, "cniVersion", c->ver);
	} else {
		res = cJSON_CreateObject();
		cJSON_AddStringToObject(res, "cniVersion", c->ver);
		ifs = cJSON_AddArrayToObject(res, "interfaces");
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", c->host);
		mac_str(hmac, mac);
		cJSON_AddStringToObject(o, "mac", mac);
		cJSON_AddItemToArray(ifs, o);
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", c->ifname);
		mac_str(ps.mac, mac);
		cJSON_AddStringToObject(o, "mac", mac);
		cJSON_AddStringToObject(o, "sandbox", c->netns);
		cJSON_AddItemToArray(ifs, o);
		ips = cJSON_AddArrayToObject(res, "ips");
		for (i = 0; i < r.nips; i++)
			add_ip(c, ips, &r.ips[i], 1);
		routes = cJSON_AddArrayToObject(res, "routes");
		for (i = 0; i < ps.nroutes; i++)
			add_route(routes, &ps.routes[i]);
		if (r.dns)
			cJSON_AddItemToObject(res, "dns", cJSON_Duplicate(r.dns, 1));
		else
			cJSON_AddObjectToObject(res, "dns");
	}
	print_json(res);
	cJSON_Delete(res);
	free(out);
	cni_ipam_result_free(&r);
	close(epfd);
	cnl_close(nl);
	close(nsfd);
	return 0;

rollback:
	/* Undo in reverse; the original error stays in e. */
	if (ep_done) {
		for (i = 0; i < r.nips; i++) {
			struct sl_cni_ep_key k;

			ep_key(&k, &r.ips[i]);
			bpf_map_delete_elem(epfd, &k);
		}
	}
	if (epfd >= 0)
		close(epfd);
	/* veth mode: the filters go with the link */
	if (dp_done && c->chained)
		poddp_tc_detach(hidx);
	if (chain_done && c->chained)
		attach_tc_delete(hidx, false, SL_TC_HANDLE, SL_TC_PRIO);
	if (veth_done && nl)
		cnl_link_del(nl, hidx ? hidx : (int)if_nametoindex(c->host));
	if (ipam_done) {
		struct cni_err e2;
		char *o2 = NULL;

		ipam_run(c, "DEL", c->cid, c->ifname, &o2, &e2);
		free(o2);
	}
fail_early:
	free(out);
	cni_ipam_result_free(&r);
	cnl_close(nl);
	close(nsfd);
	return -1;
}

/* --- DEL ----------------------------------------------------------------- */

/* Tear down one attachment: map entries, host veth (the pod end goes with
 * it) or the TC filter in chained mode, IPAM, the record. Missing pieces
 * are fine: DEL is idempotent. */
static int teardown(struct ctx *c, const char *cid, const char *ifname, struct cni_err *e)
{
	struct mnl_socket *nl = cnl_open();
	cJSON *rec;
	bool chained = c->chained;
	int epfd, idx, err = 0;
	char *out = NULL;

	derive(c, cid, ifname);
	rec = record_read(c->recpath);
	if (rec) {
		cJSON *ch = cJSON_GetObjectItem(rec, "chained");
		const char *h = jstr(rec, "host");

		chained = cJSON_IsTrue(ch);
		if (h && valid_ifname(h))
			snprintf(c->host, sizeof(c->host), "%s", h);
	}
	epfd = cni_ep_map_open(c->pin_root, false);
	if (epfd >= 0) {
		ep_sweep(epfd, c->name, cid, ifname, NULL, NULL);
		close(epfd);
	}
	if (nl && !cnl_link_get(nl, c->host, &idx, NULL)) {
		if (chained) {
			poddp_tc_detach(idx);
			attach_tc_delete(idx, false, SL_TC_HANDLE, SL_TC_PRIO);
		} else {
			cnl_link_del(nl, idx);
		}
	}
	cnl_close(nl);
	if (!chained) {
		err = ipam_run(c, "DEL", cid, ifname, &out, e);
		free(out);
	}
	if (!err)
		unlink(c->recpath);
	cJSON_Delete(rec);
	return err < 0 ? -1 : 0;
}

static int cmd_del(struct ctx *c, struct cni_err *e)
{
	if (need_env(c, true, true, false, e) || parse_conf(c, e))
		return -1;
	if (lock_take(c, LOCK_SH, e) || teardown(c, c->cid, c->ifname, e))
		return -1;
	return 0;
}

/* --- CHECK --------------------------------------------------------------- */

struct pod_check {
	struct ctx *c;
	cJSON *prev;
	struct cni_err *e;
};

static int pod_check(void *arg)
{
	struct pod_check *p = arg;
	struct mnl_socket *nl = cnl_open();
	cJSON *it;
	int idx, err;

	if (!nl)
		return cni_fail(p->e, CNI_E_NETLINK, "netlink in the pod netns", "%s", strerror(errno));
	err = cnl_link_get(nl, p->c->ifname, &idx, NULL);
	if (err) {
		cnl_close(nl);
		return cni_fail(p->e, CNI_E_CHECK, "pod interface missing", "%s in %s", p->c->ifname,
				p->c->netns);
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(p->prev, "ips")) {
		const char *a = jstr(it, "address");
		uint8_t addr[16];
		int fam, plen;

		if (!a || cni_ip_from_str(a, &fam, addr, &plen) || cnl_addr_has(nl, idx, fam, addr) != 1) {
			cnl_close(nl);
			return cni_fail(p->e, CNI_E_CHECK, "pod address missing", "%s on %s",
					a ? a : "?", p->c->ifname);
		}
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(p->prev, "routes")) {
		const char *d = jstr(it, "dst");
		uint8_t addr[16];
		int fam, plen;

		if (d && !cni_ip_from_str(d, &fam, addr, &plen)) {
			/* Probe an address inside dst (not its network address). */
			if (!plen && fam == AF_INET)
				inet_pton(AF_INET, "192.0.2.1", addr);
			else if (!plen)
				inet_pton(AF_INET6, "2001:db8::1", addr);
			else if (plen < (fam == AF_INET ? 32 : 128))
				addr[(fam == AF_INET ? 4 : 16) - 1] |= 1;
		}
		if (!d || cni_ip_from_str(d, &fam, (uint8_t[16]){}, &plen) ||
		    cnl_route_oif(nl, fam, addr) != idx) {
			cnl_close(nl);
			return cni_fail(p->e, CNI_E_CHECK, "pod route missing", "%s via %s", d ? d : "?",
					p->c->ifname);
		}
	}
	cnl_close(nl);
	return 0;
}

static int cmd_check(struct ctx *c, struct cni_err *e)
{
	cJSON *prev = cJSON_GetObjectItem(c->conf, "prevResult"), *rec = NULL, *it;
	struct mnl_socket *nl = NULL;
	struct pod_check pc;
	int nsfd = -1, hidx, epfd = -1, dpfd, ret = -1;
	uint8_t hmac[6];
	char *out = NULL;

	if (c->vnum < 400)
		return cni_fail(e, CNI_E_VERSION, "CHECK needs CNI 0.4.0 or later", "cniVersion %s",
				c->ver);
	if (need_env(c, true, true, true, e) || parse_conf(c, e))
		return -1;
	if (!cJSON_IsObject(prev))
		return cni_fail(e, CNI_E_CONFIG, "CHECK needs prevResult", "%s", "");
	nsfd = cni_netns_open(c->netns);
	if (nsfd < 0)
		return cni_fail(e, CNI_E_UNKNOWN, "container netns not found", "%s", c->netns);
	if (cni_netns_is_self(nsfd)) {
		close(nsfd);
		return cni_fail(e, CNI_E_ENV, "CNI_NETNS is the plugin's own netns", "%s", c->netns);
	}
	derive(c, c->cid, c->ifname);
	if (lock_take(c, LOCK_SH, e))
		goto out;
	rec = record_read(c->recpath);
	if (!rec) {
		cni_fail(e, CNI_E_UNKNOWN, "unknown attachment", "container %s %s on %s", c->cid,
			 c->ifname, c->name);
		goto out;
	}
	if (jstr(rec, "host"))
		snprintf(c->host, sizeof(c->host), "%s", jstr(rec, "host"));
	pc.c = c;
	pc.prev = prev;
	pc.e = e;
	if (!cJSON_IsTrue(cJSON_GetObjectItem(rec, "chained")) && cni_in_netns(nsfd, pod_check, &pc))
		goto out;
	nl = cnl_open();
	if (!nl || cnl_link_get(nl, c->host, &hidx, hmac)) {
		cni_fail(e, CNI_E_CHECK, "host interface missing", "%s", c->host);
		goto out;
	}
	epfd = cni_ep_map_open(c->pin_root, false);
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(prev, "ips")) {
		struct cni_ip ip = {};
		struct sl_cni_ep_key k;
		struct sl_cni_ep v;
		const char *a = jstr(it, "address");

		if (!a || cni_ip_from_str(a, &ip.family, ip.addr, &ip.plen))
			continue;
		ep_key(&k, &ip);
		if (epfd < 0 || bpf_map_lookup_elem(epfd, &k, &v) || (int)v.ifindex != hidx ||
		    memcmp(v.mac, hmac, 6) ||
		    strncmp(v.container_id, c->cid, sizeof(v.container_id))) {
			cni_fail(e, CNI_E_CHECK, "endpoint entry missing or different", "%s", a);
			goto out;
		}
	}
	if (c->chain) {
		uint32_t id;
		int fd = chain_entry(c, &id, e);

		if (fd < 0)
			goto out;
		close(fd);
		if (attach_tc_query(hidx, false, SL_TC_HANDLE, SL_TC_PRIO) != id) {
			cni_fail(e, CNI_E_CHECK, "chain not attached", "%s on %s", c->chain, c->host);
			goto out;
		}
	}
	/* This build's program, or an earlier build's still attached since
	 * before an upgrade (poddp.h): both are the pod datapath. */
	dpfd = poddp_get(c->pin_root, -1, false);
	if (!poddp_tc_prog(hidx) ||
	    (poddp_tc_prog(hidx) != (dpfd >= 0 ? prog_id(dpfd) : 0) &&
	     !attach_prog_named(poddp_tc_prog(hidx), POD_TC_PROG))) {
		cni_fail(e, CNI_E_CHECK, "pod datapath not attached", "%s at priority %d on %s",
			 POD_TC_PROG, POD_TC_PRIO, c->host);
		if (dpfd >= 0)
			close(dpfd);
		goto out;
	}
	if (dpfd >= 0)
		close(dpfd);
	if (!cJSON_IsTrue(cJSON_GetObjectItem(rec, "chained")) &&
	    ipam_run(c, "CHECK", NULL, NULL, &out, e) < 0)
		goto out;
	ret = 0;
out:
	free(out);
	if (epfd >= 0)
		close(epfd);
	cnl_close(nl);
	cJSON_Delete(rec);
	close(nsfd);
	return ret;
}

/* --- STATUS -------------------------------------------------------------- */

static int cmd_status(struct ctx *c, struct cni_err *e)
{
	struct statfs sfs;
	char *out = NULL;
	int err;

	if (c->vnum < 10100)
		return cni_fail(e, CNI_E_VERSION, "STATUS needs CNI 1.1.0", "cniVersion %s", c->ver);
	if (need_env(c, false, false, false, e) || parse_conf(c, e))
		return -1;
	if (statfs(c->pin_root, &sfs) || sfs.f_type != BPF_FS_MAGIC) {
		char parent[PATH_MAX], *sl;

		snprintf(parent, sizeof(parent), "%s", c->pin_root);
		sl = strrchr(parent, '/');
		if (sl && sl != parent)
			*sl = 0;
		if (statfs(parent, &sfs) || sfs.f_type != BPF_FS_MAGIC)
			return cni_fail(e, CNI_E_NOT_AVAILABLE, "datapath not available",
					"%s is not on bpffs", c->pin_root);
	}
	if (c->chain) {
		uint32_t id;
		int fd = chain_entry(c, &id, e);

		if (fd < 0) {
			e->code = CNI_E_NOT_AVAILABLE;
			return -1;
		}
		close(fd);
	}
	/* The pod datapath: loaded (and pinned) now if no ADD did yet. */
	{
		int epfd = cni_ep_map_open(c->pin_root, true), dpfd;

		if (epfd < 0)
			return cni_fail(e, CNI_E_NOT_AVAILABLE, "datapath not available",
					"%s/cni/endpoints: %s", c->pin_root, strerror(-epfd));
		dpfd = datapath_get(c, epfd, true, e);
		close(epfd);
		if (dpfd < 0) {
			e->code = CNI_E_NOT_AVAILABLE;
			return -1;
		}
		close(dpfd);
	}
	err = ipam_run(c, "STATUS", NULL, NULL, &out, e);
	free(out);
	if (err < 0) {
		e->code = CNI_E_NOT_AVAILABLE;
		return -1;
	}
	return 0;
}

/* --- GC ------------------------------------------------------------------ */

struct valid {
	cJSON *list;
};

static bool is_valid(const char *cid, const char *ifname, void *arg)
{
	struct valid *v = arg;
	cJSON *it;

	cJSON_ArrayForEach(it, v->list) {
		const char *a = jstr(it, "containerID"), *b = jstr(it, "ifname");

		if (a && b && !strcmp(a, cid) && !strcmp(b, ifname))
			return true;
	}
	return false;
}

static int cmd_gc(struct ctx *c, struct cni_err *e)
{
	struct valid v;
	char dir[PATH_MAX];
	struct dirent *d;
	DIR *dp;
	char *out = NULL;
	int epfd, n = 0, err;

	if (c->vnum < 10100)
		return cni_fail(e, CNI_E_VERSION, "GC needs CNI 1.1.0", "cniVersion %s", c->ver);
	if (need_env(c, false, false, false, e) || parse_conf(c, e))
		return -1;
	v.list = cJSON_GetObjectItem(c->conf, "cni.dev/valid-attachments");
	if (!v.list)
		v.list = cJSON_GetObjectItem(c->conf, "cni.dev/attachments");
	if (v.list && !cJSON_IsArray(v.list))
		return cni_fail(e, CNI_E_DECODE, "cni.dev/valid-attachments must be an array", "%s", "");
	if (lock_take(c, LOCK_EX, e))
		return -1;
	snprintf(dir, sizeof(dir), "%s/ep", c->netdir);
	dp = opendir(dir);
	while (dp && (d = readdir(dp))) {
		cJSON *rec;
		char path[PATH_MAX];
		const char *cid, *ifn;
		size_t l = strlen(d->d_name);

		if (l != 69 || strcmp(d->d_name + 64, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		rec = record_read(path);
		cid = rec ? jstr(rec, "containerID") : NULL;
		ifn = rec ? jstr(rec, "ifname") : NULL;
		if (cid && ifn && valid_id(cid) && valid_ifname(ifn) && !is_valid(cid, ifn, &v)) {
			struct cni_err e2;

			if (!teardown(c, cid, ifn, &e2))
				n++;
			else
				fprintf(stderr, "sluice-cni: GC %s/%s: %s\n", cid, ifn, e2.details);
		}
		cJSON_Delete(rec);
	}
	if (dp)
		closedir(dp);
	/* Entries without a record (a crash between the map and the record). */
	epfd = cni_ep_map_open(c->pin_root, false);
	if (epfd >= 0) {
		ep_sweep(epfd, c->name, NULL, NULL, is_valid, &v);
		close(epfd);
	}
	/* IPAM plugins that speak 1.1.0 get the GC too. */
	err = ipam_run(c, "GC", NULL, NULL, &out, e);
	free(out);
	fprintf(stderr, "sluice-cni: GC removed %d attachment(s)\n", n);
	return err < 0 ? -1 : 0;
}

/* --- main ---------------------------------------------------------------- */

static int cmd_version(struct ctx *c)
{
	cJSON *j = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(j, "supportedVersions");
	size_t i;

	cJSON_AddStringToObject(j, "cniVersion", c->ver ? c->ver : "1.1.0");
	for (i = 0; i < NVERSIONS; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(versions[i]));
	print_json(j);
	cJSON_Delete(j);
	return 0;
}

int main(int argc, char **argv)
{
	struct ctx c = { .lock_fd = -1 };
	struct cni_err *e = &err_out;
	char *in = NULL;
	size_t len = 0;
	const char *v;
	int ret;

	c.cmd = getenv("CNI_COMMAND");
	if (!c.cmd || !*c.cmd) {
		fprintf(stderr, "sluice-cni: the sluice CNI plugin (CNI 0.3.0-1.1.0); "
				"run by a container runtime with CNI_COMMAND set (docs/cni.md)\n");
		cni_fail(e, CNI_E_ENV, "required env variables [CNI_COMMAND] missing", "%s", "");
		return emit_error(&c, e);
	}
	c.cid = getenv("CNI_CONTAINERID");
	c.netns = getenv("CNI_NETNS");
	c.ifname = getenv("CNI_IFNAME");
	parse_cni_args(&c);
	/* Delegated plugins must tolerate the args meant for us (libcni's
	 * IgnoreUnknown), as kubelet's runtimes always say. */
	{
		const char *a = getenv("CNI_ARGS");

		if (a && *a && !strstr(a, "IgnoreUnknown=")) {
			char *na;

			if (asprintf(&na, "IgnoreUnknown=1;%s", a) > 0)
				setenv("CNI_ARGS", na, 1);
		}
	}

	if (read_stdin(&in, &len, e))
		return emit_error(&c, e);
	if (!strcmp(c.cmd, "VERSION") && !len) {
		free(in);
		return cmd_version(&c);
	}
	if (json_depth(in, len) > CNI_JSON_DEPTH_MAX) {
		cni_fail(e, CNI_E_DECODE, "network config nested too deeply", "more than %d levels",
			 CNI_JSON_DEPTH_MAX);
		goto fail;
	}
	if (memchr(in, 0, len)) {
		cni_fail(e, CNI_E_DECODE, "network config contains NUL bytes", "%s", "");
		goto fail;
	}
	c.conf = cJSON_ParseWithLength(in, len);
	if (!cJSON_IsObject(c.conf)) {
		cni_fail(e, CNI_E_DECODE, "error parsing the network config", "stdin is not a JSON object");
		goto fail;
	}
	v = jstr(c.conf, "cniVersion");
	c.vnum = version_num(v);
	if (!strcmp(c.cmd, "VERSION")) {
		if (c.vnum) {
			snprintf(c.verbuf, sizeof(c.verbuf), "%s", v);
			c.ver = c.verbuf;
		}
		ret = cmd_version(&c);
		goto done;
	}
	if (!c.vnum) {
		cni_fail(e, CNI_E_VERSION, "incompatible CNI versions",
			 "config is \"%s\", plugin supports [0.3.0 0.3.1 0.4.0 1.0.0 1.1.0]", v ? v : "");
		goto fail;
	}
	snprintf(c.verbuf, sizeof(c.verbuf), "%s", v);
	c.ver = c.verbuf;
	if (!strcmp(c.cmd, "ADD"))
		ret = cmd_add(&c, e);
	else if (!strcmp(c.cmd, "DEL"))
		ret = cmd_del(&c, e);
	else if (!strcmp(c.cmd, "CHECK"))
		ret = cmd_check(&c, e);
	else if (!strcmp(c.cmd, "STATUS"))
		ret = cmd_status(&c, e);
	else if (!strcmp(c.cmd, "GC"))
		ret = cmd_gc(&c, e);
	else {
		cni_fail(e, CNI_E_ENV, "unknown CNI_COMMAND", "\"%.64s\"", c.cmd);
		ret = -1;
	}
	if (ret)
		goto fail;
done:
	cJSON_Delete(c.conf);
	free(in);
	return 0;
fail:
	cJSON_Delete(c.conf);
	free(in);
	return emit_error(&c, e);
}
