/* SPDX-License-Identifier: MIT */
/*
 * The per-space processes (see agent-spaceproc.h). The settings are kept as the text of the
 * pid file's own lines, so that what an adopted process was started with compares with what
 * the space wants now without each kind parsing its pid file.
 */
#include "agent/agent-spaceproc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent-space.h"
#include "base/alloc.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "net/net-netns.h"

char *agent_spaceproc_path(struct agent *a, const struct agent_spaceproc *p, const char *ext)
{
	return xasprintf("%s/%s/%s.%s", a->state_dir, p->kind->dir, p->space_id, ext);
}

static void settings_value(const char *settings, const char *key, char *ret, size_t size)
{
	size_t klen = strlen(key);
	ret[0] = '\0';
	for (const char *line = settings; line && *line;) {
		const char *end = strchrnul(line, '\n');
		if ((size_t)(end - line) > klen && strncmp(line, key, klen) == 0 && line[klen] == '=') {
			snprintf(ret, size, "%.*s", (int)(end - line - klen - 1), line + klen + 1);
			return;
		}
		line = *end ? end + 1 : end;
	}
}

void agent_spaceproc_setting(const struct agent_spaceproc *p, const char *key, char *ret, size_t size)
{
	settings_value(p->settings, key, ret, size);
}

static struct agent_spaceproc *spaceproc_find(struct agent_spaceprocs *l, const char *space_id)
{
	for (size_t i = 0; i < l->n; i++)
		if (streq(l->v[i]->space_id, space_id))
			return l->v[i];
	return NULL;
}

static struct agent_spaceproc *spaceproc_add(struct agent_spaceprocs *l, const char *space_id)
{
	struct agent_spaceproc *p = xcalloc(1, sizeof(*p));
	p->kind = l->kind;
	snprintf(p->space_id, sizeof(p->space_id), "%s", space_id);
	p->proc = (struct agent_detached)AGENT_DETACHED_INIT;
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = p;
	return p;
}

static void spaceproc_forget(struct agent_spaceprocs *l, struct agent_spaceproc *p)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i] == p) {
			l->v[i] = l->v[--l->n];
			break;
		}
	agent_detached_release(&p->proc);
	free(p->settings);
	json_decref(p->table);
	free(p->table_text);
	free(p);
}

/* The lines of a pid file after pid= and start=, allocated. */
static char *pid_file_settings(const char *text)
{
	const char *s = text;
	while (strncmp(s, "pid=", 4) == 0 || strncmp(s, "start=", 6) == 0) {
		const char *nl = strchr(s, '\n');
		if (!nl)
			return xstrdup("");
		s = nl + 1;
	}
	return xstrdup(s);
}

/* A pid file: the process it names is adopted, if it still runs. */
static void spaceproc_adopt(struct agent *a, const char *path, const char *file, void *userdata)
{
	struct agent_spaceprocs *l = userdata;
	size_t len = strlen(file);
	if (len < 5 || !streq(file + len - 4, ".pid"))
		return;
	char space_id[ID_STRING_MAX];
	snprintf(space_id, sizeof(space_id), "%.*s", (int)(len - 4), file);
	_cleanup_free_ char *text = NULL;
	struct agent_spaceproc *p = spaceproc_add(l, space_id);
	if (!agent_detached_adopt(&p->proc, path, &text)) {
		log_info("agent: the %s of space %s ended while the agent was away", l->kind->name, space_id);
		return;
	}
	p->settings = pid_file_settings(text);
	_cleanup_free_ char *table = agent_spaceproc_path(a, p, "json");
	p->table = json_load_file(table, 0, NULL);
	p->table_text = p->table ? json_dumps(p->table, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	log_info("agent: adopted the %s of space %s (pid %d)", l->kind->name, space_id, (int)p->proc.pid);
}

int agent_spaceprocs_load(struct agent *a, const struct agent_spaceproc_kind *kind, struct agent_spaceprocs **ret,
			  struct error *err)
{
	struct agent_spaceprocs *l = *ret = xcalloc(1, sizeof(*l));
	l->kind = kind;
	return agent_state_foreach(a, kind->dir, spaceproc_adopt, l, err);
}

static void table_write(struct agent *a, const struct agent_space *s, struct agent_spaceproc *p)
{
	if (!a->desired)
		return; /* after a restart, the table on disk serves until the API has spoken */
	json_t *t = p->kind->table(a, s, p);
	_cleanup_free_ char *text = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS);
	if (p->table_text && streq(text, p->table_text)) {
		json_decref(t);
		return;
	}
	_cleanup_free_ char *path = agent_spaceproc_path(a, p, "json");
	struct error err = { 0 };
	if (file_write_atomic(path, text, strlen(text), 0600, &err) < 0) {
		log_error("agent: the table of the %s of space '%s': %s", p->kind->name, s->name, err.message);
		json_decref(t);
		return;
	}
	free(p->table_text);
	json_decref(p->table);
	p->table_text = TAKE_PTR(text);
	p->table = t;
}

void agent_spaceproc_spawn(struct agent *a, struct agent_spaceproc *p, char *const argv[], uint64_t now)
{
	struct error err = { 0 };
	_cleanup_free_ char *what = xasprintf("the %s of space '%s'", p->kind->name, p->space_name);
	_cleanup_free_ char *pid_path = agent_spaceproc_path(a, p, "pid");
	bool was_running = p->proc.pid > 0;
	if (agent_detached_start(&p->proc, what, argv, pid_path, p->settings ?: "", now, &err) < 0) {
		log_error("agent: %s", err.message);
	} else if (!was_running && p->proc.pid > 0) {
		char listen[64];
		agent_spaceproc_setting(p, "listen", listen, sizeof(listen));
		log_info("agent: %s started on %s (pid %d)", what, listen, (int)p->proc.pid);
	}
}

/* Runs the space's process with the space's settings: restarted when they changed, started when it does not run. */
static void spaceproc_ensure(struct agent *a, const struct agent_space *s, struct agent_spaceproc *p, uint64_t now)
{
	_cleanup_free_ char *settings = p->kind->settings(a, s);
	snprintf(p->space_name, sizeof(p->space_name), "%s", s->name);
	if (p->proc.pid > 0 && !streq_ptr(p->settings, settings)) {
		char listen[64];
		settings_value(settings, "listen", listen, sizeof(listen));
		log_info("agent: the %s of space '%s' moves to %s", p->kind->name, s->name, listen);
		agent_detached_stop(&p->proc, now, p->kind->stop_grace_usec);
	}
	if (p->proc.pid > 0)
		return;
	free(p->settings);
	p->settings = TAKE_PTR(settings);
	char netns[NET_NETNS_PATH_MAX];
	struct error err = { 0 };
	if (net_netns_path(NET_NETNS_SPACE, s->id, netns, &err) < 0) {
		log_error("agent: %s", err.message);
		return;
	}
	p->kind->start(a, s, p, netns, now);
}

/* Its space is gone and so is its process: nothing of it stays. */
static void spaceproc_remove(struct agent *a, struct agent_spaceprocs *l, struct agent_spaceproc *p)
{
	static const char *const own[] = { "json", "pid", NULL };
	const char *const *lists[] = { own, l->kind->files };
	for (size_t k = 0; k < ARRAY_SIZE(lists); k++)
		for (const char *const *ext = lists[k]; ext && *ext; ext++) {
			_cleanup_free_ char *path = agent_spaceproc_path(a, p, *ext);
			unlink(path);
		}
	spaceproc_forget(l, p);
}

void agent_spaceprocs_reconcile(struct agent *a, struct agent_spaceprocs *l)
{
	if (!l)
		return;
	uint64_t now = time_mono_usec();
	for (size_t i = 0; i < l->n; i++)
		l->v[i]->wanted = false;
	for (size_t i = 0; i < a->n_spaces; i++) {
		struct agent_space *s = a->spaces[i];
		if (!s->ensured || s->deleting || !s->seen)
			continue;
		struct agent_spaceproc *p = spaceproc_find(l, s->id);
		if (!p)
			p = spaceproc_add(l, s->id);
		p->wanted = true;
		table_write(a, s, p);
		spaceproc_ensure(a, s, p, now);
	}
	for (size_t i = 0; i < l->n;) {
		struct agent_spaceproc *p = l->v[i];
		if (p->wanted || p->proc.pid > 0) {
			if (!p->wanted)
				agent_detached_stop(&p->proc, now, l->kind->stop_grace_usec);
			i++;
			continue;
		}
		spaceproc_remove(a, l, p);
	}
}

void agent_spaceprocs_table_changed(struct agent *a, struct agent_spaceprocs *l, const char *space_id)
{
	if (!l)
		return;
	struct agent_space *s = agent_space_find(a, space_id);
	struct agent_spaceproc *p = spaceproc_find(l, space_id);
	if (s && p && p->wanted)
		table_write(a, s, p);
}

void agent_spaceprocs_tick(struct agent *a, struct agent_spaceprocs *l, uint64_t now)
{
	if (!l)
		return;
	bool again = false;
	for (size_t i = 0; i < l->n; i++) {
		struct agent_spaceproc *p = l->v[i];
		_cleanup_free_ char *what = xasprintf("the %s of space '%s'", l->kind->name, p->space_name);
		_cleanup_free_ char *pid_path = agent_spaceproc_path(a, p, "pid");
		again |= agent_detached_tick(&p->proc, what, pid_path, p->wanted, now);
	}
	if (again)
		agent_want_reconcile(a);
}

void agent_spaceprocs_free(struct agent_spaceprocs *l)
{
	if (!l)
		return;
	while (l->n)
		spaceproc_forget(l, l->v[0]);
	free(l->v);
	free(l);
}
