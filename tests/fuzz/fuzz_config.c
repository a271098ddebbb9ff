/* libFuzzer target for the config loader: config_load_buf on arbitrary
 * bytes, then config_free. Beyond memory errors and leaks it checks the
 * loader's promises: a success yields a complete struct whose listeners
 * all parse, a failure yields no struct and a message, and a position is
 * only ever given together with a message.
 *
 *   make VARIANT=fuzz build/fuzz/fuzz_config
 *   build/fuzz/fuzz_config -max_total_time=60 tests/fuzz/corpus/config
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_ok(const struct ward_config *c)
{
	struct sockaddr_storage ss;
	unsigned i;

	if (c == NULL || c->agent.device_id == NULL || c->agent.user == NULL ||
	    c->agent.state_dir == NULL || c->agent.control_socket == NULL || c->spool.dir == NULL)
		abort();
	if (c->syslog.enabled && c->syslog.n_listeners == 0)
		abort();
	if ((c->syslog.n_listeners == 0) != (c->syslog.listeners == NULL))
		abort();
	if (c->spool.budget_bytes / 4 < c->spool.segment_max_bytes ||
	    c->syslog.max_pending_bytes < c->syslog.max_message_bytes)
		abort();
	for (i = 0; i < c->syslog.n_listeners; i++) {
		const struct listener_conf *l = &c->syslog.listeners[i];

		if (config_parse_address(l->address, &ss) != 0)
			abort();
		if (l->proto == LISTEN_TLS && (l->cert == NULL || l->key == NULL))
			abort();
		if (l->proto != LISTEN_TLS && (l->cert || l->key || l->client_ca))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ward_config *c = NULL;
	struct config_error err;
	char line[600];
	int rc;

	rc = config_load_buf("fuzz.yaml", data, size, &c, &err);
	if (rc == 0) {
		check_ok(c);
	} else {
		if (c != NULL || err.msg[0] == '\0' || (err.line == 0) != (err.col == 0))
			abort();
		config_error_str(&err, line, sizeof(line));
	}
	config_free(c);
	return 0;
}
