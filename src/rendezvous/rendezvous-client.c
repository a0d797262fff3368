/* SPDX-License-Identifier: MIT */
#include "rendezvous/rendezvous-client.h"

#include <gnutls/gnutls.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/fileio.h"
#include "base/macro.h"

#define ACK "rendezvous\r\n"
#define MARKER "\xef\xbf\xbf heroku-command-exit-status"
#define LINE_MAX_HELD (64 * 1024)

static int parse_url(const char *url, char **ret_host, char **ret_port, char **ret_secret, struct error *err)
{
	static const char scheme[] = "rendezvous://";
	if (strncmp(url, scheme, strlen(scheme)) != 0)
		return error_set(err, -EINVAL, "attach URL '%.64s' is not rendezvous://HOST:PORT/SECRET", url);
	const char *host = url + strlen(scheme);
	const char *slash = strchr(host, '/');
	const char *colon = slash ? memrchr(host, ':', (size_t)(slash - host)) : NULL;
	if (!slash || !colon || colon == host || colon + 1 == slash || !slash[1])
		return error_set(err, -EINVAL, "attach URL '%.64s' is not rendezvous://HOST:PORT/SECRET", url);
	*ret_host = xstrndup(host, (size_t)(colon - host));
	*ret_port = xstrndup(colon + 1, (size_t)(slash - colon - 1));
	*ret_secret = xstrdup(slash + 1);
	return 0;
}

static int connect_to(const char *host, const char *port, struct error *err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	int r = getaddrinfo(host, port, &hints, &res);
	if (r != 0)
		return error_set(err, -EHOSTUNREACH, "rendezvous '%s:%s': %s", host, port, gai_strerror(r));
	int fd = -1;
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0)
		return error_set(err, -EHOSTUNREACH, "rendezvous '%s:%s': %m", host, port);
	return fd;
}

static void emit(const struct rendezvous_options *opts, const char *buf, size_t len)
{
	if (opts->output)
		opts->output(opts->cls, buf, len);
	else
		fd_write_all(opts->out_fd, buf, len);
}

/*
 * Output with -x: lines are held until complete, and the marker line goes, its status kept.
 * A part of a line without the marker's first byte is shown at once (a prompt).
 */
struct marker_filter {
	const struct rendezvous_options *opts;
	char *held;
	size_t len;
	int status;
	bool found;
};

static void filter_flush(struct marker_filter *f, bool all)
{
	size_t start = 0;
	for (;;) {
		char *nl = memchr(f->held + start, '\n', f->len - start);
		if (!nl)
			break;
		size_t end = (size_t)(nl - f->held) + 1;
		char *m = memmem(f->held + start, end - start, MARKER, strlen(MARKER));
		if (m) {
			emit(f->opts, f->held + start, (size_t)(m - (f->held + start)));
			/* The status, read within its line: the buffer holds no NUL. */
			const char *p = m + strlen(MARKER);
			if (p < nl && *p == ':')
				p++;
			while (p < nl && *p == ' ')
				p++;
			int status = 0;
			for (; p < nl && *p >= '0' && *p <= '9' && status < 1000; p++)
				status = status * 10 + (*p - '0');
			f->status = status;
			f->found = true;
		} else {
			emit(f->opts, f->held + start, end - start);
		}
		start = end;
	}
	memmove(f->held, f->held + start, f->len - start);
	f->len -= start;
	if (f->len && (all || !memchr(f->held, MARKER[0], f->len) || f->len >= LINE_MAX_HELD)) {
		emit(f->opts, f->held, f->len);
		f->len = 0;
	}
}

static void output(struct marker_filter *f, bool exit_code, const char *buf, size_t len)
{
	if (!exit_code) {
		emit(f->opts, buf, len);
		return;
	}
	f->held = xrealloc(f->held, f->len + len);
	memcpy(f->held + f->len, buf, len);
	f->len += len;
	filter_flush(f, false);
}

static int session(gnutls_session_t tls, int fd, const struct rendezvous_options *opts, int *ret_exit,
		   struct error *err)
{
	struct marker_filter filter = { .opts = opts };
	bool acked = false, stdin_open = true;
	size_t ack_seen = 0;
	char buf[16384];
	int r = 0;
	for (;;) {
		struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = opts->in_fd, .events = POLLIN } };
		/* Without input, its end is said at once. */
		if (acked && stdin_open && opts->in_fd < 0)
			p[1].revents = POLLHUP;
		int n = gnutls_record_check_pending(tls) || (acked && stdin_open && opts->in_fd < 0)
				? 1
				: poll(p, acked && stdin_open ? 2 : 1, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = error_set(err, -errno, "poll: %m");
			break;
		}
		if (gnutls_record_check_pending(tls) || (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t got = gnutls_record_recv(tls, buf, sizeof(buf));
			if (got == GNUTLS_E_AGAIN || got == GNUTLS_E_INTERRUPTED)
				continue;
			if (got == 0 || got == GNUTLS_E_PREMATURE_TERMINATION) {
				if (!acked)
					r = error_set(err, -EACCES, "the rendezvous refused the session: its secret is wrong, used or expired");
				break;
			}
			if (got < 0) {
				r = error_set(err, -EIO, "rendezvous: %s", gnutls_strerror((int)got));
				break;
			}
			size_t off = 0;
			/* The acknowledgement, which the dyno's output never shares a record with. */
			while (!acked && off < (size_t)got) {
				if (buf[off] != ACK[ack_seen]) {
					r = error_set(err, -EPROTO, "rendezvous: unexpected answer");
					goto out;
				}
				off++;
				acked = ++ack_seen == strlen(ACK);
			}
			if (off < (size_t)got)
				output(&filter, opts->exit_code, buf + off, (size_t)got - off);
		}
		if (acked && stdin_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t got = opts->in_fd < 0 ? 0 : read(opts->in_fd, buf, sizeof(buf));
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0) {
				/* The end of the input, as the Heroku CLI says it. */
				buf[0] = 0x04;
				got = 1;
				stdin_open = false;
			}
			for (ssize_t done = 0; done < got;) {
				ssize_t w = gnutls_record_send(tls, buf + done, (size_t)(got - done));
				if (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED)
					continue;
				if (w < 0) {
					/* The server is closing (the command ended): read what it still sends. */
					stdin_open = false;
					break;
				}
				done += w;
			}
		}
	}
out:
	if (opts->exit_code)
		filter_flush(&filter, true);
	*ret_exit = filter.found ? filter.status : 0;
	free(filter.held);
	return r;
}

int rendezvous_attach(const char *url, const struct rendezvous_options *opts, int *ret_exit, struct error *err)
{
	_cleanup_free_ char *host = NULL, *port = NULL, *secret = NULL, *line = NULL;
	int r = parse_url(url, &host, &port, &secret, err);
	if (r < 0)
		return r;
	/* A server that closed while we write: an error to handle, not a signal to die of. */
	signal(SIGPIPE, SIG_IGN);
	gnutls_certificate_credentials_t creds = NULL;
	gnutls_session_t tls = NULL;
	int fd = -1;
	struct termios saved;
	bool raw = false;
	if (gnutls_certificate_allocate_credentials(&creds) < 0) {
		r = error_set(err, -ENOMEM, "TLS credentials");
		goto out;
	}
	gnutls_certificate_set_x509_system_trust(creds);
	const char *ca = opts->ca_file;
	if (ca && *ca && gnutls_certificate_set_x509_trust_file(creds, ca, GNUTLS_X509_FMT_PEM) <= 0) {
		r = error_set(err, -EINVAL, "CA file '%s' holds no certificate", ca);
		goto out;
	}
	fd = connect_to(host, port, err);
	if (fd < 0) {
		r = fd;
		goto out;
	}
	if (gnutls_init(&tls, GNUTLS_CLIENT) < 0 || gnutls_set_default_priority(tls) < 0 ||
	    gnutls_credentials_set(tls, GNUTLS_CRD_CERTIFICATE, creds) < 0) {
		r = error_set(err, -ENOMEM, "TLS session");
		goto out;
	}
	gnutls_server_name_set(tls, GNUTLS_NAME_DNS, host, strlen(host));
	gnutls_session_set_verify_cert(tls, host, 0);
	gnutls_transport_set_int(tls, fd);
	gnutls_handshake_set_timeout(tls, 10000);
	int h;
	do
		h = gnutls_handshake(tls);
	while (h < 0 && !gnutls_error_is_fatal(h));
	if (h < 0) {
		r = error_set(err, -EPROTO, "rendezvous '%s:%s': TLS: %s%s", host, port, gnutls_strerror(h),
			      h == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR ? " (trust coved's DATA_DIR/tls/ca.pem)" : "");
		goto out;
	}
	line = xasprintf("%s\r\n", secret);
	if (gnutls_record_send(tls, line, strlen(line)) != (ssize_t)strlen(line)) {
		r = error_set(err, -EIO, "rendezvous: sending the secret failed");
		goto out;
	}
	explicit_bzero(line, strlen(line));
	if (opts->raw_tty && tcgetattr(opts->in_fd, &saved) == 0) {
		struct termios t = saved;
		cfmakeraw(&t);
		raw = tcsetattr(opts->in_fd, TCSANOW, &t) == 0;
	}
	r = session(tls, fd, opts, ret_exit, err);
	if (r >= 0)
		gnutls_bye(tls, GNUTLS_SHUT_WR);
out:
	if (raw)
		tcsetattr(opts->in_fd, TCSANOW, &saved);
	if (tls)
		gnutls_deinit(tls);
	if (fd >= 0)
		close(fd);
	if (creds)
		gnutls_certificate_free_credentials(creds);
	return r;
}
