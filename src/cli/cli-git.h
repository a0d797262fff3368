/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The git side of the CLI: the remote that ties a work tree to its app. `cove create` adds a
 * remote named "cove" that points at the app's git URL, and every app command run inside that
 * work tree finds its app from that URL ("http://host:5000/myapp.git" -> "myapp").
 *
 * git runs as a child process (posix_spawnp, no shell) in the current directory, with stdin
 * from /dev/null; its output is read up to 64 KiB.
 */

#include <stdbool.h>

#include "base/error.h"

#define CLI_GIT_REMOTE_DEFAULT "cove"

/*
 * Runs `git ARGS...` (argv is NULL-terminated and starts after "git"). *ret_out, when not
 * NULL, receives its standard output (and, with merge_stderr, its standard error) without
 * the final newline. Returns git's exit status, or a negative errno when git could not run.
 */
int cli_git(const char *const *argv, bool merge_stderr, char **ret_out, struct error *err);

/* True when the current directory is inside a git work tree. */
bool cli_git_in_work_tree(void);

/* The URL of a remote; -ENOENT when there is no such remote (or no git, or no repository). */
int cli_git_remote_url(const char *remote, char **ret_url);

/* Adds a remote, or points an existing one at url when replace is set. */
int cli_git_remote_set(const char *remote, const char *url, bool replace, struct error *err);

/*
 * Makes git ask `cove git:credentials` for the token when it talks to the host of url
 * (credential.<scheme://host:port>.helper in the repository's config), so that a push needs
 * nothing but `cove login` or COVE_API_KEY. With ca_file (the CA the CLI trusts, see
 * cli-api.h) and an https URL, git is told to verify that host with it too
 * (http.<scheme://host:port>/.sslCAInfo).
 */
int cli_git_credential_helper_set(const char *url, const char *ca_file, struct error *err);

/* Removes a remote. */
int cli_git_remote_remove(const char *remote, struct error *err);

/*
 * The app name in a git URL: the last path segment without ".git". -EINVAL when the URL
 * does not end in "/<name>.git".
 */
int cli_git_app_from_url(const char *url, char **ret);
