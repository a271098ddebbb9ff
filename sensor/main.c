/* ward-sensor: start-up. Parses the command line, loads the configuration
 * and runs one of the two modes of sensor.h. Only this file exits the
 * process.
 *
 *   ward-sensor -r FILE [--json] [--stats] [--local-nets LIST] [--flow-mem BYTES]
 *               [--no-analyzers] [-c CONFIG]
 *   ward-sensor -r FILE --spool DIR [--lane NAME] [--stats] [-c CONFIG]
 *   ward-sensor -i IFACE [--backend pcap|afpacket] [--workers N] [-c CONFIG]
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"       /* WARD_VERSION */
#include "config.h"
#include "log.h"
#include "sandbox.h"
#include "sensor.h"
#include "sensor_lane.h"

#define REPLAY_LANE "conn-replay"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ward-sensor -r FILE [--json] [--stats] [options]\n"
		"       ward-sensor -r FILE --spool DIR [--lane NAME] [--stats] [options]\n"
		"       ward-sensor -i IFACE [--backend pcap|afpacket] [--workers N] [options]\n"
		"\n"
		"  -r, --read FILE       read a pcap/pcapng file; records as NDJSON on standard\n"
		"                        output: the analyzers' (dns, http, files, ssl, x509,\n"
		"                        smtp, pop3, notice) as they complete, conn as each\n"
		"                        flow ends, and all the rest at the end\n"
		"      --json            NDJSON output (the only format; accepted for clarity)\n"
		"      --stats           a summary as one JSON object on standard error\n"
		"      --spool DIR       with -r: replay into the spool DIR instead: the\n"
		"                        records go to a P2 lane, which is closed at the end so\n"
		"                        that the agent seals and uploads it; one line on\n"
		"                        standard output says how many records, which seqs\n"
		"      --lane NAME       that lane (default " REPLAY_LANE "; [a-z0-9_-], 1 to 32)\n"
		"  -i, --interface IFACE capture live on IFACE (the mirror port): conn and\n"
		"                        analyzer records to the spool lane conn-IFACE, stats\n"
		"                        and notices to sensor-IFACE; runs until SIGTERM or\n"
		"                        SIGINT\n"
		"      --backend NAME    pcap or afpacket (default: sensor.backend)\n"
		"      --workers N       AF_PACKET fanout threads (default: sensor.workers)\n"
		"      --local-nets LIST the hospital's networks, e.g. 10.0.0.0/8,fd00::/8\n"
		"                        (default: sensor.local_nets)\n"
		"      --flow-mem BYTES  flow table memory (default: sensor.flow_memory_bytes)\n"
		"      --no-analyzers    conn records only: no protocol analyzers (default:\n"
		"                        sensor.analyzers.enabled)\n"
		"  -c, --config FILE     YAML configuration (docs/config.md, section sensor)\n"
		"      --spool DIR       with -i: the spool directory (default:\n"
		"                        agent.state_dir/spool.dir)\n"
		"      --status-file F   also write the status JSON to F every 500 ms\n"
		"  -V, --version         print the version\n"
		"  -h, --help            this text\n"
		"\n"
		"Exit status: 0 done, 1 cannot start (or the spool refused records),\n"
		"2 bad usage, configuration or file, 3 the live capture failed while running.\n");
}

struct args {
	const char *file, *iface, *cfg, *backend, *nets, *spool, *status_file, *lane;
	long workers;
	unsigned long long flow_mem;
	bool stats;
	bool no_analyzers;
	int ipc_fd;
};

static int parse_u64(const char *s, unsigned long long *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	return (errno != 0 || end == s || *end != '\0' || s[0] == '-') ? -EINVAL : 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "read", required_argument, NULL, 'r' },
		{ "interface", required_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'j' },
		{ "stats", no_argument, NULL, 's' },
		{ "backend", required_argument, NULL, 'b' },
		{ "workers", required_argument, NULL, 'w' },
		{ "local-nets", required_argument, NULL, 'n' },
		{ "flow-mem", required_argument, NULL, 'm' },
		{ "no-analyzers", no_argument, NULL, 'A' },
		{ "config", required_argument, NULL, 'c' },
		{ "spool", required_argument, NULL, 'p' },
		{ "lane", required_argument, NULL, 'l' },
		{ "status-file", required_argument, NULL, 'f' },
		{ "ipc-fd", required_argument, NULL, 'I' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long v;
	int c;

	memset(a, 0, sizeof(*a));
	a->ipc_fd = -1;
	while ((c = getopt_long(argc, argv, "r:i:c:Vh", opts, NULL)) != -1) {
		switch (c) {
		case 'r': a->file = optarg; break;
		case 'i': a->iface = optarg; break;
		case 'j': break;
		case 's': a->stats = true; break;
		case 'A': a->no_analyzers = true; break;
		case 'b': a->backend = optarg; break;
		case 'n': a->nets = optarg; break;
		case 'c': a->cfg = optarg; break;
		case 'p': a->spool = optarg; break;
		case 'l':
			if (!spool_lane_name_valid(optarg)) {
				fprintf(stderr, "ward-sensor: --lane: '%s' is not a lane name (1 to 32 "
					"of a-z, 0-9, _ and -)\n", optarg);
				return -EINVAL;
			}
			a->lane = optarg;
			break;
		case 'f': a->status_file = optarg; break;
		case 'w':
			if (parse_u64(optarg, &v) < 0 || v < 1 || v > 64) {
				fprintf(stderr, "ward-sensor: --workers: '%s' is not 1 to 64\n", optarg);
				return -EINVAL;
			}
			a->workers = (long)v;
			break;
		case 'm':
			if (parse_u64(optarg, &a->flow_mem) < 0 || a->flow_mem == 0) {
				fprintf(stderr, "ward-sensor: --flow-mem: '%s' is not a number of "
					"bytes\n", optarg);
				return -EINVAL;
			}
			break;
		case 'I':
			if (parse_u64(optarg, &v) < 0 || v < 3 || v > INT_MAX) {
				fprintf(stderr, "ward-sensor: --ipc-fd: '%s' is not a descriptor\n",
					optarg);
				return -EINVAL;
			}
			a->ipc_fd = (int)v;
			break;
		case 'V': printf("ward-sensor %s\n", WARD_VERSION); exit(0);
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
	}
	if (optind < argc || (a->file == NULL) == (a->iface == NULL)) {
		if (optind >= argc)
			fprintf(stderr, "ward-sensor: give either -r FILE or -i IFACE\n");
		usage(stderr);
		return -EINVAL;
	}
	if (a->lane != NULL && (a->file == NULL || a->spool == NULL)) {
		fprintf(stderr, "ward-sensor: --lane goes with -r FILE --spool DIR\n");
		return -EINVAL;
	}
	if (a->backend != NULL && strcmp(a->backend, "pcap") != 0 &&
	    strcmp(a->backend, "afpacket") != 0) {
		fprintf(stderr, "ward-sensor: --backend: '%s' is not pcap or afpacket\n",
			a->backend);
		return -EINVAL;
	}
	return 0;
}

static struct ward_config *load_config(const char *path)
{
	struct ward_config *cfg = NULL;
	struct config_error err;
	char msg[600];
	int rc;

	if (path == NULL) {
		cfg = config_defaults();
		if (cfg == NULL)
			fprintf(stderr, "ward-sensor: out of memory\n");
		return cfg;
	}
	rc = config_load(path, &cfg, &err);
	if (rc < 0) {
		fprintf(stderr, "%s\n", config_error_str(&err, msg, sizeof(msg)));
		return NULL;
	}
	return cfg;
}

static int run_file(const struct args *a, struct sensor_settings *set)
{
	struct sensor_file_stats st;
	char err[512];
	size_t n = strlen(a->file);
	int rc;

	rc = sensor_read_file(set, stdout, &st, err, sizeof(err));
	if (a->stats && (rc == 0 || st.dec.frames > 0))
		(void)sensor_file_stats_write(&st, stderr);
	if (rc < 0) {
		/* The backend may have named the file already. */
		if (strncmp(err, a->file, n) == 0 && err[n] == ':')
			fprintf(stderr, "ward-sensor: %s\n", err);
		else
			fprintf(stderr, "ward-sensor: %s: %s\n", a->file, err);
		return 2;
	}
	return 0;
}

/* A relative spool.dir is taken from agent.state_dir, as the agent does. */
static const char *spool_path(const struct ward_config *cfg, char *dst, size_t len)
{
	if (cfg->spool.dir[0] == '/' || strcmp(cfg->agent.state_dir, ".") == 0)
		return cfg->spool.dir;
	snprintf(dst, len, "%s/%s", cfg->agent.state_dir, cfg->spool.dir);
	return dst;
}

/* The spool settings both spool modes take from the agent's config. */
static void spool_opts(const struct args *a, const struct ward_config *cfg,
		       struct sensor_settings *set, struct sensor_live_opts *o, char *spool,
		       size_t len)
{
	memset(o, 0, sizeof(*o));
	o->set = set;
	o->spool_dir = a->spool != NULL ? a->spool : spool_path(cfg, spool, len);
	o->segment_max_bytes = cfg->spool.segment_max_bytes;
	o->segment_max_age_ms = cfg->spool.segment_max_age_ms;
	o->fsync_interval_ms = cfg->spool.fsync_interval_ms;
	/* The receivers' rule: P2 may go a little past the budget, which the
	 * agent trims, but never run away. */
	o->hard_limit_bytes = cfg->spool.budget_bytes + cfg->spool.budget_bytes / 8;
	o->budget_check_ms = cfg->spool.budget_check_ms;
	o->ipc_fd = a->ipc_fd;
	o->status_file = a->status_file;
}

static int run_live(const struct args *a, const struct ward_config *cfg,
		    struct sensor_settings *set)
{
	struct sensor_live_opts o;
	char spool[PATH_MAX];

	spool_opts(a, cfg, set, &o, spool, sizeof(spool));
	return sensor_live_run(&o);
}

/* The replay never parses packets with privilege: it gives up its
 * capabilities, and root becomes the spool directory's owner (the agent's
 * user), so that the agent can seal and delete the segments it writes.
 * *dropped tells whether it became another user. 0 or a negative errno,
 * said on stderr. */
static int replay_drop(const char *spool_dir, bool *dropped)
{
	char user[256] = "", err[512] = "";
	struct passwd *pw;
	struct stat st;
	int rc;

	if (geteuid() == 0 && stat(spool_dir, &st) == 0 && st.st_uid != 0 &&
	    (pw = getpwuid(st.st_uid)) != NULL)
		snprintf(user, sizeof(user), "%s", pw->pw_name);
	*dropped = user[0] != '\0';
	rc = sandbox_drop(*dropped ? user : NULL, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "ward-sensor: %s\n", err[0] != '\0' ? err : strerror(-rc));
	return rc;
}

/* -r FILE --spool DIR: the file's records (conn and the analyzers') into
 * a P2 lane, as the live mode writes them, through the offline reader's
 * NDJSON stream. Notices go to the same lane here (the live mode puts
 * them in its P0 lane): a replay is for trials and tests.
 * The lane is flushed at the end (its open segment closed), so the
 * agent's sealer takes it at once. */
static int run_replay(const struct args *a, const struct ward_config *cfg,
		      struct sensor_settings *set)
{
	const char *lane = a->lane != NULL ? a->lane : REPLAY_LANE;
	struct sensor_lane_stream s;
	struct sensor_file_stats st;
	struct sensor_live_opts o;
	char spool[PATH_MAX], err[512];
	bool dropped;
	FILE *f;
	int rc, code = 0;

	spool_opts(a, cfg, set, &o, spool, sizeof(spool));
	if (replay_drop(o.spool_dir, &dropped) < 0)
		return 1;
	/* No lane for a file that cannot be read (the reader names the
	 * other problems). */
	if (access(a->file, R_OK) < 0) {
		fprintf(stderr, "ward-sensor: %s: %s%s\n", a->file, strerror(errno),
			errno == EACCES && dropped ? " (read as the owner of the spool)" : "");
		return 2;
	}
	memset(&s, 0, sizeof(s));
	if (sensor_lane_open(&o, lane, SPOOL_P2, SENSOR_LANE_CONN_MAX_RECORD, &s.lane) < 0)
		return 1;
	sensor_lane_usage_check(s.lane, o.spool_dir);
	f = sensor_lane_stream_open(&s);
	if (f == NULL) {
		fprintf(stderr, "ward-sensor: out of memory\n");
		spool_lane_close(s.lane);
		return 1;
	}
	rc = sensor_read_file(set, f, &st, err, sizeof(err));
	(void)fclose(f);
	if (a->stats && (rc == 0 || st.dec.frames > 0))
		(void)sensor_file_stats_write(&st, stderr);
	if (s.err != 0) {
		fprintf(stderr, "ward-sensor: spool: lane %s in %s refused a record: %s%s\n", lane,
			o.spool_dir, strerror(-s.err),
			s.err == -ENOSPC ? " (disk full or over spool.budget_bytes)" : "");
		code = 1;
	} else if (rc < 0) {
		if (strncmp(err, a->file, strlen(a->file)) == 0 && err[strlen(a->file)] == ':')
			fprintf(stderr, "ward-sensor: %s\n", err);
		else
			fprintf(stderr, "ward-sensor: %s: %s\n", a->file, err);
		code = 2;
	}
	/* What was appended is kept, even after an error: flush it. */
	rc = spool_lane_flush(s.lane);
	if (rc < 0) {
		fprintf(stderr, "ward-sensor: spool: cannot commit lane %s in %s: %s\n", lane,
			o.spool_dir, strerror(-rc));
		code = 1;
	}
	spool_lane_close(s.lane);
	if (s.records > 0)
		printf("%" PRIu64 " records to spool lane %s in %s (seq %" PRIu64 " to %"
		       PRIu64 ")%s\n", s.records, lane, o.spool_dir, s.first_seq, s.last_seq,
		       rc < 0 ? ", not all durable" : "");
	else
		printf("0 records to spool lane %s in %s\n", lane, o.spool_dir);
	return code;
}

int main(int argc, char **argv)
{
	struct sensor_settings set;
	struct ward_config *cfg;
	enum capture_backend backend;
	const char *bad = NULL;
	struct args a;
	int rc, code;

	memset(&set, 0, sizeof(set));
	if (parse_args(argc, argv, &a) < 0)
		return 2;
	log_setup("ward-sensor", LOG_LVL_INFO);
	cfg = load_config(a.cfg);
	if (cfg == NULL)
		return 2;
	log_set_level(cfg->agent.log_level);
	if (a.file != NULL)
		backend = CAPTURE_FILE;
	else if (a.backend != NULL)
		backend = strcmp(a.backend, "pcap") == 0 ? CAPTURE_PCAP : CAPTURE_AF_PACKET;
	else
		backend = cfg->sensor.backend == SENSOR_BACKEND_PCAP ? CAPTURE_PCAP :
			  CAPTURE_AF_PACKET;
	rc = sensor_settings_from_config(&set, cfg, a.file ? a.file : a.iface, backend);
	if (rc == 0 && a.nets != NULL) {
		rc = sensor_settings_set_nets(&set, a.nets, &bad);
		if (rc == -EINVAL)
			fprintf(stderr, "ward-sensor: --local-nets: '%s' is not an IP prefix "
				"(e.g. 10.0.0.0/8,fd00::/8)\n", bad);
	}
	if (rc == -ENOMEM)
		fprintf(stderr, "ward-sensor: out of memory\n");
	if (rc < 0) {
		code = 2;
		goto out;
	}
	if (a.flow_mem != 0)
		set.flow.mem_max = (size_t)a.flow_mem;
	if (a.no_analyzers)
		set.an.enabled = false;
	if (a.workers != 0 && backend == CAPTURE_AF_PACKET)
		set.cap.workers = (uint32_t)a.workers;
	if (a.file != NULL)
		code = a.spool != NULL ? run_replay(&a, cfg, &set) : run_file(&a, &set);
	else
		code = run_live(&a, cfg, &set);
out:
	sensor_settings_free(&set);
	config_free(cfg);
	return code;
}
