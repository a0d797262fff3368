/* SPDX-License-Identifier: MIT */
/*
 * The space network on one host: design note.
 *
 *   host namespace                  space namespace cove-s-<space>       dyno namespace cove-d-<dyno>
 *
 *   cove-out  198.18.0.2/32 ...     br0 10.0.0.1/16 (the gateway) ── cd-<dyno> ═══ eth0 10.0.0.5/16
 *   cu-<space> 100.64.N.1/30 ══════ uplink 100.64.N.2/30                          default via 10.0.0.1
 *                                   default via 100.64.N.1
 *   (══ is a veth pair)
 *
 * - A space's CIDR lives only inside its namespace. Spaces may share a CIDR, so nothing in the
 *   host namespace routes one: the space namespace masquerades what leaves through its uplink
 *   to the uplink address, which is unique on the host (100.64.0.0/10, a /30 per space by
 *   uplink index), and the host translates that address to the space's outbound IP. NAT
 *   happens in two steps, and replies find their way back through both conntrack tables.
 * - Outbound IPs are addresses of `cove-out` only so that they belong to the host: it accepts
 *   replies to them and answers ARP for them when they are real addresses routed on a LAN.
 *   The host's input chain drops new connections to them.
 * - Isolation is in nftables (net-nft.h): the host table lets no traffic pass between two
 *   uplinks, no new connection from a space reach the host, and from the outside only
 *   replies enter a space; the space's own table lets only replies in from its uplink and
 *   lets dynos reach the space namespace only through its `services` chain.
 * - What cove creates carries its owner. Names derive from ids; the alias of a space's uplink
 *   records the space, its uplink index and its outbound IP, and the alias of a dyno's link
 *   records the dyno. A restarted agent finds the state in the kernel, the host table is
 *   rendered from it, and a destroy knows what to remove with nothing but the id.
 * - MAC addresses derive from IPv4 addresses (net_mac_for()): the gateway's never changes as
 *   dynos come and go, and a dyno or uplink made again keeps its MAC, so no neighbour is left
 *   with a stale ARP entry.
 * - Every step is idempotent and ensure runs all of them each time, in an order where an
 *   interruption leaves a state that the next ensure or destroy completes: a veth pair half
 *   of which is missing is recreated, a name under /run/netns with no namespace on it is
 *   replaced, an outbound IP is dropped from cove-out before the record that names it.
 */
#include "net/net-space.h"

#include <string.h>

#include "base/alloc.h"
#include "base/strbuf.h"
#include "net/net-dyno.h"
#include "net/net-host.h"
#include "net/net-link.h"
#include "net/net-netns.h"
#include "net/net-plan.h"

/* Looks a link up; *ret_found says whether it exists. Errors other than a missing link fail. */
static int link_find(struct net_nl *nl, const char *name, struct net_link *ret, bool *ret_found,
		     struct error *err)
{
	int r = net_link_get(nl, name, ret, err);
	*ret_found = r == 0;
	if (r == -ENODEV) {
		error_clear(err);
		return 0;
	}
	return r;
}

/* Brings the link named `name` up. */
static int link_up(struct net_nl *nl, const char *name, struct error *err)
{
	struct net_link link;
	int r = net_link_get(nl, name, &link, err);
	if (r < 0)
		return r;
	return net_link_set_up(nl, &link, err);
}

/* The uplink veth pair: both halves, or none and then a new pair. */
static int uplink_ensure(struct net_nl *host, struct net_nl *space, int space_fd, const char *name,
			 struct net_link *ret_host, struct net_link *ret_space, struct error *err)
{
	bool have_host, have_space;
	int r = link_find(host, name, ret_host, &have_host, err);
	if (r >= 0)
		r = link_find(space, NET_SPACE_UPLINK, ret_space, &have_space, err);
	if (r < 0)
		return r;
	if (have_host && have_space)
		return 0;
	/* Half a pair is what an interrupted ensure leaves: start over. */
	r = net_link_del(host, name, err);
	if (r >= 0)
		r = net_link_del(space, NET_SPACE_UPLINK, err);
	if (r >= 0)
		r = net_link_add_veth(host, name, NET_SPACE_UPLINK, space_fd, err);
	if (r >= 0)
		r = net_link_get(host, name, ret_host, err);
	if (r >= 0)
		r = net_link_get(space, NET_SPACE_UPLINK, ret_space, err);
	return r;
}

/* Refuses a configuration that collides with another space of the host; finds our record. */
static int check_others(const struct net_space_record *rec, struct net_space_record *ret_old, bool *ret_have_old,
			struct error *err)
{
	_cleanup_free_ struct net_space_record *spaces = NULL;
	size_t n;
	int r = net_host_spaces(&spaces, &n, err);
	if (r < 0)
		return r;
	*ret_have_old = false;
	for (size_t i = 0; i < n; i++) {
		if (streq(spaces[i].space_id, rec->space_id)) {
			*ret_old = spaces[i];
			*ret_have_old = true;
		} else if (spaces[i].uplink_index == rec->uplink_index) {
			return error_set(err, -EEXIST, "space '%s': uplink index %u is taken by space '%s'",
					 rec->space_id, rec->uplink_index, spaces[i].space_id);
		} else if (spaces[i].outbound_ip == rec->outbound_ip) {
			char ip[NET_IPV4_STRING_MAX];
			net_ipv4_format(rec->outbound_ip, ip);
			return error_set(err, -EEXIST, "space '%s': outbound IP '%s' is taken by space '%s'",
					 rec->space_id, ip, spaces[i].space_id);
		}
	}
	return 0;
}

/* True when a link's alias is free (an ensure was interrupted before setting it) or names the space. */
static bool uplink_is_ours(const struct net_link *link, const char *space_id)
{
	struct net_space_record rec;
	if (isempty(link->alias))
		return true;
	return net_space_record_parse(link->alias, &rec) == 0 && streq(rec.space_id, space_id);
}

/* Gives the bridge exactly the gateways: adds those missing, removes any other address. */
static int bridge_addresses(struct net_nl *space, const struct net_link *br, const struct net_addr4 *gateways, size_t n,
			    struct error *err)
{
	for (size_t i = 0; i < n; i++) {
		int r = net_addr_add(space, br, &gateways[i], err);
		if (r < 0)
			return r;
	}
	_cleanup_free_ struct net_addr4 *have = NULL;
	size_t n_have;
	int r = net_addr_list(space, br, &have, &n_have, err);
	for (size_t i = 0; r >= 0 && i < n_have; i++) {
		bool wanted = false;
		for (size_t k = 0; k < n && !wanted; k++)
			wanted = have[i].addr == gateways[k].addr && have[i].prefix == gateways[k].prefix;
		if (!wanted)
			r = net_addr_del(space, br, &have[i], err);
	}
	return r;
}

/* Everything inside the space namespace. gateway[0] is the space's, gateway[1] (if n_gateways is 2) its data network's. */
static int space_inside(struct net_nl *space, int space_fd, const char *ns_name, const struct net_link *uplink,
			const struct net_addr4 *gateway, size_t n_gateways, const struct net_uplink *addrs,
			const char *rules, struct error *err)
{
	int r = link_up(space, "lo", err);
	if (r < 0)
		return r;

	struct net_link br;
	bool have_br;
	r = link_find(space, NET_SPACE_BRIDGE, &br, &have_br, err);
	uint8_t mac[6];
	net_mac_for(gateway->addr, mac);
	if (r >= 0 && !have_br) {
		/* With its own MAC the bridge keeps it as ports come and go. */
		r = net_link_add_bridge(space, NET_SPACE_BRIDGE, mac, err);
		if (r >= 0)
			r = net_link_get(space, NET_SPACE_BRIDGE, &br, err);
	}
	if (r >= 0)
		r = net_link_set_mac(space, &br, mac, err);
	if (r >= 0)
		r = bridge_addresses(space, &br, gateway, n_gateways, err);
	if (r >= 0)
		r = net_link_set_up(space, &br, err);
	net_mac_for(addrs->space, mac);
	if (r >= 0)
		r = net_link_set_mac(space, uplink, mac, err);
	if (r >= 0)
		r = net_addr_set(space, uplink, &(struct net_addr4){ addrs->space, NET_UPLINK_PREFIX }, err);
	if (r >= 0)
		r = net_link_set_up(space, uplink, err);
	if (r >= 0)
		r = net_route_default(space, uplink, addrs->host, err);
	if (r >= 0)
		r = net_netns_sysctl_write(space_fd, "net/ipv4/ip_forward", "1", err);
	if (r >= 0)
		r = net_nft_apply(space_fd, ns_name, rules, err);
	return r;
}

int net_space_ensure(const struct net_space_config *cfg, struct error *err)
{
	struct net_space_record rec = { .uplink_index = cfg->uplink_index };
	struct net_addr4 gateway[2];
	size_t n_gateways = 1;
	struct net_uplink addrs;
	int r = net_id_normalize("space", cfg->space_id, rec.space_id, err);
	if (r >= 0)
		r = net_space_gateway(cfg->cidr, &gateway[0], err);
	if (r >= 0 && !isempty(cfg->data_cidr)) {
		r = net_space_gateway(cfg->data_cidr, &gateway[1], err);
		if (r >= 0 && (net_ipv4_in(gateway[1].addr, gateway[0].addr & net_prefix_mask(gateway[0].prefix), gateway[0].prefix) ||
			       net_ipv4_in(gateway[0].addr, gateway[1].addr & net_prefix_mask(gateway[1].prefix), gateway[1].prefix)))
			r = error_set(err, -EINVAL, "space '%s': CIDR '%s' and data CIDR '%s' overlap", rec.space_id, cfg->cidr,
				      cfg->data_cidr);
		n_gateways = 2;
	}
	if (r >= 0)
		r = net_uplink_plan(cfg->uplink_index, &addrs, err);
	if (r >= 0)
		r = net_ipv4_parse(cfg->outbound_ip, &rec.outbound_ip, err);
	if (r >= 0)
		r = net_outbound_check(&(struct cidr4){ rec.outbound_ip, 32 }, err);
	if (r < 0)
		return r;
	_cleanup_strbuf_ struct strbuf rules = STRBUF_INIT;
	r = net_nft_render_space(&cfg->rules, &rules, err);
	if (r < 0)
		return r;

	char ns_name[NET_NETNS_NAME_MAX], uplink_name[IFNAMSIZ], alias[NET_RECORD_MAX];
	r = net_netns_name(NET_NETNS_SPACE, rec.space_id, ns_name, err);
	if (r < 0)
		return r;
	net_link_name_for(NET_LINK_PREFIX_UPLINK, rec.space_id, uplink_name);
	net_space_record_format(&rec, alias);

	_cleanup_nl_ struct net_nl *host = NULL;
	r = net_nl_open(-1, &host, err);
	if (r < 0)
		return r;
	struct net_link out;
	r = net_link_get(host, NET_OUTBOUND_DEVICE, &out, err);
	if (r == -ENODEV)
		return error_set(err, -ENOENT, "space '%s': link '" NET_OUTBOUND_DEVICE "' does not exist: set the host up first",
				 rec.space_id);
	if (r < 0)
		return r;

	struct net_space_record old = { 0 };
	bool have_old;
	r = check_others(&rec, &old, &have_old, err);
	if (r < 0)
		return r;
	struct net_link cu;
	bool have_cu;
	r = link_find(host, uplink_name, &cu, &have_cu, err);
	if (r < 0)
		return r;
	if (have_cu && !uplink_is_ours(&cu, rec.space_id))
		return error_set(err, -EEXIST, "space '%s': link '%s' belongs to another space ('%s')", rec.space_id,
				 uplink_name, cu.alias);

	_cleanup_close_ int space_fd = net_netns_ensure(ns_name, err);
	if (space_fd < 0)
		return space_fd;
	_cleanup_nl_ struct net_nl *space = NULL;
	r = net_nl_open(space_fd, &space, err);
	if (r < 0)
		return r;
	struct net_link uplink;
	r = uplink_ensure(host, space, space_fd, uplink_name, &cu, &uplink, err);
	if (r < 0)
		return r;

	/* A changed outbound IP: the old one leaves cove-out before the record forgets it. */
	if (have_old && old.outbound_ip != rec.outbound_ip) {
		r = net_addr_del(host, &out, &(struct net_addr4){ old.outbound_ip, 32 }, err);
		if (r < 0)
			return r;
	}
	if (!streq(cu.alias, alias)) {
		r = net_link_set_alias(host, &cu, alias, err);
		if (r < 0)
			return r;
	}
	uint8_t mac[6];
	net_mac_for(addrs.host, mac);
	r = net_link_set_mac(host, &cu, mac, err);
	if (r >= 0)
		r = net_addr_set(host, &cu, &(struct net_addr4){ addrs.host, NET_UPLINK_PREFIX }, err);
	if (r >= 0)
		r = net_link_set_up(host, &cu, err);
	if (r >= 0)
		r = space_inside(space, space_fd, ns_name, &uplink, gateway, n_gateways, &addrs, rules.buf, err);
	if (r >= 0)
		r = net_addr_add(host, &out, &(struct net_addr4){ rec.outbound_ip, 32 }, err);
	if (r >= 0)
		r = net_host_apply_rules(err);
	return r;
}

int net_space_ingress_apply(const char *space_id, const struct net_nft_ingress *in, struct error *err)
{
	char id[ID_STRING_MAX], table[NET_NFT_INGRESS_TABLE_MAX];
	int r = net_id_normalize("space", space_id, id, err);
	if (r < 0)
		return r;
	net_nft_ingress_table(id, table);
	_cleanup_strbuf_ struct strbuf text = STRBUF_INIT;
	r = net_nft_render_ingress(table, in, &text, err);
	if (r < 0)
		return r;
	return net_nft_apply(-1, table, text.buf, err);
}

int net_space_dynos(const char *space_id, char ***ret, size_t *ret_n, struct error *err)
{
	char ns_name[NET_NETNS_NAME_MAX];
	int r = net_netns_name(NET_NETNS_SPACE, space_id, ns_name, err);
	if (r < 0)
		return r;
	_cleanup_strv_ char **ids = xcalloc(1, sizeof(char *));
	size_t k = 0;
	_cleanup_close_ int space_fd = net_netns_open(ns_name, NULL);
	if (space_fd >= 0) {
		_cleanup_nl_ struct net_nl *space = NULL;
		_cleanup_free_ struct net_link *links = NULL;
		size_t n;
		r = net_nl_open(space_fd, &space, err);
		if (r >= 0)
			r = net_link_list(space, NET_LINK_PREFIX_DYNO, &links, &n, err);
		if (r < 0)
			return r;
		ids = xrealloc(ids, (n + 1) * sizeof(char *));
		for (size_t i = 0; i < n; i++) {
			char id[ID_STRING_MAX];
			if (net_dyno_record_parse(links[i].alias, id) == 0)
				ids[k++] = xstrdup(id);
		}
		ids[k] = NULL;
	}
	*ret = TAKE_PTR(ids);
	if (ret_n)
		*ret_n = k;
	return 0;
}

int net_space_destroy(const char *space_id, struct error *err)
{
	char id[ID_STRING_MAX], ns_name[NET_NETNS_NAME_MAX], uplink_name[IFNAMSIZ];
	int r = net_id_normalize("space", space_id, id, err);
	if (r < 0)
		return r;
	r = net_netns_name(NET_NETNS_SPACE, id, ns_name, err);
	if (r < 0)
		return r;
	net_link_name_for(NET_LINK_PREFIX_UPLINK, id, uplink_name);

	/* Dynos first: once the space namespace is gone, their links are out of reach. */
	_cleanup_strv_ char **dynos = NULL;
	r = net_space_dynos(id, &dynos, NULL, err);
	if (r < 0)
		return r;
	for (char **d = dynos; *d; d++) {
		r = net_dyno_destroy(*d, err);
		if (r < 0)
			return r;
	}

	_cleanup_nl_ struct net_nl *host = NULL;
	r = net_nl_open(-1, &host, err);
	if (r < 0)
		return r;
	struct net_link cu, out;
	bool have_cu, have_out;
	r = link_find(host, uplink_name, &cu, &have_cu, err);
	if (r >= 0)
		r = link_find(host, NET_OUTBOUND_DEVICE, &out, &have_out, err);
	if (r < 0)
		return r;
	if (have_cu && uplink_is_ours(&cu, id)) {
		struct net_space_record rec;
		if (have_out && net_space_record_parse(cu.alias, &rec) == 0) {
			r = net_addr_del(host, &out, &(struct net_addr4){ rec.outbound_ip, 32 }, err);
			if (r < 0)
				return r;
		}
		r = net_link_del(host, uplink_name, err);
		if (r < 0)
			return r;
	}
	/* Without cove-out the host is not set up (or no longer): no table to re-render. */
	if (have_out) {
		r = net_host_apply_rules(err);
		if (r < 0)
			return r;
	}
	char table[NET_NFT_INGRESS_TABLE_MAX];
	net_nft_ingress_table(id, table);
	_cleanup_strbuf_ struct strbuf gone = STRBUF_INIT;
	net_nft_render_ingress_delete(table, &gone);
	r = net_nft_apply(-1, table, gone.buf, err);
	if (r < 0)
		return r;
	return net_netns_remove(ns_name, err);
}
