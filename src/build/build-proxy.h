/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The network of a build: none, but an HTTP proxy.
 *
 * A build runs in a network namespace of its own, `cove-b-<build id>`, that holds only
 * loopback. In it, at 127.0.0.1:3128, listens a socket that the builder made there and
 * serves from the host's namespace: an HTTP proxy that takes `CONNECT host:443` (what npm and
 * pip send for their registries, with HTTPS_PROXY set), resolves the host itself and
 * connects to it, unless the address is one the build has no business with: loopback,
 * private (RFC 1918), shared (100.64.0.0/10, where spaces' uplinks live), link-local
 * (cloud metadata), benchmarking (198.18.0.0/15, the outbound pool), multicast, or any
 * address of this host. So a build reaches package registries on the internet and nothing of
 * the platform: not the API, not a space, not the host. No DNS inside either: the proxy
 * resolves.
 *
 * Each connection is served by a child process of the builder (fork, then blocking I/O with
 * poll and time limits); refusals are written to the build's output, so the pusher sees why
 * a download failed.
 */

#include <stdbool.h>
#include <sys/socket.h>

#include "base/error.h"

#define BUILD_PROXY_PORT 3128

struct build_proxy;

/*
 * Makes the namespace and the listening socket. *ret_netns_path (caller frees) is for the
 * sandbox spec. Refusals go to output_fd (which the proxy's children keep open).
 */
int build_proxy_start(const char *build_id, int output_fd, struct build_proxy **ret, char **ret_netns_path,
		      struct error *err);

/* The listening socket, to poll for readability; then call build_proxy_accept(). */
int build_proxy_fd(const struct build_proxy *p);

/* Accepts the waiting connections and starts a child for each. */
void build_proxy_accept(struct build_proxy *p);

/* Reaps children that ended (call from time to time, or on SIGCHLD). */
void build_proxy_reap(struct build_proxy *p);

/* Ends every connection, closes the socket, removes the namespace. Accepts NULL. */
void build_proxy_free(struct build_proxy *p);

/*
 * True when a build may connect to this address: not loopback, private, shared,
 * link-local, benchmarking, multicast, reserved or unspecified (IPv4, and IPv6 with IPv4
 * inside mapped or NAT64 forms). Addresses of the host itself are checked apart.
 */
bool build_proxy_address_allowed(const struct sockaddr *sa);
