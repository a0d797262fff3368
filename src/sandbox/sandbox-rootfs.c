/* SPDX-License-Identifier: MIT */
#include "sandbox/sandbox-rootfs.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "base/alloc.h"
#include "base/fileio.h"

/* Host directories the dyno gets read-only; /usr must exist, the others are optional. */
static const char *const host_dirs[] = { "usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32" };

/* Device nodes bound from the host into the dyno's /dev. */
static const char *const devices[] = { "null", "zero", "full", "random", "urandom", "tty" };

static const struct {
	const char *path;
	const char *target;
} dev_symlinks[] = {
	{ "ptmx", "pts/ptmx" },
	{ "fd", "/proc/self/fd" },
	{ "stdin", "/proc/self/fd/0" },
	{ "stdout", "/proc/self/fd/1" },
	{ "stderr", "/proc/self/fd/2" },
};

/* As crun: files and directories of /proc that tell about or act on the host. */
static const char *const proc_masked[] = {
	"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
	"/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
};
static const char *const proc_readonly[] = {
	"/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

#define RESOLV_CONF_HOST "/etc/resolv.conf"

static int write_file(const char *dir, const char *name, const char *text, struct error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
	return file_write_atomic(path, text, strlen(text), 0644, err);
}

int sandbox_rootfs_prepare(const struct sandbox_spec *spec, struct error *err)
{
	int r;
	_cleanup_free_ char *etc = xasprintf("%s/etc", spec->state_dir);
	_cleanup_free_ char *rootfs = xasprintf("%s/rootfs", spec->state_dir);
	_cleanup_free_ char *upper = xasprintf("%s/app-upper", spec->state_dir);
	_cleanup_free_ char *work = xasprintf("%s/app-work", spec->state_dir);

	if (mkdir(etc, 0755) < 0 && errno != EEXIST)
		return error_set(err, -errno, "create directory '%s': %m", etc);
	if (mkdir(rootfs, 0755) < 0 && errno != EEXIST)
		return error_set(err, -errno, "create directory '%s': %m", rootfs);
	/* A leftover upper layer would carry the files of an earlier dyno into this one. */
	if (mkdir(upper, 0755) < 0)
		return error_set(err, -errno, "create directory '%s': %m", upper);
	if (chown(upper, spec->uid, spec->gid) < 0)
		return error_set(err, -errno, "change owner of '%s': %m", upper);
	if (mkdir(work, 0700) < 0)
		return error_set(err, -errno, "create directory '%s': %m", work);

	_cleanup_free_ char *hostname = xasprintf("%s\n", spec->hostname);
	r = write_file(etc, "hostname", hostname, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *hosts = xasprintf("127.0.0.1\tlocalhost\n"
					       "::1\tlocalhost ip6-localhost ip6-loopback\n"
					       "127.0.1.1\t%s\n",
					       spec->hostname);
	r = write_file(etc, "hosts", hosts, err);
	if (r < 0)
		return r;

	_cleanup_free_ char *host_resolv = NULL;
	const char *resolv = spec->resolv_conf;
	if (!resolv) {
		/* A copy rather than the file itself: on the host it may be a symlink or a mount. */
		r = file_read(RESOLV_CONF_HOST, SANDBOX_RESOLV_CONF_MAX, &host_resolv, NULL, NULL);
		resolv = r < 0 ? "" : host_resolv;
	}
	return write_file(etc, "resolv.conf", resolv, err);
}

static int do_mount(const char *source, const char *target, const char *type, unsigned long flags,
		    const char *options, struct error *err)
{
	if (mount(source, target, type, flags, options) < 0)
		return error_set(err, -errno, "mount '%s' on '%s': %m", source ? source : type ? type : "(remount)",
				 target);
	return 0;
}

/* Makes the mount at path and every mount below it read-only, nosuid and nodev. */
static int make_readonly(const char *path, struct error *err)
{
	struct mount_attr attr = {
		.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
	};
	if (mount_setattr(AT_FDCWD, path, AT_RECURSIVE | AT_SYMLINK_NOFOLLOW, &attr, sizeof(attr)) < 0)
		return error_set(err, -errno, "make '%s' read-only: %m", path);
	return 0;
}

static int bind_readonly(const char *source, const char *target, struct error *err)
{
	int r = do_mount(source, target, NULL, MS_BIND | MS_REC, NULL, err);
	if (r < 0)
		return r;
	return make_readonly(target, err);
}

static int make_dir(const char *path, mode_t mode, struct error *err)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return error_set(err, -errno, "create directory '%s': %m", path);
	return 0;
}

/* The host's /usr and friends: a bind for a directory, the same symlink for a symlink. */
static int mount_host_dirs(const char *root, struct error *err)
{
	for (size_t i = 0; i < ARRAY_SIZE(host_dirs); i++) {
		_cleanup_free_ char *source = xasprintf("/%s", host_dirs[i]);
		_cleanup_free_ char *target = xasprintf("%s/%s", root, host_dirs[i]);
		struct stat st;
		if (lstat(source, &st) < 0) {
			if (errno == ENOENT && i > 0)
				continue;
			return error_set(err, -errno, "host directory '%s': %m", source);
		}
		int r;
		if (S_ISLNK(st.st_mode)) {
			char link[PATH_MAX];
			ssize_t n = readlink(source, link, sizeof(link) - 1);
			if (n < 0)
				return error_set(err, -errno, "read symlink '%s': %m", source);
			link[n] = '\0';
			if (symlink(link, target) < 0)
				return error_set(err, -errno, "create symlink '%s': %m", target);
			continue;
		}
		if (!S_ISDIR(st.st_mode))
			continue;
		r = make_dir(target, 0755, err);
		if (r < 0)
			return r;
		r = bind_readonly(source, target, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int mount_overlays(const struct sandbox_spec *spec, const char *root, struct error *err)
{
	_cleanup_free_ char *etc = xasprintf("%s/etc", root);
	_cleanup_free_ char *app = xasprintf("%s/app", root);
	int r = make_dir(etc, 0755, err);
	if (r < 0)
		return r;
	/* Two lower layers and no upper one: a read-only overlay, the dyno's files on top. */
	_cleanup_free_ char *etc_options = xasprintf("lowerdir=%s/etc:/etc", spec->state_dir);
	r = do_mount("overlay", etc, "overlay", MS_RDONLY | MS_NOSUID | MS_NODEV, etc_options, err);
	if (r < 0)
		return r;

	r = make_dir(app, 0755, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < spec->n_binds; i++)
		if (streq(spec->binds[i].target, "/app"))
			return 0; /* mount_binds() puts the directory itself there */
	_cleanup_free_ char *app_options = xasprintf("lowerdir=%s,upperdir=%s/app-upper,workdir=%s/app-work",
						     spec->app_dir, spec->state_dir, spec->state_dir);
	return do_mount("overlay", app, "overlay", MS_NOSUID | MS_NODEV, app_options, err);
}

static int mount_dev(const char *root, struct error *err)
{
	_cleanup_free_ char *dev = xasprintf("%s/dev", root);
	int r = make_dir(dev, 0755, err);
	if (r < 0)
		return r;
	r = do_mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k", err);
	if (r < 0)
		return r;

	for (size_t i = 0; i < ARRAY_SIZE(devices); i++) {
		_cleanup_free_ char *source = xasprintf("/dev/%s", devices[i]);
		_cleanup_free_ char *target = xasprintf("%s/%s", dev, devices[i]);
		if (access(source, F_OK) < 0)
			continue;
		_cleanup_close_ int fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd < 0)
			return error_set(err, -errno, "create '%s': %m", target);
		r = do_mount(source, target, NULL, MS_BIND, NULL, err);
		if (r < 0)
			return r;
	}

	_cleanup_free_ char *pts = xasprintf("%s/pts", dev);
	r = make_dir(pts, 0755, err);
	if (r < 0)
		return r;
	r = do_mount("devpts", pts, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5", err);
	if (r < 0)
		return r;

	_cleanup_free_ char *shm = xasprintf("%s/shm", dev);
	r = make_dir(shm, 01777, err);
	if (r < 0)
		return r;
	r = do_mount("tmpfs", shm, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777", err);
	if (r < 0)
		return r;

	for (size_t i = 0; i < ARRAY_SIZE(dev_symlinks); i++) {
		_cleanup_free_ char *path = xasprintf("%s/%s", dev, dev_symlinks[i].path);
		if (symlink(dev_symlinks[i].target, path) < 0)
			return error_set(err, -errno, "create symlink '%s': %m", path);
	}
	return 0;
}

/* Creates path and its parents below root, as mount points (the root is still writable). */
static int make_mount_point(const char *root, const char *path, struct error *err)
{
	_cleanup_free_ char *full = xasprintf("%s%s", root, path);
	for (char *p = full + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		int r = make_dir(full, 0755, err);
		*p = '/';
		if (r < 0)
			return r;
	}
	return make_dir(full, 0755, err);
}

/* The spec's host directories, in order: after the other mounts, so that they may go on top. */
static int mount_binds(const struct sandbox_spec *spec, const char *root, struct error *err)
{
	for (size_t i = 0; i < spec->n_binds; i++) {
		const struct sandbox_bind *b = &spec->binds[i];
		_cleanup_free_ char *target = xasprintf("%s%s", root, b->target);
		int r = make_mount_point(root, b->target, err);
		if (r < 0)
			return r;
		r = do_mount(b->source, target, NULL, MS_BIND | MS_REC, NULL, err);
		if (r < 0)
			return r;
		if (!b->writable) {
			r = make_readonly(target, err);
		} else {
			struct mount_attr attr = { .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV };
			if (mount_setattr(AT_FDCWD, target, AT_RECURSIVE | AT_SYMLINK_NOFOLLOW, &attr, sizeof(attr)) < 0)
				r = error_set(err, -errno, "mount '%s' nosuid: %m", target);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* Hides or freezes the parts of /proc listed above; runs after pivot_root. */
static int mask_proc(struct error *err)
{
	int r;
	for (size_t i = 0; i < ARRAY_SIZE(proc_masked); i++) {
		const char *path = proc_masked[i];
		struct stat st;
		if (lstat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			r = do_mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0", err);
		else
			r = do_mount("/dev/null", path, NULL, MS_BIND, NULL, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < ARRAY_SIZE(proc_readonly); i++) {
		const char *path = proc_readonly[i];
		if (access(path, F_OK) < 0)
			continue;
		r = bind_readonly(path, path, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int sandbox_rootfs_enter(const struct sandbox_spec *spec, struct error *err)
{
	int r;
	/* Nothing mounted here may show on the host, nor the host's later mounts here. */
	r = do_mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL, err);
	if (r < 0)
		return r;

	_cleanup_free_ char *root = xasprintf("%s/rootfs", spec->state_dir);
	r = do_mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m", err);
	if (r < 0)
		return r;

	r = mount_host_dirs(root, err);
	if (r < 0)
		return r;
	r = mount_overlays(spec, root, err);
	if (r < 0)
		return r;

	_cleanup_free_ char *tmp = xasprintf("%s/tmp", root);
	r = make_dir(tmp, 01777, err);
	if (r < 0)
		return r;
	r = do_mount("tmpfs", tmp, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", err);
	if (r < 0)
		return r;

	_cleanup_free_ char *proc = xasprintf("%s/proc", root);
	r = make_dir(proc, 0555, err);
	if (r < 0)
		return r;
	r = do_mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err);
	if (r < 0)
		return r;

	r = mount_dev(root, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *sys = xasprintf("%s/sys", root);
	r = make_dir(sys, 0555, err);
	if (r < 0)
		return r;
	r = mount_binds(spec, root, err);
	if (r < 0)
		return r;

	/*
	 * pivot_root(".", ".") stacks the old root under the new one at "/", where a lazy unmount
	 * takes it away; no directory for it is needed (as runc and crun do).
	 */
	if (chdir(root) < 0)
		return error_set(err, -errno, "change directory to '%s': %m", root);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return error_set(err, -errno, "pivot_root to '%s': %m", root);
	if (umount2(".", MNT_DETACH) < 0)
		return error_set(err, -errno, "detach the host's root: %m");
	if (chdir("/") < 0)
		return error_set(err, -errno, "change directory to '/': %m");

	r = mask_proc(err);
	if (r < 0)
		return r;
	return do_mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL, err);
}
