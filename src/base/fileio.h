/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "base/error.h"

/*
 * Reads the whole file at path into a new NUL-terminated string (*ret, caller frees).
 * Fails with -EFBIG when it is larger than max bytes.
 */
int file_read(const char *path, size_t max, char **ret, size_t *ret_len, struct error *err);

/*
 * Writes data to path atomically: a temporary file in the same directory, fsync, rename,
 * fsync of the directory. The file gets the given mode. Readers see the old content or the
 * new, never a part; after a crash, the new content is there once this returned 0.
 */
int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode, struct error *err);

/*
 * Creates a directory and its parents, like mkdir -p. An existing directory is fine; an
 * existing file of another kind fails with -ENOTDIR.
 */
int mkdir_p(const char *path, mode_t mode, struct error *err);

/*
 * Writes all of data to fd, going on after EINTR and short writes; gives up quietly when fd
 * fails (a reader gone), as output to a pipe or a terminal may.
 */
void fd_write_all(int fd, const void *data, size_t len);
