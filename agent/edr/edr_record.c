/* edr_record: see edr_record.h. */
#include "edr_record.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"

const char *edr_input_name(enum edr_input in)
{
	switch (in) {
	case EDR_INPUT_LUMBERJACK: return "lumberjack";
	case EDR_INPUT_HEC: return "hec";
	case EDR_INPUT_HEC_RAW: return "hec_raw";
	}
	return "?";
}

static const char *auth_name(enum edr_auth a)
{
	switch (a) {
	case EDR_AUTH_NONE: return "none";
	case EDR_AUTH_TOKEN: return "token";
	case EDR_AUTH_CLIENT_CERT: return "client_cert";
	}
	return "?";
}

/* ---- time ------------------------------------------------------------------ */

static int digits(const char **p, int n, int *v)
{
	int x = 0;

	while (n-- > 0) {
		if (**p < '0' || **p > '9')
			return -EINVAL;
		x = x * 10 + (*(*p)++ - '0');
	}
	*v = x;
	return 0;
}

int edr_parse_time(const char *s, int64_t *us)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	int64_t frac = 0, scale = 1000000, t;
	const char *p = s;

	*us = 0;
	if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 || *p++ != '-' ||
	    digits(&p, 2, &d) < 0 || (*p != 'T' && *p != 't' && *p != ' '))
		return -EINVAL;
	p++;
	if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0 || *p++ != ':' ||
	    digits(&p, 2, &sec) < 0)
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > time_days_in_month(y, mo) || h > 23 || mi > 59 ||
	    sec > 60)
		return -EINVAL;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (scale > 1) {
				scale /= 10;
				frac += (*p - '0') * scale;
			}
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (digits(&p, 2, &oh) < 0)
			return -EINVAL;
		if (*p == ':')
			p++;
		if (digits(&p, 2, &om) < 0 || oh > 23 || om > 59)
			return -EINVAL;
	}
	/* Sysmon's UtcTime has no zone: it is UTC by its name. */
	if (*p != '\0')
		return -EINVAL;
	t = time_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + (sec > 59 ? 59 : sec);
	t -= sign * (oh * 3600 + om * 60);
	*us = t * 1000000 + frac;
	return 0;
}

/* ---- reading the event -------------------------------------------------------- */

/* The value at a dotted path, also when a shipper flattened it:
 * {"host":{"name":x}} and {"host.name":x} both answer "host.name". */
static json_t *get_path(json_t *o, const char *path)
{
	const char *dot;
	json_t *v;

	if (!json_is_object(o))
		return NULL;
	v = json_object_get(o, path);
	if (v != NULL)
		return v;
	dot = strchr(path, '.');
	if (dot == NULL)
		return NULL;
	{
		char head[64];
		size_t n = (size_t)(dot - path);

		if (n >= sizeof(head))
			return NULL;
		memcpy(head, path, n);
		head[n] = '\0';
		return get_path(json_object_get(o, head), dot + 1);
	}
}

static const char *get_str(json_t *o, const char *path)
{
	json_t *v = get_path(o, path);

	return json_is_string(v) && json_string_length(v) > 0 ? json_string_value(v) : NULL;
}

/* An integer written as a number or as decimal or "0x" hex text (4624's
 * ProcessId is "0x1f4"). */
static int get_int(json_t *o, const char *path, json_int_t *out)
{
	json_t *v = get_path(o, path);
	const char *s;
	char *end;
	long long x;

	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return -EINVAL;
	s = json_string_value(v);
	if (*s == '\0' || *s == '-' || *s == ' ')
		return -EINVAL;
	errno = 0;
	x = strtoll(s, &end, s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? 16 : 10);
	if (errno != 0 || *end != '\0')
		return -EINVAL;
	*out = x;
	return 0;
}

/* ---- writing ECS ---------------------------------------------------------------- */

/* ecs.<a>.<b>[.<c>] = v, creating the objects on the way. Steals v. */
static void put(json_t *ecs, const char *path, json_t *v)
{
	char part[32];
	const char *dot;
	json_t *o = ecs, *next;

	if (v == NULL)
		return;
	while ((dot = strchr(path, '.')) != NULL) {
		size_t n = (size_t)(dot - path);

		if (n >= sizeof(part))
			break;
		memcpy(part, path, n);
		part[n] = '\0';
		next = json_object_get(o, part);
		if (!json_is_object(next)) {
			next = json_object();
			if (next == NULL || json_object_set_new(o, part, next) < 0) {
				json_decref(v);
				return;
			}
		}
		o = next;
		path = dot + 1;
	}
	json_object_set_new(o, path, v);
}

static void put_str(json_t *ecs, const char *path, const char *s)
{
	if (s != NULL)
		put(ecs, path, json_string(s));
}

static void put_int(json_t *ecs, const char *path, json_t *data, const char *field)
{
	json_int_t x;

	if (get_int(data, field, &x) == 0)
		put(ecs, path, json_integer(x));
}

/* The file name part of a Windows or POSIX path. */
static void put_basename(json_t *ecs, const char *path, const char *file)
{
	const char *b, *s;

	if (file == NULL)
		return;
	b = file;
	for (s = file; *s != '\0'; s++)
		if (*s == '\\' || *s == '/')
			b = s + 1;
	if (*b != '\0')
		put_str(ecs, path, b);
}

/* "DOMAIN\user" as Sysmon writes User. */
static void put_user(json_t *ecs, const char *prefix, const char *user)
{
	const char *bs;
	char path[48];

	if (user == NULL)
		return;
	bs = strchr(user, '\\');
	snprintf(path, sizeof(path), "%s.name", prefix);
	if (bs == NULL) {
		put_str(ecs, path, user);
		return;
	}
	put_str(ecs, path, bs + 1);
	snprintf(path, sizeof(path), "%s.domain", prefix);
	put(ecs, path, json_stringn(user, (size_t)(bs - user)));
}

/* The process fields Sysmon events share (Image, ProcessId, ProcessGuid). */
static void sysmon_process(json_t *ecs, json_t *d)
{
	const char *image = get_str(d, "Image");

	put_str(ecs, "process.executable", image);
	put_basename(ecs, "process.name", image);
	put_int(ecs, "process.pid", d, "ProcessId");
	put_str(ecs, "process.entity_id", get_str(d, "ProcessGuid"));
	put_user(ecs, "user", get_str(d, "User"));
}

/* Sysmon's event schema (Microsoft Sysinternals, "Sysmon" events): 1
 * ProcessCreate, 3 NetworkConnect, 11 FileCreate, 22 DNSEvent. */
static void sysmon(json_t *ecs, json_int_t id, json_t *d)
{
	const char *parent;

	sysmon_process(ecs, d);
	switch (id) {
	case 1:
		put(ecs, "event.category", json_string("process"));
		put(ecs, "event.type", json_string("start"));
		put_str(ecs, "process.command_line", get_str(d, "CommandLine"));
		put_str(ecs, "process.working_directory", get_str(d, "CurrentDirectory"));
		parent = get_str(d, "ParentImage");
		put_str(ecs, "process.parent.executable", parent);
		put_basename(ecs, "process.parent.name", parent);
		put_int(ecs, "process.parent.pid", d, "ParentProcessId");
		put_str(ecs, "process.parent.entity_id", get_str(d, "ParentProcessGuid"));
		put_str(ecs, "process.parent.command_line", get_str(d, "ParentCommandLine"));
		break;
	case 3:
		put(ecs, "event.category", json_string("network"));
		put_str(ecs, "network.transport", get_str(d, "Protocol"));
		put_str(ecs, "source.ip", get_str(d, "SourceIp"));
		put_int(ecs, "source.port", d, "SourcePort");
		put_str(ecs, "source.domain", get_str(d, "SourceHostname"));
		put_str(ecs, "destination.ip", get_str(d, "DestinationIp"));
		put_int(ecs, "destination.port", d, "DestinationPort");
		put_str(ecs, "destination.domain", get_str(d, "DestinationHostname"));
		break;
	case 11:
		put(ecs, "event.category", json_string("file"));
		put(ecs, "event.type", json_string("creation"));
		put_str(ecs, "file.path", get_str(d, "TargetFilename"));
		put_basename(ecs, "file.name", get_str(d, "TargetFilename"));
		break;
	case 22:
		put(ecs, "event.category", json_string("network"));
		put_str(ecs, "dns.question.name", get_str(d, "QueryName"));
		put_int(ecs, "dns.response_code_value", d, "QueryStatus");
		put_str(ecs, "dns.answers_text", get_str(d, "QueryResults"));
		break;
	}
}

/* Logon types of 4624/4625 as Microsoft documents them and Winlogbeat
 * names them in winlog.logon.type. */
static const char *logon_type_name(json_int_t t)
{
	switch (t) {
	case 2: return "Interactive";
	case 3: return "Network";
	case 4: return "Batch";
	case 5: return "Service";
	case 7: return "Unlock";
	case 8: return "NetworkCleartext";
	case 9: return "NewCredentials";
	case 10: return "RemoteInteractive";
	case 11: return "CachedInteractive";
	}
	return NULL;
}

/* Windows Security 4624 (an account was successfully logged on) and 4625
 * (an account failed to log on): the target account, the logon type, the
 * source address and the logon process. */
static void security_logon(json_t *ecs, json_int_t id, json_t *d)
{
	json_int_t lt;
	const char *ip = get_str(d, "IpAddress");

	put(ecs, "event.category", json_string("authentication"));
	put(ecs, "event.outcome", json_string(id == 4624 ? "success" : "failure"));
	put_str(ecs, "user.name", get_str(d, "TargetUserName"));
	put_str(ecs, "user.domain", get_str(d, "TargetDomainName"));
	put_str(ecs, "user.id", get_str(d, "TargetUserSid"));
	if (get_int(d, "LogonType", &lt) == 0) {
		put(ecs, "winlog.logon.type_value", json_integer(lt));
		put_str(ecs, "winlog.logon.type", logon_type_name(lt));
	}
	put_str(ecs, "winlog.logon.id", get_str(d, "TargetLogonId"));
	/* "-" stands for "none" in these events. */
	if (ip != NULL && strcmp(ip, "-") != 0)
		put_str(ecs, "source.ip", ip);
	put_int(ecs, "source.port", d, "IpPort");
	if (get_str(d, "WorkstationName") != NULL && strcmp(get_str(d, "WorkstationName"), "-"))
		put_str(ecs, "source.domain", get_str(d, "WorkstationName"));
	if (get_str(d, "ProcessName") != NULL && strcmp(get_str(d, "ProcessName"), "-")) {
		put_str(ecs, "process.executable", get_str(d, "ProcessName"));
		put_basename(ecs, "process.name", get_str(d, "ProcessName"));
	}
	put_int(ecs, "process.pid", d, "ProcessId");
	if (id == 4625) {
		put_str(ecs, "winlog.logon.failure.status", get_str(d, "Status"));
		put_str(ecs, "winlog.logon.failure.sub_status", get_str(d, "SubStatus"));
		put_str(ecs, "winlog.logon.failure.reason", get_str(d, "FailureReason"));
	}
}

/* A Windows event in either shape: its id, provider and data object. */
static int windows_event(json_t *ev, json_int_t *id, const char **provider, json_t **data)
{
	json_t *winlog = json_object_get(ev, "winlog");

	if (json_is_object(winlog)) {
		if (get_int(winlog, "event_id", id) < 0)
			return -ENOENT;
		*provider = get_str(winlog, "provider_name");
		*data = json_object_get(winlog, "event_data");
		if (*provider == NULL)
			*provider = get_str(winlog, "channel");
		return json_is_object(*data) ? 0 : -ENOENT;
	}
	if (get_int(ev, "EventID", id) < 0)
		return -ENOENT;
	*provider = get_str(ev, "ProviderName");
	if (*provider == NULL)
		*provider = get_str(ev, "SourceName");
	if (*provider == NULL)
		*provider = get_str(ev, "Channel");
	*data = json_is_object(json_object_get(ev, "EventData")) ?
		json_object_get(ev, "EventData") : ev;
	return 0;
}

static void normalise(json_t *ecs, json_t *ev)
{
	const char *provider = NULL;
	json_t *data = NULL;
	json_int_t id;

	if (!json_is_object(ev) || windows_event(ev, &id, &provider, &data) < 0 ||
	    provider == NULL)
		return;
	if (strstr(provider, "Sysmon") != NULL && (id == 1 || id == 3 || id == 11 || id == 22)) {
		put(ecs, "event.code", json_sprintf("%lld", (long long)id));
		put_str(ecs, "event.provider", "Microsoft-Windows-Sysmon");
		sysmon(ecs, id, data);
	} else if ((strcmp(provider, "Microsoft-Windows-Security-Auditing") == 0 ||
		    strcmp(provider, "Security") == 0) && (id == 4624 || id == 4625)) {
		put(ecs, "event.code", json_sprintf("%lld", (long long)id));
		put_str(ecs, "event.provider", "Microsoft-Windows-Security-Auditing");
		security_logon(ecs, id, data);
	}
}

/* ---- the record ----------------------------------------------------------------- */

/* The event's own time: the HEC envelope's "time" (epoch seconds, a
 * number or decimal text), Beats' "@timestamp", or Sysmon's UtcTime. */
static int event_time(const struct edr_meta *m, json_t *env, json_t *ev, int64_t *us)
{
	json_t *t = m->input == EDR_INPUT_HEC ? json_object_get(env, "time") : NULL;
	const char *s;
	json_t *data;

	if (json_is_number(t) && json_number_value(t) > 0 && json_number_value(t) < 253402300800.0) {
		*us = (int64_t)(json_number_value(t) * 1e6);
		return 0;
	}
	if (json_is_string(t)) {
		char *end;
		double x = strtod(json_string_value(t), &end);

		if (*end == '\0' && x > 0 && x < 253402300800.0) {
			*us = (int64_t)(x * 1e6);
			return 0;
		}
	}
	if ((s = get_str(ev, "@timestamp")) != NULL && edr_parse_time(s, us) == 0)
		return 0;
	data = get_path(ev, "winlog.event_data");
	if ((s = get_str(data, "UtcTime")) != NULL && edr_parse_time(s, us) == 0)
		return 0;
	if ((s = get_str(ev, "UtcTime")) != NULL && edr_parse_time(s, us) == 0)
		return 0;
	return -ENOENT;
}

static const char *host_name(const struct edr_meta *m, json_t *env, json_t *ev)
{
	static const char *const paths[] = { "host.name", "agent.hostname", "winlog.computer_name",
					     "Hostname", "Computer" };
	const char *s;
	size_t i;

	if (m->input == EDR_INPUT_HEC_RAW)
		return m->host;
	if (m->input == EDR_INPUT_HEC && (s = get_str(env, "host")) != NULL)
		return s;
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if ((s = get_str(ev, paths[i])) != NULL)
			return s;
	return NULL;
}

static json_t *time_str(int64_t us)
{
	char t[TIME_RFC3339_US_LEN + 1];

	time_format_rfc3339_us(t, us);
	return json_string(t);
}

/* The record without "original" when `with_original` is false. */
static json_t *build(const struct edr_meta *m, json_t *event, bool with_original)
{
	json_t *rec = json_object(), *auth = json_object(), *ecs = json_object();
	json_t *ev = event;
	const char *host;
	int64_t t;

	if (rec == NULL || auth == NULL || ecs == NULL)
		goto fail;
	/* The event proper: a HEC envelope carries it in "event". */
	if (m->input == EDR_INPUT_HEC && json_is_object(event) &&
	    json_object_get(event, "event") != NULL)
		ev = json_object_get(event, "event");
	/* Logging libraries (splunk-logging's default formatter) wrap the
	 * payload once more: {"message": {...}, "severity": "info"}. */
	if (json_is_object(ev) && json_is_object(json_object_get(ev, "message")) &&
	    (json_object_size(ev) == 1 ||
	     (json_object_size(ev) == 2 && json_object_get(ev, "severity") != NULL)))
		ev = json_object_get(ev, "message");
	json_object_set_new(rec, "type", json_string("edr"));
	json_object_set_new(rec, "ts", time_str(m->recv_us));
	if (m->peer != NULL)
		json_object_set_new(rec, "peer", json_string(m->peer));
	json_object_set_new(rec, "input", json_string(edr_input_name(m->input)));
	json_object_set_new(auth, "method", json_string(auth_name(m->auth)));
	if (m->group != NULL)
		json_object_set_new(auth, "group", json_string(m->group));
	if (m->cn != NULL)
		json_object_set_new(auth, "cn", json_string(m->cn));
	json_object_set_new(rec, "auth", auth);
	auth = NULL;
	if (event_time(m, event, ev, &t) == 0)
		json_object_set_new(rec, "event_time", time_str(t));
	host = host_name(m, event, ev);
	if (host != NULL)
		json_object_set_new(rec, "host_name", json_string(host));
	if (m->input == EDR_INPUT_HEC_RAW) {
		if (m->source != NULL)
			json_object_set_new(rec, "source", json_string(m->source));
		if (m->sourcetype != NULL)
			json_object_set_new(rec, "sourcetype", json_string(m->sourcetype));
	}
	normalise(ecs, ev);
	if (host != NULL)
		put_str(ecs, "host.name", host);
	if (json_object_size(ecs) > 0)
		json_object_set_new(rec, "ecs", ecs);
	else
		json_decref(ecs);
	ecs = NULL;
	if (with_original)
		json_object_set(rec, "original", event);
	return rec;
fail:
	json_decref(rec);
	json_decref(auth);
	json_decref(ecs);
	return NULL;
}

json_t *edr_record_build(const struct edr_meta *m, json_t *event)
{
	return build(m, event, true);
}

int edr_record_encode_text(const struct edr_meta *m, json_t *event, const char *raw,
			   size_t raw_len, char **out, size_t *len)
{
	static const char key[] = ",\"original\":";
	json_t *rec = build(m, event, false);
	char *meta, *r;
	size_t n, i;

	*out = NULL;
	*len = 0;
	if (rec == NULL)
		return -ENOMEM;
	meta = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(rec);
	if (meta == NULL)
		return -ENOMEM;
	/* meta is "{...}" with at least "type": splice before its '}'. */
	n = strlen(meta) - 1;
	r = malloc(n + sizeof(key) - 1 + raw_len + 2);
	if (r == NULL) {
		free(meta);
		return -ENOMEM;
	}
	memcpy(r, meta, n);
	memcpy(r + n, key, sizeof(key) - 1);
	n += sizeof(key) - 1;
	/* Raw CR and LF can only be white space in well-formed JSON (a
	 * string holds them escaped): as spaces they keep the record on one
	 * NDJSON line and mean the same. */
	for (i = 0; i < raw_len; i++)
		r[n + i] = raw[i] == '\n' || raw[i] == '\r' ? ' ' : raw[i];
	n += raw_len;
	r[n++] = '}';
	r[n] = '\0';
	free(meta);
	*out = r;
	*len = n;
	return 0;
}

int edr_record_encode(const struct edr_meta *m, json_t *event, char **out, size_t *len)
{
	json_t *rec = edr_record_build(m, event);

	*out = NULL;
	*len = 0;
	if (rec == NULL)
		return -ENOMEM;
	/* JSON_PRESERVE_ORDER keeps the original's key order as received. */
	*out = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(rec);
	if (*out == NULL)
		return -ENOMEM;
	*len = strlen(*out);
	return 0;
}
