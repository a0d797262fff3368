/* SPDX-License-Identifier: MIT */
#include "net/net-dyno.h"

#include <string.h>

#include "net/net-link.h"
#include "net/net-netns.h"
#include "net/net-plan.h"

/*
 * The gateway for an address: the address of the space's bridge whose network holds it (the
 * space's own, or its data network's for an add-on).
 */
static int space_gateway(struct net_nl *space, const char *space_id, const struct net_addr4 *address,
			 struct net_link *ret_br, struct net_addr4 *ret, struct error *err)
{
	int r = net_link_get(space, NET_SPACE_BRIDGE, ret_br, err);
	if (r < 0)
		return r;
	_cleanup_free_ struct net_addr4 *addrs = NULL;
	size_t n;
	r = net_addr_list(space, ret_br, &addrs, &n, err);
	if (r < 0)
		return r;
	if (n == 0)
		return error_set(err, -ENOENT, "space '%s': link '" NET_SPACE_BRIDGE "' has no address", space_id);
	for (size_t i = 0; i < n; i++)
		if (addrs[i].prefix == address->prefix &&
		    net_ipv4_in(address->addr, addrs[i].addr & net_prefix_mask(addrs[i].prefix), addrs[i].prefix)) {
			*ret = addrs[i];
			return 0;
		}
	/* None fits: the check that follows names the space's own network. */
	*ret = addrs[0];
	return 0;
}

/* The dyno's veth pair: both halves, or none and then a new pair. */
static int veth_ensure(struct net_nl *space, struct net_nl *dyno, int dyno_fd, const char *name,
		       struct net_link *ret_space, struct net_link *ret_dyno, struct error *err)
{
	int r1 = net_link_get(space, name, ret_space, NULL);
	int r2 = net_link_get(dyno, NET_DYNO_LINK, ret_dyno, NULL);
	if (r1 == 0 && r2 == 0)
		return 0;
	/* Half a pair is what an interrupted ensure leaves: start over. */
	int r = net_link_del(space, name, err);
	if (r >= 0)
		r = net_link_del(dyno, NET_DYNO_LINK, err);
	if (r >= 0)
		r = net_link_add_veth(space, name, NET_DYNO_LINK, dyno_fd, err);
	if (r >= 0)
		r = net_link_get(space, name, ret_space, err);
	if (r >= 0)
		r = net_link_get(dyno, NET_DYNO_LINK, ret_dyno, err);
	return r;
}

int net_dyno_ensure(const struct net_dyno_config *cfg, struct error *err)
{
	char dyno_id[ID_STRING_MAX], space_id[ID_STRING_MAX];
	struct net_addr4 address;
	int r = net_id_normalize("dyno", cfg->dyno_id, dyno_id, err);
	if (r >= 0)
		r = net_id_normalize("space", cfg->space_id, space_id, err);
	if (r >= 0)
		r = net_addr4_parse(cfg->address, &address, err);
	if (r < 0)
		return r;

	char space_ns[NET_NETNS_NAME_MAX], dyno_ns[NET_NETNS_NAME_MAX], link_name[IFNAMSIZ], alias[NET_RECORD_MAX];
	r = net_netns_name(NET_NETNS_SPACE, space_id, space_ns, err);
	if (r >= 0)
		r = net_netns_name(NET_NETNS_DYNO, dyno_id, dyno_ns, err);
	if (r < 0)
		return r;
	net_link_name_for(NET_LINK_PREFIX_DYNO, dyno_id, link_name);
	net_dyno_record_format(dyno_id, alias);

	_cleanup_close_ int space_fd = net_netns_open(space_ns, err);
	if (space_fd == -ENOENT)
		return error_set(err, -ENOENT, "dyno '%s': space '%s' has no network namespace", dyno_id, space_id);
	if (space_fd < 0)
		return space_fd;
	_cleanup_nl_ struct net_nl *space = NULL;
	r = net_nl_open(space_fd, &space, err);
	if (r < 0)
		return r;
	struct net_link br;
	struct net_addr4 gateway;
	r = space_gateway(space, space_id, &address, &br, &gateway, err);
	if (r >= 0)
		r = net_dyno_address_check(&gateway, &address, err);
	if (r < 0)
		return r;

	struct net_link near, far;
	char owner[ID_STRING_MAX];
	if (net_link_get(space, link_name, &near, NULL) == 0 && !isempty(near.alias) &&
	    (net_dyno_record_parse(near.alias, owner) < 0 || !streq(owner, dyno_id)))
		return error_set(err, -EEXIST, "dyno '%s': link '%s' belongs to another dyno ('%s')", dyno_id,
				 link_name, near.alias);

	_cleanup_close_ int dyno_fd = net_netns_ensure(dyno_ns, err);
	if (dyno_fd < 0)
		return dyno_fd;
	_cleanup_nl_ struct net_nl *dyno = NULL;
	r = net_nl_open(dyno_fd, &dyno, err);
	if (r >= 0)
		r = veth_ensure(space, dyno, dyno_fd, link_name, &near, &far, err);
	if (r >= 0 && !streq(near.alias, alias))
		r = net_link_set_alias(space, &near, alias, err);
	if (r >= 0 && near.master != br.ifindex)
		r = net_link_set_master(space, &near, br.ifindex, err);
	if (r >= 0)
		r = net_link_set_up(space, &near, err);
	if (r < 0)
		return r;

	uint8_t mac[6];
	net_mac_for(address.addr, mac);
	struct net_link lo;
	r = net_link_get(dyno, "lo", &lo, err);
	if (r >= 0)
		r = net_link_set_up(dyno, &lo, err);
	if (r >= 0)
		r = net_link_set_mac(dyno, &far, mac, err);
	if (r >= 0)
		r = net_addr_set(dyno, &far, &address, err);
	if (r >= 0)
		r = net_link_set_up(dyno, &far, err);
	if (r >= 0)
		r = net_route_default(dyno, &far, gateway.addr, err);
	return r;
}

int net_dyno_destroy(const char *dyno_id, struct error *err)
{
	char ns[NET_NETNS_NAME_MAX];
	int r = net_netns_name(NET_NETNS_DYNO, dyno_id, ns, err);
	if (r < 0)
		return r;
	_cleanup_close_ int fd = net_netns_open(ns, NULL);
	if (fd >= 0) {
		/* Deleting eth0 takes its peer on the space bridge with it. */
		_cleanup_nl_ struct net_nl *nl = NULL;
		r = net_nl_open(fd, &nl, err);
		if (r >= 0)
			r = net_link_del(nl, NET_DYNO_LINK, err);
		if (r < 0)
			return r;
	}
	return net_netns_remove(ns, err);
}
