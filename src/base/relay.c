/* SPDX-License-Identifier: MIT */
#include "base/relay.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "base/alloc.h"

/* One direction: from src to dst through buf. */
struct direction {
	struct relay_end *src, *dst;
	const char *pending; /* src's bytes read by someone else, sent before buf */
	size_t pending_len;
	char *buf;
	size_t off, len;
	bool src_ready;   /* src may have input: read without polling */
	bool dst_blocked; /* the last write would have blocked: wait for POLLOUT */
	bool src_eof;
	bool done; /* dst was half-closed after everything was written */
};

static ssize_t end_read(struct relay_end *e, void *buf, size_t len)
{
	if (e->read)
		return e->read(e->cls, buf, len);
	for (;;) {
		ssize_t n = recv(e->fd, buf, len, MSG_DONTWAIT);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
}

static ssize_t end_write(struct relay_end *e, const void *buf, size_t len)
{
	if (e->write)
		return e->write(e->cls, buf, len);
	for (;;) {
		ssize_t n = send(e->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
}

static void end_shutdown_write(struct relay_end *e)
{
	if (e->shutdown_write)
		e->shutdown_write(e->cls);
	else
		(void)shutdown(e->fd, SHUT_WR); /* ENOTCONN once the peer is gone: nothing left to tell */
}

/* Writes what is held for dst; returns > 0 when bytes moved, 0 when blocked or empty. */
static ssize_t flush_held(struct direction *d)
{
	ssize_t moved = 0;
	while (d->pending_len > 0 || d->off < d->len) {
		bool from_pending = d->pending_len > 0;
		const char *p = from_pending ? d->pending : d->buf + d->off;
		size_t n = from_pending ? d->pending_len : d->len - d->off;
		ssize_t w = end_write(d->dst, p, n);
		if (w == -EAGAIN || w == 0) {
			d->dst_blocked = true;
			return moved;
		}
		if (w < 0)
			return w;
		if (from_pending) {
			d->pending += w;
			d->pending_len -= (size_t)w;
		} else {
			d->off += (size_t)w;
		}
		moved += w;
	}
	d->off = d->len = 0;
	return moved;
}

/* Moves what can move now in one direction; returns > 0 when something moved, < 0 on error. */
static ssize_t step(struct direction *d)
{
	ssize_t moved = 0;
	for (;;) {
		ssize_t w = flush_held(d);
		if (w < 0)
			return w;
		moved += w;
		if (d->dst_blocked)
			return moved;
		if (d->src_eof) {
			if (!d->done) {
				end_shutdown_write(d->dst);
				d->done = true;
				moved++;
			}
			return moved;
		}
		if (!d->src_ready)
			return moved;
		ssize_t n = end_read(d->src, d->buf, RELAY_BUFFER_SIZE);
		if (n == -EAGAIN) {
			d->src_ready = false;
			return moved;
		}
		if (n < 0)
			return n;
		if (n == 0) {
			d->src_eof = true;
		} else {
			d->len = (size_t)n;
			d->src->bytes_read += (uint64_t)n;
		}
		moved++;
	}
}

int relay_run(struct relay_end *a, struct relay_end *b, int stop_fd, int idle_ms)
{
	_cleanup_free_ char *buf = xmalloc(2 * RELAY_BUFFER_SIZE);
	struct direction dirs[2] = {
		{ .src = a, .dst = b, .pending = a->pending, .pending_len = a->pending_len, .buf = buf, .src_ready = true },
		{ .src = b, .dst = a, .pending = b->pending, .pending_len = b->pending_len, .buf = buf + RELAY_BUFFER_SIZE,
		  .src_ready = true },
	};
	a->bytes_read = a->pending_len;
	b->bytes_read = b->pending_len;

	for (;;) {
		for (size_t i = 0; i < 2; i++) {
			ssize_t r = step(&dirs[i]);
			if (r < 0)
				return (int)r;
		}
		if (dirs[0].done && dirs[1].done)
			return 0;

		/* Stuck both ways: wait for one of the ends, or for stop_fd. */
		struct pollfd p[3] = { { .fd = a->fd }, { .fd = b->fd }, { .fd = stop_fd, .events = POLLIN } };
		for (size_t i = 0; i < 2; i++) {
			struct direction *d = &dirs[i];
			struct pollfd *src = &p[i], *dst = &p[1 - i];
			if (!d->src_eof && !d->src_ready && !d->dst_blocked)
				src->events |= POLLIN;
			if (d->dst_blocked)
				dst->events |= POLLOUT;
		}
		/* An end nobody waits for is left out: its hang-up alone must not wake the loop. */
		for (size_t i = 0; i < 2; i++)
			if (!p[i].events)
				p[i].fd = -1;
		int n = poll(p, stop_fd >= 0 ? 3 : 2, idle_ms > 0 ? idle_ms : -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		if (stop_fd >= 0 && p[2].revents)
			return -ECANCELED;
		for (size_t i = 0; i < 2; i++) {
			struct direction *d = &dirs[i];
			/* An error or hang-up shows on the next read or write, which reports it. */
			if (p[i].revents & (POLLIN | POLLHUP | POLLERR))
				d->src_ready = true;
			if (p[1 - i].revents & (POLLOUT | POLLHUP | POLLERR))
				d->dst_blocked = false;
		}
	}
}
