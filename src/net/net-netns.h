/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Named network namespaces, kept the way iproute2 keeps them so that `ip netns exec` and
 * `ip -n` work on them: a file under /run/netns (a shared mount) with the namespace's
 * nsfs file bind-mounted onto it. A space's namespace is `cove-s-<space id>`, a dyno's
 * `cove-d-<dyno id>`.
 *
 * Namespace file descriptors are the currency of this module: -1 always stands for the
 * calling thread's current namespace (the host, in the agent). Entering a namespace changes
 * only the calling thread (setns(2)), and every function that enters one leaves it before
 * returning.
 */

#include <stddef.h>

#include "base/error.h"

#define NET_NETNS_DIR "/run/netns"
#define NET_NETNS_NAME_MAX 48 /* "cove-d-" + a UUID and the NUL fit */
#define NET_NETNS_PATH_MAX (sizeof(NET_NETNS_DIR) + NET_NETNS_NAME_MAX)

enum net_netns_kind {
	NET_NETNS_SPACE, /* cove-s-<space id>: the space bridge, its uplink and its firewall */
	NET_NETNS_DYNO,  /* cove-d-<dyno id>: one dyno, eth0 on the space bridge */
};

/* Writes the name of the namespace of a space or dyno into ret; -EINVAL when id is no UUID. */
int net_netns_name(enum net_netns_kind kind, const char *id, char ret[static NET_NETNS_NAME_MAX],
		   struct error *err);

/*
 * Writes the path of the namespace of a space or dyno ("/run/netns/cove-d-<id>") into ret,
 * for a sandbox that opens it and calls setns(2). The namespace need not exist.
 */
int net_netns_path(enum net_netns_kind kind, const char *id, char ret[static NET_NETNS_PATH_MAX],
		   struct error *err);

/*
 * Opens the named namespace and returns an O_CLOEXEC descriptor (the caller closes it), or
 * -ENOENT when there is none by that name.
 */
int net_netns_open(const char *name, struct error *err);

/*
 * Returns a descriptor of the named namespace, creating it first when it does not exist
 * (like `ip netns add`, but without failing when it is already there). A leftover name that
 * is not a namespace mount (an earlier creation that was interrupted) is replaced.
 */
int net_netns_ensure(const char *name, struct error *err);

/*
 * Removes the name: unmounts and unlinks /run/netns/<name>. The namespace itself goes away
 * when the last process, socket or descriptor in it is gone. Succeeds when there is no such
 * name.
 */
int net_netns_remove(const char *name, struct error *err);

/*
 * Lists the names under /run/netns that start with prefix, sorted. *ret is a NULL-terminated
 * array the caller frees with net_strv_free() (each string and the array).
 */
int net_netns_list(const char *prefix, char ***ret, size_t *ret_n, struct error *err);

/* Frees a NULL-terminated array of strings; accepts NULL. */
void net_strv_free(char **v);
static inline void net_strv_freep(char ***v)
{
	net_strv_free(*v);
}
#define _cleanup_strv_ _cleanup_(net_strv_freep)

/*
 * Moves the calling thread into the namespace netns_fd (nothing when it is -1) and returns in
 * *ret_saved a descriptor of the one it was in, to give to net_netns_leave().
 */
int net_netns_enter(int netns_fd, int *ret_saved, struct error *err);

/*
 * Moves the calling thread back into the namespace saved by net_netns_enter() and closes the
 * descriptor (nothing when it is -1). Failing to go back would leave the thread in a space's
 * namespace, where everything it did next would happen in the wrong place: it aborts instead.
 */
void net_netns_leave(int saved);

/*
 * Creates a socket inside a namespace and returns it: enters the namespace, calls
 * socket(domain, type | SOCK_CLOEXEC, protocol), goes back. The socket keeps the namespace it
 * was created in for its whole life, so the agent can health-check a dyno, and the router
 * connect to dynos, from the host.
 */
int net_netns_socket(int netns_fd, int domain, int type, int protocol, struct error *err);

/*
 * Writes value to a sysctl as the namespace sees it; key is a path under /proc/sys, such as
 * "net/ipv4/ip_forward".
 */
int net_netns_sysctl_write(int netns_fd, const char *key, const char *value, struct error *err);
