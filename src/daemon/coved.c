/* SPDX-License-Identifier: MIT */
/*
 * coved: the cove daemon. One binary carries every server role:
 *
 *   coved [OPTIONS]          all roles on one host (the default): the API, and an agent for
 *                            this host, started as a child process and restarted if it dies
 *   coved api [OPTIONS]      the control plane only
 *   coved agent [OPTIONS]    the agent of this host, for an API elsewhere
 *   coved receive-hook       the build of a git push: the pre-receive hook that the API's
 *                            git server installs (src/build/build.h); not for people
 *
 * The agent always talks to the API over HTTP, even on one host, so that the single-host and
 * multi-host paths are the same code. Stopping coved stops the agent but never the dynos: they
 * are adopted again by the next agent. The API serves on its own thread; the main thread waits
 * for signals. State lives in DATA_DIR (docs/operations.md).
 */
#include <fcntl.h>
#include <linux/close_range.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "api/api-auth.h"
#include "api/api-hosts.h"
#include "api/api.h"
#include "base/alloc.h"
#include "base/crypto.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/reaper.h"
#include "base/strbuf.h"
#include "base/validate.h"
#include "build/build-buildpack.h"
#include "build/build.h"
#include "dns/dns.h"
#include "router/router-table.h"
#include "router/router.h"
#include "sandbox/sandbox.h"
#include "store/store.h"
#include "tls/tls.h"

#define DEFAULT_LISTEN "127.0.0.1:5000"
#define DEFAULT_DATA_DIR ".cove"
#define DEFAULT_REGIONS "virginia,oregon,frankfurt,tokyo,dublin,sydney"
#define DEFAULT_OUTBOUND_POOL "198.18.0.0/24"
#define BODY_MAX (1024 * 1024)

struct options {
	const char *role;
	char *data_dir;
	const char *listen;
	char *listen_tls;         /* NULL: HTTP only (--listen-tls off) */
	const char *tls_cert;
	const char *tls_key;
	const char *store_url;
	const char *regions_arg;
	char **regions;
	const char *apps_domain;
	const char *api_url;      /* agent */
	const char *token_file;   /* agent */
	const char *outbound_pool;
	unsigned boot_timeout_s;
	unsigned stop_timeout_s;
	unsigned router_port;           /* api (web_url) and agent */
	const char *router_timeouts;    /* agent */
	unsigned router_threads;        /* agent */
	const char *dns_upstreams;      /* agent */
	const char *rendezvous_listen;  /* agent */
	bool debug;
	char *buildpacks_dir;     /* api */
	unsigned build_timeout_s; /* api */
	uint64_t slug_max;        /* api */
	bool build_no_network;    /* api */
};

static void usage(FILE *f)
{
	fputs("usage: coved [api|agent] [OPTIONS]\n"
	      "\n"
	      "Runs the cove platform daemon. With no role, every role runs on this host.\n"
	      "\n"
	      "  --data-dir DIR         where state lives (default ./" DEFAULT_DATA_DIR ")\n"
	      "  --debug                log every request\n"
	      "  --version              print the version\n"
	      "\n"
	      "API (coved, coved api):\n"
	      "  --listen HOST:PORT     where the API listens (default " DEFAULT_LISTEN "; port 0 picks one)\n"
	      "  --listen-tls HOST:PORT where the API and git answer over HTTPS (default: the port after\n"
	      "                         --listen's, or any free one with port 0; 'off' for none)\n"
	      "  --tls-cert FILE        the server certificate chain (PEM); default: one that coved\n"
	      "                         makes with its own CA in DATA_DIR/tls (trust DATA_DIR/tls/ca.pem)\n"
	      "  --tls-key FILE         the private key of --tls-cert (PEM)\n"
	      "  --store URL            the store (default sqlite:DATA_DIR/cove.db)\n"
	      "  --regions A,B,...      the regions this installation offers\n"
	      "                         (default " DEFAULT_REGIONS ")\n"
	      "  --apps-domain NAME     apps answer at <app>.<space>.NAME (default localhost)\n"
	      "  --buildpacks-dir DIR   the buildpacks cove ships (default: next to coved)\n"
	      "  --build-timeout SEC    a build may take this long (default 900)\n"
	      "  --slug-max MB          the largest slug a build may make (default 500)\n"
	      "  --no-build-network     builds get no network at all, not even the registry proxy\n"
	      "\n"
	      "Agent (coved, coved agent):\n"
	      "  --api URL              the API to serve (coved agent only)\n"
	      "  --token-file FILE      the host token (coved agent only; see 'cove hosts:create')\n"
	      "  --outbound-pool CIDR   addresses spaces leave from (default " DEFAULT_OUTBOUND_POOL ")\n"
	      "  --boot-timeout SEC     web dynos must bind $PORT within this (default 60)\n"
	      "  --stop-timeout SEC     SIGKILL this long after SIGTERM (default 30)\n"
	      "  --rendezvous-listen HOST:PORT  where `run` sessions attach, over TLS with\n"
	      "                         DATA_DIR/tls/server.pem (default: the API's host, port 0)\n"
	      "\n"
	      "Routers (coved, coved agent; and --router-port for coved api, in apps' web_url):\n"
	      "  --router-port PORT     each space's router listens on this port of the space's\n"
	      "                         ingress address (default 80)\n"
	      "  --router-timeouts T    seconds: connect=5,response=30,idle=55,header=30,keepalive=90\n"
	      "  --router-threads N     event loops per router (default: one per CPU, up to 8)\n"
	      "\n"
	      "Resolvers (coved, coved agent):\n"
	      "  --dns-upstream LIST    where the spaces' resolvers send names not their own:\n"
	      "                         ADDR[:PORT],... (up to 3), or 'none' to refuse them\n"
	      "                         (default: the nameservers of /etc/resolv.conf)\n",
	      f);
}

static int parse_regions(const char *list, char ***ret, struct error *err)
{
	_cleanup_free_ char *copy = xstrdup(list);
	size_t n = 0;
	char **regions = xcalloc(strlen(list) / 2 + 2, sizeof(char *));
	char *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int r = validate_name("region", tok, 30, err);
		if (r < 0) {
			for (size_t i = 0; i < n; i++)
				free(regions[i]);
			free(regions);
			return r;
		}
		regions[n++] = xstrdup(tok);
	}
	if (n == 0) {
		free(regions);
		return error_set(err, -EINVAL, "--regions is empty");
	}
	*ret = regions;
	return 0;
}

static int parse_seconds(const char *what, const char *s, unsigned *ret, struct error *err)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < 1 || v > 3600)
		return error_set(err, -EINVAL, "%s '%s' is invalid: 1 to 3600 seconds", what, s);
	*ret = (unsigned)v;
	return 0;
}

/* HTTPS beside HTTP by default: the same host, the next port (any free one for port 0). */
static int listen_tls_default(const char *listen, char **ret, struct error *err)
{
	const char *colon = strrchr(listen, ':');
	char *end;
	long port = colon ? strtol(colon + 1, &end, 10) : -1;
	if (!colon || !colon[1] || *end || port < 0 || port > 65535)
		return error_set(err, -EINVAL, "listen address '%s' is invalid: expected host:port", listen);
	if (port == 65535)
		return error_set(err, -EINVAL, "--listen '%s' leaves no next port for HTTPS: name one with --listen-tls",
				 listen);
	*ret = xasprintf("%.*s:%ld", (int)(colon - listen), listen, port ? port + 1 : 0);
	return 0;
}

static int parse_options(int argc, char **argv, struct options *o, struct error *err)
{
	enum {
		OPT_DATA_DIR = 256,
		OPT_LISTEN,
		OPT_STORE,
		OPT_REGIONS,
		OPT_APPS_DOMAIN,
		OPT_DEBUG,
		OPT_VERSION,
		OPT_API,
		OPT_TOKEN_FILE,
		OPT_OUTBOUND_POOL,
		OPT_BOOT_TIMEOUT,
		OPT_STOP_TIMEOUT,
		OPT_ROUTER_PORT,
		OPT_ROUTER_TIMEOUTS,
		OPT_ROUTER_THREADS,
		OPT_DNS_UPSTREAM,
		OPT_REGION,
		OPT_BUILDPACKS_DIR,
		OPT_BUILD_TIMEOUT,
		OPT_SLUG_MAX,
		OPT_NO_BUILD_NETWORK,
		OPT_RENDEZVOUS_LISTEN,
		OPT_LISTEN_TLS,
		OPT_TLS_CERT,
		OPT_TLS_KEY,
	};
	static const struct option longopts[] = {
		{ "data-dir", required_argument, NULL, OPT_DATA_DIR },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "store", required_argument, NULL, OPT_STORE },
		{ "regions", required_argument, NULL, OPT_REGIONS },
		{ "apps-domain", required_argument, NULL, OPT_APPS_DOMAIN },
		{ "debug", no_argument, NULL, OPT_DEBUG },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "api", required_argument, NULL, OPT_API },
		{ "token-file", required_argument, NULL, OPT_TOKEN_FILE },
		{ "outbound-pool", required_argument, NULL, OPT_OUTBOUND_POOL },
		{ "boot-timeout", required_argument, NULL, OPT_BOOT_TIMEOUT },
		{ "stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT },
		{ "router-port", required_argument, NULL, OPT_ROUTER_PORT },
		{ "router-timeouts", required_argument, NULL, OPT_ROUTER_TIMEOUTS },
		{ "router-threads", required_argument, NULL, OPT_ROUTER_THREADS },
		{ "dns-upstream", required_argument, NULL, OPT_DNS_UPSTREAM },
		{ "region", required_argument, NULL, OPT_REGION },
		{ "buildpacks-dir", required_argument, NULL, OPT_BUILDPACKS_DIR },
		{ "build-timeout", required_argument, NULL, OPT_BUILD_TIMEOUT },
		{ "slug-max", required_argument, NULL, OPT_SLUG_MAX },
		{ "no-build-network", no_argument, NULL, OPT_NO_BUILD_NETWORK },
		{ "rendezvous-listen", required_argument, NULL, OPT_RENDEZVOUS_LISTEN },
		{ "listen-tls", required_argument, NULL, OPT_LISTEN_TLS },
		{ "tls-cert", required_argument, NULL, OPT_TLS_CERT },
		{ "tls-key", required_argument, NULL, OPT_TLS_KEY },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *data_dir = DEFAULT_DATA_DIR;
	const char *listen_tls = NULL;
	*o = (struct options){
		.role = "all",
		.listen = DEFAULT_LISTEN,
		.apps_domain = "localhost",
		.regions_arg = DEFAULT_REGIONS,
		.outbound_pool = DEFAULT_OUTBOUND_POOL,
		.boot_timeout_s = 60,
		.router_port = 80,
		.stop_timeout_s = 30,
	};
	if (argc > 1 && argv[1][0] != '-') {
		o->role = argv[1];
		argv++;
		argc--;
	}
	if (!streq(o->role, "all") && !streq(o->role, "api") && !streq(o->role, "agent"))
		return error_set(err, -EINVAL, "role '%s' is unknown: use api or agent, or no role for all of them", o->role);
	int c, r;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_DATA_DIR:
			data_dir = optarg;
			break;
		case OPT_LISTEN:
			o->listen = optarg;
			break;
		case OPT_STORE:
			o->store_url = optarg;
			break;
		case OPT_REGIONS:
			o->regions_arg = optarg;
			break;
		case OPT_REGION:
			/* The regions of an agent's host are those it was registered with. */
			break;
		case OPT_APPS_DOMAIN:
			o->apps_domain = optarg;
			break;
		case OPT_DEBUG:
			o->debug = true;
			log_set_level(LOG_LEVEL_DEBUG);
			break;
		case OPT_API:
			o->api_url = optarg;
			break;
		case OPT_TOKEN_FILE:
			o->token_file = optarg;
			break;
		case OPT_OUTBOUND_POOL:
			o->outbound_pool = optarg;
			break;
		case OPT_BOOT_TIMEOUT:
			if ((r = parse_seconds("--boot-timeout", optarg, &o->boot_timeout_s, err)) < 0)
				return r;
			break;
		case OPT_RENDEZVOUS_LISTEN:
			o->rendezvous_listen = optarg;
			break;
		case OPT_ROUTER_PORT: {
			char *end;
			long port = strtol(optarg, &end, 10);
			if (!*optarg || *end || port < 1 || port > 65535)
				return error_set(err, -EINVAL, "--router-port '%s' is invalid: 1 to 65535", optarg);
			o->router_port = (unsigned)port;
			break;
		}
		case OPT_ROUTER_TIMEOUTS: {
			struct router_timeouts t;
			if ((r = router_timeouts_parse(optarg, &t, err)) < 0)
				return r;
			o->router_timeouts = optarg;
			break;
		}
		case OPT_ROUTER_THREADS: {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (!*optarg || *end || n < 1 || n > 64)
				return error_set(err, -EINVAL, "--router-threads '%s' is invalid: 1 to 64", optarg);
			o->router_threads = (unsigned)n;
			break;
		}
		case OPT_DNS_UPSTREAM:
			if ((r = dns_upstreams_check(optarg, err)) < 0)
				return r;
			o->dns_upstreams = optarg;
			break;
		case OPT_STOP_TIMEOUT:
			if ((r = parse_seconds("--stop-timeout", optarg, &o->stop_timeout_s, err)) < 0)
				return r;
			break;
		case OPT_BUILDPACKS_DIR:
			free(o->buildpacks_dir);
			o->buildpacks_dir = realpath(optarg, NULL);
			if (!o->buildpacks_dir)
				return error_set(err, -errno, "--buildpacks-dir '%s': %m", optarg);
			break;
		case OPT_BUILD_TIMEOUT:
			if ((r = parse_seconds("--build-timeout", optarg, &o->build_timeout_s, err)) < 0)
				return r;
			break;
		case OPT_SLUG_MAX: {
			char *end;
			unsigned long long mb = strtoull(optarg, &end, 10);
			if (!*optarg || *end || mb < 1 || mb > 100000)
				return error_set(err, -EINVAL, "--slug-max '%s' is invalid: 1 to 100000 MB", optarg);
			o->slug_max = mb * 1024 * 1024;
			break;
		}
		case OPT_NO_BUILD_NETWORK:
			o->build_no_network = true;
			break;
		case OPT_LISTEN_TLS:
			listen_tls = optarg;
			break;
		case OPT_TLS_CERT:
			o->tls_cert = optarg;
			break;
		case OPT_TLS_KEY:
			o->tls_key = optarg;
			break;
		case OPT_VERSION:
			puts("coved " COVE_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind < argc)
		return error_set(err, -EINVAL, "unexpected argument '%s'", argv[optind]);
	if (streq(o->role, "agent") && (!o->api_url || !o->token_file))
		return error_set(err, -EINVAL, "coved agent needs --api URL and --token-file FILE");
	if (!o->tls_cert != !o->tls_key)
		return error_set(err, -EINVAL, "--tls-cert and --tls-key go together");
	if (!listen_tls) {
		r = listen_tls_default(o->listen, &o->listen_tls, err);
		if (r < 0)
			return r;
	} else if (!streq(listen_tls, "off")) {
		o->listen_tls = xstrdup(listen_tls);
	}
	struct cidr4 pool;
	r = cidr4_parse(o->outbound_pool, 8, 32, &pool, err);
	if (r < 0)
		return r;
	r = mkdir_p(data_dir, 0700, err);
	if (r < 0)
		return r;
	o->data_dir = realpath(data_dir, NULL);
	if (!o->data_dir)
		return error_set(err, -errno, "data directory '%s': %m", data_dir);
	if (!o->buildpacks_dir)
		o->buildpacks_dir = buildpack_shipped_dir_default();
	return parse_regions(o->regions_arg, &o->regions, err);
}

static void options_free(struct options *o)
{
	for (char **r = o->regions; r && *r; r++)
		free(*r);
	free(o->regions);
	free(o->data_dir);
	free(o->buildpacks_dir);
	free(o->listen_tls);
}

static int run_agent(const struct options *o)
{
	struct error err = { 0 };
	_cleanup_free_ char *token = NULL;
	if (file_read(o->token_file, 4096, &token, NULL, &err) < 0) {
		fprintf(stderr, "coved agent: %s\n", err.message);
		return 1;
	}
	token[strcspn(token, "\r\n")] = '\0';
	struct agent_config cfg = {
		.api_url = o->api_url,
		.token = token,
		.data_dir = o->data_dir,
		.outbound_pool = o->outbound_pool,
		.boot_timeout_s = o->boot_timeout_s,
		.stop_timeout_s = o->stop_timeout_s,
		.router_port = o->router_port,
		.router_timeouts = o->router_timeouts,
		.router_threads = o->router_threads,
		.dns_upstreams = o->dns_upstreams,
		.rendezvous_listen = o->rendezvous_listen ? o->rendezvous_listen : "127.0.0.1:0",
	};
	if (agent_run(&cfg, &err) < 0) {
		fprintf(stderr, "coved agent: %s\n", err.message);
		return 1;
	}
	return 0;
}

/* ---- all roles on one host: the agent as a supervised child ---------------------------- */

static pid_t agent_spawn(const struct options *o, const char *api_url, const char *token_file)
{
	char boot[16], stop[16], router_port[16], router_threads[16];
	snprintf(boot, sizeof(boot), "%u", o->boot_timeout_s);
	snprintf(stop, sizeof(stop), "%u", o->stop_timeout_s);
	snprintf(router_port, sizeof(router_port), "%u", o->router_port);
	snprintf(router_threads, sizeof(router_threads), "%u", o->router_threads);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	/* The agent goes with coved; its dynos stay. Should coved have died before the death signal
	 * was armed, the agent would outlive it: check. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(0);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	const char *argv[32] = { "coved", "agent", "--api", api_url, "--token-file", token_file, "--data-dir", o->data_dir,
				 "--outbound-pool", o->outbound_pool, "--boot-timeout", boot, "--stop-timeout", stop,
				 "--router-port", router_port };
	size_t n = 16;
	if (o->router_threads) {
		argv[n++] = "--router-threads";
		argv[n++] = router_threads;
	}
	if (o->router_timeouts) {
		argv[n++] = "--router-timeouts";
		argv[n++] = o->router_timeouts;
	}
	if (o->dns_upstreams) {
		argv[n++] = "--dns-upstream";
		argv[n++] = o->dns_upstreams;
	}
	/* Sessions of `run` attach where clients reach the API, on a port of their own. */
	_cleanup_free_ char *rendezvous = NULL;
	if (!o->rendezvous_listen) {
		const char *colon = strrchr(o->listen, ':');
		rendezvous = xasprintf("%.*s:0", colon ? (int)(colon - o->listen) : 9, colon ? o->listen : "127.0.0.1");
	}
	argv[n++] = "--rendezvous-listen";
	argv[n++] = o->rendezvous_listen ? o->rendezvous_listen : rendezvous;
	if (o->debug)
		argv[n++] = "--debug";
	argv[n] = NULL;
	execv("/proc/self/exe", (char *const *)argv);
	fprintf(stderr, "coved: start the agent: %m\n");
	_exit(127);
}

static int register_local_host(struct store *store, const struct options *o, const char *run_dir, char **ret_path,
			       struct error *err)
{
	_cleanup_strbuf_ struct strbuf regions = STRBUF_INIT;
	for (char **r = o->regions; *r; r++)
		strbuf_addf(&regions, "%s%s", regions.len ? "," : "", *r);
	char token[HOST_TOKEN_MAX];
	int r = api_host_register(store, "local", regions.buf, token, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = xasprintf("%s/host.token", run_dir);
	_cleanup_free_ char *text = xasprintf("%s\n", token);
	r = file_write_atomic(path, text, strlen(text), 0600, err);
	if (r < 0)
		return r;
	*ret_path = TAKE_PTR(path);
	return 0;
}

/*
 * The certificate of the HTTPS listener: the operator's, or one from coved's own CA in
 * DATA_DIR/tls, made on first start (tls/tls.h). It also names the address HTTPS listens on
 * when that is a particular one.
 */
static int tls_identity_setup(const struct options *o, struct tls_identity *ret, struct error *err)
{
	if (o->tls_cert)
		return tls_identity_load(o->tls_cert, o->tls_key, ret, err);
	const char *hosts[8];
	size_t n = 0;
	for (const char *const *h = tls_default_hosts(); *h; h++)
		hosts[n++] = *h;
	_cleanup_free_ char *host = xstrdup(o->listen_tls);
	char *colon = strrchr(host, ':');
	if (colon) {
		*colon = '\0';
		char *name = host;
		if (name[0] == '[') {
			name++;
			name[strcspn(name, "]")] = '\0';
		}
		bool known = !*name || streq(name, "0.0.0.0") || streq(name, "::");
		for (size_t i = 0; i < n && !known; i++)
			known = streq(hosts[i], name);
		if (!known)
			hosts[n++] = name;
	}
	hosts[n] = NULL;
	_cleanup_free_ char *dir = xasprintf("%s/tls", o->data_dir);
	return tls_local_ca_ensure(dir, hosts, ret, err);
}

int main(int argc, char **argv)
{
	/* The router of a space, started by the agent: a process of its own with its own options. */
	if (argc > 1 && streq(argv[1], "router"))
		return router_main(argc - 1, argv + 1);
	/* The resolver of a space, started by the agent likewise. */
	if (argc > 1 && streq(argv[1], "dns"))
		return dns_main(argc - 1, argv + 1);

	struct error err = { 0 };
	struct options o;
	if (argc == 2 && streq(argv[1], "receive-hook"))
		return build_receive_hook_main();
	/* A daemon keeps no descriptor it did not open: whatever its starter left open (a test
	 * harness's pipes, say) would otherwise live on in the agent, routers and shims. */
	close_range(3, ~0U, 0);
	if (parse_options(argc, argv, &o, &err) < 0) {
		fprintf(stderr, "coved: %s\n", err.message);
		return 2;
	}
	if (crypto_init() < 0) {
		fprintf(stderr, "coved: libsodium failed to initialise\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if (streq(o.role, "agent")) {
		int rc = run_agent(&o);
		options_free(&o);
		return rc;
	}

	/* Signals are taken synchronously by the main thread; block them before threads start. */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);

	_cleanup_free_ char *run_dir = xasprintf("%s/run", o.data_dir);
	if (mkdir_p(run_dir, 0700, &err) < 0) {
		fprintf(stderr, "coved: %s\n", err.message);
		return 1;
	}
	_cleanup_free_ char *store_url = o.store_url ? xstrdup(o.store_url) : xasprintf("sqlite:%s/cove.db", o.data_dir);
	struct store *store = NULL;
	if (store_open(store_url, &store, &err) < 0) {
		fprintf(stderr, "coved: %s\n", err.message);
		return 1;
	}
	bool created;
	if (api_bootstrap(store, o.data_dir, &created, &err) < 0) {
		fprintf(stderr, "coved: %s\n", err.message);
		store_close(store);
		options_free(&o);
		return 1;
	}
	_cleanup_free_ char *token_file = NULL;
	bool with_agent = streq(o.role, "all");
	if (with_agent && geteuid() != 0) {
		log_warning("not running as root: no agent on this host, so spaces stay 'allocating' and no dyno runs");
		with_agent = false;
	}
	if (with_agent && register_local_host(store, &o, run_dir, &token_file, &err) < 0) {
		fprintf(stderr, "coved: register this host: %s\n", err.message);
		store_close(store);
		options_free(&o);
		return 1;
	}

	struct tls_identity tls = { 0 };
	if (o.listen_tls && tls_identity_setup(&o, &tls, &err) < 0) {
		fprintf(stderr, "coved: %s\n", err.message);
		error_clear(&err);
		tls_identity_release(&tls);
		store_close(store);
		options_free(&o);
		return 1;
	}
	struct api_config cfg = {
		.data_dir = o.data_dir,
		.listen = o.listen,
		.listen_tls = o.listen_tls,
		.tls_cert_pem = tls.cert_pem,
		.tls_key_pem = tls.key_pem,
		.regions = (const char *const *)o.regions,
		.body_max = BODY_MAX,
		.apps_domain = o.apps_domain,
		.router_port = o.router_port,
		.buildpacks_dir = o.buildpacks_dir,
		.build_timeout_s = o.build_timeout_s,
		.slug_max = o.slug_max,
		.build_no_network = o.build_no_network,
	};
	struct api *api = NULL;
	if (api_start(&cfg, store, &api, &err) < 0) {
		fprintf(stderr, "coved: %s\n", err.message);
		error_clear(&err);
		tls_identity_release(&tls);
		store_close(store);
		options_free(&o);
		return 1;
	}
	_cleanup_free_ char *url_path = xasprintf("%s/api.url", run_dir);
	_cleanup_free_ char *url_text = xasprintf("%s\n", api_url(api));
	if (file_write_atomic(url_path, url_text, strlen(url_text), 0644, &err) < 0)
		log_warning("%s", err.message);
	_cleanup_free_ char *tls_url_path = xasprintf("%s/api-tls.url", run_dir);
	if (api_url_tls(api)) {
		_cleanup_free_ char *text = xasprintf("%s\n", api_url_tls(api));
		if (file_write_atomic(tls_url_path, text, strlen(text), 0644, &err) < 0)
			log_warning("%s", err.message);
	} else {
		unlink(tls_url_path);
	}

	fprintf(stderr,
		"coved %s: serving the API at %s\n"
		"  data directory: %s\n"
		"  admin token:    %s/admin.token (admin@cove.local%s)\n"
		"  try:            COVE_API_URL=%s COVE_API_KEY=$(cat %s/admin.token) cove spaces\n",
		COVE_VERSION, api_url(api), o.data_dir, o.data_dir, created ? ", created now" : "", api_url(api),
		o.data_dir);
	if (api_url_tls(api))
		fprintf(stderr, "  over HTTPS:     %s (API and git)%s%s\n", api_url_tls(api),
			tls.ca_path ? "\n  clients trust:  " : "", tls.ca_path ? tls.ca_path : "");

	pid_t agent = with_agent ? agent_spawn(&o, api_url(api), token_file) : 0;
	time_t agent_started = time(NULL);
	for (;;) {
		int sig = 0;
		sigwait(&mask, &sig);
		if (sig != SIGCHLD) {
			log_info("stopping on signal %d", sig);
			break;
		}
		/* Only the agent and the children handed to the reaper: a thread that waits for
		 * its own child (pg_dump) must get its exit status. */
		reaper_collect();
		int status;
		if (agent > 0 && waitpid(agent, &status, WNOHANG) == agent) {
			log_warning("the agent exited with status %d; starting it again", status);
			/* Not faster than once a second. */
			if (time(NULL) - agent_started < 1)
				sleep(1);
			agent = agent_spawn(&o, api_url(api), token_file);
			agent_started = time(NULL);
		}
	}
	if (agent > 0) {
		kill(agent, SIGTERM);
		for (int i = 0; i < 100 && waitpid(agent, NULL, WNOHANG) == 0; i++)
			usleep(50 * 1000);
		kill(agent, SIGKILL);
		waitpid(agent, NULL, 0);
	}
	api_stop(api);
	store_close(store);
	tls_identity_release(&tls);
	options_free(&o);
	return 0;
}
