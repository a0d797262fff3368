/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of router/router-http: what a request head must be to be forwarded, the shapes
 * of request smuggling it refuses, response heads and their framing, chunked bodies read in
 * pieces of every size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/router-http.h"

static struct http_header headers[HTTP_HEADERS_MAX];

static int parse(const char *text, struct http_request *req)
{
	return http_parse_request(text, strlen(text), req, headers, HTTP_HEADERS_MAX);
}

static bool rstr_is(struct rstr s, const char *want)
{
	return s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

#define assert_rstr(s, want)                                                                               \
	do {                                                                                               \
		if (!rstr_is((s), (want)))                                                                 \
			fail_msg("'%.*s' is not '%s'", (int)(s).len, (s).p, (want));                       \
	} while (0)

static void test_simple_get(void **state)
{
	struct http_request req;
	const char *text = "GET /a/b?c=d HTTP/1.1\r\nHost: Myapp.Space.localhost:8080\r\nUser-Agent: t\r\n\r\nNEXT";
	int n = parse(text, &req);
	assert_int_equal(n, strlen(text) - 4);
	assert_rstr(req.method, "GET");
	assert_rstr(req.path, "/a/b?c=d");
	assert_rstr(req.host, "Myapp.Space.localhost");
	assert_int_equal(req.minor, 1);
	assert_true(req.keep_alive);
	assert_false(req.upgrade);
	assert_int_equal(req.body, HTTP_BODY_NONE);
	assert_int_equal(req.n_headers, 2);
	assert_int_equal(headers[0].id, HTTP_H_HOST);
	assert_rstr(headers[1].value, "t");
	assert_int_equal(headers[1].line_len, strlen("User-Agent: t\r\n"));
}

static void test_incomplete_heads_wait(void **state)
{
	const char *text = "POST /upload HTTP/1.1\r\nHost: a.b\r\nContent-Length: 10\r\n\r\n";
	struct http_request req;
	for (size_t len = 0; len < strlen(text); len++)
		assert_int_equal(http_parse_request(text, len, &req, headers, HTTP_HEADERS_MAX), 0);
	assert_int_equal(parse(text, &req), strlen(text));
	assert_int_equal(req.body, HTTP_BODY_LENGTH);
	assert_int_equal(req.content_length, 10);
}

static void test_head_scan(void **state)
{
	const char *text = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
	size_t scanned = 0;
	/* One byte at a time: complete only at the very end. */
	for (size_t len = 1; len < strlen(text); len++)
		assert_int_equal(http_head_scan(text, len, &scanned), 0);
	assert_int_equal(http_head_scan(text, strlen(text), &scanned), 1);
	scanned = 0;
	assert_int_equal(http_head_scan("GET / HTTP/1.1\nHost", 19, &scanned), 1); /* bare LF */
	scanned = 0;
	assert_int_equal(http_head_scan("\x16\x03\x01", 3, &scanned), 1); /* a TLS hello */
}

static void test_versions_and_forms(void **state)
{
	struct http_request req;
	assert_int_equal(parse("GET / HTTP/1.0\r\nHost: a\r\n\r\n", &req) > 0, 1);
	assert_false(req.keep_alive);
	assert_int_equal(parse("GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n", &req) > 0, 1);
	assert_true(req.keep_alive);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", &req) > 0, 1);
	assert_false(req.keep_alive);
	assert_int_equal(parse("GET / HTTP/2.0\r\nHost: a\r\n\r\n", &req), -505);
	assert_int_equal(parse("GET / HTTP/1.2\r\nHost: a\r\n\r\n", &req), -505);
	assert_int_equal(parse("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", &req), -505);
	assert_int_equal(parse("GET / http/1.1\r\nHost: a\r\n\r\n", &req), -400);
	assert_int_equal(parse("GET /\r\nHost: a\r\n\r\n", &req), -400); /* HTTP/0.9 */
	assert_int_equal(parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", &req) > 0, 1);
	assert_int_equal(parse("GET * HTTP/1.1\r\nHost: a\r\n\r\n", &req), -400);
	assert_int_equal(parse("GET http://a.b:80/x?y HTTP/1.1\r\nHost: A.b:80\r\n\r\n", &req) > 0, 1);
	assert_rstr(req.path, "/x?y");
	assert_int_equal(parse("GET http://a.b HTTP/1.1\r\nHost: a.b\r\n\r\n", &req) > 0, 1);
	assert_rstr(req.path, "/");
	assert_int_equal(parse("GET http://evil/x HTTP/1.1\r\nHost: a.b\r\n\r\n", &req), -400);
	assert_int_equal(parse("GET http://u@a.b/x HTTP/1.1\r\nHost: u@a.b\r\n\r\n", &req), -400);
	assert_int_equal(parse("CONNECT a.b:443 HTTP/1.1\r\nHost: a.b:443\r\n\r\n", &req), -405);
	assert_int_equal(parse("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", &req) > 0, 1);
	assert_true(req.is_head);
}

static void test_request_line_limits(void **state)
{
	struct http_request req;
	size_t n = HTTP_REQUEST_LINE_MAX + 100;
	char *text = malloc(n + 64);
	memcpy(text, "GET /", 5);
	memset(text + 5, 'a', n);
	strcpy(text + 5 + n, " HTTP/1.1\r\nHost: a\r\n\r\n");
	assert_int_equal(parse(text, &req), -414);
	/* Still incomplete but already too long. */
	assert_int_equal(http_parse_request(text, 5 + n, &req, headers, HTTP_HEADERS_MAX), -414);
	free(text);
	assert_int_equal(parse("G\x01T / HTTP/1.1\r\nHost: a\r\n\r\n", &req), -400);
	assert_int_equal(parse("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", &req), -400);
	assert_int_equal(parse("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", &req), -400);
	assert_int_equal(parse("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", &req), -400);
	assert_int_equal(parse("GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", &req), -400);
	assert_int_equal(parse("GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", &req), -400);
}

static void test_header_section_limits(void **state)
{
	struct http_request req;
	char *text = malloc(HTTP_HEADER_SECTION_MAX * 2);
	strcpy(text, "GET / HTTP/1.1\r\nHost: a\r\nX-Big: ");
	size_t len = strlen(text);
	memset(text + len, 'b', HTTP_HEADER_SECTION_MAX);
	strcpy(text + len + HTTP_HEADER_SECTION_MAX, "\r\n\r\n");
	assert_int_equal(parse(text, &req), -431);
	assert_int_equal(http_parse_request(text, len + HTTP_HEADER_SECTION_MAX, &req, headers, HTTP_HEADERS_MAX), -431);
	/* Too many headers. */
	strcpy(text, "GET / HTTP/1.1\r\nHost: a\r\n");
	for (int i = 0; i < HTTP_HEADERS_MAX; i++)
		strcat(text, "X: y\r\n");
	strcat(text, "\r\n");
	assert_int_equal(parse(text, &req), -431);
	free(text);
}

/* The shapes of request smuggling: each is refused with 400. */
static void test_smuggling_shapes(void **state)
{
	static const char *const shapes[] = {
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\x0b\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nX-Folded: a\r\n\tb\r\n\r\n",
		"POST / HTTP/1.1\r\n Host: a\r\n\r\n",
		"POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n",
		"GET / HTTP/1.1\nHost: a\n\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX Y: b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"GET / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a:80:80\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: \r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nConnection: content-length\r\nContent-Length: 3\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nConnection: transfer-encoding\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nConnection: close, host\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nConnection: a b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\nContent-Length: 4\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: a\r\nUpgrade: b\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		struct http_request req;
		int r = parse(shapes[i], &req);
		if (r != -400)
			fail_msg("shape %zu was not refused with 400 (%d): %s", i, r, shapes[i]);
	}
}

static void test_nul_in_value(void **state)
{
	static const char text[] = "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n";
	struct http_request req;
	assert_int_equal(http_parse_request(text, sizeof(text) - 1, &req, headers, HTTP_HEADERS_MAX), -400);
	static const char name[] = "GET / HTTP/1.1\r\nHost: a\r\nX\0: b\r\n\r\n";
	assert_int_equal(http_parse_request(name, sizeof(name) - 1, &req, headers, HTTP_HEADERS_MAX), -400);
}

static void test_bodies_and_options(void **state)
{
	struct http_request req;
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n", &req) > 0, 1);
	assert_int_equal(req.body, HTTP_BODY_CHUNKED);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", &req) > 0, 1);
	assert_int_equal(req.body, HTTP_BODY_NONE);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:  12 \r\n\r\n", &req) > 0, 1);
	assert_int_equal(req.content_length, 12);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n", &req) > 0, 1);
	assert_true(req.expect_continue);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\nExpect: something\r\n\r\n", &req), -417);
	assert_int_equal(parse("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n", &req) > 0, 1);
	assert_true(req.upgrade);
	assert_rstr(req.upgrade_value, "websocket");
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n", &req) > 0, 1);
	assert_false(req.upgrade);
	assert_true(headers[1].hop);
	/* Connection names hop-by-hop headers; they are marked. */
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: x-secret, , close\r\nX-Secret: 1\r\nX-Other: 2\r\n\r\n", &req) > 0, 1);
	assert_false(req.keep_alive);
	assert_true(headers[1].hop);
	assert_true(headers[2].hop);
	assert_false(headers[3].hop);
	assert_false(headers[0].hop);
}

static void test_request_id(void **state)
{
	struct http_request req;
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: abcdefghij0123456789+/=-\r\n\r\n", &req) > 0, 1);
	assert_rstr(req.request_id, "abcdefghij0123456789+/=-");
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: short\r\n\r\n", &req) > 0, 1);
	assert_null(req.request_id.p);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: abcdefghij0123456789 with space\r\n\r\n", &req) > 0, 1);
	assert_null(req.request_id.p);
}

static void test_hosts(void **state)
{
	struct http_request req;
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", &req) > 0, 1);
	assert_rstr(req.host, "[::1]");
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: 10.0.0.5\r\n\r\n", &req) > 0, 1);
	assert_rstr(req.host, "10.0.0.5");
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: app.example.com.\r\n\r\n", &req) > 0, 1);
	assert_rstr(req.host, "app.example.com.");
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a:123456\r\n\r\n", &req), -400);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a:\r\n\r\n", &req), -400);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: []\r\n\r\n", &req), -400);
}

static int parse_response(const char *text, bool head, struct http_response *resp)
{
	return http_parse_response(text, strlen(text), head, resp, headers, HTTP_HEADERS_MAX);
}

static void test_responses(void **state)
{
	struct http_response resp;
	const char *text = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive, x-a\r\nX-A: 1\r\n\r\nhello";
	assert_int_equal(parse_response(text, false, &resp), strlen(text) - 5);
	assert_int_equal(resp.status, 200);
	assert_int_equal(resp.body, HTTP_BODY_LENGTH);
	assert_int_equal(resp.content_length, 5);
	assert_true(resp.keep_alive);
	assert_true(headers[1].hop);
	assert_true(headers[2].hop);
	assert_int_equal(parse_response("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true, &resp) > 0, 1);
	assert_int_equal(resp.body, HTTP_BODY_NONE);
	assert_int_equal(parse_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", false, &resp) > 0, 1);
	assert_int_equal(resp.body, HTTP_BODY_CHUNKED);
	assert_int_equal(parse_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", false, &resp) > 0, 1);
	assert_int_equal(resp.body, HTTP_BODY_CLOSE);
	assert_false(resp.keep_alive);
	assert_int_equal(parse_response("HTTP/1.1 200 OK\r\n\r\n", false, &resp) > 0, 1);
	assert_int_equal(resp.body, HTTP_BODY_CLOSE);
	assert_int_equal(parse_response("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false, &resp) > 0, 1);
	assert_false(resp.keep_alive);
	assert_int_equal(parse_response("HTTP/1.1 204\r\n\r\n", false, &resp) > 0, 1);
	assert_int_equal(resp.body, HTTP_BODY_NONE);
	assert_true(resp.keep_alive);
	assert_int_equal(parse_response("HTTP/1.1 100 Continue\r\n\r\n", false, &resp) > 0, 1);
	assert_int_equal(resp.status, 100);
	assert_int_equal(resp.body, HTTP_BODY_NONE);
	assert_int_equal(parse_response("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", false, &resp) > 0, 1);
	assert_true(resp.upgrade);
	assert_false(headers[0].hop);
	assert_false(headers[1].hop);
	assert_int_equal(parse_response("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", false, &resp), -502);
	assert_int_equal(parse_response("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", false, &resp), -502);
	assert_int_equal(parse_response("HTTP/1.1 600 OK\r\n\r\n", false, &resp), -502);
	assert_int_equal(parse_response("HTTP/1.1 200 OK\nContent-Length: 1\n\n", false, &resp), -502);
	assert_int_equal(parse_response("HTTP/1.1 200 OK\r\nX:\x01\r\n\r\n", false, &resp), -502);
	assert_int_equal(parse_response("SSH-2.0-OpenSSH\r\n", false, &resp), -502);
	assert_int_equal(parse_response("HTTP/1.1 200 OK\r\nContent-Le", false, &resp), 0);
	assert_int_equal(parse_response("HTTP/1", false, &resp), 0);
}

/* Scans a chunked body in pieces of `step` bytes; returns bytes consumed, -1 on error. */
static ssize_t scan_in_steps(const char *body, size_t len, size_t step, bool *done)
{
	struct http_chunked c = { 0 };
	size_t total = 0;
	*done = false;
	for (size_t off = 0; off < len && !*done; off += step) {
		size_t n = len - off < step ? len - off : step;
		ssize_t r = http_chunked_scan(&c, body + off, n, done);
		if (r < 0)
			return -1;
		total += (size_t)r;
		if ((size_t)r < n && !*done)
			fail_msg("scan stopped early without being done");
	}
	return (ssize_t)total;
}

static void test_chunked(void **state)
{
	const char *body = "5\r\nhello\r\n1A;ext=\"x y\"\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT";
	size_t len = strlen(body);
	for (size_t step = 1; step <= len; step++) {
		bool done;
		ssize_t r = scan_in_steps(body, len, step, &done);
		assert_true(done);
		assert_int_equal(r, len - 4);
	}
	static const char *const bad[] = {
		"0x5\r\nhello\r\n0\r\n\r\n", "-1\r\n", " 5\r\nhello\r\n", "5 \r\nhello\r\n0\r\n\r\n",
		"5\nhello\r\n0\r\n\r\n", "5\r\nhelloX\r\n0\r\n\r\n", "5\r\nhello\n0\r\n\r\n",
		"11111111111111111\r\n", "5;a\x01\r\nhello\r\n", "0\r\nBad Trailer: 1\r\n\r\n", "0\r\nX: \x7f\r\n\r\n",
		"0\r\n\n", "g\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bool done;
		if (scan_in_steps(bad[i], strlen(bad[i]), 1, &done) != -1)
			fail_msg("chunked body %zu was accepted: %s", i, bad[i]);
	}
	bool done;
	assert_true(scan_in_steps("5 ;x\r\nhello\r\n0\r\n\r\n", 18, 3, &done) == 18 && done);
	assert_true(scan_in_steps("0000000000000001\r\nx\r\n0\r\n\r\n", 26, 5, &done) == 26 && done);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_get),
		cmocka_unit_test(test_incomplete_heads_wait),
		cmocka_unit_test(test_head_scan),
		cmocka_unit_test(test_versions_and_forms),
		cmocka_unit_test(test_request_line_limits),
		cmocka_unit_test(test_header_section_limits),
		cmocka_unit_test(test_smuggling_shapes),
		cmocka_unit_test(test_nul_in_value),
		cmocka_unit_test(test_bodies_and_options),
		cmocka_unit_test(test_request_id),
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_responses),
		cmocka_unit_test(test_chunked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
