/* ward-soc: the reference SOC ingest server (docs/soc-api.md).
 *
 *   ward-soc verify STORE_DIR
 *   ward-soc [serve] --cert PEM --key PEM --client-ca PEM --soc-key PEM
 *            --device-keys DIR --store DIR [--listen ADDR:PORT]
 *            [--max-body BYTES] [--max-header BYTES] [--test-hooks]
 *            [--fail-next N [--fail-code 429|503] [--retry-after S]] [-v]
 *
 * Startup code: the only place that exits the process.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "log.h"
#include "soc_api.h"
#include "soc_ingest.h"
#include "soc_server.h"
#include "soc_store.h"
#include "soc_verify.h"
#include "tls_server.h"

struct opts {
	const char *listen, *cert, *key, *client_ca, *soc_key, *device_keys, *store;
	unsigned long long max_body, max_header, fail_next, fail_code, retry_after;
	int test_hooks, verbose;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ward-soc verify STORE_DIR\n"
		"       ward-soc [serve] --cert PEM --key PEM --client-ca PEM --soc-key PEM\n"
		"                --device-keys DIR --store DIR [--listen ADDR:PORT]\n"
		"                [--max-body BYTES] [--max-header BYTES] [--test-hooks]\n"
		"                [--fail-next N] [--fail-code 429|503] [--retry-after S] [-v]\n"
		"Listens (default 127.0.0.1:8443) for POST /v1/batches over mutual TLS.\n");
}

static int parse_num(const char *name, const char *s, unsigned long long min,
		     unsigned long long max, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || s[0] == '-' || *out < min || *out > max) {
		fprintf(stderr, "ward-soc: --%s %s: want a number from %llu to %llu\n", name, s,
			min, max);
		return -EINVAL;
	}
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "client-ca", required_argument, NULL, 'a' },
		{ "soc-key", required_argument, NULL, 's' },
		{ "device-keys", required_argument, NULL, 'd' },
		{ "store", required_argument, NULL, 'o' },
		{ "max-body", required_argument, NULL, 'B' },
		{ "max-header", required_argument, NULL, 'H' },
		{ "test-hooks", no_argument, NULL, 't' },
		{ "fail-next", required_argument, NULL, 'f' },
		{ "fail-code", required_argument, NULL, 'C' },
		{ "retry-after", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch, rc = 0;

	if (argc > 1 && strcmp(argv[1], "serve") == 0) {
		argv[1] = argv[0];
		argc--;
		argv++;
	}
	while ((ch = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
		switch (ch) {
		case 'l': o->listen = optarg; break;
		case 'c': o->cert = optarg; break;
		case 'k': o->key = optarg; break;
		case 'a': o->client_ca = optarg; break;
		case 's': o->soc_key = optarg; break;
		case 'd': o->device_keys = optarg; break;
		case 'o': o->store = optarg; break;
		case 'B': rc |= parse_num("max-body", optarg, 1024, BATCH_BODY_MAX, &o->max_body); break;
		case 'H': rc |= parse_num("max-header", optarg, 256, 1 << 20, &o->max_header); break;
		case 't': o->test_hooks = 1; break;
		case 'f': rc |= parse_num("fail-next", optarg, 0, 1000000, &o->fail_next); break;
		case 'C': rc |= parse_num("fail-code", optarg, 429, 503, &o->fail_code); break;
		case 'r': rc |= parse_num("retry-after", optarg, 0, 86400, &o->retry_after); break;
		case 'v': o->verbose = 1; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
	}
	if (rc != 0)
		return -EINVAL;
	if (o->fail_code != 429 && o->fail_code != 503) {
		fprintf(stderr, "ward-soc: --fail-code must be 429 or 503\n");
		return -EINVAL;
	}
	if (optind != argc || !o->cert || !o->key || !o->client_ca || !o->soc_key ||
	    !o->device_keys || !o->store) {
		fprintf(stderr, "ward-soc: --cert, --key, --client-ca, --soc-key, --device-keys "
			"and --store are required\n");
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

static struct soc_server *server;
static uv_signal_t sigs[2];     /* SIGINT, SIGTERM */

static void signal_cb(uv_signal_t *h, int signum)
{
	(void)h;
	log_info("signal %d: stopping", signum);
	soc_server_stop(server);
	/* With every handle closed, uv_run() returns. */
	uv_close((uv_handle_t *)&sigs[0], NULL);
	uv_close((uv_handle_t *)&sigs[1], NULL);
}

int main(int argc, char **argv)
{
	struct opts o = {
		.listen = "127.0.0.1:8443", .max_body = 8u << 20, .max_header = 16384,
		.fail_code = 503, .retry_after = 1,
	};
	struct tls_server_ctx *tls = NULL;
	struct soc_store *store = NULL;
	struct soc_ingest *ingest = NULL;
	struct soc_api api;
	uv_loop_t *loop = uv_default_loop();
	char err[256];
	int rc;

	memset(&api, 0, sizeof(api));
	log_setup("ward-soc", LOG_LVL_INFO);
	if (argc > 1 && strcmp(argv[1], "verify") == 0) {
		if (argc != 3) {
			usage(stderr);
			return 2;
		}
		rc = soc_verify(argv[2], stdout);
		if (rc < 0)
			fprintf(stderr, "ward-soc: cannot read store %s: %s\n", argv[2], strerror(-rc));
		return rc == 0 ? 0 : 1;
	}
	if (parse_opts(argc, argv, &o) < 0)
		return 2;
	if (o.verbose)
		log_set_level(LOG_LVL_DEBUG);
	signal(SIGPIPE, SIG_IGN);
	rc = tls_server_ctx_create(&tls, o.cert, o.key, o.client_ca, err, sizeof(err));
	if (rc < 0) {
		log_error("%s", err);
		goto out;
	}
	rc = soc_store_create(&store, o.store);
	if (rc < 0) {
		log_error("cannot open store %s: %s", o.store, strerror(-rc));
		goto out;
	}
	rc = soc_ingest_create(&ingest, o.soc_key, o.device_keys, store, 0);
	if (rc < 0) {
		log_error("cannot load SOC private key %s: %s", o.soc_key,
			  rc == -EINVAL ? "not a P-256 private key" : strerror(-rc));
		goto out;
	}
	api.ingest = ingest;
	api.test_hooks = o.test_hooks;
	api.fail_next = o.fail_next;
	api.fail_code = (int)o.fail_code;
	api.fail_retry_after = (unsigned)o.retry_after;
	rc = soc_server_start(&server, loop, o.listen, tls, &api, o.max_header, o.max_body);
	if (rc < 0) {
		log_error("cannot listen on %s: %s", o.listen,
			  rc == -EINVAL ? "not HOST:PORT" : uv_strerror(rc));
		goto out;
	}
	uv_signal_init(loop, &sigs[0]);
	uv_signal_init(loop, &sigs[1]);
	uv_signal_start(&sigs[0], signal_cb, SIGINT);
	uv_signal_start(&sigs[1], signal_cb, SIGTERM);
	log_info("listening on %s (TLS, client certificates from %s), store %s%s", o.listen,
		 o.client_ca, o.store, o.test_hooks ? ", test hooks on" : "");
	uv_run(loop, UV_RUN_DEFAULT);
	soc_server_destroy(server);
	rc = 0;
out:
	soc_ingest_destroy(ingest);
	soc_store_destroy(store);
	tls_server_ctx_destroy(tls);
	uv_loop_close(loop);
	return rc < 0 ? 1 : 0;
}
