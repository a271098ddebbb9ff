/* sandbox: how ward-sensor gives up what it no longer needs once the
 * capture is open (DESIGN.md, "Processes and privilege").
 *
 * The order is fixed: capture_open (privileged), sandbox_drop, then
 * sandbox_seccomp, then the capture loop. Both calls are for start-up,
 * before any worker thread exists.
 */
#ifndef WARD_DRIVERS_SANDBOX_H
#define WARD_DRIVERS_SANDBOX_H

#include <stddef.h>

/* The user ward-sensor becomes when none is configured and no "ward" user
 * exists. */
#define SANDBOX_FALLBACK_USER "nobody"

/* Becomes `user` (getpwnam) with no supplementary groups and no
 * capabilities, for good: the capability bounding set and ambient set
 * are emptied while still privileged, then setgroups/setgid/setuid, then
 * the effective, permitted and inheritable sets are cleared (capset), and
 * PR_SET_NO_NEW_PRIVS is set so that no exec can gain any back. Checks
 * that setuid(0) now fails.
 *
 * Not root: the identity stays, and only the capabilities it may hold
 * are dropped (and NO_NEW_PRIVS set). user NULL means keep the identity.
 *
 * Open descriptors (capture sockets, rings, the spool) stay usable.
 * 0, -ENOENT (no such user), -EPERM, or another negative errno; err
 * (errlen bytes) gets a sentence for the operator. */
int sandbox_drop(const char *user, char *err, size_t errlen);

/* The user to drop to when none is configured: "ward" when it exists,
 * else SANDBOX_FALLBACK_USER. Static storage. */
const char *sandbox_default_user(void);

/* Installs the seccomp allow-list of ward-sensor's loop (libseccomp),
 * on every thread of the process (TSYNC). Allowed: memory, threads,
 * time, polling the capture and reading its statistics, the spool's
 * file calls (openat, rename, fsync, ftruncate, unlink, getdents64, ...),
 * writing logs, and the ethtool ioctl of capture_offload_check. Anything
 * else kills the process (SCMP_ACT_KILL_PROCESS); with the environment
 * variable WARD_SECCOMP=log it is allowed and logged by the kernel
 * (SCMP_ACT_LOG), to find a missing call.
 *
 * In ASan builds the filter is not installed (a warning is logged):
 * the sanitizers' reports and LeakSanitizer's exit check use ptrace,
 * clone and /proc, which the allow-list must not grant. Tests set
 * WARD_SECCOMP_UNDER_ASAN=1 to install it anyway, in a process that
 * then runs without the leak check (ASAN_OPTIONS=detect_leaks=0) or
 * leaves with _exit.
 *
 * Without CONFIG_SENSOR_SECCOMP: returns -ENOTSUP and does nothing.
 * 0 or a negative errno; err gets a sentence on failure. */
int sandbox_seccomp(char *err, size_t errlen);

#endif
