// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* ICMP through the NAT and the load balancer end to end, applied by the
 * real `sluice` in the router of a client -- router -- server rig:
 *  - nat (tc-egress/tc-ingress of the router's server side): a client's
 *    UDP datagram to a closed port of the server draws the server kernel's
 *    real port unreachable, sent to the NAT address; translated back, the
 *    client's kernel matches its quote to the client's connected socket,
 *    whose next recv() fails with ECONNREFUSED (it would time out were the
 *    quote left with the NAT's address or port); ping (echo, identifier as
 *    the port) works through the NAT;
 *  - lb (XDP on both router sides): the same for a UDP service whose
 *    backend port is closed: the client's socket connected to the VIP gets
 *    ECONNREFUSED. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <sys/socket.h>
#include "test_progs.h"
#include "netns.h"
#include "e2e_util.h"

#define NATIP "10.250.2.100"
#define VIP "10.250.9.10"
#define SRV NETNS_R_SERVER4

/* Send on a connected UDP socket and wait for what comes back: 0 for a
 * datagram, -ECONNREFUSED for an ICMP port unreachable, -ETIMEDOUT. */
static int udp_try(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char b[16] = "ping";

	if (send(fd, b, 4, 0) != 4)
		return -errno;
	if (poll(&p, 1, timeout_ms) <= 0)
		return -ETIMEDOUT;
	return recv(fd, b, sizeof(b), 0) < 0 ? -errno : 0;
}

static void nat(void)
{
	static const char spec[] =
		"{\"apiVersion\":\"sluice.dev/v1alpha1\",\"kind\":\"NetworkFunctionChain\","
		"\"metadata\":{\"name\":\"icn\"},\"spec\":{\"attach\":["
		"{\"interface\":\"out\",\"hook\":\"tc-egress\"},{\"interface\":\"out\",\"hook\":\"tc-ingress\"}],"
		"\"functions\":[{\"name\":\"snat\",\"type\":\"nat\",\"address\":\"" NATIP "\","
		"\"ports\":\"20000-20099\",\"sources\":[\"10.250.1.0/24\"]}]}}\n";
	struct e2e_rig r;
	int fd = -1, sent = 0, rcvd = 0, err;

	err = e2e_rig_routed(&r);
	if (!err)
		err = netns_run(r.router, "ip addr add " NATIP "/32 dev out");
	if (!ASSERT_OK(err, "rig") || !ASSERT_EQ(e2e_apply(&r, "icn.json", spec), 0, "apply"))
		goto out;
	fd = e2e_udp_connect(r.client, SRV, 7999);
	if (!ASSERT_GE(fd, 0, "client socket"))
		goto out;
	ASSERT_EQ(udp_try(fd, 2000), -ECONNREFUSED,
		  "the server's port unreachable reaches the client's socket");
	ASSERT_OK(e2e_ping(r.client, SRV, 3, 100, 1000, &sent, &rcvd), "ping");
	ASSERT_EQ(rcvd, 3, "echo through the NAT");
out:
	if (fd >= 0)
		close(fd);
	netns_cleanup_all();
}

static void lb(void)
{
	static const char spec[] =
		"{\"apiVersion\":\"sluice.dev/v1alpha1\",\"kind\":\"NetworkFunctionChain\","
		"\"metadata\":{\"name\":\"icl\"},\"spec\":{\"attach\":["
		"{\"interface\":\"in\",\"hook\":\"xdp\"},{\"interface\":\"out\",\"hook\":\"xdp\"}],"
		"\"functions\":[{\"name\":\"lb\",\"type\":\"loadbalancer\",\"services\":["
		"{\"name\":\"closed\",\"vip\":\"" VIP "\",\"port\":7001,\"proto\":\"udp\","
		"\"backends\":[{\"ip\":\"" SRV "\",\"port\":7999}]}]}]}}\n";
	struct e2e_rig r;
	int fd = -1;

	if (!ASSERT_OK(e2e_rig_routed(&r), "rig") ||
	    !ASSERT_EQ(e2e_apply(&r, "icl.json", spec), 0, "apply"))
		goto out;
	fd = e2e_udp_connect(r.client, VIP, 7001);
	if (!ASSERT_GE(fd, 0, "client socket"))
		goto out;
	ASSERT_EQ(udp_try(fd, 2000), -ECONNREFUSED,
		  "the backend's port unreachable reaches the client's socket (as the VIP's)");
out:
	if (fd >= 0)
		close(fd);
	netns_cleanup_all();
}

void test_lbnat_icmp_e2e(void)
{
	if (test__start_subtest("nat"))
		nat();
	if (test__start_subtest("lb"))
		lb();
}
