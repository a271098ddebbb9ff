/* conn_record: struct conn to JSON (see conn_record.h). */
#include "conn_record.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "jsonw.h"

const char *conn_proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	/* Zeek's transport_proto has no icmp6: ICMPv6 is "icmp" too. */
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: return "icmp";
	}
	return "unknown_transport";
}

static void addr(struct jsonw *w, const char *key, uint8_t ip_version, const uint8_t *a)
{
	char text[INET6_ADDRSTRLEN];

	if (inet_ntop(ip_version == 6 ? AF_INET6 : AF_INET, a, text, sizeof(text)) == NULL)
		text[0] = '\0';   /* cannot happen with these buffer sizes */
	jsonw_key(w, key);
	jsonw_string_ascii(w, text, strlen(text));
}

void conn_record_id(struct jsonw *w, const struct conn *c)
{
	jsonw_kv_cstr(w, "uid", c->uid);
	addr(w, "id.orig_h", c->ip_version, c->orig_h);
	jsonw_kv_uint(w, "id.orig_p", c->orig_p);
	addr(w, "id.resp_h", c->ip_version, c->resp_h);
	jsonw_kv_uint(w, "id.resp_p", c->resp_p);
}

/* Seconds with six decimals: an exact decimal of the µs count, where a
 * double printed by %g could round it. */
static void seconds(struct jsonw *w, struct buf *out, const char *key, uint64_t us)
{
	jsonw_key(w, key);
	jsonw_uint(w, us / 1000000);
	if (w->err == 0 && buf_printf(out, ".%06u", (unsigned)(us % 1000000)) < 0)
		w->err = -ENOMEM;
}

int conn_record_write(struct buf *out, const struct conn *c)
{
	struct jsonw w;

	jsonw_init(&w, out);
	jsonw_object_open(&w);
	jsonw_kv_ascii(&w, "type", "conn");
	jsonw_kv_time_us(&w, "ts", (int64_t)c->ts_us);
	conn_record_id(&w, c);
	jsonw_kv_ascii(&w, "proto", conn_proto_name(c->proto));
	if (c->service != NULL)
		jsonw_kv_cstr(&w, "service", c->service);
	seconds(&w, out, "duration", c->duration_us);
	if (c->bytes_known) {
		jsonw_kv_uint(&w, "orig_bytes", c->orig_bytes);
		jsonw_kv_uint(&w, "resp_bytes", c->resp_bytes);
	}
	jsonw_kv_ascii(&w, "conn_state", conn_state_name(c->conn_state));
	jsonw_kv_bool(&w, "local_orig", c->local_orig);
	jsonw_kv_bool(&w, "local_resp", c->local_resp);
	jsonw_kv_uint(&w, "missed_bytes", c->missed_bytes);
	/* The flow table's own letters; jsonw_kv_cstr escapes whatever it
	 * holds, so a bug there cannot break the JSON. */
	jsonw_kv_cstr(&w, "history", c->history);
	jsonw_kv_uint(&w, "orig_pkts", c->orig_pkts);
	jsonw_kv_uint(&w, "orig_ip_bytes", c->orig_ip_bytes);
	jsonw_kv_uint(&w, "resp_pkts", c->resp_pkts);
	jsonw_kv_uint(&w, "resp_ip_bytes", c->resp_ip_bytes);
	if (c->vlan != 0)
		jsonw_kv_uint(&w, "vlan", c->vlan);
	if (c->inner_vlan != 0)
		jsonw_kv_uint(&w, "inner_vlan", c->inner_vlan);
	jsonw_kv_cstr(&w, "community_id", c->community_id);
	if (c->interim)
		jsonw_kv_bool(&w, "interim", true);
	if (c->evicted)
		jsonw_kv_bool(&w, "evicted", true);
	jsonw_object_close(&w);
	return jsonw_finish(&w);
}
