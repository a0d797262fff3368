/* SPDX-License-Identifier: MIT */
/*
 * The resolver process (see dns.h): its sockets, its table, its one loop.
 *
 * The order at start matters, as in the router: the upstream socket is made in the namespace
 * the resolver was started in (the host's), then the resolver enters the space's namespace for
 * good and makes its listeners there. A query for a name outside the table and the zone is
 * sent on with an id of the resolver's choosing; the answer is taken only from the upstream it
 * was sent to, with that id and the same question, and goes back under the client's id. An
 * upstream that does not answer within FORWARD_TIMEOUT_USEC hands the query to the next one;
 * after the last, the client hears SERVFAIL.
 *
 * Every buffer has a bound: FORWARDS_MAX queries in flight upstream (more are answered
 * SERVFAIL at once), TCP_CONNS_MAX connections (more are closed at once), each with one
 * message in and TCP_OUT_MAX bytes of answers waiting out, and an idle timeout.
 */
#include "dns/dns.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/signals.h"
#include "base/timeutil.h"
#include "base/validate.h"
#include "dns/dns-table.h"
#include "dns/dns-wire.h"

#define USEC 1000000ull
#define TABLE_MAX (64 * 1024 * 1024)
#define FORWARDS_MAX 256
#define FORWARD_TIMEOUT_USEC (2 * USEC)
#define TCP_CONNS_MAX 64
#define TCP_IDLE_USEC (10 * USEC)
#define TCP_OUT_MAX (256 * 1024)
#define TICK_MS 250

enum { EV_UDP, EV_TCP_LISTEN, EV_UPSTREAM, EV_SIGNAL, EV_INOTIFY, EV_CONN_BASE };

struct tcp_conn {
	int fd;
	uint64_t gen;        /* tells a connection from an earlier one in the same slot */
	uint8_t *in;         /* the length prefix and one message */
	size_t in_len;
	uint8_t *out;
	size_t out_len, out_off;
	uint64_t last;       /* when it last did something */
};

struct forward {
	bool used;
	uint16_t id;         /* the id upstream */
	struct dns_query q;  /* the client's query (its id among it) */
	uint8_t *packet;     /* the query as sent upstream, for the next upstream */
	size_t len;
	size_t upstream;     /* the index it was sent to */
	uint64_t deadline;
	bool tcp;
	struct sockaddr_in client; /* UDP */
	size_t conn;         /* TCP: the slot and its generation */
	uint64_t conn_gen;
};

struct resolver {
	const struct dns_config *cfg;
	struct cidr4 clients;
	struct sockaddr_in upstreams[DNS_UPSTREAMS_MAX];
	size_t n_upstreams;
	int epoll_fd, udp_fd, tcp_fd, upstream_fd, signal_fd, inotify_fd;
	const char *table_base;
	struct dns_table *table;
	size_t rotation;
	struct tcp_conn conns[TCP_CONNS_MAX];
	uint64_t conn_gen;
	struct forward forwards[FORWARDS_MAX];
	uint8_t buf[DNS_MESSAGE_MAX + 2];
};

int dns_endpoint_parse(const char *what, const char *spec, uint16_t default_port, struct sockaddr_in *ret,
			  struct error *err)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strchr(spec, ':');
	size_t hlen = colon ? (size_t)(colon - spec) : strlen(spec);
	long port = default_port;
	if (colon) {
		char *end;
		port = strtol(colon + 1, &end, 10);
		if (colon[1] == '\0' || *end || port < 1 || port > 65535)
			port = -1;
	}
	if (hlen >= sizeof(host) || port < 0 || (!colon && !default_port))
		return error_set(err, -EINVAL, "%s '%s' is invalid: ADDRESS%s", what, spec, default_port ? "[:PORT]" : ":PORT");
	memcpy(host, spec, hlen);
	host[hlen] = '\0';
	*ret = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, host, &ret->sin_addr) != 1)
		return error_set(err, -EINVAL, "%s '%s' is invalid: not an IPv4 address", what, spec);
	return 0;
}

int dns_upstreams_check(const char *list, struct error *err)
{
	if (streq(list, "none"))
		return 0;
	_cleanup_free_ char *copy = xstrdup(list);
	size_t n = 0;
	for (char *save = NULL, *u = strtok_r(copy, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
		struct sockaddr_in sa;
		int r = dns_endpoint_parse("upstream", u, 53, &sa, err);
		if (r < 0)
			return r;
		n++;
	}
	if (n == 0 || n > DNS_UPSTREAMS_MAX)
		return error_set(err, -EINVAL, "upstreams '%s' are invalid: 1 to %d addresses, or 'none'", list,
				 DNS_UPSTREAMS_MAX);
	return 0;
}

int dns_resolv_conf_upstreams(const char *path, char *ret[static DNS_UPSTREAMS_MAX], struct error *err)
{
	_cleanup_free_ char *text = NULL;
	int r = file_read(path, 64 * 1024, &text, NULL, err);
	if (r < 0)
		return r;
	int n = 0;
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line && n < DNS_UPSTREAMS_MAX;
	     line = strtok_r(NULL, "\n", &save)) {
		char addr[64];
		struct in_addr in;
		if (sscanf(line, " nameserver %63s", addr) == 1 && inet_pton(AF_INET, addr, &in) == 1)
			ret[n++] = xstrdup(addr);
	}
	return n;
}

static bool client_allowed(const struct resolver *rs, const struct sockaddr_in *sa)
{
	uint32_t a = ntohl(sa->sin_addr.s_addr);
	uint32_t mask = rs->clients.prefix ? ~0u << (32 - rs->clients.prefix) : 0;
	return sa->sin_family == AF_INET && (a & mask) == (rs->clients.addr & mask);
}

static int socket_listen(int type, const struct sockaddr_in *addr, struct error *err)
{
	_cleanup_close_ int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return error_set(err, -errno, "socket: %m");
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &addr->sin_addr, ip, sizeof(ip));
	if (bind(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0 || (type == SOCK_STREAM && listen(fd, 128) < 0))
		return error_set(err, -errno, "listen on %s:%u/%s: %m", ip, ntohs(addr->sin_port),
				 type == SOCK_STREAM ? "tcp" : "udp");
	return TAKE_FD(fd);
}

static void table_reload(struct resolver *rs)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	struct error err = { 0 };
	struct dns_table *t = NULL;
	if (file_read(rs->cfg->table_path, TABLE_MAX, &text, &len, &err) < 0 ||
	    dns_table_parse(text, len, &t, &err) < 0) {
		if (err.code != -ENOENT || rs->table)
			log_error("dns '%s': table '%s': %s; keeping the one in use", rs->cfg->space, rs->cfg->table_path,
				  err.message);
		if (!rs->table)
			rs->table = dns_table_empty();
		return;
	}
	dns_table_free(rs->table);
	rs->table = t;
	log_debug("dns '%s': table loaded: %zu names", rs->cfg->space, t->n_records);
}

/* ---- answers --------------------------------------------------------------------------- */

static int answer_local(struct resolver *rs, const struct dns_query *q, size_t limit, uint8_t *out, size_t size)
{
	const struct dns_table *t = rs->table;
	const struct dns_record *rec = q->name_plain ? dns_table_find(t, q->name) : NULL;
	struct dns_soa soa = { .zone = DNS_ZONE, .serial = t->serial, .ttl = t->ttl };
	struct dns_answer a = { .rcode = DNS_RCODE_NOERROR, .authoritative = true, .ttl = t->ttl, .soa = &soa };
	if (q->qclass != DNS_CLASS_IN && q->qclass != 255 /* ANY */) {
		a = (struct dns_answer){ .rcode = DNS_RCODE_REFUSED };
	} else if (!rec) {
		a.rcode = DNS_RCODE_NXDOMAIN;
	} else if ((q->qtype == DNS_TYPE_A || q->qtype == DNS_TYPE_ANY) && rec->n_addresses) {
		a.addresses = rec->addresses;
		a.n_addresses = rec->n_addresses;
		a.first = rs->rotation++ % rec->n_addresses;
		a.soa = NULL;
	}
	return dns_response_encode(q, &a, limit, out, size);
}

/*
 * The response to the query in buf, into out: its length, 0 when there is none now (dropped,
 * or sent upstream, the answer to come later).
 */
static int answer(struct resolver *rs, const uint8_t *buf, size_t len, bool tcp, const struct sockaddr_in *client,
		  size_t conn, uint8_t *out, size_t size);

static struct forward *forward_find_free(struct resolver *rs)
{
	for (size_t i = 0; i < FORWARDS_MAX; i++)
		if (!rs->forwards[i].used)
			return &rs->forwards[i];
	return NULL;
}

static bool forward_id_used(const struct resolver *rs, uint16_t id)
{
	for (size_t i = 0; i < FORWARDS_MAX; i++)
		if (rs->forwards[i].used && rs->forwards[i].id == id)
			return true;
	return false;
}

static bool forward_send(struct resolver *rs, struct forward *f)
{
	for (; f->upstream < rs->n_upstreams; f->upstream++) {
		const struct sockaddr_in *up = &rs->upstreams[f->upstream];
		if (sendto(rs->upstream_fd, f->packet, f->len, 0, (const struct sockaddr *)up, sizeof(*up)) == (ssize_t)f->len) {
			f->deadline = time_mono_usec() + FORWARD_TIMEOUT_USEC;
			return true;
		}
	}
	return false;
}

static int forward_start(struct resolver *rs, const struct dns_query *q, const uint8_t *buf, size_t len, bool tcp,
			 const struct sockaddr_in *client, size_t conn, uint8_t *out)
{
	struct forward *f = forward_find_free(rs);
	if (!f)
		return dns_error_encode(q, DNS_RCODE_SERVFAIL, out);
	uint16_t id;
	do {
		if (getrandom(&id, sizeof(id), 0) != sizeof(id))
			return dns_error_encode(q, DNS_RCODE_SERVFAIL, out);
	} while (forward_id_used(rs, id));
	*f = (struct forward){ .used = true, .id = id, .q = *q, .len = len, .tcp = tcp, .conn = conn };
	if (tcp)
		f->conn_gen = rs->conns[conn].gen;
	else
		f->client = *client;
	f->packet = xmalloc(len);
	memcpy(f->packet, buf, len);
	f->packet[0] = (uint8_t)(id >> 8);
	f->packet[1] = (uint8_t)id;
	if (!forward_send(rs, f)) {
		free(f->packet);
		f->used = false;
		return dns_error_encode(q, DNS_RCODE_SERVFAIL, out);
	}
	return 0;
}

static int answer(struct resolver *rs, const uint8_t *buf, size_t len, bool tcp, const struct sockaddr_in *client,
		  size_t conn, uint8_t *out, size_t size)
{
	struct dns_query q;
	size_t limit = tcp ? DNS_MESSAGE_MAX : DNS_UDP_PLAIN_MAX;
	switch (dns_query_parse(buf, len, &q)) {
	case DNS_PARSE_DROP:
		return 0;
	case DNS_PARSE_FORMERR:
		return dns_error_encode(&q, DNS_RCODE_FORMERR, out);
	case DNS_PARSE_NOTIMP:
		return dns_error_encode(&q, DNS_RCODE_NOTIMP, out);
	case DNS_PARSE_BADVERS:
		return dns_response_encode(&q, &(struct dns_answer){ .rcode = DNS_RCODE_BADVERS }, limit, out, size);
	case DNS_PARSE_OK:
		break;
	}
	if (!tcp)
		limit = dns_udp_limit(&q);
	bool ours = (q.name_plain && dns_table_find(rs->table, q.name)) || dns_name_in_zone(q.name, DNS_ZONE);
	if (ours)
		return answer_local(rs, &q, limit, out, size);
	if (!rs->n_upstreams || !q.rd)
		return dns_response_encode(&q, &(struct dns_answer){ .rcode = DNS_RCODE_REFUSED }, limit, out, size);
	return forward_start(rs, &q, buf, len, tcp, client, conn, out);
}

/* ---- TCP ------------------------------------------------------------------------------- */

static void conn_close(struct resolver *rs, size_t i)
{
	struct tcp_conn *c = &rs->conns[i];
	if (c->fd < 0)
		return;
	epoll_ctl(rs->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->in);
	free(c->out);
	*c = (struct tcp_conn){ .fd = -1 };
}

static void conn_flush(struct resolver *rs, size_t i)
{
	struct tcp_conn *c = &rs->conns[i];
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			conn_close(rs, i);
			return;
		}
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	struct epoll_event ev = { .events = EPOLLIN | (c->out_len ? EPOLLOUT : 0), .data.u64 = EV_CONN_BASE + i };
	epoll_ctl(rs->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void conn_queue(struct resolver *rs, size_t i, const uint8_t *msg, size_t len)
{
	struct tcp_conn *c = &rs->conns[i];
	if (c->out_len + 2 + len > TCP_OUT_MAX) {
		conn_close(rs, i); /* a client that asks and never reads */
		return;
	}
	c->out = xrealloc(c->out, c->out_len + 2 + len);
	c->out[c->out_len] = (uint8_t)(len >> 8);
	c->out[c->out_len + 1] = (uint8_t)len;
	memcpy(c->out + c->out_len + 2, msg, len);
	c->out_len += 2 + len;
	conn_flush(rs, i);
}

static void conn_accept(struct resolver *rs)
{
	for (;;) {
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		int fd = accept4(rs->tcp_fd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		size_t i = 0;
		while (i < TCP_CONNS_MAX && rs->conns[i].fd >= 0)
			i++;
		if (i == TCP_CONNS_MAX || !client_allowed(rs, &sa)) {
			close(fd);
			continue;
		}
		struct tcp_conn *c = &rs->conns[i];
		*c = (struct tcp_conn){ .fd = fd, .gen = ++rs->conn_gen, .in = xmalloc(DNS_MESSAGE_MAX + 2),
					.last = time_mono_usec() };
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV_CONN_BASE + i };
		if (epoll_ctl(rs->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
			conn_close(rs, i);
	}
}

static void conn_read(struct resolver *rs, size_t i)
{
	struct tcp_conn *c = &rs->conns[i];
	for (;;) {
		size_t want = c->in_len < 2 ? 2 : 2 + (size_t)(c->in[0] << 8 | c->in[1]);
		ssize_t n = recv(c->fd, c->in + c->in_len, want - c->in_len, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_close(rs, i);
			return;
		}
		if (n < 0)
			return;
		c->in_len += (size_t)n;
		c->last = time_mono_usec();
		if (c->in_len < 2 || c->in_len < 2 + (size_t)(c->in[0] << 8 | c->in[1]))
			continue;
		size_t len = c->in_len - 2;
		c->in_len = 0;
		if (len < DNS_HEADER_SIZE) {
			conn_close(rs, i);
			return;
		}
		int r = answer(rs, c->in + 2, len, true, NULL, i, rs->buf, sizeof(rs->buf));
		if (r > 0)
			conn_queue(rs, i, rs->buf, (size_t)r);
		if (rs->conns[i].fd < 0 || rs->conns[i].gen != c->gen)
			return;
	}
}

/* ---- UDP and upstream ------------------------------------------------------------------ */

static void udp_read(struct resolver *rs)
{
	uint8_t in[DNS_MESSAGE_MAX];
	for (;;) {
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		ssize_t n = recvfrom(rs->udp_fd, in, sizeof(in), 0, (struct sockaddr *)&sa, &sl);
		if (n < 0)
			return;
		if (!client_allowed(rs, &sa))
			continue;
		int r = answer(rs, in, (size_t)n, false, &sa, 0, rs->buf, sizeof(rs->buf));
		if (r > 0)
			sendto(rs->udp_fd, rs->buf, (size_t)r, 0, (const struct sockaddr *)&sa, sizeof(sa));
	}
}

static void forward_done(struct forward *f)
{
	free(f->packet);
	*f = (struct forward){ 0 };
}

/* Sends a forwarded query's response (or error) to its client. */
static void forward_reply(struct resolver *rs, struct forward *f, uint8_t *msg, size_t len)
{
	msg[0] = (uint8_t)(f->q.id >> 8);
	msg[1] = (uint8_t)f->q.id;
	if (f->tcp) {
		if (rs->conns[f->conn].fd >= 0 && rs->conns[f->conn].gen == f->conn_gen)
			conn_queue(rs, f->conn, msg, len);
		return;
	}
	if (len > dns_udp_limit(&f->q)) {
		/* An upstream that ignored the size the client gave: the client asks again over TCP. */
		int r = dns_response_encode(&f->q, &(struct dns_answer){ .rcode = DNS_RCODE_NOERROR }, DNS_UDP_PLAIN_MAX,
					    msg, len);
		if (r < 0)
			return;
		msg[2] |= 0x02;
		len = (size_t)r;
	}
	sendto(rs->udp_fd, msg, len, 0, (const struct sockaddr *)&f->client, sizeof(f->client));
}

static void upstream_read(struct resolver *rs)
{
	for (;;) {
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		ssize_t n = recvfrom(rs->upstream_fd, rs->buf, sizeof(rs->buf), 0, (struct sockaddr *)&sa, &sl);
		if (n < 0)
			return;
		if (n < DNS_HEADER_SIZE)
			continue;
		uint16_t id = (uint16_t)(rs->buf[0] << 8 | rs->buf[1]);
		for (size_t i = 0; i < FORWARDS_MAX; i++) {
			struct forward *f = &rs->forwards[i];
			const struct sockaddr_in *up = f->used ? &rs->upstreams[f->upstream] : NULL;
			if (!f->used || f->id != id || sa.sin_addr.s_addr != up->sin_addr.s_addr || sa.sin_port != up->sin_port ||
			    !dns_response_matches(rs->buf, (size_t)n, id, &f->q))
				continue;
			forward_reply(rs, f, rs->buf, (size_t)n);
			forward_done(f);
			break;
		}
	}
}

static void tick(struct resolver *rs)
{
	uint64_t now = time_mono_usec();
	for (size_t i = 0; i < FORWARDS_MAX; i++) {
		struct forward *f = &rs->forwards[i];
		if (!f->used || now < f->deadline)
			continue;
		f->upstream++;
		if (forward_send(rs, f))
			continue;
		uint8_t msg[DNS_HEADER_SIZE];
		forward_reply(rs, f, msg, (size_t)dns_error_encode(&f->q, DNS_RCODE_SERVFAIL, msg));
		forward_done(f);
	}
	for (size_t i = 0; i < TCP_CONNS_MAX; i++)
		if (rs->conns[i].fd >= 0 && now - rs->conns[i].last > TCP_IDLE_USEC)
			conn_close(rs, i);
}

/* ---- the process ----------------------------------------------------------------------- */

static int watch(struct resolver *rs, int fd, uint64_t tag, struct error *err)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };
	if (epoll_ctl(rs->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return error_set(err, -errno, "dns '%s': epoll: %m", rs->cfg->space);
	return 0;
}

static int loop(struct resolver *rs, struct error *err)
{
	for (;;) {
		struct epoll_event evs[32];
		int n = epoll_wait(rs->epoll_fd, evs, ARRAY_SIZE(evs), TICK_MS);
		if (n < 0 && errno != EINTR)
			return error_set(err, -errno, "dns '%s': epoll: %m", rs->cfg->space);
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			if (tag == EV_UDP) {
				udp_read(rs);
			} else if (tag == EV_TCP_LISTEN) {
				conn_accept(rs);
			} else if (tag == EV_UPSTREAM) {
				upstream_read(rs);
			} else if (tag == EV_INOTIFY) {
				char events[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
				ssize_t len = read(rs->inotify_fd, events, sizeof(events));
				bool changed = false;
				for (ssize_t off = 0; off < len;) {
					const struct inotify_event *ev = (const struct inotify_event *)(events + off);
					changed |= ev->len && streq(ev->name, rs->table_base);
					off += (ssize_t)(sizeof(*ev) + ev->len);
				}
				if (changed)
					table_reload(rs);
			} else if (tag == EV_SIGNAL) {
				struct signalfd_siginfo si;
				if (read(rs->signal_fd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGHUP) {
					table_reload(rs);
				} else {
					log_info("dns '%s': stopping on signal %u", rs->cfg->space, si.ssi_signo);
					return 0;
				}
			} else {
				size_t c = (size_t)(tag - EV_CONN_BASE);
				if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
					conn_read(rs, c);
				if (rs->conns[c].fd >= 0 && (evs[i].events & EPOLLOUT))
					conn_flush(rs, c);
			}
		}
		tick(rs);
	}
}

int dns_run(const struct dns_config *cfg, struct error *err)
{
	_cleanup_free_ struct resolver *rs = xcalloc(1, sizeof(*rs));
	rs->cfg = cfg;
	rs->epoll_fd = rs->udp_fd = rs->tcp_fd = rs->upstream_fd = rs->signal_fd = rs->inotify_fd = -1;
	for (size_t i = 0; i < TCP_CONNS_MAX; i++)
		rs->conns[i].fd = -1;
	_cleanup_free_ char *dir_copy = xstrdup(cfg->table_path), *base_copy = xstrdup(cfg->table_path);
	struct sockaddr_in listen_addr;
	int r = dns_endpoint_parse("--listen", cfg->listen, 0, &listen_addr, err);
	if (r < 0)
		return r;
	if ((r = cidr4_parse(cfg->clients, 0, 32, &rs->clients, err)) < 0)
		return r;
	for (size_t i = 0; i < cfg->n_upstreams && i < DNS_UPSTREAMS_MAX; i++) {
		if ((r = dns_endpoint_parse("--upstream", cfg->upstreams[i], 53, &rs->upstreams[i], err)) < 0)
			return r;
		rs->n_upstreams++;
	}

	rs->signal_fd = signals_stop_fd(0);
	rs->table_base = basename(base_copy);
	rs->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	rs->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	/* In the caller's namespace (the host's): the socket that reaches the upstreams. */
	rs->upstream_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (rs->epoll_fd < 0 || rs->signal_fd < 0 || rs->inotify_fd < 0 || rs->upstream_fd < 0 ||
	    inotify_add_watch(rs->inotify_fd, dirname(dir_copy), IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
		r = error_set(err, -errno, "dns '%s': set up: %m", cfg->space);
		goto out;
	}
	if (cfg->netns_path) {
		_cleanup_close_ int ns = open(cfg->netns_path, O_RDONLY | O_CLOEXEC);
		if (ns < 0 || setns(ns, CLONE_NEWNET) < 0) {
			r = error_set(err, -errno, "enter the network namespace '%s': %m", cfg->netns_path);
			goto out;
		}
	}
	rs->udp_fd = r = socket_listen(SOCK_DGRAM, &listen_addr, err);
	if (r >= 0)
		rs->tcp_fd = r = socket_listen(SOCK_STREAM, &listen_addr, err);
	if (r < 0)
		goto out;
	if ((r = watch(rs, rs->udp_fd, EV_UDP, err)) < 0 || (r = watch(rs, rs->tcp_fd, EV_TCP_LISTEN, err)) < 0 ||
	    (r = watch(rs, rs->upstream_fd, EV_UPSTREAM, err)) < 0 || (r = watch(rs, rs->signal_fd, EV_SIGNAL, err)) < 0 ||
	    (r = watch(rs, rs->inotify_fd, EV_INOTIFY, err)) < 0)
		goto out;
	table_reload(rs);
	log_info("dns '%s': serving on %s (udp, tcp) for %s, %zu upstream%s", cfg->space, cfg->listen, cfg->clients,
		 rs->n_upstreams, rs->n_upstreams == 1 ? "" : "s");
	r = loop(rs, err);
out:
	for (size_t i = 0; i < TCP_CONNS_MAX; i++)
		conn_close(rs, i);
	for (size_t i = 0; i < FORWARDS_MAX; i++)
		if (rs->forwards[i].used)
			forward_done(&rs->forwards[i]);
	int fds[] = { rs->epoll_fd, rs->udp_fd, rs->tcp_fd, rs->upstream_fd, rs->signal_fd, rs->inotify_fd };
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	dns_table_free(rs->table);
	return r < 0 ? r : 0;
}

static void usage(FILE *f)
{
	fputs("usage: coved dns --table FILE --listen ADDRESS:PORT --clients CIDR [OPTIONS]\n"
	      "\n"
	      "The resolver of one space; the agent starts one per space (docs/network.md).\n"
	      "\n"
	      "  --space NAME           the space's name, for messages\n"
	      "  --table FILE           the names and addresses (JSON), reloaded when replaced\n"
	      "  --netns PATH           the space's network namespace, where it listens\n"
	      "  --listen ADDR:PORT     where it listens, UDP and TCP, inside the namespace\n"
	      "  --clients CIDR         the addresses it answers (the space's network)\n"
	      "  --upstream ADDR[:PORT] a resolver for other names, reached from this namespace\n"
	      "                         (up to 3; default: the nameservers of /etc/resolv.conf)\n"
	      "  --no-upstream          refuse other names\n"
	      "  --debug                log table reloads\n",
	      f);
}

int dns_main(int argc, char **argv)
{
	enum { OPT_SPACE = 256, OPT_TABLE, OPT_NETNS, OPT_LISTEN, OPT_CLIENTS, OPT_UPSTREAM, OPT_NO_UPSTREAM, OPT_DEBUG };
	static const struct option longopts[] = {
		{ "space", required_argument, NULL, OPT_SPACE },
		{ "table", required_argument, NULL, OPT_TABLE },
		{ "netns", required_argument, NULL, OPT_NETNS },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "clients", required_argument, NULL, OPT_CLIENTS },
		{ "upstream", required_argument, NULL, OPT_UPSTREAM },
		{ "no-upstream", no_argument, NULL, OPT_NO_UPSTREAM },
		{ "debug", no_argument, NULL, OPT_DEBUG },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct dns_config cfg = { .space = "-" };
	bool no_upstream = false;
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_SPACE:
			cfg.space = optarg;
			break;
		case OPT_TABLE:
			cfg.table_path = optarg;
			break;
		case OPT_NETNS:
			cfg.netns_path = optarg;
			break;
		case OPT_LISTEN:
			cfg.listen = optarg;
			break;
		case OPT_CLIENTS:
			cfg.clients = optarg;
			break;
		case OPT_UPSTREAM:
			if (cfg.n_upstreams == DNS_UPSTREAMS_MAX) {
				fprintf(stderr, "coved dns: at most %d upstreams\n", DNS_UPSTREAMS_MAX);
				return 2;
			}
			cfg.upstreams[cfg.n_upstreams++] = optarg;
			break;
		case OPT_NO_UPSTREAM:
			no_upstream = true;
			break;
		case OPT_DEBUG:
			log_set_level(LOG_LEVEL_DEBUG);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc || !cfg.table_path || !cfg.listen || !cfg.clients || (no_upstream && cfg.n_upstreams)) {
		usage(stderr);
		return 2;
	}
	struct error err = { 0 };
	char *found[DNS_UPSTREAMS_MAX] = { 0 };
	if (!no_upstream && !cfg.n_upstreams) {
		int n = dns_resolv_conf_upstreams("/etc/resolv.conf", found, &err);
		if (n < 0)
			log_warning("dns '%s': %s; other names are refused", cfg.space, err.message);
		for (int i = 0; i < n; i++)
			cfg.upstreams[cfg.n_upstreams++] = found[i];
		error_clear(&err);
	}
	int r = dns_run(&cfg, &err);
	for (size_t i = 0; i < DNS_UPSTREAMS_MAX; i++)
		free(found[i]);
	if (r < 0) {
		fprintf(stderr, "coved dns: %s\n", err.message);
		return 1;
	}
	return 0;
}
