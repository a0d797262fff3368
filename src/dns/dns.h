/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The resolver of a space (docs/network.md, "DNS"): a process of its own, `coved dns`, started
 * and supervised by the agent, one per space, like the space's router. It listens on UDP and
 * TCP port 53 of the space's gateway address, inside the space's network namespace, where
 * every dyno of the space reaches it and nothing else does; each dyno's /etc/resolv.conf names
 * it.
 *
 * It answers from its table (dns-table.h), reloaded whenever the agent replaces the file:
 *   - a name of the table: its A records (rotated from one answer to the next), or an empty
 *     answer for other types, AAAA included; authoritative, with the table's TTL;
 *   - any other name under `localspace`: NXDOMAIN, with the zone's SOA for negative caching;
 *   - any other name, when recursion is desired: forwarded to the host's resolvers (those of
 *     the host's /etc/resolv.conf, or --upstream), from a socket made in the host's network
 *     namespace before the resolver entered the space's, so that a resolver on the host's
 *     loopback serves too. Without upstreams, or without RD: REFUSED.
 * Queries from outside the space's CIDR are dropped, whatever reaches the socket.
 *
 *   SIGTERM, SIGINT   exit
 *   SIGHUP            load the table again
 *
 * One thread, one epoll loop; the upstream socket is the only one in the host's namespace.
 */

#include <netinet/in.h>
#include <stdint.h>

#include "base/error.h"

#define DNS_UPSTREAMS_MAX 3 /* as glibc reads of resolv.conf */

struct dns_config {
	const char *space;       /* the space's name, for messages */
	const char *table_path;  /* the table, JSON */
	const char *netns_path;  /* the space's network namespace; NULL: stay in the caller's */
	const char *listen;      /* ADDRESS:PORT, UDP and TCP, inside the space's namespace */
	const char *clients;     /* CIDR: only queries from there are answered */
	const char *upstreams[DNS_UPSTREAMS_MAX]; /* ADDRESS[:PORT] (IPv4), in the caller's namespace */
	size_t n_upstreams;      /* 0: none (REFUSED for names outside the table and the zone) */
};

/*
 * Parses "ADDRESS:PORT" (IPv4), or "ADDRESS" when default_port is not 0, into ret; `what`
 * names it in the message of -EINVAL.
 */
int dns_endpoint_parse(const char *what, const char *spec, uint16_t default_port, struct sockaddr_in *ret,
		       struct error *err);

/* Checks a list of upstreams as operators give it: "ADDR[:PORT],..." (1 to 3), or "none". */
int dns_upstreams_check(const char *list, struct error *err);

/* Runs the resolver until SIGTERM or SIGINT. Returns 0, or a negative errno when it cannot start. */
int dns_run(const struct dns_config *cfg, struct error *err);

/*
 * Reads the IPv4 nameservers of a resolv.conf into ret (at most DNS_UPSTREAMS_MAX, each an
 * allocated string the caller frees); IPv6 ones are skipped. Returns how many, or a negative
 * errno when the file cannot be read.
 */
int dns_resolv_conf_upstreams(const char *path, char *ret[static DNS_UPSTREAMS_MAX], struct error *err);

/* `coved dns ...`: parses the command line and runs the resolver. Returns the exit status. */
int dns_main(int argc, char **argv);
