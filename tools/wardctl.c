/* wardctl: the local command line for ward-agent.
 *
 *   wardctl status [--json]     what the probe is doing, in plain words: the
 *                               mirror ports, inputs, spool, uplink, errors
 *   wardctl reload              re-read the configuration (like SIGHUP)
 *   wardctl flush               close open spool segments now
 *   wardctl spool cat LANE      print a lane's records (read-only)
 *
 * It talks to the agent's control socket (./ward.sock by default, as the
 * compiled-in configuration puts it in the working directory).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "ctl.h"
#include "spool.h"

#define DEFAULT_SOCKET "ward.sock"

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static json_int_t jint(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static void human_bytes(double b, char *dst, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int i = 0;

	while (b >= 1024 && i < 4) {
		b /= 1024;
		i++;
	}
	snprintf(dst, len, i ? "%.1f %s" : "%.0f %s", b, unit[i]);
}

static void human_age(double s, char *dst, size_t len)
{
	if (s < 120)
		snprintf(dst, len, "%.0fs", s);
	else if (s < 7200)
		snprintf(dst, len, "%.0fm", s / 60);
	else if (s < 172800)
		snprintf(dst, len, "%.1fh", s / 3600);
	else
		snprintf(dst, len, "%.1fd", s / 86400);
}

static void print_inputs(json_t *st)
{
	json_t *syslog = json_object_get(st, "syslog");
	json_t *ls = json_object_get(syslog, "listeners"), *l;
	size_t i;

	printf("\nInputs\n");
	if (json_array_size(ls) == 0) {
		printf("  (none: the receiver process has not reported yet)\n");
		return;
	}
	printf("  %-18s %-24s %-10s %9s %11s %7s %8s %6s\n", "INPUT", "ADDRESS", "STATE", "MSG/S",
	       "MESSAGES", "ERRORS", "DROPPED", "CONNS");
	json_array_foreach(ls, i, l) {
		char name[32];

		snprintf(name, sizeof(name), "syslog/%s", jstr(l, "proto"));
		printf("  %-18s %-24s %-10s %9.1f %11" JSON_INTEGER_FORMAT " %7" JSON_INTEGER_FORMAT
		       " %8" JSON_INTEGER_FORMAT " %6" JSON_INTEGER_FORMAT "\n",
		       name, jstr(l, "address"),
		       json_is_true(json_object_get(l, "listening")) ? "listening" : "DOWN",
		       json_number_value(json_object_get(l, "rate")),
		       jint(l, "messages"), jint(l, "parse_errors") + jint(l, "errors"),
		       jint(l, "dropped_kernel") + jint(l, "dropped_spool"),
		       jint(l, "connections"));
	}
	if (json_is_true(json_object_get(syslog, "paused")))
		printf("  reading is paused: the spool is not keeping up (backpressure)\n");
}

static json_int_t rejects_total(json_t *rejects)
{
	const char *k;
	json_t *v;
	json_int_t n = 0;

	json_object_foreach(rejects, k, v)
		n += json_integer_value(v);
	return n;
}

static void print_rejects(json_t *rejects)
{
	const char *k;
	json_t *v;

	json_object_foreach(rejects, k, v)
		printf(" %s=%" JSON_INTEGER_FORMAT, k, json_integer_value(v));
}

/* A table of sending hosts: address, `count_key` (records), rejects by
 * reason, last seen. */
static void print_source_rows(json_t *srcs, const char *count_key)
{
	json_t *src;
	size_t i;

	if (json_array_size(srcs) == 0)
		return;
	printf("  %-40s %11s %9s  %s\n", "SOURCE", "RECORDS", "REJECTED", "LAST SEEN");
	json_array_foreach(srcs, i, src) {
		printf("  %-40s %11" JSON_INTEGER_FORMAT " %9" JSON_INTEGER_FORMAT "  %-20.19s",
		       jstr(src, "address"), jint(src, count_key),
		       rejects_total(json_object_get(src, "rejects")), jstr(src, "last_seen"));
		print_rejects(json_object_get(src, "rejects"));
		printf("\n");
	}
}

static void print_snmp(json_t *st)
{
	json_t *snmp = json_object_get(st, "snmp"), *c, *ls, *l, *srcs;
	size_t i;

	if (snmp == NULL)
		return;
	c = json_object_get(snmp, "counters");
	ls = json_object_get(snmp, "listeners");
	srcs = json_object_get(snmp, "sources");
	printf("\nSNMP traps and informs (engine %s, boots %" JSON_INTEGER_FORMAT ")\n",
	       jstr(json_object_get(snmp, "engine"), "engine_id"),
	       jint(json_object_get(snmp, "engine"), "boots"));
	json_array_foreach(ls, i, l)
		printf("  snmp/udp  %-24s %-10s %9" JSON_INTEGER_FORMAT " datagrams %6" JSON_INTEGER_FORMAT
		       " dropped\n", jstr(l, "address"),
		       json_is_true(json_object_get(l, "listening")) ? "listening" : "DOWN",
		       jint(l, "datagrams"), jint(l, "dropped_kernel"));
	printf("  traps %" JSON_INTEGER_FORMAT ", informs %" JSON_INTEGER_FORMAT
	       " (%" JSON_INTEGER_FORMAT " acknowledged), rejected %" JSON_INTEGER_FORMAT,
	       jint(c, "traps"), jint(c, "informs"), jint(c, "informs_acknowledged"),
	       rejects_total(json_object_get(c, "rejects")));
	if (rejects_total(json_object_get(c, "rejects")) > 0) {
		printf(":");
		print_rejects(json_object_get(c, "rejects"));
	}
	printf("\n");
	/* Loss inside ward, as opposed to bad input: spelled out when any. */
	if (jint(c, "dropped_spool") + jint(c, "dropped_nomem") + jint(c, "dropped_io") +
	    jint(c, "informs_unacknowledged") > 0)
		printf("  LOST: %" JSON_INTEGER_FORMAT " refused by the spool, %" JSON_INTEGER_FORMAT
		       " out of memory, %" JSON_INTEGER_FORMAT " crypto errors; %" JSON_INTEGER_FORMAT
		       " informs not acknowledged\n", jint(c, "dropped_spool"), jint(c, "dropped_nomem"),
		       jint(c, "dropped_io"), jint(c, "informs_unacknowledged"));
	print_source_rows(srcs, "messages");
}

/* The EDR relay (agent/edr): each input, what it took and refused, and
 * each sending host. */
static void print_edr(json_t *st)
{
	json_t *edr = json_object_get(st, "edr"), *ls, *l;
	size_t i;

	if (edr == NULL)
		return;
	ls = json_object_get(edr, "listeners");
	printf("\nEDR relay%s\n", json_is_true(json_object_get(edr, "paused")) ?
	       " (PAUSED: the spool is behind; Lumberjack ACKs wait, HEC answers 503)" : "");
	json_array_foreach(ls, i, l) {
		json_t *acks = json_object_get(l, "acks");

		printf("  %-10s %-22s %-5s %-10s %4" JSON_INTEGER_FORMAT " conn %9" JSON_INTEGER_FORMAT
		       " events %8" JSON_INTEGER_FORMAT " %s, rejected %" JSON_INTEGER_FORMAT,
		       jstr(l, "input"), jstr(l, "address"),
		       json_is_true(json_object_get(l, "tls")) ? "tls" : "plain",
		       json_is_true(json_object_get(l, "listening")) ? "listening" : "DOWN",
		       jint(l, "connections"), jint(l, "events"),
		       acks != NULL ? json_integer_value(acks) : jint(l, "requests"),
		       acks != NULL ? "acks" : "requests",
		       rejects_total(json_object_get(l, "rejects")));
		if (rejects_total(json_object_get(l, "rejects")) > 0) {
			printf(":");
			print_rejects(json_object_get(l, "rejects"));
		}
		printf("\n");
	}
	print_source_rows(json_object_get(edr, "sources"), "events");
}

static void print_sources(json_t *st)
{
	json_t *srcs = json_object_get(json_object_get(st, "syslog"), "sources"), *s;
	size_t i;

	printf("\nLog sources (%zu)\n", json_array_size(srcs));
	if (json_array_size(srcs) == 0) {
		printf("  none yet: point a device's syslog at this probe\n");
		return;
	}
	printf("  %-40s %11s %10s %7s %-20s %-20s\n", "SOURCE", "MESSAGES", "BYTES", "ERRORS",
	       "FIRST SEEN", "LAST SEEN");
	json_array_foreach(srcs, i, s) {
		char bytes[24];

		human_bytes((double)jint(s, "bytes"), bytes, sizeof(bytes));
		printf("  %-40s %11" JSON_INTEGER_FORMAT " %10s %7" JSON_INTEGER_FORMAT
		       " %-20.19s %-20.19s\n", jstr(s, "address"), jint(s, "messages"), bytes,
		       jint(s, "parse_errors"), jstr(s, "first_seen"), jstr(s, "last_seen"));
	}
}

static void print_spool(json_t *st)
{
	json_t *sp = json_object_get(st, "spool"), *lanes = json_object_get(sp, "lanes"), *l;
	char used[24], budget[24], sbytes[24], obytes[24];
	json_int_t b = jint(sp, "budget_bytes");
	size_t i;

	human_bytes((double)jint(sp, "used_bytes"), used, sizeof(used));
	human_bytes((double)b, budget, sizeof(budget));
	human_bytes((double)jint(sp, "spool_bytes"), sbytes, sizeof(sbytes));
	human_bytes((double)jint(sp, "outbox_bytes"), obytes, sizeof(obytes));
	printf("\nSpool %s + outbox %s: %s of %s budget (%.0f%%; spool %s, outbox %s)\n",
	       jstr(sp, "dir"), json_object_get(sp, "outbox") ? jstr(sp, "outbox") : "-", used,
	       budget, b ? 100.0 * (double)jint(sp, "used_bytes") / (double)b : 0.0, sbytes,
	       obytes);
	printf("  %-12s %-5s %9s %11s %10s %8s %8s\n", "LANE", "CLASS", "SEGMENTS", "RECORDS",
	       "BYTES", "BATCHES", "OLDEST");
	json_array_foreach(lanes, i, l) {
		char bytes[24], age[24] = "-", recs[24] = "-";
		json_t *a = json_object_get(l, "oldest_age_s");

		human_bytes((double)jint(l, "bytes"), bytes, sizeof(bytes));
		if (a != NULL)
			human_age(json_real_value(a), age, sizeof(age));
		if (json_object_get(l, "records") != NULL)
			snprintf(recs, sizeof(recs), "%" JSON_INTEGER_FORMAT, jint(l, "records"));
		printf("  %-12s %-5s %9" JSON_INTEGER_FORMAT " %11s %10s %8" JSON_INTEGER_FORMAT
		       " %8s\n", jstr(l, "name"), jstr(l, "class"), jint(l, "segments"), recs, bytes,
		       jint(l, "batches"), age);
	}
}

static void print_losses(json_t *st)
{
	json_t *lo = json_object_get(st, "losses");
	json_int_t ev = jint(lo, "evicted_records"), k = jint(lo, "dropped_kernel"),
		   sp = jint(lo, "dropped_spool");

	printf("\nLosses: ");
	if (ev == 0 && k == 0 && sp == 0) {
		printf("none\n");
		return;
	}
	printf("\n");
	if (ev)
		printf("  %" JSON_INTEGER_FORMAT " records evicted (%" JSON_INTEGER_FORMAT
		       " segments, %" JSON_INTEGER_FORMAT " sealed batches) to stay within the "
		       "disk budget\n", ev, jint(lo, "evicted_segments"),
		       jint(lo, "evicted_batches"));
	if (k)
		printf("  %" JSON_INTEGER_FORMAT " UDP messages dropped by the kernel (receive "
		       "buffer full: raise syslog.udp_rcvbuf_bytes)\n", k);
	if (sp)
		printf("  %" JSON_INTEGER_FORMAT " messages dropped because the spool was full\n", sp);
}

/* Which SOC endpoint is in use and why, each endpoint's state and last
 * error, the requests in flight, the last success and error, the outbox
 * backlog per class and what the SOC acknowledged. */
static void print_uplink(json_t *st)
{
	json_t *up = json_object_get(st, "uplink"), *eps, *e, *bl, *sealers, *sl, *cl;
	char bytes[24], age[24], rate[32];
	json_int_t sealed = 0, last;
	size_t i;

	if (up == NULL)
		return;
	if (!json_is_true(json_object_get(up, "enabled"))) {
		printf("\nUplink: off (uplink.enabled is false): records stay in the spool\n");
		return;
	}
	eps = json_object_get(up, "endpoints");
	bl = json_object_get(up, "backlog");
	sealers = json_object_get(up, "sealers");
	if (jint(up, "rate_bytes_per_s"))
		snprintf(rate, sizeof(rate), "%" JSON_INTEGER_FORMAT " bytes/s",
			 jint(up, "rate_bytes_per_s"));
	else
		snprintf(rate, sizeof(rate), "unlimited");
	printf("\nUplink: %s, rate limit %s", jstr(up, "state"), rate);
	if (jstr(up, "rate_window")[0])
		printf(" (%s)", jstr(up, "rate_window"));
	printf(", %" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT " requests in flight\n",
	       jint(up, "in_flight"), jint(up, "max_in_flight"));
	if (jstr(up, "proxy")[0])
		printf("  through HTTP proxy %s\n", jstr(up, "proxy"));
	if (jint(up, "active") >= 0 && json_array_size(eps) > 0)
		printf("  using %s: %s\n",
		       jstr(json_array_get(eps, (size_t)jint(up, "active")), "endpoint"),
		       jstr(up, "active_reason"));
	else if (json_object_get(up, "active") != NULL)
		printf("  no endpoint in use%s%s\n", jstr(up, "active_reason")[0] ? ": " : "",
		       jstr(up, "active_reason"));
	if (json_array_size(eps) > 0)
		printf("  %-32s %-11s %9s %9s  %s\n", "ENDPOINT", "STATE", "ACKED", "FAILURES",
		       "LAST ERROR");
	json_array_foreach(eps, i, e)
		printf("  %-32s %-11s %9" JSON_INTEGER_FORMAT " %9" JSON_INTEGER_FORMAT "  %s\n",
		       jstr(e, "endpoint"), jstr(e, "state"), jint(e, "batches_acked"),
		       jint(e, "failures"), jstr(e, "last_error")[0] ? jstr(e, "last_error") : "-");
	last = jint(up, "last_success_s");
	if (last > 0) {
		human_age((double)(time(NULL) - last), age, sizeof(age));
		printf("  last success %s ago (%s)\n", age, jstr(up, "last_success"));
	} else if (json_object_get(up, "last_success_s") != NULL) {
		printf("  no batch acknowledged yet\n");
	}
	if (jstr(up, "last_error")[0])
		printf("  last error: %s\n", jstr(up, "last_error"));
	json_array_foreach(sealers, i, sl)
		sealed += jint(sl, "batches");
	human_bytes((double)jint(bl, "bytes"), bytes, sizeof(bytes));
	human_age((double)jint(bl, "oldest_age_s"), age, sizeof(age));
	printf("  backlog %" JSON_INTEGER_FORMAT " batches (%s) in %s", jint(bl, "batches"), bytes,
	       jstr(up, "outbox"));
	if (jint(bl, "batches"))
		printf(", oldest %s", age);
	printf("\n");
	json_array_foreach(json_object_get(bl, "classes"), i, cl) {
		if (!jint(cl, "batches"))
			continue;
		human_bytes((double)jint(cl, "bytes"), bytes, sizeof(bytes));
		human_age((double)jint(cl, "oldest_age_s"), age, sizeof(age));
		printf("    %s: %" JSON_INTEGER_FORMAT " batches (%s), oldest %s\n",
		       jstr(cl, "class"), jint(cl, "batches"), bytes, age);
	}
	printf("  sealed %" JSON_INTEGER_FORMAT " batches, acknowledged %" JSON_INTEGER_FORMAT
	       ", quarantined %" JSON_INTEGER_FORMAT "\n", sealed, jint(up, "batches_acked"),
	       jint(up, "batches_quarantined"));
	if (jint(bl, "quarantined_files"))
		printf("  %" JSON_INTEGER_FORMAT " files in %s/quarantine: batches the SOC refused\n",
		       jint(bl, "quarantined_files"), jstr(up, "outbox"));
}

/* The mirror ports (one ward-sensor each): the first thing a field
 * engineer racking the probe checks. Does the port get traffic, which
 * VLANs, is anything dropped or lost, and what to fix. */
static void human_bits(double b, char *dst, size_t len)
{
	static const char *const unit[] = { "bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s" };
	int i = 0;

	while (b >= 1000 && i < 4) {
		b /= 1000;
		i++;
	}
	snprintf(dst, len, i ? "%.1f %s" : "%.0f %s", b, unit[i]);
}

static void print_sensor(json_t *m)
{
	json_t *vlans = json_object_get(m, "vlans"), *v, *off = json_object_get(m, "offload");
	json_int_t cap = jint(m, "flows_capacity");
	char bits[32];
	size_t i;

	printf("  %s  %s", jstr(m, "interface"),
	       strcmp(jstr(m, "process"), "running") != 0 ? jstr(m, "process") :
	       jstr(m, "state")[0] ? jstr(m, "state") : "starting");
	if (jstr(m, "backend")[0])
		printf(" (%s, %" JSON_INTEGER_FORMAT " worker%s", jstr(m, "backend"),
		       jint(m, "workers"), jint(m, "workers") == 1 ? "" : "s");
	if (jint(m, "pid"))
		printf("%spid %" JSON_INTEGER_FORMAT, jstr(m, "backend")[0] ? ", " : " (",
		       jint(m, "pid"));
	if (jstr(m, "backend")[0] || jint(m, "pid"))
		printf(")");
	if (jint(m, "restarts"))
		printf(", %" JSON_INTEGER_FORMAT " restarts, last %s", jint(m, "restarts"),
		       jstr(m, "last_exit"));
	printf("\n");
	human_bits(json_number_value(json_object_get(m, "bps")), bits, sizeof(bits));
	printf("    traffic   %.1f pps, %s (%" JSON_INTEGER_FORMAT " packets since start)\n",
	       json_number_value(json_object_get(m, "pps")), bits, jint(m, "packets"));
	printf("    drops     kernel %" JSON_INTEGER_FORMAT " (%.2f%%), capture loss %.2f%% "
	       "(ACKed bytes never seen)\n", jint(m, "kernel_drops"),
	       json_number_value(json_object_get(m, "kernel_drop_pct")),
	       json_number_value(json_object_get(m, "capture_loss_pct")));
	printf("    VLANs     ");
	if (json_array_size(vlans) == 0)
		printf("none seen (untagged traffic only)");
	json_array_foreach(vlans, i, v)
		printf("%s%" JSON_INTEGER_FORMAT, i ? ", " : "", json_integer_value(v));
	if (jint(m, "vlans_seen") > (json_int_t)json_array_size(vlans))
		printf(" ... (%" JSON_INTEGER_FORMAT " seen)", jint(m, "vlans_seen"));
	printf("\n");
	printf("    flows     %" JSON_INTEGER_FORMAT " active of %" JSON_INTEGER_FORMAT
	       " (%.1f%%), %" JSON_INTEGER_FORMAT " since start, %" JSON_INTEGER_FORMAT
	       " evicted (table full)\n", jint(m, "flows_active"), cap,
	       cap ? 100.0 * (double)jint(m, "flows_active") / (double)cap : 0.0,
	       jint(m, "flows"), jint(m, "flows_evicted"));
	printf("    records   %" JSON_INTEGER_FORMAT " conn, %" JSON_INTEGER_FORMAT " dropped, %"
	       JSON_INTEGER_FORMAT " notices", jint(m, "records"), jint(m, "records_dropped"),
	       jint(m, "notices"));
	if (rejects_total(json_object_get(m, "decode_errors")) > 0) {
		printf("; frames not decoded:");
		print_rejects(json_object_get(m, "decode_errors"));
	}
	printf("\n");
	if (!json_is_true(json_object_get(off, "known")))
		printf("    offload   GRO/LRO unknown (ethtool could not tell)\n");
	else if (json_object_get(off, "warning") != NULL)
		printf("    offload   WARNING: %s\n              fix: %s\n", jstr(off, "warning"),
		       jstr(off, "fix"));
	else
		printf("    offload   GRO and LRO off (good)\n");
	if (jstr(m, "last_error")[0])
		printf("    error     %s\n", jstr(m, "last_error"));
}

static void print_sensors(json_t *st)
{
	json_t *ss = json_object_get(st, "sensors"), *m;
	size_t i;

	if (ss == NULL)
		return;
	printf("\nMirror ports\n");
	if (json_array_size(ss) == 0)
		printf("  none configured (sensor.interfaces in the configuration)\n");
	json_array_foreach(ss, i, m)
		print_sensor(m);
}

static int print_status(json_t *st)
{
	json_t *ag = json_object_get(st, "agent"), *rc = json_object_get(st, "receivers");
	json_t *errors = json_object_get(st, "errors"), *e;
	char up[24];
	size_t i;

	human_age(json_real_value(json_object_get(ag, "uptime_s")), up, sizeof(up));
	printf("ward-agent %s   device %s   pid %" JSON_INTEGER_FORMAT "   up %s\n",
	       jstr(ag, "version"), jstr(ag, "device_id"), jint(ag, "pid"), up);
	printf("config      %s (last reload: %s)\n", jstr(ag, "config"), jstr(ag, "last_reload"));
	printf("receivers   %s", jstr(rc, "state"));
	if (jint(rc, "pid"))
		printf(" (pid %" JSON_INTEGER_FORMAT ")", jint(rc, "pid"));
	if (jint(rc, "restarts"))
		printf(", %" JSON_INTEGER_FORMAT " restarts, last %s", jint(rc, "restarts"),
		       jstr(rc, "last_exit"));
	printf("\n");
	print_sensors(st);
	print_inputs(st);
	print_sources(st);
	print_snmp(st);
	print_edr(st);
	print_spool(st);
	print_uplink(st);
	print_losses(st);
	printf("\nErrors: %s\n", json_array_size(errors) ? "" : "none");
	json_array_foreach(errors, i, e)
		printf("  - %s\n", json_string_value(e));
	return json_array_size(errors) ? 1 : 0;
}

static int cmd_request(const char *sock, const char *req, int json_out)
{
	struct buf reply = BUF_INIT;
	json_error_t jerr;
	json_t *j;
	int rc;

	rc = ctl_request(sock, req, &reply, 5000);
	if (rc < 0) {
		fprintf(stderr, "wardctl: cannot reach ward-agent at %s: %s%s\n", sock, strerror(-rc),
			rc == -ENOENT || rc == -ECONNREFUSED ?
			" (is ward-agent running in this directory? use -s SOCKET)" : "");
		buf_free(&reply);
		return 3;
	}
	if (json_out || strcmp(req, "status") != 0) {
		fwrite(reply.data, 1, reply.len, stdout);
		j = json_loadb((const char *)reply.data, reply.len, 0, &jerr);
		rc = j && json_is_false(json_object_get(j, "ok")) ? 1 : 0;
		json_decref(j);
		buf_free(&reply);
		return rc;
	}
	j = json_loadb((const char *)reply.data, reply.len, 0, &jerr);
	buf_free(&reply);
	if (j == NULL) {
		fprintf(stderr, "wardctl: unreadable answer from ward-agent: %s\n", jerr.text);
		return 3;
	}
	rc = print_status(j);
	json_decref(j);
	/* Exit 0 healthy, 1 with errors listed: scripts can test it. */
	return rc;
}

/* ---- spool cat -------------------------------------------------------------- */

struct cat_ctx {
	int with_seq;
	uint64_t records, corrupt;
};

static void cat_record(const struct spool_record *rec, void *arg)
{
	struct cat_ctx *c = arg;

	if (c->with_seq)
		printf("%" PRIu64 "\t", rec->seq);
	fwrite(rec->data, 1, rec->len, stdout);
	putchar('\n');
	c->records++;
}

static void cat_corrupt(size_t off, size_t len, void *arg)
{
	struct cat_ctx *c = arg;

	(void)off;
	c->corrupt += len;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads every segment, closed and open, without changing anything: safe
 * while the agent runs. */
static int cmd_spool_cat(const char *dir, const char *lane, int with_seq)
{
	struct cat_ctx c = { .with_seq = with_seq };
	char path[4096], **names = NULL;
	size_t n = 0, i;
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", dir, lane);
	d = opendir(path);
	if (d == NULL) {
		fprintf(stderr, "wardctl: no lane %s: %s\n", path, strerror(errno));
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		char **p;

		if (len < 5 || (strcmp(de->d_name + len - 4, ".seg") != 0 &&
				strcmp(de->d_name + len - 5, ".open") != 0))
			continue;
		p = realloc(names, (n + 1) * sizeof(*names));
		if (p == NULL)
			break;
		names = p;
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	/* Names are zero-padded first seqs: lexical order is seq order. */
	qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		struct buf b = BUF_INIT;
		char tmp[65536];
		ssize_t r;
		int fd;

		snprintf(path, sizeof(path), "%s/%s/%s", dir, lane, names[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && strstr(path, ".open") != NULL) {
			/* Closed since we listed it: same records, new name. */
			strcpy(strstr(path, ".open"), ".seg");
			fd = open(path, O_RDONLY | O_CLOEXEC);
		}
		if (fd >= 0) {
			while ((r = read(fd, tmp, sizeof(tmp))) > 0)
				buf_append(&b, tmp, (size_t)r);
			close(fd);
			if (b.len > SPOOL_SEG_HDR_SIZE)
				(void)spool_scan(b.data, b.len, 64u << 20, cat_record, cat_corrupt, &c);
		}
		buf_free(&b);
		free(names[i]);
	}
	free(names);
	fprintf(stderr, "wardctl: %" PRIu64 " records from %zu segments", c.records, n);
	if (c.corrupt)
		fprintf(stderr, ", %" PRIu64 " bytes did not frame", c.corrupt);
	fprintf(stderr, "\n");
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: wardctl [-s SOCKET] COMMAND\n"
		"\n"
		"  status [--json]          mirror ports, inputs, log sources, spool, uplink, losses\n"
		"                           and errors;\n"
		"                           exit 0 when healthy, 1 when errors are listed\n"
		"  reload                   re-read the configuration file (as SIGHUP)\n"
		"  flush                    close the open spool segments now\n"
		"  spool cat [--dir DIR] [--seq] LANE\n"
		"                           print a lane's records as NDJSON (read-only)\n"
		"\n"
		"  -s SOCKET   the agent's control socket (default ./%s, or $WARD_SOCKET)\n",
		DEFAULT_SOCKET);
}

int main(int argc, char **argv)
{
	const char *sock = getenv("WARD_SOCKET");
	int i;

	if (sock == NULL)
		sock = DEFAULT_SOCKET;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
			sock = argv[++i];
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[i], "status") == 0)
		return cmd_request(sock, "status", i + 1 < argc && strcmp(argv[i + 1], "--json") == 0);
	if (strcmp(argv[i], "reload") == 0 || strcmp(argv[i], "flush") == 0)
		return cmd_request(sock, argv[i], 1);
	if (strcmp(argv[i], "spool") == 0 && i + 1 < argc && strcmp(argv[i + 1], "cat") == 0) {
		const char *dir = "spool", *lane = NULL;
		int seq = 0;

		for (i += 2; i < argc; i++) {
			if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
				dir = argv[++i];
			else if (strcmp(argv[i], "--seq") == 0)
				seq = 1;
			else
				lane = argv[i];
		}
		if (lane == NULL) {
			usage(stderr);
			return 2;
		}
		return cmd_spool_cat(dir, lane, seq);
	}
	usage(stderr);
	return 2;
}
