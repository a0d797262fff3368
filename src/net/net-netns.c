/* SPDX-License-Identifier: MIT */
#include "net/net-netns.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "base/alloc.h"
#include "base/log.h"
#include "net/net-plan.h"

#define THREAD_NETNS "/proc/thread-self/ns/net"

static const char *const kind_prefix[] = {
	[NET_NETNS_SPACE] = "cove-s-",
	[NET_NETNS_DYNO] = "cove-d-",
};

static const char *const kind_what[] = {
	[NET_NETNS_SPACE] = "space",
	[NET_NETNS_DYNO] = "dyno",
};

int net_netns_name(enum net_netns_kind kind, const char *id, char ret[static NET_NETNS_NAME_MAX],
		   struct error *err)
{
	char norm[ID_STRING_MAX];
	int r = net_id_normalize(kind_what[kind], id, norm, err);
	if (r < 0)
		return r;
	snprintf(ret, NET_NETNS_NAME_MAX, "%s%s", kind_prefix[kind], norm);
	return 0;
}

int net_netns_path(enum net_netns_kind kind, const char *id, char ret[static NET_NETNS_PATH_MAX],
		   struct error *err)
{
	char name[NET_NETNS_NAME_MAX];
	int r = net_netns_name(kind, id, name, err);
	if (r < 0)
		return r;
	snprintf(ret, NET_NETNS_PATH_MAX, NET_NETNS_DIR "/%s", name);
	return 0;
}

static int path_of(const char *name, char ret[static NET_NETNS_PATH_MAX], struct error *err)
{
	if (isempty(name) || strlen(name) >= NET_NETNS_NAME_MAX || strchr(name, '/') || name[0] == '.')
		return error_set(err, -EINVAL, "namespace name '%.64s' is invalid", name ? name : "");
	snprintf(ret, NET_NETNS_PATH_MAX, NET_NETNS_DIR "/%s", name);
	return 0;
}

static bool is_netns(int fd)
{
	struct statfs s;
	return fstatfs(fd, &s) == 0 && s.f_type == NSFS_MAGIC;
}

int net_netns_open(const char *name, struct error *err)
{
	char path[NET_NETNS_PATH_MAX];
	int r = path_of(name, path, err);
	if (r < 0)
		return r;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT) {
		r = -errno;
		return error_set(err, r, "open namespace '%s': %s", name, strerror(-r));
	}
	if (fd < 0 || !is_netns(fd))
		return error_set(err, -ENOENT, "namespace '%s' does not exist", name);
	return TAKE_FD(fd);
}

/* Makes /run/netns a shared mount point, as iproute2 does, so bind mounts under it propagate. */
static int netns_dir_prepare(struct error *err)
{
	if (mkdir(NET_NETNS_DIR, 0755) < 0 && errno != EEXIST) {
		int r = -errno;
		return error_set(err, r, "create directory '" NET_NETNS_DIR "': %s", strerror(-r));
	}
	bool made_mount = false;
	while (mount("", NET_NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) < 0) {
		/* EINVAL: not a mount point yet; make it one by binding it onto itself. */
		if (errno != EINVAL || made_mount ||
		    mount(NET_NETNS_DIR, NET_NETNS_DIR, "none", MS_BIND | MS_REC, NULL) < 0) {
			int r = -errno;
			return error_set(err, r, "make '" NET_NETNS_DIR "' a shared mount: %s", strerror(-r));
		}
		made_mount = true;
	}
	return 0;
}

int net_netns_ensure(const char *name, struct error *err)
{
	char path[NET_NETNS_PATH_MAX];
	int r = path_of(name, path, err);
	if (r < 0)
		return r;

	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && is_netns(fd))
		return TAKE_FD(fd);
	if (fd >= 0) {
		/* A name without a namespace mounted on it: a creation that did not finish. */
		closep(&fd);
		fd = -1;
		if (unlink(path) < 0 && errno != ENOENT) {
			r = -errno;
			return error_set(err, r, "remove stale namespace file '%s': %s", path, strerror(-r));
		}
	}

	r = netns_dir_prepare(err);
	if (r < 0)
		return r;
	_cleanup_close_ int placeholder = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (placeholder < 0) {
		r = -errno;
		return error_set(err, r, "create namespace '%s': %s", name, strerror(-r));
	}

	/* A new namespace for this thread only, pinned by the bind mount, then back home. */
	_cleanup_close_ int saved = open(THREAD_NETNS, O_RDONLY | O_CLOEXEC);
	if (saved < 0) {
		r = -errno;
		unlink(path);
		return error_set(err, r, "create namespace '%s': open '" THREAD_NETNS "': %s", name, strerror(-r));
	}
	if (unshare(CLONE_NEWNET) < 0) {
		r = -errno;
		unlink(path);
		return error_set(err, r, "create namespace '%s': %s", name, strerror(-r));
	}
	r = mount(THREAD_NETNS, path, "none", MS_BIND, NULL) < 0 ? -errno : 0;
	net_netns_leave(TAKE_FD(saved));
	if (r < 0) {
		unlink(path);
		return error_set(err, r, "create namespace '%s': bind mount: %s", name, strerror(-r));
	}

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		return error_set(err, r, "open namespace '%s': %s", name, strerror(-r));
	}
	return TAKE_FD(fd);
}

int net_netns_remove(const char *name, struct error *err)
{
	char path[NET_NETNS_PATH_MAX];
	int r = path_of(name, path, err);
	if (r < 0)
		return r;
	if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT) {
		r = -errno;
		return error_set(err, r, "remove namespace '%s': %s", name, strerror(-r));
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		r = -errno;
		return error_set(err, r, "remove namespace '%s': %s", name, strerror(-r));
	}
	return 0;
}

void net_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

int net_netns_list(const char *prefix, char ***ret, size_t *ret_n, struct error *err)
{
	_cleanup_strv_ char **v = xcalloc(1, sizeof(char *));
	size_t n = 0;
	_cleanup_(closedirp) DIR *d = opendir(NET_NETNS_DIR);
	if (!d && errno != ENOENT) {
		int r = -errno;
		return error_set(err, r, "list '" NET_NETNS_DIR "': %s", strerror(-r));
	}
	for (struct dirent *de; d && (de = readdir(d));) {
		if (de->d_name[0] == '.' || strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		v = xrealloc(v, (n + 2) * sizeof(char *));
		v[n++] = xstrdup(de->d_name);
		v[n] = NULL;
	}
	qsort(v, n, sizeof(char *), cmp_str);
	*ret = TAKE_PTR(v);
	if (ret_n)
		*ret_n = n;
	return 0;
}

int net_netns_enter(int netns_fd, int *ret_saved, struct error *err)
{
	*ret_saved = -1;
	if (netns_fd < 0)
		return 0;
	_cleanup_close_ int saved = open(THREAD_NETNS, O_RDONLY | O_CLOEXEC);
	if (saved < 0) {
		int r = -errno;
		return error_set(err, r, "open '" THREAD_NETNS "': %s", strerror(-r));
	}
	if (setns(netns_fd, CLONE_NEWNET) < 0) {
		int r = -errno;
		return error_set(err, r, "enter network namespace: %s", strerror(-r));
	}
	*ret_saved = TAKE_FD(saved);
	return 0;
}

void net_netns_leave(int saved)
{
	if (saved < 0)
		return;
	if (setns(saved, CLONE_NEWNET) < 0) {
		log_error("return to the original network namespace: %s", strerror(errno));
		abort();
	}
	close(saved);
}

int net_netns_socket(int netns_fd, int domain, int type, int protocol, struct error *err)
{
	int saved;
	int r = net_netns_enter(netns_fd, &saved, err);
	if (r < 0)
		return r;
	int fd = socket(domain, type | SOCK_CLOEXEC, protocol);
	r = fd < 0 ? -errno : 0;
	net_netns_leave(saved);
	if (r < 0)
		return error_set(err, r, "create socket in network namespace: %s", strerror(-r));
	return fd;
}

int net_netns_sysctl_write(int netns_fd, const char *key, const char *value, struct error *err)
{
	_cleanup_free_ char *path = xasprintf("/proc/sys/%s", key);
	if (strstr(key, ".."))
		return error_set(err, -EINVAL, "sysctl '%s' is invalid", key);
	int saved;
	int r = net_netns_enter(netns_fd, &saved, err);
	if (r < 0)
		return r;
	/* /proc/sys/net shows the namespace of the thread that opens it, so open it inside. */
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	r = fd < 0 ? -errno : 0;
	net_netns_leave(saved);
	if (r < 0)
		return error_set(err, r, "set sysctl '%s': %s", key, strerror(-r));
	size_t len = strlen(value);
	ssize_t n = write(fd, value, len);
	if (n < 0 || (size_t)n != len) {
		r = n < 0 ? -errno : -EIO;
		return error_set(err, r, "set sysctl '%s': %s", key, strerror(-r));
	}
	return 0;
}
