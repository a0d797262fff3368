/* SPDX-License-Identifier: MIT */
/*
 * The agent's side of the space resolvers (see agent-dns.h). The process is started detached
 * (agent-detach.h) and supervised as the router is: started again when it dies, at once and
 * then with a backoff; adopted after an agent restart by pid and start time.
 *
 * The table is built from the desired state (the apps of the space and their formation, the
 * space's add-ons) and from the dynos of this host that are `up`, not draining and not
 * stopping: a dyno leaves the answers as it leaves the router, before its SIGTERM.
 */
#include "agent/agent-dns.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent-detach.h"
#include "agent/agent-space.h"
#include "base/alloc.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "dns/dns-table.h"
#include "dns/dns.h"
#include "dns/dns-wire.h"
#include "net/net-netns.h"

#define USEC 1000000ull
#define RESOLVER_STOP_USEC (5 * USEC)

struct agent_resolver {
	char space_id[ID_STRING_MAX];
	char space_name[64];
	struct agent_detached proc;
	char listen[32];
	char *table_text; /* the table last written */
	bool wanted;
};

struct agent_resolvers {
	struct agent_resolver **v;
	size_t n;
};

static char *resolver_path(struct agent *a, const char *space_id, const char *ext)
{
	return xasprintf("%s/dns/%s.%s", a->state_dir, space_id, ext);
}

void agent_dns_address(const struct agent_space *s, char ret[static 16])
{
	struct in_addr in = { .s_addr = htonl(s->net.addr + 1) };
	inet_ntop(AF_INET, &in, ret, 16);
}

/* A process type as a DNS label: lower case ("Worker" is worker.<app>...). */
static char *type_label(const char *type)
{
	char *t = xstrdup(type);
	for (char *p = t; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return t;
}

void agent_dns_dyno_names(const struct agent_dyno *d, char **ret_formation, char **ret_dyno, char **ret_app)
{
	_cleanup_free_ char *type = type_label(d->type);
	const char *dot = strrchr(d->name, '.');
	*ret_app = xasprintf("%s.app.%s", d->app_name, DNS_ZONE);
	*ret_formation = xasprintf("%s.%s", type, *ret_app);
	*ret_dyno = xasprintf("%s.%s", dot ? dot + 1 : d->name, *ret_formation);
}

static struct agent_resolver *resolver_find(struct agent *a, const char *space_id)
{
	for (size_t i = 0; a->resolvers && i < a->resolvers->n; i++)
		if (streq(a->resolvers->v[i]->space_id, space_id))
			return a->resolvers->v[i];
	return NULL;
}

static struct agent_resolver *resolver_add(struct agent *a, const char *space_id)
{
	struct agent_resolver *r = xcalloc(1, sizeof(*r));
	snprintf(r->space_id, sizeof(r->space_id), "%s", space_id);
	r->proc = (struct agent_detached)AGENT_DETACHED_INIT;
	struct agent_resolvers *rs = a->resolvers;
	rs->v = xrealloc(rs->v, (rs->n + 1) * sizeof(*rs->v));
	rs->v[rs->n++] = r;
	return r;
}

static void resolver_forget(struct agent *a, struct agent_resolver *r)
{
	struct agent_resolvers *rs = a->resolvers;
	for (size_t i = 0; i < rs->n; i++)
		if (rs->v[i] == r) {
			rs->v[i] = rs->v[--rs->n];
			break;
		}
	agent_detached_release(&r->proc);
	free(r->table_text);
	free(r);
}

int agent_resolvers_load(struct agent *a, struct error *err)
{
	a->resolvers = xcalloc(1, sizeof(*a->resolvers));
	_cleanup_free_ char *dir = xasprintf("%s/dns", a->state_dir);
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
		struct agent_resolver *r = resolver_add(a, space_id);
		if (!agent_detached_adopt(&r->proc, path, &text)) {
			log_info("agent: the resolver of space %s ended while the agent was away", space_id);
			continue;
		}
		const char *listen = strstr(text, "listen=");
		if (listen)
			sscanf(listen, "listen=%31s", r->listen);
		_cleanup_free_ char *table = resolver_path(a, space_id, "json");
		file_read(table, 64 * 1024 * 1024, &r->table_text, NULL, NULL);
		log_info("agent: adopted the resolver of space %s (pid %d)", space_id, (int)r->proc.pid);
	}
	closedir(d);
	return 0;
}

/* Adds an address (or none) to the record `name` of kind `kind` in records (name -> record). */
static void record_add(json_t *records, const char *name, const char *kind, const char *address)
{
	if (!dns_name_valid(name))
		return; /* a name DNS cannot carry (a process type with a dot, say) is not published */
	json_t *rec = json_object_get(records, name);
	if (!rec) {
		rec = json_pack("{s:s, s:s, s:[]}", "name", name, "kind", kind, "addresses");
		json_object_set_new(records, name, rec);
	}
	if (!address)
		return;
	json_t *list = json_object_get(rec, "addresses");
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		if (streq(json_string_value(v), address))
			return; /* two dynos of one name (during a deploy) may share nothing else */
	}
	json_array_append_new(list, json_string(address));
}

static bool dyno_answers(const struct agent_dyno *d)
{
	return d->state == DYNO_UP && d->running && !d->stopping && !d->draining && !d->remove;
}

static json_t *table_build(struct agent *a, const struct agent_space *s)
{
	json_t *records = json_object();
	size_t i;
	json_t *app;
	json_array_foreach(json_object_get(a->desired, "apps"), i, app)
	{
		const char *app_id = json_string_value(json_object_get(app, "id"));
		const char *app_name = json_string_value(json_object_get(app, "name"));
		if (!app_id || !app_name || !streq_ptr(json_string_value(json_object_get(app, "space_id")), s->id))
			continue;
		size_t k;
		json_t *f;
		json_array_foreach(json_object_get(app, "formation"), k, f)
		{
			const char *type = json_string_value(json_object_get(f, "type"));
			if (!type)
				continue;
			_cleanup_free_ char *label = type_label(type);
			_cleanup_free_ char *name = xasprintf("%s.%s.app.%s", label, app_name, DNS_ZONE);
			record_add(records, name, "formation", NULL);
		}
		for (size_t n = 0; n < a->n_dynos; n++) {
			const struct agent_dyno *d = a->dynos[n];
			if (!streq(d->app_id, app_id) || !dyno_answers(d))
				continue;
			_cleanup_free_ char *formation = NULL, *dyno = NULL, *app_dns = NULL;
			agent_dns_dyno_names(d, &formation, &dyno, &app_dns);
			record_add(records, formation, "formation", d->ip);
			record_add(records, dyno, "dyno", d->ip);
		}
	}
	json_t *space;
	json_array_foreach(json_object_get(a->desired, "spaces"), i, space)
	{
		if (!streq_ptr(json_string_value(json_object_get(space, "id")), s->id))
			continue;
		size_t k;
		json_t *addon;
		json_array_foreach(json_object_get(space, "addons"), k, addon)
		{
			const char *name = json_string_value(json_object_get(addon, "name"));
			const char *address = json_string_value(json_object_get(addon, "address"));
			struct in_addr in;
			if (name && address && inet_pton(AF_INET, address, &in) == 1)
				record_add(records, name, "addon", address);
		}
	}
	json_t *list = json_array();
	const char *key;
	json_t *rec;
	json_object_foreach(records, key, rec)
		json_array_append(list, rec);
	json_decref(records);
	return json_pack("{s:s, s:i, s:o}", "space", s->name, "ttl", DNS_TTL_DEFAULT, "records", list);
}

static void table_write(struct agent *a, const struct agent_space *s, struct agent_resolver *r)
{
	if (!a->desired)
		return; /* after a restart, the table on disk serves until the API has spoken */
	json_t *t = table_build(a, s);
	_cleanup_free_ char *text = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(t);
	if (r->table_text && streq(text, r->table_text))
		return;
	_cleanup_free_ char *path = resolver_path(a, r->space_id, "json");
	struct error err = { 0 };
	if (file_write_atomic(path, text, strlen(text), 0600, &err) < 0) {
		log_error("agent: DNS table of space '%s': %s", s->name, err.message);
		return;
	}
	free(r->table_text);
	r->table_text = TAKE_PTR(text);
}

/* The resolver's command line: its space, its table, where it listens, whom it answers, its upstreams. */
static void resolver_start(struct agent *a, const struct agent_space *s, struct agent_resolver *r, uint64_t now)
{
	char netns[NET_NETNS_PATH_MAX];
	struct error err = { 0 };
	if (net_netns_path(NET_NETNS_SPACE, s->id, netns, &err) < 0) {
		log_error("agent: %s", err.message);
		return;
	}
	_cleanup_free_ char *table = resolver_path(a, s->id, "json"), *pid_path = resolver_path(a, s->id, "pid");
	const char *argv[12 + 2 * DNS_UPSTREAMS_MAX + 2] = { "coved", "dns", "--space", s->name, "--table", table,
							   "--listen", r->listen, "--netns", netns, "--clients", s->cidr };
	size_t n = 12;
	const char *up = a->cfg->dns_upstreams;
	_cleanup_free_ char *copy = up ? xstrdup(up) : NULL;
	if (up && streq(up, "none")) {
		argv[n++] = "--no-upstream";
	} else if (up) {
		for (char *save = NULL, *u = strtok_r(copy, ",", &save); u && n < 12 + 2 * DNS_UPSTREAMS_MAX;
		     u = strtok_r(NULL, ",", &save)) {
			argv[n++] = "--upstream";
			argv[n++] = u;
		}
	}
	argv[n] = NULL;
	_cleanup_free_ char *what = xasprintf("the resolver of space '%s'", s->name);
	_cleanup_free_ char *extra = xasprintf("listen=%s\n", r->listen);
	bool was_running = r->proc.pid > 0;
	if (agent_detached_start(&r->proc, what, (char *const *)argv, pid_path, extra, now, &err) < 0)
		log_error("agent: %s", err.message);
	else if (!was_running && r->proc.pid > 0)
		log_info("agent: resolver of space '%s' started on %s (pid %d)", s->name, r->listen, (int)r->proc.pid);
}

static void resolver_ensure(struct agent *a, const struct agent_space *s, struct agent_resolver *r, uint64_t now)
{
	char address[16], listen[32];
	agent_dns_address(s, address);
	snprintf(listen, sizeof(listen), "%s:%u", address, AGENT_DNS_PORT);
	snprintf(r->space_name, sizeof(r->space_name), "%s", s->name);
	if (r->proc.pid > 0 && !streq(r->listen, listen))
		agent_detached_stop(&r->proc, now, RESOLVER_STOP_USEC);
	if (r->proc.pid > 0)
		return;
	snprintf(r->listen, sizeof(r->listen), "%s", listen);
	resolver_start(a, s, r, now);
}

void agent_resolvers_reconcile(struct agent *a)
{
	if (!a->resolvers)
		return;
	uint64_t now = time_mono_usec();
	for (size_t i = 0; i < a->resolvers->n; i++)
		a->resolvers->v[i]->wanted = false;
	for (size_t i = 0; i < a->n_spaces; i++) {
		struct agent_space *s = a->spaces[i];
		if (!s->ensured || s->deleting || !s->seen)
			continue;
		struct agent_resolver *r = resolver_find(a, s->id);
		if (!r)
			r = resolver_add(a, s->id);
		r->wanted = true;
		table_write(a, s, r);
		resolver_ensure(a, s, r, now);
	}
	for (size_t i = 0; i < a->resolvers->n;) {
		struct agent_resolver *r = a->resolvers->v[i];
		if (r->wanted || r->proc.pid > 0) {
			if (!r->wanted)
				agent_detached_stop(&r->proc, now, RESOLVER_STOP_USEC);
			i++;
			continue;
		}
		static const char *const exts[] = { "json", "pid" };
		for (size_t k = 0; k < ARRAY_SIZE(exts); k++) {
			_cleanup_free_ char *path = resolver_path(a, r->space_id, exts[k]);
			unlink(path);
		}
		resolver_forget(a, r);
	}
}

void agent_resolvers_dyno_changed(struct agent *a, const struct agent_dyno *d)
{
	if (!a->resolvers)
		return;
	struct agent_space *s = agent_space_find(a, d->space_id);
	struct agent_resolver *r = resolver_find(a, d->space_id);
	if (s && r && r->wanted)
		table_write(a, s, r);
}

void agent_resolvers_tick(struct agent *a, uint64_t now)
{
	if (!a->resolvers)
		return;
	bool again = false;
	for (size_t i = 0; i < a->resolvers->n; i++) {
		struct agent_resolver *r = a->resolvers->v[i];
		_cleanup_free_ char *what = xasprintf("the resolver of space '%s'", r->space_name);
		_cleanup_free_ char *pid_path = resolver_path(a, r->space_id, "pid");
		again |= agent_detached_tick(&r->proc, what, pid_path, r->wanted, now);
	}
	if (again)
		agent_want_reconcile(a);
}

void agent_resolvers_free(struct agent *a)
{
	if (!a->resolvers)
		return;
	while (a->resolvers->n)
		resolver_forget(a, a->resolvers->v[0]);
	free(a->resolvers->v);
	free(a->resolvers);
	a->resolvers = NULL;
}
