/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The file system a dyno sees, built by the sandbox's init inside its own mount namespace:
 *
 *   /               a small tmpfs, read-only once built: only mount points and symlinks
 *   /usr            the host's, read-only (bind, recursive), and /bin, /sbin, /lib, /lib32,
 *                   /lib64, /libx32 the same when they are directories, or the same symlinks
 *                   when the host has a merged /usr
 *   /etc            read-only overlay of the host's /etc under the dyno's own hostname, hosts and
 *                   resolv.conf (state_dir/etc)
 *   /app            overlay: lower the slug (app_dir), upper and work in state_dir; writable,
 *                   private to this dyno, gone with it
 *   /tmp, /dev/shm  fresh tmpfs (charged to the dyno's memory cgroup)
 *   /proc           of the dyno's pid namespace; kernel files that reveal or change the host
 *                   masked or read-only, as crun does
 *   /dev            tmpfs with null, zero, full, random, urandom and tty bound from the host,
 *                   its own devpts instance, and the usual symlinks
 *   /sys            not mounted
 *   binds           the spec's host directories, last (a bind on /app replaces the overlay)
 *
 * Mounts carry nosuid and nodev where devices and setuid programs have no business.
 */

#include "base/error.h"
#include "sandbox/sandbox.h"

/*
 * Writes the dyno's /etc files into state_dir/etc and creates the overlay's upper and work
 * directories (the upper owned by the app's uid, so the dyno may write /app itself). Runs in
 * the shim, on the host.
 */
int sandbox_rootfs_prepare(const struct sandbox_spec *spec, struct error *err);

/*
 * Builds the dyno's root at state_dir/rootfs and makes it the root of the calling process
 * (pivot_root). Runs in init, in the dyno's new mount and pid namespaces.
 */
int sandbox_rootfs_enter(const struct sandbox_spec *spec, struct error *err);
