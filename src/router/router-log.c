/* SPDX-License-Identifier: MIT */
#include "router/router-log.h"

#include <stdio.h>
#include <string.h>


static const struct {
	const char *code, *desc;
	int status;
} errors[ROUTER_ERROR_MAX_] = {
	[ROUTER_OK] = { NULL, NULL, 0 },
	[ROUTER_H10] = { "H10", "App crashed", 503 },
	[ROUTER_H12] = { "H12", "Request timeout", 503 },
	[ROUTER_H13] = { "H13", "Connection closed without response", 503 },
	[ROUTER_H14] = { "H14", "No web processes running", 503 },
	[ROUTER_H15] = { "H15", "Idle connection", 503 },
	[ROUTER_H17] = { "H17", "Poorly formatted HTTP response", 503 },
	[ROUTER_H18] = { "H18", "Server Request Interrupted", 503 },
	[ROUTER_H19] = { "H19", "Backend connection timeout", 503 },
	[ROUTER_H21] = { "H21", "Backend connection refused", 503 },
	[ROUTER_H26] = { "H26", "Request Error", 400 },
	[ROUTER_H27] = { "H27", "Client Request Interrupted", 499 },
	[ROUTER_H28] = { "H28", "Client Connection Idle", 408 },
	[ROUTER_H80] = { "H80", "Maintenance mode", 503 },
	[ROUTER_NO_APP] = { NULL, "No such app", 404 },
	[ROUTER_UNTRUSTED] = { NULL, "Untrusted source IP", 403 },
};

const char *router_error_code(enum router_error e)
{
	return e < ROUTER_ERROR_MAX_ ? errors[e].code : NULL;
}

const char *router_error_desc(enum router_error e)
{
	return e < ROUTER_ERROR_MAX_ ? errors[e].desc : NULL;
}

int router_error_status(enum router_error e)
{
	return e < ROUTER_ERROR_MAX_ && errors[e].status ? errors[e].status : 503;
}

/* ---- log lines ------------------------------------------------------------------------- */

static char *put(char *p, const char *s)
{
	size_t n = strlen(s);
	memcpy(p, s, n);
	return p + n;
}

static char *put_rstr(char *p, struct rstr s, size_t max)
{
	size_t n = s.len < max ? s.len : max;
	memcpy(p, s.p, n);
	return p + n;
}

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

/* A quoted value: '"' and '\' escaped, cut at max bytes of input. */
static char *put_quoted(char *p, struct rstr s, size_t max)
{
	*p++ = '"';
	size_t n = s.len < max ? s.len : max;
	for (size_t i = 0; i < n; i++) {
		char c = s.p[i];
		if (c == '"' || c == '\\')
			*p++ = '\\';
		*p++ = c;
	}
	*p++ = '"';
	return p;
}

size_t router_log_format(char *out, const char *timestamp, const struct router_log_entry *e)
{
	/* Budget: the path and the host are cut so that the line never passes the maximum. */
	char *p = out;
	p = put(p, timestamp);
	*p++ = ' ';
	p = put(p, e->app ? e->app : "-");
	p = put(p, " heroku[router]: at=");
	if (e->error != ROUTER_OK && errors[e->error].code && e->error != ROUTER_H80) {
		p = put(p, "error code=");
		p = put(p, errors[e->error].code);
		p = put(p, " desc=\"");
		p = put(p, errors[e->error].desc);
		*p++ = '"';
	} else if (e->error == ROUTER_H80) {
		p = put(p, "info code=H80 desc=\"Maintenance mode\"");
	} else if (e->error == ROUTER_UNTRUSTED) {
		p = put(p, "error desc=\"Untrusted source IP\"");
	} else {
		p = put(p, "info");
	}
	p = put(p, " method=");
	p = put_rstr(p, e->method.len ? e->method : RSTR_LIT("-"), 32);
	p = put(p, " path=");
	p = put_quoted(p, e->path.len ? e->path : RSTR_LIT("-"), 1024);
	p = put(p, " host=");
	p = put_rstr(p, e->host.len ? e->host : RSTR_LIT("-"), 253);
	p = put(p, " request_id=");
	const char *id = e->request_id ? e->request_id : "-";
	p = put_rstr(p, (struct rstr){ id, strnlen(id, 200) }, 200);
	p = put(p, " fwd=");
	p = put_quoted(p, (struct rstr){ e->fwd ? e->fwd : "", e->fwd ? strnlen(e->fwd, 256) : 0 }, 256);
	p = put(p, " dyno=");
	if (e->dyno)
		p = put_rstr(p, (struct rstr){ e->dyno, strnlen(e->dyno, 64) }, 64);
	p = put(p, " connect=");
	if (e->connect_ms >= 0) {
		p = put_u64(p, (uint64_t)e->connect_ms);
		p = put(p, "ms");
	}
	p = put(p, " service=");
	if (e->service_ms >= 0) {
		p = put_u64(p, (uint64_t)e->service_ms);
		p = put(p, "ms");
	}
	p = put(p, " status=");
	p = put_u64(p, (uint64_t)(e->status > 0 ? e->status : 0));
	p = put(p, " bytes=");
	p = put_u64(p, e->bytes);
	p = put(p, " protocol=");
	p = put(p, e->protocol ? e->protocol : "http");
	*p++ = '\n';
	return (size_t)(p - out);
}

/* ---- pages ----------------------------------------------------------------------------- */

static const char *reason(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 414: return "URI Too Long";
	case 417: return "Expectation Failed";
	case 431: return "Request Header Fields Too Large";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	}
	return "Error";
}

enum { PAGE_APP_ERROR, PAGE_MAINTENANCE, PAGE_NO_APP, PAGE_UNTRUSTED, PAGE_400, PAGE_405, PAGE_408, PAGE_414, PAGE_417, PAGE_431,
       PAGE_505, PAGE_MAX_ };

static struct rstr pages[PAGE_MAX_][2]; /* [page][keep_alive] */
/* The pages live here for the life of the process: nothing to free at exit. */
static char arena[PAGE_MAX_ * 2 * 2048];
static size_t arena_used;

static struct rstr build(int status, const char *title, const char *text, bool keep_alive)
{
	char body[1024];
	int n = snprintf(body, sizeof(body),
			 "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>%s</title>\n"
			 "<style>body{font-family:sans-serif;margin:4em auto;max-width:36em;color:#333}"
			 "h1{font-weight:normal}</style>\n</head>\n<body>\n<h1>%s</h1>\n<p>%s</p>\n</body>\n</html>\n",
			 title, title, text);
	char *s = arena + arena_used;
	int len = snprintf(s, sizeof(arena) - arena_used, "HTTP/1.1 %d %s\r\n"
			    "Content-Type: text/html; charset=utf-8\r\n"
			    "Cache-Control: no-cache, no-store\r\n"
			    "Content-Length: %d\r\n"
			    "%s"
			    "\r\n%s",
			    status, reason(status), n, keep_alive ? "" : "Connection: close\r\n", body);
	arena_used += (size_t)len + 1;
	return (struct rstr){ s, (size_t)len };
}

void router_pages_init(void)
{
	static const struct {
		int status;
		const char *title, *text;
	} def[PAGE_MAX_] = {
		[PAGE_APP_ERROR] = { 503, "Application Error",
				     "An error occurred in the application and your page could not be served. If you are "
				     "the application owner, check your logs for details." },
		[PAGE_MAINTENANCE] = { 503, "Offline for Maintenance",
				       "This app is undergoing maintenance right now. Please check back later." },
		[PAGE_NO_APP] = { 404, "No such app", "There is no app configured at that hostname." },
		[PAGE_UNTRUSTED] = { 403, "Forbidden",
				     "Your IP address is not in the trusted IP ranges of this space, so this app cannot "
				     "be reached from it." },
		[PAGE_400] = { 400, "Bad Request", "The request could not be understood." },
		[PAGE_405] = { 405, "Method Not Allowed", "The router does not support this method." },
		[PAGE_408] = { 408, "Request Timeout", "The request did not arrive in time." },
		[PAGE_414] = { 414, "URI Too Long", "The request line is too long." },
		[PAGE_417] = { 417, "Expectation Failed", "The expectation given in the Expect header is not supported." },
		[PAGE_431] = { 431, "Request Header Fields Too Large", "The request's header section is too large." },
		[PAGE_505] = { 505, "HTTP Version Not Supported", "Only HTTP/1.0 and HTTP/1.1 are supported." },
	};
	for (int i = 0; i < PAGE_MAX_; i++)
		for (int k = 0; k < 2; k++)
			if (!pages[i][k].p)
				pages[i][k] = build(def[i].status, def[i].title, def[i].text, k);
}

struct rstr router_page(enum router_error e, int status, bool keep_alive)
{
	int page;
	switch (e) {
	case ROUTER_H80:
		page = PAGE_MAINTENANCE;
		break;
	case ROUTER_NO_APP:
		page = PAGE_NO_APP;
		break;
	case ROUTER_UNTRUSTED:
		page = PAGE_UNTRUSTED;
		break;
	case ROUTER_OK:
	case ROUTER_H26:
	case ROUTER_H28:
		switch (status) {
		case 405: page = PAGE_405; break;
		case 408: page = PAGE_408; break;
		case 414: page = PAGE_414; break;
		case 417: page = PAGE_417; break;
		case 431: page = PAGE_431; break;
		case 505: page = PAGE_505; break;
		default: page = PAGE_400; break;
		}
		break;
	default:
		page = PAGE_APP_ERROR;
		break;
	}
	return pages[page][keep_alive ? 1 : 0];
}
