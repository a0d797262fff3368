/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target of the router's HTTP parser (src/router/router-http.c). Besides finding
 * crashes and out-of-bounds reads, it checks that the parser agrees with itself:
 *
 *   - a request or response head it accepts lies inside the input, every header inside the
 *     head, and every strict prefix of an accepted head is "incomplete" (never another
 *     verdict: a client that sends the same bytes in two packets gets the same answer);
 *   - http_head_scan() says "parse now" at the latest at the end of an accepted head;
 *   - a chunked body read in pieces gives the same verdict and length as read at once.
 *
 * The first input byte picks what the rest is fed to, the second how to split it.
 *
 *   make fuzz                    (a longer run of every fuzzer, see the Makefile)
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router/router-http.h"

static struct http_header headers[HTTP_HEADERS_MAX];

static void check_inside(const char *buf, size_t len, struct rstr s)
{
	if (s.p == NULL || s.len == 0)
		return;
	/* The absolute-form's "/" may be a literal. */
	if (s.len == 1 && s.p[0] == '/')
		return;
	assert(s.p >= buf && s.p + s.len <= buf + len);
}

static void fuzz_request(const char *buf, size_t len, size_t split)
{
	struct http_request req;
	int n = http_parse_request(buf, len, &req, headers, HTTP_HEADERS_MAX);
	if (n <= 0)
		return;
	assert((size_t)n <= len && (size_t)n == req.head_len);
	check_inside(buf, (size_t)n, req.method);
	check_inside(buf, (size_t)n, req.target);
	check_inside(buf, (size_t)n, req.path);
	check_inside(buf, (size_t)n, req.host);
	check_inside(buf, (size_t)n, req.request_id);
	for (size_t i = 0; i < req.n_headers; i++) {
		check_inside(buf, (size_t)n, headers[i].name);
		check_inside(buf, (size_t)n, headers[i].value);
		assert(headers[i].line >= buf && headers[i].line + headers[i].line_len <= buf + n);
	}
	assert(!(req.upgrade && req.body != HTTP_BODY_NONE));
	assert(req.body != HTTP_BODY_CLOSE);
	/* The same head alone, and its prefixes. */
	struct http_request again;
	assert(http_parse_request(buf, (size_t)n, &again, headers, HTTP_HEADERS_MAX) == n);
	size_t cut = split % (size_t)n;
	assert(http_parse_request(buf, cut, &again, headers, HTTP_HEADERS_MAX) == 0);
	assert(http_parse_request(buf, (size_t)n - 1, &again, headers, HTTP_HEADERS_MAX) == 0);
	/* The scanner would have asked for a parse by the end of the head. */
	size_t scanned = 0;
	int ready = 0;
	for (size_t at = 0; at < (size_t)n && !ready; at += split ? split : 1) {
		size_t upto = at + (split ? split : 1);
		ready = http_head_scan(buf, upto < (size_t)n ? upto : (size_t)n, &scanned);
	}
	if (!ready)
		ready = http_head_scan(buf, (size_t)n, &scanned);
	assert(ready == 1);
}

static void fuzz_response(const char *buf, size_t len, size_t split)
{
	struct http_response resp;
	int n = http_parse_response(buf, len, (split & 1) != 0, &resp, headers, HTTP_HEADERS_MAX);
	if (n <= 0)
		return;
	assert((size_t)n <= len && (size_t)n <= HTTP_RESPONSE_HEAD_MAX);
	for (size_t i = 0; i < resp.n_headers; i++) {
		check_inside(buf, (size_t)n, headers[i].name);
		check_inside(buf, (size_t)n, headers[i].value);
	}
	assert(resp.status >= 100 && resp.status <= 599);
	assert(!(resp.keep_alive && resp.body == HTTP_BODY_CLOSE));
	struct http_response again;
	assert(http_parse_response(buf, split % (size_t)n, (split & 1) != 0, &again, headers, HTTP_HEADERS_MAX) == 0);
}

static void fuzz_chunked(const char *buf, size_t len, size_t split)
{
	struct http_chunked whole = { 0 }, parts = { 0 };
	bool done_whole = false, done_parts = false;
	ssize_t r_whole = http_chunked_scan(&whole, buf, len, &done_whole);
	assert(r_whole < 0 || (size_t)r_whole <= len);
	assert(r_whole < 0 || done_whole || (size_t)r_whole == len);
	size_t step = split ? split : 1, total = 0;
	ssize_t r_parts = 0;
	for (size_t off = 0; off < len && !done_parts; off += step) {
		size_t n = len - off < step ? len - off : step;
		ssize_t r = http_chunked_scan(&parts, buf + off, n, &done_parts);
		if (r < 0) {
			r_parts = -1;
			break;
		}
		total += (size_t)r;
		r_parts = (ssize_t)total;
	}
	if (r_whole < 0) {
		assert(r_parts < 0);
	} else {
		assert(r_parts == r_whole && done_parts == done_whole);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint8_t mode = data[0] % 3;
	size_t split = data[1];
	/* A copy of exactly the input's size, so that ASan sees any read past its end. */
	size -= 2;
	char *buf = malloc(size ? size : 1);
	memcpy(buf, data + 2, size);
	if (mode == 0)
		fuzz_request(buf, size, split);
	else if (mode == 1)
		fuzz_response(buf, size, split);
	else
		fuzz_chunked(buf, size, split);
	free(buf);
	return 0;
}
