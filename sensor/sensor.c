/* sensor: settings from the configuration, and the offline mode (a pcap
 * file to NDJSON conn records). See sensor.h. */
#include "sensor.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conn_record.h"
#include "jsonw.h"

/* ---- settings ------------------------------------------------------------ */

void sensor_settings_free(struct sensor_settings *s)
{
	if (s == NULL)
		return;
	free(s->nets);
	s->nets = NULL;
	s->n_nets = 0;
	s->flow.local_nets = NULL;
	s->flow.n_local_nets = 0;
}

static int set_nets(struct sensor_settings *s, char *const *list, size_t n, const char **bad)
{
	struct flow_net *nets = NULL;
	size_t i;

	if (n > 0 && (nets = calloc(n, sizeof(*nets))) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (config_parse_prefix(list[i], &nets[i].ip_version, nets[i].addr,
					&nets[i].prefix_len, NULL) < 0) {
			if (bad != NULL)
				*bad = list[i];
			free(nets);
			return -EINVAL;
		}
	}
	sensor_settings_free(s);
	s->nets = nets;
	s->n_nets = n;
	s->flow.local_nets = nets;
	s->flow.n_local_nets = n;
	return 0;
}

int sensor_settings_from_config(struct sensor_settings *s, const struct ward_config *cfg,
				const char *source, enum capture_backend backend)
{
	const __typeof__(cfg->sensor) *c = &cfg->sensor;

	memset(s, 0, sizeof(*s));
	s->cap.backend = backend;
	s->cap.source = source;
	s->cap.snaplen = c->snaplen;
	s->cap.promisc = c->promisc;
	s->cap.bpf = c->bpf;
	s->cap.workers = backend == CAPTURE_AF_PACKET ? c->workers : 1;
	s->cap.block_size = c->block_size;
	s->cap.block_count = c->block_count;
	s->cap.block_timeout_ms = 10;
	s->flow.mem_max = (size_t)c->flow_memory_bytes;
	s->flow.tcp_timeout_ms = c->tcp_timeout_ms;
	s->flow.udp_timeout_ms = c->udp_timeout_ms;
	s->flow.icmp_timeout_ms = c->icmp_timeout_ms;
	s->flow.active_timeout_ms = c->active_timeout_ms;
	s->stats_interval_ms = c->stats_interval_ms;
	an_config_defaults(&s->an);
	s->an.enabled = c->analyzers.enabled;
	s->an.mem_max = (size_t)c->analyzers.memory_bytes;
	s->an.depth_bytes = c->analyzers.depth_bytes;
	s->an.max_sessions = c->analyzers.max_sessions;
	s->an.user_mask = c->analyzers.user_names == SENSOR_USER_CLEAR ? AN_USER_CLEAR :
			  c->analyzers.user_names == SENSOR_USER_OMIT ? AN_USER_OMIT : AN_USER_MASK;
	s->an.max_uri_bytes = c->analyzers.max_uri_bytes;
	s->an.max_header_bytes = c->analyzers.max_header_bytes;
	s->an.file_depth_bytes = c->analyzers.file_depth_bytes;
	s->an.file_hashes = c->analyzers.file_hashes;
	s->user = c->user;
	s->device_id = cfg->agent.device_id;
	return set_nets(s, c->local_nets, c->n_local_nets, NULL);
}

int sensor_settings_set_nets(struct sensor_settings *s, const char *list, const char **bad)
{
	char *copy = strdup(list), *p, *save = NULL, **v = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (copy == NULL)
		return -ENOMEM;
	for (p = strtok_r(copy, ",", &save); p != NULL; p = strtok_r(NULL, ",", &save)) {
		if (n == cap) {
			char **nv = realloc(v, (cap ? cap * 2 : 8) * sizeof(*v));

			if (nv == NULL) {
				rc = -ENOMEM;
				goto out;
			}
			v = nv;
			cap = cap ? cap * 2 : 8;
		}
		v[n++] = p;
	}
	rc = set_nets(s, v, n, bad);
	if (rc == -EINVAL && bad != NULL)
		*bad = list + (*bad - copy);   /* point into the caller's string */
out:
	free(v);
	free(copy);
	return rc;
}

void sensor_lane_name(char *dst, const char *prefix, const char *ifname)
{
	size_t n = 0, i;

	for (i = 0; prefix[i] != '\0' && n < 32; i++)
		dst[n++] = prefix[i];
	if (n < 32)
		dst[n++] = '-';
	for (i = 0; ifname[i] != '\0' && n < 32; i++) {
		char ch = ifname[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		      ch == '_'))
			ch = '_';
		dst[n++] = ch;
	}
	dst[n] = '\0';
}

/* ---- offline ------------------------------------------------------------- */

struct file_run {
	struct decoder *dec;
	struct flow_table *ft;
	struct an_ctx *an;
	int linktype;
	FILE *out;
	struct buf rec;
	uint64_t records;
	int err;                     /* first error writing records */
};

static void file_line(struct file_run *r, const char *json, size_t len)
{
	if (r->err != 0)
		return;
	if (fwrite(json, 1, len, r->out) != len || fputc('\n', r->out) == EOF)
		r->err = -EIO;
	else
		r->records++;
}

static void file_sink(void *ctx, enum spool_class cls, const char *json, size_t len)
{
	(void)cls;
	file_line(ctx, json, len);
}

static void file_emit(void *ctx, const struct conn *conn)
{
	struct file_run *r = ctx;
	struct conn with_service;
	const struct conn *c = conn;
	int rc;

	if (r->an != NULL) {
		/* The analyzers write their last records first. */
		with_service = *conn;
		with_service.service = an_flow_end(r->an, conn);
		c = &with_service;
	}
	if (r->err != 0)
		return;
	buf_reset(&r->rec);
	rc = conn_record_write(&r->rec, c);
	if (rc == 0)
		rc = buf_append_byte(&r->rec, '\n');
	if (rc == 0 && fwrite(r->rec.data, 1, r->rec.len, r->out) != r->rec.len)
		rc = -EIO;
	if (rc < 0)
		r->err = rc;
	else
		r->records++;
}

static void file_frame(void *ctx, const struct capture_frame *f)
{
	struct file_run *r = ctx;
	struct flow_ref ref;
	struct pkt p;

	if (decoder_decode(r->dec, r->linktype, f->data, f->caplen, f->wirelen, f->ts_us,
			   &p) == DECODE_OK &&
	    flow_table_update_ref(r->ft, &p, &ref) == 0 && r->an != NULL)
		an_packet(r->an, &ref, &p);
}

static void add_weird(void *arg, const char *name, uint64_t n)
{
	struct sensor_file_stats *st = arg;
	uint32_t max = sizeof(st->weird) / sizeof(st->weird[0]);

	if (st->n_weird < max) {
		st->weird[st->n_weird].name = name;
		st->weird[st->n_weird++].n = n;
	}
}

int sensor_read_file(const struct sensor_settings *s, FILE *out, struct sensor_file_stats *st,
		     char *err, size_t errlen)
{
	struct capture_config cc = s->cap;
	struct capture *cap = NULL;
	struct file_run r;
	int rc;

	memset(&r, 0, sizeof(r));
	buf_init(&r.rec);
	r.out = out;
	err[0] = '\0';
	cc.backend = CAPTURE_FILE;
	cc.workers = 1;
	rc = capture_open(&cap, &cc, err, errlen);
	if (rc < 0)
		goto out;
	r.linktype = capture_linktype(cap);
	if ((rc = decoder_create(&r.dec, &s->dec)) < 0 ||
	    (rc = flow_table_create(&r.ft, &s->flow, file_emit, &r)) < 0) {
		snprintf(err, errlen, "%s", rc == -ENOMEM ? "out of memory (see --flow-mem)" :
			 "flow memory too small for one flow");
		goto out;
	}
	if (s->an.enabled && (rc = an_ctx_create(&r.an, &s->an, r.ft, file_sink, &r)) < 0) {
		snprintf(err, errlen, "%s", rc == -ENOMEM ? "out of memory" :
			 "bad analyzer settings");
		goto out;
	}
	while ((rc = capture_dispatch(cap, 0, file_frame, &r, -1)) >= 0 && r.err == 0)
		;
	if (rc == -ENODATA)
		rc = 0;
	else if (rc < 0 && err[0] == '\0')
		snprintf(err, errlen, "read error: %s", strerror(-rc));
	/* Flows seen before a read error are still reported. */
	flow_table_flush(r.ft);
	if (fflush(out) != 0 && r.err == 0)
		r.err = -EIO;
	if (r.err != 0 && rc == 0) {
		rc = r.err;
		snprintf(err, errlen, "%s", rc == -ENOMEM ? "out of memory" :
			 "cannot write the records (standard output)");
	}
out:
	if (st != NULL) {
		memset(st, 0, sizeof(*st));
		if (r.dec != NULL)
			st->dec = *decoder_stats(r.dec);
		if (r.ft != NULL)
			st->flow = *flow_table_stats(r.ft);
		if (r.an != NULL) {
			st->an = *an_ctx_stats(r.an);
			an_weirds(r.an, add_weird, st);
		}
		st->records = r.records;
	}
	if (rc < 0 && err[0] == '\0')
		snprintf(err, errlen, "%s", strerror(-rc));
	an_ctx_destroy(r.an);
	flow_table_destroy(r.ft);
	decoder_destroy(r.dec);
	capture_close(cap);
	buf_free(&r.rec);
	return rc;
}

int sensor_file_stats_write(const struct sensor_file_stats *st, FILE *f)
{
	struct buf b = BUF_INIT;
	struct jsonw w;
	unsigned i;
	int rc;

	jsonw_init(&w, &b);
	jsonw_object_open(&w);
	jsonw_kv_uint(&w, "packets", st->dec.frames);
	jsonw_kv_uint(&w, "bytes", st->dec.bytes);
	jsonw_key(&w, "decode_errors");
	jsonw_object_open(&w);
	/* Every reason, zeros too: a reader can count on the keys. */
	for (i = 0; i < DECODE_R_MAX; i++)
		jsonw_kv_uint(&w, decode_reject_name((enum decode_reject)i), st->dec.rejects[i]);
	jsonw_object_close(&w);
	jsonw_kv_uint(&w, "flows", st->flow.flows_created);
	jsonw_kv_uint(&w, "evicted", st->flow.evicted_pressure);
	jsonw_kv_uint(&w, "fragments", st->dec.fragments);
	jsonw_kv_uint(&w, "reassembled", st->dec.reassembled);
	jsonw_kv_uint(&w, "records", st->records);
	jsonw_key(&w, "analyzers");
	an_stats_write(&w, &st->an);
	jsonw_key(&w, "weird");
	jsonw_object_open(&w);
	for (i = 0; i < st->n_weird; i++)
		jsonw_kv_uint(&w, st->weird[i].name, st->weird[i].n);
	jsonw_object_close(&w);
	jsonw_object_close(&w);
	rc = jsonw_finish(&w);
	if (rc == 0)
		rc = buf_append_byte(&b, '\n');
	if (rc == 0 && (fwrite(b.data, 1, b.len, f) != b.len || fflush(f) != 0))
		rc = -EIO;
	buf_free(&b);
	return rc;
}
