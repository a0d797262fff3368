/* SPDX-License-Identifier: MIT */
/*
 * The router process: its listening sockets, its namespaces, its loops, and the main thread,
 * which only waits for signals and for the routing table to be replaced (inotify on its
 * directory, since the agent renames a new file over it).
 *
 * The order at start matters: the ingress listeners are made in the namespace the router was
 * started in (the host's), then the main thread enters the space's namespace for good and
 * makes the internal listeners there, then it starts the loops, which inherit the namespace:
 * every connection to a dyno is made inside the space, every client connection was accepted
 * where its listener lives.
 */
#include "router/router.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/signals.h"
#include "router/router-log.h"
#include "router/router-proxy.h"
#include "router/router-table.h"

#define THREADS_MAX 64
#define THREADS_DEFAULT_MAX 8 /* a router per space: a host of many CPUs and spaces needs no more */
#define TABLE_MAX (64 * 1024 * 1024)

static int parse_address(const char *what, const char *spec, struct sockaddr_in *ret, struct error *err)
{
	const char *colon = strrchr(spec, ':');
	char host[INET_ADDRSTRLEN];
	char *end;
	long port = colon ? strtol(colon + 1, &end, 10) : -1;
	if (!colon || (size_t)(colon - spec) >= sizeof(host) || colon[1] == '\0' || *end || port < 1 || port > 65535)
		return error_set(err, -EINVAL, "%s '%s' is invalid: ADDRESS:PORT", what, spec);
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	*ret = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, host, &ret->sin_addr) != 1)
		return error_set(err, -EINVAL, "%s '%s' is invalid: not an IPv4 address", what, spec);
	return 0;
}

static int make_listener(const char *what, const struct sockaddr_in *addr, struct error *err)
{
	_cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return error_set(err, -errno, "%s: socket: %m", what);
	int one = 1, defer = 1;
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &addr->sin_addr, ip, sizeof(ip));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		return error_set(err, -errno, "%s: setsockopt: %m", what);
	/* Wake up for a connection once its request is here. */
	setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof(defer));
	if (bind(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0)
		return error_set(err, -errno, "%s: listen on %s:%u: %m", what, ip, ntohs(addr->sin_port));
	if (listen(fd, 4096) < 0)
		return error_set(err, -errno, "%s: listen on %s:%u: %m", what, ip, ntohs(addr->sin_port));
	return TAKE_FD(fd);
}

static int table_load(const struct router_config *cfg, struct route_table **ret, struct error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = file_read(cfg->table_path, TABLE_MAX, &text, &len, err);
	if (r < 0)
		return r;
	return route_table_parse(text, len, ret, err);
}

static void reload(const struct router_config *cfg, struct router_shared *shared)
{
	struct error err = { 0 };
	struct route_table *t = NULL;
	if (table_load(cfg, &t, &err) < 0) {
		log_error("router '%s': routing table '%s': %s; keeping the one in use", cfg->space, cfg->table_path,
			  err.message);
		return;
	}
	log_debug("router '%s': routing table loaded: %zu apps, %zu dynos up", cfg->space, t->n_apps, t->n_dynos);
	router_shared_set_table(shared, t);
}

static int log_open(const char *path, struct error *err)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return error_set(err, -errno, "open the request log '%s': %m", path);
	return fd;
}

static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int router_run(const struct router_config *cfg, struct error *err)
{
	struct router_shared shared = { .lock = PTHREAD_MUTEX_INITIALIZER, .log_fd = -1 };
	struct router_loop_config loops[THREADS_MAX];
	pthread_t threads[THREADS_MAX];
	unsigned n = cfg->threads, started = 0;
	int r = 0, inotify_fd = -1, signal_fd = -1;
	struct sockaddr_in ingress, internal;
	_cleanup_free_ char *dir_copy = xstrdup(cfg->table_path), *base_copy = xstrdup(cfg->table_path);
	if (n == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		n = cpus < 1 ? 1 : cpus > THREADS_DEFAULT_MAX ? THREADS_DEFAULT_MAX : (unsigned)cpus;
	}
	if (n > THREADS_MAX)
		n = THREADS_MAX;
	for (unsigned i = 0; i < n; i++)
		loops[i] = (struct router_loop_config){
			.shared = &shared, .index = i, .ingress_fd = -1, .internal_fd = -1, .poll_us = cfg->poll_us,
			.no_io_uring = cfg->no_io_uring,
		};
	if ((cfg->listen && parse_address("--listen", cfg->listen, &ingress, err) < 0) ||
	    (cfg->internal && parse_address("--internal", cfg->internal, &internal, err) < 0))
		return -EINVAL;
	if (!cfg->listen && !cfg->internal)
		return error_set(err, -EINVAL, "router '%s': nothing to listen on", cfg->space);

	router_pages_init();
	raise_fd_limit();
	shared.drain_ms = (cfg->drain_s ? cfg->drain_s : 10) * 1000;
	struct route_table *table = NULL;
	struct error terr = { 0 };
	if (table_load(cfg, &table, &terr) < 0) {
		if (terr.code != -ENOENT)
			log_warning("router '%s': routing table '%s': %s; starting without apps", cfg->space,
				    cfg->table_path, terr.message);
		table = route_table_empty();
	}
	shared.table = table;
	if (cfg->log_path) {
		shared.log_fd = log_open(cfg->log_path, err);
		if (shared.log_fd < 0) {
			r = shared.log_fd;
			goto out;
		}
	}
	for (unsigned i = 0; i < n && cfg->listen; i++) {
		loops[i].ingress_port = ntohs(ingress.sin_port);
		loops[i].ingress_fd = r = make_listener("router ingress", &ingress, err);
		if (r < 0)
			goto out;
	}
	if (cfg->netns_path) {
		_cleanup_close_ int ns = open(cfg->netns_path, O_RDONLY | O_CLOEXEC);
		if (ns < 0 || setns(ns, CLONE_NEWNET) < 0) {
			r = error_set(err, -errno, "enter the network namespace '%s': %m", cfg->netns_path);
			goto out;
		}
	}
	for (unsigned i = 0; i < n && cfg->internal; i++) {
		loops[i].internal_port = ntohs(internal.sin_port);
		loops[i].internal_fd = r = make_listener("router internal", &internal, err);
		if (r < 0)
			goto out;
	}

	/* Signals are the main thread's: blocked before the loops start, which inherit the mask. */
	signal_fd = signals_stop_fd(SIGUSR1);
	signal(SIGPIPE, SIG_IGN);
	inotify_fd = inotify_init1(IN_CLOEXEC);
	const char *dir = dirname(dir_copy), *base = basename(base_copy);
	if (signal_fd < 0 || inotify_fd < 0 || inotify_add_watch(inotify_fd, dir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
		r = error_set(err, -errno, "router '%s': watch '%s': %m", cfg->space, dir);
		goto out;
	}
	for (; started < n; started++) {
		int e = pthread_create(&threads[started], NULL, router_loop_main, &loops[started]);
		if (e) {
			r = error_set(err, -e, "router '%s': start a loop: %s", cfg->space, strerror(e));
			atomic_store(&shared.stopping, true);
			goto out;
		}
	}
	log_info("router '%s': serving%s%s%s%s with %u loop%s", cfg->space, cfg->listen ? " on " : "",
		 cfg->listen ? cfg->listen : "", cfg->internal ? ", internally on " : "", cfg->internal ? cfg->internal : "",
		 n, n == 1 ? "" : "s");

	for (;;) {
		struct pollfd p[2] = { { .fd = signal_fd, .events = POLLIN }, { .fd = inotify_fd, .events = POLLIN } };
		if (poll(p, 2, -1) < 0 && errno != EINTR) {
			r = error_set(err, -errno, "router '%s': poll: %m", cfg->space);
			break;
		}
		if (p[1].revents & POLLIN) {
			char events[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
			ssize_t len = read(inotify_fd, events, sizeof(events));
			bool changed = false;
			for (ssize_t off = 0; off < len;) {
				const struct inotify_event *ev = (const struct inotify_event *)(events + off);
				if (ev->len && streq(ev->name, base))
					changed = true;
				off += (ssize_t)(sizeof(*ev) + ev->len);
			}
			if (changed)
				reload(cfg, &shared);
		}
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(signal_fd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGHUP) {
				reload(cfg, &shared);
			} else if (si.ssi_signo == SIGUSR1 && cfg->log_path) {
				struct error lerr = { 0 };
				int fd = log_open(cfg->log_path, &lerr);
				if (fd < 0) {
					log_error("router '%s': %s", cfg->space, lerr.message);
				} else {
					dup2(fd, shared.log_fd); /* every loop writes to the new file from now on */
					close(fd);
				}
			} else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
				log_info("router '%s': stopping on signal %u", cfg->space, si.ssi_signo);
				break;
			}
		}
	}
	atomic_store(&shared.stopping, true);
out:
	for (unsigned i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	/* Listeners of loops that never started are still open; the loops closed their own. */
	for (unsigned i = started; i < n; i++) {
		if (loops[i].ingress_fd >= 0)
			close(loops[i].ingress_fd);
		if (loops[i].internal_fd >= 0)
			close(loops[i].internal_fd);
	}
	if (shared.log_fd >= 0)
		close(shared.log_fd);
	if (inotify_fd >= 0)
		close(inotify_fd);
	if (signal_fd >= 0)
		close(signal_fd);
	route_table_unref(shared.table);
	return r < 0 ? r : 0;
}

static void usage(FILE *f)
{
	fputs("usage: coved router --table FILE [--listen ADDRESS:PORT] [OPTIONS]\n"
	      "\n"
	      "The HTTP router of one space; the agent starts one per space (docs/router.md).\n"
	      "\n"
	      "  --space NAME           the space's name, for messages\n"
	      "  --table FILE           the routing table (JSON), reloaded when replaced\n"
	      "  --log FILE             append a line per request here\n"
	      "  --listen ADDR:PORT     the ingress address, in this network namespace\n"
	      "  --netns PATH           the space's network namespace: dynos are reached from it\n"
	      "  --internal ADDR:PORT   the space's internal address, inside its namespace\n"
	      "  --threads N            event loops (default: one per CPU, up to 8)\n"
	      "  --drain SEC            time requests in flight have to finish at a stop (default 10)\n"
	      "  --poll-us N            the longest a loop polls for events before it sleeps, when\n"
	      "                         polling pays (default 200; 0: never poll)\n"
	      "  --io-uring on|off      send the writes of a loop's pass together (default on;\n"
	      "                         off, or a kernel without io_uring: one system call each)\n"
	      "  --debug                log table reloads\n",
	      f);
}

/* A whole number from 0 to max, for option opt; else a message and -1. */
static int option_number(const char *opt, const char *arg, unsigned max, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(arg, &end, 10);
	if (!*arg || *end || errno || *arg == '-' || v > max) {
		fprintf(stderr, "coved router: %s '%s' is invalid: 0 to %u\n", opt, arg, max);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

int router_main(int argc, char **argv)
{
	enum { OPT_SPACE = 256, OPT_TABLE, OPT_LOG, OPT_LISTEN, OPT_NETNS, OPT_INTERNAL, OPT_THREADS, OPT_DRAIN, OPT_POLL_US, OPT_IO_URING, OPT_DEBUG };
	static const struct option longopts[] = {
		{ "space", required_argument, NULL, OPT_SPACE },
		{ "table", required_argument, NULL, OPT_TABLE },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "netns", required_argument, NULL, OPT_NETNS },
		{ "internal", required_argument, NULL, OPT_INTERNAL },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "drain", required_argument, NULL, OPT_DRAIN },
		{ "poll-us", required_argument, NULL, OPT_POLL_US },
		{ "io-uring", required_argument, NULL, OPT_IO_URING },
		{ "debug", no_argument, NULL, OPT_DEBUG },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct router_config cfg = { .space = "-", .poll_us = ROUTER_POLL_US_DEFAULT };
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_SPACE:
			cfg.space = optarg;
			break;
		case OPT_TABLE:
			cfg.table_path = optarg;
			break;
		case OPT_LOG:
			cfg.log_path = optarg;
			break;
		case OPT_LISTEN:
			cfg.listen = optarg;
			break;
		case OPT_NETNS:
			cfg.netns_path = optarg;
			break;
		case OPT_INTERNAL:
			cfg.internal = optarg;
			break;
		case OPT_THREADS:
			if (option_number("--threads", optarg, THREADS_MAX, &cfg.threads) < 0)
				return 2;
			break;
		case OPT_DRAIN:
			if (option_number("--drain", optarg, 3600, &cfg.drain_s) < 0)
				return 2;
			break;
		case OPT_POLL_US:
			if (option_number("--poll-us", optarg, 10000, &cfg.poll_us) < 0)
				return 2;
			break;
		case OPT_IO_URING:
			if (!streq(optarg, "on") && !streq(optarg, "off")) {
				fprintf(stderr, "coved router: --io-uring '%s' is invalid: on or off\n", optarg);
				return 2;
			}
			cfg.no_io_uring = streq(optarg, "off");
			break;
		case OPT_DEBUG:
			log_set_level(LOG_LEVEL_DEBUG);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc || !cfg.table_path) {
		usage(stderr);
		return 2;
	}
	struct error err = { 0 };
	if (router_run(&cfg, &err) < 0) {
		fprintf(stderr, "coved router: %s\n", err.message);
		return 1;
	}
	return 0;
}
