/* ward-sensor: start-up. Parses the command line, loads the configuration
 * and runs one of the two modes of sensor.h. Only this file exits the
 * process.
 *
 *   ward-sensor -r FILE [--json] [--stats] [--local-nets LIST] [--flow-mem BYTES] [-c CONFIG]
 *   ward-sensor -i IFACE [--backend pcap|afpacket] [--workers N] [-c CONFIG]
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"       /* WARD_VERSION */
#include "config.h"
#include "log.h"
#include "sensor.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ward-sensor -r FILE [--json] [--stats] [options]\n"
		"       ward-sensor -i IFACE [--backend pcap|afpacket] [--workers N] [options]\n"
		"\n"
		"  -r, --read FILE       read a pcap/pcapng file; conn records as NDJSON on\n"
		"                        standard output, as each flow ends and all at the end\n"
		"      --json            NDJSON output (the only format; accepted for clarity)\n"
		"      --stats           a summary as one JSON object on standard error\n"
		"  -i, --interface IFACE capture live on IFACE (the mirror port): conn records\n"
		"                        to the spool lane conn-IFACE, stats and notices to\n"
		"                        sensor-IFACE; runs until SIGTERM or SIGINT\n"
		"      --backend NAME    pcap or afpacket (default: sensor.backend)\n"
		"      --workers N       AF_PACKET fanout threads (default: sensor.workers)\n"
		"      --local-nets LIST the hospital's networks, e.g. 10.0.0.0/8,fd00::/8\n"
		"                        (default: sensor.local_nets)\n"
		"      --flow-mem BYTES  flow table memory (default: sensor.flow_memory_bytes)\n"
		"  -c, --config FILE     YAML configuration (docs/config.md, section sensor)\n"
		"      --spool DIR       spool directory (default: agent.state_dir/spool.dir)\n"
		"      --status-file F   also write the status JSON to F every 500 ms\n"
		"  -V, --version         print the version\n"
		"  -h, --help            this text\n"
		"\n"
		"Exit status: 0 done, 1 cannot start, 2 bad usage, configuration or file,\n"
		"3 the live capture failed while running.\n");
}

struct args {
	const char *file, *iface, *cfg, *backend, *nets, *spool, *status_file;
	long workers;
	unsigned long long flow_mem;
	bool stats;
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
		{ "config", required_argument, NULL, 'c' },
		{ "spool", required_argument, NULL, 'p' },
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
		case 'b': a->backend = optarg; break;
		case 'n': a->nets = optarg; break;
		case 'c': a->cfg = optarg; break;
		case 'p': a->spool = optarg; break;
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

static int run_live(const struct args *a, const struct ward_config *cfg,
		    struct sensor_settings *set)
{
	struct sensor_live_opts o;
	char spool[PATH_MAX];

	memset(&o, 0, sizeof(o));
	o.set = set;
	o.spool_dir = a->spool != NULL ? a->spool : spool_path(cfg, spool, sizeof(spool));
	o.segment_max_bytes = cfg->spool.segment_max_bytes;
	o.segment_max_age_ms = cfg->spool.segment_max_age_ms;
	o.fsync_interval_ms = cfg->spool.fsync_interval_ms;
	/* The receivers' rule: P2 may go a little past the budget, which the
	 * agent trims, but never run away. */
	o.hard_limit_bytes = cfg->spool.budget_bytes + cfg->spool.budget_bytes / 8;
	o.budget_check_ms = cfg->spool.budget_check_ms;
	o.ipc_fd = a->ipc_fd;
	o.status_file = a->status_file;
	return sensor_live_run(&o);
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
	if (a.workers != 0 && backend == CAPTURE_AF_PACKET)
		set.cap.workers = (uint32_t)a.workers;
	code = a.file != NULL ? run_file(&a, &set) : run_live(&a, cfg, &set);
out:
	sensor_settings_free(&set);
	config_free(cfg);
	return code;
}
