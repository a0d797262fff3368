/* SPDX-License-Identifier: MIT */
/*
 * The agent's side of the space routers (see agent-router.h). A router is a detached process
 * (agent-detach.h): started the way a dyno's shim is, so that it belongs to no process and no
 * session of the agent, watched with a pidfd, identified by its pid and start time.
 *
 * The table is built from the desired state (apps of the space, their domains, maintenance,
 * internal routing, web quantity) and from the dynos of this host: web dynos that are `up`
 * and not stopping. A web dyno adopted after an agent restart is `starting` until its port is
 * seen again; if the last table routed to it, it stays in, so that an agent restart never
 * takes a dyno out of rotation.
 */
#include "agent/agent-router.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent-detach.h"
#include "agent/agent-space.h"
#include "base/alloc.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "net/net-netns.h"
#include "router/router-table.h"

#define USEC 1000000ull
#define ROUTER_STOP_USEC (15 * USEC) /* its drain (10 s) and some */

struct agent_router {
	char space_id[ID_STRING_MAX];
	char space_name[64];
	struct agent_detached proc;
	char listen[32], internal[32];
	json_t *table;         /* the table last written */
	char *table_text;
	bool wanted;           /* its space is here and not going */
};

struct agent_routers {
	struct agent_router **v;
	size_t n;
};

static char *router_path(struct agent *a, const char *space_id, const char *ext)
{
	return xasprintf("%s/routers/%s.%s", a->state_dir, space_id, ext);
}

void agent_router_ingress(const struct agent_space *s, char ret[static 16])
{
	struct in_addr in = { .s_addr = htonl((127u << 24) + 512u + s->uplink_index) };
	inet_ntop(AF_INET, &in, ret, 16);
}

void agent_router_listen(struct agent *a, const struct agent_space *s, char ret[static 32])
{
	char ingress[16];
	agent_router_ingress(s, ingress);
	snprintf(ret, 32, "%s:%u", ingress, a->cfg->router_port);
}

static struct agent_router *router_find(struct agent *a, const char *space_id)
{
	for (size_t i = 0; a->routers && i < a->routers->n; i++)
		if (streq(a->routers->v[i]->space_id, space_id))
			return a->routers->v[i];
	return NULL;
}

static struct agent_router *router_add(struct agent *a, const char *space_id)
{
	struct agent_router *r = xcalloc(1, sizeof(*r));
	snprintf(r->space_id, sizeof(r->space_id), "%s", space_id);
	r->proc = (struct agent_detached)AGENT_DETACHED_INIT;
	struct agent_routers *rs = a->routers;
	rs->v = xrealloc(rs->v, (rs->n + 1) * sizeof(*rs->v));
	rs->v[rs->n++] = r;
	return r;
}

static void router_forget(struct agent *a, struct agent_router *r)
{
	struct agent_routers *rs = a->routers;
	for (size_t i = 0; i < rs->n; i++)
		if (rs->v[i] == r) {
			rs->v[i] = rs->v[--rs->n];
			break;
		}
	agent_detached_release(&r->proc);
	json_decref(r->table);
	free(r->table_text);
	free(r);
}

/* Writes a file whole (temporary file and rename): the router reloads on the rename. */
static int write_replace(const char *path, const char *text, struct error *err)
{
	_cleanup_free_ char *tmp = xasprintf("%s.tmp", path);
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return error_set(err, -errno, "write '%s': %m", tmp);
	size_t len = strlen(text);
	if (write(fd, text, len) != (ssize_t)len) {
		int r = error_set(err, -errno, "write '%s': %m", tmp);
		unlink(tmp);
		return r;
	}
	if (rename(tmp, path) < 0) {
		int r = error_set(err, -errno, "rename '%s': %m", tmp);
		unlink(tmp);
		return r;
	}
	return 0;
}

int agent_routers_load(struct agent *a, struct error *err)
{
	a->routers = xcalloc(1, sizeof(*a->routers));
	_cleanup_free_ char *dir = xasprintf("%s/routers", a->state_dir);
	int ret = mkdir_p(dir, 0700, err);
	if (ret < 0)
		return ret;
	DIR *d = opendir(dir);
	if (!d)
		return error_set(err, -errno, "open '%s': %m", dir);
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 5 || !streq(de->d_name + len - 4, ".pid"))
			continue;
		char space_id[ID_STRING_MAX];
		snprintf(space_id, sizeof(space_id), "%.*s", (int)(len - 4), de->d_name);
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, de->d_name), *text = NULL;
		struct agent_router *r = router_add(a, space_id);
		if (!agent_detached_adopt(&r->proc, path, &text)) {
			log_info("agent: the router of space %s ended while the agent was away", space_id);
			continue;
		}
		const char *listen = strstr(text, "listen="), *internal = strstr(text, "internal=");
		if (listen)
			sscanf(listen, "listen=%31s", r->listen);
		if (internal)
			sscanf(internal, "internal=%31s", r->internal);
		_cleanup_free_ char *table = router_path(a, space_id, "json");
		r->table = json_load_file(table, 0, NULL);
		r->table_text = r->table ? json_dumps(r->table, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		log_info("agent: adopted the router of space %s (pid %d)", space_id, (int)r->proc.pid);
	}
	closedir(d);
	return 0;
}

/* Whether the last table of the router sent requests to the dyno. */
static bool was_routed(const struct agent_router *r, const char *dyno_id)
{
	size_t i, k;
	json_t *app, *d;
	json_array_foreach(json_object_get(r->table, "apps"), i, app)
	{
		json_array_foreach(json_object_get(app, "dynos"), k, d)
		{
			if (streq_ptr(json_string_value(json_object_get(d, "id")), dyno_id))
				return true;
		}
	}
	return false;
}

static json_t *table_build(struct agent *a, const struct agent_space *s, const struct agent_router *r)
{
	struct router_timeouts t = router_timeouts_default;
	if (a->cfg->router_timeouts)
		router_timeouts_parse(a->cfg->router_timeouts, &t, NULL);
	json_t *apps = json_array();
	size_t i;
	json_t *app;
	json_array_foreach(json_object_get(a->desired, "apps"), i, app)
	{
		const char *app_id = json_string_value(json_object_get(app, "id"));
		if (!app_id || !streq_ptr(json_string_value(json_object_get(app, "space_id")), s->id))
			continue;
		json_int_t web = 0;
		size_t k;
		json_t *f;
		json_array_foreach(json_object_get(app, "formation"), k, f)
		{
			if (streq_ptr(json_string_value(json_object_get(f, "type")), "web"))
				web = json_integer_value(json_object_get(f, "quantity"));
		}
		json_t *dynos = json_array();
		for (size_t n = 0; n < a->n_dynos; n++) {
			const struct agent_dyno *d = a->dynos[n];
			if (!streq(d->app_id, app_id) || !d->port || !d->running || d->stopping || d->remove)
				continue;
			if (d->state != DYNO_UP && !(d->state == DYNO_STARTING && was_routed(r, d->id)))
				continue;
			json_array_append_new(dynos, json_pack("{s:s, s:s, s:s, s:i}", "id", d->id, "name", d->name, "address",
							       d->ip, "port", (int)d->port));
		}
		json_t *domains = json_object_get(app, "domains");
		json_array_append_new(apps, json_pack("{s:s, s:s, s:b, s:b, s:I, s:O, s:o}", "id", app_id, "name",
						      json_string_value(json_object_get(app, "name")) ?: "", "maintenance",
						      json_is_true(json_object_get(app, "maintenance")), "internal",
						      json_is_true(json_object_get(app, "internal_routing")), "web", web,
						      "domains", json_is_array(domains) ? domains : json_array(), "dynos", dynos));
	}
	json_t *table = json_pack("{s:s, s:{s:i, s:i, s:i, s:i, s:i}, s:o}", "space", s->name, "timeouts", "connect_ms",
				  (int)t.connect_ms, "response_ms", (int)t.response_ms, "idle_ms", (int)t.idle_ms,
				  "header_ms", (int)t.header_ms, "keepalive_ms", (int)t.keepalive_ms, "apps", apps);
	/* The trusted IP ranges: the router checks each request's source too (router-table.h). */
	json_t *trusted = json_object_get(agent_space_desired(a, s->id), "inbound_rules");
	if (json_is_array(trusted))
		json_object_set(table, "trusted", trusted);
	return table;
}

static void table_write(struct agent *a, const struct agent_space *s, struct agent_router *r)
{
	if (!a->desired)
		return; /* after a restart, the table on disk serves until the API has spoken */
	json_t *t = table_build(a, s, r);
	char *text = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS);
	if (r->table_text && streq(text, r->table_text)) {
		free(text);
		json_decref(t);
		return;
	}
	_cleanup_free_ char *path = router_path(a, r->space_id, "json");
	struct error err = { 0 };
	if (write_replace(path, text, &err) < 0) {
		log_error("agent: routing table of space '%s': %s", s->name, err.message);
		free(text);
		json_decref(t);
		return;
	}
	free(r->table_text);
	json_decref(r->table);
	r->table_text = text;
	r->table = t;
}

/* Starts the router of a space, detached (agent-detach.h), unless its backoff is not over. */
static void router_start(struct agent *a, const struct agent_space *s, struct agent_router *r, uint64_t now)
{
	char netns[NET_NETNS_PATH_MAX], threads[16];
	struct error err = { 0 };
	if (net_netns_path(NET_NETNS_SPACE, s->id, netns, &err) < 0) {
		log_error("agent: %s", err.message);
		return;
	}
	snprintf(threads, sizeof(threads), "%u", a->cfg->router_threads);
	_cleanup_free_ char *table = router_path(a, s->id, "json"), *log = router_path(a, s->id, "log");
	_cleanup_free_ char *pid_path = router_path(a, s->id, "pid");
	char *const argv[] = { "coved", "router", "--space", (char *)s->name, "--table", table, "--log", log,
			       "--listen", r->listen, "--netns", netns, "--internal", r->internal, "--threads", threads,
			       NULL };
	_cleanup_free_ char *what = xasprintf("the router of space '%s'", s->name);
	_cleanup_free_ char *extra = xasprintf("listen=%s\ninternal=%s\n", r->listen, r->internal);
	bool was_running = r->proc.pid > 0;
	if (agent_detached_start(&r->proc, what, argv, pid_path, extra, now, &err) < 0)
		log_error("agent: %s", err.message);
	else if (!was_running && r->proc.pid > 0)
		log_info("agent: router of space '%s' started on %s (pid %d)", s->name, r->listen, (int)r->proc.pid);
}

static void router_ensure(struct agent *a, const struct agent_space *s, struct agent_router *r, uint64_t now)
{
	char listen[32], internal[32];
	agent_router_listen(a, s, listen);
	struct in_addr gw = { .s_addr = htonl(s->net.addr + 1) };
	char gateway[16];
	inet_ntop(AF_INET, &gw, gateway, sizeof(gateway));
	snprintf(internal, sizeof(internal), "%s:%u", gateway, AGENT_ROUTER_INTERNAL_PORT);
	snprintf(r->space_name, sizeof(r->space_name), "%s", s->name);
	if (r->proc.pid > 0 && (!streq(r->listen, listen) || !streq(r->internal, internal))) {
		log_info("agent: the router of space '%s' moves to %s", s->name, listen);
		agent_detached_stop(&r->proc, now, ROUTER_STOP_USEC);
	}
	if (r->proc.pid > 0)
		return;
	snprintf(r->listen, sizeof(r->listen), "%s", listen);
	snprintf(r->internal, sizeof(r->internal), "%s", internal);
	router_start(a, s, r, now);
}

void agent_routers_reconcile(struct agent *a)
{
	if (!a->routers)
		return;
	uint64_t now = time_mono_usec();
	for (size_t i = 0; i < a->routers->n; i++)
		a->routers->v[i]->wanted = false;
	for (size_t i = 0; i < a->n_spaces; i++) {
		struct agent_space *s = a->spaces[i];
		if (!s->ensured || s->deleting || !s->seen)
			continue;
		struct agent_router *r = router_find(a, s->id);
		if (!r)
			r = router_add(a, s->id);
		r->wanted = true;
		table_write(a, s, r);
		router_ensure(a, s, r, now);
	}
	for (size_t i = 0; i < a->routers->n;) {
		struct agent_router *r = a->routers->v[i];
		if (r->wanted) {
			i++;
			continue;
		}
		if (r->proc.pid > 0) {
			agent_detached_stop(&r->proc, now, ROUTER_STOP_USEC);
			i++;
			continue;
		}
		/* Its space is gone and so is it: nothing of it stays. */
		static const char *const exts[] = { "json", "pid", "log", "json.tmp" };
		for (size_t k = 0; k < ARRAY_SIZE(exts); k++) {
			_cleanup_free_ char *path = router_path(a, r->space_id, exts[k]);
			unlink(path);
		}
		router_forget(a, r);
	}
}

void agent_routers_dyno_changed(struct agent *a, const struct agent_dyno *d)
{
	if (!d->port || !a->routers)
		return;
	struct agent_space *s = agent_space_find(a, d->space_id);
	struct agent_router *r = router_find(a, d->space_id);
	if (s && r && r->wanted)
		table_write(a, s, r);
}

void agent_routers_tick(struct agent *a, uint64_t now)
{
	if (!a->routers)
		return;
	bool again = false;
	for (size_t i = 0; i < a->routers->n; i++) {
		struct agent_router *r = a->routers->v[i];
		_cleanup_free_ char *what = xasprintf("the router of space '%s'", r->space_name);
		_cleanup_free_ char *pid_path = router_path(a, r->space_id, "pid");
		again |= agent_detached_tick(&r->proc, what, pid_path, r->wanted, now);
	}
	if (again)
		agent_want_reconcile(a);
}

void agent_routers_free(struct agent *a)
{
	if (!a->routers)
		return;
	while (a->routers->n)
		router_forget(a, a->routers->v[0]);
	free(a->routers->v);
	free(a->routers);
	a->routers = NULL;
}
