// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sluice-cni's rtnetlink: veth pairs, addresses, routes (libmnl). */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include "cni.h"

struct mnl_socket *cnl_open(void)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);

	if (!nl)
		return NULL;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = errno;

		mnl_socket_close(nl);
		errno = err;
		return NULL;
	}
	return nl;
}

void cnl_close(struct mnl_socket *nl)
{
	if (nl)
		mnl_socket_close(nl);
}

/* Send one request and read until its ACK (or the end of a dump); cb sees
 * every data message. Returns 0 or -errno. */
static int talk(struct mnl_socket *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned int portid = mnl_socket_get_portid(nl);
	uint32_t seq = (uint32_t)time(NULL) ^ (uint32_t)getpid() ^ (uint32_t)(uintptr_t)nlh;
	int ret;

	nlh->nlmsg_seq = seq;
	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ret = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (ret < 0)
			return -errno;
		ret = mnl_cb_run(buf, ret, seq, portid, cb, data);
		if (ret < 0)
			return -errno;
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

static struct nlmsghdr *req(char *buf, int type, int flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	return nlh;
}

int cnl_veth_create(struct mnl_socket *nl, const char *host, const char *peer, int peer_nsfd,
		    int mtu)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = req(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	struct nlattr *linfo, *data, *pinfo;
	struct ifinfomsg *pifm;

	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, host);
	if (mtu > 0)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	linfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	pinfo = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	pifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifm));
	memset(pifm, 0, sizeof(*pifm));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	if (mtu > 0)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, peer_nsfd);
	mnl_attr_nest_end(nlh, pinfo);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, linfo);
	return talk(nl, nlh, NULL, NULL);
}

struct link_ans {
	int ifindex;
	uint8_t *mac;
};

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_ans *a = data;
	struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	struct nlattr *attr;

	a->ifindex = ifm->ifi_index;
	mnl_attr_for_each(attr, nlh, sizeof(*ifm)) {
		if (mnl_attr_get_type(attr) == IFLA_ADDRESS && a->mac &&
		    mnl_attr_get_payload_len(attr) == 6)
			memcpy(a->mac, mnl_attr_get_payload(attr), 6);
	}
	return MNL_CB_OK;
}

int cnl_link_get(struct mnl_socket *nl, const char *name, int *ifindex, uint8_t mac[6])
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = req(buf, RTM_GETLINK, 0);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	struct link_ans a = { 0, mac };
	int err;

	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	err = talk(nl, nlh, link_cb, &a);
	if (err)
		return err;
	if (!a.ifindex)
		return -ENODEV;
	*ifindex = a.ifindex;
	return 0;
}

int cnl_link_up(struct mnl_socket *nl, int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = req(buf, RTM_NEWLINK, 0);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));

	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	ifm->ifi_flags = IFF_UP;
	ifm->ifi_change = IFF_UP;
	return talk(nl, nlh, NULL, NULL);
}

int cnl_link_del(struct mnl_socket *nl, int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = req(buf, RTM_DELLINK, 0);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));

	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	return talk(nl, nlh, NULL, NULL);
}

static int alen(int family)
{
	return family == AF_INET ? 4 : 16;
}

int cnl_addr_add(struct mnl_socket *nl, int ifindex, int family, const uint8_t *addr, int plen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = req(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));

	ifa->ifa_family = family;
	ifa->ifa_prefixlen = plen;
	ifa->ifa_index = ifindex;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	if (family == AF_INET6)
		ifa->ifa_flags = IFA_F_NODAD;
	mnl_attr_put(nlh, IFA_LOCAL, alen(family), addr);
	mnl_attr_put(nlh, IFA_ADDRESS, alen(family), addr);
	return talk(nl, nlh, NULL, NULL);
}

struct addr_q {
	int ifindex, family;
	const uint8_t *addr;
	bool found;
};

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct addr_q *q = data;
	struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct nlattr *attr;

	if ((int)ifa->ifa_index != q->ifindex || ifa->ifa_family != q->family)
		return MNL_CB_OK;
	mnl_attr_for_each(attr, nlh, sizeof(*ifa)) {
		int t = mnl_attr_get_type(attr);

		if ((t == IFA_LOCAL || t == IFA_ADDRESS) &&
		    mnl_attr_get_payload_len(attr) == (unsigned)alen(q->family) &&
		    !memcmp(mnl_attr_get_payload(attr), q->addr, alen(q->family)))
			q->found = true;
	}
	return MNL_CB_OK;
}

int cnl_addr_has(struct mnl_socket *nl, int ifindex, int family, const uint8_t *addr)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = req(buf, RTM_GETADDR, NLM_F_DUMP);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	struct addr_q q = { ifindex, family, addr, false };
	int err;

	ifa->ifa_family = family;
	err = talk(nl, nlh, addr_cb, &q);
	return err ? err : q.found;
}

int cnl_route_add(struct mnl_socket *nl, int family, const uint8_t *dst, int plen,
		  const uint8_t *gw, int ifindex, bool link_scope)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = req(buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	rtm->rtm_family = family;
	rtm->rtm_dst_len = plen;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = link_scope ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	if (plen)
		mnl_attr_put(nlh, RTA_DST, alen(family), dst);
	if (gw) {
		/* The gateway is on-link through this interface (its /32 route
		 * may sit on another attachment in the same netns). */
		rtm->rtm_flags |= RTNH_F_ONLINK;
		mnl_attr_put(nlh, RTA_GATEWAY, alen(family), gw);
	}
	mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
	return talk(nl, nlh, NULL, NULL);
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	int *oif = data;
	struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct nlattr *attr;

	mnl_attr_for_each(attr, nlh, sizeof(*rtm)) {
		if (mnl_attr_get_type(attr) == RTA_OIF)
			*oif = mnl_attr_get_u32(attr);
	}
	return MNL_CB_OK;
}

int cnl_route_oif(struct mnl_socket *nl, int family, const uint8_t *addr)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = req(buf, RTM_GETROUTE, 0);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	int oif = 0, err;

	rtm->rtm_family = family;
	rtm->rtm_dst_len = family == AF_INET ? 32 : 128;
	mnl_attr_put(nlh, RTA_DST, alen(family), addr);
	err = talk(nl, nlh, route_cb, &oif);
	return err ? err : oif;
}
