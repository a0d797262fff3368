/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The router's HTTP/1.1 parser: request heads, response heads and chunked bodies. It is the
 * security edge of a space (request smuggling lives in the gaps between two parsers' readings
 * of the same bytes), so it accepts one reading of RFC 9110/9112 and refuses everything else:
 *
 *   - lines end with CRLF; a bare CR or a bare LF, a NUL or another control character, an
 *     obsolete line folding, whitespace before a header's colon are refused;
 *   - a request carries exactly one Host; at most one Content-Length, of digits only; at most
 *     one Transfer-Encoding, and it is exactly `chunked`; never both; none in HTTP/1.0;
 *   - a Connection header may not name Host, Content-Length or Transfer-Encoding (a proxy
 *     that obeyed would lose the framing it read);
 *   - chunk sizes are 1 to 16 hex digits, extensions hold no control characters, the data of
 *     each chunk ends with CRLF, the trailer section is made of valid header lines.
 *
 * Nothing is copied and nothing is allocated: the results are pointer+length strings into the
 * caller's buffer, and header arrays are the caller's. Parsing a head is a single pass; the
 * caller finds out when a head is worth parsing with http_head_scan(), which looks at every
 * byte once however the head arrives (a client that sends one byte at a time costs linear
 * time, not quadratic).
 *
 * Every function here is pure and reentrant; tests/unit/test-router-http.c and the libFuzzer
 * target tests/fuzz/fuzz-router-http.c exercise them.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A string that is a part of a buffer: pointer and length, not NUL-terminated. */
struct rstr {
	const char *p;
	size_t len;
};

#define RSTR_LIT(s) ((struct rstr){ (s), sizeof(s) - 1 })

/* Limits of a request head: longer request lines are 414, larger header sections 431. */
#define HTTP_REQUEST_LINE_MAX 8192
#define HTTP_HEADER_SECTION_MAX 8192
#define HTTP_REQUEST_HEAD_MAX (HTTP_REQUEST_LINE_MAX + HTTP_HEADER_SECTION_MAX)
/* A response head may be larger (cookies); beyond this it is a bad response. */
#define HTTP_RESPONSE_HEAD_MAX 32768
#define HTTP_HEADERS_MAX 128
/* A header value the router keeps apart (X-Request-Id) is 20 to 200 characters. */
#define HTTP_REQUEST_ID_MIN 20
#define HTTP_REQUEST_ID_MAX 200

/* Headers the router acts on; every other one is HTTP_H_OTHER. */
enum http_header_id {
	HTTP_H_OTHER,
	HTTP_H_HOST,
	HTTP_H_CONTENT_LENGTH,
	HTTP_H_TRANSFER_ENCODING,
	HTTP_H_CONNECTION,
	HTTP_H_KEEP_ALIVE,
	HTTP_H_PROXY_CONNECTION,
	HTTP_H_UPGRADE,
	HTTP_H_EXPECT,
	HTTP_H_TE,
	HTTP_H_X_FORWARDED_FOR,
	HTTP_H_X_FORWARDED_PROTO,
	HTTP_H_X_FORWARDED_PORT,
	HTTP_H_X_REQUEST_START,
	HTTP_H_X_REQUEST_ID,
};

struct http_header {
	struct rstr name;
	struct rstr value;  /* without the whitespace around it */
	const char *line;   /* where the line starts (the name) */
	uint32_t line_len;  /* the whole line, CRLF included */
	uint8_t id;         /* enum http_header_id */
	bool hop;           /* hop-by-hop: not forwarded (Connection and the headers it names) */
};

enum http_body {
	HTTP_BODY_NONE,
	HTTP_BODY_LENGTH,  /* content_length bytes */
	HTTP_BODY_CHUNKED,
	HTTP_BODY_CLOSE,   /* responses only: until the connection closes */
};

struct http_request {
	struct rstr method;
	struct rstr target;     /* as sent */
	struct rstr path;       /* origin-form: the target, or the path of an absolute-form target */
	struct rstr host;       /* from Host, without the port, as sent (compare case-insensitively) */
	uint8_t minor;          /* HTTP/1.<minor>: 0 or 1 */
	bool is_head;           /* HEAD: the response has no body */
	bool keep_alive;        /* the client wants the connection kept */
	bool upgrade;           /* Connection: upgrade with an Upgrade header */
	bool expect_continue;   /* Expect: 100-continue */
	enum http_body body;
	uint64_t content_length;
	struct rstr upgrade_value;
	struct rstr request_id; /* a valid X-Request-Id the client sent, or empty */
	size_t head_len;        /* request line, headers and the empty line */
	struct http_header *headers;
	size_t n_headers;
};

struct http_response {
	int status;
	uint8_t minor;
	bool keep_alive;        /* the server keeps the connection */
	bool upgrade;           /* 101 Switching Protocols */
	enum http_body body;
	uint64_t content_length;
	size_t head_len;
	struct http_header *headers;
	size_t n_headers;
};

/*
 * Tells whether buf[0..len) holds a complete head or a malformed line ending, looking only at
 * the bytes after *scanned (which it advances; start at 0 for a new head). Returns 1 when it
 * is time to parse (the head is complete, or a line ending is malformed, or the first byte
 * cannot start a request), 0 when more bytes are needed.
 */
int http_head_scan(const char *buf, size_t len, size_t *scanned);

/*
 * Parses a request head at the start of buf[0..len), into req and the caller's headers array
 * (max entries). Returns the length of the head when it is complete and acceptable; 0 when
 * more bytes are needed and the limits still allow them; or a negative HTTP status when it
 * must be refused: -400 malformed or ambiguous, -405 CONNECT, -414 request line too long,
 * -417 an expectation other than 100-continue, -431 header section too large or too many
 * headers, -505 an HTTP version other than 1.0 and 1.1.
 */
int http_parse_request(const char *buf, size_t len, struct http_request *req, struct http_header *headers,
		       size_t max);

/*
 * Parses a response head from a dyno, to a request that was HEAD or not. Returns the length
 * of the head, 0 when more bytes are needed, -502 when the response is malformed, ambiguous
 * or larger than HTTP_RESPONSE_HEAD_MAX. A 101 is an upgrade; other 1xx are interim responses
 * (body NONE) after which the final one follows.
 */
int http_parse_response(const char *buf, size_t len, bool head_request, struct http_response *resp,
			struct http_header *headers, size_t max);

/* The incremental reader of a chunked body, passed through as it is read. */
struct http_chunked {
	uint8_t state;
	uint8_t digits;
	uint16_t line_len;    /* bytes of the current size or trailer line */
	uint16_t trailer_len; /* bytes of the trailer section so far */
	uint64_t remaining;   /* data bytes left in the current chunk */
};

/*
 * Reads n bytes of a chunked body. Returns how many of them belong to the body (all of them,
 * or fewer when the body ends inside the buffer), with *done set once the last chunk and
 * the trailer section are complete; or -1 when the body is malformed. Once done, nothing more
 * is read. Start with a zeroed struct.
 */
ssize_t http_chunked_scan(struct http_chunked *c, const char *p, size_t n, bool *done);

/* True when the strings are equal ignoring ASCII case. */
bool rstr_case_eq(struct rstr a, struct rstr b);
