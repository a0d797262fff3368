/* SPDX-License-Identifier: MIT */
#include "cli/cli-output.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/strbuf.h"
#include "cli/cli.h"

void cli_header(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("=== ", stdout);
	vprintf(fmt, ap);
	fputs("\n\n", stdout);
	va_end(ap);
}

/* Display width of a UTF-8 string: its code points (cove prints no wide characters). */
static size_t text_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			w++;
	return w;
}

static void pad(size_t n)
{
	for (; n > 0; n--)
		putchar(' ');
}

void cli_block_add(struct cli_block *b, const char *key, const char *fmt, ...)
{
	b->keys = xrealloc(b->keys, (b->n + 1) * sizeof(*b->keys));
	b->values = xrealloc(b->values, (b->n + 1) * sizeof(*b->values));
	b->keys[b->n] = xstrdup(key);
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		b->values[b->n] = xvasprintf(fmt, ap);
		va_end(ap);
	} else {
		b->values[b->n] = xstrdup("");
	}
	b->n++;
}

void cli_block_release(struct cli_block *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->keys[i]);
		free(b->values[i]);
	}
	free(b->keys);
	free(b->values);
	*b = (struct cli_block)CLI_BLOCK_INIT;
}

void cli_block_print(struct cli_block *b)
{
	size_t width = 0;
	for (size_t i = 0; i < b->n; i++)
		if (text_width(b->keys[i]) > width)
			width = text_width(b->keys[i]);
	for (size_t i = 0; i < b->n; i++) {
		printf("%s:", b->keys[i]);
		if (*b->values[i]) {
			pad(width + 1 - text_width(b->keys[i]));
			fputs(b->values[i], stdout);
		}
		putchar('\n');
	}
	cli_block_release(b);
}

struct cli_table {
	size_t n_cols;
	bool has_header;
	char **cells; /* row-major; the header, when there is one, is row 0 */
	size_t n_rows;
};

struct cli_table *cli_table_new(size_t n, const char *const *headers)
{
	struct cli_table *t = xcalloc(1, sizeof(*t));
	t->n_cols = n;
	if (headers) {
		t->has_header = true;
		t->cells = xcalloc(n, sizeof(char *));
		for (size_t i = 0; i < n; i++)
			t->cells[i] = xstrdup(headers[i]);
		t->n_rows = 1;
	}
	return t;
}

/* Adds a row, and returns its n_cols cells for the caller to fill. */
static char **table_row(struct cli_table *t)
{
	t->cells = xrealloc(t->cells, (t->n_rows + 1) * t->n_cols * sizeof(char *));
	return &t->cells[t->n_rows++ * t->n_cols];
}

void cli_table_add(struct cli_table *t, ...)
{
	char **row = table_row(t);
	va_list ap;
	va_start(ap, t);
	for (size_t i = 0; i < t->n_cols; i++) {
		const char *s = va_arg(ap, const char *);
		row[i] = xstrdup(s ? s : "");
	}
	va_end(ap);
}

/* A cell of a column: the member as text, else what the column shows for none. */
static char *column_cell(json_t *obj, const struct cli_column *column)
{
	json_t *v = cli_json_get(obj, column->path);
	if (json_is_integer(v))
		return xasprintf("%lld", (long long)json_integer_value(v));
	const char *s = json_string_value(v);
	if (isempty(s))
		s = column->missing;
	return xstrdup(s ? s : "");
}

void cli_table_print_json(json_t *list, const struct cli_column *columns, size_t n)
{
	_cleanup_free_ const char **headers = xcalloc(n, sizeof(*headers));
	for (size_t i = 0; i < n; i++)
		headers[i] = columns[i].header;
	_cleanup_table_ struct cli_table *t = cli_table_new(n, headers);
	size_t k;
	json_t *obj;
	json_array_foreach(list, k, obj)
	{
		char **row = table_row(t);
		for (size_t i = 0; i < n; i++)
			row[i] = column_cell(obj, &columns[i]);
	}
	cli_table_print(t);
}

void cli_table_print(const struct cli_table *t)
{
	_cleanup_free_ size_t *width = xcalloc(t->n_cols, sizeof(size_t));
	for (size_t r = 0; r < t->n_rows; r++)
		for (size_t i = 0; i < t->n_cols; i++) {
			size_t w = text_width(t->cells[r * t->n_cols + i]);
			if (w > width[i])
				width[i] = w;
		}
	for (size_t r = 0; r < t->n_rows; r++) {
		for (size_t i = 0; i < t->n_cols; i++) {
			const char *cell = t->cells[r * t->n_cols + i];
			fputs(cell, stdout);
			if (i + 1 < t->n_cols)
				pad(width[i] - text_width(cell) + 2);
		}
		putchar('\n');
		if (r == 0 && t->has_header) {
			for (size_t i = 0; i < t->n_cols; i++) {
				for (size_t k = 0; k < width[i]; k++)
					fputs("─", stdout);
				if (i + 1 < t->n_cols)
					pad(2);
			}
			putchar('\n');
		}
	}
}

void cli_table_free(struct cli_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

void cli_print_json(json_t *value)
{
	char *text = json_dumps(value, JSON_INDENT(2) | JSON_ENCODE_ANY);
	if (text)
		puts(text);
	free(text);
}

char *cli_time_ago(const char *iso)
{
	if (!iso)
		return xstrdup("");
	struct tm tm = { 0 };
	const char *end = strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return xstrdup(iso);
	time_t t = timegm(&tm);
	struct tm local;
	localtime_r(&t, &local);
	char when[64];
	strftime(when, sizeof(when), "%Y/%m/%d %H:%M:%S %z", &local);
	long long ago = (long long)(time(NULL) - t);
	if (ago < 0)
		return xstrdup(when);
	if (ago < 60)
		return xasprintf("%s (~ %llds ago)", when, ago);
	if (ago < 3600)
		return xasprintf("%s (~ %lldm ago)", when, ago / 60);
	if (ago < 86400)
		return xasprintf("%s (~ %lldh ago)", when, ago / 3600);
	return xasprintf("%s (~ %lldd ago)", when, ago / 86400);
}

char *cli_shell_quote(const char *value)
{
	bool plain = *value != '\0';
	for (const char *p = value; *p && plain; p++)
		plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			strchr("-_./:@%+=,", *p);
	if (plain)
		return xstrdup(value);
	struct strbuf sb = STRBUF_INIT;
	strbuf_addch(&sb, '\'');
	for (const char *p = value; *p; p++) {
		if (*p == '\'')
			strbuf_addstr(&sb, "'\\''");
		else
			strbuf_addch(&sb, *p);
	}
	strbuf_addch(&sb, '\'');
	return strbuf_detach(&sb);
}

void cli_print_vars(json_t *vars, bool shell)
{
	const char *key;
	json_t *value;
	if (shell) {
		json_object_foreach(vars, key, value)
		{
			_cleanup_free_ char *q = cli_shell_quote(json_is_string(value) ? json_string_value(value) : "");
			printf("%s=%s\n", key, q);
		}
		return;
	}
	struct cli_block b = CLI_BLOCK_INIT;
	json_object_foreach(vars, key, value)
		cli_block_add(&b, key, "%s", json_is_string(value) ? json_string_value(value) : "");
	cli_block_print(&b);
}
