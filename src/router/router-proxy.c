/* SPDX-License-Identifier: MIT */
/*
 * The router's event loop and its proxy: design note.
 *
 * A loop iteration, in this order: wait for events (epoll, edge-triggered: each socket is
 * registered once, for reading and writing, and its readiness is remembered in `ready` until
 * a read or write says otherwise; loop_wait() polls a little before it sleeps); pick up a
 * new routing table if the main thread published one; handle the events (accept on the
 * listeners, drive the client an event concerns); drive the clients that used up their turn
 * in the last round; send the writes these steps staged, together (loop_send_staged(): when
 * a wait brought several events, a write is staged instead of made, and the client driven on
 * once it is done); expire timers; free what was closed during the iteration (so that a
 * later event of the same batch never touches freed memory); write the log lines of the
 * iteration in one write(2).
 *
 * A client connection is driven by client_drive(): a state machine that makes every step it
 * can (read the request head, send it on, stream the body both ways) until nothing moves,
 * and is called again on the next event of either of its sockets. A request goes:
 *
 *   C_HEAD   read until the head is complete (http_head_scan() looks at each byte once),
 *            parse it (router-http.c), refuse it (400, 414, 431, ...), or find its app in
 *            the table: maintenance (H80), no dyno up (H14, H10), else a dyno, chosen as the
 *            less busy of two picked at random among those not recently refused;
 *   C_PROXY  send the head, rewritten (hop-by-hop headers out, X-Forwarded-*, X-Request-Id,
 *            X-Request-Start and Via in), on an idle connection to that dyno if the loop has
 *            one, else on a new one; stream the body as it comes (chunked bodies are checked
 *            chunk by chunk, never buffered whole); read the response head, rewrite it, and
 *            stream the response body; when both are done, log the request and keep both
 *            connections if both sides allow it;
 *   C_TUNNEL after a 101 to an Upgrade request: bytes both ways until both sides are done;
 *   C_RESPOND the router's own answer (an error page), then C_LINGER: half-close and read
 *            what the client still sends until it closes, so that a reset cannot destroy the
 *            answer in flight.
 *
 * A connection to a dyno that is refused takes the dyno out of the loop's rotation for a few
 * seconds and the request goes to another one; so does a request whose reused connection
 * turns out to be closed before a byte of response came, if its bytes are all still here.
 *
 * Memory: connections and buffers come from the loop's free lists (buffers of 32 KB for a
 * client's input, 68 KB for a response, so that a 64 KB body comes with its head in one read
 * and goes in one write); an idle keep-alive client holds no buffer. Nothing is
 * allocated per request once the loop is warm. Log lines and heads are built in the loop's
 * scratch space.
 *
 * Timers: each connection has one; timers of one kind share a duration, so each kind is a
 * list in deadline order and expiring is looking at the heads of a few lists.
 */
#include "router/router-proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <liburing.h>
#include <limits.h>
#include <sched.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "router/router-http.h"
#include "router/router-log.h"

#define IN_SIZE (32 * 1024)
#define OUT_SIZE (68 * 1024)    /* a 64 KB body with its head in one read and one write */
#define SCRATCH_SIZE (40 * 1024)
#define LOG_SIZE (64 * 1024)
#define EVENTS_MAX 256
#define ACCEPT_BATCH 64
#define DRIVE_ROUNDS 64       /* steps of one client per turn before others get theirs */
#define TRIES_MAX 4           /* dynos a request may be sent to */
#define QUARANTINE_MS 5000    /* a dyno that refused a connection sits out this long */
#define POOL_IDLE_MS 60000    /* idle connections to dynos are closed after this */
#define POOL_MAX 1024         /* idle connections per dyno and loop */
#define LINGER_MS 2000
#define FREE_BUFS_MAX 128
#define LOG_FLUSH_MS 100      /* log lines wait at most this long for their write(2) */
#define POLL_START_US 10      /* the first polling window, once sleeping turned out too short */
#define POLL_GAP_US 500       /* a poll that took this long: the thread was made to wait for the CPU */
#define POLL_BACKOFF_US 50000 /* after which the loop sleeps at once for this long */
#define POLL_EVENTS_MAX 2     /* a loop whose waits bring more events than this does not poll */
#define STAGE_MAX 256         /* writes sent together in one io_uring_enter(2) */

enum sock_kind { SK_INGRESS, SK_INTERNAL, SK_CLIENT, SK_UPSTREAM };
enum { RD = 1, WR = 2, HUP = 4 };
enum { STAGE_UP = 1, STAGE_DOWN = 2 }; /* a staged write: the request's head, the response */

struct sock {
	int fd;
	uint8_t kind;
	uint8_t ready;
};

enum timer_kind { TM_NONE, TM_HEADER, TM_KEEPALIVE, TM_LINGER, TM_CONNECT, TM_RESPONSE, TM_IDLE, TM_POOL, TM_MAX_ };

struct timer {
	struct timer *prev, *next;
	uint64_t at;
	uint8_t kind;
};

struct buf {
	struct buf *next;
	char data[];
};

struct backend;
struct client;

enum upstream_state { U_CONNECTING, U_ACTIVE, U_IDLE, U_CLOSED };

struct upstream {
	struct sock s;
	uint8_t state;
	bool reused;          /* it served a request before this one */
	int connect_errno;    /* a connect() that failed at once */
	struct timer timer;
	struct backend *backend;
	struct client *client;
	struct upstream *prev, *next; /* in the backend's idle list; `next` in free lists */
};

/* A dyno as one loop knows it: its idle connections, how busy it is, whether it refused. */
struct backend {
	struct backend *prev, *next;
	char id[ROUTE_ID_MAX];
	char name[ROUTE_NAME_MAX];
	struct sockaddr_in addr;
	struct upstream idle; /* list head */
	unsigned n_idle;
	unsigned active;      /* requests on it now */
	uint64_t refused_until;
	bool seen;            /* in the table being switched to */
	bool gone;            /* no longer in the table: freed once inactive */
};

enum client_state { C_HEAD, C_IDLE, C_PROXY, C_TUNNEL, C_RESPOND, C_LINGER, C_CLOSED };
enum resp_state { R_HEAD, R_BODY, R_DONE };

struct client {
	struct sock s;
	uint8_t state;
	bool internal;        /* accepted on the space's internal address */
	bool pending;         /* on the loop's list of clients to drive again */
	bool close_after;     /* the response says Connection: close */
	bool must_close;      /* the request was cut: the connection cannot serve another */
	uint16_t port;        /* of the listener, for X-Forwarded-Port */
	struct timer timer;
	struct client *prev, *next; /* the loop's clients; `next` in free lists */
	struct client *pending_next;
	uint8_t staged;       /* STAGE_UP, STAGE_DOWN: writes waiting for loop_send_staged() */
	struct client *staged_next;
	char peer[INET_ADDRSTRLEN];
	uint32_t peer_addr;   /* network byte order */

	struct buf *in;
	uint32_t in_len;      /* bytes in `in`; the current request's head starts at 0 */
	uint32_t head_len;
	size_t scanned;

	/* The request being served. */
	struct upstream *up;
	struct backend *backend;
	struct backend *tried[TRIES_MAX];
	uint8_t n_tried;
	uint8_t attempts;     /* connections the request was sent on */
	bool fresh_only;      /* the next attempt takes a new connection, not an idle one */
	enum router_error last_error;
	char app[ROUTE_NAME_MAX];
	char dyno[ROUTE_NAME_MAX];
	char request_id[HTTP_REQUEST_ID_MAX + 1];
	char fwd[128];
	struct rstr method, path, host; /* in `in` */
	uint8_t minor;
	bool is_head, keep_alive, upgrade;
	bool replayable;      /* every byte sent to the dyno is still in `in` */
	uint8_t req_body;     /* enum http_body */
	bool req_done;        /* the request is read whole (body_end is its end) */
	bool head_sent;
	uint64_t req_remaining;
	struct http_chunked req_chunked;
	uint32_t body_off;    /* the next byte of the body to send */
	uint32_t body_end;    /* bytes of the body read so far end here */
	struct buf *uhead;    /* the rewritten head, while it cannot be sent */
	uint32_t uhead_off, uhead_len;

	uint8_t resp_state;
	uint8_t resp_body;    /* enum http_body */
	bool resp_keep_alive; /* the dyno's connection may serve another request */
	bool resp_started;    /* a byte of the response came */
	bool head_to_client;  /* the client has part of the response: errors can only cut it */
	bool eof_client, eof_upstream; /* tunnels */
	struct buf *out;
	uint32_t out_off, out_len;
	size_t rscanned;
	struct buf *chead;    /* the rewritten response head, while it cannot be sent */
	uint32_t chead_off, chead_len;
	uint64_t resp_remaining;
	struct http_chunked resp_chunked;
	int status;
	uint64_t bytes;
	uint64_t t_start, t_connect, t_sent;
	uint64_t t_start_real;
	int64_t connect_ms;

	struct rstr page;     /* C_RESPOND */
	uint32_t page_off;
};

struct loop {
	const struct router_loop_config *cfg;
	struct router_shared *shared;
	int epfd;
	struct sock ingress, internal;
	bool stopping;
	uint64_t stop_deadline;
	uint64_t accept_paused_until;
	uint64_t now;          /* ms, monotonic, once per iteration */
	uint32_t poll_us;      /* how long loop_wait() polls before it sleeps (adapts) */
	uint64_t poll_resume_us; /* no polling before this (monotonic, microseconds) */
	uint32_t events_avg;   /* events a wait brings, a moving average (fixed point, x16) */
	int loadavg_fd;        /* /proc/loadavg: are threads waiting for a CPU? */
	unsigned n_cpus;
	uint64_t cpus_seen_at; /* ms */
	bool cpus_spare;
	uint64_t now_real_ms;
	struct timespec now_real;
	char timestamp[96];
	uint64_t timestamp_for;
	struct timer timers[TM_MAX_];
	uint32_t durations[TM_MAX_];
	struct route_table *table;
	uint64_t table_gen;
	struct backend **map;  /* the backend of each dyno of the table */
	struct backend backends;
	struct client clients;
	unsigned n_clients;
	struct client *pending;
	struct io_uring ring;  /* the writes of a pass go in one system call (ring_ok) */
	bool ring_made, ring_ok;
	uint64_t n_staged, n_batches; /* writes sent staged, and the system calls that sent them */
	bool staging;          /* writes wait for the end of the pass: on the staged list */
	struct client *staged;
	struct staged_write {
		struct client *c;
		uint8_t side;      /* 0: nothing to send after all */
		bool queued;       /* in the ring */
		int fd;
		int res;           /* bytes sent, -errno, INT_MIN: not sent yet */
		size_t want;
		struct iovec iov[2];
		struct msghdr msg; /* iov, for the ring */
	} batch[STAGE_MAX];
	struct buf *free_in, *free_out;
	unsigned n_free_in, n_free_out;
	struct client *free_clients, *dead_clients;
	struct upstream *free_upstreams, *dead_upstreams;
	uint64_t rng;
	uint64_t log_flushed_at;
	size_t log_len;
	char log[LOG_SIZE];
	struct http_header headers[HTTP_HEADERS_MAX];
	char scratch[SCRATCH_SIZE];
};

void router_shared_set_table(struct router_shared *s, struct route_table *t)
{
	pthread_mutex_lock(&s->lock);
	struct route_table *old = s->table;
	s->table = t;
	atomic_fetch_add(&s->generation, 1);
	pthread_mutex_unlock(&s->lock);
	route_table_unref(old);
}

/* ---- small things ---------------------------------------------------------------------- */

static uint64_t rng_next(struct loop *l)
{
	uint64_t x = l->rng; /* xorshift64* */
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	l->rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static void uuid_v4(struct loop *l, char out[37])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[16];
	uint64_t x = rng_next(l), y = rng_next(l);
	memcpy(b, &x, 8);
	memcpy(b + 8, &y, 8);
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	char *p = out;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex[b[i] >> 4];
		*p++ = hex[b[i] & 15];
	}
	*p = '\0';
}

static char *put_mem(char *p, const void *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

#define PUT_LIT(p, lit) put_mem((p), (lit), sizeof(lit) - 1)

static char *put_u64(char *p, uint64_t v)
{
	char tmp[24];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static uint64_t monotonic_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void clock_update(struct loop *l)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	l->now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	clock_gettime(CLOCK_REALTIME, &l->now_real);
	l->now_real_ms = (uint64_t)l->now_real.tv_sec * 1000 + (uint64_t)l->now_real.tv_nsec / 1000000;
}

/* "2026-01-02T03:04:05.678901+00:00": the date is formatted once a second, the rest by hand. */
static const char *timestamp(struct loop *l)
{
	if (l->timestamp_for != (uint64_t)l->now_real.tv_sec) {
		struct tm tm;
		time_t t = l->now_real.tv_sec;
		gmtime_r(&t, &tm);
		snprintf(l->timestamp, sizeof(l->timestamp), "%04d-%02d-%02dT%02d:%02d:%02d.000000+00:00",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		l->timestamp_for = (uint64_t)l->now_real.tv_sec;
	}
	char *frac = l->timestamp + 20; /* after "YYYY-MM-DDTHH:MM:SS." */
	unsigned us = (unsigned)(l->now_real.tv_nsec / 1000);
	for (int i = 5; i >= 0; i--, us /= 10)
		frac[i] = (char)('0' + us % 10);
	return l->timestamp;
}

static void log_flush(struct loop *l)
{
	size_t off = 0;
	while (off < l->log_len && l->shared->log_fd >= 0) {
		ssize_t n = write(l->shared->log_fd, l->log + off, l->log_len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* a full disk loses log lines, never requests */
		off += (size_t)n;
	}
	l->log_len = 0;
	l->log_flushed_at = l->now;
}

/* The log line of the client's current request. */
static void log_request(struct loop *l, struct client *c, enum router_error e, int status)
{
	if (l->log_len + ROUTER_LOG_LINE_MAX > LOG_SIZE)
		log_flush(l);
	struct router_log_entry entry = {
		.app = c->app[0] ? c->app : NULL,
		.error = e,
		.method = c->method,
		.path = c->path,
		.host = c->host,
		.request_id = c->request_id[0] ? c->request_id : NULL,
		.fwd = c->fwd,
		.dyno = c->dyno[0] ? c->dyno : NULL,
		.connect_ms = c->connect_ms,
		.service_ms = c->head_sent ? (int64_t)(l->now - c->t_sent) : -1,
		.status = status,
		.bytes = c->bytes,
		.protocol = "http",
	};
	l->log_len += router_log_format(l->log + l->log_len, timestamp(l), &entry);
}

/* ---- buffers and objects --------------------------------------------------------------- */

static struct buf *buf_get(struct loop *l, bool out)
{
	struct buf **list = out ? &l->free_out : &l->free_in;
	struct buf *b = *list;
	if (b) {
		*list = b->next;
		if (out)
			l->n_free_out--;
		else
			l->n_free_in--;
		return b;
	}
	return xmalloc(sizeof(struct buf) + (out ? OUT_SIZE : IN_SIZE));
}

static void buf_put(struct loop *l, struct buf **bp, bool out)
{
	struct buf *b = *bp;
	if (!b)
		return;
	*bp = NULL;
	unsigned *n = out ? &l->n_free_out : &l->n_free_in;
	if (*n >= FREE_BUFS_MAX) {
		free(b);
		return;
	}
	struct buf **list = out ? &l->free_out : &l->free_in;
	b->next = *list;
	*list = b;
	(*n)++;
}

static void timer_unlink(struct timer *t)
{
	if (t->next) {
		t->prev->next = t->next;
		t->next->prev = t->prev;
		t->next = t->prev = NULL;
	}
	t->kind = TM_NONE;
}

static void timer_set(struct loop *l, struct timer *t, enum timer_kind kind)
{
	timer_unlink(t);
	struct timer *head = &l->timers[kind];
	t->kind = (uint8_t)kind;
	t->at = l->now + l->durations[kind];
	t->prev = head->prev;
	t->next = head;
	head->prev->next = t;
	head->prev = t;
}

/*
 * After a read that did not fill the room: the socket is drained (an edge comes with the next
 * bytes), unless its end was seen, which comes with no further edge and must be read.
 */
static inline void short_read(struct sock *s)
{
	if (!(s->ready & HUP))
		s->ready &= (uint8_t)~RD;
}

static void epoll_add(struct loop *l, struct sock *s)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = s };
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0)
		log_error("router: epoll add: %m");
}

/* Puts a write of c's on the list sent at the end of the pass (loop_send_staged()). */
static void stage_write(struct loop *l, struct client *c, uint8_t side)
{
	if (!c->staged) {
		c->staged_next = l->staged;
		l->staged = c;
	}
	c->staged |= side;
}

static void backend_free(struct backend *b)
{
	b->prev->next = b->next;
	b->next->prev = b->prev;
	free(b);
}

/* A dyno gone from the table is forgotten once no request and no connection uses it. */
static void backend_maybe_free(struct backend *b)
{
	if (b && b->gone && b->active == 0 && b->n_idle == 0)
		backend_free(b);
}

static void upstream_close(struct loop *l, struct upstream *u)
{
	if (u->state == U_CLOSED)
		return;
	if (u->state == U_IDLE) {
		u->prev->next = u->next;
		u->next->prev = u->prev;
		u->backend->n_idle--;
	}
	timer_unlink(&u->timer);
	close(u->s.fd);
	u->s.fd = -1;
	u->state = U_CLOSED;
	u->client = NULL;
	u->backend = NULL;
	u->next = l->dead_upstreams;
	l->dead_upstreams = u;
}

/* Detaches the client's connection to a dyno: back to the pool, or closed. */
static void client_release_upstream(struct loop *l, struct client *c, bool reuse)
{
	struct upstream *u = c->up;
	struct backend *b = c->backend;
	c->up = NULL;
	c->backend = NULL;
	if (b)
		b->active--;
	if (!u) {
		backend_maybe_free(b);
		return;
	}
	u->client = NULL;
	if (!reuse || !b || b->gone || b->n_idle >= POOL_MAX || l->stopping || u->state != U_ACTIVE) {
		upstream_close(l, u);
		backend_maybe_free(b);
		return;
	}
	if (u->s.ready & RD) {
		/* Nothing may follow a response: a byte or an end here means the connection is done. */
		char byte;
		ssize_t n = recv(u->s.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n >= 0 || errno != EAGAIN) {
			upstream_close(l, u);
			backend_maybe_free(b);
			return;
		}
		u->s.ready &= (uint8_t)~RD;
	}
	u->state = U_IDLE;
	u->reused = true;
	u->next = b->idle.next;
	u->prev = &b->idle;
	b->idle.next->prev = u;
	b->idle.next = u;
	b->n_idle++;
	timer_set(l, &u->timer, TM_POOL);
}

static void client_reset_exchange(struct loop *l, struct client *c)
{
	buf_put(l, &c->out, true);
	buf_put(l, &c->uhead, false);
	buf_put(l, &c->chead, true);
	c->out_off = c->out_len = 0;
	c->uhead_off = c->uhead_len = 0;
	c->chead_off = c->chead_len = 0;
	c->rscanned = 0;
}

static void client_close(struct loop *l, struct client *c)
{
	if (c->state == C_CLOSED)
		return;
	client_release_upstream(l, c, false);
	client_reset_exchange(l, c);
	buf_put(l, &c->in, false);
	timer_unlink(&c->timer);
	close(c->s.fd);
	c->s.fd = -1;
	c->state = C_CLOSED;
	c->prev->next = c->next;
	c->next->prev = c->prev;
	l->n_clients--;
	c->next = l->dead_clients;
	l->dead_clients = c;
}

/* ---- answering ------------------------------------------------------------------------- */

/* Half-closes and reads until the client closes, so that its reset cannot eat our answer. */
static void client_linger(struct loop *l, struct client *c)
{
	client_release_upstream(l, c, false);
	client_reset_exchange(l, c);
	if (shutdown(c->s.fd, SHUT_WR) < 0) {
		client_close(l, c);
		return;
	}
	c->state = C_LINGER;
	c->s.ready |= RD;
	timer_set(l, &c->timer, TM_LINGER);
}

/* Answers the current request with one of the router's own responses. */
static void client_respond(struct loop *l, struct client *c, enum router_error e, int status, bool keep_alive)
{
	client_release_upstream(l, c, false);
	client_reset_exchange(l, c);
	c->close_after = !keep_alive || !c->keep_alive || l->stopping;
	c->page = router_page(e, status, !c->close_after);
	c->page_off = 0;
	c->state = C_RESPOND;
	c->status = status;
	timer_set(l, &c->timer, TM_HEADER);
}

/* An error of the current request: the error page if the client has nothing yet, else the end. */
static void exchange_fail(struct loop *l, struct client *c, enum router_error e)
{
	int status = c->head_to_client ? c->status : router_error_status(e);
	log_request(l, c, e, status);
	if (c->head_to_client || e == ROUTER_H27) {
		client_close(l, c);
		return;
	}
	client_respond(l, c, e, status, false);
}

/* The client went away, or broke the request, while it was being served. */
static void client_gone(struct loop *l, struct client *c)
{
	if (c->state == C_PROXY && c->resp_state != R_DONE)
		exchange_fail(l, c, ROUTER_H27);
	else
		client_close(l, c);
}

/* ---- choosing a dyno and connecting ---------------------------------------------------- */

static bool tried(const struct client *c, const struct backend *b)
{
	for (unsigned i = 0; i < c->n_tried; i++)
		if (c->tried[i] == b)
			return true;
	return false;
}

/* A dyno the request has not tried, preferring those that did not refuse lately. */
static struct backend *pick_one(struct loop *l, const struct route_app *app, const struct client *c, bool any)
{
	size_t n = app->n_dynos, start = (size_t)(rng_next(l) % n);
	for (size_t k = 0; k < n; k++) {
		struct backend *b = l->map[app->first_dyno + (start + k) % n];
		if (!tried(c, b) && (any || b->refused_until <= l->now))
			return b;
	}
	return NULL;
}

/* The less busy of two dynos picked at random (the power of two choices). */
static struct backend *choose_backend(struct loop *l, const struct route_app *app, const struct client *c)
{
	if (app->n_dynos == 0 || c->attempts >= TRIES_MAX)
		return NULL;
	struct backend *a = pick_one(l, app, c, false);
	if (!a)
		return pick_one(l, app, c, true);
	struct backend *b = pick_one(l, app, c, false);
	return b && b->active < a->active ? b : a;
}

static void upstream_attach(struct loop *l, struct client *c, struct backend *b)
{
	c->backend = b;
	b->active++;
	if (!tried(c, b))
		c->tried[c->n_tried++] = b;
	c->attempts++;
	memcpy(c->dyno, b->name, sizeof(c->dyno));
	struct upstream *u = b->idle.next;
	if (u != &b->idle && !c->fresh_only) {
		u->prev->next = u->next;
		u->next->prev = u->prev;
		b->n_idle--;
		u->state = U_ACTIVE;
		u->client = c;
		timer_unlink(&u->timer);
		c->up = u;
		c->connect_ms = 0;
		return;
	}
	u = l->free_upstreams;
	if (u)
		l->free_upstreams = u->next;
	else
		u = xmalloc(sizeof(*u));
	*u = (struct upstream){ .s = { .fd = -1, .kind = SK_UPSTREAM }, .state = U_CONNECTING, .backend = b, .client = c };
	c->up = u;
	c->t_connect = l->now;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		u->connect_errno = errno;
		u->s.fd = open("/dev/null", O_RDONLY | O_CLOEXEC); /* something to close */
		u->s.ready = WR;
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	u->s.fd = fd;
	if (connect(fd, (struct sockaddr *)&b->addr, sizeof(b->addr)) < 0 && errno != EINPROGRESS) {
		u->connect_errno = errno;
		u->s.ready = WR;
	}
	epoll_add(l, &u->s);
	timer_set(l, &u->timer, TM_CONNECT);
}

/*
 * Builds the head to send to the dyno into the loop's scratch space: the request line (in
 * origin-form), the client's headers but the hop-by-hop ones and those the router sets, and
 * the router's. Also fills c->fwd. Returns its length.
 */
static size_t build_upstream_head(struct loop *l, struct client *c, const struct http_request *req)
{
	char *p = l->scratch;
	if (req->path.p == req->target.p && req->minor == 1) {
		p = put_mem(p, req->method.p, req->method.len + 1 + req->target.len + 1 + 10);
	} else {
		p = put_mem(p, req->method.p, req->method.len);
		*p++ = ' ';
		p = put_mem(p, req->path.p, req->path.len);
		p = req->minor ? PUT_LIT(p, " HTTP/1.1\r\n") : PUT_LIT(p, " HTTP/1.0\r\n");
	}
	const char *run = NULL;
	size_t run_len = 0;
	bool xff = false;
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct http_header *h = &req->headers[i];
		bool keep = !h->hop && h->id != HTTP_H_X_FORWARDED_FOR && h->id != HTTP_H_X_FORWARDED_PROTO &&
			    h->id != HTTP_H_X_FORWARDED_PORT && h->id != HTTP_H_X_REQUEST_START &&
			    h->id != HTTP_H_X_REQUEST_ID;
		xff |= h->id == HTTP_H_X_FORWARDED_FOR && h->value.len;
		if (keep && run && run + run_len == h->line) {
			run_len += h->line_len;
			continue;
		}
		if (run)
			p = put_mem(p, run, run_len);
		run = keep ? h->line : NULL;
		run_len = keep ? h->line_len : 0;
	}
	if (run)
		p = put_mem(p, run, run_len);

	p = PUT_LIT(p, "X-Forwarded-For: ");
	char *fwd = p;
	if (xff) {
		for (size_t i = 0; i < req->n_headers; i++) {
			const struct http_header *h = &req->headers[i];
			if (h->id == HTTP_H_X_FORWARDED_FOR && h->value.len) {
				p = put_mem(p, h->value.p, h->value.len);
				p = PUT_LIT(p, ", ");
			}
		}
	}
	p = put_mem(p, c->peer, strlen(c->peer));
	size_t fwd_len = (size_t)(p - fwd);
	if (fwd_len >= sizeof(c->fwd))
		fwd_len = sizeof(c->fwd) - 1;
	memcpy(c->fwd, fwd, fwd_len);
	c->fwd[fwd_len] = '\0';
	p = PUT_LIT(p, "\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Port: ");
	p = put_u64(p, c->port);
	p = PUT_LIT(p, "\r\nX-Request-Start: ");
	p = put_u64(p, c->t_start_real);
	p = PUT_LIT(p, "\r\nX-Request-Id: ");
	p = put_mem(p, c->request_id, strlen(c->request_id));
	p = PUT_LIT(p, "\r\nVia: 1.1 cove\r\n");
	if (req->upgrade) {
		p = PUT_LIT(p, "Connection: upgrade\r\nUpgrade: ");
		p = put_mem(p, req->upgrade_value.p, req->upgrade_value.len);
		p = PUT_LIT(p, "\r\n");
	} else if (req->minor == 0) {
		p = PUT_LIT(p, "Connection: close\r\n");
	}
	p = PUT_LIT(p, "\r\n");
	return (size_t)(p - l->scratch);
}

/* Keeps the head (in scratch, from off) until the connection can take it. */
static void uhead_keep(struct loop *l, struct client *c, size_t len, size_t off)
{
	if (!c->uhead)
		c->uhead = buf_get(l, false);
	memcpy(c->uhead->data, l->scratch + off, len - off);
	c->uhead_off = 0;
	c->uhead_len = (uint32_t)(len - off);
}

/* Reads what of the request body is in `in` past body_end. -1: a malformed chunk. */
static int scan_body(struct client *c)
{
	if (c->req_done || c->in_len == c->body_end)
		return 0;
	uint32_t avail = c->in_len - c->body_end;
	if (c->req_body == HTTP_BODY_LENGTH) {
		uint64_t take = avail < c->req_remaining ? avail : c->req_remaining;
		c->body_end += (uint32_t)take;
		c->req_remaining -= take;
		c->req_done = c->req_remaining == 0;
		return 0;
	}
	bool done;
	ssize_t n = http_chunked_scan(&c->req_chunked, c->in->data + c->body_end, avail, &done);
	if (n < 0)
		return -1;
	c->body_end += (uint32_t)n;
	c->req_done = done;
	return 0;
}

/* Sends the head in scratch (and the body bytes here) on the connection, which is up. */
static void send_head_now(struct loop *l, struct client *c, size_t len)
{
	struct upstream *u = c->up;
	struct iovec iov[2] = { { l->scratch, len }, { c->in->data + c->body_off, c->body_end - c->body_off } };
	ssize_t n = writev(u->s.fd, iov, iov[1].iov_len ? 2 : 1);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR) {
			/* A reused connection the dyno closed: proxy_request() finds out and retries. */
			u->s.ready |= HUP;
		}
		n = 0;
	}
	if ((size_t)n < len + iov[1].iov_len)
		u->s.ready &= (uint8_t)~WR;
	if ((size_t)n < len) {
		uhead_keep(l, c, len, (size_t)n);
		return;
	}
	c->body_off += (uint32_t)((size_t)n - len);
	c->head_sent = true;
	c->t_sent = l->now;
	timer_set(l, &c->up->timer, TM_RESPONSE);
}

/* Sends the request on to a dyno of app: a new attempt, or the first. */
static void exchange_send(struct loop *l, struct client *c, const struct route_app *app, const struct http_request *req)
{
	struct backend *b = choose_backend(l, app, c);
	if (!b) {
		exchange_fail(l, c, c->last_error ? c->last_error : ROUTER_H21);
		return;
	}
	upstream_attach(l, c, b);
	size_t len = build_upstream_head(l, c, req);
	c->body_off = c->head_len;
	c->head_sent = false;
	if (c->up->state == U_ACTIVE && (c->up->s.ready & WR) && !l->staging)
		send_head_now(l, c, len);
	else
		uhead_keep(l, c, len, 0);
}

/*
 * Tries the request again, when all of it is still here: on another dyno after a refused
 * connection or a timeout (quarantine), or on a new connection to the same one when the dyno
 * closed a reused connection before it answered (its other idle connections go too).
 */
static void exchange_retry(struct loop *l, struct client *c, enum router_error e, bool quarantine)
{
	c->last_error = e;
	struct backend *b = c->backend;
	if (quarantine && b)
		b->refused_until = l->now + QUARANTINE_MS;
	if (!quarantine && b) {
		for (unsigned i = 0; i < c->n_tried; i++)
			if (c->tried[i] == b)
				c->tried[i] = c->tried[--c->n_tried];
		while (b->idle.next != &b->idle)
			upstream_close(l, b->idle.next);
		c->fresh_only = true;
	}
	client_release_upstream(l, c, false);
	client_reset_exchange(l, c);
	c->resp_started = false;
	c->connect_ms = -1;
	struct http_request req = { 0 };
	const struct route_app *app = NULL;
	if (c->replayable && http_parse_request(c->in->data, c->head_len, &req, l->headers, HTTP_HEADERS_MAX) > 0)
		app = route_table_find(l->table, req.host.p, req.host.len, c->internal);
	if (!app || app->n_dynos == 0) {
		exchange_fail(l, c, e);
		return;
	}
	exchange_send(l, c, app, &req);
}

/* A request head is here: route it. */
static void exchange_start(struct loop *l, struct client *c, const struct http_request *req)
{
	c->head_len = (uint32_t)req->head_len;
	c->method = req->method;
	c->path = req->path;
	c->host = req->host;
	c->minor = req->minor;
	c->is_head = req->is_head;
	c->keep_alive = req->keep_alive;
	c->upgrade = req->upgrade;
	c->req_body = (uint8_t)req->body;
	c->req_remaining = req->content_length;
	c->req_chunked = (struct http_chunked){ 0 };
	c->req_done = req->body == HTTP_BODY_NONE;
	c->body_off = c->body_end = c->head_len;
	c->replayable = true;
	c->must_close = false;
	c->head_sent = false;
	c->n_tried = 0;
	c->attempts = 0;
	c->fresh_only = false;
	c->last_error = ROUTER_OK;
	c->resp_state = R_HEAD;
	c->resp_started = c->head_to_client = false;
	c->eof_client = c->eof_upstream = false;
	c->status = 0;
	c->bytes = 0;
	c->connect_ms = -1;
	c->t_start = l->now;
	c->t_start_real = l->now_real_ms;
	c->dyno[0] = '\0';
	c->app[0] = '\0';
	c->fwd[0] = '\0';
	if (req->request_id.len) {
		memcpy(c->request_id, req->request_id.p, req->request_id.len);
		c->request_id[req->request_id.len] = '\0';
	} else {
		uuid_v4(l, c->request_id);
	}
	snprintf(c->fwd, sizeof(c->fwd), "%s", c->peer);
	timer_unlink(&c->timer);

	const struct route_app *app = route_table_find(l->table, req->host.p, req->host.len, c->internal);
	bool no_body = req->body == HTTP_BODY_NONE;
	if (app)
		memcpy(c->app, app->name, sizeof(c->app));
	/* The trusted IP ranges: the kernel drops the rest already, this is the second lock. */
	if (!c->internal && !route_table_trusts(l->table, c->peer_addr)) {
		log_request(l, c, ROUTER_UNTRUSTED, 403);
		client_respond(l, c, ROUTER_UNTRUSTED, 403, no_body);
		return;
	}
	if (!app) {
		log_request(l, c, ROUTER_NO_APP, 404);
		client_respond(l, c, ROUTER_NO_APP, 404, no_body);
		return;
	}
	memcpy(c->app, app->name, sizeof(c->app));
	enum router_error e = app->maintenance ? ROUTER_H80 : app->n_dynos ? ROUTER_OK : app->web ? ROUTER_H10 : ROUTER_H14;
	if (e != ROUTER_OK) {
		log_request(l, c, e, 503);
		client_respond(l, c, e, 503, no_body);
		return;
	}
	if (scan_body(c) < 0) {
		log_request(l, c, ROUTER_H26, 400);
		client_respond(l, c, ROUTER_H26, 400, false);
		return;
	}
	c->state = C_PROXY;
	exchange_send(l, c, app, req);
}

/* ---- the request's way: client -> dyno ------------------------------------------------- */

/*
 * What a write of the kept head did (n bytes, or -errno): -1 nothing moved (wait for the
 * connection), 0 something happened (a part went, or the request went elsewhere), 1 the head
 * is sent whole.
 */
static int uhead_wrote(struct loop *l, struct client *c, ssize_t n)
{
	struct upstream *u = c->up;
	if (n < 0) {
		if (n == -EAGAIN) {
			u->s.ready &= (uint8_t)~WR;
			return -1;
		}
		if (n == -EINTR)
			return 0;
		if (u->reused && c->replayable)
			exchange_retry(l, c, ROUTER_H13, false);
		else
			exchange_fail(l, c, ROUTER_H13);
		return 0;
	}
	c->uhead_off += (uint32_t)n;
	if (c->uhead_off < c->uhead_len) {
		u->s.ready &= (uint8_t)~WR;
		return 0;
	}
	buf_put(l, &c->uhead, false);
	c->head_sent = true;
	c->t_sent = l->now;
	timer_set(l, &u->timer, TM_RESPONSE);
	return 1;
}

static bool proxy_request(struct loop *l, struct client *c)
{
	struct upstream *u = c->up;
	if (!u)
		return false;
	if (u->state == U_CONNECTING) {
		if (!(u->s.ready & (WR | HUP)))
			return false;
		int err = u->connect_errno;
		socklen_t len = sizeof(err);
		if (!err && getsockopt(u->s.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			exchange_retry(l, c, ROUTER_H21, true);
			return true;
		}
		u->state = U_ACTIVE;
		c->connect_ms = (int64_t)(l->now - c->t_connect);
		timer_set(l, &u->timer, TM_RESPONSE);
	}
	if ((u->s.ready & HUP) && !c->head_sent && u->reused && !c->resp_started) {
		/* The dyno closed the idle connection as we picked it. */
		exchange_retry(l, c, ROUTER_H13, false);
		return true;
	}
	bool progress = false;
	if (c->uhead) {
		if (!(u->s.ready & WR))
			return false;
		if (l->staging) {
			stage_write(l, c, STAGE_UP);
			return false;
		}
		ssize_t n = write(u->s.fd, c->uhead->data + c->uhead_off, c->uhead_len - c->uhead_off);
		int r = uhead_wrote(l, c, n < 0 ? -errno : n);
		if (r <= 0)
			return r == 0;
		progress = true;
	}
	while (c->head_sent && !(c->req_done && c->body_off == c->body_end) && c->state == C_PROXY) {
		if (c->body_off < c->body_end) {
			if (!(u->s.ready & WR))
				break;
			ssize_t n = write(u->s.fd, c->in->data + c->body_off, c->body_end - c->body_off);
			if (n < 0) {
				if (errno == EAGAIN) {
					u->s.ready &= (uint8_t)~WR;
					break;
				}
				if (errno == EINTR)
					continue;
				/*
				 * The dyno will not take the rest: its response (if any) tells why. The
				 * request is cut, so it is not sent again, and the client's connection
				 * ends with it.
				 */
				u->s.ready |= RD | HUP;
				c->req_done = true;
				c->body_off = c->body_end;
				c->must_close = true;
				c->replayable = false;
				return true;
			}
			if ((size_t)n < c->body_end - c->body_off)
				u->s.ready &= (uint8_t)~WR;
			c->body_off += (uint32_t)n;
			if (!c->resp_started)
				timer_set(l, &u->timer, TM_RESPONSE);
			progress = true;
			continue;
		}
		/* Everything read is sent: read more of the body into the room after the head. */
		if (!(c->s.ready & RD))
			break;
		if (c->body_end > c->head_len) {
			c->replayable = false;
			c->in_len = c->body_off = c->body_end = c->head_len;
		}
		ssize_t n = read(c->s.fd, c->in->data + c->in_len, IN_SIZE - c->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			c->s.ready &= (uint8_t)~RD;
			break;
		}
		if (n <= 0) {
			client_gone(l, c);
			return true;
		}
		if ((size_t)n < IN_SIZE - c->in_len)
			short_read(&c->s);
		c->in_len += (uint32_t)n;
		if (scan_body(c) < 0) {
			/* The dyno has a broken request: neither connection can go on. */
			c->must_close = true;
			exchange_fail(l, c, ROUTER_H26);
			return true;
		}
		progress = true;
	}
	return progress;
}

/* ---- the response's way: dyno -> client ------------------------------------------------ */

/* True when bytes for the client wait in chead or out (out holds a head being read in R_HEAD). */
static bool client_has_pending(const struct client *c)
{
	return c->chead_off < c->chead_len || (c->resp_state != R_HEAD && c->out_off < c->out_len);
}

/* The pending response bytes, in iov[0..2); their count in *want. */
static int client_out_iov(const struct client *c, struct iovec iov[2], size_t *want)
{
	int n_iov = 0;
	*want = 0;
	if (c->chead_off < c->chead_len) {
		iov[n_iov++] = (struct iovec){ c->chead->data + c->chead_off, c->chead_len - c->chead_off };
		*want += c->chead_len - c->chead_off;
	}
	if (c->resp_state != R_HEAD && c->out_off < c->out_len) {
		iov[n_iov++] = (struct iovec){ c->out->data + c->out_off, c->out_len - c->out_off };
		*want += c->out_len - c->out_off;
	}
	return n_iov;
}

/* What a write of want pending bytes did (n, or -errno): 1 written, 0 blocked, -1 the client is gone. */
static int client_wrote(struct loop *l, struct client *c, ssize_t n, size_t want)
{
	if (n < 0) {
		if (n == -EAGAIN) {
			c->s.ready &= (uint8_t)~WR;
			return 0;
		}
		if (n == -EINTR)
			return 1;
		client_gone(l, c);
		return -1;
	}
	if ((size_t)n < want)
		c->s.ready &= (uint8_t)~WR;
	c->bytes += (uint64_t)n;
	size_t left = (size_t)n;
	if (c->chead_off < c->chead_len) {
		size_t k = left < c->chead_len - c->chead_off ? left : c->chead_len - c->chead_off;
		c->chead_off += (uint32_t)k;
		left -= k;
		if (c->chead_off == c->chead_len) {
			buf_put(l, &c->chead, true);
			c->chead_off = c->chead_len = 0;
		}
	}
	if (c->resp_state != R_HEAD)
		c->out_off += (uint32_t)left;
	if (c->up && c->resp_started && c->state != C_CLOSED)
		timer_set(l, &c->up->timer, TM_IDLE);
	return 1;
}

/* Writes the pending response bytes. 1: all written, 0: blocked (or staged), -1: the client is gone. */
static int flush_to_client(struct loop *l, struct client *c)
{
	while (client_has_pending(c)) {
		if (!(c->s.ready & WR))
			return 0;
		if (l->staging && c->state == C_PROXY) {
			stage_write(l, c, STAGE_DOWN);
			return 0;
		}
		struct iovec iov[2];
		size_t want;
		int n_iov = client_out_iov(c, iov, &want);
		ssize_t n = writev(c->s.fd, iov, n_iov);
		int r = client_wrote(l, c, n < 0 ? -errno : n, want);
		if (r <= 0)
			return r;
	}
	return 1;
}

/* Takes body bytes out[from, out_len) as far as they belong to the response; the rest is dropped. */
static int take_body(struct client *c, uint32_t from)
{
	uint32_t avail = c->out_len - from;
	switch (c->resp_body) {
	case HTTP_BODY_NONE:
		c->out_len = from;
		if (avail)
			c->resp_keep_alive = false;
		c->resp_state = R_DONE;
		return 0;
	case HTTP_BODY_LENGTH: {
		uint64_t take = avail < c->resp_remaining ? avail : c->resp_remaining;
		c->resp_remaining -= take;
		c->out_len = from + (uint32_t)take;
		if (take < avail)
			c->resp_keep_alive = false;
		if (!c->resp_remaining)
			c->resp_state = R_DONE;
		return 0;
	}
	case HTTP_BODY_CHUNKED: {
		bool done;
		ssize_t n = http_chunked_scan(&c->resp_chunked, c->out->data + from, avail, &done);
		if (n < 0)
			return -1;
		c->out_len = from + (uint32_t)n;
		if ((uint32_t)n < avail)
			c->resp_keep_alive = false;
		if (done)
			c->resp_state = R_DONE;
		return 0;
	}
	default: /* until the dyno closes */
		return 0;
	}
}

/* Copies a head for the client into chead (after what is pending there). */
static void chead_append(struct loop *l, struct client *c, const char *p, size_t len)
{
	if (!c->chead) {
		c->chead = buf_get(l, true);
		c->chead_off = c->chead_len = 0;
	}
	memcpy(c->chead->data + c->chead_len, p, len);
	c->chead_len += (uint32_t)len;
}

/* The rewritten head for the client, in scratch: the dyno's minus hop-by-hop headers. */
static size_t build_client_head(struct loop *l, const struct client *c, const struct http_response *resp, bool close)
{
	char *p = l->scratch;
	const char *status_end = resp->n_headers ? resp->headers[0].line : c->out->data + resp->head_len - 2;
	p = put_mem(p, c->out->data, (size_t)(status_end - c->out->data));
	for (size_t i = 0; i < resp->n_headers; i++)
		if (!resp->headers[i].hop)
			p = put_mem(p, resp->headers[i].line, resp->headers[i].line_len);
	if (close)
		p = PUT_LIT(p, "Connection: close\r\n");
	p = PUT_LIT(p, "\r\n");
	return (size_t)(p - l->scratch);
}

/* The response head is in out[0, out_len): pass it on. */
static void response_head(struct loop *l, struct client *c)
{
	struct http_response resp;
	int r = http_parse_response(c->out->data, c->out_len, c->is_head, &resp, l->headers, HTTP_HEADERS_MAX);
	if (r == 0 && c->out_len >= HTTP_RESPONSE_HEAD_MAX)
		r = -502;
	if (r == 0)
		return;
	if (r < 0 || (resp.upgrade && !c->upgrade)) {
		exchange_fail(l, c, ROUTER_H17);
		return;
	}
	if (resp.status < 200 && !resp.upgrade) {
		/* 100 Continue, 103 Early Hints: on to an HTTP/1.1 client, and wait for the final one. */
		if (c->minor == 1) {
			size_t len = build_client_head(l, c, &resp, false);
			chead_append(l, c, l->scratch, len);
		}
		memmove(c->out->data, c->out->data + r, c->out_len - (uint32_t)r);
		c->out_len -= (uint32_t)r;
		c->rscanned = 0;
		return;
	}
	c->status = resp.status;
	c->resp_body = (uint8_t)resp.body;
	c->resp_remaining = resp.content_length;
	c->resp_chunked = (struct http_chunked){ 0 };
	c->resp_keep_alive = resp.keep_alive;
	c->resp_state = R_BODY;
	bool close = !resp.upgrade && (!c->keep_alive || c->minor == 0 || resp.body == HTTP_BODY_CLOSE ||
				       !c->req_done || c->must_close || l->stopping);
	c->close_after = close;
	size_t len = build_client_head(l, c, &resp, close);
	if (resp.upgrade) {
		c->resp_state = R_DONE; /* what follows the 101 is the new protocol's */
	} else if (take_body(c, (uint32_t)r) < 0) {
		exchange_fail(l, c, ROUTER_H17);
		return;
	}
	c->out_off = (uint32_t)r;
	c->head_to_client = true;
	if (c->chead_len) {
		chead_append(l, c, l->scratch, len);
		return;
	}
	/* The common case: head and what came of the body in one writev (or, staged, one send). */
	if (!(c->s.ready & WR) || l->staging) {
		chead_append(l, c, l->scratch, len);
		return;
	}
	struct iovec iov[2] = { { l->scratch, len }, { c->out->data + c->out_off, c->out_len - c->out_off } };
	ssize_t n = writev(c->s.fd, iov, iov[1].iov_len ? 2 : 1);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR) {
			client_gone(l, c);
			return;
		}
		n = 0;
	}
	if ((size_t)n < len + iov[1].iov_len)
		c->s.ready &= (uint8_t)~WR;
	c->bytes += (uint64_t)n;
	if ((size_t)n < len)
		chead_append(l, c, l->scratch + n, len - (size_t)n);
	else
		c->out_off += (uint32_t)((size_t)n - len);
}

static void tunnel_start(struct loop *l, struct client *c);

/* The request is answered: log it, keep or close the connections, get ready for the next. */
static void exchange_done(struct loop *l, struct client *c)
{
	log_request(l, c, ROUTER_OK, c->status);
	if (c->status == 101) {
		tunnel_start(l, c);
		return;
	}
	bool request_whole = c->req_done && c->body_off == c->body_end && c->head_sent && !c->must_close;
	client_release_upstream(l, c, c->resp_keep_alive && request_whole);
	client_reset_exchange(l, c);
	if (c->close_after || c->must_close || !request_whole || l->stopping) {
		client_linger(l, c);
		return;
	}
	/* Whatever follows the request is the next one (pipelining). */
	uint32_t left = c->in_len - c->body_end;
	if (left)
		memmove(c->in->data, c->in->data + c->body_end, left);
	c->in_len = left;
	c->head_len = 0;
	c->scanned = 0;
	c->method = c->path = c->host = (struct rstr){ 0 };
	if (left) {
		c->state = C_HEAD;
		timer_set(l, &c->timer, TM_HEADER);
	} else {
		buf_put(l, &c->in, false);
		c->state = C_IDLE;
		timer_set(l, &c->timer, TM_KEEPALIVE);
	}
}

/* The dyno closed its side, or reset. */
static void upstream_eof(struct loop *l, struct client *c, int err)
{
	if (c->resp_state == R_HEAD) {
		if (c->out_len == 0 && c->up->reused && c->replayable && !c->resp_started) {
			exchange_retry(l, c, ROUTER_H13, false);
			return;
		}
		exchange_fail(l, c, ROUTER_H13);
		return;
	}
	if (c->resp_body == HTTP_BODY_CLOSE && !err) {
		c->resp_keep_alive = false;
		c->resp_state = R_DONE;
		return;
	}
	exchange_fail(l, c, ROUTER_H18);
}

static bool proxy_response(struct loop *l, struct client *c)
{
	bool progress = false;
	while (c->state == C_PROXY && c->up && c->up->state == U_ACTIVE) {
		struct upstream *u = c->up;
		if (client_has_pending(c)) {
			int w = flush_to_client(l, c);
			if (w < 0)
				return true;
			if (w == 0)
				return progress;
			progress = true;
		}
		if (c->resp_state == R_DONE) {
			exchange_done(l, c);
			return true;
		}
		if (c->resp_state == R_HEAD && c->out_len &&
		    (http_head_scan(c->out->data, c->out_len, &c->rscanned) || c->out_len >= HTTP_RESPONSE_HEAD_MAX)) {
			uint32_t before = c->out_len;
			uint8_t state = c->resp_state;
			response_head(l, c);
			if (c->state != C_PROXY)
				return true;
			if (c->resp_state != state || c->out_len != before || c->chead_len) {
				progress = true;
				continue;
			}
		}
		if (!(u->s.ready & RD))
			return progress;
		if (!c->out) {
			c->out = buf_get(l, true);
			c->out_off = c->out_len = 0;
		}
		size_t room;
		if (c->resp_state == R_HEAD) {
			room = OUT_SIZE - c->out_len;
		} else {
			/* All the room: bytes past the response would be the dyno's mistake, and found. */
			c->out_off = c->out_len = 0;
			room = OUT_SIZE;
		}
		ssize_t n = read(u->s.fd, c->out->data + c->out_len, room);
		if (n < 0) {
			if (errno == EAGAIN) {
				u->s.ready &= (uint8_t)~RD;
				return progress;
			}
			if (errno == EINTR)
				continue;
			upstream_eof(l, c, errno);
			return true;
		}
		if (n == 0) {
			upstream_eof(l, c, 0);
			return true;
		}
		if ((size_t)n < room)
			short_read(&u->s);
		c->resp_started = true;
		timer_set(l, &u->timer, TM_IDLE);
		progress = true;
		if (c->resp_state == R_HEAD) {
			c->out_len += (uint32_t)n;
			continue;
		}
		c->out_len = (uint32_t)n;
		if (take_body(c, 0) < 0) {
			exchange_fail(l, c, ROUTER_H17);
			return true;
		}
	}
	return progress;
}

/* ---- tunnels (101 Switching Protocols) ------------------------------------------------- */

static void tunnel_start(struct loop *l, struct client *c)
{
	c->state = C_TUNNEL;
	/* What the client sent after its head belongs to the new protocol. */
	uint32_t left = c->in_len - c->head_len;
	if (left)
		memmove(c->in->data, c->in->data + c->head_len, left);
	c->in_len = left;
	c->body_off = 0;
	c->head_len = c->body_end = 0;
	timer_set(l, &c->up->timer, TM_IDLE);
}

static bool tunnel(struct loop *l, struct client *c)
{
	struct upstream *u = c->up;
	bool progress = false;
	/* dyno -> client */
	int w = flush_to_client(l, c);
	if (w < 0)
		return true;
	if (w > 0 && !c->eof_upstream && (u->s.ready & RD)) {
		if (!c->out)
			c->out = buf_get(l, true);
		ssize_t n = read(u->s.fd, c->out->data, OUT_SIZE);
		if (n > 0) {
			c->out_off = 0;
			c->out_len = (uint32_t)n;
			if ((size_t)n < OUT_SIZE)
				short_read(&u->s);
			progress = true;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			c->eof_upstream = true;
			shutdown(c->s.fd, SHUT_WR);
			progress = true;
		} else if (errno == EAGAIN) {
			u->s.ready &= (uint8_t)~RD;
		}
	}
	/* client -> dyno */
	if (c->body_off < c->in_len && (u->s.ready & WR)) {
		ssize_t n = write(u->s.fd, c->in->data + c->body_off, c->in_len - c->body_off);
		if (n > 0) {
			c->body_off += (uint32_t)n;
			if (c->body_off < c->in_len)
				u->s.ready &= (uint8_t)~WR;
			progress = true;
		} else if (n < 0 && errno == EAGAIN) {
			u->s.ready &= (uint8_t)~WR;
		} else if (n < 0 && errno != EINTR) {
			client_close(l, c);
			return true;
		}
	}
	if (c->body_off == c->in_len && !c->eof_client && (c->s.ready & RD)) {
		if (!c->in)
			c->in = buf_get(l, false);
		c->body_off = c->in_len = 0;
		ssize_t n = read(c->s.fd, c->in->data, IN_SIZE);
		if (n > 0) {
			c->in_len = (uint32_t)n;
			if ((size_t)n < IN_SIZE)
				short_read(&c->s);
			progress = true;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			c->eof_client = true;
			shutdown(u->s.fd, SHUT_WR);
			progress = true;
		} else if (errno == EAGAIN) {
			c->s.ready &= (uint8_t)~RD;
		}
	}
	if (c->eof_client && c->eof_upstream && c->out_off == c->out_len && c->chead_len == 0) {
		client_close(l, c);
		return true;
	}
	if (progress)
		timer_set(l, &u->timer, TM_IDLE);
	return progress;
}

/* ---- the client's side ----------------------------------------------------------------- */

/* Refuses a request the parser would not take (status is 400, 405, 414, 417, 431 or 505). */
static void client_refuse(struct loop *l, struct client *c, int status)
{
	c->method = c->path = c->host = (struct rstr){ 0 };
	c->app[0] = c->dyno[0] = '\0';
	c->request_id[0] = '\0';
	snprintf(c->fwd, sizeof(c->fwd), "%s", c->peer);
	c->connect_ms = -1;
	c->head_sent = false;
	c->bytes = 0;
	c->keep_alive = false;
	log_request(l, c, ROUTER_H26, status);
	client_respond(l, c, ROUTER_OK, status, false);
}

static bool client_head(struct loop *l, struct client *c)
{
	int ready = c->in_len ? http_head_scan(c->in->data, c->in_len, &c->scanned) : 0;
	bool progress = false;
	while (!ready) {
		if (c->in_len >= HTTP_REQUEST_HEAD_MAX + 4) {
			ready = 1;
			break;
		}
		if (!(c->s.ready & RD))
			return progress;
		if (l->stopping && c->in_len == 0) {
			client_close(l, c);
			return true;
		}
		if (!c->in)
			c->in = buf_get(l, false);
		ssize_t n = read(c->s.fd, c->in->data + c->in_len, IN_SIZE - c->in_len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				c->s.ready &= (uint8_t)~RD;
				if (c->in_len == 0)
					buf_put(l, &c->in, false);
				return progress;
			}
			client_close(l, c);
			return true;
		}
		if (n == 0) {
			client_close(l, c);
			return true;
		}
		if ((size_t)n < IN_SIZE - c->in_len)
			short_read(&c->s);
		if (c->state == C_IDLE) {
			c->state = C_HEAD;
			timer_set(l, &c->timer, TM_HEADER);
		}
		c->in_len += (uint32_t)n;
		ready = http_head_scan(c->in->data, c->in_len, &c->scanned);
		progress = true;
	}
	struct http_request req;
	int r = http_parse_request(c->in->data, c->in_len, &req, l->headers, HTTP_HEADERS_MAX);
	if (r == 0)
		r = c->in_len >= HTTP_REQUEST_HEAD_MAX + 4 ? -431 : -400;
	if (r < 0) {
		client_refuse(l, c, -r);
		return true;
	}
	exchange_start(l, c, &req);
	return true;
}

static bool client_respond_write(struct loop *l, struct client *c)
{
	if (!(c->s.ready & WR))
		return false;
	ssize_t n = write(c->s.fd, c->page.p + c->page_off, c->page.len - c->page_off);
	if (n < 0) {
		if (errno == EAGAIN) {
			c->s.ready &= (uint8_t)~WR;
			return false;
		}
		if (errno != EINTR)
			client_close(l, c);
		return true;
	}
	c->page_off += (uint32_t)n;
	if (c->page_off < c->page.len) {
		c->s.ready &= (uint8_t)~WR;
		return true;
	}
	if (c->close_after) {
		client_linger(l, c);
		return true;
	}
	/* A bodiless request answered by the router: the connection goes on. */
	c->body_end = c->head_len;
	c->req_done = true;
	c->body_off = c->body_end;
	c->head_sent = true;
	c->close_after = false;
	uint32_t left = c->in_len - c->head_len;
	if (left)
		memmove(c->in->data, c->in->data + c->head_len, left);
	c->in_len = left;
	c->head_len = 0;
	c->scanned = 0;
	if (left) {
		c->state = C_HEAD;
		timer_set(l, &c->timer, TM_HEADER);
	} else {
		buf_put(l, &c->in, false);
		c->state = C_IDLE;
		timer_set(l, &c->timer, TM_KEEPALIVE);
	}
	return true;
}

static bool client_linger_read(struct loop *l, struct client *c)
{
	if (!(c->s.ready & RD))
		return false;
	char sink[4096];
	ssize_t n = read(c->s.fd, sink, sizeof(sink));
	if (n < 0 && errno == EAGAIN) {
		c->s.ready &= (uint8_t)~RD;
		return false;
	}
	if (n <= 0 && !(n < 0 && errno == EINTR)) {
		client_close(l, c);
		return true;
	}
	return true;
}

static void client_drive(struct loop *l, struct client *c)
{
	for (unsigned round = 0; round < DRIVE_ROUNDS; round++) {
		bool progress = false;
		switch (c->state) {
		case C_IDLE:
		case C_HEAD:
			progress = client_head(l, c);
			break;
		case C_PROXY:
			progress = proxy_request(l, c);
			if (c->state == C_PROXY)
				progress |= proxy_response(l, c);
			if (c->state == C_PROXY && (c->s.ready & HUP) && c->req_done) {
				/* The client closed or half-closed while it waits: it gave up (H27). */
				client_gone(l, c);
				progress = true;
			}
			break;
		case C_TUNNEL:
			progress = tunnel(l, c);
			break;
		case C_RESPOND:
			progress = client_respond_write(l, c);
			break;
		case C_LINGER:
			progress = client_linger_read(l, c);
			break;
		default:
			return;
		}
		if (!progress)
			return;
	}
	/* Its turn is over; the loop comes back to it before waiting. */
	if (!c->pending && c->state != C_CLOSED) {
		c->pending = true;
		c->pending_next = l->pending;
		l->pending = c;
	}
}

/* ---- staged writes ---------------------------------------------------------------------- */

/*
 * Submits the n_sqe sends queued in the ring for batch[0..n) and waits for their completions
 * (made during the call: the sends do not block), filling in each one's res.
 */
static void ring_send(struct loop *l, unsigned n, unsigned n_sqe)
{
	l->n_staged += n_sqe;
	l->n_batches++;
	int r = io_uring_submit_and_wait(&l->ring, n_sqe);
	unsigned submitted = r > 0 ? (unsigned)r : 0, done = 0;
	while (done < submitted) {
		struct io_uring_cqe *cqe;
		int e = io_uring_wait_cqe(&l->ring, &cqe);
		if (e == -EINTR)
			continue;
		if (e < 0)
			break;
		unsigned head, k = 0;
		io_uring_for_each_cqe(&l->ring, head, cqe) {
			if (cqe->user_data < n)
				l->batch[cqe->user_data].res = cqe->res;
			k++;
		}
		io_uring_cq_advance(&l->ring, k);
		done += k;
	}
	if (submitted == n_sqe && done == submitted)
		return;
	/* Not expected of a working kernel: from now on, each write on its own. */
	log_error("router: loop %u: io_uring: %u of %u sends submitted, %u done (%s); writes are made one by one from now on",
		  l->cfg->index, submitted, n_sqe, done, r < 0 ? strerror(-r) : "short");
	l->ring_ok = false;
	/*
	 * The ring takes its entries in order: the first `submitted` queued ones are sent or may
	 * yet be; one not seen done fails (never sent twice), the others are sent by the caller.
	 */
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++) {
		struct staged_write *w = &l->batch[i];
		if (w->queued && k++ < submitted && w->res == INT_MIN) {
			w->res = -EIO;
			w->c->replayable = false;
		}
	}
}

/*
 * Sends the writes staged during the pass (the requests' heads to the dynos, the responses to
 * the clients), all in one io_uring_enter(2), then lets each client go on as if a writev(2)
 * of its own had just returned. Each of these writes wakes the thread it is for, a dyno's or
 * a client's; made one by one, each wake-up can take the CPU from the loop at the return of
 * its system call, and the woken thread finds one request to serve. Made together, the loop
 * keeps the CPU until they are all out, and a woken thread finds several. The sends are
 * non-blocking (MSG_DONTWAIT), so the kernel does each during the call, as writev would, and
 * reports a short write or EAGAIN the same way. Writes made while clients are driven here
 * (what a completed one leads to) are made at once.
 */
static void loop_send_staged(struct loop *l)
{
	l->staging = false;
	while (l->staged) {
		unsigned n = 0, n_sqe = 0;
		while (l->staged && n < STAGE_MAX) {
			struct client *c = l->staged;
			uint8_t side = c->staged;
			l->staged = c->staged_next;
			c->staged = 0;
			struct staged_write *w = &l->batch[n];
			struct iovec *iov = w->iov;
			*w = (struct staged_write){ .c = c, .res = INT_MIN };
			n++;
			int n_iov;
			/* What was staged may have moved on since: the client closed, the request went elsewhere. */
			if (c->state != C_PROXY) {
				continue;
			} else if ((side & STAGE_UP) && c->uhead && c->up && c->up->state == U_ACTIVE && (c->up->s.ready & WR)) {
				iov[0] = (struct iovec){ c->uhead->data + c->uhead_off, c->uhead_len - c->uhead_off };
				n_iov = 1;
				w->want = iov[0].iov_len;
				w->fd = c->up->s.fd;
				w->side = STAGE_UP;
			} else if ((side & STAGE_DOWN) && client_has_pending(c) && (c->s.ready & WR)) {
				n_iov = client_out_iov(c, iov, &w->want);
				w->fd = c->s.fd;
				w->side = STAGE_DOWN;
			} else {
				continue;
			}
			w->msg = (struct msghdr){ .msg_iov = iov, .msg_iovlen = (size_t)n_iov };
			struct io_uring_sqe *sqe = l->ring_ok ? io_uring_get_sqe(&l->ring) : NULL;
			if (!sqe)
				continue; /* sent below, on its own */
			io_uring_prep_sendmsg(sqe, w->fd, &w->msg, MSG_DONTWAIT | MSG_NOSIGNAL);
			io_uring_sqe_set_data64(sqe, n - 1);
			w->queued = true;
			n_sqe++;
		}
		if (n_sqe)
			ring_send(l, n, n_sqe);
		for (unsigned i = 0; i < n; i++) {
			struct staged_write *w = &l->batch[i];
			struct client *c = w->c;
			if (w->side && w->res == INT_MIN) {
				ssize_t k = writev(w->fd, w->iov, (int)w->msg.msg_iovlen);
				w->res = k < 0 ? -errno : (int)k;
			}
			if (w->side == STAGE_UP)
				uhead_wrote(l, c, w->res);
			else if (w->side == STAGE_DOWN)
				client_wrote(l, c, w->res, w->want);
			if (c->state != C_CLOSED)
				client_drive(l, c);
		}
	}
}

/* ---- accepting ------------------------------------------------------------------------- */

static void accept_batch(struct loop *l, struct sock *ls)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_in sa;
		socklen_t len = sizeof(sa);
		int fd = accept4(ls->fd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				log_error("router: accept: %m; pausing for 100 ms");
				l->accept_paused_until = l->now + 100;
				epoll_ctl(l->epfd, EPOLL_CTL_DEL, l->ingress.fd, NULL);
				if (l->internal.fd >= 0)
					epoll_ctl(l->epfd, EPOLL_CTL_DEL, l->internal.fd, NULL);
			}
			return;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct client *c = l->free_clients;
		if (c)
			l->free_clients = c->next;
		else
			c = xmalloc(sizeof(*c));
		memset(c, 0, sizeof(*c));
		c->s = (struct sock){ .fd = fd, .kind = SK_CLIENT, .ready = RD | WR };
		c->internal = ls->kind == SK_INTERNAL;
		c->port = c->internal ? l->cfg->internal_port : l->cfg->ingress_port;
		c->state = C_IDLE;
		if (!inet_ntop(AF_INET, &sa.sin_addr, c->peer, sizeof(c->peer)))
			strcpy(c->peer, "0.0.0.0");
		c->peer_addr = sa.sin_addr.s_addr;
		c->next = l->clients.next;
		c->prev = &l->clients;
		l->clients.next->prev = c;
		l->clients.next = c;
		l->n_clients++;
		epoll_add(l, &c->s);
		/* The request is usually here already (TCP_DEFER_ACCEPT): read it now. */
		timer_set(l, &c->timer, TM_HEADER);
		client_drive(l, c);
	}
}

/* ---- timers ---------------------------------------------------------------------------- */

static void on_timer(struct loop *l, struct timer *t, enum timer_kind kind)
{
	if (kind == TM_HEADER || kind == TM_KEEPALIVE || kind == TM_LINGER) {
		struct client *c = container_of(t, struct client, timer);
		if (kind == TM_HEADER && c->state == C_HEAD && c->in_len) {
			/* A slow client: 408, and the connection closes. */
			c->keep_alive = false;
			client_respond(l, c, ROUTER_OK, 408, false);
			client_drive(l, c);
		} else {
			client_close(l, c);
		}
		return;
	}
	struct upstream *u = container_of(t, struct upstream, timer);
	struct client *c = u->client;
	if (kind == TM_POOL || !c) {
		upstream_close(l, u);
		return;
	}
	if (kind == TM_CONNECT) {
		exchange_retry(l, c, ROUTER_H19, true);
	} else if (c->state == C_TUNNEL) {
		client_close(l, c); /* an idle WebSocket */
		return;
	} else if (kind == TM_RESPONSE) {
		exchange_fail(l, c, c->req_done ? ROUTER_H12 : ROUTER_H28);
	} else {
		exchange_fail(l, c, ROUTER_H15);
	}
	if (c->state != C_CLOSED)
		client_drive(l, c);
}

static void timers_expire(struct loop *l)
{
	for (int k = 1; k < TM_MAX_; k++) {
		struct timer *head = &l->timers[k];
		while (head->next != head && head->next->at <= l->now) {
			struct timer *t = head->next;
			timer_unlink(t);
			on_timer(l, t, (enum timer_kind)k);
		}
	}
}

static int timers_next_ms(struct loop *l)
{
	uint64_t next = UINT64_MAX;
	for (int k = 1; k < TM_MAX_; k++)
		if (l->timers[k].next != &l->timers[k] && l->timers[k].next->at < next)
			next = l->timers[k].next->at;
	if (next == UINT64_MAX)
		return 1000;
	return next <= l->now ? 0 : next - l->now > 1000 ? 1000 : (int)(next - l->now);
}

/* ---- the table ------------------------------------------------------------------------- */

static void loop_switch_table(struct loop *l)
{
	struct router_shared *s = l->shared;
	pthread_mutex_lock(&s->lock);
	struct route_table *t = route_table_ref(s->table);
	l->table_gen = atomic_load(&s->generation);
	pthread_mutex_unlock(&s->lock);

	for (struct backend *b = l->backends.next; b != &l->backends; b = b->next)
		b->seen = false;
	struct backend **map = xcalloc(t->n_dynos ? t->n_dynos : 1, sizeof(*map));
	for (size_t i = 0; i < t->n_dynos; i++) {
		const struct route_dyno *d = &t->dynos[i];
		struct backend *b;
		for (b = l->backends.next; b != &l->backends; b = b->next)
			if (!b->gone && streq(b->id, d->id))
				break;
		if (b == &l->backends) {
			b = xcalloc(1, sizeof(*b));
			memcpy(b->id, d->id, sizeof(b->id));
			b->addr = d->addr;
			b->idle.next = b->idle.prev = &b->idle;
			b->next = l->backends.next;
			b->prev = &l->backends;
			l->backends.next->prev = b;
			l->backends.next = b;
		}
		memcpy(b->name, d->name, sizeof(b->name));
		b->seen = true;
		map[i] = b;
	}
	for (struct backend *b = l->backends.next, *next; b != &l->backends; b = next) {
		next = b->next;
		if (b->seen || b->gone)
			continue;
		while (b->idle.next != &b->idle)
			upstream_close(l, b->idle.next);
		b->gone = true;
		backend_maybe_free(b);
	}
	free(l->map);
	l->map = map;
	route_table_unref(l->table);
	l->table = t;
	l->durations[TM_HEADER] = t->timeouts.header_ms;
	l->durations[TM_KEEPALIVE] = t->timeouts.keepalive_ms;
	l->durations[TM_CONNECT] = t->timeouts.connect_ms;
	l->durations[TM_RESPONSE] = t->timeouts.response_ms;
	l->durations[TM_IDLE] = t->timeouts.idle_ms;
}

/* ---- the loop -------------------------------------------------------------------------- */

/*
 * Waits for events, up to timeout ms. Sleeping in epoll_wait() costs a wake-up per event:
 * the kernel has to schedule the loop's thread again (on a virtual machine, often an
 * interrupt to another CPU that was halted), which is most of the latency a proxy adds to a
 * lone connection's request. So, when events have lately been coming soon after the loop
 * went idle (a response on its way from a dyno, a keep-alive client's next request), the
 * loop polls for a short window first and catches them without being woken.
 *
 * The window adapts as the kernel's haltpoll governor does: a sleep that ended with an event
 * within the longest window (cfg->poll_us) doubles it, since polling would have caught it; a
 * longer sleep halves it. A loop whose events are far apart soon sleeps at once again, so
 * polling costs CPU only where it saves latency; under load there is no idle time to poll in.
 *
 * Polling is for a CPU nobody else wants. A thread that polls looks busy to the scheduler,
 * which then makes it take turns with other busy threads: a request arriving while the
 * loop waits for its turn would wait milliseconds, where a sleeping loop is woken at once.
 * So the loop polls only when no thread of the system waits for a CPU (seen at most once a
 * millisecond), and a poll that finds the thread was kept off the CPU all the same ends
 * polling for a while.
 *
 * Polling is for lone connections. A loop serving many at once finds several events each
 * time it waits (their requests and responses cross), so a wake-up is shared by all of them,
 * and a thread that keeps the CPU in polls only makes the client and the dyno wait for it:
 * at 256 connections, polling cost a fifth of the requests per second and the tail latency
 * grew fourfold. So a loop polls only while its waits bring few events on average.
 */
static bool cpus_spare(struct loop *l)
{
	if (l->loadavg_fd < 0)
		return true;
	if (l->cpus_seen_at == l->now)
		return l->cpus_spare;
	l->cpus_seen_at = l->now;
	l->cpus_spare = false;
	/* "0.61 2.28 2.31 2/182 11998": the fourth field counts the runnable threads, this one too. */
	char buf[128];
	ssize_t n = pread(l->loadavg_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	const char *p = buf;
	for (int field = 0; field < 3 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	l->cpus_spare = p && strtoul(p, NULL, 10) <= l->n_cpus;
	return l->cpus_spare;
}

/* Keeps the moving average of the events a wait brought (weight 1/8), n > 0. */
static int events_seen(struct loop *l, int n)
{
	l->events_avg = l->events_avg - l->events_avg / 8 + (uint32_t)(n > EVENTS_MAX ? EVENTS_MAX : n) * 2;
	return n;
}

static int loop_wait(struct loop *l, struct epoll_event *events, int timeout)
{
	uint32_t max = l->cfg->poll_us;
	if (timeout == 0 || max == 0)
		return epoll_wait(l->epfd, events, EVENTS_MAX, timeout);
	uint64_t start = monotonic_us(), t = start;
	if (l->poll_us && l->events_avg <= POLL_EVENTS_MAX * 16 && cpus_spare(l)) {
		uint64_t until = start + l->poll_us;
		do {
			int n = epoll_wait(l->epfd, events, EVENTS_MAX, 0);
			if (n != 0)
				return n > 0 ? events_seen(l, n) : n;
			/*
			 * A thread woken onto this CPU (the client, the dyno) runs now: else it
			 * would wait for the scheduler's tick to take the CPU from a loop that
			 * only polls.
			 */
			sched_yield();
			uint64_t prev = t;
			t = monotonic_us();
			if (t - prev >= POLL_GAP_US) {
				l->poll_us = 0;
				l->poll_resume_us = t + POLL_BACKOFF_US;
				break;
			}
		} while (t < until);
	}
	int n = epoll_wait(l->epfd, events, EVENTS_MAX, timeout);
	t = monotonic_us();
	if (n > 0 && t - start <= max && t >= l->poll_resume_us)
		l->poll_us = l->poll_us >= max / 2 ? max : l->poll_us ? l->poll_us * 2 : POLL_START_US;
	else
		l->poll_us /= 2;
	return n > 0 ? events_seen(l, n) : n;
}

static void loop_collect(struct loop *l)
{
	while (l->dead_clients) {
		struct client *c = l->dead_clients;
		l->dead_clients = c->next;
		c->next = l->free_clients;
		l->free_clients = c;
	}
	while (l->dead_upstreams) {
		struct upstream *u = l->dead_upstreams;
		l->dead_upstreams = u->next;
		u->next = l->free_upstreams;
		l->free_upstreams = u;
	}
}

static void loop_stop_accepting(struct loop *l)
{
	l->stopping = true;
	l->stop_deadline = l->now + l->shared->drain_ms;
	if (l->ingress.fd >= 0) {
		close(l->ingress.fd);
		l->ingress.fd = -1;
	}
	if (l->internal.fd >= 0) {
		close(l->internal.fd);
		l->internal.fd = -1;
	}
	for (struct client *c = l->clients.next, *next; c != &l->clients; c = next) {
		next = c->next;
		if (c->state == C_IDLE)
			client_close(l, c);
	}
	for (struct backend *b = l->backends.next; b != &l->backends; b = b->next)
		while (b->idle.next != &b->idle)
			upstream_close(l, b->idle.next);
}

static void loop_free(struct loop *l)
{
	while (l->clients.next != &l->clients)
		client_close(l, l->clients.next);
	for (struct backend *b = l->backends.next; b != &l->backends; b = b->next)
		while (b->idle.next != &b->idle)
			upstream_close(l, b->idle.next);
	loop_collect(l);
	while (l->backends.next != &l->backends)
		backend_free(l->backends.next);
	for (struct client *c = l->free_clients, *next; c; c = next) {
		next = c->next;
		free(c);
	}
	for (struct upstream *u = l->free_upstreams, *next; u; u = next) {
		next = u->next;
		free(u);
	}
	for (int out = 0; out < 2; out++)
		for (struct buf *b = out ? l->free_out : l->free_in, *next; b; b = next) {
			next = b->next;
			free(b);
		}
	log_flush(l);
	free(l->map);
	route_table_unref(l->table);
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->ring_made)
		io_uring_queue_exit(&l->ring);
	if (l->loadavg_fd >= 0)
		close(l->loadavg_fd);
	free(l);
}

void *router_loop_main(void *arg)
{
	const struct router_loop_config *cfg = arg;
	struct loop *l = xcalloc(1, sizeof(*l));
	l->cfg = cfg;
	l->shared = cfg->shared;
	l->backends.next = l->backends.prev = &l->backends;
	l->clients.next = l->clients.prev = &l->clients;
	for (int k = 0; k < TM_MAX_; k++)
		l->timers[k].next = l->timers[k].prev = &l->timers[k];
	l->durations[TM_LINGER] = LINGER_MS;
	l->durations[TM_POOL] = POOL_IDLE_MS;
	if (getrandom(&l->rng, sizeof(l->rng), 0) != sizeof(l->rng) || !l->rng)
		l->rng = 0x9E3779B97F4A7C15ULL ^ (uint64_t)(uintptr_t)l;
	clock_update(l);
	loop_switch_table(l);

	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	int e = -EPERM;
	struct io_uring_params up = { .flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER };
	if (!cfg->no_io_uring)
		e = io_uring_queue_init_params(STAGE_MAX, &l->ring, &up);
	if (e == -EINVAL) { /* a kernel before 6.0 */
		up = (struct io_uring_params){ 0 };
		e = io_uring_queue_init_params(STAGE_MAX, &l->ring, &up);
	}
	l->ring_made = l->ring_ok = e == 0;
	if (e < 0 && cfg->index == 0 && !cfg->no_io_uring)
		log_info("router: io_uring unavailable (%s): each write is a system call of its own", strerror(-e));
	l->loadavg_fd = cfg->poll_us ? open("/proc/loadavg", O_RDONLY | O_CLOEXEC) : -1;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	l->n_cpus = cpus > 0 ? (unsigned)cpus : 1;
	l->ingress = (struct sock){ .fd = cfg->ingress_fd, .kind = SK_INGRESS };
	l->internal = (struct sock){ .fd = cfg->internal_fd, .kind = SK_INTERNAL };
	struct sock *listeners[] = { &l->ingress, &l->internal };
	for (size_t i = 0; i < ARRAY_SIZE(listeners); i++) {
		if (listeners[i]->fd < 0)
			continue;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = listeners[i] };
		if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, listeners[i]->fd, &ev) < 0)
			log_error("router: loop %u: epoll add listener: %m", cfg->index);
	}

	struct epoll_event events[EVENTS_MAX];
	for (;;) {
		if (!l->stopping && atomic_load_explicit(&l->shared->stopping, memory_order_relaxed))
			loop_stop_accepting(l);
		if (l->stopping && (l->n_clients == 0 || l->now >= l->stop_deadline))
			break;
		int timeout = l->pending ? 0 : timers_next_ms(l);
		if ((l->stopping || l->log_len) && timeout > LOG_FLUSH_MS)
			timeout = LOG_FLUSH_MS;
		int n = loop_wait(l, events, timeout);
		clock_update(l);
		/* Several events: their writes go together at the end of the pass (loop_send_staged()). */
		l->staging = l->ring_ok && n > 1;
		if (atomic_load_explicit(&l->shared->generation, memory_order_acquire) != l->table_gen)
			loop_switch_table(l);
		for (int i = 0; i < n; i++) {
			struct sock *s = events[i].data.ptr;
			uint32_t ev = events[i].events;
			uint8_t ready = (uint8_t)((ev & EPOLLIN ? RD : 0) | (ev & EPOLLOUT ? WR : 0) |
						  (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR) ? HUP | RD : 0) |
						  (ev & EPOLLERR ? WR : 0));
			switch (s->kind) {
			case SK_INGRESS:
			case SK_INTERNAL:
				if (!l->stopping)
					accept_batch(l, s);
				break;
			case SK_CLIENT: {
				struct client *c = (struct client *)s;
				if (c->state == C_CLOSED)
					break;
				c->s.ready |= ready;
				client_drive(l, c);
				break;
			}
			case SK_UPSTREAM: {
				struct upstream *u = (struct upstream *)s;
				if (u->state == U_CLOSED)
					break;
				u->s.ready |= ready;
				if (u->state == U_IDLE) {
					/* The dyno closed an idle connection, or said something out of turn. */
					if (ready & (RD | HUP))
						upstream_close(l, u);
					break;
				}
				if (u->client)
					client_drive(l, u->client);
				break;
			}
			}
		}
		/* Those that use up their turn again wait for the next iteration. */
		struct client *batch = l->pending;
		l->pending = NULL;
		for (struct client *c = batch, *next; c; c = next) {
			next = c->pending_next;
			c->pending = false;
			if (c->state != C_CLOSED)
				client_drive(l, c);
		}
		loop_send_staged(l);
		timers_expire(l);
		if (l->accept_paused_until && l->now >= l->accept_paused_until && !l->stopping) {
			l->accept_paused_until = 0;
			for (size_t i = 0; i < ARRAY_SIZE(listeners); i++) {
				struct epoll_event ev = { .events = EPOLLIN, .data.ptr = listeners[i] };
				if (listeners[i]->fd >= 0)
					epoll_ctl(l->epfd, EPOLL_CTL_ADD, listeners[i]->fd, &ev);
			}
		}
		loop_collect(l);
		/* Lines of several iterations go in one write, as long as none waits too long. */
		if (l->log_len && (l->log_len >= LOG_SIZE / 2 || l->now - l->log_flushed_at >= LOG_FLUSH_MS || l->stopping))
			log_flush(l);
	}
	log_debug("router: loop %u: %llu writes sent staged, in %llu system calls", cfg->index,
		  (unsigned long long)l->n_staged, (unsigned long long)l->n_batches);
	loop_free(l);
	return NULL;
}
