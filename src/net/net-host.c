/* SPDX-License-Identifier: MIT */
#include "net/net-host.h"

#include <fcntl.h>
#include <string.h>
#include <sys/file.h>

#include "base/alloc.h"
#include "base/strbuf.h"
#include "net/net-link.h"
#include "net/net-netns.h"
#include "net/net-nft.h"

#define LOCK_PATH "/run/cove-net.lock"

static int parse_pool(const struct net_host_config *cfg, struct cidr4 *ret, struct error *err)
{
	const char *pool = cfg && cfg->outbound_pool ? cfg->outbound_pool : NET_OUTBOUND_POOL_DEFAULT;
	int r = cidr4_parse(pool, 8, 32, ret, err);
	if (r < 0)
		return r;
	return net_outbound_check(ret, err);
}

static int cmp_record(const void *a, const void *b)
{
	const struct net_space_record *x = a, *y = b;
	return x->uplink_index < y->uplink_index ? -1 : x->uplink_index > y->uplink_index;
}

int net_host_spaces(struct net_space_record **ret, size_t *ret_n, struct error *err)
{
	_cleanup_nl_ struct net_nl *nl = NULL;
	int r = net_nl_open(-1, &nl, err);
	if (r < 0)
		return r;
	_cleanup_free_ struct net_link *links = NULL;
	size_t n;
	r = net_link_list(nl, NET_LINK_PREFIX_UPLINK, &links, &n, err);
	if (r < 0)
		return r;

	struct net_space_record *spaces = xcalloc(n ? n : 1, sizeof(*spaces));
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (net_space_record_parse(links[i].alias, &spaces[k]) == 0)
			k++;
	qsort(spaces, k, sizeof(*spaces), cmp_record);
	*ret = spaces;
	*ret_n = k;
	return 0;
}

static void unlockp(int *fd)
{
	if (*fd >= 0) {
		flock(*fd, LOCK_UN);
		close(*fd);
	}
}

int net_host_apply_rules(struct error *err)
{
	_cleanup_(unlockp) int lock = open(LOCK_PATH, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX) < 0) {
		int r = -errno;
		return error_set(err, r, "lock '" LOCK_PATH "': %s", strerror(-r));
	}

	_cleanup_free_ struct net_space_record *spaces = NULL;
	size_t n;
	int r = net_host_spaces(&spaces, &n, err);
	if (r < 0)
		return r;
	_cleanup_free_ struct net_nft_snat *snat = xcalloc(n ? n : 1, sizeof(*snat));
	for (size_t i = 0; i < n; i++) {
		struct net_uplink up;
		r = net_uplink_plan(spaces[i].uplink_index, &up, err);
		if (r < 0)
			return r;
		snat[i] = (struct net_nft_snat){ .uplink_addr = up.space, .outbound_ip = spaces[i].outbound_ip };
	}
	_cleanup_strbuf_ struct strbuf rules = STRBUF_INIT;
	net_nft_render_host(snat, n, &rules);
	return net_nft_apply(-1, "host", rules.buf, err);
}

int net_host_ensure(const struct net_host_config *cfg, struct error *err)
{
	struct cidr4 pool;
	int r = parse_pool(cfg, &pool, err);
	if (r < 0)
		return r;
	r = net_netns_sysctl_write(-1, "net/ipv4/ip_forward", "1", err);
	if (r < 0)
		return r;

	_cleanup_nl_ struct net_nl *nl = NULL;
	r = net_nl_open(-1, &nl, err);
	if (r < 0)
		return r;
	struct net_link out;
	r = net_link_get(nl, NET_OUTBOUND_DEVICE, &out, NULL);
	if (r == -ENODEV) {
		/*
		 * A bridge without ports: any device that is up can hold addresses, and a bridge
		 * is one every kernel cove runs on has (a dummy device would do, but the dummy
		 * driver is not always built).
		 */
		r = net_link_add_bridge(nl, NET_OUTBOUND_DEVICE, NULL, err);
		if (r < 0)
			return r;
		r = net_link_get(nl, NET_OUTBOUND_DEVICE, &out, NULL);
	}
	if (r < 0)
		return error_set(err, r, "look up link '" NET_OUTBOUND_DEVICE "': %s", strerror(-r));
	r = net_link_set_up(nl, &out, err);
	if (r < 0)
		return r;
	r = net_route_blackhole(nl, &pool, true, err);
	if (r < 0)
		return r;
	return net_host_apply_rules(err);
}

int net_host_remove(const struct net_host_config *cfg, struct error *err)
{
	struct cidr4 pool;
	int r = parse_pool(cfg, &pool, err);
	if (r < 0)
		return r;
	_cleanup_nl_ struct net_nl *nl = NULL;
	r = net_nl_open(-1, &nl, err);
	if (r < 0)
		return r;
	_cleanup_free_ struct net_link *uplinks = NULL;
	size_t n;
	r = net_link_list(nl, NET_LINK_PREFIX_UPLINK, &uplinks, &n, err);
	if (r < 0)
		return r;
	if (n > 0)
		return error_set(err, -EBUSY, "remove host network: %zu space uplinks exist (first '%s')", n,
				 uplinks[0].name);

	r = net_nft_apply(-1, "host", "table inet cove {}\ndelete table inet cove\n", err);
	if (r < 0)
		return r;
	r = net_link_del(nl, NET_OUTBOUND_DEVICE, err);
	if (r < 0)
		return r;
	return net_route_blackhole(nl, &pool, false, err);
}
