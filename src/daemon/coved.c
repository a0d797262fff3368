/* SPDX-License-Identifier: MIT */
/*
 * coved: the cove daemon. One binary carries every server role:
 *
 *   coved [OPTIONS]        all roles on one host (the default)
 *   coved api [OPTIONS]    the control plane only
 *
 * The API serves on its own thread; the main thread waits for SIGTERM or SIGINT and stops
 * cleanly. State lives in DATA_DIR (see docs/operations.md).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/api-auth.h"
#include "api/api.h"
#include "base/alloc.h"
#include "base/crypto.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/validate.h"
#include "store/store.h"

#define DEFAULT_LISTEN "127.0.0.1:5000"
#define DEFAULT_DATA_DIR ".cove"
#define DEFAULT_REGIONS "virginia,oregon,frankfurt,tokyo,dublin,sydney"
#define BODY_MAX (1024 * 1024)

struct options {
	const char *role;
	char *data_dir;
	const char *listen;
	const char *store_url;
	char **regions;
	const char *apps_domain;
};

static void usage(FILE *f)
{
	fputs("usage: coved [api] [OPTIONS]\n"
	      "\n"
	      "Runs the cove platform daemon. With no role, every role runs on this host.\n"
	      "\n"
	      "  --data-dir DIR       where state lives (default ./" DEFAULT_DATA_DIR ")\n"
	      "  --listen HOST:PORT   where the API listens (default " DEFAULT_LISTEN "; port 0 picks one)\n"
	      "  --store URL          the store (default sqlite:DATA_DIR/cove.db)\n"
	      "  --regions A,B,...    the regions this installation offers\n"
	      "                       (default " DEFAULT_REGIONS ")\n"
	      "  --apps-domain NAME   apps answer at <app>.<space>.NAME (default localhost)\n"
	      "  --debug              log every request\n"
	      "  --version            print the version\n",
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

static int parse_options(int argc, char **argv, struct options *o, struct error *err)
{
	enum { OPT_DATA_DIR = 256, OPT_LISTEN, OPT_STORE, OPT_REGIONS, OPT_APPS_DOMAIN, OPT_DEBUG, OPT_VERSION };
	static const struct option longopts[] = {
		{ "data-dir", required_argument, NULL, OPT_DATA_DIR },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "store", required_argument, NULL, OPT_STORE },
		{ "regions", required_argument, NULL, OPT_REGIONS },
		{ "apps-domain", required_argument, NULL, OPT_APPS_DOMAIN },
		{ "debug", no_argument, NULL, OPT_DEBUG },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *regions = DEFAULT_REGIONS;
	const char *data_dir = DEFAULT_DATA_DIR;
	*o = (struct options){ .role = "all", .listen = DEFAULT_LISTEN, .apps_domain = "localhost" };
	if (argc > 1 && argv[1][0] != '-') {
		o->role = argv[1];
		argv++;
		argc--;
	}
	if (!streq(o->role, "all") && !streq(o->role, "api"))
		return error_set(err, -EINVAL, "role '%s' is unknown: use api, or no role for all of them", o->role);
	int c;
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
			regions = optarg;
			break;
		case OPT_APPS_DOMAIN:
			o->apps_domain = optarg;
			break;
		case OPT_DEBUG:
			log_set_level(LOG_LEVEL_DEBUG);
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
	int r = mkdir_p(data_dir, 0700, err);
	if (r < 0)
		return r;
	o->data_dir = realpath(data_dir, NULL);
	if (!o->data_dir)
		return error_set(err, -errno, "data directory '%s': %m", data_dir);
	return parse_regions(regions, &o->regions, err);
}

int main(int argc, char **argv)
{
	struct error err = { 0 };
	struct options o;
	if (parse_options(argc, argv, &o, &err) < 0) {
		fprintf(stderr, "coved: %s\n", err.message);
		return 2;
	}
	if (crypto_init() < 0) {
		fprintf(stderr, "coved: libsodium failed to initialise\n");
		return 1;
	}

	/* Signals are taken synchronously by the main thread; block them before threads start. */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

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
		return 1;
	}

	struct api_config cfg = {
		.data_dir = o.data_dir,
		.listen = o.listen,
		.regions = (const char *const *)o.regions,
		.body_max = BODY_MAX,
		.apps_domain = o.apps_domain,
	};
	struct api *api = NULL;
	if (api_start(&cfg, store, &api, &err) < 0) {
		fprintf(stderr, "coved: %s\n", err.message);
		store_close(store);
		return 1;
	}
	_cleanup_free_ char *url_path = xasprintf("%s/api.url", run_dir);
	_cleanup_free_ char *url_text = xasprintf("%s\n", api_url(api));
	if (file_write_atomic(url_path, url_text, strlen(url_text), 0644, &err) < 0)
		log_warning("%s", err.message);

	fprintf(stderr,
		"coved %s: serving the API at %s\n"
		"  data directory: %s\n"
		"  admin token:    %s/admin.token (admin@cove.local%s)\n"
		"  try:            COVE_API_URL=%s COVE_API_KEY=$(cat %s/admin.token) cove spaces\n",
		COVE_VERSION, api_url(api), o.data_dir, o.data_dir, created ? ", created now" : "", api_url(api),
		o.data_dir);

	int sig = 0;
	sigwait(&mask, &sig);
	log_info("stopping on signal %d", sig);
	api_stop(api);
	store_close(store);
	for (char **r = o.regions; *r; r++)
		free(*r);
	free(o.regions);
	free(o.data_dir);
	return 0;
}
