/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The packet filter and NAT of the space network, in nftables. cove owns one table, `inet
 * cove`, in the host namespace and in each space namespace, plus one `ip cove_in_<space>` per
 * space in the host namespace (its trusted IP ranges), and never touches any other. A table
 * is rendered as a whole from what cove knows (pure functions, unit-tested) and applied with `nft -f -` in one transaction that deletes the old table and creates the
 * new one: the change is atomic, applying the same text twice changes nothing, and a rule
 * that should no longer exist cannot linger.
 *
 * Rendering never fails for want of memory (allocation aborts); it fails with -EINVAL only
 * when a rule given to it is malformed.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/validate.h"

/* The NAT of one space on the host: what leaves its uplink goes out from its outbound IP. */
struct net_nft_snat {
	uint32_t uplink_addr; /* the space side of its uplink (host byte order) */
	uint32_t outbound_ip;
};

/*
 * Renders the host table. Traffic from a space arrives on its uplink, a link named cu-*:
 *   input:       a space may not open a connection to the host (only replies are let in);
 *                nothing from outside may open one to an outbound IP either, since those are
 *                addresses of the host only so that it answers for them
 *   forward:     no traffic from one space to another, nor to link-local addresses (cloud
 *                metadata services); a space may open connections to the outside, and from
 *                the outside only replies enter a space
 *   postrouting: the source address of each space becomes its outbound IP
 * Other traffic of the host is left alone (policy accept). snat is sorted by uplink address
 * so the same spaces always render the same text.
 */
void net_nft_render_host(const struct net_nft_snat *snat, size_t n, struct strbuf *out);

enum net_nft_proto {
	NET_NFT_ANY,
	NET_NFT_TCP,
	NET_NFT_UDP,
	NET_NFT_ICMP, /* every ICMP type: no ports */
};

/*
 * A filter rule: traffic to daddr (and, for TCP or UDP, to a destination port in
 * port_min..port_max; 0..0 means any port) is accepted or dropped.
 */
struct net_nft_rule {
	struct cidr4 daddr;
	enum net_nft_proto proto;
	uint16_t port_min, port_max;
	bool accept;
};

/*
 * The rules of a space, each list applied in order, the first match deciding:
 *   services: what a dyno may open to the space namespace itself, such as the space's DNS
 *             resolver (chain `services`); what no rule accepts is dropped.
 *   egress:   what a dyno may open to the outside (chain `egress_rules`, the space's outbound
 *             rules); what no rule drops is allowed. An allowlist ends with a rule that drops
 *             0.0.0.0/0.
 * Both lists are empty until the DNS resolver and outbound rules exist.
 */
struct net_nft_space {
	const struct net_nft_rule *services;
	size_t n_services;
	const struct net_nft_rule *egress;
	size_t n_egress;
};

/*
 * Renders the table of a space namespace, where the bridge is `br0` and the uplink `uplink`:
 *   input:       established and related traffic, loopback, and from dynos what `services`
 *                accepts; nothing else
 *   forward:     dyno to dyno across the bridge, anything; dyno to the outside through
 *                `egress_rules`; from the outside, only replies
 *   postrouting: masquerade to the uplink address, the first of two NAT steps (spaces share
 *                CIDRs, so only the uplink address tells them apart on the host)
 */
int net_nft_render_space(const struct net_nft_space *space, struct strbuf *out, struct error *err);

/*
 * The trusted IP ranges of a space's ingress, its router's address and port on the host:
 * sources in order, the first match deciding; what no rule accepts is dropped.
 */
struct net_nft_source {
	struct cidr4 saddr;
	bool accept;
};

struct net_nft_ingress {
	uint32_t addr; /* the ingress address (host byte order) */
	uint16_t port; /* the router's port on it */
	const struct net_nft_source *trusted;
	size_t n_trusted;
};

/* The host table of a space's ingress: "cove_in_" and the first 8 hex digits of its id. */
#define NET_NFT_INGRESS_TABLE_MAX 24
void net_nft_ingress_table(const char *space_id, char ret[static NET_NFT_INGRESS_TABLE_MAX]);

/*
 * Renders the ingress table of a space (`table ip cove_in_<id>` in the host namespace), which
 * lets only trusted sources reach the router's port on the ingress address:
 *   input:   TCP to addr:port jumps to `trusted`; everything else is left alone
 *   trusted: `ip saddr <range> return` for an allowed range, `drop` for a denied one, and a
 *            final drop
 * The table stands beside the host table (`inet cove`), one per space, so that a change of
 * one space's ranges replaces that table alone; net_nft_render_ingress_delete() removes it.
 */
int net_nft_render_ingress(const char *table, const struct net_nft_ingress *in, struct strbuf *out,
			   struct error *err);
void net_nft_render_ingress_delete(const char *table, struct strbuf *out);

/*
 * Applies a rendered ruleset in the namespace netns_fd (-1: the current one): forks, enters
 * the namespace in the child and runs `nft -f -` with the ruleset on its standard input.
 * Blocks until nft is done. On failure the message names `what` and carries nft's first
 * line of complaint.
 */
int net_nft_apply(int netns_fd, const char *what, const char *ruleset, struct error *err);
