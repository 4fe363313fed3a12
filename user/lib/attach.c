// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Attach points.
 *
 * XDP: a bpf_link pinned as PIN/<chain>/link_<ifname>_<hook>; it outlives
 * sluice and the agent, and unpinning it detaches.
 * TC: a cls_bpf filter (netlink; Debian 12's libbpf and 6.1 have no tcx
 * links) at sluice's handle and priority on the clsact hook, recorded as
 * STATE/<chain>/tc/<ifname>_<hook>. The kernel holds the filter, so it
 * outlives sluice too; the record says which filters are the chain's.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"

#define TC_REC_PREFIX "tc:"

static bool hook_is_tc(enum spec_hook h)
{
	return h == SPEC_HOOK_TC_INGRESS || h == SPEC_HOOK_TC_EGRESS;
}

bool attach_spec_is_tc(const struct spec *s)
{
	return s->nattach && hook_is_tc(s->attach[0].hook);
}

/* link_<ifname>_<hook> for XDP, tc:<ifname>_<hook> for TC */
static void attach_name(char *out, size_t len, const struct spec_attach *a)
{
	snprintf(out, len, "%s%s_%s", hook_is_tc(a->hook) ? TC_REC_PREFIX : "link_",
		 a->ifname, spec_hook_str(a->hook));
}

int attach_check(const struct spec *s, struct sl_errs *errs)
{
	size_t i, before = errs->n;
	char path[80];

	for (i = 0; i < s->nattach; i++) {
		const struct spec_attach *a = &s->attach[i];

		if (!if_nametoindex(a->ifname)) {
			snprintf(path, sizeof(path), "spec.attach[%zu].interface", i);
			errs_add(errs, path, "interface \"%s\" does not exist in this network namespace",
				 a->ifname);
		}
		if (hook_is_tc(a->hook) != hook_is_tc(s->attach[0].hook)) {
			snprintf(path, sizeof(path), "spec.attach[%zu].hook", i);
			errs_add(errs, path, "a chain runs at XDP or at TC, not both: spec.attach[0] "
				 "is %s; put the %s attach points in a chain of their own",
				 spec_hook_str(s->attach[0].hook), spec_hook_str(a->hook));
		}
	}
	return errs->n > before ? -EINVAL : 0;
}

static int xdp_attach(int entry_fd, const struct spec_attach *a, int *link_fd)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts);
	int ifindex = if_nametoindex(a->ifname);
	int fd;

	if (!ifindex)
		return -ENODEV;
	opts.flags = a->mode == SPEC_XDP_GENERIC ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	fd = bpf_link_create(entry_fd, ifindex, BPF_XDP, &opts);
	if (fd < 0)
		return -errno;
	*link_fd = fd;
	return 0;
}

/* TC filters -------------------------------------------------------------
 *
 * One cls_bpf filter on a clsact hook, named by (ifindex, direction,
 * handle, priority): sluice's chains (SL_TC_*) and sluice-cni's pod
 * datapath (POD_TC_* in shared/cni.h) each own one handle. Netlink, not
 * tcx: Debian 12's libbpf and 6.1 have no tcx links. */

/* Query the filter's program into *prog_id, or (detach) delete the filter.
 * libbpf prints the kernel's extended ack as a warning ("Filter with
 * specified priority/protocol not found"), and for these two calls a
 * missing filter is an expected answer: its printer is muted for the
 * call, and the error is returned. */
static int tc_filter_quiet(int ifindex, bool egress, uint32_t handle, uint32_t prio, bool detach,
			   uint32_t *prog_id)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = prio);
	libbpf_print_fn_t old;
	int err;

	old = libbpf_set_print(NULL);
	err = detach ? bpf_tc_detach(&hook, &opts) : bpf_tc_query(&hook, &opts);
	libbpf_set_print(old);
	if (!err && prog_id)
		*prog_id = opts.prog_id;
	return err;
}

uint32_t attach_tc_query(int ifindex, bool egress, uint32_t handle, uint32_t prio)
{
	uint32_t id = 0;

	/* Any error reads as none: an empty hook answers ENOENT, a missing
	 * qdisc or device EINVAL or ENODEV, and a filter that cannot be read
	 * cannot be shown to hold anyone's program. */
	if (tc_filter_quiet(ifindex, egress, handle, prio, false, &id))
		return 0;
	return id;
}

bool attach_prog_named(uint32_t id, const char *name)
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);
	bool yes;
	int fd;

	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return false;
	yes = !bpf_obj_get_info_by_fd(fd, &info, &len) && !strcmp(info.name, name);
	close(fd);
	return yes;
}

int attach_tc_replace(int ifindex, bool egress, uint32_t handle, uint32_t prio, int prog_fd,
		      const char *owner)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = prio, .prog_fd = prog_fd);
	libbpf_print_fn_t old;
	uint32_t cur;
	int err;

	/* The clsact qdisc is the device's, shared with every other filter:
	 * created when missing; one already there is fine (EEXIST, which
	 * libbpf would print). */
	old = libbpf_set_print(NULL);
	err = bpf_tc_hook_create(&hook);
	libbpf_set_print(old);
	if (err && err != -EEXIST)
		return err;
	/* A handle is ours by convention only: the program there may be
	 * someone else's, and taking it would silently drop their policy. */
	cur = attach_tc_query(ifindex, egress, handle, prio);
	if (cur && owner && !attach_prog_named(cur, owner))
		return -EBUSY;
	/* Replace (one netlink operation: no window without a program) only
	 * what was seen; on a free handle the create is exclusive, so that a
	 * filter another attacher put there meanwhile fails with EEXIST
	 * instead of being replaced unchecked. */
	opts.flags = cur ? BPF_TC_F_REPLACE : 0;
	return bpf_tc_attach(&hook, &opts);
}

int attach_tc_delete(int ifindex, bool egress, uint32_t handle, uint32_t prio)
{
	int err;

	err = tc_filter_quiet(ifindex, egress, handle, prio, true, NULL);
	/* Already detached: no filter (ENOENT), no clsact qdisc (EINVAL), or
	 * the device went and took its filters along (ENODEV). */
	if (err == -ENOENT || err == -EINVAL || err == -ENODEV)
		return 0;
	return err;
}

/* Records: STATE/<chain>/tc/<ifname>_<hook>, holding the ifindex. */
static int tc_rec_path(const struct chain_paths *p, const char *name, char *out)
{
	return snprintf(out, PATH_MAX, "%s/tc/%s", p->state, name) >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static int tc_rec_write(const struct chain_paths *p, const char *name, int ifindex)
{
	char path[PATH_MAX], dir[PATH_MAX], buf[16];
	int err;

	snprintf(dir, sizeof(dir), "%s/tc", p->state);
	err = mkdir_p(dir) ?: tc_rec_path(p, name, path);
	if (err)
		return err;
	snprintf(buf, sizeof(buf), "%d\n", ifindex);
	return file_write_atomic(path, buf, strlen(buf));
}

static int tc_rec_ifindex(const struct chain_paths *p, const char *name)
{
	char path[PATH_MAX], *buf;
	int ifindex;

	if (tc_rec_path(p, name, path) || file_read(path, &buf, NULL, 64))
		return 0;
	ifindex = atoi(buf);
	free(buf);
	return ifindex;
}

static bool name_is_egress(const char *name)
{
	size_t n = strlen(name), e = strlen("tc-egress");

	return n > e && !strcmp(name + n - e, "tc-egress");
}

/* Detach and forget one TC record (name without the tc: prefix). */
static void tc_rec_remove(const struct chain_paths *p, const char *name)
{
	char path[PATH_MAX];
	int ifindex = tc_rec_ifindex(p, name);

	if (ifindex)
		attach_tc_delete(ifindex, name_is_egress(name), SL_TC_HANDLE, SL_TC_PRIO);
	if (!tc_rec_path(p, name, path))
		unlink(path);
}

/* Both kinds ------------------------------------------------------------ */

static bool wanted(const struct spec *s, const char *name)
{
	char want[64];
	size_t i;

	for (i = 0; i < s->nattach; i++) {
		attach_name(want, sizeof(want), &s->attach[i]);
		if (!strcmp(want, name))
			return true;
	}
	return false;
}

void attach_unpin(const struct chain_paths *p, char **names, size_t n)
{
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < n; i++) {
		if (!strncmp(names[i], TC_REC_PREFIX, strlen(TC_REC_PREFIX))) {
			tc_rec_remove(p, names[i] + strlen(TC_REC_PREFIX));
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", p->pin, names[i]);
		unlink(path);
	}
}

/* Names of the chain's current attach points: link pins and TC records. */
static int current_names(const struct chain_paths *p, char ***out, size_t *n)
{
	const char *dirs[2] = { p->pin, NULL };
	char tcdir[PATH_MAX], **v = NULL, **nv;
	struct dirent *de;
	size_t cnt = 0;
	int k;
	DIR *d;

	snprintf(tcdir, sizeof(tcdir), "%s/tc", p->state);
	dirs[1] = tcdir;
	for (k = 0; k < 2; k++) {
		d = opendir(dirs[k]);
		if (!d)
			continue;
		while ((de = readdir(d))) {
			char name[300];

			if (k == 0 && strncmp(de->d_name, "link_", 5))
				continue;
			if (k == 1 && (de->d_name[0] == '.' || strstr(de->d_name, ".tmp.")))
				continue;
			snprintf(name, sizeof(name), "%s%s", k ? TC_REC_PREFIX : "", de->d_name);
			nv = realloc(v, (cnt + 1) * sizeof(*v));
			if (!nv)
				break;
			v = nv;
			v[cnt++] = strdup(name);
		}
		closedir(d);
	}
	*out = v;
	*n = cnt;
	return 0;
}

static void free_names(char **v, size_t n)
{
	while (n--)
		free(v[n]);
	free(v);
}

int attach_reconcile(const struct chain_paths *p, int entry_fd, const struct spec *s,
		     char ***addedp, size_t *naddedp, struct sl_errs *errs)
{
	char **added = calloc(s->nattach + 1, sizeof(char *)), **cur = NULL;
	size_t nadded = 0, ncur = 0, i;
	int err = 0;

	if (!added)
		return -ENOMEM;
	for (i = 0; i < s->nattach; i++) {
		const struct spec_attach *a = &s->attach[i];
		char name[64], path[64];
		int fd, link_fd = -1, ifindex;

		attach_name(name, sizeof(name), a);
		snprintf(path, sizeof(path), "spec.attach[%zu]", i);
		ifindex = if_nametoindex(a->ifname);
		if (hook_is_tc(a->hook)) {
			const char *rec = name + strlen(TC_REC_PREFIX);
			bool egress = a->hook == SPEC_HOOK_TC_EGRESS;
			bool had = tc_rec_ifindex(p, rec) == ifindex && ifindex;
			struct bpf_prog_info info = {};
			uint32_t len = sizeof(info);

			/* Adopted as it is when our entry is there already. */
			if (had && !bpf_obj_get_info_by_fd(entry_fd, &info, &len) &&
			    attach_tc_query(ifindex, egress, SL_TC_HANDLE, SL_TC_PRIO) == info.id)
				continue;
			err = ifindex ? attach_tc_replace(ifindex, egress, SL_TC_HANDLE, SL_TC_PRIO,
							   entry_fd, SL_TC_PROG) : -ENODEV;
			if (!err)
				err = tc_rec_write(p, rec, ifindex);
			if (err) {
				errs_add(errs, path, "cannot attach TC (%s) to %s: %s%s",
					 spec_hook_str(a->hook), a->ifname, strerror(-err),
					 err == -EBUSY ? " (another program holds sluice's tc handle)" : "");
				goto undo;
			}
			if (!had)
				added[nadded++] = strdup(name);
			continue;
		}
		fd = pin_get(p->pin, name);
		if (fd >= 0) {
			/* Already attached: adopted as it is. */
			close(fd);
			continue;
		}
		err = xdp_attach(entry_fd, a, &link_fd);
		if (err) {
			errs_add(errs, path, "cannot attach XDP (%s mode) to %s: %s%s",
				 spec_xdp_mode_str(a->mode), a->ifname, strerror(-err),
				 err == -EBUSY || err == -EEXIST ?
				 " (another XDP program is attached)" : "");
			goto undo;
		}
		err = pin_fd(link_fd, p->pin, name);
		close(link_fd);
		if (err) {
			errs_add(errs, NULL, "cannot pin link %s/%s: %s", p->pin, name,
				 strerror(-err));
			goto undo;
		}
		added[nadded++] = strdup(name);
	}
	/* Only now remove what the spec no longer names. */
	current_names(p, &cur, &ncur);
	for (i = 0; i < ncur; i++)
		if (!wanted(s, cur[i]))
			attach_unpin(p, &cur[i], 1);
	free_names(cur, ncur);
	*addedp = added;
	*naddedp = nadded;
	return 0;
undo:
	attach_unpin(p, added, nadded);
	free_names(added, nadded);
	*addedp = NULL;
	*naddedp = 0;
	return err;
}

int attach_detach_all(const struct chain_paths *p)
{
	char **cur = NULL;
	size_t ncur = 0;

	current_names(p, &cur, &ncur);
	attach_unpin(p, cur, ncur);
	free_names(cur, ncur);
	return 0;
}

int attach_repoint_tc(const struct chain_paths *p, int entry_fd)
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);
	char **cur = NULL;
	size_t ncur = 0, i;
	int err = 0;

	if (bpf_obj_get_info_by_fd(entry_fd, &info, &len))
		return -errno;
	current_names(p, &cur, &ncur);
	for (i = 0; i < ncur && !err; i++) {
		const char *rec = cur[i] + strlen(TC_REC_PREFIX);
		bool egress;
		int ifindex;

		if (strncmp(cur[i], TC_REC_PREFIX, strlen(TC_REC_PREFIX)))
			continue;
		ifindex = tc_rec_ifindex(p, rec);
		egress = name_is_egress(rec);
		if (ifindex && attach_tc_query(ifindex, egress, SL_TC_HANDLE, SL_TC_PRIO) != info.id)
			err = attach_tc_replace(ifindex, egress, SL_TC_HANDLE, SL_TC_PRIO, entry_fd,
						SL_TC_PROG);
	}
	free_names(cur, ncur);
	return err;
}

int attach_list(const struct chain_paths *p, struct attach_info **out, size_t *n)
{
	struct attach_info *v = NULL;
	char **cur = NULL;
	size_t ncur = 0, i;

	*out = NULL;
	*n = 0;
	current_names(p, &cur, &ncur);
	v = calloc(ncur + 1, sizeof(*v));
	if (!v) {
		free_names(cur, ncur);
		return -ENOMEM;
	}
	for (i = 0; i < ncur; i++) {
		struct attach_info *ai = &v[i];
		bool tc = !strncmp(cur[i], TC_REC_PREFIX, strlen(TC_REC_PREFIX));
		const char *base = tc ? cur[i] + strlen(TC_REC_PREFIX) : cur[i] + 5;
		char split[64], *us;

		snprintf(ai->pin_name, sizeof(ai->pin_name), "%s", cur[i]);
		/* <ifname>_<hook>: the hook has no '_', the ifname may */
		snprintf(split, sizeof(split), "%s", base);
		us = strrchr(split, '_');
		if (us) {
			snprintf(ai->hook, sizeof(ai->hook), "%s", us + 1);
			*us = '\0';
		}
		snprintf(ai->ifname, sizeof(ai->ifname), "%s", split);
		if (tc) {
			ai->ifindex = tc_rec_ifindex(p, base);
			ai->prog_id = ai->ifindex ? attach_tc_query(ai->ifindex, name_is_egress(base),
								    SL_TC_HANDLE, SL_TC_PRIO) : 0;
			continue;
		}
		{
			struct bpf_link_info info = {};
			uint32_t len = sizeof(info);
			int fd = pin_get(p->pin, cur[i]);

			if (fd < 0)
				continue;
			if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
				ai->link_id = info.id;
				ai->prog_id = info.prog_id;
				if (info.type == BPF_LINK_TYPE_XDP)
					ai->ifindex = info.xdp.ifindex;
			}
			close(fd);
		}
	}
	free_names(cur, ncur);
	*out = v;
	*n = ncur;
	return 0;
}

cJSON *attach_to_json(const struct spec *s)
{
	cJSON *arr = cJSON_CreateArray(), *o;
	size_t i;

	for (i = 0; arr && i < s->nattach; i++) {
		o = cJSON_CreateObject();
		if (!o) {
			cJSON_Delete(arr);
			return NULL;
		}
		cJSON_AddStringToObject(o, "interface", s->attach[i].ifname);
		cJSON_AddStringToObject(o, "hook", spec_hook_str(s->attach[i].hook));
		if (s->attach[i].hook == SPEC_HOOK_XDP)
			cJSON_AddStringToObject(o, "mode", spec_xdp_mode_str(s->attach[i].mode));
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

int attach_from_json(const cJSON *arr, struct spec_attach **out, size_t *n)
{
	static const enum spec_hook hooks[] = {
		SPEC_HOOK_XDP, SPEC_HOOK_TC_INGRESS, SPEC_HOOK_TC_EGRESS,
	};
	struct spec_attach *v;
	const cJSON *o;
	size_t i = 0, k;

	v = calloc(cJSON_GetArraySize(arr) + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	cJSON_ArrayForEach(o, arr) {
		const cJSON *ifn = cJSON_GetObjectItemCaseSensitive(o, "interface");
		const cJSON *hook = cJSON_GetObjectItemCaseSensitive(o, "hook");
		const cJSON *mode = cJSON_GetObjectItemCaseSensitive(o, "mode");

		if (!cJSON_IsString(ifn) || !cJSON_IsString(hook) ||
		    strlen(ifn->valuestring) >= IF_NAMESIZE)
			goto bad;
		snprintf(v[i].ifname, sizeof(v[i].ifname), "%s", ifn->valuestring);
		for (k = 0; k < sizeof(hooks) / sizeof(hooks[0]); k++)
			if (!strcmp(hook->valuestring, spec_hook_str(hooks[k])))
				v[i].hook = hooks[k];
		if (!v[i].hook)
			goto bad;
		v[i].mode = cJSON_IsString(mode) &&
			    !strcmp(mode->valuestring, spec_xdp_mode_str(SPEC_XDP_GENERIC)) ?
			    SPEC_XDP_GENERIC : SPEC_XDP_NATIVE;
		i++;
	}
	*out = v;
	*n = i;
	return 0;
bad:
	free(v);
	return -EBADMSG;
}
