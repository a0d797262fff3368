/* SPDX-License-Identifier: MIT */
#include "net/net-link.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "net/net-netns.h"

/* Requests are small (a few attributes); answers to dumps come in pieces of at most this. */
#define NL_REQUEST_SIZE 4096
#define NL_RECEIVE_SIZE (32 * 1024)

struct net_nl {
	struct mnl_socket *sock;
	unsigned portid;
	unsigned seq;
	char buf[NL_RECEIVE_SIZE];
};

int net_nl_open(int netns_fd, struct net_nl **ret, struct error *err)
{
	int fd = net_netns_socket(netns_fd, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, err);
	if (fd < 0)
		return fd;
	struct mnl_socket *sock = mnl_socket_fdopen(fd);
	if (!sock) {
		int r = -errno;
		close(fd);
		return error_set(err, r, "open netlink socket: %s", strerror(-r));
	}
	if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int r = -errno;
		mnl_socket_close(sock);
		return error_set(err, r, "bind netlink socket: %s", strerror(-r));
	}
	struct net_nl *nl = xcalloc(1, sizeof(*nl));
	nl->sock = sock;
	nl->portid = mnl_socket_get_portid(sock);
	nl->seq = (unsigned)time(NULL);
	*ret = nl;
	return 0;
}

void net_nl_free(struct net_nl *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->sock);
	free(nl);
}

/*
 * Sends one request and runs cb on each message of the answer until the kernel's
 * acknowledgement (or the end of a dump). Returns 0 or the kernel's -errno.
 */
static int nl_talk(struct net_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++nl->seq;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		int r = mnl_cb_run(nl->buf, (size_t)n, nlh->nlmsg_seq, nl->portid, cb, data);
		if (r == MNL_CB_ERROR)
			return errno > 0 ? -errno : -EIO;
		if (r == MNL_CB_STOP)
			return 0;
	}
}

static struct nlmsghdr *put_header(char *req, uint16_t type, uint16_t flags)
{
	memset(req, 0, NL_REQUEST_SIZE);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	return nlh;
}

/* Copies a string attribute into a fixed-size buffer, truncating. */
static void copy_str(char *dst, size_t size, const struct nlattr *a)
{
	snprintf(dst, size, "%.*s", (int)mnl_attr_get_payload_len(a), (const char *)mnl_attr_get_payload(a));
}

/* ---- links ---- */

struct attrs {
	const struct nlattr *tb[IFLA_MAX + 1 > IFA_MAX + 1 ? IFLA_MAX + 1 : IFA_MAX + 1];
	int max;
};

static int attr_cb(const struct nlattr *attr, void *data)
{
	struct attrs *a = data;
	int type = mnl_attr_get_type(attr);
	if (type <= a->max)
		a->tb[type] = attr;
	return MNL_CB_OK;
}

static void link_from_msg(const struct nlmsghdr *nlh, struct net_link *ret)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct attrs a = { .max = IFLA_MAX };
	memset(ret, 0, sizeof(*ret));
	ret->ifindex = ifi->ifi_index;
	ret->flags = ifi->ifi_flags;
	if (mnl_attr_parse(nlh, sizeof(*ifi), attr_cb, &a) < 0)
		return;
	if (a.tb[IFLA_IFNAME])
		copy_str(ret->name, sizeof(ret->name), a.tb[IFLA_IFNAME]);
	if (a.tb[IFLA_IFALIAS])
		copy_str(ret->alias, sizeof(ret->alias), a.tb[IFLA_IFALIAS]);
	if (a.tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(a.tb[IFLA_ADDRESS]) == sizeof(ret->mac))
		memcpy(ret->mac, mnl_attr_get_payload(a.tb[IFLA_ADDRESS]), sizeof(ret->mac));
	if (a.tb[IFLA_MASTER] && mnl_attr_validate(a.tb[IFLA_MASTER], MNL_TYPE_U32) == 0)
		ret->master = (int)mnl_attr_get_u32(a.tb[IFLA_MASTER]);
	if (a.tb[IFLA_LINKINFO]) {
		struct attrs info = { .max = IFLA_INFO_MAX };
		if (mnl_attr_parse_nested(a.tb[IFLA_LINKINFO], attr_cb, &info) >= 0 && info.tb[IFLA_INFO_KIND])
			copy_str(ret->kind, sizeof(ret->kind), info.tb[IFLA_INFO_KIND]);
	}
}

struct link_collect {
	const char *prefix;
	struct net_link *links;
	size_t n;
};

static int link_collect_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_collect *c = data;
	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	struct net_link link;
	link_from_msg(nlh, &link);
	if (c->prefix && strncmp(link.name, c->prefix, strlen(c->prefix)) != 0)
		return MNL_CB_OK;
	c->links = xrealloc(c->links, (c->n + 1) * sizeof(*c->links));
	c->links[c->n++] = link;
	return MNL_CB_OK;
}

int net_link_get(struct net_nl *nl, const char *name, struct net_link *ret, struct error *err)
{
	_Alignas(struct nlmsghdr) char req[NL_REQUEST_SIZE];
	struct nlmsghdr *nlh = put_header(req, RTM_GETLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);

	struct link_collect c = { 0 };
	int r = nl_talk(nl, nlh, link_collect_cb, &c);
	if (r == 0 && c.n != 1)
		r = -ENODEV;
	if (r == 0)
		*ret = c.links[0];
	free(c.links);
	if (r == -ENODEV)
		return error_set(err, r, "link '%s' does not exist", name);
	if (r < 0)
		return error_set(err, r, "look up link '%s': %s", name, strerror(-r));
	return 0;
}

int net_link_list(struct net_nl *nl, const char *prefix, struct net_link **ret, size_t *ret_n,
		  struct error *err)
{
	_Alignas(struct nlmsghdr) char req[NL_REQUEST_SIZE];
	struct nlmsghdr *nlh = put_header(req, RTM_GETLINK, NLM_F_DUMP);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;

	struct link_collect c = { .prefix = prefix };
	int r = nl_talk(nl, nlh, link_collect_cb, &c);
	if (r < 0) {
		free(c.links);
		return error_set(err, r, "list links: %s", strerror(-r));
	}
	*ret = c.links;
	*ret_n = c.n;
	return 0;
}

static int link_ack(struct net_nl *nl, struct nlmsghdr *nlh, const char *verb, const char *name,
		    struct error *err)
{
	int r = nl_talk(nl, nlh, NULL, NULL);
	if (r < 0)
		return error_set(err, r, "%s link '%s': %s", verb, name, strerror(-r));
	return 0;
}

int net_link_add_bridge(struct net_nl *nl, const char *name, const uint8_t mac[6], struct error *err)
{
	_Alignas(struct nlmsghdr) char req[NL_REQUEST_SIZE];
	struct nlmsghdr *nlh = put_header(req, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	struct nlattr *linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(nlh, linkinfo);
	return link_ack(nl, nlh, "create", name, err);
}

int net_link_add_veth(struct net_nl *nl, const char *name, const char *peer, int peer_netns_fd,
		      struct error *err)
{
	_Alignas(struct nlmsghdr) char req[NL_REQUEST_SIZE];
	struct nlmsghdr *nlh = put_header(req, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	struct nlattr *linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	/* The peer is described by an ifinfomsg of its own followed by its attributes. */
	struct nlattr *peer_info = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	struct ifinfomsg *peer_ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*peer_ifi));
	peer_ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	if (peer_netns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
	mnl_attr_nest_end(nlh, peer_info);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, linkinfo);

	int r = nl_talk(nl, nlh, NULL, NULL);
	if (r < 0)
		return error_set(err, r, "create link '%s' (peer '%s'): %s", name, peer, strerror(-r));
	return 0;
}

int net_link_del(struct net_nl *nl, const char *name, struct error *err)
{
	_Alignas(struct nlmsghdr) char req[NL_REQUEST_SIZE];
	struct nlmsghdr *nlh = put_header(req, RTM_DELLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	int r = nl_talk(nl, nlh, NULL, NULL);
	if (r < 0 && r != -ENODEV)
		return error_set(err, r, "delete link '%s': %s", name, strerror(-r));
	return 0;
}

/* Starts an RTM_NEWLINK that changes the existing link. */
static struct nlmsghdr *put_link_change(char *req, const struct net_link *link, struct ifinfomsg **ret_ifi)
{
	struct nlmsghdr *nlh = put_header(req, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = link->ifindex;
	if (ret_ifi)
		*ret_ifi = ifi;
	return nlh;
}

int net_link_set_up(struct net_nl *nl, const struct net_link *link, struct error *err)
{
	_Alignas(struct nlmsghdr) char req[NL_REQUEST_SIZE];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = put_link_change(req, link, &ifi);
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	return link_ack(nl, nlh, "bring up", link->name, err);
}

int net_link_set_master(struct net_nl *nl, const struct net_link *link, int master, struct error *err)
{
	_Alignas(struct nlmsghdr) char req[NL_REQUEST_SIZE];
	struct nlmsghdr *nlh = put_link_change(req, link, NULL);
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
	return link_ack(nl, nlh, "attach to bridge", link->name, err);
}

int net_link_set_mac(struct net_nl *nl, const struct net_link *link, const uint8_t mac[6], struct error *err)
{
	if (memcmp(link->mac, mac, sizeof(link->mac)) == 0)
		return 0;
	_Alignas(struct nlmsghdr) char req[NL_REQUEST_SIZE];
	struct nlmsghdr *nlh = put_link_change(req, link, NULL);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	return link_ack(nl, nlh, "set the MAC address of", link->name, err);
}

int net_link_set_alias(struct net_nl *nl, const struct net_link *link, const char *alias, struct error *err)
{
	_Alignas(struct nlmsghdr) char req[NL_REQUEST_SIZE];
	struct nlmsghdr *nlh = put_link_change(req, link, NULL);
	size_t len = strnlen(alias, NET_LINK_ALIAS_MAX - 1);
	mnl_attr_put(nlh, IFLA_IFALIAS, len, alias);
	return link_ack(nl, nlh, "set alias of", link->name, err);
}

/* ---- addresses ---- */

struct addr_collect {
	int ifindex;
	struct net_addr4 *addrs;
	size_t n;
};

static int addr_collect_cb(const struct nlmsghdr *nlh, void *data)
{
	struct addr_collect *c = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	if (nlh->nlmsg_type != RTM_NEWADDR || ifa->ifa_family != AF_INET || (int)ifa->ifa_index != c->ifindex)
		return MNL_CB_OK;
	struct attrs a = { .max = IFA_MAX };
	if (mnl_attr_parse(nlh, sizeof(*ifa), attr_cb, &a) < 0)
		return MNL_CB_OK;
	const struct nlattr *local = a.tb[IFA_LOCAL] ? a.tb[IFA_LOCAL] : a.tb[IFA_ADDRESS];
	if (!local || mnl_attr_validate(local, MNL_TYPE_U32) < 0)
		return MNL_CB_OK;
	c->addrs = xrealloc(c->addrs, (c->n + 1) * sizeof(*c->addrs));
	c->addrs[c->n++] = (struct net_addr4){ ntohl(mnl_attr_get_u32(local)), ifa->ifa_prefixlen };
	return MNL_CB_OK;
}

int net_addr_list(struct net_nl *nl, const struct net_link *link, struct net_addr4 **ret, size_t *ret_n,
		  struct error *err)
{
	_Alignas(struct nlmsghdr) char req[NL_REQUEST_SIZE];
	struct nlmsghdr *nlh = put_header(req, RTM_GETADDR, NLM_F_DUMP);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_index = (unsigned)link->ifindex;

	struct addr_collect c = { .ifindex = link->ifindex };
	int r = nl_talk(nl, nlh, addr_collect_cb, &c);
	if (r < 0) {
		free(c.addrs);
		return error_set(err, r, "list addresses of link '%s': %s", link->name, strerror(-r));
	}
	*ret = c.addrs;
	*ret_n = c.n;
	return 0;
}

static int addr_change(struct net_nl *nl, const struct net_link *link, const struct net_addr4 *addr, bool add,
		       struct error *err)
{
	_Alignas(struct nlmsghdr) char req[NL_REQUEST_SIZE];
	struct nlmsghdr *nlh = put_header(req, add ? RTM_NEWADDR : RTM_DELADDR,
					  add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)addr->prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)link->ifindex;
	mnl_attr_put_u32(nlh, IFA_LOCAL, htonl(addr->addr));
	mnl_attr_put_u32(nlh, IFA_ADDRESS, htonl(addr->addr));
	if (add && addr->prefix < 31)
		mnl_attr_put_u32(nlh, IFA_BROADCAST, htonl(addr->addr | ~net_prefix_mask(addr->prefix)));

	int r = nl_talk(nl, nlh, NULL, NULL);
	if (r == -EADDRNOTAVAIL && !add)
		return 0;
	if (r < 0) {
		char s[NET_ADDR4_STRING_MAX];
		net_addr4_format(addr, s);
		return error_set(err, r, "%s address '%s' %s link '%s': %s", add ? "add" : "remove", s,
				 add ? "to" : "from", link->name, strerror(-r));
	}
	return 0;
}

int net_addr_add(struct net_nl *nl, const struct net_link *link, const struct net_addr4 *addr,
		 struct error *err)
{
	return addr_change(nl, link, addr, true, err);
}

int net_addr_del(struct net_nl *nl, const struct net_link *link, const struct net_addr4 *addr,
		 struct error *err)
{
	return addr_change(nl, link, addr, false, err);
}

int net_addr_set(struct net_nl *nl, const struct net_link *link, const struct net_addr4 *addr,
		 struct error *err)
{
	_cleanup_free_ struct net_addr4 *addrs = NULL;
	size_t n;
	int r = net_addr_list(nl, link, &addrs, &n, err);
	if (r < 0)
		return r;
	/*
	 * Others go first: removing a primary address takes the secondaries of its subnet with
	 * it, and the wanted one could be such a secondary.
	 */
	for (size_t i = 0; i < n; i++) {
		if (addrs[i].addr == addr->addr && addrs[i].prefix == addr->prefix)
			continue;
		r = net_addr_del(nl, link, &addrs[i], err);
		if (r < 0)
			return r;
	}
	return net_addr_add(nl, link, addr, err);
}

/* ---- routes ---- */

static struct nlmsghdr *put_route(char *req, uint16_t type, uint16_t flags, unsigned char rtn_type,
				  const struct cidr4 *dst)
{
	struct nlmsghdr *nlh = put_header(req, type, flags);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = (unsigned char)dst->prefix;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = rtn_type;
	if (dst->prefix > 0)
		mnl_attr_put_u32(nlh, RTA_DST, htonl(dst->addr));
	return nlh;
}

int net_route_default(struct net_nl *nl, const struct net_link *link, uint32_t gateway, struct error *err)
{
	_Alignas(struct nlmsghdr) char req[NL_REQUEST_SIZE];
	struct nlmsghdr *nlh = put_route(req, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, RTN_UNICAST,
					 &(struct cidr4){ 0, 0 });
	mnl_attr_put_u32(nlh, RTA_GATEWAY, htonl(gateway));
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)link->ifindex);
	int r = nl_talk(nl, nlh, NULL, NULL);
	if (r < 0) {
		char gw[NET_IPV4_STRING_MAX];
		net_ipv4_format(gateway, gw);
		return error_set(err, r, "set default route via '%s' dev '%s': %s", gw, link->name, strerror(-r));
	}
	return 0;
}

int net_route_blackhole(struct net_nl *nl, const struct cidr4 *dst, bool add, struct error *err)
{
	_Alignas(struct nlmsghdr) char req[NL_REQUEST_SIZE];
	struct nlmsghdr *nlh = put_route(req, add ? RTM_NEWROUTE : RTM_DELROUTE,
					 add ? NLM_F_CREATE | NLM_F_REPLACE : 0, RTN_BLACKHOLE, dst);
	int r = nl_talk(nl, nlh, NULL, NULL);
	if (r == -ESRCH && !add)
		return 0;
	if (r < 0) {
		char net[NET_IPV4_STRING_MAX];
		net_ipv4_format(dst->addr, net);
		return error_set(err, r, "%s blackhole route '%s/%u': %s", add ? "add" : "remove", net, dst->prefix,
				 strerror(-r));
	}
	return 0;
}
