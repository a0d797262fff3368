/* SPDX-License-Identifier: MIT */
/*
 * The netrc file is read as a list of entries, each the byte span from its `machine` (or
 * `default`) keyword to the next one. Lookups read the tokens of one span; updates cut the
 * spans of one machine out of the text and append the new entry, so everything else in the
 * file stays as it was, comments and unknown keywords included.
 */
#include "cli/cli-netrc.h"

#include <ctype.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/fileio.h"
#include "base/strbuf.h"

struct netrc_entry {
	size_t start, end; /* byte span in the text */
	char *machine;     /* NULL for `default` */
	char *login;
	char *password;
};

struct netrc {
	struct netrc_entry *entries;
	size_t n;
};

static void netrc_release(struct netrc *n)
{
	for (size_t i = 0; i < n->n; i++) {
		free(n->entries[i].machine);
		free(n->entries[i].login);
		free(n->entries[i].password);
	}
	free(n->entries);
	*n = (struct netrc){ 0 };
}

char *cli_netrc_path(void)
{
	const char *home = getenv("HOME");
	if (isempty(home)) {
		struct passwd *pw = getpwuid(getuid());
		home = pw && pw->pw_dir ? pw->pw_dir : "/";
	}
	return xasprintf("%s/.netrc", home);
}

static bool at_line_start(const char *s, size_t p)
{
	while (p > 0 && (s[p - 1] == ' ' || s[p - 1] == '\t'))
		p--;
	return p == 0 || s[p - 1] == '\n';
}

/*
 * The next token at or after *pos: whitespace separates tokens, a double-quoted token may hold
 * spaces, and a '#' that starts a line starts a comment. Returns false at the end.
 */
static bool next_token(const char *s, size_t len, size_t *pos, size_t *ret_start, char **ret)
{
	size_t p = *pos;
	for (;;) {
		while (p < len && isspace((unsigned char)s[p]))
			p++;
		if (p >= len)
			return false;
		if (s[p] != '#' || !at_line_start(s, p))
			break;
		while (p < len && s[p] != '\n')
			p++;
	}
	*ret_start = p;
	struct strbuf tok = STRBUF_INIT;
	if (s[p] == '"') {
		for (p++; p < len && s[p] != '"'; p++) {
			if (s[p] == '\\' && p + 1 < len)
				p++;
			strbuf_addch(&tok, s[p]);
		}
		if (p < len)
			p++;
	} else {
		size_t q = p;
		while (p < len && !isspace((unsigned char)s[p]))
			p++;
		strbuf_add(&tok, s + q, p - q);
	}
	*pos = p;
	*ret = strbuf_detach(&tok);
	return true;
}

/* Skips a macdef body: everything up to the next empty line. */
static void skip_macdef(const char *s, size_t len, size_t *pos)
{
	size_t p = *pos;
	while (p < len && s[p] != '\n')
		p++;
	const char *blank = p < len ? memmem(s + p, len - p, "\n\n", 2) : NULL;
	*pos = blank ? (size_t)(blank - s) + 2 : len;
}

static void netrc_parse(const char *s, size_t len, struct netrc *ret)
{
	*ret = (struct netrc){ 0 };
	struct netrc_entry *cur = NULL;
	size_t pos = 0, start;
	char *tok;
	while (next_token(s, len, &pos, &start, &tok)) {
		_cleanup_free_ char *keyword = tok;
		if (streq(keyword, "machine") || streq(keyword, "default")) {
			if (cur)
				cur->end = start;
			ret->entries = xrealloc(ret->entries, (ret->n + 1) * sizeof(*ret->entries));
			cur = &ret->entries[ret->n++];
			*cur = (struct netrc_entry){ .start = start, .end = len };
			if (streq(keyword, "machine") && next_token(s, len, &pos, &start, &tok))
				cur->machine = tok;
			continue;
		}
		if (streq(keyword, "macdef")) {
			char *name;
			if (next_token(s, len, &pos, &start, &name))
				free(name);
			skip_macdef(s, len, &pos);
			continue;
		}
		char **slot = NULL;
		if (cur && streq(keyword, "login"))
			slot = &cur->login;
		else if (cur && streq(keyword, "password"))
			slot = &cur->password;
		char *value;
		if (!next_token(s, len, &pos, &start, &value))
			break;
		if (slot) {
			free(*slot);
			*slot = value;
		} else {
			free(value);
		}
	}
}

/* Reads the file; a missing one reads as empty, with *ret_exists false. */
static int netrc_read(const char *path, char **ret, size_t *ret_len, bool *ret_exists, struct error *err)
{
	*ret_exists = true;
	int r = file_read(path, CLI_NETRC_MAX, ret, ret_len, err);
	if (r == -ENOENT) {
		error_clear(err);
		*ret_exists = false;
		*ret = xstrdup("");
		*ret_len = 0;
		return 0;
	}
	return r;
}

int cli_netrc_lookup(const char *path, const char *machine, char **ret_login, char **ret_password, struct error *err)
{
	*ret_login = *ret_password = NULL;
	_cleanup_free_ char *text = NULL;
	size_t len;
	bool exists;
	int r = netrc_read(path, &text, &len, &exists, err);
	if (r < 0)
		return r;
	struct netrc n;
	netrc_parse(text, len, &n);
	r = -ENOENT;
	for (size_t i = 0; i < n.n; i++) {
		struct netrc_entry *e = &n.entries[i];
		if (!e->machine || !streq(e->machine, machine))
			continue;
		*ret_login = TAKE_PTR(e->login);
		*ret_password = TAKE_PTR(e->password);
		r = 0;
		break;
	}
	netrc_release(&n);
	return r;
}

/* The text without the entries of machine; *ret_removed counts them. */
static char *netrc_without(const char *text, size_t len, const char *machine, int *ret_removed)
{
	struct netrc n;
	netrc_parse(text, len, &n);
	struct strbuf out = STRBUF_INIT;
	size_t copied = 0;
	*ret_removed = 0;
	for (size_t i = 0; i < n.n; i++) {
		struct netrc_entry *e = &n.entries[i];
		if (!e->machine || !streq(e->machine, machine))
			continue;
		strbuf_add(&out, text + copied, e->start - copied);
		copied = e->end;
		(*ret_removed)++;
	}
	strbuf_add(&out, text + copied, len - copied);
	netrc_release(&n);
	return strbuf_detach(&out);
}

/* Writes through a symbolic link rather than replacing it. */
static int netrc_write(const char *path, const char *text, struct error *err)
{
	_cleanup_free_ char *target = realpath(path, NULL);
	return file_write_atomic(target ? target : path, text, strlen(text), 0600, err);
}

/* The file's text without the entries of machine, and how many there were. */
static int netrc_read_without(const char *path, const char *machine, char **ret, int *ret_removed, struct error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	bool exists;
	int r = netrc_read(path, &text, &len, &exists, err);
	if (r < 0)
		return r;
	*ret = netrc_without(text, len, machine, ret_removed);
	return 0;
}

int cli_netrc_set(const char *path, const char *machine, const char *login, const char *password, struct error *err)
{
	_cleanup_free_ char *kept = NULL;
	int removed;
	int r = netrc_read_without(path, machine, &kept, &removed, err);
	if (r < 0)
		return r;
	struct strbuf out = STRBUF_INIT;
	strbuf_addstr(&out, kept);
	if (out.len && out.buf[out.len - 1] != '\n')
		strbuf_addch(&out, '\n');
	strbuf_addf(&out, "machine %s login %s password %s\n", machine, login, password);
	r = netrc_write(path, out.buf, err);
	explicit_bzero(out.buf, out.len);
	strbuf_release(&out);
	return r;
}

int cli_netrc_remove(const char *path, const char *machine, struct error *err)
{
	_cleanup_free_ char *kept = NULL;
	int removed;
	int r = netrc_read_without(path, machine, &kept, &removed, err);
	if (r < 0)
		return r;
	if (!removed)
		return 0;
	r = netrc_write(path, kept, err);
	return r < 0 ? r : 1;
}
