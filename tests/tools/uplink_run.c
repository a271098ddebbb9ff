/* uplink_run: runs the uplink on an outbox until it is empty or a
 * deadline passes, then prints the uplink's stats as one JSON line.
 *
 *   uplink_run --ca CA.pem --cert DEV.pem --key DEV.key --outbox DIR
 *              --lane LANE[:CLASS] [--lane ...]      (priority order;
 *                                                     CLASS 0..2 = P0..P2)
 *              --endpoint HOST:PORT[/SNI] [--endpoint ...]  (preference order)
 *              [--deadline-ms N] [--backoff-base-ms N] [--backoff-cap-ms N]
 *              [--timeout-ms N] [--rescan-ms N] [--rate BYTES_PER_S]
 *              [--failback-ms N] [--until-signal] [--max-in-flight N]
 *              [--max-bytes-in-flight N] [--aging-ms N]
 *              [--proxy HOST:PORT [--proxy-auth USER:PASS]]
 *
 * With --until-signal it does not stop when the outbox is empty but on
 * SIGTERM or SIGINT (or the deadline), for tests that add batches while
 * it runs. Exit status: 0 when no batch is left in the lanes, 1 when the
 * deadline passed first (stats still printed), 2 for bad usage or setup.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "buf.h"
#include "uplink.h"

struct run {
	struct uplink *u;
	const char *outbox;
	const char *lanes[UPLINK_MAX_LANES];
	uint8_t cls[UPLINK_MAX_LANES];
	bool have_cls;
	size_t n_lanes;
	uint64_t deadline;
	int result;             /* -1 running, 0 drained, 1 deadline */
	bool until_signal, signalled;
	uv_timer_t poll;
	uv_signal_t sigterm, sigint;
};

static size_t batches_left(const struct run *r)
{
	char dir[4096];
	struct dirent *de;
	size_t i, n = 0, len;
	DIR *d;

	for (i = 0; i < r->n_lanes; i++) {
		snprintf(dir, sizeof(dir), "%s/%s", r->outbox, r->lanes[i]);
		d = opendir(dir);
		if (d == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			len = strlen(de->d_name);
			if (de->d_name[0] != '.' && len > 6 &&
			    strcmp(de->d_name + len - 6, ".batch") == 0)
				n++;
		}
		closedir(d);
	}
	return n;
}

static void on_poll(uv_timer_t *t)
{
	struct run *r = t->data;

	size_t left = batches_left(r);

	if (left == 0 && (!r->until_signal || r->signalled))
		r->result = 0;
	else if (r->signalled || uv_now(t->loop) >= r->deadline)
		r->result = left == 0 ? 0 : 1;
	else
		return;
	uv_timer_stop(t);
	uv_close((uv_handle_t *)t, NULL);
	uv_close((uv_handle_t *)&r->sigterm, NULL);
	uv_close((uv_handle_t *)&r->sigint, NULL);
	uplink_stop(r->u);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct run *r = h->data;

	(void)signum;
	r->signalled = true;
}

static int parse_endpoint(char *s, struct uplink_endpoint *e)
{
	char *colon, *slash, *end;
	unsigned long port;

	slash = strchr(s, '/');
	if (slash != NULL) {
		*slash = '\0';
		e->sni = slash + 1;
	}
	colon = strrchr(s, ':');
	if (colon == NULL)
		return -EINVAL;
	*colon = '\0';
	port = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || port == 0 || port > 65535)
		return -EINVAL;
	e->host = s;
	e->port = (uint16_t)port;
	return 0;
}

static uint32_t ms_arg(const char *s)
{
	return (uint32_t)strtoul(s, NULL, 10);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ca", required_argument, NULL, 'a' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "outbox", required_argument, NULL, 'o' },
		{ "lane", required_argument, NULL, 'l' },
		{ "endpoint", required_argument, NULL, 'e' },
		{ "deadline-ms", required_argument, NULL, 'd' },
		{ "backoff-base-ms", required_argument, NULL, 'b' },
		{ "backoff-cap-ms", required_argument, NULL, 'B' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "rescan-ms", required_argument, NULL, 'r' },
		{ "rate", required_argument, NULL, 'R' },
		{ "failback-ms", required_argument, NULL, 'F' },
		{ "until-signal", no_argument, NULL, 'U' },
		{ "max-in-flight", required_argument, NULL, 'M' },
		{ "max-bytes-in-flight", required_argument, NULL, 'Y' },
		{ "aging-ms", required_argument, NULL, 'A' },
		{ "proxy", required_argument, NULL, 'P' },
		{ "proxy-auth", required_argument, NULL, 'W' },
		{ NULL, 0, NULL, 0 },
	};
	struct uplink_endpoint eps[UPLINK_MAX_ENDPOINTS], proxy;
	struct uplink_opts o;
	struct run r;
	struct buf js = BUF_INIT;
	uint32_t deadline_ms = 30000, timeout_ms = 0;
	char err[512];
	uv_loop_t loop;
	int ch, rc;

	memset(&o, 0, sizeof(o));
	memset(&r, 0, sizeof(r));
	memset(eps, 0, sizeof(eps));
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a': o.ca_file = optarg; break;
		case 'c': o.cert_file = optarg; break;
		case 'k': o.key_file = optarg; break;
		case 'o': o.outbox_dir = optarg; break;
		case 'l': {
			char *colon = strchr(optarg, ':');

			if (r.n_lanes == UPLINK_MAX_LANES)
				return 2;
			r.cls[r.n_lanes] = (uint8_t)(r.n_lanes < 2 ? r.n_lanes : 2);
			if (colon != NULL) {
				*colon = '\0';
				r.cls[r.n_lanes] = (uint8_t)strtoul(colon + 1, NULL, 10);
				r.have_cls = true;
			}
			r.lanes[r.n_lanes++] = optarg;
			break;
		}
		case 'e':
			if (o.n_endpoints == UPLINK_MAX_ENDPOINTS ||
			    parse_endpoint(optarg, &eps[o.n_endpoints]) < 0) {
				fprintf(stderr, "uplink_run: bad --endpoint\n");
				return 2;
			}
			o.n_endpoints++;
			break;
		case 'd': deadline_ms = ms_arg(optarg); break;
		case 'b': o.backoff_base_ms = ms_arg(optarg); break;
		case 'B': o.backoff_cap_ms = ms_arg(optarg); break;
		case 't': timeout_ms = ms_arg(optarg); break;
		case 'r': o.rescan_ms = ms_arg(optarg); break;
		case 'R': o.rate_bytes_per_s = strtoull(optarg, NULL, 10); break;
		case 'F': o.failback_ms = ms_arg(optarg); break;
		case 'U': r.until_signal = true; break;
		case 'M': o.max_in_flight = ms_arg(optarg); break;
		case 'Y': o.max_bytes_in_flight = strtoull(optarg, NULL, 10); break;
		case 'A': o.aging_ms = ms_arg(optarg); break;
		case 'P':
			memset(&proxy, 0, sizeof(proxy));
			if (parse_endpoint(optarg, &proxy) < 0) {
				fprintf(stderr, "uplink_run: bad --proxy\n");
				return 2;
			}
			o.proxy_host = proxy.host;
			o.proxy_port = proxy.port;
			break;
		case 'W': o.proxy_auth = optarg; break;
		default: return 2;
		}
	}
	o.endpoints = eps;
	o.lanes = r.lanes;
	o.n_lanes = r.n_lanes;
	o.lane_class = r.have_cls ? r.cls : NULL;
	o.connect_timeout_ms = o.handshake_timeout_ms = o.response_timeout_ms = timeout_ms;
	if (o.rescan_ms == 0)
		o.rescan_ms = 50;
	r.outbox = o.outbox_dir;
	if (uv_loop_init(&loop) < 0)
		return 2;
	rc = uplink_create(&r.u, &loop, &o, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "uplink_run: %s\n", err);
		uv_loop_close(&loop);
		return 2;
	}
	r.result = -1;
	r.deadline = uv_now(&loop) + deadline_ms;
	uv_timer_init(&loop, &r.poll);
	r.poll.data = &r;
	uv_timer_start(&r.poll, on_poll, 0, 20);
	uv_signal_init(&loop, &r.sigterm);
	uv_signal_init(&loop, &r.sigint);
	r.sigterm.data = r.sigint.data = &r;
	uv_signal_start(&r.sigterm, on_signal, SIGTERM);
	uv_signal_start(&r.sigint, on_signal, SIGINT);
	uplink_start(r.u);
	uv_run(&loop, UV_RUN_DEFAULT);
	rc = uplink_stats_json(r.u, &js);
	if (rc == 0)
		printf("%.*s\n", (int)js.len, (const char *)js.data);
	buf_free(&js);
	uplink_destroy(r.u);
	uv_loop_close(&loop);
	return rc < 0 ? 2 : r.result;
}
