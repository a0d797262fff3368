/* SPDX-License-Identifier: MIT */
#include "agent/agent-http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/timeutil.h"

struct http_transfer;

struct http_client {
	CURLM *multi;
	struct http_transfer *transfers; /* in flight, a doubly linked list */
	int epoll_fd;
	char *base_url;
	char *auth_header;
	long timeout_ms; /* as curl last asked, -1 for none */
	uint64_t timeout_set_at;
	unsigned active;
};

struct http_transfer {
	struct http_client *client;
	struct http_transfer *prev, *next;
	CURL *easy;
	struct curl_slist *headers;
	struct strbuf body;
	char *request_body;
	FILE *out;
	char *out_path;
	http_done_fn done;
	void *userdata;
	char error[CURL_ERROR_SIZE];
};

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct http_client *c = userp;
	struct epoll_event ev = { .data.u64 = HTTP_EPOLL_TAG | (uint64_t)(uint32_t)fd };
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(c->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev.events |= EPOLLOUT;
	if (epoll_ctl(c->epoll_fd, EPOLL_CTL_MOD, fd, &ev) < 0 && errno == ENOENT)
		epoll_ctl(c->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
	return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct http_client *c = userp;
	c->timeout_ms = timeout_ms;
	c->timeout_set_at = time_mono_usec();
	return 0;
}

long http_client_timeout_ms(const struct http_client *c)
{
	if (c->timeout_ms < 0)
		return -1;
	uint64_t elapsed = (time_mono_usec() - c->timeout_set_at) / 1000;
	return elapsed >= (uint64_t)c->timeout_ms ? 0 : c->timeout_ms - (long)elapsed;
}

unsigned http_client_active(const struct http_client *c)
{
	return c->active;
}

static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
	struct http_transfer *t = userp;
	size_t len = size * n;
	if (t->out)
		return fwrite(data, 1, len, t->out);
	return strbuf_add(&t->body, data, len) < 0 ? 0 : len;
}

static void transfer_free(struct http_transfer *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else if (t->client->transfers == t)
		t->client->transfers = t->next;
	if (t->next)
		t->next->prev = t->prev;
	curl_slist_free_all(t->headers);
	strbuf_release(&t->body);
	free(t->request_body);
	if (t->out)
		fclose(t->out);
	free(t->out_path);
	free(t);
}

static void check_done(struct http_client *c)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(c->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		struct http_transfer *t;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
		long status = 0;
		const char *error = NULL;
		if (msg->data.result == CURLE_OK)
			curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
		else
			error = t->error[0] ? t->error : curl_easy_strerror(msg->data.result);
		if (t->out) {
			if (fclose(t->out) != 0 && !error)
				error = "write failed";
			t->out = NULL;
		}
		curl_multi_remove_handle(c->multi, t->easy);
		curl_easy_cleanup(t->easy);
		c->active--;
		t->done(t->userdata, status, &t->body, error);
		transfer_free(t);
	}
}

void http_client_on_socket(struct http_client *c, uint64_t epoll_data, uint32_t events)
{
	int fd = (int)(uint32_t)(epoll_data & ~HTTP_EPOLL_TAG);
	int mask = 0, running;
	if (events & EPOLLIN)
		mask |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		mask |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		mask |= CURL_CSELECT_ERR;
	curl_multi_socket_action(c->multi, fd, mask, &running);
	check_done(c);
}

void http_client_on_timeout(struct http_client *c)
{
	int running;
	c->timeout_ms = -1;
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(c);
}

int http_client_new(int epoll_fd, const char *base_url, const char *token, struct http_client **ret, struct error *err)
{
	static bool initialised;
	if (!initialised) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return error_set(err, -EIO, "libcurl failed to initialise");
		initialised = true;
	}
	struct http_client *c = xcalloc(1, sizeof(*c));
	c->multi = curl_multi_init();
	c->epoll_fd = epoll_fd;
	c->base_url = xstrdup(base_url);
	size_t l = strlen(c->base_url);
	while (l && c->base_url[l - 1] == '/')
		c->base_url[--l] = '\0';
	c->auth_header = xasprintf("Authorization: Bearer %s", token);
	c->timeout_ms = -1;
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	*ret = c;
	return 0;
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	/* Transfers still in flight end as failures: their callbacks release what they hold. */
	while (c->transfers) {
		struct http_transfer *t = c->transfers;
		curl_multi_remove_handle(c->multi, t->easy);
		curl_easy_cleanup(t->easy);
		if (t->out) {
			fclose(t->out);
			t->out = NULL;
		}
		c->active--;
		t->done(t->userdata, 0, &t->body, "the agent is stopping");
		transfer_free(t);
	}
	curl_multi_cleanup(c->multi);
	free(c->base_url);
	free(c->auth_header);
	free(c);
}

int http_request_as(struct http_client *c, const char *method, const char *path, const char *body,
		    const char *content_type, const char *out_path, long timeout_s, http_done_fn done, void *userdata,
		    struct error *err)
{
	struct http_transfer *t = xcalloc(1, sizeof(*t));
	t->client = c;
	t->done = done;
	t->userdata = userdata;
	strbuf_init(&t->body, HTTP_BODY_MAX);
	if (out_path) {
		t->out_path = xstrdup(out_path);
		t->out = fopen(out_path, "we");
		if (!t->out) {
			int r = error_set(err, -errno, "open '%s': %m", out_path);
			transfer_free(t);
			return r;
		}
	}
	_cleanup_free_ char *url = xasprintf("%s%s", c->base_url, path);
	t->easy = curl_easy_init();
	t->headers = curl_slist_append(t->headers, c->auth_header);
	t->headers = curl_slist_append(t->headers, "Accept: application/vnd.heroku+json; version=3");
	_cleanup_free_ char *type = xasprintf("Content-Type: %s", content_type);
	t->headers = curl_slist_append(t->headers, type);
	t->headers = curl_slist_append(t->headers, "User-Agent: coved-agent/" COVE_VERSION);
	curl_easy_setopt(t->easy, CURLOPT_URL, url);
	curl_easy_setopt(t->easy, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->headers);
	curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
	curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, t->error);
	curl_easy_setopt(t->easy, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(t->easy, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(t->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	if (body) {
		t->request_body = xstrdup(body);
		curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, t->request_body);
		curl_easy_setopt(t->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(t->request_body));
	}
	CURLMcode mc = curl_multi_add_handle(c->multi, t->easy);
	if (mc != CURLM_OK) {
		curl_easy_cleanup(t->easy);
		transfer_free(t);
		return error_set(err, -EIO, "start request %s %s: %s", method, path, curl_multi_strerror(mc));
	}
	c->active++;
	t->next = c->transfers;
	if (c->transfers)
		c->transfers->prev = t;
	c->transfers = t;
	return 0;
}

int http_request(struct http_client *c, const char *method, const char *path, const char *body, const char *out_path,
		 long timeout_s, http_done_fn done, void *userdata, struct error *err)
{
	return http_request_as(c, method, path, body, "application/json", out_path, timeout_s, done, userdata, err);
}
