// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include "nl.h"

struct xdp_state {
	uint8_t attached;
	uint32_t prog_id;
};

static int xdp_attr_cb(const struct nlattr *attr, void *data)
{
	struct xdp_state *st = data;

	switch (mnl_attr_get_type(attr)) {
	case IFLA_XDP_ATTACHED:
		if (mnl_attr_validate(attr, MNL_TYPE_U8) >= 0)
			st->attached = mnl_attr_get_u8(attr);
		break;
	case IFLA_XDP_PROG_ID:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
			st->prog_id = mnl_attr_get_u32(attr);
		break;
	}
	return MNL_CB_OK;
}

static int link_attr_cb(const struct nlattr *attr, void *data)
{
	if (mnl_attr_get_type(attr) == IFLA_XDP &&
	    mnl_attr_validate(attr, MNL_TYPE_NESTED) >= 0)
		mnl_attr_parse_nested(attr, xdp_attr_cb, data);
	return MNL_CB_OK;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct ifinfomsg), link_attr_cb, data);
}

int nl_xdp_query(int ifindex, uint8_t *attached, uint32_t *prog_id)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct xdp_state st = {};
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;
	unsigned int seq, portid;
	int ret, err = 0;

	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq = (unsigned int)time(NULL);
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		err = -errno;
		goto out;
	}
	ret = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (ret < 0) {
		err = -errno;
		goto out;
	}
	ret = mnl_cb_run(buf, ret, seq, portid, link_cb, &st);
	if (ret < 0)
		err = -errno;
	*attached = st.attached;
	*prog_id = st.prog_id;
out:
	mnl_socket_close(nl);
	return err;
}

const char *nl_xdp_mode_str(uint8_t attached)
{
	switch (attached) {
	case XDP_ATTACHED_NONE: return "none";
	case XDP_ATTACHED_DRV: return "native";
	case XDP_ATTACHED_SKB: return "generic";
	case XDP_ATTACHED_HW: return "offload";
	case XDP_ATTACHED_MULTI: return "multi";
	default: return "unknown";
	}
}
