/* libFuzzer target for the config loader: config_load_buf on arbitrary
 * bytes, then config_free. Beyond memory errors and leaks it checks the
 * loader's promises: a success yields a complete struct whose listeners
 * all parse and whose SNMP users are consistent, a failure yields no
 * struct and a message, and a position is only ever given together with a
 * message.
 *
 *   make VARIANT=fuzz build/fuzz/fuzz_config
 *   build/fuzz/fuzz_config -max_total_time=60 tests/fuzz/corpus/config
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Two addresses on the same UDP port, as config_snmp.c defines it. */
static int same_udp_port(const char *a, const char *b)
{
	struct sockaddr_storage x, y;
	const struct sockaddr_in *x4 = (const void *)&x, *y4 = (const void *)&y;
	const struct sockaddr_in6 *x6 = (const void *)&x, *y6 = (const void *)&y;
	static const struct in6_addr any6;

	if (config_parse_address(a, &x) != 0 || config_parse_address(b, &y) != 0)
		abort();
	if (x.ss_family != y.ss_family)
		return 0;
	if (x.ss_family == AF_INET)
		return x4->sin_port == y4->sin_port &&
		       (x4->sin_addr.s_addr == y4->sin_addr.s_addr ||
			x4->sin_addr.s_addr == 0 || y4->sin_addr.s_addr == 0);
	return x6->sin6_port == y6->sin6_port &&
	       (memcmp(&x6->sin6_addr, &y6->sin6_addr, sizeof(any6)) == 0 ||
		memcmp(&x6->sin6_addr, &any6, sizeof(any6)) == 0 ||
		memcmp(&y6->sin6_addr, &any6, sizeof(any6)) == 0);
}

static void check_engine_id(size_t len)
{
	if (len != 0 && (len < 5 || len > 32))
		abort();
}

static void check_snmp(const struct ward_config *c)
{
	unsigned i, j;

	if (c->snmp.enabled && c->snmp.n_listeners == 0)
		abort();
	if ((c->snmp.n_listeners == 0) != (c->snmp.listeners == NULL) ||
	    (c->snmp.n_communities == 0) != (c->snmp.communities == NULL) ||
	    (c->snmp.n_users == 0) != (c->snmp.users == NULL))
		abort();
	check_engine_id(c->snmp.engine_id_len);
	for (i = 0; i < c->snmp.n_communities; i++)
		if (c->snmp.communities[i] == NULL || c->snmp.communities[i][0] == '\0')
			abort();
	for (i = 0; i < c->snmp.n_listeners; i++) {
		if (config_parse_address(c->snmp.listeners[i], NULL) != 0)
			abort();
		for (j = 0; c->snmp.enabled && c->syslog.enabled && j < c->syslog.n_listeners; j++)
			if (c->syslog.listeners[j].proto == LISTEN_UDP &&
			    same_udp_port(c->snmp.listeners[i], c->syslog.listeners[j].address))
				abort();
	}
	for (i = 0; i < c->snmp.n_users; i++) {
		const struct snmp_user_conf *u = &c->snmp.users[i];

		if (u->name == NULL || u->name[0] == '\0' || strlen(u->name) > 32)
			abort();
		if ((u->auth == SNMP_AUTH_NONE) != (u->auth_password == NULL) ||
		    (u->priv == SNMP_PRIV_NONE) != (u->priv_password == NULL) ||
		    (u->priv != SNMP_PRIV_NONE && u->auth == SNMP_AUTH_NONE))
			abort();
		if ((u->auth_password && strlen(u->auth_password) < 8) ||
		    (u->priv_password && strlen(u->priv_password) < 8))
			abort();
		check_engine_id(u->engine_id_len);
		for (j = 0; j < i; j++)
			if (strcmp(c->snmp.users[j].name, u->name) == 0)
				abort();
	}
}

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
	check_snmp(c);
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
