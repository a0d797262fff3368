/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * ~/.netrc, where `cove login` keeps the token as curl, git and the heroku CLI do:
 *
 *   machine 127.0.0.1:5000 login dev@acme.test password 5f0c...
 *
 * The file may hold entries of other programs (and `default` and `macdef` blocks): an
 * update replaces only the entries of its own machine and keeps every other byte. It is
 * written atomically with mode 0600.
 */

#include "base/error.h"

/* Files larger than this are refused rather than read. */
#define CLI_NETRC_MAX (1024 * 1024)

/* The path of the netrc file: $HOME/.netrc. The caller frees it. */
char *cli_netrc_path(void);

/*
 * Finds the entry of machine: *ret_login and *ret_password (caller frees; NULL when the entry
 * has none). -ENOENT when the file or the entry does not exist.
 */
int cli_netrc_lookup(const char *path, const char *machine, char **ret_login, char **ret_password, struct error *err);

/* Writes the entry of machine, replacing any existing one. */
int cli_netrc_set(const char *path, const char *machine, const char *login, const char *password, struct error *err);

/* Removes the entries of machine. Returns 1 when one was removed, 0 when there was none. */
int cli_netrc_remove(const char *path, const char *machine, struct error *err);
