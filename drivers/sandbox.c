/* sandbox: privilege drop and the seccomp allow-list of ward-sensor.
 *
 * libcap is not one of ward's libraries; the capability calls are the
 * raw capset(2) and prctl(2) ones, which is all a drop needs. */
#include "sandbox.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "kconfig.h"
#include "log.h"

static void errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *sandbox_default_user(void)
{
	return getpwnam("ward") != NULL ? "ward" : SANDBOX_FALLBACK_USER;
}

/* Empties the bounding set (needs CAP_SETPCAP, so before setuid). The
 * loop ends at the first number the kernel does not know, so it needs
 * no CAP_LAST_CAP of its own. */
static int drop_bounding(void)
{
	int cap;

	for (cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
			break;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return -errno;
	}
	return 0;
}

static int caps_clear(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	/* Read back: every set must be empty. */
	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	if (data[0].effective || data[0].permitted || data[1].effective || data[1].permitted)
		return -EPERM;
	return 0;
}

int sandbox_drop(const char *user, char *err, size_t errlen)
{
	struct passwd *pw = NULL;
	bool root = geteuid() == 0;
	int rc;

	if (root && user != NULL) {
		pw = getpwnam(user);
		if (pw == NULL) {
			errf(err, errlen, "user '%s' does not exist on this system; create it "
			     "or choose an existing unprivileged user", user);
			return -ENOENT;
		}
		if (pw->pw_uid == 0) {
			errf(err, errlen, "user '%s' is root: dropping privilege to it is no drop",
			     user);
			return -EPERM;
		}
	}
	/* Ambient capabilities would survive the setuid; old kernels lack
	 * them (EINVAL), which means none are set. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
		rc = -errno;
		errf(err, errlen, "cannot clear ambient capabilities: %s", strerror(errno));
		return rc;
	}
	rc = drop_bounding();
	/* Without CAP_SETPCAP the bounding set cannot shrink; NO_NEW_PRIVS
	 * below makes it moot, since nothing can be gained by exec. */
	if (rc < 0 && !(rc == -EPERM && !root)) {
		errf(err, errlen, "cannot empty the capability bounding set: %s", strerror(-rc));
		return rc;
	}
	if (pw != NULL) {
		if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
			rc = -errno;
			errf(err, errlen, "cannot become %s: %s", user, strerror(errno));
			return rc;
		}
	}
	rc = caps_clear();
	if (rc < 0) {
		errf(err, errlen, "cannot clear capabilities: %s", strerror(-rc));
		return rc;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		rc = -errno;
		errf(err, errlen, "cannot set no_new_privs: %s", strerror(errno));
		return rc;
	}
#if defined(__SANITIZE_ADDRESS__)
	/* LeakSanitizer ptraces its own process at exit, which the kernel
	 * refuses after a set-uid unless the process is dumpable. Test
	 * builds only. */
	(void)prctl(PR_SET_DUMPABLE, 1);
#endif
	if (pw != NULL && (setuid(0) == 0 || seteuid(0) == 0)) {
		errf(err, errlen, "privileges were not dropped: setuid(0) still works");
		return -EPERM;
	}
	return 0;
}

/* The loop's system calls; names the architecture lacks are skipped. */
static const char *const allowed[] = {
	/* memory */
	"brk", "mmap", "munmap", "mremap", "madvise", "mprotect",
	/* threads, signals, exit */
	"futex", "clone", "clone3", "set_robust_list", "rseq", "sched_yield",
	"sched_getaffinity", "gettid", "getpid", "getppid", "tgkill", "exit", "exit_group",
	"rt_sigreturn", "rt_sigprocmask", "rt_sigaction", "sigaltstack", "getuid", "geteuid",
	"getgid", "getegid", "prlimit64", "getrandom", "uname",
	/* time and sleeping */
	"clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday",
	"time",
	/* waiting for frames, the loop's own descriptors (libuv included) */
	"poll", "ppoll", "select", "pselect6", "epoll_create1", "epoll_ctl", "epoll_wait",
	"epoll_pwait", "epoll_pwait2", "eventfd2", "timerfd_create", "timerfd_settime",
	"timerfd_gettime", "pipe2",
	/* the capture sockets: statistics, and recv for libpcap's paths */
	"recvfrom", "recvmsg", "recvmmsg", "getsockopt", "setsockopt", "sendto", "sendmsg",
	/* the spool: segments are appended, fsynced, renamed, and old ones
	 * removed; the stats read /sys/class/net */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "lseek", "close",
	"fstat", "newfstatat", "statx", "openat", "rename", "renameat", "renameat2",
	"unlink", "unlinkat", "mkdirat", "fsync", "fdatasync", "ftruncate", "fallocate",
	"getdents64", "fcntl", "dup", "dup3", "flock", "faccessat", "faccessat2", "fstatfs",
	"statfs",
};

/* ioctls: capture_offload_check's, libpcap's check of a dead interface,
 * and stdio's isatty. */
static const unsigned long allowed_ioctls[] = { SIOCETHTOOL, SIOCGIFFLAGS, SIOCGIFINDEX,
						 TCGETS, FIONREAD };

/* libseccomp's SCMP_A<n> macros leave datum_b out, which clang's
 * -Wmissing-field-initializers refuses; the same comparison, spelled out.
 * MASKED_EQ: (arg & a) == b. */
static struct scmp_arg_cmp arg_cmp(unsigned arg, enum scmp_compare op, scmp_datum_t a,
				   scmp_datum_t b)
{
	return (struct scmp_arg_cmp){ .arg = arg, .op = op, .datum_a = a, .datum_b = b };
}

static int build_filter(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	size_t i;
	int rc, nr;

	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		nr = seccomp_syscall_resolve_name(allowed[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (rc < 0) {
			errf(err, errlen, "seccomp: cannot allow %s: %s", allowed[i], strerror(-rc));
			return rc;
		}
	}
	for (i = 0; i < sizeof(allowed_ioctls) / sizeof(allowed_ioctls[0]); i++) {
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				      arg_cmp(1, SCMP_CMP_EQ, allowed_ioctls[i], 0));
		if (rc < 0)
			goto fail;
	}
	/* The one socket the loop makes: capture_offload_check's
	 * AF_INET datagram socket for the ethtool ioctl. */
	rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
			      arg_cmp(0, SCMP_CMP_EQ, AF_INET, 0),
			      arg_cmp(1, SCMP_CMP_MASKED_EQ, 0xf, SOCK_DGRAM));
	if (rc < 0)
		goto fail;
	return 0;
fail:
	errf(err, errlen, "seccomp: cannot add a rule: %s", strerror(-rc));
	return rc;
}

int sandbox_seccomp(char *err, size_t errlen)
{
	const char *mode = getenv("WARD_SECCOMP");
	bool log_only = mode != NULL && strcmp(mode, "log") == 0;
	scmp_filter_ctx ctx;
	int rc;

	if (!IS_ENABLED(CONFIG_SENSOR_SECCOMP)) {
		errf(err, errlen, "seccomp is not compiled in (CONFIG_SENSOR_SECCOMP)");
		return -ENOTSUP;
	}
#if defined(__SANITIZE_ADDRESS__)
	/* WARD_SECCOMP_UNDER_ASAN=1: a test installs the filter anyway (see
	 * sandbox.h). */
	if (getenv("WARD_SECCOMP_UNDER_ASAN") == NULL) {
		log_warn("seccomp filter not installed: this is an AddressSanitizer build, "
			 "whose reports and leak check need calls the filter denies");
		return 0;
	}
#endif
	ctx = seccomp_init(log_only ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS);
	if (ctx == NULL) {
		errf(err, errlen, "seccomp: cannot initialise libseccomp");
		return -ENOMEM;
	}
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc < 0) {
		errf(err, errlen, "seccomp: cannot apply to every thread: %s", strerror(-rc));
		goto out;
	}
	rc = build_filter(ctx, err, errlen);
	if (rc < 0)
		goto out;
	rc = seccomp_load(ctx);
	if (rc < 0)
		errf(err, errlen, "seccomp: the kernel refused the filter: %s", strerror(-rc));
	else if (log_only)
		log_warn("seccomp in log mode (WARD_SECCOMP=log): calls outside the allow-list "
			 "are logged by the kernel, not refused");
out:
	seccomp_release(ctx);
	return rc;
}
