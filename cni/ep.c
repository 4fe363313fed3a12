// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The endpoints map: one entry per pod address, pinned at
 * PIN_ROOT/cni/endpoints (0700 dir), a BPF HASH with BTF so that bpftool
 * map dump prints it by field. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "cni.h"
#include "pin.h"

static int field(struct btf *b, const char *name, int type, size_t off)
{
	return btf__add_field(b, name, type, off * 8, 0);
}

/* BTF for the key and value: returns the btf fd, ids in *kid, *vid. */
static int ep_btf(int *kid, int *vid)
{
	struct btf *b = btf__new_empty();
	int u8, u32, ch, a3, a6, a16, cid, c16, c64, c128, c256, fd;

	if (!b)
		return -ENOMEM;
	u8 = btf__add_int(b, "__u8", 1, 0);
	u32 = btf__add_int(b, "__u32", 4, 0);
	ch = btf__add_int(b, "char", 1, BTF_INT_SIGNED);
	a3 = btf__add_array(b, u32, u8, 3);
	a6 = btf__add_array(b, u32, u8, 6);
	a16 = btf__add_array(b, u32, u8, 16);
	c16 = btf__add_array(b, u32, ch, 16);
	c64 = btf__add_array(b, u32, ch, 64);
	c128 = btf__add_array(b, u32, ch, 128);
	c256 = btf__add_array(b, u32, ch, 256);
	*kid = btf__add_struct(b, "sl_cni_ep_key", sizeof(struct sl_cni_ep_key));
	field(b, "family", u8, offsetof(struct sl_cni_ep_key, family));
	field(b, "pad", a3, offsetof(struct sl_cni_ep_key, pad));
	field(b, "addr", a16, offsetof(struct sl_cni_ep_key, addr));
	*vid = cid = btf__add_struct(b, "sl_cni_ep", sizeof(struct sl_cni_ep));
	field(b, "ifindex", u32, offsetof(struct sl_cni_ep, ifindex));
	field(b, "pod_ifindex", u32, offsetof(struct sl_cni_ep, pod_ifindex));
	field(b, "container_id", c128, offsetof(struct sl_cni_ep, container_id));
	field(b, "ifname", c16, offsetof(struct sl_cni_ep, ifname));
	field(b, "netns", c128, offsetof(struct sl_cni_ep, netns));
	field(b, "pod_namespace", c64, offsetof(struct sl_cni_ep, pod_namespace));
	field(b, "pod_name", c256, offsetof(struct sl_cni_ep, pod_name));
	field(b, "network", c64, offsetof(struct sl_cni_ep, network));
	field(b, "chain", c64, offsetof(struct sl_cni_ep, chain));
	field(b, "mac", a6, offsetof(struct sl_cni_ep, mac));
	field(b, "pod_mac", a6, offsetof(struct sl_cni_ep, pod_mac));
	field(b, "pad", u32, offsetof(struct sl_cni_ep, pad));
	if (cid < 0 || btf__load_into_kernel(b)) {
		btf__free(b);
		return -EINVAL;
	}
	fd = dup(btf__fd(b));
	btf__free(b);
	return fd < 0 ? -errno : fd;
}

/* A map pinned by an older sluice-cni has a shorter value: refuse it
 * rather than read past its entries. */
static int ep_map_check(int fd)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.type != BPF_MAP_TYPE_HASH ||
	    info.key_size != sizeof(struct sl_cni_ep_key) ||
	    info.value_size != sizeof(struct sl_cni_ep) || info.max_entries != CNI_EP_MAX) {
		close(fd);
		return -EPROTO;
	}
	return fd;
}

int cni_ep_map_open(const char *pin_root, bool create)
{
	char dir[PATH_MAX];
	int fd, btf_fd, kid, vid, err;
	LIBBPF_OPTS(bpf_map_create_opts, o);

	if (snprintf(dir, sizeof(dir), "%s/cni", pin_root) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	fd = pin_get(dir, "endpoints");
	if (fd >= 0)
		return ep_map_check(fd);
	if (!create || fd != -ENOENT)
		return fd;
	err = mkdir_p(dir);
	if (err)
		return err;
	btf_fd = ep_btf(&kid, &vid);
	if (btf_fd < 0)
		return btf_fd;
	o.btf_fd = btf_fd;
	o.btf_key_type_id = kid;
	o.btf_value_type_id = vid;
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "sl_cni_eps", sizeof(struct sl_cni_ep_key),
			    sizeof(struct sl_cni_ep), CNI_EP_MAX, &o);
	err = fd < 0 ? -errno : 0;
	close(btf_fd);
	if (err)
		return err;
	err = pin_fd(fd, dir, "endpoints");
	if (err == -EEXIST) {
		/* Another ADD pinned it first: use theirs. */
		close(fd);
		return pin_get(dir, "endpoints");
	}
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}
