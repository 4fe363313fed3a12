// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"

static void link_pin_name(char *out, size_t len, const struct spec_attach *a)
{
	snprintf(out, len, "link_%s_%s", a->ifname, spec_hook_str(a->hook));
}

int attach_check(const struct spec *s, struct sl_errs *errs)
{
	size_t i, before = errs->n;
	char path[64];

	for (i = 0; i < s->nattach; i++) {
		const struct spec_attach *a = &s->attach[i];

		snprintf(path, sizeof(path), "spec.attach[%zu]", i);
		if (!if_nametoindex(a->ifname)) {
			char p2[80];

			snprintf(p2, sizeof(p2), "%s.interface", path);
			errs_add(errs, p2, "interface \"%s\" does not exist in this network namespace",
				 a->ifname);
		}
		if (a->hook != SPEC_HOOK_XDP) {
			char p2[80];

			snprintf(p2, sizeof(p2), "%s.hook", path);
			errs_add(errs, p2, "hook \"%s\" is not supported yet; supported: xdp",
				 spec_hook_str(a->hook));
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

static bool wanted(const struct spec *s, const char *pin_name)
{
	char name[64];
	size_t i;

	for (i = 0; i < s->nattach; i++) {
		link_pin_name(name, sizeof(name), &s->attach[i]);
		if (!strcmp(name, pin_name))
			return true;
	}
	return false;
}

void attach_unpin(const char *pin_dir, char **names, size_t n)
{
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, names[i]);
		unlink(path);
	}
}

int attach_reconcile(const char *pin_dir, int entry_fd, const struct spec *s,
		     char ***addedp, size_t *naddedp, struct sl_errs *errs)
{
	char **added = calloc(s->nattach + 1, sizeof(char *));
	size_t nadded = 0, i;
	struct dirent *de;
	int err = 0;
	DIR *d;

	if (!added)
		return -ENOMEM;
	for (i = 0; i < s->nattach; i++) {
		const struct spec_attach *a = &s->attach[i];
		char name[64], path[PATH_MAX];
		int fd, link_fd = -1;

		link_pin_name(name, sizeof(name), a);
		fd = pin_get(pin_dir, name);
		if (fd >= 0) {
			/* Already attached: adopted as it is. */
			close(fd);
			continue;
		}
		err = xdp_attach(entry_fd, a, &link_fd);
		if (err) {
			snprintf(path, sizeof(path), "spec.attach[%zu]", i);
			errs_add(errs, path, "cannot attach XDP (%s mode) to %s: %s%s",
				 spec_xdp_mode_str(a->mode), a->ifname, strerror(-err),
				 err == -EBUSY || err == -EEXIST ?
				 " (another XDP program is attached)" : "");
			goto undo;
		}
		err = pin_fd(link_fd, pin_dir, name);
		close(link_fd);
		if (err) {
			errs_add(errs, NULL, "cannot pin link %s/%s: %s", pin_dir, name,
				 strerror(-err));
			goto undo;
		}
		added[nadded++] = strdup(name);
	}
	/* Only now remove links the spec no longer names. */
	d = opendir(pin_dir);
	if (d) {
		while ((de = readdir(d))) {
			char path[PATH_MAX];

			if (strncmp(de->d_name, "link_", 5) || wanted(s, de->d_name))
				continue;
			snprintf(path, sizeof(path), "%s/%s", pin_dir, de->d_name);
			unlink(path);
		}
		closedir(d);
	}
	*addedp = added;
	*naddedp = nadded;
	return 0;
undo:
	attach_unpin(pin_dir, added, nadded);
	for (i = 0; i < nadded; i++)
		free(added[i]);
	free(added);
	*addedp = NULL;
	*naddedp = 0;
	return err;
}

int attach_list(const char *pin_dir, struct attach_info **out, size_t *n)
{
	struct attach_info *v = NULL, *nv;
	size_t cnt = 0;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	*n = 0;
	d = opendir(pin_dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		struct bpf_link_info info = {};
		uint32_t len = sizeof(info);
		struct attach_info *ai;
		char *us;
		int fd;

		if (strncmp(de->d_name, "link_", 5))
			continue;
		nv = realloc(v, (cnt + 1) * sizeof(*v));
		if (!nv)
			break;
		v = nv;
		ai = &v[cnt++];
		memset(ai, 0, sizeof(*ai));
		snprintf(ai->pin_name, sizeof(ai->pin_name), "%s", de->d_name);
		snprintf(ai->ifname, sizeof(ai->ifname), "%s", de->d_name + 5);
		us = strrchr(ai->ifname, '_');
		if (us) {
			snprintf(ai->hook, sizeof(ai->hook), "%s", us + 1);
			*us = '\0';
		}
		fd = pin_get(pin_dir, de->d_name);
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
	closedir(d);
	*out = v;
	*n = cnt;
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
