/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of base/relay: both directions at once, half-close passed on, bytes held by
 * someone else sent first, back-pressure with more data than the buffers hold, stop, idle
 * timeout and a peer that goes away. Each test relays between two socket pairs on a thread
 * and plays both applications from the test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/relay.h"

struct rig {
	int a_app, a_relay, b_relay, b_app;
	struct relay_end a, b;
	int stop_fd;
	int idle_ms;
	int result;
	pthread_t thread;
};

static void *relay_thread(void *arg)
{
	struct rig *g = arg;
	g->result = relay_run(&g->a, &g->b, g->stop_fd, g->idle_ms);
	return NULL;
}

static void rig_start(struct rig *g, const char *pending, int idle_ms)
{
	int pa[2], pb[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pa), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pb), 0);
	*g = (struct rig){ .a_app = pa[0], .a_relay = pa[1], .b_relay = pb[0], .b_app = pb[1], .idle_ms = idle_ms };
	g->a = (struct relay_end){ .fd = g->a_relay, .pending = pending, .pending_len = pending ? strlen(pending) : 0 };
	g->b = (struct relay_end){ .fd = g->b_relay };
	g->stop_fd = eventfd(0, EFD_CLOEXEC);
	assert_true(g->stop_fd >= 0);
	assert_int_equal(pthread_create(&g->thread, NULL, relay_thread, g), 0);
}

static int rig_finish(struct rig *g)
{
	assert_int_equal(pthread_join(g->thread, NULL), 0);
	close(g->a_relay);
	close(g->b_relay);
	close(g->a_app);
	if (g->b_app >= 0)
		close(g->b_app);
	close(g->stop_fd);
	return g->result;
}

/* Reads until EOF into buf (NUL-terminated); returns the length. */
static size_t read_all(int fd, char *buf, size_t max)
{
	size_t len = 0;
	for (;;) {
		assert_true(len < max);
		ssize_t n = read(fd, buf + len, max - 1 - len);
		assert_true(n >= 0);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return len;
}

static void test_both_ways_and_half_close(void **state)
{
	struct rig g;
	rig_start(&g, NULL, 0);
	char buf[64];
	assert_int_equal(write(g.a_app, "hello", 5), 5);
	shutdown(g.a_app, SHUT_WR);
	/* b sees the request and then its end: the relay passed the half-close on. */
	assert_int_equal(read_all(g.b_app, buf, sizeof(buf)), 5);
	assert_string_equal(buf, "hello");
	/* ... and can still answer. */
	assert_int_equal(write(g.b_app, "world!", 6), 6);
	shutdown(g.b_app, SHUT_WR);
	assert_int_equal(read_all(g.a_app, buf, sizeof(buf)), 6);
	assert_string_equal(buf, "world!");
	assert_int_equal(rig_finish(&g), 0);
	assert_int_equal(g.a.bytes_read, 5);
	assert_int_equal(g.b.bytes_read, 6);
}

static void test_pending_goes_first(void **state)
{
	struct rig g;
	rig_start(&g, "already-read:", 0);
	char buf[64];
	assert_int_equal(write(g.a_app, "then", 4), 4);
	shutdown(g.a_app, SHUT_WR);
	assert_int_equal(read_all(g.b_app, buf, sizeof(buf)), 17);
	assert_string_equal(buf, "already-read:then");
	shutdown(g.b_app, SHUT_WR);
	assert_int_equal(read_all(g.a_app, buf, sizeof(buf)), 0);
	assert_int_equal(rig_finish(&g), 0);
	assert_int_equal(g.a.bytes_read, 17);
	assert_int_equal(g.b.bytes_read, 0);
}

#define BIG (4u * 1024 * 1024)

struct writer {
	int fd;
	unsigned seed;
};

static void *write_big(void *arg)
{
	struct writer *w = arg;
	_cleanup_free_ unsigned char *data = xmalloc(BIG);
	for (size_t i = 0; i < BIG; i++)
		data[i] = (unsigned char)(i * w->seed + i / 7);
	for (size_t off = 0; off < BIG;) {
		ssize_t n = write(w->fd, data + off, BIG - off);
		if (n <= 0)
			return (void *)1;
		off += (size_t)n;
	}
	shutdown(w->fd, SHUT_WR);
	return NULL;
}

static void check_big(int fd, unsigned seed)
{
	_cleanup_free_ unsigned char *got = xmalloc(BIG + 1);
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, got + len, BIG + 1 - len);
		assert_true(n >= 0);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	assert_int_equal(len, BIG);
	for (size_t i = 0; i < BIG; i++)
		if (got[i] != (unsigned char)(i * seed + i / 7))
			fail_msg("byte %zu differs", i);
}

/* More than every buffer on the way holds, both ways at once: nothing lost, nothing stuck. */
static void test_back_pressure_both_ways(void **state)
{
	struct rig g;
	rig_start(&g, NULL, 0);
	struct writer wa = { .fd = g.a_app, .seed = 3 }, wb = { .fd = g.b_app, .seed = 11 };
	pthread_t ta, tb;
	assert_int_equal(pthread_create(&ta, NULL, write_big, &wa), 0);
	assert_int_equal(pthread_create(&tb, NULL, write_big, &wb), 0);
	check_big(g.b_app, 3);
	check_big(g.a_app, 11);
	void *ra, *rb;
	pthread_join(ta, &ra);
	pthread_join(tb, &rb);
	assert_null(ra);
	assert_null(rb);
	assert_int_equal(rig_finish(&g), 0);
	assert_int_equal(g.a.bytes_read, BIG);
	assert_int_equal(g.b.bytes_read, BIG);
}

static void test_stop(void **state)
{
	struct rig g;
	rig_start(&g, NULL, 0);
	assert_int_equal(write(g.a_app, "x", 1), 1);
	uint64_t one = 1;
	assert_int_equal(write(g.stop_fd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(rig_finish(&g), -ECANCELED);
}

static void test_idle_timeout(void **state)
{
	struct rig g;
	rig_start(&g, NULL, 50);
	assert_int_equal(rig_finish(&g), -ETIMEDOUT);
}

/* The far side goes away while data is still on its way to it: the relay fails, not hangs. */
static void test_peer_gone(void **state)
{
	struct rig g;
	rig_start(&g, NULL, 0);
	close(g.b_app);
	g.b_app = -1;
	char chunk[4096] = { 0 };
	assert_int_equal(write(g.a_app, chunk, sizeof(chunk)), sizeof(chunk));
	shutdown(g.a_app, SHUT_WR);
	int r = rig_finish(&g);
	assert_true(r == -EPIPE || r == -ECONNRESET);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_both_ways_and_half_close),
		cmocka_unit_test(test_pending_goes_first),
		cmocka_unit_test(test_back_pressure_both_ways),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_idle_timeout),
		cmocka_unit_test(test_peer_gone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
