/* SPDX-License-Identifier: MIT */
/*
 * The rendezvous (agent-rendezvous.h). A session goes
 *
 *   handshake -> secret -> (waiting for its dyno) -> relay -> closed
 *
 * and is pumped after every event on either of its descriptors: the client's socket (TLS) and
 * the dyno's end (a socket, or a terminal's master once it arrived over that socket). Each
 * direction has one buffer; a side is read only while its buffer has room, and written while
 * the buffer holds something, so neither a slow client nor a chatty dyno grows memory.
 */
#include "agent/agent-rendezvous.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "agent/agent-dyno.h"
#include "base/alloc.h"
#include "base/log.h"
#include "base/timeutil.h"

#define BUF_SIZE (64 * 1024)
#define ACK "rendezvous\r\n"
#define EOT 0x04
/* After the command ended, how long a session waits for the client's end of input (0x04) before
 * closing: the heroku CLI writes 0x04 when its stdin ends (with or without a terminal in the
 * dyno), and a write after the server closed kills it (EPIPE), so a command quicker than the
 * client's stdin must not close the connection under it. An interactive session, whose stdin
 * does not end, closes this much after its command. */
#define RENDEZVOUS_LINGER_USEC (500 * 1000ull)

enum session_state { S_HANDSHAKE, S_SECRET, S_WAITING, S_RELAY };

struct buffer {
	char data[BUF_SIZE];
	size_t start, end;
};

struct rendezvous_session {
	struct watch net_watch, io_watch;
	enum session_state state;
	int fd;               /* the client's socket */
	int io;               /* the dyno's end, -1 before it runs */
	bool tty_pending;     /* io is the socket the terminal's master arrives on */
	bool tty;
	gnutls_session_t tls;
	uint64_t deadline;    /* handshake, secret, waiting, or lingering after the command */
	char secret[RENDEZVOUS_SECRET_MAX + 1];
	size_t secret_len;
	char peer[64];
	struct agent_dyno *dyno;
	char app_id[ID_STRING_MAX], app_name[64], dyno_name[48];
	struct buffer to_dyno, to_client;
	bool tls_send_pending; /* gnutls_record_send said again: same bytes next time */
	bool client_eof;       /* the client's input ended (0x04 without a terminal) */
	bool client_sent_eot;  /* with a terminal: the client sent a 0x04 (^D, or its stdin ended) */
	bool client_gone;      /* the client closed the connection */
	bool stdin_closed;
	bool dyno_eof;         /* the dyno's output ended */
	bool dead;             /* closed; freed by agent_rendezvous_collect() */
	uint32_t net_events, io_events; /* registered */
};

struct agent_rendezvous {
	struct watch watch;
	int fd;
	gnutls_certificate_credentials_t creds;
	gnutls_priority_t priority;
	char address[128];
	bool warned;
	uint64_t retry_at;    /* without a certificate yet: look again then */
	struct rendezvous_session **sessions;
	size_t n_sessions;
};

static size_t buf_len(const struct buffer *b)
{
	return b->end - b->start;
}

static size_t buf_room(const struct buffer *b)
{
	return sizeof(b->data) - b->end;
}

static void buf_consumed(struct buffer *b, size_t n)
{
	b->start += n;
	if (b->start == b->end)
		b->start = b->end = 0;
}

static void buf_compact(struct buffer *b)
{
	if (b->start && b->start != b->end) {
		memmove(b->data, b->data + b->start, b->end - b->start);
		b->end -= b->start;
		b->start = 0;
	}
}

/* ---- listening ------------------------------------------------------------------------- */

static int load_credentials(struct agent *a, struct agent_rendezvous *rv, struct error *err)
{
	_cleanup_free_ char *cert = a->cfg->tls_cert ? xstrdup(a->cfg->tls_cert) : xasprintf("%s/tls/server.pem", a->cfg->data_dir);
	_cleanup_free_ char *key = a->cfg->tls_key ? xstrdup(a->cfg->tls_key) : xasprintf("%s/tls/server-key.pem", a->cfg->data_dir);
	if (access(cert, R_OK) < 0 || access(key, R_OK) < 0)
		return error_set(err, -ENOENT, "no certificate at '%s' and '%s'", cert, key);
	int r = gnutls_certificate_allocate_credentials(&rv->creds);
	if (r < 0)
		return error_set(err, -ENOMEM, "TLS credentials: %s", gnutls_strerror(r));
	r = gnutls_certificate_set_x509_key_file(rv->creds, cert, key, GNUTLS_X509_FMT_PEM);
	if (r < 0)
		return error_set(err, -EINVAL, "certificate '%s' with key '%s': %s", cert, key, gnutls_strerror(r));
	r = gnutls_priority_init(&rv->priority, "NORMAL:-VERS-TLS1.0:-VERS-TLS1.1", NULL);
	if (r < 0)
		return error_set(err, -EINVAL, "TLS priorities: %s", gnutls_strerror(r));
	return 0;
}

static int listen_on(struct agent_rendezvous *rv, const char *listen_addr, struct error *err)
{
	_cleanup_free_ char *host = xstrdup(listen_addr);
	char *colon = strrchr(host, ':');
	if (!colon)
		return error_set(err, -EINVAL, "--rendezvous-listen '%s' is not HOST:PORT", listen_addr);
	*colon = '\0';
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535)
		return error_set(err, -EINVAL, "--rendezvous-listen '%s': bad port", listen_addr);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		return error_set(err, -EINVAL, "--rendezvous-listen '%s': not an IPv4 address", listen_addr);
	rv->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (rv->fd < 0)
		return error_set(err, -errno, "rendezvous socket: %m");
	int one = 1;
	setsockopt(rv->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(rv->fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(rv->fd, 64) < 0)
		return error_set(err, -errno, "rendezvous: listen on '%s': %m", listen_addr);
	socklen_t len = sizeof(sin);
	getsockname(rv->fd, (struct sockaddr *)&sin, &len);
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &sin.sin_addr, ip, sizeof(ip));
	if (sin.sin_addr.s_addr == htonl(INADDR_ANY)) {
		/* Every address: clients use the host's name, which the local CA's certificate names. */
		char name[64];
		if (gethostname(name, sizeof(name)) < 0)
			snprintf(name, sizeof(name), "localhost");
		name[sizeof(name) - 1] = '\0';
		snprintf(rv->address, sizeof(rv->address), "%s:%u", name, ntohs(sin.sin_port));
	} else {
		snprintf(rv->address, sizeof(rv->address), "%s:%u", ip, ntohs(sin.sin_port));
	}
	return 0;
}

/* Listens once the certificate is there; until then the agent looks again every few seconds. */
static int rendezvous_open(struct agent *a, struct error *err)
{
	struct agent_rendezvous *rv = a->rendezvous;
	struct error e = { 0 };
	if (load_credentials(a, rv, &e) < 0) {
		if (!rv->warned)
			log_warning("agent: no rendezvous for attached one-off dynos (`run`) yet: %s", e.message);
		rv->warned = true;
		if (rv->creds)
			gnutls_certificate_free_credentials(rv->creds);
		rv->creds = NULL;
		rv->retry_at = time_mono_usec() + 2 * 1000000ull;
		return 0;
	}
	int r = listen_on(rv, a->cfg->rendezvous_listen, err);
	if (r >= 0)
		r = agent_watch_add(a, rv->fd, &rv->watch, err);
	if (r < 0)
		return r;
	log_info("agent: rendezvous of one-off dynos at %s", rv->address);
	agent_want_report(a);
	return 0;
}

int agent_rendezvous_start(struct agent *a, struct error *err)
{
	if (!a->cfg->rendezvous_listen)
		return 0;
	struct agent_rendezvous *rv = xcalloc(1, sizeof(*rv));
	rv->fd = -1;
	rv->watch = (struct watch){ .kind = WATCH_RENDEZVOUS, .obj = NULL };
	a->rendezvous = rv;
	int r = rendezvous_open(a, err);
	if (r < 0)
		agent_rendezvous_free(a);
	return r;
}

const char *agent_rendezvous_address(struct agent *a)
{
	return a->rendezvous && a->rendezvous->fd >= 0 ? a->rendezvous->address : NULL;
}

/* ---- sessions -------------------------------------------------------------------------- */

/*
 * Ends a session: its descriptors are closed at once, its memory goes in
 * agent_rendezvous_collect(), after the loop's batch of events (some may still point at it).
 */
static void session_close(struct agent *a, struct rendezvous_session *s)
{
	if (s->dead)
		return;
	s->dead = true;
	if (s->dyno) {
		struct agent_dyno *d = s->dyno;
		s->dyno = NULL;
		agent_dyno_detach(a, d);
	}
	if (s->state == S_RELAY)
		agent_event(a, s->app_id, s->app_name, s->dyno_name, "Rendezvous session from %s ended", s->peer);
	if (s->tls)
		gnutls_deinit(s->tls);
	agent_watch_del(a, s->fd);
	close(s->fd);
	s->tls = NULL;
	s->fd = -1;
	if (s->io >= 0) {
		agent_watch_del(a, s->io);
		close(s->io);
		s->io = -1;
	}
	explicit_bzero(s->secret, sizeof(s->secret));
}

void agent_rendezvous_collect(struct agent *a)
{
	struct agent_rendezvous *rv = a->rendezvous;
	if (!rv)
		return;
	for (size_t i = 0; i < rv->n_sessions;) {
		if (rv->sessions[i]->dead) {
			free(rv->sessions[i]);
			rv->sessions[i] = rv->sessions[--rv->n_sessions];
		} else {
			i++;
		}
	}
}

static void update_events(struct agent *a, struct rendezvous_session *s)
{
	uint32_t net = 0, io = 0;
	if (s->state == S_HANDSHAKE) {
		net = gnutls_record_get_direction(s->tls) ? EPOLLOUT : EPOLLIN;
	} else {
		if (!s->client_gone && buf_room(&s->to_dyno) > 0)
			net |= EPOLLIN;
		if (buf_len(&s->to_client) > 0 || s->tls_send_pending)
			net |= EPOLLOUT;
		if (s->io >= 0) {
			if (s->tty_pending || (!s->dyno_eof && buf_len(&s->to_client) == 0))
				io |= EPOLLIN;
			if (buf_len(&s->to_dyno) > 0 && !s->tty_pending && !s->stdin_closed)
				io |= EPOLLOUT;
		}
	}
	if (net != s->net_events) {
		struct epoll_event ev = { .events = net, .data.ptr = &s->net_watch };
		epoll_ctl(a->epoll_fd, EPOLL_CTL_MOD, s->fd, &ev);
		s->net_events = net;
	}
	if (s->io >= 0 && io != s->io_events) {
		struct epoll_event ev = { .events = io, .data.ptr = &s->io_watch };
		epoll_ctl(a->epoll_fd, EPOLL_CTL_MOD, s->io, &ev);
		s->io_events = io;
	}
}

/* Sends what is buffered for the client; false when the session failed. */
static bool send_client(struct rendezvous_session *s)
{
	while (buf_len(&s->to_client) > 0) {
		ssize_t n = gnutls_record_send(s->tls, s->to_client.data + s->to_client.start, buf_len(&s->to_client));
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
			s->tls_send_pending = true;
			return true;
		}
		s->tls_send_pending = false;
		if (n < 0)
			return false;
		buf_consumed(&s->to_client, (size_t)n);
	}
	return true;
}

/* Takes bytes from the client: the secret line, then the dyno's input. False on failure. */
static bool recv_client(struct agent *a, struct rendezvous_session *s)
{
	for (;;) {
		char chunk[16384];
		size_t room = s->state == S_SECRET ? sizeof(chunk) : buf_room(&s->to_dyno);
		if (s->client_gone || room == 0)
			return true;
		if (room > sizeof(chunk))
			room = sizeof(chunk);
		ssize_t n = gnutls_record_recv(s->tls, chunk, room);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			return true;
		if (n == 0 || n == GNUTLS_E_PREMATURE_TERMINATION) {
			s->client_gone = true;
			return s->state == S_RELAY; /* before the relay, a client gone ends it all */
		}
		if (n < 0)
			return false;
		size_t off = 0;
		if (s->state == S_SECRET) {
			while (off < (size_t)n && chunk[off] != '\n') {
				if (s->secret_len >= RENDEZVOUS_SECRET_MAX)
					return false;
				s->secret[s->secret_len++] = chunk[off++];
			}
			if (off == (size_t)n)
				continue; /* the line goes on */
			off++;
			if (s->secret_len && s->secret[s->secret_len - 1] == '\r')
				s->secret_len--;
			s->secret[s->secret_len] = '\0';
			s->state = S_WAITING;
			s->deadline = time_mono_usec() + RENDEZVOUS_UNKNOWN_USEC;
		}
		/* Input for the dyno; without a terminal, 0x04 is the end of it. */
		for (; off < (size_t)n; off++) {
			if (s->client_eof)
				break; /* nothing after the end of input */
			if (chunk[off] == EOT && !s->tty) {
				s->client_eof = true;
				break;
			}
			if (chunk[off] == EOT)
				s->client_sent_eot = true; /* a terminal's ^D: passed on, it may not be the end */
			if (buf_room(&s->to_dyno) == 0)
				buf_compact(&s->to_dyno);
			if (buf_room(&s->to_dyno) == 0)
				return false; /* more than the buffer in one record: cannot happen with 16 KiB records */
			s->to_dyno.data[s->to_dyno.end++] = chunk[off];
		}
		(void)a;
	}
}

/* The terminal's master, sent by the dyno's init over the socket (sandbox.h, SANDBOX_IO_TTY). */
static bool receive_tty(struct rendezvous_session *s)
{
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf) };
	ssize_t n = recvmsg(s->io, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	struct cmsghdr *c = n == 1 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int))) {
		s->dyno_eof = true; /* the dyno ended before its terminal came */
		return true;
	}
	int master;
	memcpy(&master, CMSG_DATA(c), sizeof(int));
	return master >= 0 && (s->tty_pending = false, close(s->io), s->io = master, true);
}

static void relay_io(struct agent *a, struct rendezvous_session *s)
{
	if (s->io < 0)
		return;
	if (s->tty_pending) {
		int old = s->io;
		agent_watch_del(a, old);
		if (!receive_tty(s)) {
			s->dyno_eof = true;
			return;
		}
		if (s->io != old) {
			fcntl(s->io, F_SETFL, fcntl(s->io, F_GETFL) | O_NONBLOCK);
			/* The size the client's terminal has, when it said. */
			struct winsize ws = { 0 };
			if (s->dyno) {
				const char *cols = json_string_value(json_object_get(s->dyno->env, "COLUMNS"));
				const char *lines = json_string_value(json_object_get(s->dyno->env, "LINES"));
				ws.ws_col = cols ? (unsigned short)atoi(cols) : 0;
				ws.ws_row = lines ? (unsigned short)atoi(lines) : 0;
			}
			if (ws.ws_col && ws.ws_row)
				ioctl(s->io, TIOCSWINSZ, &ws);
		}
		s->io_events = 0;
		struct error err = { 0 };
		if (agent_watch_add(a, s->io, &s->io_watch, &err) < 0)
			log_warning("agent: rendezvous: %s", err.message);
		s->io_events = EPOLLIN;
		if (s->tty_pending)
			return;
	}
	/* Client -> dyno. */
	while (buf_len(&s->to_dyno) > 0 && !s->stdin_closed) {
		ssize_t n = write(s->io, s->to_dyno.data + s->to_dyno.start, buf_len(&s->to_dyno));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			s->stdin_closed = true; /* the dyno closed its input: drop the rest */
			s->to_dyno.start = s->to_dyno.end = 0;
			break;
		}
		buf_consumed(&s->to_dyno, (size_t)n);
	}
	if (s->client_eof && buf_len(&s->to_dyno) == 0 && !s->stdin_closed && !s->tty) {
		shutdown(s->io, SHUT_WR);
		s->stdin_closed = true;
	}
	/* Dyno -> client, one buffer at a time so that records never mix with the ack. */
	if (buf_len(&s->to_client) == 0 && !s->dyno_eof) {
		ssize_t n = read(s->io, s->to_client.data, sizeof(s->to_client.data));
		if (n > 0)
			s->to_client.end = (size_t)n;
		else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			s->dyno_eof = true; /* a terminal says EIO once nobody holds it */
	}
}

static void session_pump(struct agent *a, struct rendezvous_session *s)
{
	if (s->state == S_HANDSHAKE) {
		int r = gnutls_handshake(s->tls);
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED || (r < 0 && !gnutls_error_is_fatal(r))) {
			update_events(a, s);
			return;
		}
		if (r < 0) {
			log_debug("agent: rendezvous from %s: TLS handshake: %s", s->peer, gnutls_strerror(r));
			session_close(a, s);
			return;
		}
		s->state = S_SECRET;
	}
	if (!recv_client(a, s)) {
		session_close(a, s);
		return;
	}
	if (s->state == S_WAITING) {
		bool used = false;
		struct agent_dyno *d = agent_dyno_by_secret(a, s->secret, &used);
		if (used) {
			log_warning("agent: rendezvous from %s: a used secret, refused", s->peer);
			session_close(a, s);
			return;
		}
		if (!d) {
			update_events(a, s);
			return; /* the tick tries again until the deadline */
		}
		explicit_bzero(s->secret, sizeof(s->secret));
		s->state = S_RELAY;
		s->deadline = 0;
		s->dyno = d;
		s->tty = d->tty;
		snprintf(s->app_id, sizeof(s->app_id), "%s", d->app_id);
		snprintf(s->app_name, sizeof(s->app_name), "%s", d->app_name);
		snprintf(s->dyno_name, sizeof(s->dyno_name), "%s", d->name);
		memcpy(s->to_client.data, ACK, strlen(ACK));
		s->to_client.start = 0;
		s->to_client.end = strlen(ACK);
		agent_event(a, s->app_id, s->app_name, s->dyno_name, "Rendezvous session from %s attached", s->peer);
		agent_dyno_attach(a, d, s); /* may call agent_rendezvous_dyno_started() at once */
	}
	if (s->state != S_RELAY) {
		update_events(a, s);
		return;
	}
	for (int round = 0; round < 4; round++) {
		if (!send_client(s)) {
			session_close(a, s);
			return;
		}
		relay_io(a, s);
		if (!send_client(s) || !recv_client(a, s)) {
			session_close(a, s);
			return;
		}
		relay_io(a, s);
		if (buf_len(&s->to_client) > 0 || s->dyno_eof)
			break;
	}
	if (s->dyno_eof && buf_len(&s->to_client) == 0 && !s->tls_send_pending && !s->client_eof &&
	    !s->client_sent_eot && !s->client_gone) {
		/* All sent; the client still writes: close once its input ends, or at the tick
		 * after the deadline. */
		if (!s->deadline)
			s->deadline = time_mono_usec() + RENDEZVOUS_LINGER_USEC;
		update_events(a, s);
		return;
	}
	if (s->dyno_eof && buf_len(&s->to_client) == 0 && !s->tls_send_pending) {
		gnutls_bye(s->tls, GNUTLS_SHUT_WR); /* best effort: the close says the same */
		session_close(a, s);
		return;
	}
	if (s->client_gone) {
		/* The client left: nobody reads the dyno's output, the session ends with it. */
		session_close(a, s);
		return;
	}
	update_events(a, s);
}

static void accept_clients(struct agent *a)
{
	struct agent_rendezvous *rv = a->rendezvous;
	for (;;) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int fd = accept4(rv->fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (rv->n_sessions >= RENDEZVOUS_SESSIONS_MAX) {
			log_warning("agent: rendezvous: %d sessions already, refusing one", RENDEZVOUS_SESSIONS_MAX);
			close(fd);
			continue;
		}
		struct rendezvous_session *s = xcalloc(1, sizeof(*s));
		s->fd = fd;
		s->io = -1;
		s->net_watch = (struct watch){ .kind = WATCH_RENDEZVOUS, .obj = s };
		s->io_watch = (struct watch){ .kind = WATCH_RENDEZVOUS, .obj = s };
		s->deadline = time_mono_usec() + RENDEZVOUS_HANDSHAKE_USEC;
		char host[48] = "?", port[8] = "";
		getnameinfo((struct sockaddr *)&peer, len, host, sizeof(host), port, sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV);
		snprintf(s->peer, sizeof(s->peer), "%s:%s", host, port);
		if (gnutls_init(&s->tls, GNUTLS_SERVER | GNUTLS_NONBLOCK) < 0 ||
		    gnutls_priority_set(s->tls, rv->priority) < 0 ||
		    gnutls_credentials_set(s->tls, GNUTLS_CRD_CERTIFICATE, rv->creds) < 0) {
			close(fd);
			if (s->tls)
				gnutls_deinit(s->tls);
			free(s);
			continue;
		}
		gnutls_transport_set_int(s->tls, fd);
		gnutls_handshake_set_timeout(s->tls, 0);
		rv->sessions = xrealloc(rv->sessions, (rv->n_sessions + 1) * sizeof(*rv->sessions));
		rv->sessions[rv->n_sessions++] = s;
		struct error err = { 0 };
		if (agent_watch_add(a, fd, &s->net_watch, &err) < 0) {
			log_warning("agent: rendezvous: %s", err.message);
			session_close(a, s);
			continue;
		}
		s->net_events = EPOLLIN;
		session_pump(a, s);
	}
}

void agent_rendezvous_on_event(struct agent *a, struct watch *w, uint32_t events)
{
	(void)events;
	if (!a->rendezvous)
		return;
	if (!w->obj) {
		accept_clients(a);
		return;
	}
	struct rendezvous_session *s = w->obj;
	if (!s->dead)
		session_pump(a, s);
}

void agent_rendezvous_tick(struct agent *a, uint64_t now)
{
	struct agent_rendezvous *rv = a->rendezvous;
	if (!rv)
		return;
	if (rv->fd < 0 && now >= rv->retry_at) {
		struct error err = { 0 };
		if (rendezvous_open(a, &err) < 0) {
			log_error("agent: %s", err.message);
			rv->retry_at = now + 30 * 1000000ull;
		}
	}
	for (size_t i = 0; i < rv->n_sessions; i++) {
		struct rendezvous_session *s = rv->sessions[i];
		if (s->dead)
			continue;
		if (s->deadline && now >= s->deadline) {
			if (s->state == S_WAITING)
				log_warning("agent: rendezvous from %s: no one-off dyno has that secret, refused", s->peer);
			session_close(a, s);
			continue;
		}
		/* Waiting: the desired state may have brought its dyno. Relaying with the dyno
		 * gone: what it left is to be sent. */
		if (s->state == S_WAITING || (s->state == S_RELAY && !s->dyno))
			session_pump(a, s);
	}
}

void agent_rendezvous_dyno_started(struct agent *a, struct rendezvous_session *s, int io)
{
	s->io = io;
	s->tty_pending = s->tty;
	fcntl(io, F_SETFL, fcntl(io, F_GETFL) | O_NONBLOCK);
	struct error err = { 0 };
	s->io_events = EPOLLIN;
	if (agent_watch_add(a, io, &s->io_watch, &err) < 0)
		log_warning("agent: rendezvous: %s", err.message);
	agent_want_reconcile(a);
}

void agent_rendezvous_dyno_gone(struct agent *a, struct rendezvous_session *s)
{
	(void)a;
	s->dyno = NULL;
	if (s->io < 0)
		s->dyno_eof = true; /* it never ran */
	/* What it wrote is still in its socket: the session ends once that is sent. Pump on the
	 * next tick rather than here, inside the dyno's removal. */
	s->deadline = 0;
}

void agent_rendezvous_free(struct agent *a)
{
	struct agent_rendezvous *rv = a->rendezvous;
	if (!rv)
		return;
	for (size_t i = 0; i < rv->n_sessions; i++)
		session_close(a, rv->sessions[i]);
	agent_rendezvous_collect(a);
	free(rv->sessions);
	if (rv->fd >= 0) {
		agent_watch_del(a, rv->fd);
		close(rv->fd);
	}
	if (rv->creds)
		gnutls_certificate_free_credentials(rv->creds);
	if (rv->priority)
		gnutls_priority_deinit(rv->priority);
	free(rv);
	a->rendezvous = NULL;
}
