/* SPDX-License-Identifier: MIT */
/*
 * Git over smart HTTP through `git http-backend`.
 *
 * Design note. The API serves every request on one thread, and a push runs the app's build
 * inside its receive hook, for up to the build's time limit. None of it may hold that thread:
 *
 *   - the request body (the pack) is spooled to an unnamed file as it arrives, as slug
 *     uploads are, within the upload limit;
 *   - then `git http-backend` runs as a child process in a session of its own, the spooled
 *     body as its stdin, a non-blocking pipe as its stdout; receive-pack runs the pre-receive
 *     hook under it, which runs the build;
 *   - the connection is suspended until the CGI's header has arrived, then answered with a
 *     callback response (chunked) that reads the pipe without ever blocking: when the pipe is
 *     empty the callback suspends the connection and returns 0, as libmicrohttpd asks;
 *   - a thread of this module waits on the pipes of suspended connections (epoll, one-shot)
 *     and resumes a connection when its pipe has data or is closed. It does nothing else:
 *     the store, the responses and the children are touched on the API's thread only.
 *
 * A connection is only ever resumed by the thread that saw its pipe ready, and it is only
 * freed once resumed, so the thread never sees a freed connection. When the client goes away
 * before the CGI has finished, the CGI's session gets SIGTERM: receive-pack dies, the hook's
 * build with it (the builder kills its sandbox on SIGTERM), and nothing is released.
 */
#include "api/api-git.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api-apps.h"
#include "api/api-auth.h"
#include "base/alloc.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/reaper.h"
#include "base/strbuf.h"
#include "base/timeutil.h"

#define GIT_HEADER_MAX (16 * 1024)
#define GIT_BLOCK_SIZE (32 * 1024)
#define WATCH_EVENTS 32

extern char **environ;

enum git_service { GIT_INFO_REFS, GIT_UPLOAD_PACK, GIT_RECEIVE_PACK };

struct api_git {
	struct api *api;
	struct store *store;
	char *hooks_dir;
	int epoll_fd;
	pthread_t watcher;
	bool stopping; /* atomic */
	pthread_mutex_t lock; /* conns and every conn's suspended flag */
	struct api_git_conn *conns;
};

struct api_git_conn {
	struct api_git *g;
	struct MHD_Connection *conn;
	struct api_git_conn *next; /* in g->conns */

	/* A refusal decided before the CGI runs: status and message, answered at once. */
	unsigned refuse_status;
	char refuse_message[ERROR_MESSAGE_MAX];
	bool answered;
	bool called; /* the first call of the request is over */

	enum git_service service;
	char app_id[ID_STRING_MAX];
	char app_name[API_NAME_MAX];
	int64_t app_uid;
	char user_email[API_EMAIL_MAX];
	char *token;
	char push_id[ID_STRING_MAX]; /* receive-pack only */

	int spool_fd;
	uint64_t spool_size;
	bool too_large;

	pid_t pid;    /* the CGI, leader of its session; 0 before it runs */
	int out_fd;   /* its stdout */
	int client_fd; /* the connection's socket, watched too: a client gone is noticed at once */
	bool watched; /* out_fd and client_fd are in the epoll set */
	bool suspended;
	bool eof;
	struct strbuf head; /* the CGI's header, then the first bytes of the body */
	size_t body_off;    /* where the body starts in head; consumed up to head_sent */
	size_t head_sent;
};

/* The pushes whose receive hook may report builds (API thread only, so no lock). */
static struct api_git_conn *active_pushes[256];

static const char pre_receive_hook[] = "#!/bin/sh\n"
				       "# Written by coved at every start: the build of a push (docs/deploy.md).\n"
				       "exec '%s' receive-hook\n";

bool api_git_path(const char *url)
{
	if (url[0] != '/')
		return false;
	size_t n = strcspn(url + 1, "/");
	return n > 4 && strncmp(url + 1 + n - 4, ".git", 4) == 0;
}

bool api_git_push_active(const char *push_id, const char *app_id)
{
	for (size_t i = 0; i < ARRAY_SIZE(active_pushes); i++) {
		struct api_git_conn *c = active_pushes[i];
		if (c && streq(c->push_id, push_id) && streq(c->app_id, app_id))
			return true;
	}
	return false;
}

/* Adds or removes a push; false when there are too many at once to add one. */
static bool push_register(struct api_git_conn *c, bool add)
{
	for (size_t i = 0; i < ARRAY_SIZE(active_pushes); i++)
		if (add ? !active_pushes[i] : active_pushes[i] == c) {
			active_pushes[i] = add ? c : NULL;
			return true;
		}
	return false;
}

/* ---- waking suspended connections ------------------------------------------------------ */

static void *watcher_main(void *arg)
{
	struct api_git *g = arg;
	while (!__atomic_load_n(&g->stopping, __ATOMIC_ACQUIRE)) {
		struct epoll_event events[WATCH_EVENTS];
		int n = epoll_wait(g->epoll_fd, events, WATCH_EVENTS, 200);
		pthread_mutex_lock(&g->lock);
		for (int i = 0; i < n; i++) {
			struct api_git_conn *c = events[i].data.ptr;
			if (c->suspended) {
				c->suspended = false;
				MHD_resume_connection(c->conn);
			}
		}
		pthread_mutex_unlock(&g->lock);
	}
	return NULL;
}

/*
 * Suspends the connection until the CGI's stdout has something (data or its end), or the
 * client hangs up: libmicrohttpd does not watch a suspended connection, and a build must not
 * run on for a pusher who is gone.
 */
static void conn_wait(struct api_git_conn *c)
{
	struct api_git *g = c->g;
	MHD_suspend_connection(c->conn);
	pthread_mutex_lock(&g->lock);
	c->suspended = true;
	int op = c->watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	struct epoll_event out = { .events = EPOLLIN | EPOLLONESHOT, .data.ptr = c };
	struct epoll_event client = { .events = EPOLLRDHUP | EPOLLONESHOT, .data.ptr = c };
	if (epoll_ctl(g->epoll_fd, op, c->out_fd, &out) < 0 ||
	    (c->client_fd >= 0 && epoll_ctl(g->epoll_fd, op, c->client_fd, &client) < 0)) {
		log_error("git: watch the output of git http-backend: %m");
		c->suspended = false;
		MHD_resume_connection(c->conn);
	}
	c->watched = true;
	pthread_mutex_unlock(&g->lock);
}

/* True when the client closed its side: nothing more is read from it, and nobody listens. */
static bool client_gone(struct api_git_conn *c)
{
	if (c->client_fd < 0)
		return false;
	char byte;
	ssize_t n = recv(c->client_fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* ---- answers --------------------------------------------------------------------------- */

static enum MHD_Result reply_text(struct api_git_conn *c, unsigned status, const char *message)
{
	c->answered = true;
	_cleanup_free_ char *text = xasprintf("%s\n", message);
	size_t len = strlen(text);
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, TAKE_PTR(text), MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (status == 401)
		MHD_add_response_header(resp, "WWW-Authenticate", "Basic realm=\"cove\"");
	enum MHD_Result ret = MHD_queue_response(c->conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void refuse(struct api_git_conn *c, unsigned status, const char *fmt, ...) _printf_(3, 4);
static void refuse(struct api_git_conn *c, unsigned status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->refuse_message, sizeof(c->refuse_message), fmt, ap);
	va_end(ap);
	c->refuse_status = status;
}

/* ---- the request ----------------------------------------------------------------------- */

/* Splits "/<name>.git/<rest>" and finds the service; refuses what git's smart HTTP is not. */
static bool parse_route(struct api_git_conn *c, const char *url, const char *method, char *name, size_t name_len,
			struct MHD_Connection *conn)
{
	size_t n = strcspn(url + 1, "/");
	const char *rest = url + 1 + n;
	if (n - 4 >= name_len) {
		refuse(c, 404, "repository not found");
		return false;
	}
	memcpy(name, url + 1, n - 4);
	name[n - 4] = '\0';
	if (streq(rest, "/info/refs")) {
		const char *service = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "service");
		if (!service || (!streq(service, "git-upload-pack") && !streq(service, "git-receive-pack"))) {
			refuse(c, 403, "only git's smart HTTP protocol is served: use git 1.6.6 or later");
			return false;
		}
		c->service = GIT_INFO_REFS;
		if (!streq(method, "GET")) {
			refuse(c, 405, "use GET for %s", rest);
			return false;
		}
		return true;
	}
	if (streq(rest, "/git-upload-pack"))
		c->service = GIT_UPLOAD_PACK;
	else if (streq(rest, "/git-receive-pack"))
		c->service = GIT_RECEIVE_PACK;
	else {
		refuse(c, 404, "'%s' is not a path of git's smart HTTP protocol", url);
		return false;
	}
	if (!streq(method, "POST")) {
		refuse(c, 405, "use POST for %s", rest);
		return false;
	}
	return true;
}

static int spool_open(struct api_git_conn *c, struct error *err)
{
	const struct api_config *cfg = api_get_config(c->g->api);
	_cleanup_free_ char *dir = xasprintf("%s/uploads", cfg->data_dir);
	int r = mkdir_p(dir, 0700, err);
	if (r < 0)
		return r;
	c->spool_fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (c->spool_fd < 0)
		return error_set(err, -errno, "create a file for the request body in '%s': %m", dir);
	return 0;
}

struct api_git_conn *api_git_conn_new(struct api_git *g, struct MHD_Connection *conn, const char *url,
				      const char *method)
{
	struct api_git_conn *c = xcalloc(1, sizeof(*c));
	c->g = g;
	c->conn = conn;
	c->spool_fd = -1;
	c->out_fd = -1;
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	c->client_fd = info ? info->connect_fd : -1;
	strbuf_init(&c->head, GIT_HEADER_MAX + GIT_BLOCK_SIZE);
	pthread_mutex_lock(&g->lock);
	c->next = g->conns;
	g->conns = c;
	pthread_mutex_unlock(&g->lock);

	char name[API_NAME_MAX];
	if (!parse_route(c, url, method, name, sizeof(name), conn))
		return c;

	/* Who, before a byte of the pack is accepted. */
	struct api_request req = { .api = g->api, .store = g->store, .method = method, .path = url, .conn = conn };
	struct error err = { 0 };
	int r = api_authenticate(&req, false, &err);
	if (r < 0) {
		refuse(c, r == -EPERM ? 401 : 500, "%s", r == -EPERM ? err.message : "internal server error");
		return c;
	}
	if (req.is_host) {
		refuse(c, 403, "a host token may not use git");
		return c;
	}
	struct app app;
	r = api_app_load(&req, name, &app, &err);
	if (r == -ENOENT || r == -EACCES) {
		refuse(c, r == -ENOENT ? 404 : 403, "%s", err.message);
		return c;
	}
	if (r >= 0)
		r = store_query_int(g->store, "SELECT uid FROM apps WHERE id = ?", SV_ARGS(SV_TEXT(app.id)), &c->app_uid,
				    &err);
	if (r >= 0 && api_auth_secret(&req, &c->token) < 0)
		r = error_set(&err, -EPERM, "no token");
	if (r >= 0 && c->service != GIT_INFO_REFS)
		r = spool_open(c, &err);
	if (r < 0) {
		log_error("git %s %s: %s", method, url, err.message);
		refuse(c, 500, "internal server error");
		return c;
	}
	snprintf(c->app_id, sizeof(c->app_id), "%s", app.id);
	snprintf(c->app_name, sizeof(c->app_name), "%s", app.name);
	snprintf(c->user_email, sizeof(c->user_email), "%s", req.user.email);
	if (c->service == GIT_RECEIVE_PACK) {
		id_new(c->push_id);
		if (!push_register(c, true)) {
			c->push_id[0] = '\0';
			refuse(c, 503, "too many pushes at once: push again in a moment");
		}
	}
	return c;
}

static void spool_body(struct api_git_conn *c, const char *data, size_t size)
{
	if (c->too_large || c->spool_fd < 0)
		return;
	const struct api_config *cfg = api_get_config(c->g->api);
	if (c->spool_size + size > cfg->upload_max) {
		c->too_large = true;
		return;
	}
	while (size > 0) {
		ssize_t n = write(c->spool_fd, data, size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_error("git: spool the body of a request to '%s': %m", c->app_name);
			refuse(c, 500, "internal server error");
			return;
		}
		data += n;
		size -= (size_t)n;
		c->spool_size += (size_t)n;
	}
}

/* The CGI's environment: RFC 3875's variables, git's, and what the receive hook needs. */
static char **cgi_env(struct api_git_conn *c, const char *path_info)
{
	struct api_git *g = c->g;
	const struct api_config *cfg = api_get_config(g->api);
	struct MHD_Connection *conn = c->conn;
	const char *content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
	const char *encoding = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Encoding");
	const char *protocol = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Git-Protocol");
	const char *service = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "service");
	const char *const config[][2] = {
		{ "core.hooksPath", g->hooks_dir },
		{ "http.receivepack", "true" },
		{ "http.uploadpack", "true" },
		/* A push answers when its build is done, not after a repack. */
		{ "receive.autogc", "false" },
		{ "receive.denyNonFastForwards", "false" },
	};
	char **env = xcalloc(64, sizeof(char *));
	size_t n = 0;
	env[n++] = xstrdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	env[n++] = xasprintf("HOME=%s", cfg->data_dir);
	env[n++] = xstrdup("LANG=C.UTF-8");
	env[n++] = xstrdup("GIT_CONFIG_NOSYSTEM=1");
	env[n++] = xstrdup("GIT_CONFIG_GLOBAL=/dev/null");
	env[n++] = xasprintf("GIT_CONFIG_COUNT=%zu", ARRAY_SIZE(config));
	for (size_t i = 0; i < ARRAY_SIZE(config); i++) {
		env[n++] = xasprintf("GIT_CONFIG_KEY_%zu=%s", i, config[i][0]);
		env[n++] = xasprintf("GIT_CONFIG_VALUE_%zu=%s", i, config[i][1]);
	}
	env[n++] = xasprintf("GIT_PROJECT_ROOT=%s/repos", cfg->data_dir);
	env[n++] = xstrdup("GIT_HTTP_EXPORT_ALL=1");
	env[n++] = xstrdup("GATEWAY_INTERFACE=CGI/1.1");
	env[n++] = xasprintf("PATH_INFO=%s", path_info);
	env[n++] = xasprintf("REQUEST_METHOD=%s", c->service == GIT_INFO_REFS ? "GET" : "POST");
	env[n++] = xasprintf("QUERY_STRING=%s%s", service ? "service=" : "", service ? service : "");
	env[n++] = xasprintf("REMOTE_USER=%s", c->user_email);
	env[n++] = xstrdup("REMOTE_ADDR=127.0.0.1");
	if (c->service != GIT_INFO_REFS) {
		env[n++] = xasprintf("CONTENT_LENGTH=%llu", (unsigned long long)c->spool_size);
		if (content_type)
			env[n++] = xasprintf("CONTENT_TYPE=%s", content_type);
	}
	if (encoding)
		env[n++] = xasprintf("HTTP_CONTENT_ENCODING=%s", encoding);
	if (protocol)
		env[n++] = xasprintf("HTTP_GIT_PROTOCOL=%s", protocol);
	/* The sanitizer build's settings reach the receive hook, which is coved too. */
	static const char *const passed[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS" };
	for (size_t i = 0; i < ARRAY_SIZE(passed); i++)
		if (getenv(passed[i]))
			env[n++] = xasprintf("%s=%s", passed[i], getenv(passed[i]));
	if (c->service == GIT_RECEIVE_PACK) {
		env[n++] = xasprintf("COVE_API_URL=%s", api_url(g->api));
		env[n++] = xasprintf("COVE_TOKEN=%s", c->token);
		env[n++] = xasprintf("COVE_APP=%s", c->app_name);
		env[n++] = xasprintf("COVE_APP_ID=%s", c->app_id);
		env[n++] = xasprintf("COVE_APP_UID=%lld", (long long)c->app_uid);
		env[n++] = xasprintf("COVE_PUSH_ID=%s", c->push_id);
		env[n++] = xasprintf("COVE_DATA_DIR=%s", cfg->data_dir);
		env[n++] = xasprintf("COVE_BUILD_TIMEOUT=%u", cfg->build_timeout_s);
		env[n++] = xasprintf("COVE_SLUG_MAX=%llu", (unsigned long long)cfg->slug_max);
		env[n++] = xasprintf("COVE_BUILD_NETWORK=%s", cfg->build_no_network ? "none" : "proxy");
		if (cfg->buildpacks_dir)
			env[n++] = xasprintf("COVE_BUILDPACKS_DIR=%s", cfg->buildpacks_dir);
	}
	env[n] = NULL;
	return env;
}

static void strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

/* Runs git http-backend on the request; the repository is made on its first use. */
static int cgi_start(struct api_git_conn *c, struct error *err)
{
	static const char *const rest[] = { "info/refs", "git-upload-pack", "git-receive-pack" };
	_cleanup_free_ char *repo = xasprintf("%s.git", c->app_id);
	_cleanup_free_ char *path_info = xasprintf("/%s/%s", repo, rest[c->service]);
	char **env = cgi_env(c, path_info);
	char *const argv[] = {
		"sh", "-c",
		"d=\"$GIT_PROJECT_ROOT/$1\"; [ -d \"$d\" ] || git init -q --bare \"$d\" >&2 || exit 1; exec git http-backend",
		"git-http-backend", repo, NULL,
	};

	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		strv_free(env);
		return error_set(err, -errno, "pipe: %m");
	}
	_cleanup_close_ int in_fd = -1;
	if (c->spool_fd >= 0) {
		lseek(c->spool_fd, 0, SEEK_SET);
		in_fd = fcntl(c->spool_fd, F_DUPFD_CLOEXEC, 0);
	} else {
		in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in_fd, STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	posix_spawnattr_t attr;
	posix_spawnattr_init(&attr);
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	/* coved blocks signals on its threads and ignores SIGPIPE: the CGI starts clean. */
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);
	int rc = posix_spawn(&c->pid, "/bin/sh", &fa, &attr, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	strv_free(env);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		c->pid = 0;
		return error_set(err, -rc, "run git http-backend: %s", strerror(rc));
	}
	reaper_adopt(c->pid); /* its end is seen on its output; coved's main thread reaps it */
	c->out_fd = fds[0];
	fcntl(c->out_fd, F_SETFL, O_NONBLOCK);
	return 0;
}

/* Reads what the pipe has now: > 0 bytes, 0 at its end, -EAGAIN when empty. */
static ssize_t out_read(struct api_git_conn *c, char *buf, size_t max)
{
	for (;;) {
		ssize_t n = read(c->out_fd, buf, max);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		return -errno;
	}
}

/*
 * Reads the CGI's header into c->head: 1 when it is complete (c->body_off set), 0 when more
 * must come, negative when the CGI ended or failed without one.
 */
static int head_read(struct api_git_conn *c)
{
	for (;;) {
		char buf[4096];
		ssize_t n = out_read(c, buf, sizeof(buf));
		if (n == -EAGAIN)
			return 0;
		if (n <= 0)
			return n == 0 ? -EPIPE : (int)n;
		if (strbuf_add(&c->head, buf, (size_t)n) < 0)
			return -EMSGSIZE;
		const char *end = strstr(c->head.buf, "\r\n\r\n");
		const char *end_lf = strstr(c->head.buf, "\n\n");
		if (end && (!end_lf || end < end_lf)) {
			c->body_off = (size_t)(end - c->head.buf) + 4;
			return 1;
		}
		if (end_lf) {
			c->body_off = (size_t)(end_lf - c->head.buf) + 2;
			return 1;
		}
		if (c->head.len > GIT_HEADER_MAX)
			return -EMSGSIZE;
	}
}

static ssize_t body_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct api_git_conn *c = cls;
	if (c->head_sent < c->head.len) {
		size_t n = c->head.len - c->head_sent;
		if (n > max)
			n = max;
		memcpy(buf, c->head.buf + c->head_sent, n);
		c->head_sent += n;
		return (ssize_t)n;
	}
	if (client_gone(c)) {
		log_info("git: the client of a %s of '%s' went away", c->service == GIT_RECEIVE_PACK ? "push" : "fetch",
			 c->app_name);
		return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	ssize_t n = out_read(c, buf, max);
	if (n > 0)
		return n;
	if (n == 0) {
		c->eof = true;
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	if (n == -EAGAIN) {
		conn_wait(c);
		return 0;
	}
	log_error("git: read the output of git http-backend for '%s': %s", c->app_name, strerror((int)-n));
	return MHD_CONTENT_READER_END_WITH_ERROR;
}

/* Answers with the CGI's status and headers, and its body as it comes. */
static enum MHD_Result reply_stream(struct api_git_conn *c)
{
	unsigned status = 200;
	c->head_sent = c->body_off;
	struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, GIT_BLOCK_SIZE, body_read, c, NULL);
	char *save = NULL;
	c->head.buf[c->body_off - 1] = '\0';
	for (char *line = strtok_r(c->head.buf, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		const char *value = colon + 1 + strspn(colon + 1, " \t");
		if (strcasecmp(line, "Status") == 0)
			status = (unsigned)strtoul(value, NULL, 10);
		else if (strcasecmp(line, "Content-Type") == 0 || strcasecmp(line, "Cache-Control") == 0 ||
			 strcasecmp(line, "Expires") == 0 || strcasecmp(line, "Pragma") == 0)
			MHD_add_response_header(resp, line, value);
	}
	if (status < 200 || status > 599)
		status = 502;
	c->answered = true;
	enum MHD_Result ret = MHD_queue_response(c->conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result api_git_conn_request(struct api_git_conn *c, const char *upload_data, size_t *upload_data_size)
{
	if (c->answered) {
		*upload_data_size = 0; /* the rest of a refused body is dropped */
		return MHD_YES;
	}
	/* A refusal goes out at once, before the body (git sends "Expect: 100-continue"). */
	if (c->refuse_status) {
		*upload_data_size = 0;
		return reply_text(c, c->refuse_status, c->refuse_message);
	}
	if (!c->called) {
		c->called = true;
		return MHD_YES; /* the first call: the body, if any, comes next */
	}
	if (*upload_data_size > 0) {
		spool_body(c, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (c->too_large) {
		_cleanup_free_ char *msg = xasprintf("the push is too large: at most %llu bytes",
						     (unsigned long long)api_get_config(c->g->api)->upload_max);
		return reply_text(c, 413, msg);
	}
	if (!c->pid) {
		struct error err = { 0 };
		if (cgi_start(c, &err) < 0) {
			log_error("git: '%s': %s", c->app_name, err.message);
			return reply_text(c, 500, "internal server error");
		}
		log_debug("git: %s of '%s' by %s", c->service == GIT_RECEIVE_PACK ? "push" : "fetch", c->app_name,
			  c->user_email);
	}
	int r = head_read(c);
	if (r == 0 && client_gone(c))
		return MHD_NO; /* closes the connection; api_git_conn_free() ends the CGI */
	if (r == 0) {
		conn_wait(c);
		return MHD_YES;
	}
	if (r < 0) {
		log_error("git: git http-backend for '%s' answered no header: %s", c->app_name, strerror(-r));
		return reply_text(c, 502, "git http-backend failed: see the log of coved");
	}
	return reply_stream(c);
}

void api_git_conn_free(struct api_git_conn *c)
{
	if (!c)
		return;
	struct api_git *g = c->g;
	pthread_mutex_lock(&g->lock);
	for (struct api_git_conn **p = &g->conns; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	if (c->watched) {
		epoll_ctl(g->epoll_fd, EPOLL_CTL_DEL, c->out_fd, NULL);
		if (c->client_fd >= 0)
			epoll_ctl(g->epoll_fd, EPOLL_CTL_DEL, c->client_fd, NULL);
	}
	pthread_mutex_unlock(&g->lock);

	/* Gone before the end: the push is abandoned, its build with it. */
	if (c->pid > 0 && !c->eof)
		kill(-c->pid, SIGTERM);
	if (c->push_id[0]) {
		push_register(c, false);
		char now[TIME_ISO_MAX];
		struct error err = { 0 };
		if (store_exec(g->store, "UPDATE builds SET status = 'failed', updated_at = ? WHERE push_id = ? AND status = 'pending'",
			       SV_ARGS(SV_TEXT(time_now_iso(now)), SV_TEXT(c->push_id)), &err) < 0)
			log_error("git: fail the builds of an ended push to '%s': %s", c->app_name, err.message);
	}
	if (c->out_fd >= 0)
		close(c->out_fd);
	if (c->spool_fd >= 0)
		close(c->spool_fd);
	strbuf_release(&c->head);
	free(c->token);
	free(c);
}

/* ---- the server ------------------------------------------------------------------------ */

static int hook_write(struct api_git *g, struct error *err)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return error_set(err, -errno, "find coved's own path: %m");
	exe[n] = '\0';
	if (strchr(exe, '\''))
		return error_set(err, -EINVAL, "coved's path '%s' has a quote", exe);
	int r = mkdir_p(g->hooks_dir, 0755, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = xasprintf("%s/pre-receive", g->hooks_dir);
	_cleanup_free_ char *text = xasprintf(pre_receive_hook, exe);
	return file_write_atomic(path, text, strlen(text), 0755, err);
}

/* True when the store has a row with this id in table ("apps" or "builds"). */
static bool row_exists(struct store *store, const char *table, const char *id)
{
	_cleanup_free_ char *sql = xasprintf("SELECT COUNT(*) FROM %s WHERE id = ?", table);
	int64_t n = 1;
	store_query_int(store, sql, SV_ARGS(SV_TEXT(id)), &n, NULL);
	return n > 0;
}

/*
 * What destroyed apps leave on disk (their repository, build cache and build outputs) goes
 * at start, in a child process: destroying an app only removes rows, which a transaction can
 * take back; files it cannot.
 */
static void forget_destroyed_apps(struct api_git *g)
{
	const struct api_config *cfg = api_get_config(g->api);
	static const struct {
		const char *dir, *suffix, *table;
	} kinds[] = { { "repos", ".git", "apps" }, { "cache", "", "apps" }, { "builds", ".log", "builds" } };
	char **argv = xcalloc(4, sizeof(char *));
	size_t n = 0;
	argv[n++] = xstrdup("rm");
	argv[n++] = xstrdup("-rf");
	argv[n++] = xstrdup("--");
	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		_cleanup_free_ char *dir = xasprintf("%s/%s", cfg->data_dir, kinds[k].dir);
		DIR *d = opendir(dir);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			size_t len = strlen(de->d_name), sl = strlen(kinds[k].suffix);
			if (len != 36 + sl || strcmp(de->d_name + 36, kinds[k].suffix) != 0)
				continue;
			char id[ID_STRING_MAX];
			snprintf(id, sizeof(id), "%.36s", de->d_name);
			if (!id_is_uuid(id) || row_exists(g->store, kinds[k].table, id))
				continue;
			argv = xrealloc(argv, (n + 2) * sizeof(char *));
			argv[n++] = xasprintf("%s/%s", dir, de->d_name);
		}
		if (d)
			closedir(d);
	}
	argv[n] = NULL;
	if (n > 3) {
		log_info("git: removing what %zu destroyed apps and builds left on disk", n - 3);
		posix_spawnattr_t attr;
		posix_spawnattr_init(&attr);
		sigset_t none;
		sigemptyset(&none);
		posix_spawnattr_setsigmask(&attr, &none);
		posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
		pid_t pid;
		int rc = posix_spawnp(&pid, "rm", NULL, &attr, argv, environ);
		if (rc != 0)
			log_warning("git: remove what destroyed apps left: %s", strerror(rc));
		else
			reaper_adopt(pid);
		posix_spawnattr_destroy(&attr);
	}
	strv_free(argv);
}

int api_git_new(struct api *api, struct store *store, struct api_git **ret, struct error *err)
{
	const struct api_config *cfg = api_get_config(api);
	struct api_git *g = xcalloc(1, sizeof(*g));
	g->api = api;
	g->store = store;
	g->hooks_dir = xasprintf("%s/hooks", cfg->data_dir);
	g->epoll_fd = -1;
	_cleanup_free_ char *repos = xasprintf("%s/repos", cfg->data_dir);
	int r = mkdir_p(repos, 0700, err);
	if (r >= 0)
		r = hook_write(g, err);
	/* A build that was running when coved stopped ended with it. */
	char now[TIME_ISO_MAX];
	if (r >= 0)
		r = store_exec(store, "UPDATE builds SET status = 'failed', updated_at = ? WHERE status = 'pending'",
			       SV_ARGS(SV_TEXT(time_now_iso(now))), err);
	if (r >= 0)
		forget_destroyed_apps(g);
	if (r >= 0) {
		g->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
		if (g->epoll_fd < 0)
			r = error_set(err, -errno, "epoll_create1: %m");
	}
	if (r >= 0) {
		pthread_mutex_init(&g->lock, NULL);
		if (pthread_create(&g->watcher, NULL, watcher_main, g) != 0) {
			pthread_mutex_destroy(&g->lock);
			r = error_set(err, -EIO, "start the git watcher thread failed");
		}
	}
	if (r < 0) {
		if (g->epoll_fd >= 0)
			close(g->epoll_fd);
		free(g->hooks_dir);
		free(g);
		return r;
	}
	*ret = g;
	return 0;
}

void api_git_stop(struct api_git *g)
{
	if (!g)
		return;
	__atomic_store_n(&g->stopping, true, __ATOMIC_RELEASE);
	pthread_join(g->watcher, NULL);
	pthread_mutex_lock(&g->lock);
	for (struct api_git_conn *c = g->conns; c; c = c->next) {
		if (c->pid > 0 && !c->eof)
			kill(-c->pid, SIGTERM);
		if (c->suspended) {
			c->suspended = false;
			MHD_resume_connection(c->conn);
		}
	}
	pthread_mutex_unlock(&g->lock);
	/* The connections themselves go with the HTTP server, which frees them through us. */
}

void api_git_free(struct api_git *g)
{
	if (!g)
		return;
	close(g->epoll_fd);
	pthread_mutex_destroy(&g->lock);
	free(g->hooks_dir);
	free(g);
}
