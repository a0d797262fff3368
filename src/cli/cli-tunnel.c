/* SPDX-License-Identifier: MIT */
#include "cli/cli-tunnel.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/relay.h"
#include "base/timeutil.h"
#include "cli/cli-api.h"

#define BASTION_PROTOCOL "cove-bastion"
#define HEAD_MAX (16 * 1024)
#define ERROR_BODY_MAX (64 * 1024)
#define ANSWER_TIMEOUT_MS 30000 /* the API waits up to 10 s for the target */
/* A session must be used within 30 s (api-bastion.h); the first one is kept for a while less. */
#define FIRST_SESSION_USE_S 20

struct cli_tunnel {
	struct cli *c;
	char *app;
	char *target;
	int listen_fd;
	uint16_t port;
	char *first_session; /* opened by cli_tunnel_open(), for the first local connection */
	uint64_t first_usec;
};

/* ---- one tunnel: a session, an upgraded connection, a relay ----------------------------- */

struct api_conn {
	CURL *h;
	int fd;
	char *pending; /* bytes of the tunnel read with the answer's head */
	size_t pending_len;
};

static void api_conn_release(struct api_conn *a)
{
	if (a->h)
		curl_easy_cleanup(a->h);
	free(a->pending);
	*a = (struct api_conn){ .fd = -1 };
}

static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;
	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n == 0 ? -ETIMEDOUT : 0;
}

static ssize_t conn_read(void *cls, void *buf, size_t len)
{
	struct api_conn *a = cls;
	size_t n = 0;
	CURLcode rc = curl_easy_recv(a->h, buf, len, &n);
	if (rc == CURLE_AGAIN)
		return -EAGAIN;
	if (rc != CURLE_OK)
		return -ECONNRESET;
	return (ssize_t)n;
}

static ssize_t conn_write(void *cls, const void *buf, size_t len)
{
	struct api_conn *a = cls;
	size_t n = 0;
	CURLcode rc = curl_easy_send(a->h, buf, len, &n);
	if (rc == CURLE_AGAIN)
		return -EAGAIN;
	if (rc != CURLE_OK)
		return -EPIPE;
	return (ssize_t)n;
}

static void conn_shutdown_write(void *cls)
{
	struct api_conn *a = cls;
	(void)shutdown(a->fd, SHUT_WR);
}

static int send_all(struct api_conn *a, const char *p, size_t len, struct error *err)
{
	while (len > 0) {
		ssize_t n = conn_write(a, p, len);
		if (n == -EAGAIN) {
			if (wait_fd(a->fd, POLLOUT, ANSWER_TIMEOUT_MS) < 0)
				return error_set(err, -ETIMEDOUT, "send to the API: timed out");
			continue;
		}
		if (n < 0)
			return error_set(err, (int)n, "send to the API: connection lost");
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

struct head {
	char *buf;
	size_t len;
};

/* Reads the answer's head into head; what follows it is left in a->pending. */
static int read_head(struct api_conn *a, struct head *head, struct error *err)
{
	head->buf = xmalloc(HEAD_MAX + 1);
	head->len = 0;
	for (;;) {
		head->buf[head->len] = '\0';
		char *end = strstr(head->buf, "\r\n\r\n");
		if (end) {
			size_t used = (size_t)(end + 4 - head->buf);
			a->pending_len = head->len - used;
			if (a->pending_len > 0) {
				a->pending = xmalloc(a->pending_len);
				memcpy(a->pending, end + 4, a->pending_len);
			}
			head->len = used;
			head->buf[used] = '\0';
			return 0;
		}
		if (head->len == HEAD_MAX)
			return error_set(err, -EBADMSG, "the API's answer has a head larger than %d bytes", HEAD_MAX);
		ssize_t n = conn_read(a, head->buf + head->len, HEAD_MAX - head->len);
		if (n == -EAGAIN) {
			if (wait_fd(a->fd, POLLIN, ANSWER_TIMEOUT_MS) < 0)
				return error_set(err, -ETIMEDOUT, "the API did not answer in %d s", ANSWER_TIMEOUT_MS / 1000);
			continue;
		}
		if (n <= 0)
			return error_set(err, -ECONNRESET, "the API closed the connection without an answer");
		head->len += (size_t)n;
	}
}

/* The value of a header in a head ("Content-Length"), or NULL; points into head. */
static const char *head_value(const char *head, const char *name, size_t *ret_len)
{
	size_t nl = strlen(name);
	for (const char *p = strstr(head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
		const char *line = p + 2;
		if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
			const char *v = line + nl + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			*ret_len = strcspn(v, "\r\n");
			return v;
		}
	}
	return NULL;
}

/* An answer that is not 101: its body is the API's error. */
static int answer_failed(struct cli_api *api, struct api_conn *a, long status, const char *head, struct error *err)
{
	size_t vl = 0;
	const char *cl = head_value(head, "Content-Length", &vl);
	size_t want = cl ? (size_t)strtoul(cl, NULL, 10) : 0;
	if (want > ERROR_BODY_MAX)
		want = ERROR_BODY_MAX;
	_cleanup_free_ char *body = xmalloc(want + 1);
	size_t have = a->pending_len < want ? a->pending_len : want;
	memcpy(body, a->pending, have);
	while (have < want) {
		ssize_t n = conn_read(a, body + have, want - have);
		if (n == -EAGAIN) {
			if (wait_fd(a->fd, POLLIN, ANSWER_TIMEOUT_MS) < 0)
				break;
			continue;
		}
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	body[have] = '\0';
	return cli_api_answer_error(api, status, body, have, err);
}

/* Connects to the API and switches the connection to the session's tunnel. */
static int api_upgrade(struct cli_api *api, const char *path, struct api_conn *a, struct error *err)
{
	*a = (struct api_conn){ .fd = -1, .h = curl_easy_init() };
	if (!a->h)
		return error_set(err, -EIO, "libcurl failed to start");
	_cleanup_free_ char *url = xasprintf("%s%s", cli_api_url(api), path);
	char curl_error[CURL_ERROR_SIZE] = "";
	cli_api_setup_handle(api, a->h);
	curl_easy_setopt(a->h, CURLOPT_URL, url);
	curl_easy_setopt(a->h, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(a->h, CURLOPT_ERRORBUFFER, curl_error);
	CURLcode rc = curl_easy_perform(a->h);
	if (rc != CURLE_OK)
		return error_set(err, -EHOSTUNREACH, "cannot reach the API at %s: %s", cli_api_url(api),
				 curl_error[0] ? curl_error : curl_easy_strerror(rc));
	curl_socket_t fd = CURL_SOCKET_BAD;
	if (curl_easy_getinfo(a->h, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK || fd == CURL_SOCKET_BAD)
		return error_set(err, -EIO, "libcurl has no connection to the API");
	a->fd = fd;

	_cleanup_free_ char *request = xasprintf("GET %s HTTP/1.1\r\n"
						 "Host: %s\r\n"
						 "Authorization: Bearer %s\r\n"
						 "Accept: application/vnd.heroku+json; version=3\r\n"
						 "User-Agent: cove/" COVE_VERSION "\r\n"
						 "Connection: Upgrade\r\n"
						 "Upgrade: " BASTION_PROTOCOL "\r\n\r\n",
						 path, cli_api_machine(api), cli_api_token(api));
	int r = send_all(a, request, strlen(request), err);
	explicit_bzero(request, strlen(request));
	if (r < 0)
		return r;
	struct head head = { 0 };
	r = read_head(a, &head, err);
	if (r >= 0) {
		long status = 0;
		if (sscanf(head.buf, "HTTP/1.%*d %ld", &status) != 1)
			r = error_set(err, -EBADMSG, "the API answered something that is not HTTP");
		else if (status != 101)
			r = answer_failed(api, a, status, head.buf, err);
	}
	free(head.buf);
	return r;
}

/* Opens a bastion session to the tunnel's target; *ret is its id. */
static int session_open(struct cli_api *api, const char *app, const char *target, char **ret, struct error *err)
{
	_cleanup_free_ char *path = cli_path("/apps/%s/bastion-sessions", app);
	_cleanup_json_ json_t *body = json_pack("{s:s}", "target", target);
	_cleanup_json_ json_t *s = NULL;
	int r = cli_api_call(api, &(struct cli_request){ .method = "POST", .path = path, .body = body }, &s, err);
	if (r < 0)
		return r;
	const char *id = cli_json_str(s, "id");
	if (!id)
		return error_set(err, -EBADMSG, "the API's bastion session has no id");
	*ret = xstrdup(id);
	return 0;
}

/* Serves one local connection (in a child process): its own session, its own tunnel. */
static int tunnel_one(struct cli_tunnel *t, int local_fd, const char *session, int stop_fd, struct error *err)
{
	struct cli_api *api = NULL;
	int r = cli_api_open(&api, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *id = session ? xstrdup(session) : NULL;
	if (!id)
		r = session_open(api, t->app, t->target, &id, err);
	struct api_conn a = { .fd = -1 };
	if (r >= 0) {
		_cleanup_free_ char *path = cli_path("/apps/%s/bastion-sessions/%s", t->app, id);
		r = api_upgrade(api, path, &a, err);
	}
	if (r >= 0) {
		struct relay_end local = { .fd = local_fd };
		struct relay_end remote = { .fd = a.fd,
					    .read = conn_read,
					    .write = conn_write,
					    .shutdown_write = conn_shutdown_write,
					    .cls = &a,
					    .pending = a.pending,
					    .pending_len = a.pending_len };
		r = relay_run(&local, &remote, stop_fd, 0);
		if (r < 0 && r != -ECANCELED)
			error_set(err, r, "tunnel to '%s' of '%s': %s", t->target, t->app, strerror(-r));
		else
			r = 0;
	}
	api_conn_release(&a);
	cli_api_free(api);
	return r;
}

/* ---- the local side ---------------------------------------------------------------------- */

int cli_tunnel_open(struct cli *c, const char *app, const char *target, uint16_t port, struct cli_tunnel **ret,
		    struct error *err)
{
	struct cli_tunnel *t = xcalloc(1, sizeof(*t));
	t->c = c;
	t->app = xstrdup(app);
	t->target = xstrdup(target);
	t->listen_fd = -1;
	int r = session_open(c->api, app, target, &t->first_session, err);
	if (r < 0)
		goto fail;
	t->first_usec = time_mono_usec();

	t->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (t->listen_fd < 0) {
		r = error_set(err, -errno, "listen on 127.0.0.1: %m");
		goto fail;
	}
	int one = 1;
	setsockopt(t->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (bind(t->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(t->listen_fd, 16) < 0) {
		r = error_set(err, -errno, "listen on 127.0.0.1:%u: %m", port);
		goto fail;
	}
	socklen_t sl = sizeof(sa);
	getsockname(t->listen_fd, (struct sockaddr *)&sa, &sl);
	t->port = ntohs(sa.sin_port);
	*ret = t;
	return 0;
fail:
	cli_tunnel_free(t);
	return r;
}

void cli_tunnel_free(struct cli_tunnel *t)
{
	if (!t)
		return;
	if (t->listen_fd >= 0)
		close(t->listen_fd);
	free(t->app);
	free(t->target);
	free(t->first_session);
	free(t);
}

uint16_t cli_tunnel_port(const struct cli_tunnel *t)
{
	return t->port;
}

/* The child that serves one local connection; never returns. */
static _noreturn_ void tunnel_child(struct cli_tunnel *t, int local_fd, const char *session)
{
	/* Its own process group: Ctrl-C at the terminal is for psql, not for its connection. */
	setpgid(0, 0);
	sigset_t term;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	int stop_fd = signalfd(-1, &term, SFD_CLOEXEC);
	sigset_t keep;
	sigemptyset(&keep);
	sigaddset(&keep, SIGTERM);
	sigprocmask(SIG_SETMASK, &keep, NULL);
	struct error err = { 0 };
	int r = tunnel_one(t, local_fd, session, stop_fd, &err);
	if (r < 0)
		fprintf(stderr, "cove: %s\n", err.message);
	fflush(stderr);
	_exit(r < 0 ? 1 : 0);
}

static void stop_children(pid_t *kids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGTERM);
}

int cli_tunnel_serve(struct cli_tunnel *t, pid_t child, int *ret_status, struct error *err)
{
	*ret_status = 0;
	sigset_t mask, old;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, &old);
	_cleanup_close_ int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0)
		return error_set(err, -errno, "signalfd: %m");

	pid_t *kids = NULL;
	size_t n_kids = 0;
	bool child_done = false, stopping = false;
	int r = 0;
	/* With a child, a short timeout too: it may have ended before SIGCHLD was blocked. */
	while (!stopping) {
		struct pollfd p[2] = { { .fd = sfd, .events = POLLIN }, { .fd = t->listen_fd, .events = POLLIN } };
		int n = poll(p, 2, child > 0 ? 200 : -1);
		if (n < 0 && errno != EINTR) {
			r = error_set(err, -errno, "poll: %m");
			break;
		}
		if (p[0].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si) && (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM) &&
			    (child <= 0 || si.ssi_signo == SIGTERM))
				stopping = true;
		}
		/* Reap: the local program, and tunnels that ended. */
		for (;;) {
			int status;
			pid_t pid = waitpid(-1, &status, WNOHANG);
			if (pid <= 0)
				break;
			if (pid == child) {
				child_done = true;
				*ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			}
			for (size_t i = 0; i < n_kids; i++)
				if (kids[i] == pid)
					kids[i] = 0;
		}
		if (child > 0 && child_done)
			break;
		if (p[1].revents & POLLIN) {
			int fd = accept4(t->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (fd < 0)
				continue;
			/* The first session is used by the first connection while it is fresh. */
			_cleanup_free_ char *session = TAKE_PTR(t->first_session);
			if (session && time_mono_usec() - t->first_usec > FIRST_SESSION_USE_S * 1000000ull) {
				free(session);
				session = NULL;
			}
			fflush(NULL);
			pid_t pid = fork();
			if (pid == 0) {
				close(t->listen_fd);
				close(sfd);
				sigprocmask(SIG_SETMASK, &old, NULL);
				tunnel_child(t, fd, session);
			}
			close(fd);
			if (pid < 0) {
				r = error_set(err, -errno, "fork: %m");
				break;
			}
			kids = xrealloc(kids, (n_kids + 1) * sizeof(*kids));
			kids[n_kids++] = pid;
		}
	}
	close(t->listen_fd);
	t->listen_fd = -1;
	stop_children(kids, n_kids);
	for (size_t i = 0; i < n_kids; i++)
		if (kids[i] > 0)
			waitpid(kids[i], NULL, 0);
	free(kids);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}
