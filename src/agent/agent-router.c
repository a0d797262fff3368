/* SPDX-License-Identifier: MIT */
/*
 * The agent's side of the space routers (see agent-router.h). A router is started the way a
 * dyno's shim is: a fork that calls setsid() and forks again, so that the router belongs to
 * no process of the agent and to no session of it, and exec of /proc/self/exe as
 * `coved router ...`. The agent watches it with a pidfd (polled on the tick; it is not the
 * agent's child, so there is nothing to reap) and keeps its pid with its start time, the pair
 * that identifies a process for good.
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
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent-detach.h"
#include "agent/agent-space.h"
#include "base/alloc.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "net/net-netns.h"
#include "router/router-table.h"
#include "sandbox/sandbox-state.h"

#define USEC 1000000ull
#define ROUTER_BACKOFF_MAX_S 30
#define ROUTER_STOP_USEC (15 * USEC) /* its drain (10 s) and some */

struct agent_router {
	char space_id[ID_STRING_MAX];
	char space_name[64];
	pid_t pid;             /* 0: not running */
	uint64_t start;
	int pidfd;
	char listen[32], internal[32];
	json_t *table;         /* the table last written */
	char *table_text;
	unsigned crashes;
	uint64_t started_at;
	uint64_t restart_at;
	bool stopping;
	uint64_t kill_at;
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
	r->pidfd = -1;
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
	if (r->pidfd >= 0)
		close(r->pidfd);
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

static int pid_save(struct agent *a, const struct agent_router *r, struct error *err)
{
	_cleanup_free_ char *path = router_path(a, r->space_id, "pid");
	_cleanup_free_ char *text = xasprintf("pid=%d\nstart=%llu\nlisten=%s\ninternal=%s\n", (int)r->pid,
					      (unsigned long long)r->start, r->listen, r->internal);
	return file_write_atomic(path, text, strlen(text), 0600, err);
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
		if (file_read(path, 4096, &text, NULL, NULL) < 0)
			continue;
		int pid = 0;
		unsigned long long start = 0;
		char listen[32] = "", internal[32] = "";
		sscanf(text, "pid=%d start=%llu listen=%31s internal=%31s", &pid, &start, listen, internal);
		int pidfd = pid > 0 ? sandbox_pidfd_open(pid, start) : -1;
		struct agent_router *r = router_add(a, space_id);
		if (pidfd < 0) {
			log_info("agent: the router of space %s ended while the agent was away", space_id);
			unlink(path);
			continue;
		}
		r->pid = pid;
		r->start = start;
		r->pidfd = pidfd;
		snprintf(r->listen, sizeof(r->listen), "%s", listen);
		snprintf(r->internal, sizeof(r->internal), "%s", internal);
		_cleanup_free_ char *table = router_path(a, space_id, "json");
		r->table = json_load_file(table, 0, NULL);
		r->table_text = r->table ? json_dumps(r->table, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		log_info("agent: adopted the router of space %s (pid %d)", space_id, pid);
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

/* Starts the router of a space, detached (agent-detach.h). */
static int router_spawn(struct agent *a, const struct agent_space *s, struct agent_router *r, struct error *err)
{
	char netns[NET_NETNS_PATH_MAX], threads[16];
	int ret = net_netns_path(NET_NETNS_SPACE, s->id, netns, err);
	if (ret < 0)
		return ret;
	snprintf(threads, sizeof(threads), "%u", a->cfg->router_threads);
	_cleanup_free_ char *table = router_path(a, s->id, "json"), *log = router_path(a, s->id, "log");
	char *const argv[] = { "coved", "router", "--space", (char *)s->name, "--table", table, "--log", log,
			       "--listen", r->listen, "--netns", netns, "--internal", r->internal, "--threads", threads,
			       NULL };
	_cleanup_free_ char *what = xasprintf("the router of space '%s'", s->name);
	pid_t child;
	uint64_t start;
	int pidfd;
	ret = agent_detach_spawn(what, argv, &child, &start, &pidfd, err);
	if (ret < 0)
		return ret;
	r->pid = child;
	r->start = start;
	r->pidfd = pidfd;
	return pid_save(a, r, err);
}

static void router_stop(struct agent_router *r, uint64_t now)
{
	if (r->pid <= 0 || r->stopping)
		return;
	kill(r->pid, SIGTERM);
	r->stopping = true;
	r->kill_at = now + ROUTER_STOP_USEC;
}

/* The router has exited (or never ran): forget its process. */
static void router_exited(struct agent *a, struct agent_router *r)
{
	if (r->pidfd >= 0)
		close(r->pidfd);
	r->pidfd = -1;
	r->pid = 0;
	r->start = 0;
	r->stopping = false;
	_cleanup_free_ char *pid = router_path(a, r->space_id, "pid");
	unlink(pid);
}

static bool router_alive(struct agent_router *r)
{
	return agent_detach_alive(r->pidfd);
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
	if (r->pid > 0 && (!streq(r->listen, listen) || !streq(r->internal, internal))) {
		log_info("agent: the router of space '%s' moves to %s", s->name, listen);
		router_stop(r, now);
	}
	if (r->pid > 0 || now < r->restart_at)
		return;
	snprintf(r->listen, sizeof(r->listen), "%s", listen);
	snprintf(r->internal, sizeof(r->internal), "%s", internal);
	struct error err = { 0 };
	if (router_spawn(a, s, r, &err) < 0) {
		log_error("agent: %s", err.message);
		router_exited(a, r);
		r->crashes++;
		r->restart_at = now + USEC * (r->crashes > 5 ? ROUTER_BACKOFF_MAX_S : (1u << (r->crashes - 1)));
		return;
	}
	r->started_at = now;
	log_info("agent: router of space '%s' started on %s (pid %d)", s->name, r->listen, (int)r->pid);
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
		if (r->pid > 0) {
			router_stop(r, now);
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
		if (r->pid <= 0) {
			again |= r->wanted && now >= r->restart_at;
			continue;
		}
		if (router_alive(r)) {
			if (r->crashes && now - r->started_at >= 60 * USEC)
				r->crashes = 0; /* a minute up: the backoff starts over */
			if (r->stopping && now >= r->kill_at) {
				log_warning("agent: the router of space %s did not stop; killing it", r->space_id);
				kill(r->pid, SIGKILL);
				r->kill_at = now + 5 * USEC;
			}
			continue;
		}
		if (!r->stopping && r->wanted) {
			r->crashes++;
			uint64_t delay = r->crashes <= 1 ? 0 : (r->crashes > 6 ? ROUTER_BACKOFF_MAX_S : (1u << (r->crashes - 2))) * USEC;
			log_warning("agent: the router of space '%s' exited; starting it again%s", r->space_name,
				    delay ? " after a pause" : "");
			r->restart_at = now + delay;
		}
		router_exited(a, r);
		again = true;
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
