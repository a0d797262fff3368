/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The web dashboard's files (the directory web/), compiled into the binary by
 * tools/embed-web.py so that coved needs no file beside it at run time. api-dashboard.c serves
 * them: index.html at / and every file at /dashboard/<name>, without authentication (the page
 * logs in through the API).
 */

#include <stddef.h>

struct dashboard_file {
	const char *name;         /* "app.js": a plain file name, no directory */
	const char *content_type; /* from the extension */
	const unsigned char *data;
	size_t size;
	const char *etag; /* quoted, from the content: changes with every change of the file */
};

extern const struct dashboard_file dashboard_files[];
extern const size_t dashboard_files_count;

/* The file named name, or NULL. */
const struct dashboard_file *dashboard_file_find(const char *name);
