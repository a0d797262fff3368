/* SPDX-License-Identifier: MIT */
#include "agent/agent-slug.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/timeutil.h"

#define SLUG_RETRY_USEC (5u * 1000 * 1000)

static struct agent_slug *slug_find(struct agent *a, const char *id)
{
	for (size_t i = 0; i < a->n_slugs; i++)
		if (streq(a->slugs[i]->id, id))
			return a->slugs[i];
	return NULL;
}

static char *slug_dir(struct agent *a, const char *id)
{
	return xasprintf("%s/slugs/%s", a->state_dir, id);
}

static void slug_extract(struct agent *a, struct agent_slug *s)
{
	_cleanup_free_ char *dir = slug_dir(a, s->id);
	_cleanup_free_ char *tmp = xasprintf("%s.extracting", dir);
	_cleanup_free_ char *tgz = xasprintf("%s.tgz", dir);
	_cleanup_free_ char *uid = xasprintf("%u:%u", (unsigned)s->uid, (unsigned)s->uid);
	pid_t pid = fork();
	if (pid < 0) {
		log_error("agent: extract slug '%s': fork: %m", s->id);
		s->state = SLUG_FAILED;
		s->retry_at = time_mono_usec() + SLUG_RETRY_USEC;
		return;
	}
	if (pid == 0) {
		/* The tarball is ours (it came from our API), the paths are ours: plain tools will do. */
		execl("/bin/sh", "sh", "-ec",
		      "rm -rf \"$1\"; mkdir -p \"$1\"; tar -xzf \"$2\" -C \"$1\" --no-same-owner;"
		      " [ -d \"$1/app\" ] || mkdir \"$1/app\"; chown -R \"$3\" \"$1/app\"; rm -rf \"$4\"; mv \"$1\" \"$4\"",
		      "sh", tmp, tgz, uid, dir, (char *)NULL);
		_exit(127);
	}
	s->pid = pid;
	s->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	s->state = SLUG_EXTRACTING;
	struct error err = { 0 };
	if (s->pidfd < 0 || agent_watch_add(a, s->pidfd, &s->watch, &err) < 0) {
		/* Without a pidfd, wait for it here: extraction is rare and bounded. */
		int status;
		waitpid(pid, &status, 0);
		if (s->pidfd >= 0)
			close(s->pidfd);
		s->pidfd = -1;
		s->state = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? SLUG_READY : SLUG_FAILED;
		agent_want_reconcile(a);
	}
}

static void on_fetched(void *userdata, long status, const struct strbuf *body, const char *error)
{
	struct agent_slug *s = userdata;
	struct agent *a = s->watch.obj;
	if (status != 200) {
		log_error("agent: fetch slug '%s': %s", s->id, error ? error : "the API refused");
		s->state = SLUG_FAILED;
		s->retry_at = time_mono_usec() + SLUG_RETRY_USEC;
		return;
	}
	slug_extract(a, s);
}

static void slug_fetch(struct agent *a, struct agent_slug *s)
{
	_cleanup_free_ char *dir = xasprintf("%s/slugs", a->state_dir);
	_cleanup_free_ char *tgz = xasprintf("%s/%s.tgz", dir, s->id);
	_cleanup_free_ char *path = xasprintf("/agent/slugs/%s", s->id);
	struct error err = { 0 };
	s->state = SLUG_FETCHING;
	if (mkdir_p(dir, 0700, &err) < 0 || http_request(a->http, "GET", path, NULL, tgz, 600, on_fetched, s, &err) < 0) {
		log_error("agent: fetch slug '%s': %s", s->id, err.message);
		s->state = SLUG_FAILED;
		s->retry_at = time_mono_usec() + SLUG_RETRY_USEC;
	}
}

const char *agent_slug_app_dir(struct agent *a, const char *slug_id, uid_t uid)
{
	struct agent_slug *s = slug_find(a, slug_id);
	if (!s) {
		s = xcalloc(1, sizeof(*s));
		snprintf(s->id, sizeof(s->id), "%s", slug_id);
		s->uid = uid;
		s->pidfd = -1;
		s->watch = (struct watch){ .kind = WATCH_SLUG, .obj = a };
		a->slugs = xrealloc(a->slugs, (a->n_slugs + 1) * sizeof(*a->slugs));
		a->slugs[a->n_slugs++] = s;
		_cleanup_free_ char *dir = slug_dir(a, slug_id);
		_cleanup_free_ char *app = xasprintf("%s/app", dir);
		struct stat st;
		if (stat(app, &st) == 0 && S_ISDIR(st.st_mode))
			s->state = SLUG_READY;
		else
			slug_fetch(a, s);
	}
	if (s->state != SLUG_READY)
		return NULL;
	/* The path lives as long as the agent: kept in a small cache per slug. */
	static char path[4096];
	snprintf(path, sizeof(path), "%s/slugs/%s/app", a->state_dir, slug_id);
	return path;
}

void agent_slug_on_exit(struct agent *a, struct agent_slug *s)
{
	int status = 0;
	agent_watch_del(a, s->pidfd);
	close(s->pidfd);
	s->pidfd = -1;
	if (waitpid(s->pid, &status, 0) < 0)
		status = -1;
	if (status == 0) {
		s->state = SLUG_READY;
		_cleanup_free_ char *tgz = xasprintf("%s/slugs/%s.tgz", a->state_dir, s->id);
		unlink(tgz);
		log_info("agent: slug '%s' ready", s->id);
	} else {
		log_error("agent: extract slug '%s': failed with status %d", s->id, status);
		s->state = SLUG_FAILED;
		s->retry_at = time_mono_usec() + SLUG_RETRY_USEC;
	}
	agent_want_reconcile(a);
}

void agent_slugs_tick(struct agent *a, uint64_t now)
{
	for (size_t i = 0; i < a->n_slugs; i++)
		if (a->slugs[i]->state == SLUG_FAILED && a->slugs[i]->retry_at <= now)
			slug_fetch(a, a->slugs[i]);
}
