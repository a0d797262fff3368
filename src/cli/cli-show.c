/* SPDX-License-Identifier: MIT */
#include "cli/cli-show.h"

#include <stdio.h>

#include "base/alloc.h"
#include "cli/cli-api.h"

bool cli_show_json(const struct cli *c, json_t *value)
{
	if (!cli_has(c, OPT_JSON))
		return false;
	cli_print_json(value);
	return true;
}

int cli_get_show(struct cli *c, const char *path, json_t **ret, struct error *err)
{
	int r = cli_get(c, path, ret, err);
	if (r < 0)
		return r;
	return cli_show_json(c, *ret) ? 0 : 1;
}

/* The app and its path; arg fills a second %s of fmt (cli_path() reads only what fmt names). */
static int app_path(struct cli *c, const char *fmt, const char *arg, const char **ret_app, char **ret_path,
		    struct error *err)
{
	int r = cli_app(c, ret_app, err);
	if (r < 0)
		return r;
	*ret_path = cli_path(fmt, *ret_app, arg);
	return 0;
}

int cli_app_get_show(struct cli *c, const char *fmt, const char *arg, const char **ret_app, json_t **ret,
		     struct error *err)
{
	_cleanup_free_ char *path = NULL;
	int r = app_path(c, fmt, arg, ret_app, &path, err);
	if (r < 0)
		return r;
	return cli_get_show(c, path, ret, err);
}

int cli_space_get_show(struct cli *c, const char *fmt, const char **ret_space, json_t **ret, struct error *err)
{
	int r = cli_space_arg(c, ret_space, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = cli_path(fmt, *ret_space);
	return cli_get_show(c, path, ret, err);
}

int cli_app_send(struct cli *c, const char *method, const char *fmt, const char *arg, json_t *body,
		 const char **ret_app, json_t **ret, struct error *err)
{
	_cleanup_free_ char *path = NULL;
	int r = app_path(c, fmt, arg, ret_app, &path, err);
	if (r < 0)
		return r;
	return cli_send(c, method, path, body, ret, err);
}

int cli_show_list(struct cli *c, const char *path, const char *empty, const struct cli_column *columns, size_t n,
		  struct error *err)
{
	_cleanup_json_ json_t *list = NULL;
	int r = cli_get_show(c, path, &list, err);
	if (r <= 0)
		return r;
	if (empty && json_array_size(list) == 0)
		puts(empty);
	else
		cli_table_print_json(list, columns, n);
	return 0;
}
