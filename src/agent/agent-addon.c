/* SPDX-License-Identifier: MIT */
/*
 * Add-on servers. Design note: an add-on's server is supervised like a dyno (agent-dyno.c)
 * but is simpler: one process, no slug, no rollout. What makes it a data service is its data
 * directory, DATA_DIR/addons/<id>, which outlives every run of the server and is deleted only
 * when the add-on leaves the desired state (addons:destroy). The server runs as the Debian
 * package's own system user (postgres, redis): PostgreSQL's tools refuse a uid without a name,
 * and each server's sandbox shows it nothing but its own data directory.
 *
 * The server's command is a short shell script: for PostgreSQL it makes the cluster on the
 * first start (initdb into a temporary directory, renamed once complete, so that a crash
 * during the first start leaves nothing half made), sets the role's password from the
 * environment in single-user mode at every start (credential rotation is a restart), and
 * execs the server with the plan's limits. Redis reads a configuration file the agent writes.
 */
#include "agent/agent-addon.h"

#include "addons/addon-plan.h"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent-dyno.h"
#include "agent/agent-space.h"
#include "base/alloc.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "net/net-dyno.h"

#define USEC 1000000ull

enum addon_state { ADDON_STARTING, ADDON_UP, ADDON_CRASHED, ADDON_DOWN };

struct agent_addon {
	struct watch watch;
	json_t *spec; /* the desired state's object (api-addons.h lists its fields) */
	char id[ID_STRING_MAX];
	enum addon_state state;
	bool provisioned;     /* it has been up once: the API knows */
	struct agent_sandboxed proc; /* its server */
	uint64_t state_since;
	bool remove;          /* when stopped: delete it, data and all */
};

static const char *spec_str(const struct agent_addon *d, const char *key)
{
	const char *s = json_string_value(json_object_get(d->spec, key));
	return s ? s : "";
}

static long long spec_int(const struct agent_addon *d, const char *key)
{
	return json_integer_value(json_object_get(d->spec, key));
}

static bool is_postgresql(const struct agent_addon *d)
{
	return streq(spec_str(d, "service"), "postgresql");
}

static char *state_dir(struct agent *a, const char *id)
{
	return xasprintf("%s/addons/%s", a->state_dir, id);
}

static char *sandbox_dir(struct agent *a, const char *id)
{
	return xasprintf("%s/addons/%s/sandbox", a->state_dir, id);
}

static char *data_dir(struct agent *a, const char *id)
{
	return xasprintf("%s/addons/%s", a->cfg->data_dir, id);
}

/* The add-on in messages: "add-on 'acme-db'", allocated. */
static char *addon_what(const struct agent_addon *d)
{
	return xasprintf("add-on '%s'", spec_str(d, "name"));
}

/* The address: "10.1.0.2". */
static void addon_ip(const struct agent_addon *d, char ret[16])
{
	snprintf(ret, 16, "%s", spec_str(d, "address"));
}

static void addon_event(struct agent *a, const struct agent_addon *d, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void addon_event(struct agent *a, const struct agent_addon *d, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	agent_event(a, spec_str(d, "app_id"), spec_str(d, "app_name"), spec_str(d, "name"), "%s", msg);
}

static int addon_save(struct agent *a, const struct agent_addon *d, struct error *err)
{
	_cleanup_free_ char *dir = state_dir(a, d->id);
	_cleanup_free_ char *path = xasprintf("%s/addon.json", dir);
	_cleanup_free_ char *text = json_dumps(d->spec, JSON_COMPACT | JSON_SORT_KEYS);
	int r = mkdir_p(dir, 0700, err);
	if (r < 0)
		return r;
	return file_write_atomic(path, text, strlen(text), 0600, err);
}

static struct agent_addon *addon_new(struct agent *a, json_t *spec)
{
	struct agent_addon *d = xcalloc(1, sizeof(*d));
	d->watch = (struct watch){ .kind = WATCH_ADDON, .obj = a };
	d->proc = (struct agent_sandboxed)AGENT_SANDBOXED_INIT;
	d->spec = json_deep_copy(spec);
	snprintf(d->id, sizeof(d->id), "%s", spec_str(d, "id"));
	d->state = ADDON_STARTING;
	d->state_since = time_mono_usec();
	a->addons = xrealloc(a->addons, (a->n_addons + 1) * sizeof(*a->addons));
	a->addons[a->n_addons++] = d;
	return d;
}

static void addon_free(struct agent_addon *d)
{
	if (!d)
		return;
	agent_sandboxed_release(&d->proc);
	json_decref(d->spec);
	free(d);
}

static void set_state(struct agent *a, struct agent_addon *d, enum addon_state state)
{
	static const char *const names[] = { "starting", "up", "crashed", "down" };
	if (d->state == state)
		return;
	addon_event(a, d, "State changed from %s to %s", names[d->state], names[state]);
	d->state = state;
	d->state_since = time_mono_usec();
	agent_want_report(a);
}

/* Writes a file of the server's data directory, owned by the server's user. */
static int write_owned(const char *path, const char *text, const struct passwd *pw, struct error *err)
{
	int r = file_write_atomic(path, text, strlen(text), 0600, err);
	if (r >= 0 && chown(path, pw->pw_uid, pw->pw_gid) < 0)
		r = error_set(err, -errno, "chown '%s': %m", path);
	return r;
}

static int mkdir_owned(const char *path, const struct passwd *pw, struct error *err)
{
	int r = mkdir_p(path, 0700, err);
	if (r >= 0 && (chown(path, pw->pw_uid, pw->pw_gid) < 0 || chmod(path, 0700) < 0))
		r = error_set(err, -errno, "own '%s': %m", path);
	return r;
}

static unsigned long host_memory_mb(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
	return pages > 0 && size > 0 ? (unsigned long)pages / 1024 * (unsigned long)size / 1024 : 0;
}

/* The server's command; its secrets come from the environment. */
static char *server_command(const struct agent_addon *d, const char *ip)
{
	if (is_postgresql(d))
		return xasprintf(
			"set -e\n"
			"B=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)\n"
			"D=/app/pgdata\n"
			"if [ ! -s \"$D/PG_VERSION\" ]; then\n"
			"  rm -rf /app/pgdata.new\n"
			"  \"$B/initdb\" -D /app/pgdata.new -U postgres -E UTF8 --locale=C --auth-local=trust"
			" --auth-host=scram-sha-256 >/app/initdb.log 2>&1\n"
			"  printf 'local all postgres trust\\nhost all all 0.0.0.0/0 scram-sha-256\\n' >/app/pgdata.new/pg_hba.conf\n"
			"  printf 'CREATE ROLE \"%%s\" LOGIN;\\nCREATE DATABASE \"%%s\" OWNER \"%%s\";\\n' \"$ADDON_USER\""
			" \"$ADDON_DATABASE\" \"$ADDON_USER\" | \"$B/postgres\" --single -D /app/pgdata.new postgres >/app/setup.log 2>&1\n"
			"  mv /app/pgdata.new \"$D\"\n"
			"fi\n"
			"printf \"ALTER ROLE \\\"%%s\\\" LOGIN PASSWORD '%%s';\\n\" \"$ADDON_USER\" \"$ADDON_PASSWORD\" |"
			" \"$B/postgres\" --single -D \"$D\" postgres >>/app/setup.log 2>&1\n"
			"unset ADDON_PASSWORD\n"
			"exec \"$B/postgres\" -D \"$D\" -c listen_addresses=%s -c port=%lld -c max_connections=%lld"
			" -c shared_buffers=%luMB -c unix_socket_directories=/tmp -c logging_collector=off\n",
			ip, spec_int(d, "port"), spec_int(d, "max_connections"),
			addon_shared_buffers_mb((unsigned long)spec_int(d, "memory_mb"), host_memory_mb()));
	return xstrdup("exec redis-server /app/redis.conf\n");
}

/* Redis's configuration: the password and limits live in a file only its user reads. */
static int redis_config(struct agent *a, const struct agent_addon *d, const char *dir, const char *ip,
			const struct passwd *pw, struct error *err)
{
	_cleanup_free_ char *data = xasprintf("%s/data", dir);
	_cleanup_free_ char *path = xasprintf("%s/redis.conf", dir);
	_cleanup_free_ char *text = xasprintf("bind %s\nport %lld\nprotected-mode no\nrequirepass %s\n"
					      "maxmemory %lldmb\nmaxmemory-policy noeviction\nmaxclients %lld\n"
					      "dir /app/data\nappendonly yes\ndaemonize no\nlogfile \"\"\n",
					      ip, spec_int(d, "port"), spec_str(d, "password"), spec_int(d, "maxmemory_mb"),
					      spec_int(d, "max_connections"));
	int r = mkdir_owned(data, pw, err);
	if (r >= 0)
		r = write_owned(path, text, pw, err);
	return r;
}

static void addon_start(struct agent *a, struct agent_addon *d)
{
	if (d->proc.running)
		return;
	struct error err = { 0 };
	const char *user = is_postgresql(d) ? "postgres" : "redis";
	struct passwd *pw = getpwnam(user);
	_cleanup_free_ char *dir = data_dir(a, d->id);
	_cleanup_free_ char *sdir = sandbox_dir(a, d->id);
	char ip[16];
	addon_ip(d, ip);
	int r = 0;
	if (!pw)
		r = error_set(&err, -ENOENT, "the system user '%s' does not exist: is the %s package installed?", user,
			      is_postgresql(d) ? "postgresql" : "redis-server");
	if (r >= 0)
		r = mkdir_owned(dir, pw, &err);
	if (r >= 0 && !is_postgresql(d))
		r = redis_config(a, d, dir, ip, pw, &err);
	if (r >= 0 && sandbox_cleanup(d->id, sdir, &err) < 0) {
		log_warning("agent: clean up add-on '%s': %s", spec_str(d, "name"), err.message);
		error_clear(&err);
	}
	if (r >= 0) {
		_cleanup_free_ char *command = server_command(d, ip);
		_cleanup_free_ char *ns = xasprintf("/run/netns/cove-d-%s", d->id);
		char *env[] = {
			xasprintf("ADDON_USER=%s", spec_str(d, "username")),
			xasprintf("ADDON_DATABASE=%s", spec_str(d, "database")),
			xasprintf("ADDON_PASSWORD=%s", spec_str(d, "password")),
			xstrdup("HOME=/app"),
			xstrdup("PATH=/usr/local/bin:/usr/bin:/bin"),
			xstrdup("LANG=C.UTF-8"),
			NULL,
		};
		const struct sandbox_bind binds[] = { { .source = dir, .target = "/app", .writable = true } };
		long long mem = spec_int(d, "memory_mb");
		struct sandbox_spec spec = {
			.id = d->id,
			.state_dir = sdir,
			.hostname = spec_str(d, "name"),
			.netns_path = ns,
			.app_dir = dir,
			.uid = pw->pw_uid,
			.gid = pw->pw_gid,
			.env = env,
			.command = command,
			.memory_bytes = (uint64_t)(mem > 0 ? mem : 64) << 20,
			.pids_max = (unsigned)spec_int(d, "max_connections") + 64,
			.output_fd = -1,
			.binds = binds,
			.n_binds = ARRAY_SIZE(binds),
		};
		addon_event(a, d, "Starting %s (%s) at %s:%lld", is_postgresql(d) ? "PostgreSQL" : "Redis",
			    spec_str(d, "plan"), ip, spec_int(d, "port"));
		_cleanup_free_ char *what = addon_what(d);
		r = agent_sandboxed_start(a, &d->proc, &d->watch, &spec, what, &err);
		for (char **e = env; *e; e++)
			free(*e);
	}
	if (r < 0) {
		addon_event(a, d, "Error starting the server: %s", err.message);
		set_state(a, d, ADDON_CRASHED);
		agent_sandboxed_start_failed(&d->proc);
		return;
	}
	set_state(a, d, ADDON_STARTING);
	d->state_since = time_mono_usec();
}

/* SIGINT: PostgreSQL's fast shutdown (SIGTERM would wait for every client); Redis saves and exits. */
static void addon_stop(struct agent *a, struct agent_addon *d)
{
	if (!d->proc.running || d->proc.stopping)
		return;
	_cleanup_free_ char *what = addon_what(d);
	agent_sandboxed_stop(&d->proc, is_postgresql(d) ? SIGINT : SIGTERM, (uint64_t)(a->cfg->stop_timeout_s + 20) * USEC,
			     what);
}

/* Deletes what is left of a stopped add-on: sandbox, network, data, description. */
static void addon_delete(struct agent *a, struct agent_addon *d)
{
	struct error err = { 0 };
	_cleanup_free_ char *sdir = sandbox_dir(a, d->id);
	_cleanup_free_ char *sstate = state_dir(a, d->id);
	_cleanup_free_ char *data = data_dir(a, d->id);
	_cleanup_free_ char *what = addon_what(d);
	agent_sandboxed_remove(d->id, sdir, what);
	if (sandbox_remove_tree(data, &err) < 0)
		log_error("agent: delete the data of add-on '%s': %s", spec_str(d, "name"), err.message);
	error_clear(&err);
	if (sandbox_remove_tree(sstate, &err) < 0)
		log_warning("agent: delete the state of add-on '%s': %s", spec_str(d, "name"), err.message);
	log_info("agent: add-on '%s' destroyed with its data", spec_str(d, "name"));
	for (size_t i = 0; i < a->n_addons; i++)
		if (a->addons[i] == d) {
			a->addons[i] = a->addons[--a->n_addons];
			break;
		}
	addon_free(d);
	agent_want_report(a);
	agent_want_reconcile(a); /* its space may go now */
}

void agent_addon_on_exit(struct agent *a, struct agent_addon *d)
{
	_cleanup_free_ char *sdir = sandbox_dir(a, d->id), *what = addon_what(d);
	bool oom;
	int code = agent_sandboxed_ended(a, &d->proc, sdir, what, &oom);
	if (oom)
		addon_event(a, d, "Error R15 (Memory quota vastly exceeded): the plan's %lld MB", spec_int(d, "memory_mb"));
	addon_event(a, d, "Server exited with status %d", code);
	if (d->remove) {
		addon_delete(a, d);
		return;
	}
	if (d->proc.stopping) {
		/* A restart (new password or limits): at once. */
		d->proc.stopping = false;
		set_state(a, d, ADDON_DOWN);
		addon_start(a, d);
		return;
	}
	uint64_t now = time_mono_usec();
	bool stable = d->state == ADDON_UP && now - d->state_since >= AGENT_SANDBOXED_STABLE_USEC;
	uint64_t delay = agent_sandboxed_crashed(&d->proc, stable, now);
	set_state(a, d, ADDON_CRASHED);
	if (delay)
		addon_event(a, d, "Restarting in %llu s", (unsigned long long)(delay / USEC));
}

void agent_addons_tick(struct agent *a, uint64_t now)
{
	for (size_t i = 0; i < a->n_addons; i++) {
		struct agent_addon *d = a->addons[i];
		if (agent_sandboxed_kill_due(&d->proc, now)) {
			addon_event(a, d, "Stopping the server with SIGKILL");
		} else if (d->state == ADDON_STARTING && d->proc.running && !d->proc.stopping) {
			if (agent_port_bound(a, d->id, (unsigned)spec_int(d, "port"))) {
				set_state(a, d, ADDON_UP);
				d->provisioned = true;
			}
		} else if (d->state == ADDON_CRASHED && !d->proc.running && !d->remove && now >= d->proc.restart_at) {
			addon_start(a, d);
		}
	}
}

/* Its network, then its server. */
static void addon_create(struct agent *a, json_t *spec)
{
	struct agent_addon *d = addon_new(a, spec);
	_cleanup_free_ char *address = xasprintf("%s/%lld", spec_str(d, "address"), spec_int(d, "prefix"));
	struct net_dyno_config cfg = { .space_id = spec_str(d, "space_id"), .dyno_id = d->id, .address = address };
	struct error err = { 0 };
	int r = net_dyno_ensure(&cfg, &err);
	if (r >= 0)
		r = addon_save(a, d, &err);
	if (r < 0) {
		/* Tried again at the next reconcile. */
		log_error("agent: add-on '%s': %s", spec_str(d, "name"), err.message);
		a->n_addons--;
		addon_free(d);
		return;
	}
	log_info("agent: add-on '%s' at %s", spec_str(d, "name"), address);
	addon_start(a, d);
	agent_want_report(a);
}

static struct agent_addon *addon_find(struct agent *a, const char *id)
{
	for (size_t i = 0; i < a->n_addons; i++)
		if (streq(a->addons[i]->id, id))
			return a->addons[i];
	return NULL;
}

static void addon_remove(struct agent *a, struct agent_addon *d)
{
	if (d->remove)
		return;
	d->remove = true;
	addon_event(a, d, "Destroying the server and its data");
	if (d->proc.running)
		addon_stop(a, d);
	else
		addon_delete(a, d);
}

/* A new password or new limits: the server starts again with them. */
static bool needs_restart(json_t *old, json_t *new)
{
	static const char *const keys[] = { "password", "memory_mb", "max_connections", "maxmemory_mb", "port", "address", "prefix" };
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		json_t *o = json_object_get(old, keys[i]), *n = json_object_get(new, keys[i]);
		if ((o || n) && !json_equal(o, n))
			return true;
	}
	return false;
}

void agent_addons_reconcile(struct agent *a, json_t *desired_spaces)
{
	/* Every space's add-ons in one list. */
	json_t *desired_addons = json_array();
	size_t si;
	json_t *space;
	json_array_foreach(desired_spaces, si, space)
	{
		json_t *list = json_object_get(space, "addons");
		if (json_is_array(list))
			json_array_extend(desired_addons, list);
	}
	size_t i;
	json_t *spec;
	json_array_foreach(desired_addons, i, spec)
	{
		const char *id = json_string_value(json_object_get(spec, "id"));
		const char *space_id = json_string_value(json_object_get(spec, "space_id"));
		struct agent_space *s = space_id ? agent_space_find(a, space_id) : NULL;
		if (!id || !s || !s->ensured || s->deleting)
			continue;
		struct agent_addon *d = addon_find(a, id);
		if (!d) {
			addon_create(a, spec);
			continue;
		}
		if (d->remove || json_equal(d->spec, spec))
			continue;
		bool restart = needs_restart(d->spec, spec);
		json_decref(d->spec);
		d->spec = json_deep_copy(spec);
		struct error err = { 0 };
		if (addon_save(a, d, &err) < 0)
			log_error("agent: add-on '%s': %s", spec_str(d, "name"), err.message);
		if (!restart)
			continue; /* a new name of its app, say */
		addon_event(a, d, "Restarting with new settings");
		if (d->proc.running)
			addon_stop(a, d);
		else
			addon_start(a, d);
	}
	/* Gone from the desired state while its space is here: destroyed. */
	for (size_t k = 0; k < a->n_addons; k++) {
		struct agent_addon *d = a->addons[k];
		struct agent_space *s = agent_space_find(a, spec_str(d, "space_id"));
		bool wanted = false;
		json_array_foreach(desired_addons, i, spec)
			wanted = wanted || streq(json_string_value(json_object_get(spec, "id")) ?: "", d->id);
		if ((!wanted && s && s->ensured) || !s || s->deleting) {
			size_t before = a->n_addons;
			addon_remove(a, d);
			if (a->n_addons < before)
				k--;
		}
	}
	json_decref(desired_addons);
}

json_t *agent_addons_report(struct agent *a)
{
	json_t *list = json_array();
	for (size_t i = 0; i < a->n_addons; i++) {
		const struct agent_addon *d = a->addons[i];
		json_array_append_new(list, json_pack("{s:s, s:s}", "id", d->id, "state",
						      d->provisioned ? "provisioned" : "provisioning"));
	}
	return list;
}

void agent_addons_free(struct agent *a)
{
	for (size_t i = 0; i < a->n_addons; i++)
		addon_free(a->addons[i]);
	free(a->addons);
	a->addons = NULL;
	a->n_addons = 0;
}

bool agent_addons_in_space(struct agent *a, const char *space_id)
{
	for (size_t i = 0; i < a->n_addons; i++)
		if (streq(spec_str(a->addons[i], "space_id"), space_id))
			return true;
	return false;
}

/* An add-on of the last agent: its server adopted if it runs, otherwise crashed. */
static void addon_adopt(struct agent *a, const char *dir, const char *name, void *userdata)
{
	_cleanup_free_ char *path = xasprintf("%s/addon.json", dir);
	json_t *spec = json_load_file(path, 0, NULL);
	if (!json_is_object(spec) || !json_is_string(json_object_get(spec, "id"))) {
		log_warning("agent: ignoring damaged add-on state '%s'", path);
		json_decref(spec);
		return;
	}
	struct agent_addon *d = addon_new(a, spec);
	json_decref(spec);
	_cleanup_free_ char *sdir = sandbox_dir(a, d->id), *what = addon_what(d);
	if (agent_sandboxed_adopt(a, &d->proc, &d->watch, sdir, what)) {
		log_info("agent: adopted add-on '%s'", spec_str(d, "name"));
	} else {
		d->state = ADDON_CRASHED;
		d->proc.restart_at = 0;
		log_info("agent: add-on '%s' ended while the agent was away", spec_str(d, "name"));
	}
}

int agent_addons_load(struct agent *a, struct error *err)
{
	int r = agent_state_foreach(a, "addons", addon_adopt, NULL, err);
	agent_want_report(a);
	return r;
}
