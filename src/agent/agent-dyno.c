/* SPDX-License-Identifier: MIT */
#include "agent/agent-dyno.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent-dns.h"
#include "agent/agent-logs.h"
#include "agent/agent-rendezvous.h"
#include "agent/agent-slug.h"
#include "agent/agent-space.h"
#include "agent/agent-spaceproc.h"
#include "base/alloc.h"
#include "base/crypto.h"
#include "base/dyno-size.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "net/net-dyno.h"

#define USEC 1000000ull
#define DYNO_MEM_CHECK_USEC (5 * USEC)
#define DYNO_FIRST_ADDRESS 10
#define DYNO_DRAIN_USEC (1 * USEC)          /* out of the router's table this long before SIGTERM */           /* .1 is the gateway; .2-.9 are for the space's services */

static const char *const state_names[] = { "starting", "up", "crashed", "down" };

/* The dyno in messages: "dyno 'web.1' of 'acme'", allocated. */
static char *dyno_what(const struct agent_dyno *d)
{
	return xasprintf("dyno '%s' of '%s'", d->name, d->app_name);
}

/* DATA_DIR/agent/dynos/<id>: dyno.json, the agent's description of the dyno. */
static char *dyno_dir(struct agent *a, const char *id)
{
	return xasprintf("%s/dynos/%s", a->state_dir, id);
}

/* DATA_DIR/agent/dynos/<id>/sandbox: the sandbox's own state, anew at every start. */
static char *sandbox_dir(struct agent *a, const char *id)
{
	return xasprintf("%s/dynos/%s/sandbox", a->state_dir, id);
}

static int dyno_save(struct agent *a, const struct agent_dyno *d, struct error *err)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:O, s:[I,I,I], s:s}",
			      "id", d->id, "app_id", d->app_id, "app_name", d->app_name, "space_id", d->space_id, "name",
			      d->name, "type", d->type, "release_version", (json_int_t)d->release_version, "slug_id",
			      d->slug_id, "command", d->command, "size", d->size, "ip", d->ip, "prefix", (int)d->prefix,
			      "port", (int)d->port, "uid", (int)d->uid, "env", d->env, "restart_seq",
			      (json_int_t)d->restart_seq[0], (json_int_t)d->restart_seq[1], (json_int_t)d->restart_seq[2],
			      "created_at", d->created_at);
	if (d->one_off)
		json_object_set_new(j, "one_off", json_pack("{s:b, s:b, s:s, s:s, s:i}", "attach", d->attach, "tty", d->tty,
							    "secret_hash", d->secret_hash, "user", d->user, "ttl",
							    (int)d->ttl_s));
	_cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	_cleanup_free_ char *dir = dyno_dir(a, d->id);
	_cleanup_free_ char *path = xasprintf("%s/dyno.json", dir);
	int r = mkdir_p(dir, 0700, err);
	if (r < 0)
		return r;
	return file_write_atomic(path, text, strlen(text), 0600, err);
}

static void dyno_free(struct agent_dyno *d)
{
	if (!d)
		return;
	agent_sandboxed_release(&d->proc);
	free(d->command);
	json_decref(d->env);
	strbuf_release(&d->log_partial);
	free(d);
}

static struct agent_dyno *dyno_alloc(struct agent *a)
{
	struct agent_dyno *d = xcalloc(1, sizeof(*d));
	d->watch = (struct watch){ .kind = WATCH_DYNO, .obj = a };
	d->proc = (struct agent_sandboxed)AGENT_SANDBOXED_INIT;
	d->exit_code = -1;
	d->state_since = time_mono_usec();
	strbuf_init(&d->log_partial, 0);
	return d;
}

/* What names a dyno and what it runs; the strings are copied. */
struct dyno_identity {
	const char *id, *app_id, *app_name, *space_id, *name, *type, *slug_id, *command, *size;
	int64_t release_version;
};

static void dyno_identify(struct agent_dyno *d, const struct dyno_identity *n)
{
	snprintf(d->id, sizeof(d->id), "%s", n->id);
	snprintf(d->app_id, sizeof(d->app_id), "%s", n->app_id);
	snprintf(d->app_name, sizeof(d->app_name), "%s", n->app_name);
	snprintf(d->space_id, sizeof(d->space_id), "%s", n->space_id);
	snprintf(d->name, sizeof(d->name), "%s", n->name);
	snprintf(d->type, sizeof(d->type), "%s", n->type);
	d->release_version = n->release_version;
	snprintf(d->slug_id, sizeof(d->slug_id), "%s", n->slug_id);
	d->command = xstrdup(n->command);
	snprintf(d->size, sizeof(d->size), "%s", n->size);
}

static void dyno_add(struct agent *a, struct agent_dyno *d)
{
	a->dynos = xrealloc(a->dynos, (a->n_dynos + 1) * sizeof(*a->dynos));
	a->dynos[a->n_dynos++] = d;
}

static void dyno_set_state(struct agent *a, struct agent_dyno *d, enum dyno_state state)
{
	if (d->state == state)
		return;
	agent_event(a, d->app_id, d->app_name, d->name, "State changed from %s to %s", state_names[d->state], state_names[state]);
	d->state = state;
	d->state_since = time_mono_usec();
	agent_want_report(a);
	agent_want_reconcile(a); /* a rollout may move on */
	if (d->port)
		agent_spaceprocs_table_changed(a, a->routers, d->space_id); /* the router's are web dynos */
	agent_spaceprocs_table_changed(a, a->resolvers, d->space_id);
}

static char *netns_path(const char *dyno_id)
{
	return xasprintf("/run/netns/cove-d-%s", dyno_id);
}

/* The environment of a dyno: its release's config vars and what the platform adds. */
static char **dyno_env(const struct agent_dyno *d)
{
	size_t n = json_object_size(d->env) + 20, i = 0;
	char **env = xcalloc(n, sizeof(char *));
	const char *key;
	json_t *value;
	json_object_foreach(d->env, key, value)
	{
		if (json_is_string(value))
			env[i++] = xasprintf("%s=%s", key, json_string_value(value));
	}
	env[i++] = xasprintf("DYNO=%s", d->name);
	env[i++] = xasprintf("HEROKU_PRIVATE_IP=%s", d->ip);
	env[i++] = xasprintf("HEROKU_APP_NAME=%s", d->app_name);
	env[i++] = xasprintf("HEROKU_APP_ID=%s", d->app_id);
	/* The dyno's names in the space's resolver (agent-dns.h), as Heroku's DNS service discovery. */
	char *formation, *dyno, *app;
	agent_dns_dyno_names(d, &formation, &dyno, &app);
	env[i++] = xasprintf("HEROKU_DNS_FORMATION_NAME=%s", formation);
	env[i++] = xasprintf("HEROKU_DNS_DYNO_NAME=%s", dyno);
	env[i++] = xasprintf("HEROKU_DNS_APP_NAME=%s", app);
	free(formation);
	free(dyno);
	free(app);
	env[i++] = xstrdup("HOME=/app");
	env[i++] = xstrdup("PATH=/app/bin:/app/.heroku/bin:/usr/local/bin:/usr/bin:/bin");
	env[i++] = xstrdup("LANG=C.UTF-8");
	if (d->port)
		env[i++] = xasprintf("PORT=%u", d->port);
	env[i] = NULL;
	return env;
}

static void env_free(char **env)
{
	for (char **e = env; e && *e; e++)
		free(*e);
	free(env);
}

/* Starts the dyno's process. Leaves it `starting` without a process while its slug arrives. */
static void dyno_remove(struct agent *a, struct agent_dyno *d);

static void dyno_start(struct agent *a, struct agent_dyno *d)
{
	if (d->proc.running || (d->one_off && d->remove))
		return;
	if (d->attach && !d->session)
		return; /* an attached one-off dyno starts when its user is there */
	const char *app_dir = agent_slug_app_dir(a, d->slug_id, d->uid);
	if (!app_dir)
		return;
	const struct dyno_size *size = dyno_size_find(d->size);
	if (!size)
		size = dyno_size_find(DYNO_SIZE_DEFAULT);
	_cleanup_free_ char *dir = sandbox_dir(a, d->id);
	_cleanup_free_ char *ns = netns_path(d->id);
	struct error err = { 0 };
	/* What is left of the last run of this dyno, if any, goes first (its output read). */
	agent_logs_collect(a, d);
	if (sandbox_cleanup(d->id, dir, &err) < 0)
		log_warning("agent: clean up dyno '%s' of '%s': %s", d->name, d->app_name, err.message);
	error_clear(&err);
	agent_logs_new_epoch(a, d);
	char **env = dyno_env(d);
	/* The space's resolver, on its gateway, is the dyno's only nameserver. */
	struct agent_space *space = agent_space_find(a, d->space_id);
	char resolver[16] = "";
	if (space)
		agent_dns_address(space, resolver);
	_cleanup_free_ char *resolv_conf = xasprintf("nameserver %s\n", resolver);
	/* As on Heroku, what the buildpacks left in /app/.profile.d (and /app/.profile) is sourced
	 * before the process's command. */
	_cleanup_free_ char *command = xasprintf(
		"for f in /app/.profile.d/*.sh; do [ -r \"$f\" ] && . \"$f\"; done; "
		"[ -r /app/.profile ] && . /app/.profile; %s",
		d->command);
	struct sandbox_spec spec = {
		.id = d->id,
		.state_dir = dir,
		.hostname = d->name,
		.netns_path = ns,
		.app_dir = app_dir,
		.uid = d->uid,
		.gid = d->uid,
		.env = env,
		.command = command,
		.resolv_conf = space ? resolv_conf : NULL,
		.memory_bytes = (uint64_t)size->memory_mb * 1024 * 1024,
		.pids_max = size->pids_max,
		.cpu_weight = size->cpu_weight,
		.output_fd = -1,
	};
	/* An attached one-off dyno talks through a socket: the session holds the other end. */
	int pair[2] = { -1, -1 };
	if (d->attach && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
		log_error("agent: socket of one-off dyno '%s' of '%s': %m", d->name, d->app_name);
		env_free(env);
		return;
	}
	if (d->attach) {
		spec.output_fd = pair[1];
		spec.io = d->tty ? SANDBOX_IO_TTY : SANDBOX_IO_SOCKET;
	}
	if (d->one_off && d->user[0])
		agent_event(a, d->app_id, d->app_name, d->name, "Starting process with command `%s` by user %s", d->command, d->user);
	else
		agent_event(a, d->app_id, d->app_name, d->name, "Starting process with command `%s`", d->command);
	_cleanup_free_ char *what = dyno_what(d);
	int r = agent_sandboxed_start(a, &d->proc, &d->watch, &spec, what, &err);
	env_free(env);
	if (pair[1] >= 0)
		close(pair[1]);
	if (r >= 0 && d->attach)
		agent_rendezvous_dyno_started(a, d->session, pair[0]);
	else if (pair[0] >= 0)
		close(pair[0]);
	if (r < 0 && d->one_off) {
		/* Never restarted: it goes, and its run ends. */
		agent_event(a, d->app_id, d->app_name, d->name, "Error starting process: %s", err.message);
		d->exit_code = 127;
		d->remove = true;
		agent_want_reconcile(a);
		return;
	}
	if (r < 0) {
		agent_event(a, d->app_id, d->app_name, d->name, "Error starting process: %s", err.message);
		dyno_set_state(a, d, DYNO_CRASHED);
		agent_sandboxed_start_failed(&d->proc);
		return;
	}
	if (d->state != DYNO_STARTING)
		dyno_set_state(a, d, DYNO_STARTING);
	d->state_since = time_mono_usec();
	if (!d->port)
		dyno_set_state(a, d, DYNO_UP);
	agent_want_report(a);
	agent_want_reconcile(a);
}

static void dyno_remove(struct agent *a, struct agent_dyno *d)
{
	_cleanup_free_ char *dir = dyno_dir(a, d->id);
	_cleanup_free_ char *sdir = sandbox_dir(a, d->id);
	agent_logs_collect(a, d);
	if (d->one_off) {
		json_array_append_new(a->runs_ended, json_pack("{s:s, s:i}", "id", d->id, "exit_status", d->exit_code));
		json_object_set_new(a->runs_ended_sent, d->id, json_true());
		if (d->session)
			agent_rendezvous_dyno_gone(a, d->session);
		d->session = NULL;
	}
	_cleanup_free_ char *what = dyno_what(d);
	agent_sandboxed_remove(d->id, sdir, what);
	_cleanup_free_ char *json = xasprintf("%s/dyno.json", dir);
	_cleanup_free_ char *cursor = xasprintf("%s/log.cursor", dir);
	unlink(json);
	unlink(cursor);
	rmdir(dir);
	for (size_t i = 0; i < a->n_dynos; i++)
		if (a->dynos[i] == d) {
			a->dynos[i] = a->dynos[--a->n_dynos];
			break;
		}
	dyno_free(d);
	agent_want_report(a);
	agent_want_reconcile(a);
}

/* Asks a dyno to stop: SIGTERM now, SIGKILL at the stop timeout. remove: don't start it again. */
static void dyno_terminate(struct agent *a, struct agent_dyno *d);

static void dyno_stop(struct agent *a, struct agent_dyno *d, bool remove)
{
	d->remove = d->remove || remove;
	if (!d->proc.running) {
		if (d->remove)
			dyno_remove(a, d);
		return;
	}
	if (d->proc.stopping || d->draining)
		return;
	if (d->remove && d->port && d->state == DYNO_UP) {
		/* A web dyno leaves the router's table first (it routes no dyno marked remove), and
		 * gets SIGTERM once the requests it was sent have had time to finish. */
		d->draining = true;
		d->drain_at = time_mono_usec() + DYNO_DRAIN_USEC;
		agent_want_reconcile(a);
		return;
	}
	dyno_terminate(a, d);
}

/* SIGTERM now, SIGKILL at the stop timeout. */
static void dyno_terminate(struct agent *a, struct agent_dyno *d)
{
	d->draining = false;
	agent_event(a, d->app_id, d->app_name, d->name, "Stopping all processes with SIGTERM");
	_cleanup_free_ char *what = dyno_what(d);
	agent_sandboxed_stop(&d->proc, SIGTERM, (uint64_t)a->cfg->stop_timeout_s * USEC, what);
}

void agent_dyno_on_exit(struct agent *a, struct agent_dyno *d)
{
	_cleanup_free_ char *dir = sandbox_dir(a, d->id), *what = dyno_what(d);
	bool oom;
	int code = agent_sandboxed_ended(a, &d->proc, dir, what, &oom);
	agent_logs_collect(a, d); /* its last words, before they are cleaned up */
	if (oom)
		agent_event(a, d->app_id, d->app_name, d->name, "Error R15 (Memory quota vastly exceeded)");
	agent_event(a, d->app_id, d->app_name, d->name, "Process exited with status %d", code);
	if (d->one_off) {
		d->exit_code = code;
		dyno_set_state(a, d, DYNO_DOWN);
		dyno_remove(a, d);
		return;
	}
	if (d->proc.stopping || d->draining) {
		dyno_set_state(a, d, DYNO_DOWN);
		d->proc.stopping = false;
		d->draining = false;
		if (d->remove) {
			dyno_remove(a, d);
			return;
		}
		/* A restart: start again at once, as a fresh process. */
		dyno_start(a, d);
		return;
	}
	uint64_t now = time_mono_usec();
	bool stable = d->state == DYNO_UP && now - d->state_since >= AGENT_SANDBOXED_STABLE_USEC;
	if (d->state == DYNO_STARTING)
		d->boot_failed = true; /* it never came up */
	dyno_set_state(a, d, DYNO_CRASHED);
	uint64_t delay = agent_sandboxed_crashed(&d->proc, stable, now);
	if (delay)
		agent_event(a, d->app_id, d->app_name, d->name, "Restarting in %llu s", (unsigned long long)(delay / USEC));
	agent_want_reconcile(a);
}

bool agent_port_bound(struct agent *a, const char *id, unsigned port)
{
	_cleanup_free_ char *path = netns_path(id);
	_cleanup_close_ int ns = open(path, O_RDONLY | O_CLOEXEC);
	if (ns < 0 || setns(ns, CLONE_NEWNET) < 0)
		return false;
	bool bound = false;
	char want[8];
	snprintf(want, sizeof(want), ":%04X", port);
	static const char *const files[] = { "/proc/thread-self/net/tcp", "/proc/thread-self/net/tcp6" };
	for (size_t i = 0; i < ARRAY_SIZE(files) && !bound; i++) {
		FILE *f = fopen(files[i], "re");
		if (!f)
			continue;
		char line[512];
		while (!bound && fgets(line, sizeof(line), f)) {
			/* "  0: 00000000:1388 00000000:0000 0A ..." : local address, remote, state (0A = LISTEN). */
			char local[64], remote[64], st[8];
			if (sscanf(line, "%*s %63s %63s %7s", local, remote, st) == 3 && streq(st, "0A")) {
				const char *colon = strrchr(local, ':');
				bound = colon && strcasecmp(colon, want) == 0;
			}
		}
		fclose(f);
	}
	if (setns(a->host_netns_fd, CLONE_NEWNET) < 0)
		log_error("agent: return to the host network namespace: %m");
	return bound;
}

/* The deadlines of a one-off dyno. True when it was removed. */
static bool one_off_tick(struct agent *a, struct agent_dyno *d, uint64_t now)
{
	if (d->remove && !d->proc.running) {
		dyno_remove(a, d);
		return true;
	}
	if (d->proc.stopping || d->draining)
		return false;
	if (d->attach && !d->session && (d->proc.running || now >= d->attach_by)) {
		/* Its session ended (or the agent restarted under it), or never came. */
		if (!d->proc.running)
			agent_event(a, d->app_id, d->app_name, d->name, "No session attached within %d seconds", DYNO_ATTACH_TIMEOUT_S);
		dyno_stop(a, d, true);
		return !d->proc.running;
	}
	if (d->proc.running && now >= d->end_at) {
		agent_event(a, d->app_id, d->app_name, d->name, "Stopping one-off dyno: its time to live of %u seconds is up", d->ttl_s);
		dyno_stop(a, d, true);
	}
	return false;
}

void agent_dynos_tick(struct agent *a, uint64_t now)
{
	for (size_t i = 0; i < a->n_dynos; i++) {
		struct agent_dyno *d = a->dynos[i];
		if (d->one_off && one_off_tick(a, d, now)) {
			i--; /* the last dyno took its place (unsigned: wraps and comes back to 0) */
			continue;
		}
		if (d->draining && now >= d->drain_at) {
			dyno_terminate(a, d);
			continue;
		}
		if (agent_sandboxed_kill_due(&d->proc, now)) {
			agent_event(a, d->app_id, d->app_name, d->name, "Error R12 (Exit timeout) -> At least one process failed to exit within %u seconds of SIGTERM",
				    a->cfg->stop_timeout_s);
			agent_event(a, d->app_id, d->app_name, d->name, "Stopping remaining processes with SIGKILL");
			continue;
		}
		if (d->proc.stopping)
			continue;
		if (d->state == DYNO_STARTING && d->proc.running && d->port) {
			if (agent_port_bound(a, d->id, d->port)) {
				dyno_set_state(a, d, DYNO_UP);
			} else if (now - d->state_since >= (uint64_t)a->cfg->boot_timeout_s * USEC) {
				agent_event(a, d->app_id, d->app_name, d->name,
					    "Error R10 (Boot timeout) -> Web process failed to bind to $PORT within %u seconds of launch",
					    a->cfg->boot_timeout_s);
				agent_event(a, d->app_id, d->app_name, d->name, "Stopping process with SIGKILL");
				sandbox_kill(&d->proc.sb, SIGKILL, NULL);
				d->state_since = now; /* not again before it exits */
				d->boot_failed = true;
				agent_want_reconcile(a);
			}
		} else if (d->state == DYNO_STARTING && !d->proc.running) {
			dyno_start(a, d); /* its slug may have arrived */
		} else if (d->state == DYNO_CRASHED && !d->proc.running && now >= d->proc.restart_at) {
			dyno_set_state(a, d, DYNO_STARTING);
			dyno_start(a, d);
		} else if (d->state == DYNO_UP && d->proc.running && now - d->mem_checked_at >= DYNO_MEM_CHECK_USEC) {
			d->mem_checked_at = now;
			uint64_t usage, limit, kills;
			if (sandbox_memory(d->id, &usage, &limit, &kills, NULL) >= 0 && limit && usage >= limit / 100 * 95)
				agent_event(a, d->app_id, d->app_name, d->name, "Error R14 (Memory quota exceeded): %llu MB of %llu MB",
					    (unsigned long long)(usage >> 20), (unsigned long long)(limit >> 20));
		}
	}
}

/* The lowest free address of the space's network for a new dyno. */
static int dyno_address(struct agent *a, const struct agent_space *s, char ret[16], unsigned *ret_prefix,
			struct error *err)
{
	uint32_t size = (uint32_t)1 << (32 - s->net.prefix);
	for (uint32_t off = DYNO_FIRST_ADDRESS; off < size - 1; off++) {
		struct in_addr in = { .s_addr = htonl(s->net.addr + off) };
		char ip[16];
		inet_ntop(AF_INET, &in, ip, sizeof(ip));
		bool used = false;
		for (size_t i = 0; i < a->n_dynos && !used; i++)
			used = streq(a->dynos[i]->space_id, s->id) && streq(a->dynos[i]->ip, ip);
		if (!used) {
			memcpy(ret, ip, 16);
			*ret_prefix = s->net.prefix;
			return 0;
		}
	}
	return error_set(err, -ENOSPC, "space '%s' has no free address", s->name);
}

static int64_t restart_seq(json_t *restarts, const char *target)
{
	return json_integer_value(json_object_get(restarts, target));
}

static void dyno_place(struct agent *a, struct agent_space *s, struct agent_dyno *d);

static void dyno_create(struct agent *a, struct agent_space *s, json_t *app, json_t *formation, const char *name)
{
	json_t *release = json_object_get(app, "release");
	struct agent_dyno *d = dyno_alloc(a);
	char id[ID_STRING_MAX];
	id_new(id);
	dyno_identify(d, &(struct dyno_identity){
				 .id = id,
				 .app_id = json_string_value(json_object_get(app, "id")),
				 .app_name = json_string_value(json_object_get(app, "name")),
				 .space_id = s->id,
				 .name = name,
				 .type = json_string_value(json_object_get(formation, "type")),
				 .slug_id = json_string_value(json_object_get(release, "slug_id")),
				 .command = json_string_value(json_object_get(formation, "command")),
				 .size = json_string_value(json_object_get(formation, "size")),
				 .release_version = json_integer_value(json_object_get(release, "version")),
			 });
	d->uid = (uid_t)json_integer_value(json_object_get(app, "uid"));
	d->port = streq(d->type, "web") ? DYNO_PORT : 0;
	d->env = json_deep_copy(json_object_get(app, "config"));
	json_t *restarts = json_object_get(app, "restarts");
	d->restart_seq[0] = restart_seq(restarts, "*");
	d->restart_seq[1] = restart_seq(restarts, d->type);
	d->restart_seq[2] = restart_seq(restarts, d->name);
	time_now_iso(d->created_at);
	d->state = DYNO_STARTING;
	dyno_place(a, s, d);
}

/* Gives a new dyno its address, state file and network, and starts it. Frees it on failure. */
static void dyno_place(struct agent *a, struct agent_space *s, struct agent_dyno *d)
{
	struct error err = { 0 };
	int r = dyno_address(a, s, d->ip, &d->prefix, &err);
	if (r >= 0)
		r = dyno_save(a, d, &err);
	if (r >= 0) {
		char address[24];
		snprintf(address, sizeof(address), "%s/%u", d->ip, d->prefix);
		struct net_dyno_config cfg = { .space_id = s->id, .dyno_id = d->id, .address = address };
		r = net_dyno_ensure(&cfg, &err);
	}
	if (r < 0) {
		log_error("agent: create dyno '%s' of '%s': %s", d->name, d->app_name, err.message);
		_cleanup_free_ char *dir = dyno_dir(a, d->id);
		_cleanup_free_ char *json = xasprintf("%s/dyno.json", dir);
		unlink(json);
		rmdir(dir);
		dyno_free(d);
		return;
	}
	dyno_add(a, d);
	log_debug("agent: dyno '%s' of '%s' (v%lld) is %s at %s", d->name, d->app_name, (long long)d->release_version, d->id,
		  d->ip);
	agent_want_report(a);
	dyno_start(a, d);
}

/* A one-off dyno of the desired state (api-runs.c's "runs"). */
static void run_create(struct agent *a, struct agent_space *s, json_t *app, json_t *run)
{
	const char *id, *name, *type, *command, *size, *slug_id;
	json_int_t version, ttl;
	int attach, tty;
	json_t *env, *secret = NULL, *who = NULL;
	json_error_t jerr;
	if (json_unpack_ex(run, &jerr, 0, "{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:b, s:b, s:I, s:o, s?:o, s?:o}", "id", &id,
			   "name", &name, "type", &type, "command", &command, "size", &size, "slug_id", &slug_id,
			   "release_version", &version, "attach", &attach, "tty", &tty, "time_to_live", &ttl, "env", &env,
			   "secret_hash", &secret, "user", &who) < 0 ||
	    !id_is_uuid(id) || !json_is_object(env) || (attach && !json_is_string(secret))) {
		log_warning("agent: one-off dyno in the desired state is malformed: %s", jerr.text);
		return;
	}
	struct agent_dyno *d = dyno_alloc(a);
	dyno_identify(d, &(struct dyno_identity){ .id = id, .app_id = json_string_value(json_object_get(app, "id")),
						  .app_name = json_string_value(json_object_get(app, "name")),
						  .space_id = s->id, .name = name, .type = type, .slug_id = slug_id,
						  .command = command, .size = size, .release_version = version });
	d->uid = (uid_t)json_integer_value(json_object_get(app, "uid"));
	d->env = json_deep_copy(env);
	time_now_iso(d->created_at);
	d->state = DYNO_STARTING;
	d->one_off = true;
	d->attach = attach;
	d->tty = tty;
	snprintf(d->secret_hash, sizeof(d->secret_hash), "%s", json_is_string(secret) ? json_string_value(secret) : "");
	snprintf(d->user, sizeof(d->user), "%s", json_is_string(who) ? json_string_value(who) : "");
	d->ttl_s = (unsigned)ttl;
	uint64_t now = time_mono_usec();
	d->end_at = now + (uint64_t)ttl * USEC;
	d->attach_by = now + DYNO_ATTACH_TIMEOUT_S * USEC;
	dyno_place(a, s, d);
}

struct agent_dyno *agent_dyno_by_secret(struct agent *a, const char *secret, bool *ret_used)
{
	char hash[CRYPTO_TOKEN_HASH_MAX];
	crypto_token_hash(secret, hash);
	struct agent_dyno *found = NULL;
	*ret_used = false;
	/* Every candidate is compared, in constant time each: no early exit tells how far it got. */
	for (size_t i = 0; i < a->n_dynos; i++) {
		struct agent_dyno *d = a->dynos[i];
		if (!d->one_off || !d->attach || !crypto_streq(hash, d->secret_hash))
			continue;
		if (d->attached || d->remove)
			*ret_used = true;
		else
			found = d;
	}
	if (*ret_used)
		return NULL;
	return found;
}

void agent_dyno_attach(struct agent *a, struct agent_dyno *d, struct rendezvous_session *s)
{
	d->attached = true;
	d->session = s;
	dyno_start(a, d);
}

void agent_dyno_detach(struct agent *a, struct agent_dyno *d)
{
	d->session = NULL;
	if (d->proc.running && !d->proc.stopping) {
		agent_event(a, d->app_id, d->app_name, d->name, "Session ended: stopping the one-off dyno");
		/* A shell on a terminal ignores SIGTERM, not a hang-up. */
		sandbox_kill(&d->proc.sb, SIGHUP, NULL);
	}
	dyno_stop(a, d, true);
}

static bool dyno_current(const struct agent_dyno *d, int64_t version, const char *command, const char *size)
{
	return d->release_version == version && streq(d->command, command) && streq(d->size, size);
}

/* Applies the restart requests that name the dyno and are newer than its last start. */
static void dyno_apply_restarts(struct agent *a, struct agent_dyno *d, json_t *restarts)
{
	int64_t seq[3] = { restart_seq(restarts, "*"), restart_seq(restarts, d->type), restart_seq(restarts, d->name) };
	if (seq[0] <= d->restart_seq[0] && seq[1] <= d->restart_seq[1] && seq[2] <= d->restart_seq[2])
		return;
	memcpy(d->restart_seq, seq, sizeof(seq));
	struct error err = { 0 };
	dyno_save(a, d, &err);
	agent_event(a, d->app_id, d->app_name, d->name, "Restarting");
	d->proc.crashes = 0;
	if (d->proc.running) {
		dyno_stop(a, d, false);
	} else {
		dyno_set_state(a, d, DYNO_STARTING);
		dyno_start(a, d);
	}
}

/* Asks the API to mark a release failed, once. */
static void release_failed(struct agent *a, const char *app_id, const char *app_name, int64_t version, const char *reason)
{
	char key[96];
	snprintf(key, sizeof(key), "%s %lld", app_id, (long long)version);
	if (json_object_get(a->failed_releases_sent, key))
		return;
	json_object_set_new(a->failed_releases_sent, key, json_true());
	agent_event(a, app_id, app_name, "api", "Release v%lld failed: %s; the previous release keeps serving", (long long)version, reason);
	json_array_append_new(a->failed_releases, json_pack("{s:s, s:I, s:s, s:s}", "app_id", app_id, "version",
							     (json_int_t)version, "status", "failed", "reason", reason));
	agent_want_report(a);
}

/*
 * One process type of one app. Web dynos roll: each successor (same name, the new release)
 * starts beside the dyno it replaces, at most `batch` at a time, and the old one gets SIGTERM
 * only once its successor is up; a successor that never comes up fails the release and the old
 * dyno keeps serving. Other types are stopped, then started on the new release, once no web
 * dyno of an older release is left.
 */
static void reconcile_type(struct agent *a, struct agent_space *s, json_t *app, json_t *f, bool web_settled)
{
	const char *app_id = json_string_value(json_object_get(app, "id"));
	const char *app_name = json_string_value(json_object_get(app, "name"));
	json_t *release = json_object_get(app, "release");
	int64_t version = json_integer_value(json_object_get(release, "version"));
	json_t *restarts = json_object_get(app, "restarts");
	const char *type = json_string_value(json_object_get(f, "type"));
	const char *command = json_string_value(json_object_get(f, "command"));
	const char *size = json_string_value(json_object_get(f, "size"));
	json_int_t quantity = json_integer_value(json_object_get(f, "quantity"));
	if (!type || !command || !size)
		return;
	bool web = streq(type, "web");
	unsigned batch = quantity >= 8 ? (unsigned)(quantity / 4) : 1, in_flight = 0;
	for (size_t i = 0; i < a->n_dynos; i++) {
		struct agent_dyno *d = a->dynos[i];
		if (!d->one_off && streq(d->app_id, app_id) && streq(d->type, type) && !d->remove && d->state == DYNO_STARTING &&
		    dyno_current(d, version, command, size))
			in_flight++;
	}
	for (json_int_t n = 1; n <= quantity; n++) {
		char name[48];
		snprintf(name, sizeof(name), "%s.%lld", type, (long long)n);
		struct agent_dyno *cur = NULL, *olds[16];
		size_t n_olds = 0;
		bool leaving = false;
		for (size_t i = 0; i < a->n_dynos; i++) {
			struct agent_dyno *d = a->dynos[i];
			if (d->one_off || !streq(d->app_id, app_id) || !streq(d->name, name))
				continue;
			if (d->remove)
				leaving = true;
			else if (!cur && dyno_current(d, version, command, size))
				cur = d;
			else if (n_olds < ARRAY_SIZE(olds))
				olds[n_olds++] = d;
		}
		if (web) {
			if (!cur) {
				if (n_olds == 0 || in_flight < batch) {
					dyno_create(a, s, app, f, name);
					if (n_olds)
						in_flight++;
				}
			} else if (n_olds && cur->state == DYNO_UP) {
				for (size_t i = 0; i < n_olds; i++)
					dyno_stop(a, olds[i], true);
			} else if (n_olds && cur->boot_failed) {
				release_failed(a, app_id, app_name, version, "a new web dyno did not come up");
			} else if (!n_olds) {
				dyno_apply_restarts(a, cur, restarts);
			}
			continue;
		}
		if (!web_settled)
			continue; /* other types follow once the web dynos are on the new release */
		for (size_t i = 0; i < n_olds; i++)
			dyno_stop(a, olds[i], true);
		if (!cur && !n_olds && !leaving)
			dyno_create(a, s, app, f, name);
		else if (cur && !n_olds)
			dyno_apply_restarts(a, cur, restarts);
	}
}

/* The one-off dynos of an app: new ones start, those ps:stop names go. */
static void reconcile_runs(struct agent *a, struct agent_space *s, json_t *app, json_t *wanted)
{
	const char *app_id = json_string_value(json_object_get(app, "id"));
	size_t i;
	json_t *run;
	json_array_foreach(json_object_get(app, "runs"), i, run)
	{
		const char *id = json_string_value(json_object_get(run, "id"));
		if (!id || json_object_get(a->runs_ended_sent, id))
			continue; /* ended; the API has not heard it yet */
		char key[96];
		snprintf(key, sizeof(key), "%s %s", app_id, id);
		json_object_set_new(wanted, key, json_true());
		struct agent_dyno *d = NULL;
		for (size_t k = 0; k < a->n_dynos && !d; k++)
			if (streq(a->dynos[k]->id, id))
				d = a->dynos[k];
		bool stop = json_is_true(json_object_get(run, "stop"));
		if (d && stop && !d->remove) {
			agent_event(a, d->app_id, d->app_name, d->name, "Stopping one-off dyno at the user's request");
			if (d->proc.running)
				sandbox_kill(&d->proc.sb, SIGHUP, NULL);
			dyno_stop(a, d, true);
		} else if (!d && stop) {
			/* Stopped before it ran. */
			json_array_append_new(a->runs_ended, json_pack("{s:s, s:i}", "id", id, "exit_status", -1));
			json_object_set_new(a->runs_ended_sent, id, json_true());
			agent_want_report(a);
		} else if (!d) {
			run_create(a, s, app, run);
		}
	}
}

void agent_runs_forget(struct agent *a, json_t *desired_apps)
{
	json_t *listed = json_object();
	size_t i, k;
	json_t *app, *run;
	json_array_foreach(desired_apps, i, app)
	{
		json_array_foreach(json_object_get(app, "runs"), k, run)
		{
			const char *id = json_string_value(json_object_get(run, "id"));
			if (id)
				json_object_set_new(listed, id, json_true());
		}
	}
	const char *id;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(a->runs_ended_sent, tmp, id, v)
	{
		if (!json_object_get(listed, id))
			json_object_del(a->runs_ended_sent, id);
	}
	json_decref(listed);
}

void agent_dynos_reconcile(struct agent *a, json_t *desired_apps)
{
	json_t *wanted = json_object(); /* "app_id name" -> true */
	size_t i;
	json_t *app;
	json_array_foreach(desired_apps, i, app)
	{
		const char *app_id = json_string_value(json_object_get(app, "id"));
		json_t *release = json_object_get(app, "release");
		const char *slug_id = json_string_value(json_object_get(release, "slug_id"));
		const char *space_id = json_string_value(json_object_get(app, "space_id"));
		struct agent_space *s = space_id ? agent_space_find(a, space_id) : NULL;
		if (!app_id || !s || !s->ensured || s->deleting)
			continue;
		/* One-off dynos name their own release: they run before the app has a current one
		 * (the release phase of its first deploy). */
		reconcile_runs(a, s, app, wanted);
		if (!slug_id)
			continue;
		int64_t version = json_integer_value(json_object_get(release, "version"));
		json_t *formation = json_object_get(app, "formation");
		size_t k;
		json_t *f, *web = NULL;
		json_array_foreach(formation, k, f)
		{
			const char *type = json_string_value(json_object_get(f, "type"));
			json_int_t quantity = json_integer_value(json_object_get(f, "quantity"));
			for (json_int_t n = 1; type && n <= quantity; n++) {
				char key[96];
				snprintf(key, sizeof(key), "%s %s.%lld", app_id, type, (long long)n);
				json_object_set_new(wanted, key, json_true());
			}
			if (type && streq(type, "web"))
				web = f;
		}
		if (web)
			reconcile_type(a, s, app, web, false);
		/* Settled: no web dyno of another release is left, stopping or not. */
		bool web_settled = true;
		const char *web_command = web ? json_string_value(json_object_get(web, "command")) : NULL;
		const char *web_size = web ? json_string_value(json_object_get(web, "size")) : NULL;
		for (size_t d = 0; d < a->n_dynos && web_settled; d++) {
			struct agent_dyno *dy = a->dynos[d];
			if (!dy->one_off && streq(dy->app_id, app_id) && streq(dy->type, "web") && web_command && web_size)
				web_settled = dyno_current(dy, version, web_command, web_size) && !dy->remove;
		}
		json_array_foreach(formation, k, f)
		{
			if (f != web)
				reconcile_type(a, s, app, f, web_settled);
		}
	}
	/* Whatever is not wanted goes: scaled down, a type gone, an app destroyed. */
	for (size_t k = 0; k < a->n_dynos; k++) {
		struct agent_dyno *d = a->dynos[k];
		char key[96];
		snprintf(key, sizeof(key), "%s %s", d->app_id, d->one_off ? d->id : d->name);
		struct agent_space *s = agent_space_find(a, d->space_id);
		if (!json_object_get(wanted, key) && s && s->ensured && !s->deleting && !d->remove) {
			dyno_stop(a, d, true);
			/* dyno_stop may have removed it from the list */
			if (k < a->n_dynos && a->dynos[k] != d)
				k--;
		}
	}
	json_decref(wanted);
}

void agent_dynos_stop_space(struct agent *a, const char *space_id)
{
	for (size_t k = 0; k < a->n_dynos; k++) {
		struct agent_dyno *d = a->dynos[k];
		if (!streq(d->space_id, space_id) || (d->remove && d->proc.stopping))
			continue;
		dyno_stop(a, d, true);
		if (k < a->n_dynos && a->dynos[k] != d)
			k--;
	}
}

json_t *agent_dynos_report(struct agent *a)
{
	json_t *list = json_array();
	for (size_t i = 0; i < a->n_dynos; i++) {
		struct agent_dyno *d = a->dynos[i];
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s}", "id", d->id,
						      "app_id", d->app_id, "name", d->name, "type", d->type, "release_version",
						      (json_int_t)d->release_version, "state", state_names[d->state], "command",
						      d->command, "size", d->size, "private_ip", d->ip, "created_at",
						      d->created_at));
	}
	return list;
}

static struct agent_dyno *dyno_load(struct agent *a, const char *dir, struct error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/dyno.json", dir);
	json_error_t jerr;
	json_t *j = json_load_file(path, 0, &jerr);
	if (!j)
		return error_set(err, -EINVAL, "read '%s': %s", path, jerr.text), NULL;
	struct agent_dyno *d = dyno_alloc(a);
	const char *id, *app_id, *app_name, *space_id, *name, *type, *slug_id, *command, *size, *ip, *created_at;
	json_int_t version, s0, s1, s2;
	int prefix, port, uid;
	json_t *env;
	if (json_unpack_ex(j, &jerr, 0,
			   "{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:o, s:[I,I,I], s:s}", "id",
			   &id, "app_id", &app_id, "app_name", &app_name, "space_id", &space_id, "name", &name, "type", &type,
			   "release_version", &version, "slug_id", &slug_id, "command", &command, "size", &size, "ip", &ip,
			   "prefix", &prefix, "port", &port, "uid", &uid, "env", &env, "restart_seq", &s0, &s1, &s2,
			   "created_at", &created_at) < 0) {
		error_set(err, -EINVAL, "read '%s': %s", path, jerr.text);
		json_decref(j);
		dyno_free(d);
		return NULL;
	}
	dyno_identify(d, &(struct dyno_identity){ .id = id, .app_id = app_id, .app_name = app_name, .space_id = space_id,
						  .name = name, .type = type, .slug_id = slug_id, .command = command,
						  .size = size, .release_version = version });
	snprintf(d->ip, sizeof(d->ip), "%s", ip);
	d->prefix = (unsigned)prefix;
	d->port = (unsigned)port;
	d->uid = (uid_t)uid;
	d->env = json_incref(env);
	d->restart_seq[0] = s0;
	d->restart_seq[1] = s1;
	d->restart_seq[2] = s2;
	snprintf(d->created_at, sizeof(d->created_at), "%s", created_at);
	json_t *one_off = json_object_get(j, "one_off");
	if (json_is_object(one_off)) {
		d->one_off = true;
		d->attach = json_is_true(json_object_get(one_off, "attach"));
		d->tty = json_is_true(json_object_get(one_off, "tty"));
		snprintf(d->secret_hash, sizeof(d->secret_hash), "%s", json_string_value(json_object_get(one_off, "secret_hash")) ?: "");
		snprintf(d->user, sizeof(d->user), "%s", json_string_value(json_object_get(one_off, "user")) ?: "");
		d->ttl_s = (unsigned)json_integer_value(json_object_get(one_off, "ttl"));
		/* Its time to live starts over: the agent does not know how long it was away. */
		d->end_at = time_mono_usec() + (uint64_t)d->ttl_s * USEC;
		d->attach_by = time_mono_usec() + DYNO_ATTACH_TIMEOUT_S * USEC;
	}
	json_decref(j);
	return d;
}

/* A dyno of the last agent: adopted if it runs, otherwise crashed (or, one-off, ended). */
static void dyno_adopt(struct agent *a, const char *path, const char *name, void *userdata)
{
	struct error e = { 0 };
	struct agent_dyno *d = dyno_load(a, path, &e);
	if (!d) {
		log_warning("agent: ignoring dyno state: %s", e.message);
		return;
	}
	dyno_add(a, d);
	agent_logs_load_cursor(a, d);
	_cleanup_free_ char *sdir = sandbox_dir(a, d->id), *what = dyno_what(d);
	if (agent_sandboxed_adopt(a, &d->proc, &d->watch, sdir, what)) {
		/* Adopted as it was; a web dyno shows `up` again once its port is seen. */
		d->state = d->port ? DYNO_STARTING : DYNO_UP;
		log_info("agent: adopted dyno '%s' of '%s'", d->name, d->app_name);
		d->attached = d->one_off; /* its session, if it had one, is gone with the agent */
	} else if (d->one_off) {
		/* A one-off dyno that ended while nobody watched is over. */
		d->remove = true;
		int status;
		bool oom;
		if (sandbox_exit_status(sdir, &status, &oom, NULL) >= 0)
			d->exit_code = agent_exit_code(status);
		log_info("agent: one-off dyno '%s' of '%s' ended while the agent was away", d->name, d->app_name);
	} else {
		/* It ended while nobody watched: that is a crash, restarted by the tick. */
		d->state = DYNO_CRASHED;
		d->proc.restart_at = 0;
		log_info("agent: dyno '%s' of '%s' ended while the agent was away", d->name, d->app_name);
	}
}

int agent_dynos_load(struct agent *a, struct error *err)
{
	int r = agent_state_foreach(a, "dynos", dyno_adopt, NULL, err);
	agent_want_report(a);
	return r;
}
