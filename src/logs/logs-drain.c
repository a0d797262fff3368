/* SPDX-License-Identifier: MIT */
#include "logs/logs-drain.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/strbuf.h"

#define BATCH_MAX 500
#define BACKOFF_MAX_S 30

struct drain_line {
	char *frame;
};

struct log_drain {
	char *id, *app_id, *app_name, *url, *token;
	bool syslog;
	char host[256], port[16];
	int fd;

	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	struct drain_line *ring; /* LOG_DRAIN_QUEUE slots */
	size_t head, count;
	uint64_t dropped;
};

int log_drain_url_check(const char *url, struct error *err)
{
	if (!url || strlen(url) > 1000)
		return error_set(err, -EINVAL, "drain URL is missing or too long");
	if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0)
		return strlen(url) > 8 ? 0 : error_set(err, -EINVAL, "drain URL '%s' has no host", url);
	if (strncmp(url, "syslog://", 9) == 0) {
		const char *colon = strrchr(url + 9, ':');
		if (!colon || colon == url + 9 || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
		    atoi(colon + 1) < 1 || atoi(colon + 1) > 65535)
			return error_set(err, -EINVAL, "drain URL '%s' is invalid: use syslog://HOST:PORT", url);
		return 0;
	}
	return error_set(err, -EINVAL, "drain URL '%.200s' is invalid: use syslog://HOST:PORT, http://... or https://...", url);
}

char *log_drain_frame(uint64_t usec, const char *app_name, const char *source, const char *dyno, const char *msg)
{
	time_t secs = (time_t)(usec / 1000000u);
	struct tm tm;
	gmtime_r(&secs, &tm);
	char stamp[48];
	size_t n = strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(stamp + n, sizeof(stamp) - n, ".%06u+00:00", (unsigned)(usec % 1000000u));
	/* <190>: facility local7, severity info, as Heroku's Logplex sends them. */
	_cleanup_free_ char *body = xasprintf("<190>1 %s host %s %s - %s", stamp, source, dyno, msg);
	(void)app_name;
	return xasprintf("%zu %s", strlen(body), body);
}

/* ---- sending --------------------------------------------------------------------------- */

static int syslog_connect(struct log_drain *d)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	if (getaddrinfo(d->host, d->port, &hints, &ai) != 0)
		return -1;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		freeaddrinfo(ai);
		return -1;
	}
	int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (r < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int err = 0;
	socklen_t len = sizeof(err);
	if (poll(&p, 1, 5000) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
		close(fd);
		return -1;
	}
	/* Writes block from here on, for at most 10 s. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	struct timeval tv = { .tv_sec = 10 };
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

static int syslog_send(struct log_drain *d, const struct strbuf *batch)
{
	if (d->fd < 0) {
		d->fd = syslog_connect(d);
		if (d->fd < 0)
			return -1;
	}
	size_t off = 0;
	while (off < batch->len) {
		ssize_t n = send(d->fd, batch->buf + off, batch->len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(d->fd);
			d->fd = -1;
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

static size_t discard(char *data, size_t size, size_t n, void *userdata)
{
	return size * n;
}

static int http_send(struct log_drain *d, const struct strbuf *batch, size_t count)
{
	CURL *h = curl_easy_init();
	if (!h)
		return -1;
	char msgs[64];
	snprintf(msgs, sizeof(msgs), "Logplex-Msg-Count: %zu", count);
	_cleanup_free_ char *token = xasprintf("Logplex-Drain-Token: %s", d->token);
	struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/logplex-1");
	headers = curl_slist_append(headers, msgs);
	headers = curl_slist_append(headers, token);
	curl_easy_setopt(h, CURLOPT_URL, d->url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, batch->buf);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)batch->len);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 15L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "cove-logs/" COVE_VERSION);
	CURLcode rc = curl_easy_perform(h);
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(headers);
	curl_easy_cleanup(h);
	return rc == CURLE_OK && status >= 200 && status < 300 ? 0 : -1;
}

/* ---- the queue ------------------------------------------------------------------------- */

static void ring_push(struct log_drain *d, char *frame)
{
	if (d->count == LOG_DRAIN_QUEUE) {
		/* Full: the oldest line goes. */
		free(d->ring[d->head].frame);
		d->head = (d->head + 1) % LOG_DRAIN_QUEUE;
		d->count--;
		d->dropped++;
	}
	d->ring[(d->head + d->count) % LOG_DRAIN_QUEUE].frame = frame;
	d->count++;
}

void log_drain_send(struct log_drain *d, uint64_t usec, const char *source, const char *dyno, const char *msg)
{
	char *frame = log_drain_frame(usec, d->app_name, source, dyno, msg);
	pthread_mutex_lock(&d->lock);
	ring_push(d, frame);
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

static void *drain_thread(void *arg)
{
	struct log_drain *d = arg;
	unsigned backoff = 0, failures = 0;
	pthread_mutex_lock(&d->lock);
	while (!d->stop) {
		if (d->count == 0 || backoff) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += backoff ? backoff : 5;
			pthread_cond_timedwait(&d->cond, &d->lock, &until);
			if (d->stop)
				break;
			if (backoff) {
				/* Time to try again. */
				backoff = 0;
			}
			if (d->count == 0)
				continue;
		}
		/* Take a batch, leaving it queued until it is sent. */
		struct strbuf batch = STRBUF_INIT;
		size_t n = d->count < BATCH_MAX ? d->count : BATCH_MAX;
		uint64_t dropped = d->dropped;
		if (dropped) {
			_cleanup_free_ char *note = xasprintf("Error L10 (output buffer overflow): %llu messages dropped",
							      (unsigned long long)dropped);
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			_cleanup_free_ char *frame = log_drain_frame((uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u,
								       d->app_name, "heroku", "logplex", note);
			strbuf_addstr(&batch, frame);
		}
		for (size_t i = 0; i < n; i++)
			strbuf_addstr(&batch, d->ring[(d->head + i) % LOG_DRAIN_QUEUE].frame);
		pthread_mutex_unlock(&d->lock);

		int r = d->syslog ? syslog_send(d, &batch) : http_send(d, &batch, n + (dropped ? 1 : 0));
		strbuf_release(&batch);

		pthread_mutex_lock(&d->lock);
		if (r < 0) {
			/* Down: keep the lines, wait longer each time. */
			static const unsigned steps[] = { 1, 2, 4, 8, 16, BACKOFF_MAX_S };
			backoff = steps[failures < 5 ? failures : 5];
			if (failures < 5)
				failures++;
			continue;
		}
		failures = 0;
		/* Sent: the lines sent leave the queue (new ones may have pushed some out meanwhile). */
		size_t gone = d->dropped > dropped ? d->dropped - dropped : 0;
		size_t sent = n > gone ? n - gone : 0;
		for (size_t i = 0; i < sent && d->count > 0; i++) {
			free(d->ring[d->head].frame);
			d->head = (d->head + 1) % LOG_DRAIN_QUEUE;
			d->count--;
		}
		/* The drop note went with this batch: count only what fell out since. */
		d->dropped = d->dropped > dropped ? d->dropped - dropped : 0;
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

int log_drain_new(const char *id, const char *app_id, const char *app_name, const char *url, const char *token,
		  struct log_drain **ret, struct error *err)
{
	int r = log_drain_url_check(url, err);
	if (r < 0)
		return r;
	struct log_drain *d = xcalloc(1, sizeof(*d));
	d->id = xstrdup(id);
	d->app_id = xstrdup(app_id);
	d->app_name = xstrdup(app_name);
	d->url = xstrdup(url);
	d->token = xstrdup(token);
	d->fd = -1;
	d->ring = xcalloc(LOG_DRAIN_QUEUE, sizeof(*d->ring));
	if (strncmp(url, "syslog://", 9) == 0) {
		d->syslog = true;
		const char *hp = url + 9, *colon = strrchr(hp, ':');
		snprintf(d->host, sizeof(d->host), "%.*s", (int)(colon - hp), hp);
		snprintf(d->port, sizeof(d->port), "%s", colon + 1);
	}
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	if (pthread_create(&d->thread, NULL, drain_thread, d) != 0) {
		pthread_mutex_destroy(&d->lock);
		pthread_cond_destroy(&d->cond);
		free(d->ring);
		free(d->id), free(d->app_id), free(d->app_name), free(d->url), free(d->token);
		free(d);
		return error_set(err, -EAGAIN, "start the drain's thread failed");
	}
	*ret = d;
	return 0;
}

void log_drain_free(struct log_drain *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	d->stop = true;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	for (size_t i = 0; i < d->count; i++)
		free(d->ring[(d->head + i) % LOG_DRAIN_QUEUE].frame);
	free(d->ring);
	if (d->fd >= 0)
		close(d->fd);
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->cond);
	free(d->id);
	free(d->app_id);
	free(d->app_name);
	free(d->url);
	free(d->token);
	free(d);
}

const char *log_drain_id(const struct log_drain *d)
{
	return d->id;
}

const char *log_drain_app_id(const struct log_drain *d)
{
	return d->app_id;
}
