/* ward-agent: start-up. Parses the command line, loads and checks the
 * configuration, settles the working directory and privileges, then runs
 * the supervisor (or, when re-executed with --receivers, the receiver
 * process). Only this file exits the process. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "chown_tree.h"
#include "config.h"
#include "log.h"
#include "seal_uplink.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ward-agent [-c FILE] [--check-config]\n"
		"\n"
		"  -c, --config FILE   YAML configuration (docs/config.md). Without it, or if\n"
		"                      FILE does not exist, the compiled-in defaults apply:\n"
		"                      syslog on 127.0.0.1:5514 (UDP and TCP), spool and\n"
		"                      control socket in the current directory.\n"
		"      --check-config  validate the configuration and exit: 0 if valid,\n"
		"                      2 with 'file:line:col: message' if not\n"
		"  -V, --version       print the version\n"
		"  -h, --help          this text\n"
		"\n"
		"Signals: SIGHUP reloads the configuration (a bad file is rejected and the\n"
		"running one kept); SIGTERM and SIGINT stop after flushing the spool.\n");
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	char *p;

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Started as root (the image's systemd unit, or a field engineer with
 * sudo): hand the state directory to the service user, then become it.
 * Nothing ward does after start-up needs root. */
static int drop_privileges(const char *user, const struct ward_config *cfg)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;
	if (strcmp(user, "root") == 0) {
		log_warn("agent.user is root: running with full privileges is not recommended");
		return 0;
	}
	pw = getpwnam(user);
	if (pw == NULL) {
		log_error("agent.user '%s' does not exist on this system; create it or set "
			  "agent.user to an existing unprivileged user", user);
		return -ENOENT;
	}
	/* The spool may hold files from a run as another user; the service
	 * user must own all of it to append, recover and evict. */
	if (chown(".", pw->pw_uid, pw->pw_gid) < 0 ||
	    chown_tree(cfg->spool.dir, pw->pw_uid, pw->pw_gid) != 0 ||
	    /* The sealer rewrites CHAIN and the uplink deletes batches. */
	    (access(cfg->uplink.outbox, F_OK) == 0 &&
	     chown_tree(cfg->uplink.outbox, pw->pw_uid, pw->pw_gid) != 0)) {
		log_error("cannot hand the state directory to %s: %s", user, strerror(errno));
		return -errno;
	}
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		log_error("cannot become %s: %s", user, strerror(errno));
		return -EPERM;
	}
#if defined(__SANITIZE_ADDRESS__)
	/* LeakSanitizer must ptrace its own process at exit, which the kernel
	 * refuses after a set-uid unless the process is dumpable again. Test
	 * builds only. */
	(void)prctl(PR_SET_DUMPABLE, 1);
#endif
	/* Make sure there is no way back. */
	if (setuid(0) == 0) {
		log_error("privileges were not dropped");
		return -EPERM;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'k' },
		{ "receivers", no_argument, NULL, 'r' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cfg_arg = NULL;
	char cfg_abs[PATH_MAX], msg[600];
	struct ward_config *cfg = NULL;
	struct config_error err;
	int check = 0, receivers = 0, c, rc;

	while ((c = getopt_long(argc, argv, "c:Vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cfg_arg = optarg; break;
		case 'k': check = 1; break;
		case 'r': receivers = 1; break;
		case 'V': printf("ward-agent %s\n", WARD_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (receivers)
		return receivers_main(RECEIVERS_IPC_FD);

	log_setup("ward-agent", LOG_LVL_INFO);
	if (cfg_arg != NULL) {
		rc = config_load(cfg_arg, &cfg, &err);
	} else {
		cfg = config_defaults();
		rc = cfg ? 0 : -ENOMEM;
		memset(&err, 0, sizeof(err));
		snprintf(err.msg, sizeof(err.msg), "out of memory");
	}
	if (rc < 0) {
		fprintf(stderr, "%s\n", config_error_str(&err, msg, sizeof(msg)));
		return 2;
	}
	if (check) {
		/* The YAML check cannot know whether the key files exist, but a
		 * field engineer running --check-config before a restart wants
		 * to hear it now rather than find it in wardctl status later.
		 * (The running agent does not refuse to start on it: syslog
		 * is still collected, and the error shows in status.) */
		rc = seal_uplink_check_files(cfg, msg, sizeof(msg));
		if (rc < 0) {
			fprintf(stderr, "%s: %s\n", cfg_arg ? cfg_arg : "(compiled-in defaults)", msg);
			config_free(cfg);
			return 2;
		}
		if (cfg_arg != NULL && access(cfg_arg, F_OK) < 0 && errno == ENOENT)
			printf("%s: not found; the compiled-in defaults apply\n", cfg_arg);
		else
			printf("%s: configuration is valid\n", cfg_arg ? cfg_arg : "(compiled-in defaults)");
		config_free(cfg);
		return 0;
	}
	log_set_level(cfg->agent.log_level);
	/* Reloads must find the file after the chdir below. */
	if (cfg_arg != NULL && realpath(cfg_arg, cfg_abs) == NULL)
		snprintf(cfg_abs, sizeof(cfg_abs), "%s", cfg_arg);
	rc = mkdir_p(cfg->agent.state_dir, 0750);
	if (rc < 0 || chdir(cfg->agent.state_dir) < 0) {
		log_error("cannot use state directory %s: %s", cfg->agent.state_dir,
			  strerror(rc < 0 ? -rc : errno));
		config_free(cfg);
		return 1;
	}
	rc = mkdir_p(cfg->spool.dir, 0750);
	if (rc < 0) {
		log_error("cannot create spool directory %s: %s", cfg->spool.dir, strerror(-rc));
		config_free(cfg);
		return 1;
	}
	if (drop_privileges(cfg->agent.user, cfg) < 0) {
		config_free(cfg);
		return 1;
	}
	return supervisor_main(cfg_arg ? cfg_abs : NULL, cfg, argv[0]);
}
