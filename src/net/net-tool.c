/* SPDX-License-Identifier: MIT */
/*
 * cove-net: the space network module from the command line, for operators and the tests.
 * Each subcommand calls one function of src/net; the agent calls the same functions.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "net/net-dyno.h"
#include "net/net-host.h"
#include "net/net-netns.h"
#include "net/net-plan.h"
#include "net/net-space.h"

static const char usage[] =
	"usage: cove-net COMMAND [OPTIONS]\n"
	"\n"
	"  host-ensure   [--outbound-pool CIDR]        set the host up (forwarding, cove-out, nftables)\n"
	"  host-remove   [--outbound-pool CIDR]        undo host-ensure on a host without spaces\n"
	"  space-ensure  --space ID --cidr CIDR --uplink-index N --outbound-ip IP\n"
	"  space-destroy --space ID\n"
	"  dyno-ensure   --dyno ID --space ID --address A.B.C.D/N\n"
	"  dyno-destroy  --dyno ID\n"
	"  list                                        spaces, their dynos, and stray namespaces\n"
	"  probe         (--space ID | --dyno ID) --address A.B.C.D --port N\n"
	"                connect to a TCP port from inside the namespace of a space (as the router\n"
	"                does) or of a dyno; prints 'open' or why not\n";

struct options {
	const char *pool, *space, *cidr, *outbound_ip, *dyno, *address;
	const char *uplink_index, *port;
};

static int need(const char *value, const char *option, const char *command)
{
	if (value)
		return 0;
	fprintf(stderr, "cove-net: %s needs --%s\n", command, option);
	return -EINVAL;
}

static int parse_index(const char *s, unsigned *ret)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > NET_UPLINK_INDEX_MAX) {
		fprintf(stderr, "cove-net: uplink index '%s' is invalid: 0 to %u\n", s, NET_UPLINK_INDEX_MAX);
		return -EINVAL;
	}
	*ret = (unsigned)v;
	return 0;
}

static bool strv_contains(char **v, const char *s)
{
	for (; v && *v; v++)
		if (streq(*v, s))
			return true;
	return false;
}

static int list(struct error *err)
{
	_cleanup_free_ struct net_space_record *spaces = NULL;
	size_t n;
	int r = net_host_spaces(&spaces, &n, err);
	if (r < 0)
		return r;
	_cleanup_strv_ char **known = xcalloc(1, sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		char uplink[IFNAMSIZ], ns[NET_NETNS_NAME_MAX], host[NET_IPV4_STRING_MAX], space[NET_IPV4_STRING_MAX],
			out[NET_IPV4_STRING_MAX];
		struct net_uplink up;
		net_link_name_for(NET_LINK_PREFIX_UPLINK, spaces[i].space_id, uplink);
		net_uplink_plan(spaces[i].uplink_index, &up, NULL);
		net_ipv4_format(up.host, host);
		net_ipv4_format(up.space, space);
		net_ipv4_format(spaces[i].outbound_ip, out);
		net_netns_name(NET_NETNS_SPACE, spaces[i].space_id, ns, NULL);
		printf("space %s namespace %s uplink %u %s %s/%d <-> %s/%d outbound %s\n", spaces[i].space_id, ns,
		       spaces[i].uplink_index, uplink, host, NET_UPLINK_PREFIX, space, NET_UPLINK_PREFIX, out);
		known = xrealloc(known, (k + 2) * sizeof(char *));
		known[k++] = xstrdup(ns);
		known[k] = NULL;

		_cleanup_strv_ char **dynos = NULL;
		r = net_space_dynos(spaces[i].space_id, &dynos, NULL, err);
		if (r < 0)
			return r;
		for (char **d = dynos; *d; d++) {
			char link[IFNAMSIZ], dns[NET_NETNS_NAME_MAX];
			net_link_name_for(NET_LINK_PREFIX_DYNO, *d, link);
			net_netns_name(NET_NETNS_DYNO, *d, dns, NULL);
			printf("  dyno %s namespace %s link %s\n", *d, dns, link);
			known = xrealloc(known, (k + 2) * sizeof(char *));
			known[k++] = xstrdup(dns);
			known[k] = NULL;
		}
	}

	_cleanup_strv_ char **names = NULL;
	r = net_netns_list("cove-", &names, NULL, err);
	if (r < 0)
		return r;
	for (char **p = names; *p; p++)
		if (!strv_contains(known, *p))
			printf("stray namespace %s\n", *p);
	return 0;
}

/* Connects from inside a namespace with a socket made by net_netns_socket(); 1 s to answer. */
static int probe(const struct options *o, struct error *err)
{
	char ns_name[NET_NETNS_NAME_MAX];
	int r = o->dyno ? net_netns_name(NET_NETNS_DYNO, o->dyno, ns_name, err)
			: net_netns_name(NET_NETNS_SPACE, o->space, ns_name, err);
	if (r < 0)
		return r;
	uint32_t addr;
	r = net_ipv4_parse(o->address, &addr, err);
	if (r < 0)
		return r;
	char *end;
	unsigned long port = strtoul(o->port, &end, 10);
	if (*end || end == o->port || port == 0 || port > 65535)
		return error_set(err, -EINVAL, "port '%s' is invalid", o->port);

	_cleanup_close_ int ns = net_netns_open(ns_name, err);
	if (ns < 0)
		return ns;
	_cleanup_close_ int fd = net_netns_socket(ns, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0, err);
	if (fd < 0)
		return fd;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(addr) };
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		r = -errno;
		return error_set(err, r, "connect to '%s:%lu' from '%s': %s", o->address, port, ns_name, strerror(-r));
	}
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int so_error = 0;
	socklen_t len = sizeof(so_error);
	r = poll(&p, 1, 1000);
	if (r == 0)
		return error_set(err, -ETIMEDOUT, "connect to '%s:%lu' from '%s': %s", o->address, port, ns_name,
				 strerror(ETIMEDOUT));
	if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) < 0)
		so_error = errno;
	if (so_error)
		return error_set(err, -so_error, "connect to '%s:%lu' from '%s': %s", o->address, port, ns_name,
				 strerror(so_error));
	puts("open");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "outbound-pool", required_argument, NULL, 'p' }, { "space", required_argument, NULL, 's' },
		{ "cidr", required_argument, NULL, 'c' },          { "uplink-index", required_argument, NULL, 'u' },
		{ "outbound-ip", required_argument, NULL, 'o' },   { "dyno", required_argument, NULL, 'd' },
		{ "address", required_argument, NULL, 'a' },       { "port", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *command = argv[1];
	struct options o = { 0 };
	int c;
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': o.pool = optarg; break;
		case 's': o.space = optarg; break;
		case 'c': o.cidr = optarg; break;
		case 'u': o.uplink_index = optarg; break;
		case 'o': o.outbound_ip = optarg; break;
		case 'd': o.dyno = optarg; break;
		case 'a': o.address = optarg; break;
		case 'P': o.port = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "cove-net: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}

	struct error err = { 0 };
	struct net_host_config host = { .outbound_pool = o.pool };
	int r;
	if (streq(command, "host-ensure")) {
		r = net_host_ensure(&host, &err);
	} else if (streq(command, "host-remove")) {
		r = net_host_remove(&host, &err);
	} else if (streq(command, "space-ensure")) {
		struct net_space_config cfg = { .space_id = o.space, .cidr = o.cidr, .outbound_ip = o.outbound_ip };
		r = need(o.space, "space", command);
		if (r >= 0)
			r = need(o.cidr, "cidr", command);
		if (r >= 0)
			r = need(o.uplink_index, "uplink-index", command);
		if (r >= 0)
			r = need(o.outbound_ip, "outbound-ip", command);
		if (r >= 0)
			r = parse_index(o.uplink_index, &cfg.uplink_index);
		if (r < 0)
			return 2;
		r = net_space_ensure(&cfg, &err);
	} else if (streq(command, "space-destroy")) {
		if (need(o.space, "space", command) < 0)
			return 2;
		r = net_space_destroy(o.space, &err);
	} else if (streq(command, "dyno-ensure")) {
		if (need(o.dyno, "dyno", command) < 0 || need(o.space, "space", command) < 0 ||
		    need(o.address, "address", command) < 0)
			return 2;
		r = net_dyno_ensure(&(struct net_dyno_config){ .dyno_id = o.dyno, .space_id = o.space, .address = o.address },
				    &err);
	} else if (streq(command, "dyno-destroy")) {
		if (need(o.dyno, "dyno", command) < 0)
			return 2;
		r = net_dyno_destroy(o.dyno, &err);
	} else if (streq(command, "list")) {
		r = list(&err);
	} else if (streq(command, "probe")) {
		if ((!o.space && !o.dyno) || need(o.address, "address", command) < 0 || need(o.port, "port", command) < 0) {
			if (!o.space && !o.dyno)
				fprintf(stderr, "cove-net: probe needs --space or --dyno\n");
			return 2;
		}
		r = probe(&o, &err);
	} else {
		fprintf(stderr, "cove-net: unknown command '%s'\n%s", command, usage);
		return 2;
	}
	if (r < 0) {
		fprintf(stderr, "cove-net: %s\n", err.message[0] ? err.message : strerror(-r));
		return 1;
	}
	return 0;
}
