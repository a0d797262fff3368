/* SPDX-License-Identifier: MIT */
#include "base/fileio.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/strbuf.h"

int file_read(const char *path, size_t max, char **ret, size_t *ret_len, struct error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_set(err, -errno, "open '%s': %m", path);
	struct strbuf sb;
	strbuf_init(&sb, max);
	char chunk[8192];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int r = error_set(err, -errno, "read '%s': %m", path);
			strbuf_release(&sb);
			return r;
		}
		if (n == 0)
			break;
		if (strbuf_add(&sb, chunk, (size_t)n) < 0) {
			strbuf_release(&sb);
			return error_set(err, -EFBIG, "read '%s': larger than %zu bytes", path, max);
		}
	}
	if (ret_len)
		*ret_len = sb.len;
	*ret = strbuf_detach(&sb);
	return 0;
}

/* Makes a rename in path's directory durable: without this a power cut may undo it. */
static int fsync_parent(const char *path, struct error *err)
{
	const char *slash = strrchr(path, '/');
	_cleanup_free_ char *dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		return error_set(err, -errno, "sync directory '%s': %m", dir);
	return 0;
}

int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode, struct error *err)
{
	_cleanup_free_ char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return error_set(err, -errno, "create '%s': %m", tmp);
	if (fchmod(fd, mode) < 0)
		goto fail;
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0)
		goto fail;
	if (rename(tmp, path) < 0)
		goto fail;
	return fsync_parent(path, err);
fail:;
	int r = error_set(err, -errno, "write '%s': %m", path);
	unlink(tmp);
	return r;
}

int mkdir_p(const char *path, mode_t mode, struct error *err)
{
	if (isempty(path))
		return error_set(err, -EINVAL, "create directory: the path is empty");
	_cleanup_free_ char *p = xstrdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return error_set(err, -errno, "create directory '%s': %m", p);
		*s = '/';
	}
	if (mkdir(p, mode) < 0) {
		if (errno != EEXIST)
			return error_set(err, -errno, "create directory '%s': %m", p);
		/* Something is there already: good only if it is a directory. */
		struct stat st;
		if (stat(p, &st) < 0)
			return error_set(err, -errno, "create directory '%s': %m", p);
		if (!S_ISDIR(st.st_mode))
			return error_set(err, -ENOTDIR, "create directory '%s': it exists and is not a directory", p);
	}
	return 0;
}

void fd_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}
